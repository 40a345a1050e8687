"""The ``Mail`` port: every email sent, in order (a test reads what the merchant would receive)."""

from __future__ import annotations

from connector.domain.email import Email


class Outbox:
    def __init__(self) -> None:
        self.sent: list[Email] = []

    def send(self, email: Email) -> str:
        self.sent.append(email)
        return f"msg-{len(self.sent)}"

    @property
    def subjects(self) -> list[str]:
        return [e.subject for e in self.sent]
