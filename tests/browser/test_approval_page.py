"""The FBA reconciliation reviewed and applied from the page, in headless Chromium (issue 17).

The stack runs locally (handlers as Lambda runs them, API Gateway stand-in, moto, both simulators); the
reconciliation is the e2e one (drift on both sides next to units in flight). The merchant opens the link
from the email read back from SES, filters, chooses lines, clicks Apply; the Brightpearl simulator's FBA
warehouse must show the chosen corrections once — a replayed POST, a second approval, a mail scanner's
GETs change nothing. The signed-link rules are checked against the same running page.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest

from connector.adapters.repositories import LinkRepository, listing_id
from connector.domain.signed_links import sign
from connector.emails.design import PageLink
from connector.emails.sending import PageLinks
from local.stack import PAGE_SIGNING_KEY
from tests.browser.conftest import screenshot
from tests.e2e.test_fba_reconciliation import CANDLE, MUG, SOAP, TEA, UK, World, drift, world  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.e2e]
KEY = PAGE_SIGNING_KEY.encode()


def http(url: str, *, data: bytes | None = None, agent: str = "Mozilla/5.0") -> tuple[int, str, dict[str, str]]:
    req = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET",
                                 headers={"User-Agent": agent, "Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read().decode(), dict(resp.headers.items())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), dict(exc.headers.items())


def reconcile(w: World) -> tuple[str, str, dict]:
    drift(w)
    rid = w.operator("reconcile-fba")["id"]
    [mail] = [m for m in w.recon_emails() if rid in m["subject"]]
    link = re.search(r"Review and apply the corrections: (\S+)", mail["text"])
    assert link, mail["text"]
    return rid, link.group(1), mail


def lines_on(page) -> dict[str, list[str]]:
    rows = page.eval_on_selector_all("#lines tbody tr",
                                     "trs => trs.map(tr => [...tr.cells].map(td => td.innerText.trim()))")
    return {r[1]: r for r in rows}


def approvals(w: World, rid: str) -> list:
    return w.operator("show-reconciliation", id=rid, limit=1)["reconciliation"]["approvals"]


def test_the_reconciliation_is_reviewed_and_applied_from_the_page_once(world: World, page) -> None:  # noqa: F811
    w = world
    rid, link, mail = reconcile(w)
    candle0, mug0, tea0, posted0 = w.stock(CANDLE), w.stock(MUG), w.stock(TEA), w.corrections_posted()

    # The email leads to the page; a mail scanner or link preview following it (GET, several times) applies nothing.
    page.set_content(mail["html"])
    assert page.get_attribute("#page-link", "href") == link
    for agent in ("Mozilla/5.0 (compatible; SafeLinks scanner)", "Slackbot-LinkExpanding 1.0", "Mozilla/5.0"):
        status, body, headers = http(link, agent=agent)
        assert status == 200 and "CANDLE-FBA" in body
        assert headers["Cache-Control"] == "no-store" and headers["Referrer-Policy"] == "no-referrer"
    assert w.corrections_posted() == posted0 and approvals(w, rid) == []

    # What the merchant sees: every line, differences and explanations, a box only where there is a correction.
    response = page.goto(link)
    assert response.status == 200
    rows = lines_on(page)
    assert set(rows) == {"CANDLE-FBA", "MUG-FBA", "TEA-FBA", "SOAP-FBA", "STRAY-FBA"}
    assert rows["CANDLE-FBA"][2:] == ["#1022", "difference", "13", "10", "3", "—", "+3"]
    assert rows["MUG-FBA"][2:] == ["#1021", "difference", "20", "18", "2", "—", "+2"]
    assert rows["TEA-FBA"][3] == "explained" and "inbound FBA15TEA" in rows["TEA-FBA"][7]
    boxes = page.eval_on_selector_all("#lines input[type=checkbox]", "bs => bs.map(b => b.value)")
    assert sorted(boxes) == ["CANDLE-FBA", "MUG-FBA"]
    assert "stack connector-local" in page.inner_text("#sender")
    screenshot(page, "page-reconciliation")

    # The SKU filter.
    page.fill("#filter input[name=sku]", "CANDLE-FBA")
    page.click("#filter button")
    assert set(lines_on(page)) == {"CANDLE-FBA"}
    page.click("text=show all")
    assert len(lines_on(page)) == 5

    # Choose CANDLE only and apply; keep the POST to replay it afterwards.
    page.uncheck("#lines input[value='MUG-FBA']")
    with page.expect_response(lambda r: r.request.method == "POST") as answered:
        page.click("#apply-button")
    assert answered.value.status == 200, answered.value.text()[:500]
    posted = answered.value.request
    form = posted.post_data
    assert page.inner_text("h1") == f"Applied: reconciliation {rid}"  # this click applied (not a resend)
    assert "1 correction(s) applied now" in page.inner_text("#result")
    screenshot(page, "page-applied")
    assert (w.stock(CANDLE), w.stock(MUG), w.stock(TEA)) == (candle0 + 3, mug0, tea0)
    assert w.corrections_posted() == posted0 + 1

    # The same form again (double click, browser resubmit, a replayed request): the first result, nothing more.
    again = page.request.post(posted.url, data=form,
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert again.status == 409 and "already submitted" in again.text()
    status, body, _ = http(posted.url, data=form.encode())
    assert status == 409 and "nothing was applied again" in body
    assert w.stock(CANDLE) == candle0 + 3 and w.corrections_posted() == posted0 + 1

    # A fresh page: the earlier approval is named; a maximum of 1 unit leaves both lines (3 and 2) alone.
    page.goto(link)
    assert "approval page" in page.inner_text("#approvals")
    page.fill("input[name=max_units]", "1")
    page.click("#apply-button")
    assert "0 correction(s) applied now" in page.inner_text("#result")
    assert (w.stock(CANDLE), w.stock(MUG)) == (candle0 + 3, mug0)

    # Everything chosen: MUG is applied, CANDLE is not applied a second time.
    page.goto(link)
    page.click("#apply-button")
    result = page.inner_text("#result")
    assert "1 correction(s) applied now" in result and "1 already applied earlier" in result
    assert (w.stock(CANDLE), w.stock(MUG), w.stock(TEA)) == (candle0 + 3, mug0 + 2, tea0)
    assert w.corrections_posted() == posted0 + 2

    # The operator's approve-reconciliation is the same code path: it finds both applied.
    out = w.operator("approve-reconciliation", id=rid)
    assert out["statuses"] == {"already_applied": 2}
    assert w.corrections_posted() == posted0 + 2 and (w.stock(CANDLE), w.stock(MUG)) == (candle0 + 3, mug0 + 2)


def test_expired_altered_wrong_id_and_forged_requests_apply_nothing(world: World, page) -> None:  # noqa: F811
    w = world
    rid, link, _ = reconcile(w)
    base = link.split("?", 1)[0]
    stock0, posted0 = (w.stock(CANDLE), w.stock(MUG)), w.corrections_posted()

    expired = sign(KEY, "reconciliation", rid, int((datetime.now(UTC) - timedelta(minutes=1)).timestamp()))
    response = page.goto(f"{base}?t={expired}")
    assert response.status == 410 and page.get_attribute("#message", "data-reason") == "expired"
    assert "This link has expired" in page.inner_text("h1") and "Nothing was applied" in page.inner_text("#message")
    screenshot(page, "page-expired")

    token = link.split("?t=", 1)[1]
    head, mac = token.split(".")
    flipped = mac[:5] + ("A" if mac[5] != "A" else "B") + mac[6:]
    other = sign(KEY, "reconciliation", "20261130T040000Z-0000", int(datetime.now(UTC).timestamp()) + 3600)
    for url, status, why in [
        (f"{base}?t={head}.{flipped}", 403, "tampered"),  # the signature altered
        (f"{base}?t={other.split('.')[0]}.{mac}", 403, "tampered"),  # another id with this link's signature
        (f"{base}?t={other}", 403, "wrong-id"),  # a genuine link of another reconciliation
        (base.replace(rid, "20261130T040000Z-0000") + f"?t={token}", 403, "wrong-id"),  # this link, another id
        (f"{base}?t=garbage", 403, "malformed"),
        (base, 400, ""),  # no token at all
    ]:
        got, body, _ = http(url)
        assert got == status and f'data-reason="{why}"' in body, (url, got, body[:300])

    # Forged POSTs: a form without its token, a token of another nonce, an unknown field, the read-only page.
    good = page.goto(link)
    assert good.status == 200
    nonce = page.get_attribute("input[name=nonce]", "value")
    csrf = page.get_attribute("input[name=csrf]", "value")
    for body, status, text in [
        (f"t={token}&nonce={nonce}&sku=CANDLE-FBA", 400, "the field &#39;csrf&#39; is missing"),
        (f"t={token}&nonce=other-{nonce}&csrf={csrf}&sku=CANDLE-FBA", 403, "reload the page"),
        (f"t={token}&nonce={nonce}&csrf={csrf}&sku=CANDLE-FBA&dry_run=1", 400, "unknown form field(s): dry_run"),
        (f"t={expired}&nonce={nonce}&csrf={csrf}&sku=CANDLE-FBA", 410, "expired"),
        (f"t={token}&nonce={nonce}&csrf={csrf}&sku=CANDLE-FBA&max_units=-1", 400, "max_units=&#39;-1&#39;"),
        (f"t={token}&nonce={nonce}&csrf={csrf}", 400, "Choose at least one line"),
    ]:
        got, html, _ = http(base, data=body.encode())
        assert got == status and text in html, (body, got, html[:400])
    got, html, _ = http(base.replace("/reconciliation/", "/nightly/"), data=b"t=x")
    assert got == 405

    # A newer reconciliation supersedes this one: its still-valid link shows it without an Apply button,
    # and the form made before is refused with the reason (applying both would correct the drift twice).
    newer = w.operator("reconcile-fba", email=False)["id"]
    page.goto(link)
    assert page.inner_text("#superseded") and page.query_selector("#apply-button") is None
    got, html, _ = http(base, data=f"t={token}&nonce={nonce}&csrf={csrf}&sku=CANDLE-FBA".encode())
    assert got == 409 and f"superseded by {newer}" in html
    assert (w.stock(CANDLE), w.stock(MUG)) == stock0 and w.corrections_posted() == posted0
    assert approvals(w, rid) == []


def test_the_nightly_failing_listings_are_served_read_only_from_a_signed_link(world: World, page) -> None:  # noqa: F811
    w = world
    LinkRepository().set_amazon_status(listing_id(UK, "SOAP-FBA"), "not-found",
                                       result="not on Amazon: missing from the All Listings report")
    links = PageLinks(w.stack.api.url, lambda: KEY)
    url = links.url(PageLink("nightly", "2026-12-01", "Open"))
    response = page.goto(url)
    assert response.status == 200
    rows = page.eval_on_selector_all("#failing tbody tr", "trs => trs.map(tr => [...tr.cells].map(td => td.innerText))")
    assert rows == [["SOAP-FBA", "UK (A1F83G8C2ARO7P)", "not on Amazon: missing from the All Listings report"]]
    assert page.query_selector("form[method=post]") is None
    screenshot(page, "page-nightly-failing")
    got, body, _ = http(url.replace("2026-12-01", "2026-12-02"))
    assert got == 403 and 'data-reason="wrong-id"' in body
    assert w.stock(SOAP) == 8  # nothing moved
