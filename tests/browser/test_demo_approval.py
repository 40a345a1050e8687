"""The demo's own FBA reconciliation approved from the page (issue 17): ``python -m local.demo`` runs as
``make demo`` does (its data, its local stack and API Gateway stand-in), pausing once the reconciliation
email — read back from SES (moto) — has given its approval link. The test opens that link in headless
Chromium, chooses the lines, clicks Apply; the Brightpearl simulator records one correction request and
the FBA warehouse moves by the suggested corrections. Apply again from the page applies nothing, the
first form replayed gets 409, and the demo's own approve-reconciliation afterwards finds both lines
already applied and moves nothing."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import urllib.request

import pytest

from tests.browser.conftest import screenshot
from tests.browser.test_approval_page import http

pytestmark = [pytest.mark.browser, pytest.mark.e2e]
STOCK = r"Brightpearl FBA warehouse{}: TEA-FBA (\d+), MUG-FBA (\d+)"


def corrections_posted(bp_url: str) -> int:
    with urllib.request.urlopen(f"{bp_url}/_sim/journal?route=post-stock-correction", timeout=30) as resp:
        return sum(1 for e in json.loads(resp.read()) if 200 <= int(e["status"]) < 300)


# slow (make test-slow); the fast run covers it by test_approval_page.py (applied from the page once, replay refused)
# and test_demo.py (the demo end to end)
@pytest.mark.slow
def test_the_demos_reconciliation_is_approved_from_the_page_once(page) -> None:
    demo = subprocess.Popen([sys.executable, "-m", "local.demo", "--pause-for-review"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    timer = threading.Timer(240, demo.kill)  # a demo that never pauses fails the test, not the session
    timer.start()
    try:
        assert demo.stdout is not None and demo.stdin is not None
        head = []
        for line in demo.stdout:
            head.append(line)
            if "paused for the review" in line:
                break
        text = "".join(head)
        assert "paused for the review" in text, text[-3000:]
        link = re.search(r"approval link \(open it in a browser to review and apply\): (\S+)", text)
        bp_url = re.search(r"Brightpearl simulator (http://127\.0\.0\.1:\d+)", text)
        before = re.search(STOCK.format(" before the review"), text)
        assert link and bp_url and before, text[-3000:]
        posted0 = corrections_posted(bp_url.group(1))

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
        assert corrections_posted(bp_url.group(1)) == posted0 + 1
        form, url = answered.value.request.post_data, answered.value.request.url
        page.go_back()  # back to the page (shown afresh: no-store) and Apply clicked again
        with page.expect_response(lambda r: r.request.method == "POST") as again:
            page.click("#apply-button")
        assert again.value.status == 200 and "0 correction(s) applied now" in page.inner_text("#result")
        assert http(url, data=form.encode())[0] == 409  # the first form replayed
        assert corrections_posted(bp_url.group(1)) == posted0 + 1

        rest, err = demo.communicate("\n", timeout=200)
    finally:
        timer.cancel()
        if demo.poll() is None:
            demo.kill()
    assert demo.returncode == 0, err[-3000:]
    assert "approve-reconciliation: 2 already applied" in rest
    after = re.search(STOCK.format(""), rest)
    assert after, rest
    tea0, mug0 = int(before.group(1)), int(before.group(2))
    assert (int(after.group(1)) - tea0, int(after.group(2)) - mug0) == (suggested["TEA-FBA"], suggested["MUG-FBA"])
