"""The nightly MFN reconciliation on fakes: a drifted listing is corrected on Amazon and reported once."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from connector.domain.settings import ChannelSettings, GlobalSettings
from connector.usecases.mfn_sync import MfnSync
from connector.usecases.nightly import REPORT_TYPE, NightlyReconciliation
from tests.fakes import FakeBrightpearl, FakeClock, FakeLinks, FakeListings, FakeReports, FakeSettings, Outbox, once

UK = "A1F83G8C2ARO7P"
HEADER = "item-name\tseller-sku\tprice\tquantity\tfulfillment-channel\n"


def world() -> tuple[NightlyReconciliation, FakeReports, FakeListings, Outbox]:
    bp = FakeBrightpearl(products={1: "MUG / 2", 2: "CUP"})
    bp.stock(1, 1, 9)
    bp.stock(1, 2, 4)
    links, listings = FakeLinks(), FakeListings({(UK, "MUG / 2"): 9, (UK, "CUP"): 4})
    settings = FakeSettings(GlobalSettings(mfn_warehouses=[1]), {UK: ChannelSettings()})
    for sku, pid in (("MUG / 2", 1), ("CUP", 2)):
        links.connect(seller_id="S", marketplace_id=UK, sku=sku, product_id=pid)
    sync = MfnSync(catalog=bp, links=links, settings=settings, listings=listings, marketplace_ids=[UK])
    reports, outbox = FakeReports(), Outbox()
    nightly = NightlyReconciliation(sync=sync, reports_for=lambda _m: reports, links=links, settings=settings,
                                    mailer=once(outbox), marketplace_ids=[UK], now=FakeClock())
    return nightly, reports, listings, outbox


def test_a_listing_amazon_shows_wrong_is_pushed_again_and_named_in_the_summary_email():
    nightly, reports, listings, outbox = world()
    (rid,) = nightly.start()["requested"].values()
    listings.quantities[(UK, "MUG / 2")] = 2  # drifted on Amazon (an order, a manual edit)
    doc = reports.finish(rid, [HEADER, "Mug\tMUG / 2\t9.99\t2\tDEFAULT\n", "Cup\tCUP\t3.50\t4\tDEFAULT\n"])
    summary = nightly.report_finished(rid, doc, "DONE")
    assert summary is not None
    assert listings.quantities[(UK, "MUG / 2")] == 9
    assert [c["sku"] for c in summary["corrected"]] == ["MUG / 2"]
    (email,) = outbox.sent
    assert "MUG / 2" in email.text and "1 corrected" in email.text


def test_a_repeated_schedule_or_notification_neither_requests_nor_applies_again():
    nightly, reports, listings, outbox = world()
    (rid,) = nightly.start()["requested"].values()
    assert nightly.start()["requested"] == {}
    doc = reports.finish(rid, [HEADER, "Mug\tMUG / 2\t9.99\t9\tDEFAULT\n", "Cup\tCUP\t3.50\t4\tDEFAULT\n"])
    nightly.report_finished(rid, doc, "DONE")
    emailed = len(outbox.sent)
    assert nightly.report_finished(rid, doc, "DONE") == {"scope": "EU", "already": "applied"}  # UK: EU pool
    assert len(reports.requested(REPORT_TYPE)) == 1 and len(outbox.sent) == emailed
    assert listings.pushes == []  # nothing drifted: nothing pushed


@settings(max_examples=40, deadline=None)
@given(drift=st.lists(st.tuples(st.integers(0, 30), st.integers(0, 30)), min_size=1, max_size=40),
       feed_max=st.integers(1, 6), quota=st.integers(0, 3))
def test_feeds_over_amazons_five_per_five_minutes_are_deferred_and_continued_each_sku_pushed_once(
        drift, feed_max, quota):
    """More feeds than JSON_LISTINGS_FEED's quota allows: the rest wait (not failed, nothing recorded on
    their links) and the job continues after 5 minutes from the same report until every drifted SKU is
    right; no SKU is pushed twice and one summary email goes out at the end."""
    skus = [f"SKU {i}/é&+" for i in range(len(drift))]
    bp = FakeBrightpearl(products={i + 1: s for i, s in enumerate(skus)})
    for i, (have, _shown) in enumerate(drift):
        bp.stock(1, i + 1, have)
    listings = FakeListings({(UK, s): shown for s, (_h, shown) in zip(skus, drift, strict=True)}, feed_quota=quota)
    links = FakeLinks()
    for i, s in enumerate(skus):
        links.connect(seller_id="S", marketplace_id=UK, sku=s, product_id=i + 1)
    conf = FakeSettings(GlobalSettings(mfn_warehouses=[1], patch_threshold=0), {UK: ChannelSettings()})
    sync = MfnSync(catalog=bp, links=links, settings=conf, listings=listings, marketplace_ids=[UK],
                   feed_max_messages=feed_max)
    reports, outbox, clock = FakeReports(), Outbox(), FakeClock()
    nightly = NightlyReconciliation(sync=sync, reports_for=lambda _m: reports, links=links, settings=conf,
                                    mailer=once(outbox, clock), marketplace_ids=[UK], now=clock)
    (rid,) = nightly.start()["requested"].values()
    doc = reports.finish(rid, [HEADER, *(f"x\t{s}\t1\t{shown}\tDEFAULT\n"
                                         for s, (_h, shown) in zip(skus, drift, strict=True))])
    nightly.report_finished(rid, doc, "DONE")
    for _ in range(len(drift) + 2):  # each pass sends at least one feed once the quota refills
        if conf.get_value("nightly#EU").get("status") == "applied":
            break
        assert nightly.poll() == {}, "continued before Amazon's 5-minute window"
        clock.advance(minutes=5)
        listings.feed_quota = 5
        nightly.poll()
    assert conf.get_value("nightly#EU")["status"] == "applied"
    wanted = {s: have for s, (have, _shown) in zip(skus, drift, strict=True)}
    assert {s: listings.quantities[(UK, s)] for s in skus} == wanted
    pushed = [u.sku for u in listings.pushes]
    assert sorted(pushed) == sorted(s for s, (have, shown) in zip(skus, drift, strict=True) if have != shown)
    assert len(outbox.sent) == (1 if pushed else 0)
