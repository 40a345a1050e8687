"""One botocore session per thread for every pynamodb model, instead of one per model.

pynamodb gives each model's ``Connection`` its own botocore session (``get_session()`` per connection
and thread). Each session has its own data loader, so each model's first call parses botocore's
endpoint rules and the DynamoDB service model again: with the six tables here that cost ~50 MB of RSS
and ~0.8 s of CPU per container (measured: clients of all six models 120 -> 72 MB, 1.1 -> 0.27 s).
The session is still per thread, as pynamodb keeps it, because botocore client creation is not thread
safe (pynamodb issue #153); the clients themselves stay per model, with their own region and endpoint.
"""

from __future__ import annotations

import threading

import botocore.session
import pynamodb.connection.base as _base

_local = threading.local()


def shared_session() -> botocore.session.Session:
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = botocore.session.get_session()
    return session


def install() -> None:
    """Make pynamodb's connections take the thread's shared session (idempotent)."""
    _base.get_session = shared_session
