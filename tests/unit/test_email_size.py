"""Email size flat in the work size (issue 14 item 5): the body keeps a summary and the top rows, long lists
go as a GZIP-compressed formula-safe CSV, and files too large for an email go to the exports store and are
linked — whatever the number of rows, the raw message stays well under SES's 10 MB."""

from __future__ import annotations

import csv
import gzip
import io
import random
from email import message_from_bytes, policy

from hypothesis import given, settings
from hypothesis import strategies as st

from connector.adapters.email import Mailer
from connector.domain.email import Attachment
from connector.domain.messages import COMPRESS_ABOVE, LINK_ABOVE, MAX_ROWS_IN_BODY, Column, Message, Sender, Table
from connector.emails.sending import DesignMailer
from tests.fakes import FakeExports

SES_MESSAGE_BYTES = 10 * 1000 * 1000  # bench/limits.py: SendRawEmail, after base64


class RawSes:
    def __init__(self) -> None:
        self.raw: list[bytes] = []

    def send_raw_email(self, **kwargs):  # type: ignore[no-untyped-def]
        self.raw.append(kwargs["RawMessage"]["Data"])
        return {"MessageId": f"m-{len(self.raw)}"}


def mailer(exports: FakeExports | None = None) -> tuple[DesignMailer, RawSes]:
    ses = RawSes()
    return DesignMailer(Mailer("c@example.com", ["ops@example.com"], client=ses), Sender("s", "t"), exports), ses


def message(n: int, seed: int = 1) -> Message:
    rng = random.Random(seed)
    # As wide as the FBA reconciliation's CSV lines (about 120 bytes): 100 000 of them are 12 MB as text.
    rows = [[f"=SKU-{rng.randrange(10**9)}/{i}", rng.randint(-500, 500), rng.randint(0, 900),
             f"inbound FBA15{rng.randrange(10**6):06d}: {rng.randint(1, 99)} received, not yet released; "
             f"return {rng.randrange(10**9)} in flight"] for i in range(n)]
    return Message("Differences", f"{n:,} SKU(s) differ.", "m", "t",
                   tables=(Table.of("Differences", ["SKU", Column("difference", True), Column("on hand", True),
                                                    "explanation"], rows, csv_name="all.csv"),))


def test_a_long_list_is_attached_compressed_formula_safe_and_the_body_keeps_the_top_rows():
    m, _ = mailer()
    email = m.render(message(5_000))
    (a,) = email.attachments
    assert a.filename == "all.csv.gz" and a.mime_subtype == "gzip"
    rows = list(csv.reader(io.StringIO(gzip.decompress(a.content).decode("utf-8"))))
    assert len(rows) == 5_001 and all(r[0].startswith("'=SKU-") for r in rows[1:])
    assert email.html.count('<td class="num"') == 2 * MAX_ROWS_IN_BODY  # two numeric columns, 50 rows
    assert "every row in all.csv.gz" in email.text


def test_a_short_list_stays_a_plain_csv():
    email = mailer()[0].render(message(20))
    assert [(a.filename, a.mime_subtype) for a in email.attachments] == [("all.csv", "csv")]
    assert len(email.attachments[0].content) <= COMPRESS_ABOVE


def test_files_too_large_to_attach_are_stored_and_linked_not_attached():
    exports = FakeExports()
    m, ses = mailer(exports)
    blob = random.Random(3).randbytes(LINK_ABOVE + 1)  # incompressible
    m.send(Message("Big", "s", "m", "t", attachments=(Attachment("big.csv", blob),)))
    (raw,) = ses.raw
    assert len(raw) < 100_000
    ((content, kind),) = exports.files.values()
    assert gzip.decompress(content) == blob and kind == "application/gzip"
    parsed = message_from_bytes(raw, policy=policy.default)
    assert list(parsed.iter_attachments()) == []
    for part in ("plain", "html"):
        body = parsed.get_body(preferencelist=(part,)).get_content()  # type: ignore[union-attr]
        assert "big.csv.gz" in body and "https://pages.example/pages/export/1.big.csv.gz" in body


def test_without_an_exports_store_a_large_file_is_still_attached():
    m, ses = mailer(None)
    blob = random.Random(4).randbytes(LINK_ABOVE + 1)
    m.send(Message("Big", "s", "m", "t", attachments=(Attachment("big.bin", blob, "octet-stream"),)))
    assert len(ses.raw[0]) > LINK_ABOVE


@settings(max_examples=4, deadline=None)
@given(st.sampled_from([0, 10, 2_000, 100_000]), st.integers(0, 10**6))
def test_the_raw_email_stays_under_70_percent_of_ses_limit_at_any_size(n, seed):
    m, ses = mailer(FakeExports())
    m.send(message(n, seed))
    assert len(ses.raw[0]) <= 0.7 * SES_MESSAGE_BYTES
