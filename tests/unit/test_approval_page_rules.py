"""The approval page's form nonces expire (issue 17, item 3): the nonce carries the link's expiry, the page
refuses it once past, so DynamoDB's TTL deleting the stored nonce never makes an old form apply again."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from connector.domain.messages import Sender
from connector.domain.signed_links import LinkError, check_nonce, new_nonce, nonce_expiry, sign
from connector.usecases.approval_page import Pages
from tests.fakes import FakeClock, FakePageNonces

KEY = b"k" * 32
RID = "20261201T120000Z-ab12"


class Recon:
    def __init__(self) -> None:
        self.approved: list[dict[str, Any]] = []

    def show(self, rid=None, *, skus=None, status=None, limit=100, with_csv=False):  # type: ignore[no-untyped-def]
        line = {"sku": "MUG", "product_id": 1, "amazon": 5, "brightpearl": 3, "difference": 2, "suggested": 2,
                "status": "difference", "explained": [], "note": ""}
        return {"reconciliation": {"id": rid, "totals": {}, "approvals": []}, "latest": True, "matching": 1,
                "lines": [line]}

    def approve(self, rid, *, skus=None, max_units=None, dry_run=False, by="operator"):  # type: ignore[no-untyped-def]
        self.approved.append({"rid": rid, "skus": list(skus or [])})
        return {"id": rid, "selected": 1, "statuses": {"applied": 1}, "unknown_skus": [], "units_to_add": 2,
                "units_to_remove": 0, "problems": []}


def setup() -> tuple[Pages, Recon, FakePageNonces, FakeClock]:
    clock, recon, nonces = FakeClock(), Recon(), FakePageNonces()
    pages = Pages(key=lambda: KEY, reconciliation=lambda: recon, nonces=nonces, failing=list,
                  sender=Sender("test", "unit"), clock=clock)
    return pages, recon, nonces, clock


def link(clock: FakeClock, hours: float = 72) -> str:
    return sign(KEY, "reconciliation", RID, int((clock() + timedelta(hours=hours)).timestamp()))


def form(html: str) -> dict[str, str]:
    return {name: re.search(rf'name="{name}" value="([^"]*)"', html).group(1)  # type: ignore[union-attr]
            for name in ("nonce", "csrf")}


def test_the_form_nonce_expires_with_the_link_it_was_opened_from():
    pages, _, _, clock = setup()
    token = link(clock, hours=2)
    nonce = form(pages.get("reconciliation", RID, {"t": [token]}).html)["nonce"]
    assert nonce_expiry(nonce) == int((clock() + timedelta(hours=2)).timestamp())


def test_an_old_form_posted_with_a_fresh_link_after_ttl_deleted_its_nonce_applies_nothing():
    pages, recon, nonces, clock = setup()
    old = link(clock, hours=2)
    f = form(pages.get("reconciliation", RID, {"t": [old]}).html)
    first = pages.post("reconciliation", RID, {"t": [old], "sku": ["MUG"], **{k: [v] for k, v in f.items()}})
    assert first.status == 200 and len(recon.approved) == 1
    clock.advance(hours=30)
    nonces.forget_expired(clock().timestamp())  # TTL removed the claimed nonce
    assert nonces.items == {}
    again = pages.post("reconciliation", RID, {"t": [link(clock)], "sku": ["MUG"], **{k: [v] for k, v in f.items()}})
    assert again.status == 410 and "form has expired" in again.html
    assert len(recon.approved) == 1


def test_a_nonce_the_page_did_not_make_is_refused_by_name():
    clock = FakeClock()
    for bad in ("", "abc", "~x", "12~"):
        try:
            check_nonce(bad, now=clock())
        except LinkError as exc:
            assert exc.reason == "malformed"
        else:
            raise AssertionError(bad)
    assert check_nonce(new_nonce(int(clock().timestamp()) + 1, "r"), now=clock()) > clock().timestamp()


def test_an_export_link_redirects_to_a_fresh_short_lived_file_link_only_while_signed():
    clock = FakeClock()
    pages = Pages(key=lambda: KEY, reconciliation=Recon, nonces=FakePageNonces(), failing=list,
                  sender=Sender("test", "unit"), clock=clock, download=lambda eid: f"https://s3.example/{eid}?sig")
    eid = "0123456789abcdef0123456789abcdef.all.csv.gz"
    token = sign(KEY, "export", eid, int((clock() + timedelta(hours=72)).timestamp()))
    page = pages.get("export", eid, {"t": [token]})
    assert (page.status, page.location) == (302, f"https://s3.example/{eid}?sig")
    assert pages.get("export", "ffff" + eid[4:], {"t": [token]}).status == 403  # another file
    clock.advance(hours=73)
    assert pages.get("export", eid, {"t": [token]}).location is None
    assert pages.post("export", eid, {"t": [token]}).status == 405
