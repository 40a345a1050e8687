"""Emails to the merchant through SES: HTML and plain text, optional CSV attachments.

Callers make each email idempotent themselves (an email is sent once per event: the use case
records that it was sent, keyed by the event); this adapter only sends.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from html import escape
from typing import Any

import boto3


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mime_subtype: str = "csv"


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str
    attachments: tuple[Attachment, ...] = field(default_factory=tuple)


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


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> tuple[str, str]:
    """The same table as plain text (aligned columns) and as HTML."""
    cells = [[str(c) for c in r] for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    html = ["<table border=\"1\" cellpadding=\"4\" cellspacing=\"0\"><thead><tr>"]
    html += [f"<th>{escape(h)}</th>" for h in headers]
    html.append("</tr></thead><tbody>")
    for r in cells:
        html.append("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>")
    html.append("</tbody></table>")
    return "\n".join(lines), "".join(html)
