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


class NotificationRouter:
    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}
        self.ignored: dict[str, int] = {}

    def register(self, notification_type: str, handler: Handler) -> None:
        self._handlers[notification_type] = handler

    def handle_body(self, body: str | bytes | dict[str, Any]) -> Any:
        """Parse one queue message body and run its handler; raises to signal a retryable failure."""
        notification = parse_notification(body)
        handler = self._handlers.get(notification.type)
        if handler is None:
            self.ignored[notification.type] = self.ignored.get(notification.type, 0) + 1
            return None
        return handler(notification)
