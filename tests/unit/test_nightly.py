"""The nightly MFN reconciliation on fakes: a drifted listing is corrected on Amazon and reported once."""

from __future__ import annotations

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
