"""SP-API notifications as they arrive on the queue (pure parsing).

Two envelope styles exist (camelCase ``notificationType`` for report/feed notifications, PascalCase
``NotificationType`` for the others), and EventBridge-routed types arrive wrapped in an EventBridge
envelope with the notification in ``detail``. Everything is normalised to :class:`Notification`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


class NotificationError(ValueError):
    """Not an SP-API notification; the message says why."""


# The payload's inner objects the connector's handlers read fields from.
INNER_OBJECTS = ("reportProcessingFinishedNotification", "feedProcessingFinishedNotification")


@dataclass(frozen=True)
class Notification:
    type: str
    notification_id: str
    event_time: str
    payload: dict[str, Any]


def parse_notification(body: str | bytes | dict[str, Any]) -> Notification:
    data: Any = body
    if isinstance(body, (str, bytes)):
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise NotificationError(f"message body is not JSON: {exc}") from None
        except RecursionError:
            # json.loads recurses per nesting level: a hostile body gets a named error, not a bare one.
            raise NotificationError("message body is nested too deeply to be a notification") from None
    if not isinstance(data, dict):
        raise NotificationError("message body is not a JSON object")
    if "detail" in data and "detail-type" in data:  # EventBridge envelope
        inner = data["detail"]
        if not isinstance(inner, dict):
            raise NotificationError("EventBridge detail is not an object")
        if "NotificationType" not in inner and "notificationType" not in inner:
            # Some EventBridge deliveries carry the payload itself in detail.
            return Notification(type=str(data["detail-type"]), notification_id=str(data.get("id", "")),
                                event_time=str(data.get("time", "")), payload=inner)
        data = inner
    kind = data.get("notificationType") or data.get("NotificationType")
    if not kind:
        raise NotificationError("no notificationType / NotificationType in the message")
    meta = data.get("notificationMetadata") or data.get("NotificationMetadata") or {}
    if not isinstance(meta, dict):
        raise NotificationError(f"{kind}: notificationMetadata is not an object")
    nid = meta.get("notificationId") or meta.get("NotificationId") or ""
    payload = data.get("payload") or data.get("Payload") or {}
    if not isinstance(payload, dict):
        raise NotificationError(f"{kind}: payload is not an object")
    for inner in INNER_OBJECTS:
        # The handlers read fields of these: a string or list there must fail by name, not as AttributeError.
        if inner in payload and payload[inner] is not None and not isinstance(payload[inner], dict):
            raise NotificationError(f"{kind}: payload.{inner} is not an object")
    return Notification(type=str(kind), notification_id=str(nid),
                        event_time=str(data.get("eventTime") or data.get("EventTime") or ""), payload=payload)
