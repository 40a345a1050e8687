"""Sending designed emails: a mailer that renders a :class:`Message` with the stack's :class:`Sender`
(stack, stage, marketplaces, docs, signed page links), built from a function's environment. The SES
mailer it sends through and the key it signs links with are plugged in by ``connector.wiring.parts``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from connector.domain.email import Attachment, Email
from connector.domain.messages import LINK_ABOVE
from connector.domain.signed_links import sign
from connector.emails.design import Message, PageLink, Sender, files, render
from connector.observability import logger


class PageLinks:
    """Signed links to the stack's pages: ``<base>/pages/<kind>/<id>?t=<token>``, valid ``hours``."""

    def __init__(self, base_url: str, key: Callable[[], bytes], *, hours: float = 72,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.base_url = base_url.rstrip("/")
        self.key = key
        self.hours = hours
        self.clock = clock

    def path(self, kind: str, id_: str) -> str:
        return f"/pages/{kind}/{quote(id_, safe='')}"

    def url(self, link: PageLink) -> str:
        expires = int((self.clock() + timedelta(hours=self.hours)).timestamp())
        return f"{self.base_url}{self.path(link.kind, link.id)}?t={sign(self.key(), link.kind, link.id, expires)}"


# The page-link key by secret name (``connector.wiring.parts.signing_key`` reads it from Secrets Manager).
type KeyReader = Callable[[str], Callable[[], bytes]]


def page_links(env: Any, key: KeyReader) -> PageLinks | None:
    base, secret = getattr(env, "page_base_url", None), getattr(env, "page_link_secret_name", None)
    if not base or not secret:
        return None
    return PageLinks(base, key(secret), hours=float(getattr(env, "page_link_hours", 72)))


def sender_from_env(env: Any, key: KeyReader) -> Sender:
    links = page_links(env, key)
    return Sender(stack=str(getattr(env, "stack_name", "connector")), stage=str(getattr(env, "stage", "prod")),
                  marketplaces=tuple(getattr(env, "amazon_marketplace_ids", ()) or ()),
                  docs_url=str(getattr(env, "docs_base_url", "") or ""),
                  page_url=links.url if links else None)


class DesignMailer:
    """What the use cases send through: a :class:`Message` is rendered with the stack's sender first. Files
    too large to attach (over ``LINK_ABOVE`` together, after compression) go to ``exports`` and are linked."""

    def __init__(self, mailer: Any, sender: Sender, exports: Any = None) -> None:
        self.mailer = mailer
        self.sender = sender
        self.exports = exports

    def render(self, message: Message) -> Email:
        """The email as it would be sent, every file attached (nothing is stored: no side effect)."""
        return render(message, self.sender)

    def _attach(self, message: Message) -> tuple[Message, tuple[Attachment, ...]]:
        attached = list(files(message))
        if sum(len(a.content) for a in attached) <= LINK_ABOVE:
            return message, tuple(attached)
        if self.exports is None:
            logger.warning("email attachments over the link threshold and no exports bucket: attached as they are",
                           extra={"bytes": sum(len(a.content) for a in attached)})
            return message, tuple(attached)
        downloads = list(message.downloads)
        for a in sorted(attached, key=lambda a: len(a.content), reverse=True):
            if sum(len(x.content) for x in attached) <= LINK_ABOVE:
                break
            kind = "application/gzip" if a.mime_subtype == "gzip" else f"text/{a.mime_subtype}"
            downloads.append((a.filename, self.exports.publish(a.filename, a.content, kind)))
            attached.remove(a)
        return replace(message, downloads=tuple(downloads)), tuple(attached)

    def send(self, email: Email | Message) -> str:
        if isinstance(email, Message):
            message, attached = self._attach(email)
            email = render(message, self.sender, attached=attached)
        return str(self.mailer.send(email))
