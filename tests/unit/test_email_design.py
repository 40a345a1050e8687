"""The one email design (issue 17): same content in HTML and text, escaped, named, long lists attached."""

from __future__ import annotations

import csv
import io
import re

from hypothesis import example, given, settings
from hypothesis import strategies as st
from markupsafe import escape

from connector.emails.design import Column, Message, PageLink, Sender, Table, render, text_table
from tests.email_gallery import every_email
from tests.emails import table_rows, title

SKU = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=20).map(str.strip).filter(bool)
SENDER = Sender("connector-test", "test", ("A1F83G8C2ARO7P", "A1PA6795UKMFR9"))


def message(rows, *, limit=50, page=None):
    return Message(title="Something happened", summary="It did.", meaning="It means this.", todo="Do that.",
                   tables=(Table.of("Lines", ["SKU", Column("quantity", numeric=True)], rows, limit=limit),),
                   cli="connector --stack {stack} explain SKU", cli_doc="explain-sku", page=page)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(SKU, st.integers(-10_000, 10_000)), min_size=1, max_size=8))
@example([('&"<b>\'', 1), ("=HYPERLINK(\"x\")", -2)])  # the one full runs found: quotes are escaped too
def test_html_and_text_say_the_same_rows_and_the_html_is_escaped(rows):
    email = render(message(rows), SENDER)
    assert title(email.subject) == "Something happened"
    assert email.subject.startswith("[connector-test · test] UK, DE: ")
    shown = table_rows(email.html, data_only=True)[1:]  # the parser unescapes: what a person sees
    assert shown == [[" ".join(s.split()), str(q)] for s, q in rows]
    for s, _ in rows:
        if any(ch in s for ch in "<>&"):
            assert str(escape(s)) in email.html  # Jinja2's autoescape (markupsafe)
        assert s in email.text
    assert "<script" not in email.html.lower() or all("<script" not in s.lower() for s, _ in rows)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(SKU, st.integers(-999, 99_999)), min_size=1, max_size=6))
def test_text_tables_right_align_numbers(rows):
    table = Table.of("Lines", ["SKU", Column("quantity", numeric=True)], rows)
    lines = text_table(table).splitlines()
    ends = {len(line) for line in lines[2:]} | {len(lines[0])}
    assert len(ends) == 1  # every row ends where the right-aligned column ends
    for line, (_, q) in zip(lines[2:], rows, strict=True):
        assert line.endswith(str(q))


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(SKU, st.integers(0, 99)), min_size=4, max_size=30), st.integers(1, 3))
def test_a_long_list_shows_its_first_rows_and_attaches_every_row_formula_safe(rows, limit):
    email = render(message(rows, limit=limit), SENDER)
    assert len(table_rows(email.html, data_only=True)) - 1 == min(limit, len(rows))
    assert f"first {limit} of {len(rows)}" in email.text
    (att,) = email.attachments
    got = list(csv.reader(io.StringIO(att.content.decode("utf-8"))))
    assert len(got) == len(rows) + 1
    for (sku, q), (cell, qty) in zip(rows, got[1:], strict=True):
        assert qty == str(q)
        assert cell == ("'" + sku if sku.startswith(("=", "+", "-", "@")) else sku)


def test_the_cli_command_names_the_sending_stack_and_links_the_docs():
    email = render(message([("A", 1)]), Sender("brightpearl-amazon-connector-prod", "prod",
                                               docs_url="https://docs.example.com/c/"))
    assert "connector --stack brightpearl-amazon-connector-prod explain SKU" in email.text
    assert 'href="https://docs.example.com/c/cli.md#explain-sku"' in email.html
    no_docs = render(message([("A", 1)]), Sender("s", "dev"))
    assert "See docs/cli.md#explain-sku" in no_docs.text and "href=" not in no_docs.html.split('id="cli"')[1]


def test_a_page_link_that_cannot_be_signed_leaves_the_email_with_the_command_instead():
    def broken(link):
        raise RuntimeError("secret not readable")
    email = render(message([("A", 1)], page=PageLink("reconciliation", "R1", "Review")),
                   Sender("s", "dev", page_url=broken))
    assert "the page link could not be made" in email.text and 'id="page-link"' not in email.html
    signed = render(message([("A", 1)], page=PageLink("reconciliation", "R1", "Review")),
                    Sender("s", "dev", page_url=lambda link: f"https://x/pages/{link.kind}/{link.id}?t=T"))
    assert "Review: https://x/pages/reconciliation/R1?t=T" in signed.text


def _slug(heading: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_cli_link_in_the_emails_points_at_a_heading_of_docs_cli_md():
    from pathlib import Path

    headings = {_slug(h) for h in re.findall(r"^#+ (.+)$", Path("docs/cli.md").read_text(), flags=re.MULTILINE)}
    anchors = {m for s in every_email() for m in re.findall(r'cli\.md#([\w-]+)"', s.email.html)}
    assert anchors and anchors <= headings, anchors - headings
