"""Products by SKU and Brightpearl name in the emails (issue 17 item 1): names read in ID sets of 200 for
the products an email shows, once per email, and a failed read never stops an email (SKU and id only)."""

from __future__ import annotations

import csv
import io

from hypothesis import given, settings
from hypothesis import strategies as st

from connector.domain.csvfile import safe_cell
from connector.domain.settings import ChannelSettings, GlobalSettings
from connector.usecases.fba_reconciliation import FbaReconciliation
from connector.usecases.inbound_shipments import InboundShipments
from connector.usecases.mfn_sync import MfnSync
from connector.usecases.movements import MovementService
from connector.usecases.nightly import NightlyReconciliation
from connector.usecases.observing_store import ObservingStore
from tests.emails import table_rows
from tests.fakes import (
    FakeBrightpearl,
    FakeClock,
    FakeFbaInventory,
    FakeInbound,
    FakeLinks,
    FakeListings,
    FakeReconciliations,
    FakeReports,
    FakeSettings,
    FakeShipments,
    InMemoryMovementStore,
    Outbox,
    once,
)

UK, FBA, SOURCE = "A1F83G8C2ARO7P", 7, 1
def row(html: str, sku: str) -> list[str]:
    return next(r for r in table_rows(html) if r and r[0] == sku)


# Names as the adapter hands them over (stripped); single spaces, as a browser shows any run of them
NAMES = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=30).map(
    lambda t: " ".join(t.split())).filter(bool)


def reconciliation(n: int, names: dict[int, str], *, drift: set[int], fail: bool = False
                   ) -> tuple[FbaReconciliation, FakeBrightpearl, Outbox]:
    clock, outbox = FakeClock(), Outbox()
    bp = FakeBrightpearl(products={1000 + i: f"SKU-{i}" for i in range(n)}, names=names, names_fail=fail)
    inventory, links = FakeFbaInventory(), FakeLinks()
    for i in range(n):
        links.connect(seller_id="S", marketplace_id=UK, sku=f"SKU-{i}", product_id=1000 + i, channel="FBA")
        inventory.hold(UK, f"SKU-{i}", 5)
        bp.stock(FBA, 1000 + i, 5 + (2 if i in drift else 0))
    settings_ = FakeSettings(GlobalSettings(fba_warehouse_id=FBA))
    observed = ObservingStore(InMemoryMovementStore())
    movements = MovementService(observed, bp, {f"SKU-{i}": 1000 + i for i in range(n)}.get,
                                settings_.global_settings, clock=clock)
    recon = FbaReconciliation(links=links.all, marketplace_ids=[UK], inventory=inventory,
                              reports_for=lambda _m: FakeReports(), catalog=bp, shipments=FakeShipments().open,
                              inbound=None, movements=movements, observed=observed, settings=settings_,
                              store=FakeReconciliations(), mailer=once(outbox, clock), clock=clock, names=bp)
    return recon, bp, outbox


@settings(max_examples=25, deadline=None)
@given(NAMES)
def test_the_reconciliation_email_names_each_product_it_shows_in_html_text_and_csv(name):
    recon, _, outbox = reconciliation(2, {1000: name, 1001: "Other"}, drift={0})
    recon.start(trigger="operator")
    (email,) = outbox.sent
    label = f"{name} (#1000)"
    assert row(email.html, "SKU-0")[1] == label  # the HTML escapes it; the browser shows it
    assert label in email.text and f"on SKU SKU-0 ({name})" in email.text
    rows = list(csv.DictReader(io.StringIO(email.attachments[0].content.decode("utf-8"))))
    by_sku = {r["sku"]: r["product_name"] for r in rows}
    assert by_sku["SKU-0"] == safe_cell(name) and by_sku["SKU-1"] == ""  # SKU-1 matches: no name read


def test_names_are_read_in_id_sets_of_200_and_only_for_the_lines_that_differ():
    recon, bp, outbox = reconciliation(600, {1000 + i: f"Name {i}" for i in range(600)}, drift=set(range(0, 600, 2)))
    recon.start(trigger="operator")
    assert [len(r) for r in bp.name_reads] == [200, 100]
    assert {p for r in bp.name_reads for p in r} == {1000 + i for i in range(0, 600, 2)}
    assert "Name 0 (#1000)" in outbox.sent[0].text


def test_a_failed_name_read_still_sends_the_email_with_sku_and_id():
    recon, bp, outbox = reconciliation(2, {1000: "Tea"}, drift={0}, fail=True)
    recon.start(trigger="operator")
    (email,) = outbox.sent
    assert row(email.html, "SKU-0")[1] == "#1000" and bp.name_reads


def test_the_nightly_email_names_the_corrected_listings_products():
    bp = FakeBrightpearl(products={1: "MUG"}, names={1: "Blue mug & saucer"})
    bp.stock(1, 1, 9)
    links, listings = FakeLinks(), FakeListings({(UK, "MUG"): 9})
    settings_ = FakeSettings(GlobalSettings(mfn_warehouses=[1]), {UK: ChannelSettings()})
    links.connect(seller_id="S", marketplace_id=UK, sku="MUG", product_id=1)
    sync = MfnSync(catalog=bp, links=links, settings=settings_, listings=listings, marketplace_ids=[UK])
    outbox, reports = Outbox(), FakeReports()
    nightly = NightlyReconciliation(sync=sync, reports_for=lambda _m: reports, links=links, settings=settings_,
                                    mailer=once(outbox), marketplace_ids=[UK], now=FakeClock(), names=bp)
    (rid,) = nightly.start()["requested"].values()
    doc = reports.finish(rid, ["item-name\tseller-sku\tprice\tquantity\tfulfillment-channel\n",
                               "Mug\tMUG\t9.99\t2\tDEFAULT\n"])
    nightly.report_finished(rid, doc, "DONE")
    (email,) = outbox.sent
    assert row(email.html, "MUG")[1] == "Blue mug & saucer (#1)"
    assert "largest +7 on SKU MUG" in email.text


def test_the_inbound_emails_name_the_shipments_products():
    bp = FakeBrightpearl(products={11: "TEA"}, names={11: "Green tea"})
    bp.stock(SOURCE, 11, 10)
    amazon, outbox = FakeInbound(), Outbox()
    s = GlobalSettings(fba_warehouse_id=FBA, inbound_source_warehouse_id=SOURCE)
    usecase = InboundShipments(amazon=amazon, transfers=bp, records=FakeShipments(), settings=lambda: s,
                               product_for={"TEA": 11}.get, mail=once(outbox), use_2024_plans=False, names=bp)
    amazon.ship("FBA1", "RECEIVING", {"TEA": (4, 1)})
    usecase.run()
    assert outbox.sent and all("Green tea (#11)" in e.text for e in outbox.sent)
    assert len(bp.name_reads) == 1  # one read for the shipment's emails
