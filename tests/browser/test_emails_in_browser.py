"""Every email the connector sends, rendered in headless Chromium: what a person sees (issue 17).

The emails are built by the use cases' own builders (tests/email_gallery.py); the HTML part is opened in
the browser and read back as a person reads it: the stack / stage / marketplace header, the "what this
means / what to do" lines, the table rows, the numbers right-aligned, the link to the page and to the
CLI docs. The text part must carry the same rows. One screenshot per email in test-artifacts/browser/.
"""

from __future__ import annotations

import pytest

from tests.browser.conftest import screenshot
from tests.email_gallery import Sample, every_email
from tests.emails import PREFIX

pytestmark = pytest.mark.browser

SAMPLES = every_email()


@pytest.mark.parametrize("sample", SAMPLES, ids=[s.name for s in SAMPLES])
def test_an_email_reads_in_a_browser_as_it_says(page, sample: Sample) -> None:
    email = sample.email
    page.set_content(email.html)
    seen = page.inner_text("body")
    # Who sent it: the subject's prefix and the header say the same stack, stage and marketplace.
    m = PREFIX.match(email.subject)
    assert m, email.subject
    header = page.inner_text("#sender")
    assert m["stack"] in header and m["stage"] in header and m["markets"] in header
    assert page.inner_text("h1") == email.subject[m.end():]
    assert "What this means" in seen and "What to do" in seen
    for text in sample.texts:
        assert text in seen, text
    # The rows a person must see, as the browser shows them, and numbers right-aligned.
    rows = page.eval_on_selector_all(
        "table.data tbody tr", "trs => trs.map(tr => [...tr.cells].map(td => td.innerText.trim()))")
    for want in sample.rows:
        assert any(r[:len(want)] == want for r in rows), (want, rows[:5])
    aligns = page.eval_on_selector_all(
        "table.data td.num", "tds => tds.map(td => getComputedStyle(td).textAlign)")
    assert aligns and set(aligns) == {"right"}
    # The CLI command, linked to its place in docs/cli.md.
    href = page.get_attribute("#cli a", "href")
    assert href and href.startswith("https://docs.example.com/connector/cli.md#")
    # The plain-text part carries the same rows (numbers right-aligned there too).
    for want in sample.rows:
        assert all(cell in email.text for cell in want), want
    screenshot(page, f"email-{sample.name}")


def test_the_page_link_is_a_button_only_where_there_is_something_to_open(page) -> None:
    by_name = {s.name: s for s in SAMPLES}
    page.set_content(by_name["fba-reconciliation"].email.html)
    assert page.get_attribute("#page-link", "href") == (
        "http://127.0.0.1:9/pages/reconciliation/20261201T040000Z-9ea4?t=SIGNED")
    page.set_content(by_name["nightly-mfn-check"].email.html)
    assert page.get_attribute("#page-link", "href") == "http://127.0.0.1:9/pages/nightly/2026-12-01?t=SIGNED"
    page.set_content(by_name["inbound-receiving"].email.html)
    assert page.query_selector("#page-link") is None
