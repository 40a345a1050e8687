"""Routes each SP-API notification to the use case that handles its type.

Handlers must be idempotent: SP-API delivers at least once and possibly out of order, and SQS may
redeliver. A type with no handler is acknowledged and counted (nothing to do with it), so an
unsubscribed type never clogs the queue.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from connector.domain.notifications import Notification, parse_notification

Handler = Callable[[Notification], Any]
Predicate = Callable[[Notification], bool]


class NotificationRouter:
    def __init__(self) -> None:
        self._handlers: dict[str, list[tuple[Predicate, Handler]]] = {}
        self.ignored: dict[str, int] = {}

    def register(self, notification_type: str, handler: Handler, *, when: Predicate | None = None) -> None:
        """Handle ``notification_type`` with ``handler``; ``when`` narrows it (e.g. to one report type).

        Several handlers may share a type; the first whose ``when`` accepts the notification runs.
        """
        self._handlers.setdefault(notification_type, []).append((when or (lambda _n: True), handler))

    def handle_body(self, body: str | bytes | dict[str, Any]) -> Any:
        """Parse one queue message body and run its handler; raises to signal a retryable failure."""
        notification = parse_notification(body)
        for accepts, handler in self._handlers.get(notification.type, []):
            if accepts(notification):
                return handler(notification)
        self.ignored[notification.type] = self.ignored.get(notification.type, 0) + 1
        return None
