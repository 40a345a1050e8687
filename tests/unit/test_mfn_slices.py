"""Planning and pushing in bounded slices (issue 14 item 5) changes nothing Amazon sees: the same quantity per
listing, the same feeds, one EU warning; a pass stopped at a slice's end and resumed pushes each SKU once."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from connector.domain.quantities import Composition
from connector.domain.settings import ChannelSettings, GlobalSettings
from connector.domain.slices import BUCKETS, bucket_of, group_buckets
from connector.usecases.mfn_sync import EmailConflictNotifier, MfnSync
from connector.usecases.nightly import NightlyReconciliation
from tests.fakes import FakeBrightpearl, FakeClock, FakeLinks, FakeListings, FakeReports, FakeSettings, Outbox, once

UK, DE, FR = "A1F83G8C2ARO7P", "A1PA6795UKMFR9", "A13V1IB3VIYZZH"
EU = (UK, DE, FR)
HEADER = "item-name\tseller-sku\tprice\tquantity\tfulfillment-channel\n"
ALPHABET = st.sampled_from(list("AZaz09 /&+-éßÖ中"))


@dataclass
class Catalog(FakeBrightpearl):
    """The fake Brightpearl with bundles (of unlinked components) and a count of availability ID sets of 100."""

    bundles: dict[int, tuple[tuple[int, int], ...]] = field(default_factory=dict)
    id_sets: int = 0

    def stock_inputs(self, product_ids: Any) -> tuple[dict[int, dict[str, Any]], dict[int, Composition], set[int]]:
        wanted = set(product_ids)
        wanted |= {c for p in wanted for c, _ in self.bundles.get(p, ())}
        known = {p for p in wanted if p in self.products}
        plain = {p for p in known if p not in self.bundles}
        self.id_sets += math.ceil(len(plain) / 100)
        comps = {p: Composition(p, self.bundles.get(p, ())) for p in known}
        return self.availability(plain), comps, known


@dataclass(frozen=True)
class Spec:
    skus: list[str]
    markets: list[tuple[str, ...]]  # per SKU, the EU marketplaces it is listed in
    stock: list[tuple[int, int]]  # per SKU, on hand in warehouses 1 and 2
    shown: list[int]  # per SKU, what Amazon shows
    bundle: list[bool]  # per SKU, a bundle of two unlinked components
    de_warehouses: tuple[int, ...]  # DE's own warehouses: another setting than UK/FR (the EU conflict)


@st.composite
def specs(draw: Any) -> Spec:
    skus = draw(st.lists(st.text(ALPHABET, min_size=1, max_size=8).map(str.strip).filter(bool),
                         min_size=1, max_size=30, unique=True))
    n = len(skus)
    return Spec(skus, [tuple(m for m in EU if m in ms) for ms in
                       draw(st.lists(st.sets(st.sampled_from(EU), min_size=1), min_size=n, max_size=n))],
                draw(st.lists(st.tuples(st.integers(0, 9), st.integers(0, 9)), min_size=n, max_size=n)),
                draw(st.lists(st.integers(0, 12), min_size=n, max_size=n)),
                draw(st.lists(st.booleans(), min_size=n, max_size=n)),
                draw(st.sampled_from([(1,), (1, 2), (2,)])))


def world(spec: Spec, *, max_links: int, stop_after: int | None = None) -> dict[str, Any]:
    bp = Catalog(products={i + 1: s for i, s in enumerate(spec.skus)})
    for i, (a, b) in enumerate(spec.stock):
        if spec.bundle[i]:
            c1, c2 = 1000 + 2 * i, 1001 + 2 * i  # components: products no listing is linked to
            bp.products.update({c1: f"C{c1}", c2: f"C{c2}"})
            bp.bundles[i + 1] = ((c1, 1), (c2, 2))
            bp.stock(1, c1, a + 3)
            bp.stock(2, c2, b * 2)
        else:
            bp.stock(1, i + 1, a)
            bp.stock(2, i + 1, b)
    listings = FakeListings({(m, s): spec.shown[i] for i, s in enumerate(spec.skus) for m in spec.markets[i]})
    links = FakeLinks()
    for i, s in enumerate(spec.skus):
        for m in spec.markets[i]:
            links.connect(seller_id="S", marketplace_id=m, sku=s, product_id=i + 1)
    conf = FakeSettings(GlobalSettings(mfn_warehouses=[1, 2], patch_threshold=0),
                        {UK: ChannelSettings(), FR: ChannelSettings(),
                         DE: ChannelSettings(mfn_warehouses=list(spec.de_warehouses))})
    outbox, clock = Outbox(), FakeClock()
    sync = MfnSync(catalog=bp, links=links, settings=conf, listings=listings, marketplace_ids=list(EU),
                   notifier=EmailConflictNotifier(once(outbox, clock), conf))
    ticks = iter(range(10**6))
    # A pass's clock: each slice takes one budget's worth once ``stop_after`` slices are done.
    timer = (lambda: 0.0) if stop_after is None else (lambda: 0.0 if next(ticks) <= stop_after else 10.0**9)
    nightly = NightlyReconciliation(sync=sync, reports_for=lambda _m: reports, links=links, settings=conf,
                                    mailer=once(outbox, clock), marketplace_ids=list(EU), now=clock,
                                    max_links=max_links, timer=timer)
    reports = FakeReports()
    return {"bp": bp, "listings": listings, "links": links, "conf": conf, "nightly": nightly, "reports": reports,
            "outbox": outbox, "clock": clock}


def run_night(w: dict[str, Any], spec: Spec) -> None:
    nightly, reports = w["nightly"], w["reports"]
    (rid,) = nightly.start()["requested"].values()
    rows = [f"x\t{s}\t1\t{spec.shown[i]}\tDEFAULT\n" for i, s in enumerate(spec.skus)]
    nightly.report_finished(rid, reports.finish(rid, [HEADER, *rows]), "DONE")
    for _ in range(BUCKETS + 2):  # a stopped pass goes on at the next poll
        if w["conf"].get_value("nightly#EU").get("status") == "applied":
            return
        nightly.poll()
    raise AssertionError("the nightly never finished")


def sent(w: dict[str, Any]) -> dict[tuple[str, str], int]:
    """What Amazon received, per listing (the last quantity each got)."""
    return {(u.marketplace_id, u.sku): u.quantity for u in w["listings"].pushes}


def bookkeeping(w: dict[str, Any]) -> dict[str, int | None]:
    return {lk.listing_id: lk.last_pushed_quantity for lk in w["links"].all()}


@settings(max_examples=60, deadline=None)
@given(spec=specs(), max_links=st.integers(1, 12))
def test_slicing_pushes_exactly_the_unsliced_plan(spec: Spec, max_links: int) -> None:
    whole, sliced = world(spec, max_links=10**6), world(spec, max_links=max_links)
    run_night(whole, spec)
    run_night(sliced, spec)
    assert sent(sliced) == sent(whole)
    assert sorted((u.marketplace_id, u.sku) for u in sliced["listings"].pushes) == \
        sorted((u.marketplace_id, u.sku) for u in whole["listings"].pushes)  # once each, as unsliced
    assert bookkeeping(sliced) == bookkeeping(whole)  # EU siblings recorded with their SKU's one send
    # Feeds are carried over from slice to slice: slicing never splits one.
    assert len(sliced["listings"].feeds) == len(whole["listings"].feeds)
    # One summary (and at most one EU warning), whatever the slices.
    assert [m.subject for m in sliced["outbox"].sent] == [m.subject for m in whole["outbox"].sent]
    # Brightpearl: at most one partial ID set more per slice than the unsliced read.
    slices = len(group_buckets([sum(1 for s, ms in zip(spec.skus, spec.markets, strict=True) if bucket_of(s) == b
                                    for _ in ms) for b in range(BUCKETS)], max_links))
    assert sliced["bp"].id_sets <= whole["bp"].id_sets + slices


@settings(max_examples=60, deadline=None)
@given(spec=specs(), max_links=st.integers(1, 8), stop_after=st.integers(0, 4))
def test_a_pass_stopped_after_slice_k_resumes_after_it_and_pushes_each_sku_once(
        spec: Spec, max_links: int, stop_after: int) -> None:
    whole, stopped = world(spec, max_links=10**6), world(spec, max_links=max_links, stop_after=stop_after)
    run_night(whole, spec)
    run_night(stopped, spec)
    assert sent(stopped) == sent(whole)
    pushed = [(u.marketplace_id, u.sku) for u in stopped["listings"].pushes]
    assert len(pushed) == len(set(pushed)), "a listing was pushed twice"
    assert sorted(pushed) == sorted((u.marketplace_id, u.sku) for u in whole["listings"].pushes)
    assert bookkeeping(stopped) == bookkeeping(whole)
    # One summary and at most one EU warning (with every pass's conflicts), at the last pass.
    assert sorted(m.subject for m in stopped["outbox"].sent) == sorted(m.subject for m in whole["outbox"].sent)
    job = stopped["conf"].get_value("nightly#EU")
    assert job["status"] == "applied" and "next_bucket" not in job
    summary = job["summary"]
    assert summary["listings"] == sum(len(ms) for ms in spec.markets)
    assert summary["corrected_count"] == whole["conf"].get_value("nightly#EU")["summary"]["corrected_count"]


@given(counts=st.lists(st.integers(0, 30), min_size=BUCKETS, max_size=BUCKETS), max_links=st.integers(1, 200),
       start=st.integers(0, BUCKETS - 1))
def test_bucket_groups_cover_every_bucket_once_in_order_within_the_bound(counts: list[int], max_links: int,
                                                                         start: int) -> None:
    groups = group_buckets(counts, max_links, start)
    assert groups[0][0] == start and groups[-1][1] == BUCKETS
    assert all(a[1] == b[0] for a, b in itertools.pairwise(groups))
    for lo, hi in groups:
        size = sum(counts[lo:hi])
        assert size <= max_links or sum(1 for c in counts[lo:hi] if c) == 1  # a big bucket is never split


def test_every_marketplace_of_a_sku_is_in_one_slice() -> None:
    links = FakeLinks()
    skus = [f"SKU {i}/é&+" for i in range(300)]
    for s in skus:
        for m in EU:
            links.connect(seller_id="S", marketplace_id=m, sku=s, product_id=1)
    parts = list(links.slices(EU, max_links=40))
    assert len(parts) > 5 and all(len(p.links) <= 40 or len({lk.sku for lk in p.links}) == 1 for p in parts)
    where = {}
    for n, p in enumerate(parts):
        for lk in p.links:
            assert where.setdefault(lk.sku, n) == n
    assert sorted(where) == sorted(skus)
