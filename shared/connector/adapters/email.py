"""Emails to the merchant through SES: HTML and plain text, optional CSV attachments.

Callers make each email idempotent themselves (an email is sent once per event: the use case
records that it was sent, keyed by the event); this adapter only sends.
"""

from __future__ import annotations

from collections.abc import Sequence
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from typing import Any

import boto3

from connector.domain.email import Attachment, Email, table

__all__ = ["Attachment", "Email", "Mailer", "table"]  # the values live in the domain; re-exported for callers


class Mailer:
    def __init__(self, sender: str, recipients: Sequence[str], client: Any = None) -> None:
        if not recipients:
            raise ValueError("at least one recipient is needed")
        self.sender = sender
        self.recipients = list(recipients)
        self._client = client or boto3.client("ses")

    def send(self, email: Email) -> str:
        """Send; returns SES's message id."""
        msg = MIMEMultipart("mixed")
        msg["Subject"] = email.subject
        msg["From"] = self.sender
        msg["To"] = ", ".join(self.recipients)
        body = MIMEMultipart("alternative")
        body.attach(MIMEText(email.text, "plain", "utf-8"))
        body.attach(MIMEText(email.html, "html", "utf-8"))
        msg.attach(body)
        for a in email.attachments:
            part = MIMEApplication(a.content, _subtype=a.mime_subtype)
            part.add_header("Content-Disposition", "attachment", filename=a.filename)
            msg.attach(part)
        resp = self._client.send_raw_email(Source=self.sender, Destinations=self.recipients,
                                           RawMessage={"Data": msg.as_bytes()})
        return str(resp["MessageId"])

