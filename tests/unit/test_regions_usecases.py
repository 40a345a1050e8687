"""The region views the wiring puts around the shared stores (issue 16), on the in-memory fakes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from connector.domain.settings import ChannelSettings, GlobalSettings
from connector.usecases.mfn_sync import SyncReport
from connector.usecases.regions import (
    OWNERS_KEY,
    RegionalSettings,
    RegionLinks,
    RegionShipmentRecords,
    merge_reports,
    region_of_job,
)
from tests.fakes.stores import FakeLinks, FakeSettings, FakeShipments

UK, DE, US = "A1F83G8C2ARO7P", "A1PA6795UKMFR9", "ATVPDKIKX0DER"


def test_each_region_sees_only_its_own_open_shipments_and_the_note_shrinks_as_they_finish():
    store, settings = FakeShipments(), FakeSettings()
    eu = RegionShipmentRecords(store, settings, "eu", home=True)
    na = RegionShipmentRecords(store, settings, "na", home=False)
    for view, sid in ((eu, "FBA1EU"), (na, "FBA1NA"), (na, "FBA2NA")):
        store.save(view.new(sid, "WORKING"))
    assert {s.shipment_id for s in eu.open()} == {"FBA1EU"}
    assert {s.shipment_id for s in na.open()} == {"FBA1NA", "FBA2NA"}
    done = store.get("FBA1NA")
    done.finished = True
    store.save(done)
    assert {s.shipment_id for s in na.open()} == {"FBA2NA"}
    assert settings.get_value(OWNERS_KEY) == {"FBA2NA": "na"}  # the finished one's note is dropped
    assert {s.shipment_id for s in eu.open()} == {"FBA1EU"}
    # Noted but not saved yet (a run recording it right now): the note is kept, the home never takes it.
    na.new("FBA3NA", "WORKING")
    assert eu.open() and "FBA3NA" in settings.get_value(OWNERS_KEY)


def test_a_regions_links_and_settings():
    links = FakeLinks()
    for mid in (UK, DE, US):
        links.connect(seller_id="S", marketplace_id=mid, sku="MUG", product_id=7)
    eu = RegionLinks(links, (UK, DE))
    assert sorted(link.marketplace_id for link in eu.by_products([7])) == sorted([UK, DE])
    assert [link.marketplace_id for link in RegionLinks(links, (US,)).all()] == [US]
    assert eu.get(US, "MUG") is not None  # a point read by marketplace is the store's own
    settings = FakeSettings(GlobalSettings.model_validate({"mfn_warehouses": [2],
                                                           "regions": {"na": {"mfn_warehouses": [4]}}}))
    settings.save_channel(DE, ChannelSettings(mfn_warehouses=[3]))
    na, home = RegionalSettings(settings, "na"), RegionalSettings(settings, "eu")
    assert list(na.rules([US])[US].warehouses) == [4]
    assert list(home.rules([UK])[UK].warehouses) == [2]
    assert list(na.rules([DE])[DE].warehouses) == [3]  # a channel's own warehouses come first


@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5), st.booleans()), min_size=1, max_size=4))
def test_merged_reports_add_up_and_a_retry_set_is_none_if_any_region_cannot_trace(parts):
    reports = []
    for pushes, failed, untraced in parts:
        r = SyncReport(trigger="t", plan={"pushes": pushes})
        r.failed = {f"SKU{i}-{len(reports)}": "x" for i in range(failed)}
        r.retry_products = None if untraced else {len(reports)}
        reports.append(r)
    out = merge_reports(reports)
    assert out.plan["pushes"] == sum(p for p, _, _ in parts)
    assert len(out.failed) == sum(f for _, f, _ in parts)
    assert (out.retry_products is None) == any(u for _, _, u in parts)


def test_a_report_job_belongs_to_the_region_of_its_prefix():
    codes = ("eu", "na")
    assert region_of_job("na#GET_LEDGER_DETAIL_VIEW_DATA#5", codes, "eu") == "na"
    assert region_of_job("GET_LEDGER_DETAIL_VIEW_DATA#5", codes, "eu") == "eu"
    assert region_of_job("fe#X#1", codes, "eu") == "eu"  # not a region of this stack
