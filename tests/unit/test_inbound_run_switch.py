"""The inbound run behind its shadow gates as the composition root builds it (issue 14 item 2): the shadow switch
is read once per run (was once per save, release and email: ~1 DynamoDB GetItem per received SKU), a run is all
live or all in shadow, and a run killed mid-release never releases a unit twice."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector.domain.settings import GlobalSettings
from connector.domain.shadow import INBOUND
from connector.usecases.inbound_shipments import InboundShipments, RunIncomplete
from connector.usecases.shadow import ShadowSwitch
from connector.usecases.shadow_inbound import RunSwitch, ShadowMail, ShadowShipmentStore, ShadowTransfers
from tests.fakes import FakeBrightpearl, FakeInbound, FakeSettings, FakeShipments, Outbox, once
from tests.fakes.shadow import InMemoryShadowPlans

SOURCE, FBA = 1, 7


class Killed(BaseException):
    """The Lambda was killed here: no ``except Exception`` runs, nothing more is saved."""


class CountingSettings(FakeSettings):
    reads = 0

    def global_settings(self) -> GlobalSettings:
        self.reads += 1
        return super().global_settings()


@dataclass
class HookedBrightpearl(FakeBrightpearl):
    """Calls ``hook(n)`` before the n-th release (0-based) of its life."""

    hook: Any = None
    releases: int = 0

    def release(self, warehouse_id: int, product_id: int, quantity: int) -> None:
        n, self.releases = self.releases, self.releases + 1
        if self.hook is not None:
            self.hook(n, lambda: super(HookedBrightpearl, self).release(warehouse_id, product_id, quantity))
            return
        super().release(warehouse_id, product_id, quantity)


class World:
    def __init__(self, skus: list[str]) -> None:
        self.products = {sku: 100 + i for i, sku in enumerate(skus)}
        self.bp = HookedBrightpearl(products={pid: sku for sku, pid in self.products.items()})
        for pid in self.products.values():
            self.bp.stock(SOURCE, pid, 1_000)
        self.amazon, self.records = FakeInbound(), FakeShipments()
        self.cfg = CountingSettings(GlobalSettings(fba_warehouse_id=FBA, inbound_source_warehouse_id=SOURCE))
        self.plans = InMemoryShadowPlans()
        self.outbox = Outbox()

    def switch(self, on: bool) -> None:
        self.cfg.save_global(self.cfg.global_settings().model_copy(update={"shadow": [INBOUND] if on else []}))

    def run(self) -> None:
        """One scheduled run, built as wiring.inbound_shipments builds it (per run)."""
        on = RunSwitch(ShadowSwitch(self.cfg.global_settings, INBOUND))
        usecase = InboundShipments(
            amazon=self.amazon, transfers=ShadowTransfers(self.bp, self.plans, on), records=ShadowShipmentStore(
                self.records, on), settings=self.cfg.global_settings, product_for=self.products.get,
            mail=ShadowMail(once(self.outbox), on), use_2024_plans=False)
        with contextlib.suppress(RunIncomplete, Killed):
            usecase.run()

    def on_hand(self) -> dict[str, int]:
        figures = self.bp.figures(list(self.products.values()), FBA)
        return {sku: figures[pid]["onHand"] for sku, pid in self.products.items()}


def shipped_world(skus: list[str], received: dict[str, int]) -> World:
    w = World(skus)
    w.amazon.ship("FBA9", "WORKING", {s: (9, 0) for s in skus})
    w.run()
    w.amazon.ship("FBA9", "SHIPPED", {s: (9, 0) for s in skus})
    w.run()
    w.amazon.ship("FBA9", "RECEIVING", {s: (9, received.get(s, 0)) for s in skus})
    return w


def test_the_switch_is_read_once_per_run_not_once_per_release_or_save():
    skus = [f"SKU {i}/x" for i in range(40)]
    w = shipped_world(skus, dict.fromkeys(skus, 2))
    before = w.cfg.reads
    w.run()
    assert w.on_hand() == dict.fromkeys(skus, 2)  # every received unit released
    # The run's own settings read, and the switch's one: not one per release, save or email (was 40 + saves).
    assert w.cfg.reads - before == 2


def test_a_switch_into_shadow_during_a_run_applies_from_the_next_run_and_the_run_stays_whole():
    skus = [f"SKU-{i}" for i in range(12)]
    w = shipped_world(skus, dict.fromkeys(skus, 3))

    def flip_at_the_fifth(n: int, send: Any) -> None:
        if n == 4:
            w.switch(True)  # the operator's `connector shadow on inbound` lands mid-run
        send()

    w.bp.hook = flip_at_the_fifth
    w.run()
    # That run was live to its end: every received unit released once, and its record saved with them.
    assert w.on_hand() == dict.fromkeys(skus, 3)
    record = w.records.get("FBA9")
    assert record is not None and record.pending is None and {ln.released for ln in record.lines} == {3}
    w.amazon.ship("FBA9", "RECEIVING", {s: (9, 5) for s in skus})
    writes = list(w.bp.writes)
    w.run()  # in shadow now: nothing written, nothing saved
    assert w.bp.writes == writes and w.on_hand() == dict.fromkeys(skus, 3)
    assert {ln.released for ln in w.records.get("FBA9").lines} == {3}


sku_names = st.lists(st.text(st.sampled_from("AZ09 /&+é"), min_size=1, max_size=6).map(lambda s: "S" + s),
                     min_size=1, max_size=15, unique=True)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(skus=sku_names, data=st.data(), kill_at=st.integers(0, 15), landed=st.booleans())
def test_a_run_killed_mid_release_behind_the_gates_never_releases_twice(skus, data, kill_at, landed):
    received = {s: data.draw(st.integers(0, 9), label=s) for s in skus}
    w = shipped_world(skus, received)

    def kill(n: int, send: Any) -> None:
        if n == kill_at:
            w.bp.hook = None
            if landed:
                send()
            raise Killed
        send()

    w.bp.hook = kill
    w.run()  # killed at the kill_at-th release, if there are that many
    w.run()  # settles what the killed run left pending, sends the rest
    w.amazon.ship("FBA9", "CLOSED", {s: (9, received[s]) for s in skus})
    w.run()
    assert w.on_hand() == received  # a unit released twice (or lost) would show here
    record = w.records.get("FBA9")
    assert record is not None and record.pending is None and record.finished
    assert {ln.sku: ln.released for ln in record.lines} == received
