"""The port-level error family: what a use case may catch, whichever adapter raised it.

Adapters translate their own failures into these (Brightpearl's and Amazon's errors subclass them, a
pynamodb conditional failure becomes ``Conflict``, a missing item ``NotFound`` or ``None``), so a use
case says ``except UncertainWrite`` and never names an HTTP client, SDK or table library.
"""

from __future__ import annotations


class PortError(Exception):
    """A port call failed (base of the family; a use case's catch-all for "the other side failed")."""


class UncertainWrite(PortError):
    """A write got no clear answer: it may or may not have been applied; check by reference first."""


class Refused(PortError):
    """The other side refused the request as invalid (a 4xx validation answer): retrying will not help."""


class NotFound(PortError):
    """The thing addressed does not exist (any more)."""


class Throttled(PortError):
    """Still throttled after what this invocation may wait: hand the work back to its queue/schedule."""


class Unavailable(PortError):
    """A server error, a dropped connection or a queue that would not take the message: try again later."""


class Conflict(PortError):
    """A conditional write lost a race (the item changed, or already exists): re-read and decide again."""


class Forbidden(PortError):
    """The other side refuses this caller the operation (e.g. the seller's app lacks an SP-API role):
    retrying will not help until the merchant grants it."""
