"""Signed page links and the form tokens that go with them (issue 17): pure rules, no I/O.

A link carries ``<payload>.<mac>``: the payload names the page kind, the id it is for and when it expires;
the MAC is HMAC-SHA256 over it with the stack's signing key (Secrets Manager). So a link cannot be moved
to another reconciliation, extended or forged, and nothing needs storing to check it. A link only SHOWS a
page (a mail scanner that follows it changes nothing). Changing anything is a POST from the page with a
form token: HMAC over the id and a fresh nonce, used once (the use case records the nonce).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime

KINDS = ("reconciliation", "nightly", "export")


class LinkError(ValueError):
    """A link or form token that must not be honoured; ``reason`` is what the page tells the person."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason  # "malformed", "tampered", "wrong-id", "expired", "replayed"


@dataclass(frozen=True)
class LinkClaims:
    kind: str
    id: str
    expires: int  # epoch seconds


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, purpose: str, payload: str) -> bytes:
    if len(key) < 16:
        raise ValueError("the signing key must be at least 16 bytes")
    return hmac.new(key, f"{purpose}|{payload}".encode(), hashlib.sha256).digest()


def sign(key: bytes, kind: str, id_: str, expires: int) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown page kind {kind!r}")
    if "|" in id_:
        raise ValueError(f"a page id may not contain '|': {id_!r}")
    payload = f"{kind}|{id_}|{int(expires)}"
    return f"{_b64(payload.encode())}.{_b64(_mac(key, 'link', payload))}"


def verify(key: bytes, token: str, *, kind: str, id_: str, now: datetime) -> LinkClaims:
    """The link's claims, or :class:`LinkError` (tampered before expired: an altered expiry is tampering)."""
    head, sep, mac = (token or "").partition(".")
    try:
        if not sep:
            raise ValueError("no signature")
        payload = _unb64(head).decode("utf-8")
        given = _unb64(mac)
        k, link_id, exp = payload.split("|")
        expires = int(exp)
    except (ValueError, UnicodeDecodeError):
        raise LinkError("malformed", "this link is not a link the connector made (it is cut short or garbled)") \
            from None
    if not hmac.compare_digest(given, _mac(key, "link", payload)):
        raise LinkError("tampered", "this link's signature does not match: it was changed after it was sent")
    if k != kind or link_id != id_:
        raise LinkError("wrong-id", f"this link is for {k} {link_id}, not for {kind} {id_}")
    if now.timestamp() >= expires:
        raise LinkError("expired", f"this link expired at {datetime.fromtimestamp(expires, UTC):%Y-%m-%d %H:%M} UTC")
    return LinkClaims(k, link_id, expires)


def new_nonce(expires: int, random: str) -> str:
    """A form's one-time nonce carrying when it expires (the link's expiry); the form token's MAC covers it,
    so the expiry cannot be changed, and a stored nonce may be deleted (TTL) once it is past."""
    return f"{int(expires)}~{random}"


def nonce_expiry(nonce: str) -> int:
    """The expiry a nonce carries; :class:`LinkError` ``malformed`` for a nonce the page did not make."""
    head, sep, rest = (nonce or "").partition("~")
    if not sep or not head.isdigit() or not rest:
        raise LinkError("malformed", "the form's nonce is not one the page made: reload the page from the link")
    return int(head)


def check_nonce(nonce: str, *, now: datetime) -> int:
    """The nonce's expiry, or :class:`LinkError` ``expired`` once it is past (checked in code: DynamoDB's TTL
    deletes the stored nonce lazily, up to days late, and a deleted one must never make a form usable again)."""
    expires = nonce_expiry(nonce)
    if expires <= now.astimezone(UTC).timestamp():
        raise LinkError("expired", "this page's form has expired: open the link in the latest email again")
    return expires


def form_token(key: bytes, id_: str, nonce: str) -> str:
    """The token a page's form posts back: bound to the id and the page's one-time nonce."""
    return _b64(_mac(key, "form", f"{id_}|{nonce}"))


def check_form_token(key: bytes, token: str, *, id_: str, nonce: str) -> None:
    if not nonce or not token or not hmac.compare_digest(token.encode(), form_token(key, id_, nonce).encode()):
        raise LinkError("tampered", "the form's token does not match this page: reload the page from the link")
