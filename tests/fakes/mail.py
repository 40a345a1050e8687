"""The ``Mail`` port: every email sent, in order (a test reads what the merchant would receive)."""

from __future__ import annotations

from connector.domain.email import Email
from connector.domain.messages import Message, Sender
from connector.emails.design import render


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
