"""The stack's pages (issue 17): review and apply an FBA reconciliation, and the nightly check's failing
listings — opened from a signed link in an email.

Rules (see docs/emails.md): a GET only shows (a mail scanner or a link preview that follows the link applies
nothing); applying is a POST from the page carrying the link token and a form token bound to the
reconciliation id and a one-time nonce; the nonce is claimed in DynamoDB before anything is applied, so a
double click or a replayed POST gets the first POST's result back. The corrections go through
``FbaReconciliation.approve`` — the same code path as the operator's ``approve-reconciliation`` — whose
movement keys make a second approval of the same line write nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from connector.domain.signed_links import LinkError, check_form_token, check_nonce, form_token, new_nonce, verify
from connector.emails.design import Sender, environment, marketplace_label, product_label

FORM_FIELDS = frozenset({"t", "nonce", "csrf", "sku", "max_units"})
MAX_LINES_SHOWN = 2000
_STATUS_FOR = {"expired": 410, "replayed": 409}


@dataclass(frozen=True)
class Page:
    status: int
    html: str
    location: str | None = None  # a redirect (an export's file)


class Nonces(Protocol):
    def claim(self, nonce: str, what: dict[str, Any], *, expires: int) -> bool: ...
    def finish(self, nonce: str, result: dict[str, Any]) -> None: ...
    def get(self, nonce: str) -> dict[str, Any] | None: ...


class ReconciliationPort(Protocol):
    def show(self, rid: str | None = None, *, skus: Sequence[str] | None = None, status: str | None = None,
             limit: int = 100, with_csv: bool = False) -> dict[str, Any]: ...
    def approve(self, rid: str, *, skus: Sequence[str] | None = None, max_units: int | None = None,
                dry_run: bool = False, by: str = "operator") -> dict[str, Any]: ...


class FormError(ValueError):
    """The POSTed form is not one the page makes (a field missing, unknown or malformed)."""


class Pages:
    def __init__(self, *, key: Callable[[], bytes], reconciliation: Callable[[], ReconciliationPort],
                 nonces: Nonces, failing: Callable[[], list[dict[str, Any]]], sender: Sender,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 download: Callable[[str], str] | None = None) -> None:
        self.download = download  # an export's id → a short-lived link to the file (S3 presigned)
        self.key = key
        self.reconciliation = reconciliation
        self.nonces = nonces
        self.failing = failing
        self.sender = sender
        self.clock = clock

    # ------------------------------------------------------------------ entry points
    def get(self, kind: str, id_: str, query: Mapping[str, Sequence[str]]) -> Page:
        try:
            token = _one(query, "t")
            verify(self.key(), token, kind=kind, id_=id_, now=self.clock())
        except LinkError as exc:
            return self._refused(exc)
        except FormError as exc:
            return self.error(400, "This link is incomplete", str(exc))
        if kind == "nightly":
            return self._nightly(id_)
        if kind == "export":
            if self.download is None:
                return self.error(404, "No such file", "this stack stores no files for its emails")
            # The email's link is the page's (signed, PageLinkHours); S3's own presigned links end with the
            # function's session credentials (hours), so each click gets a fresh one for a few minutes.
            return Page(302, "<!DOCTYPE html><title>Download</title><p>Downloading…</p>", location=self.download(id_))
        return self._reconciliation(id_, token, skus=[s for s in query.get("sku", []) if s.strip()])

    def post(self, kind: str, id_: str, form: Mapping[str, Sequence[str]]) -> Page:
        if kind != "reconciliation":
            return self.error(405, "Nothing to apply here", "This page only shows; it has nothing to apply.")
        try:
            unknown = sorted(set(form) - FORM_FIELDS)
            if unknown:
                raise FormError(f"unknown form field(s): {', '.join(unknown)}")
            token, nonce, csrf = _one(form, "t"), _one(form, "nonce"), _one(form, "csrf")
            key = self.key()
            verify(key, token, kind=kind, id_=id_, now=self.clock())
            check_form_token(key, csrf, id_=id_, nonce=nonce)
            nonce_expires = check_nonce(nonce, now=self.clock())
            skus = [s for s in form.get("sku", []) if s]
            max_units = _max_units(form.get("max_units", [""]))
        except LinkError as exc:
            return self._refused(exc)
        except FormError as exc:
            return self.error(400, "This form cannot be applied", str(exc))
        if not skus:
            return self.error(400, "Nothing chosen", "Choose at least one line to apply; nothing was applied.",
                               back=self._link(id_, token))
        if not self.nonces.claim(nonce, {"id": id_, "skus": skus, "max_units": max_units,
                                         "at": self.clock().isoformat()}, expires=nonce_expires):
            return self._replayed(id_, token, self.nonces.get(nonce) or {})
        recon = self.reconciliation()
        try:
            result = recon.approve(id_, skus=skus, max_units=max_units, by="approval page")
        except ValueError as exc:  # ReconciliationError: superseded, too old, unknown
            self.nonces.finish(nonce, {"error": str(exc)})
            return self.error(409, "Not applied", str(exc), back=self._link(id_, token))
        self.nonces.finish(nonce, result)
        return self._render(200, "result", title=f"Applied: reconciliation {id_}", rid=id_, result=result,
                            error=None, back=self._link(id_, token), replay=False)

    # ------------------------------------------------------------------ pages
    def _reconciliation(self, rid: str, token: str, skus: list[str]) -> Page:
        recon = self.reconciliation()
        try:
            shown = recon.show(rid, skus=skus or None, limit=MAX_LINES_SHOWN)
        except ValueError as exc:
            return self.error(404, "No such reconciliation", str(exc))
        header = shown["reconciliation"]
        # The form lives as long as the link it was opened from (the token's expiry), no longer.
        nonce = new_nonce(verify(self.key(), token, kind="reconciliation", id_=rid, now=self.clock()).expires,
                          secrets.token_urlsafe(18))
        lines = [{**ln, "product": product_label(ln.get("product_id")),
                  "explanation": "; ".join(e["note"] for e in ln.get("explained") or []) or ln.get("note") or "—",
                  "applicable": ln["status"] == "difference" and bool(ln.get("suggested"))
                  and ln.get("product_id") is not None}
                 for ln in shown["lines"]]
        return self._render(
            200, "reconciliation", title=f"FBA reconciliation {rid}", rid=rid, header=header, lines=lines,
            latest=shown["latest"], matching=shown["matching"], shown_count=len(lines), skus=" ".join(skus),
            token=token, nonce=nonce, csrf=form_token(self.key(), rid, nonce),
            approvals=header.get("approvals") or [], totals=header.get("totals") or {})

    def _nightly(self, night: str) -> Page:
        rows = [{**f, "marketplace": marketplace_label(str(f.get("marketplace", "")))} for f in self.failing()]
        return self._render(200, "nightly", title=f"Failing listings (nightly check {night})", night=night,
                            rows=rows)

    def _replayed(self, rid: str, token: str, earlier: dict[str, Any]) -> Page:
        return self._render(409, "result", title="Already submitted", rid=rid, result=earlier.get("result"),
                            error=earlier.get("error"), back=self._link(rid, token), replay=True)

    def _refused(self, exc: LinkError) -> Page:
        titles = {"expired": "This link has expired", "tampered": "This link is not valid",
                  "malformed": "This link is not valid", "wrong-id": "This link is for another page"}
        return self.error(_STATUS_FOR.get(exc.reason, 403), titles.get(exc.reason, "Not allowed"),
                           f"{exc} Nothing was applied. Open the link in the latest email, or use the command "
                           "line (connector show / approve).", reason=exc.reason)

    def error(self, status: int, title: str, message: str, *, back: str | None = None,
               reason: str | None = None) -> Page:
        return self._render(status, "error", title=title, message=message, back=back, reason=reason or "")

    def _link(self, rid: str, token: str) -> str:
        return f"?t={token}"

    def _render(self, status: int, mode: str, **values: Any) -> Page:
        html = environment().get_template("page.html").render(mode=mode, sender=self.sender, **values)
        return Page(status, html)


def _one(values: Mapping[str, Sequence[str]], name: str) -> str:
    got = list(values.get(name) or [])
    if len(got) != 1 or not got[0]:
        raise FormError(f"the field {name!r} is missing" if not got or not got[0] else
                        f"the field {name!r} is given {len(got)} times")
    return got[0]


def _max_units(values: Sequence[str]) -> int | None:
    text = (list(values) or [""])[-1].strip()
    if not text:
        return None
    if not text.isdigit() or int(text) < 1:
        raise FormError(f"max_units={text!r}: a whole number of units, at least 1 (or empty for no maximum)")
    return int(text)
