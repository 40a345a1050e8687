"""The demo's own FBA reconciliation approved from the page (issue 17): ``local.demo`` runs as ``make demo``
does (its data, its local stack and API Gateway stand-in); when the reconciliation email is in SES (moto)
the test opens the email's link in headless Chromium, chooses the lines, clicks Apply, and the Brightpearl
simulator shows the corrections once — a second click, a replayed POST and the demo's own
approve-reconciliation afterwards change nothing."""

from __future__ import annotations

import re
from typing import Any

import pytest

from local import demo
from local.stack import LocalStack
from tests.browser.conftest import screenshot
from tests.browser.test_approval_page import http

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def test_the_demos_reconciliation_is_approved_from_the_page_once(page, capsys) -> None:
    seen: dict[str, Any] = {}

    def review(stack: LocalStack, rid: str, mail: dict[str, Any]) -> None:
        bp = stack.bp
        link = re.search(r"Review and apply the corrections: (\S+)", mail["text"])
        assert link, mail["text"]

        def stock() -> dict[str, int]:
            return {sku: bp.on_hand(pid, demo.FBA) for sku, pid in (("TEA-FBA", demo.TEA), ("MUG-FBA", demo.MUG))}

        def posted() -> int:
            return len(bp.requests(route="post-stock-correction", ok_only=True))

        before, posted0 = stock(), posted()
        page.set_content(mail["html"])  # the email as the merchant sees it, its button is the same link
        assert page.get_attribute("#page-link", "href") == link.group(1)
        assert page.goto(link.group(1)).status == 200
        rows = page.eval_on_selector_all(
            "#lines tbody tr", "trs => trs.map(tr => [...tr.cells].map(td => td.innerText.trim()))")
        suggested = {r[1]: int(r[-1]) for r in rows if r[-1] not in ("", "—", "0", "+0")}
        boxes = page.eval_on_selector_all("#lines input[type=checkbox]", "bs => bs.map(b => b.value)")
        assert sorted(boxes) == sorted(suggested) == ["MUG-FBA", "TEA-FBA"]  # the demo's two drifts
        with page.expect_response(lambda r: r.request.method == "POST") as answered:
            page.click("#apply-button")
        assert answered.value.status == 200, answered.value.text()[:500]
        assert "2 correction(s) applied now" in page.inner_text("#result")
        screenshot(page, "demo-page-applied")
        after = stock()
        assert {s: after[s] - before[s] for s in after} == suggested
        assert posted() == posted0 + 1
        form, url = answered.value.request.post_data, answered.value.request.url
        page.go_back()  # a second click on the same page
        with page.expect_response(lambda r: r.request.method == "POST") as again:
            page.click("#apply-button")
        assert again.value.status == 409
        status, _, _ = http(url, data=form.encode())  # a replayed request
        assert status == 409
        assert stock() == after and posted() == posted0 + 1
        seen.update(after=after, posted=posted())

    assert demo.main(review=review) == 0
    out = capsys.readouterr().out
    assert re.search(r"approval link \(open it in a browser to review and apply\): http://127\.0\.0\.1:\d+/pages/"
                     r"reconciliation/\S+\?t=\S+", out)
    # The demo's approve-reconciliation after the page: both lines already applied, nothing moved.
    assert "approve-reconciliation: 2 already applied" in out
    assert f"Brightpearl FBA warehouse: TEA-FBA {seen['after']['TEA-FBA']}, MUG-FBA {seen['after']['MUG-FBA']}" in out
