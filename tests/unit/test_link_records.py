"""Compact link records (adapters/link_records.py: LinkRecord.of): the values read, with repeated strings
shared between records (issue 14 item 5: 300 000 links at 100 000 EU SKUs)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.adapters import link_records
from connector.adapters.repositories import LinkRecord
from connector.adapters.store import ListingLink

text = st.text(min_size=1, max_size=20)


@given(rows=st.lists(st.tuples(text, st.sampled_from(["A1F83G8C2ARO7P", "A1PA6795UKMFR9"]), text,
                               st.sampled_from(["MFN", "FBA"]), st.none() | text,
                               st.none() | st.sampled_from(["confirmed", "not-found"])), min_size=1, max_size=40))
def test_a_record_holds_exactly_what_the_link_held(rows) -> None:
    for seller, market, sku, channel, result, status in rows:
        link = ListingLink(f"{market}#{sku}")
        link.seller_id, link.marketplace_id, link.sku, link.product_id = "".join(seller), "".join(market), sku, 7
        link.fulfillment_channel, link.last_result, link.amazon_status = "".join(channel), result, status
        link.last_push_at = datetime(2026, 12, 1, tzinfo=UTC)
        rec = LinkRecord.of(link)
        assert (rec.seller_id, rec.marketplace_id, rec.sku, rec.fulfillment_channel, rec.last_result,
                rec.amazon_status) == (seller, market, sku, channel, result, status)


def test_repeated_values_are_one_string_between_records(monkeypatch: pytest.MonkeyPatch) -> None:
    # The shared strings are bounded (256) and process-wide: start from none, or the tests run before this
    # one (any that read links) decide whether these values still fit.
    monkeypatch.setattr(link_records, "_COMMON", {})
    recs = []
    for i in range(3):
        link = ListingLink(f"A1F83G8C2ARO7P#SKU-{i}")
        link.seller_id, link.marketplace_id, link.sku = "".join(["A1", "SELLER"]), "".join(["A1F83G8C2ARO7P"]), f"S{i}"
        link.product_id, link.fulfillment_channel, link.last_result = i, "".join(["M", "FN"]), "".join(["ACC", "EPTED"])
        recs.append(LinkRecord.of(link))
    for attr in ("seller_id", "marketplace_id", "fulfillment_channel", "last_result"):
        assert getattr(recs[0], attr) is getattr(recs[1], attr) is getattr(recs[2], attr), attr
