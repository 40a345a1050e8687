"""Product → link lookups for a whole batch of stock changes (DynamoDB on moto): exactly the links of
the products asked for, in a few calls per batch, not one GSI Query per product (issue 14 item 2)."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector.adapters.repositories import LinkRepository, id_ranges
from connector.adapters.store import ListingLink
from local.aws_calls import aws_calls

BASE = 7_000_000_000  # far from any other test's product ids (the moto tables are shared by the session)


def _store(links: list[tuple[str, str, int, str]]) -> None:
    with ListingLink.batch_write() as batch:
        for marketplace_id, sku, product_id, channel in links:
            batch.save(ListingLink(f"{marketplace_id}#{sku}", seller_id="S", marketplace_id=marketplace_id, sku=sku,
                                   product_id=product_id, fulfillment_channel=channel))


def _clear(links: list[tuple[str, str, int, str]]) -> None:
    with ListingLink.batch_write() as batch:
        for marketplace_id, sku, _pid, _channel in links:
            batch.delete(ListingLink(f"{marketplace_id}#{sku}"))


@st.composite
def catalogue(draw: st.DrawFn) -> tuple[list[tuple[str, str, int, str]], set[int]]:
    """Links of products with gaps of every size (a few ids to beyond the Query split), some products
    linked in several marketplaces, some FBA, SKUs with awkward characters; and a set of changed
    products, some linked, some not."""
    pid, pids = BASE, []
    for gap in draw(st.lists(st.sampled_from([1, 1, 2, 7, 150, 2_500, 90_000]), min_size=1, max_size=40)):
        pid += gap
        pids.append(pid)
    links = []
    for i, p in enumerate(pids):
        for m in draw(st.lists(st.sampled_from(["UK", "DE", "FR"]), min_size=0, max_size=3, unique=True)):
            links.append((m, f"S {i}/ä&+{p}", p, draw(st.sampled_from(["MFN", "MFN", "FBA"]))))
    changed = set(draw(st.lists(st.sampled_from(pids), max_size=len(pids))))
    changed |= set(draw(st.lists(st.integers(BASE, pid + 5), max_size=5)))  # unlinked ids too
    return links, changed


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(world=catalogue())
def test_by_products_returns_exactly_the_links_of_the_changed_products(local_aws, world):
    links, changed = world
    _store(links)
    try:
        with aws_calls("dynamodb") as calls:
            found = LinkRepository().by_products(changed)
        want = sorted(f"{m}#{s}" for m, s, p, _c in links if p in changed)
        assert [link.listing_id for link in found] == sorted(want, key=lambda i: (
            next(p for m, s, p, _c in links if f"{m}#{s}" == i), i))
        assert all(link.sku and link.seller_id == "S" for link in found)  # whole items, not index keys
        # One Query per channel and id range (plus pages), and BatchGetItem per 100 links: no per-product reads.
        assert set(calls) <= {"Query", "BatchGetItem"}
        assert calls["Query"] <= 2 * len(id_ranges(changed))
        assert calls["BatchGetItem"] <= math.ceil(len(want) / 100)
    finally:
        _clear(links)


def test_a_storm_of_1000_products_costs_under_a_tenth_of_a_call_per_product(local_aws):
    pids = [BASE + 10_000_000 + i + (i // 50) * 13 for i in range(1_000)]  # gaps, as a long-lived account has
    links = [(m, f"STORM-{p}", p, "MFN") for p in pids for m in ("UK", "DE")]
    _store(links)
    try:
        with aws_calls("dynamodb") as calls:
            found = LinkRepository().by_products(pids)
        assert len(found) == 2_000
        assert sum(calls.values()) / len(pids) <= 0.1, calls
    finally:
        _clear(links)


def test_a_relinked_or_deleted_link_is_read_as_it_is_now(local_aws):
    repo = LinkRepository()
    a = repo.connect(seller_id="S", marketplace_id="UK", sku="MOVE-1", product_id=BASE + 1)
    repo.connect(seller_id="S", marketplace_id="UK", sku="GONE-1", product_id=BASE + 1)
    repo.connect(seller_id="S", marketplace_id="UK", sku="MOVE-1", product_id=BASE + 2, channel="FBA")
    repo.disconnect("UK", "GONE-1")
    try:
        assert [link.listing_id for link in repo.by_products([BASE + 1])] == []
        [moved] = repo.by_products([BASE + 2])
        assert (moved.listing_id, moved.fulfillment_channel) == (a.listing_id, "FBA")
        assert repo.by_products([]) == []
    finally:
        repo.disconnect("UK", "MOVE-1")


@pytest.mark.parametrize(("ids", "ranges"), [
    ([5], [(5, 5)]), ([1, 2, 3, 2_003], [(1, 2_003)]), ([1, 2_002], [(1, 1), (2_002, 2_002)]),
])
def test_id_ranges_split_only_at_wide_gaps(ids, ranges):
    assert id_ranges(ids) == ranges
