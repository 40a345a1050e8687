"""Inbound shipments in shadow mode on fakes: nothing written or saved, the plan per SKU as live would do it,
and after shadow off the live runs bring Brightpearl to exactly where live-from-the-start would be."""

from __future__ import annotations

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from connector.domain.settings import GlobalSettings
from connector.domain.shadow import INBOUND
from connector.usecases.inbound_shipments import InboundShipments, RunIncomplete
from connector.usecases.shadow import Shadow, ShadowSwitch
from connector.usecases.shadow_inbound import ShadowMail, ShadowShipmentStore, ShadowTransfers
from tests.fakes import FakeBrightpearl, FakeInbound, FakeSettings, FakeShipments, Outbox, once
from tests.fakes.shadow import InMemoryShadowPlans

SOURCE, FBA = 1, 7
SKUS = ["TEA", "CUP / 2", "Thé+vert", "A&B"]


class World:
    def __init__(self, shadow: bool, stock: int) -> None:
        self.bp = FakeBrightpearl(products={i + 10: s for i, s in enumerate(SKUS)})
        for i in range(len(SKUS)):
            self.bp.stock(SOURCE, i + 10, stock)
        self.amazon, self.records, self.outbox = FakeInbound(), FakeShipments(), Outbox()
        self.cfg = FakeSettings(GlobalSettings(fba_warehouse_id=FBA, inbound_source_warehouse_id=SOURCE,
                                               shadow=[INBOUND] if shadow else []))
        self.plans = InMemoryShadowPlans()

    def run(self) -> None:
        """One scheduled run, built as the composition root builds it (per run)."""
        on = ShadowSwitch(self.cfg.global_settings, INBOUND)
        skus = {i + 10: s for i, s in enumerate(SKUS)}
        usecase = InboundShipments(
            amazon=self.amazon, transfers=ShadowTransfers(self.bp, self.plans, on, skus_of=lambda p: skus),
            records=ShadowShipmentStore(self.records, on), settings=self.cfg.global_settings,
            product_for={s: i + 10 for i, s in enumerate(SKUS)}.get, mail=ShadowMail(once(self.outbox), on),
            use_2024_plans=False)
        with contextlib.suppress(RunIncomplete):
            usecase.run()

    def figures(self) -> dict:
        return {(w, p): self.bp.figures([p], w)[p] for w in (SOURCE, FBA) for p in range(10, 10 + len(SKUS))}


LINES = st.dictionaries(st.sampled_from(SKUS), st.integers(1, 12), min_size=1, max_size=4)


@settings(max_examples=30, deadline=None)
@given(lines=LINES, stock=st.integers(0, 15), steps=st.integers(1, 3))
def test_inbound_in_shadow_writes_nothing_plans_as_live_and_off_applies_todays_plan(lines, stock, steps):
    live, shadow = World(False, stock), World(True, stock)
    start = shadow.figures()
    statuses = ["WORKING", "SHIPPED", "CLOSED"][:steps]
    for status in statuses:
        for w in (live, shadow):
            w.amazon.ship("FBA15X", status, {s: (q, q if status == "CLOSED" else 0) for s, q in lines.items()})
            w.run()
            w.run()  # a repeated schedule

    # Nothing written, nothing saved, nothing mailed in shadow.
    assert shadow.bp.writes == [] and shadow.figures() == start
    assert shadow.records.items == {} and shadow.outbox.sent == []
    # The plan: what the live transfer took from the source, per SKU, against the source's on-hand now.
    transferred = {SKUS[p - 10]: q for t in live.bp.notes.values() for p, q in t.quantities.items()}
    planned = {e.sku: -e.would for e in shadow.plans.entries(INBOUND) if e.would}
    assert planned == transferred
    assert all(e.shows == stock for e in shadow.plans.entries(INBOUND))

    # Off: the next live runs apply today's plan, once; repeated runs change nothing more. A shipment that
    # finished while in shadow is not booked (first seen final: the merchant's process of the time had it).
    Shadow(settings=shadow.cfg, plans=shadow.plans).off(INBOUND)
    shadow.run()
    shadow.run()
    after = shadow.figures()
    shadow.run()
    assert shadow.figures() == after == (start if statuses[-1] == "CLOSED" else live.figures())
    assert shadow.bp.writes.count("create_transfer") == (0 if statuses[-1] == "CLOSED" else
                                                         live.bp.writes.count("create_transfer"))
    assert list(shadow.plans.entries(INBOUND)) == []
