"""FBA reconciliation on fakes: drift is found and emailed; an approval corrects Brightpearl once."""

from __future__ import annotations

import pytest

from connector.domain.settings import GlobalSettings
from connector.usecases.fba_reconciliation import FbaReconciliation, ReconciliationError
from connector.usecases.movements import MovementService
from connector.usecases.observing_store import ObservingStore
from tests.fakes import (
    FakeBrightpearl,
    FakeClock,
    FakeFbaInventory,
    FakeLinks,
    FakeReconciliations,
    FakeReports,
    FakeSettings,
    FakeShipments,
    InMemoryMovementStore,
    Outbox,
    once,
)

UK, FBA = "A1F83G8C2ARO7P", 7
TEA, CUP = 1, 2


def world() -> tuple[FbaReconciliation, FakeFbaInventory, FakeBrightpearl, Outbox, FakeClock]:
    clock, bp, inventory, outbox = FakeClock(), FakeBrightpearl(products={TEA: "TEA", CUP: "CUP"}), \
        FakeFbaInventory(), Outbox()
    links = FakeLinks()
    for sku, pid in (("TEA", TEA), ("CUP", CUP)):
        links.connect(seller_id="S", marketplace_id=UK, sku=sku, product_id=pid, channel="FBA")
    settings = FakeSettings(GlobalSettings(fba_warehouse_id=FBA))
    observed = ObservingStore(InMemoryMovementStore())
    movements = MovementService(observed, bp, {"TEA": TEA, "CUP": CUP}.get, settings.global_settings, clock=clock)
    recon = FbaReconciliation(links=links.all, marketplace_ids=[UK], inventory=inventory,
                              reports_for=lambda _m: FakeReports(), catalog=bp, shipments=FakeShipments().open,
                              inbound=None, movements=movements, observed=observed, settings=settings,
                              store=FakeReconciliations(), mailer=once(outbox, clock), clock=clock)
    return recon, inventory, bp, outbox, clock


def test_drift_is_emailed_with_its_csv_and_an_approval_corrects_brightpearl_once():
    recon, inventory, bp, outbox, _ = world()
    inventory.hold(UK, "TEA", 8)
    inventory.hold(UK, "CUP", 3)
    bp.stock(FBA, TEA, 10)
    bp.stock(FBA, CUP, 3)
    out = recon.start(trigger="operator")
    assert out["totals"]["difference"] >= 1
    (email,) = outbox.sent
    assert "TEA" in email.text and email.attachments[0].filename.endswith(".csv")
    assert bp.on_hand(FBA, [TEA, CUP]) == {TEA: 10, CUP: 3}  # nothing moves before an approval
    recon.approve(out["id"])
    recon.approve(out["id"])  # approved twice: applied once
    assert bp.on_hand(FBA, [TEA, CUP]) == {TEA: 8, CUP: 3}


def test_an_older_reconciliation_cannot_be_applied_once_a_newer_one_exists():
    recon, inventory, bp, _, clock = world()
    inventory.hold(UK, "TEA", 5)
    bp.stock(FBA, TEA, 9)
    first = recon.start(trigger="operator")["id"]
    clock.advance(minutes=5)
    recon.start(trigger="operator")
    with pytest.raises(ReconciliationError, match="superseded"):
        recon.approve(first)
    assert bp.on_hand(FBA, [TEA]) == {TEA: 9}
