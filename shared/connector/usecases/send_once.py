"""One send-once mechanism for every email that must leave once (issue 12 item 4).

``SendOnce.send_once(key, email)``: claim the key (a conditional write in the ``SentMail`` store), send,
confirm with SES's message id. A second trigger for the same key — a retried Lambda, a re-delivered
message, a concurrent run — finds the key claimed or sent and sends nothing. An SES error releases the
claim, so the next run sends. A process killed between claim and send leaves a claim that expires after
``lease`` and is then taken over and sent (at least once: a kill between SES accepting and the confirm
re-sends after the lease, the one window no mailer can close without SES idempotency keys).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from connector.observability import logger
from connector.usecases.ports import Mail, SentMail

if TYPE_CHECKING:
    from connector.domain.email import Email
    from connector.domain.messages import Message

LEASE = timedelta(minutes=15)  # longer than any Lambda's timeout: a live sender is never taken over
KEEP = timedelta(days=400)  # a sent key is kept (DynamoDB TTL) long after anything could re-trigger it
MAX_KEY = 400


def mail_key(key: str) -> str:
    """The store's key: readable when short, a digest when long (keys carry fingerprints of figures)."""
    if len(key) <= MAX_KEY:
        return key
    return key[:80] + "#" + hashlib.sha256(key.encode("utf-8")).hexdigest()


class SendOnce:
    """A ``Mail`` that can also send once per key; ``send`` alone sends every time (no key, no promise)."""

    def __init__(self, mail: Mail, sent: SentMail, *, now: Callable[[], datetime] = lambda: datetime.now(UTC),
                 lease: timedelta = LEASE) -> None:
        self.mail = mail
        self.sent = sent
        self.now = now
        self.lease = lease

    def send(self, email: Email | Message) -> str:
        return self.mail.send(email)

    def send_once(self, key: str, email: Email | Message | Callable[[], Email | Message], *,
                  keep: timedelta = KEEP) -> str | None:
        """SES's message id, or None when this key was sent (or is being sent) already. ``email`` may be a
        callable, so an email that costs something to build is built only by the one trigger that sends it."""
        key = mail_key(key)
        now = self.now()
        if not self.sent.claim(key, now=now, lease_until=now + self.lease):
            logger.info("email already sent or being sent", extra={"mail_key": key})
            return None
        try:
            message = email() if callable(email) else email
            message_id = self.mail.send(message)
        except Exception:  # SES refused or the email could not be built: the next trigger sends
            self.sent.release(key)
            raise
        self.sent.confirm(key, message_id, keep_until=self.now() + keep)
        return message_id
