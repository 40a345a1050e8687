"""The ``Mail`` port: every email sent, in order (a test reads what the merchant would receive)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from connector.domain.email import Email
from connector.domain.messages import Message, Sender
from connector.emails.design import render
from connector.usecases.send_once import SendOnce


class Outbox:
    def __init__(self) -> None:
        self.sent: list[Email] = []

    def send(self, email: Email | Message) -> str:
        # As the stack's mailer does: a Message is rendered in the one design before it is sent.
        if isinstance(email, Message):
            email = render(email, Sender(stack="test", stage="unit"))
        self.sent.append(email)
        return f"msg-{len(self.sent)}"

    @property
    def subjects(self) -> list[str]:
        return [e.subject for e in self.sent]


class FakeSentMail:
    """The ``SentMail`` port in memory, with the DynamoDB adapter's rules: one claim wins (under a lock, as a
    conditional write), an expired unconfirmed claim may be taken over, a confirmed key is never re-claimed."""

    def __init__(self) -> None:
        import threading

        self.items: dict[str, dict[str, object]] = {}
        self._lock = threading.Lock()

    def claim(self, key: str, *, now: datetime, lease_until: datetime) -> bool:
        with self._lock:
            item = self.items.get(key)
            if item is not None:
                # An unconfirmed claim past its lease, or a sent key past its keep (TTL), may be taken.
                until = item.get("lease_until") if item["state"] == "claimed" else item.get("keep_until")
                if not isinstance(until, datetime) or until >= now:
                    return False
            self.items[key] = {"state": "claimed", "lease_until": lease_until}
            return True

    def confirm(self, key: str, message_id: str, *, keep_until: datetime) -> None:
        with self._lock:
            self.items[key] = {"state": "sent", "message_id": message_id, "keep_until": keep_until}

    def release(self, key: str) -> None:
        with self._lock:
            if (self.items.get(key) or {}).get("state") == "claimed":
                del self.items[key]


def once(outbox: Any = None, clock: object = None) -> SendOnce:
    """A send-once mailer over ``outbox`` (a new one if None), as the stack's mailer is over SES. The keys
    sent are kept with the outbox, so every mailer made over the same outbox shares them (one stack)."""
    now = clock if callable(clock) else (lambda: datetime.now(UTC))
    outbox = outbox if outbox is not None else Outbox()
    if not hasattr(outbox, "sent_keys"):
        outbox.sent_keys = FakeSentMail()
    return SendOnce(outbox, outbox.sent_keys, now=now)


class FakeExports:
    """The ``Exports`` port: files kept in memory, each behind a link naming it."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}

    def publish(self, filename: str, content: bytes, content_type: str) -> str:
        export_id = f"{len(self.files) + 1}.{filename}"
        self.files[export_id] = (content, content_type)
        return f"https://pages.example/pages/export/{export_id}?t=signed"
