"""Shadow mode on fakes (issue 16 item 4): the same plan as live, nothing written, off applies today's plan,
nothing of the shadow period applied twice."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.domain.movements import APPLIED, OBSERVED, SKIPPED, StockChange
from connector.domain.settings import ChannelSettings, GlobalSettings
from connector.domain.shadow import MFN, MOVEMENTS, PlanEntry, add_moves, summarize
from connector.usecases.mfn_sync import MfnSync
from connector.usecases.movements import MovementService
from connector.usecases.shadow import (
    Shadow,
    ShadowLinks,
    ShadowListings,
    ShadowMovements,
    ShadowMovementStore,
    ShadowSwitch,
)
from tests.fakes import FakeBrightpearl, FakeLinks, FakeListings, FakeSettings, InMemoryMovementStore, Outbox, once
from tests.fakes.shadow import InMemoryShadowPlans

UK, DE, FR = "A1F83G8C2ARO7P", "A1PA6795UKMFR9", "A13V1IB3VIYZZH"
FBA = 7
SKU = st.text(st.sampled_from("ab Z/&+éß-1"), min_size=1, max_size=8).filter(lambda s: s.strip() == s and "#" not in s)


def mfn_world(stock: dict[str, tuple[int, int | None]], marketplaces: list[str], threshold: int, shadow: bool):
    """SKU → (Brightpearl on-hand, what Amazon shows (None: unconfirmed)) in each marketplace."""
    bp = FakeBrightpearl(products={i + 1: sku for i, sku in enumerate(stock)})
    links, listings = FakeLinks(), FakeListings()
    for i, (sku, (on_hand, shows)) in enumerate(stock.items()):
        bp.stock(1, i + 1, on_hand)
        for mid in marketplaces:
            link = links.connect(seller_id="S", marketplace_id=mid, sku=sku, product_id=i + 1)
            link.amazon_status = "confirmed"
            link.last_confirmed_quantity = shows
            listings.quantities[(mid, sku)] = shows if shows is not None else 0
    cfg = FakeSettings(GlobalSettings(mfn_warehouses=[1], patch_threshold=threshold,
                                      shadow=[MFN] if shadow else []), {m: ChannelSettings() for m in marketplaces})
    plans = InMemoryShadowPlans()
    gate = ShadowListings(listings, plans, ShadowSwitch(cfg.global_settings, MFN))
    sync = MfnSync(catalog=bp, links=ShadowLinks(links, gate), settings=cfg, listings=gate,
                   marketplace_ids=marketplaces)
    return sync, bp, links, listings, plans, cfg


STOCK = st.dictionaries(SKU, st.tuples(st.integers(0, 40), st.one_of(st.none(), st.integers(0, 40))),
                        min_size=1, max_size=25)


@settings(max_examples=60, deadline=None)
@given(stock=STOCK, markets=st.sampled_from([[UK], [UK, DE, FR], ["ATVPDKIKX0DER"]]), threshold=st.integers(0, 30),
       force=st.booleans())
def test_shadow_and_live_mfn_compute_the_same_plan_and_shadow_writes_nothing(stock, markets, threshold, force):
    live, _bp, live_links, live_listings, _p, _c = mfn_world(stock, markets, threshold, shadow=False)
    shadow, _bp2, links, listings, plans, _c2 = mfn_world(stock, markets, threshold, shadow=True)
    before_links, before_amazon = copy.deepcopy(links.links), dict(listings.quantities)

    live.sync_links(list(live_links.all()), trigger="test", force=force)
    shadow.sync_links(list(links.all()), trigger="test", force=force)

    # The same pushes: what live sent to Amazon is exactly what shadow recorded (an EU SKU is one push).
    sent = {(u.marketplace_id, u.sku, u.quantity) for u in live_listings.pushes}
    recorded = {(e.marketplace_id, e.sku, e.would) for e in plans.entries(MFN)}
    assert recorded == sent
    # Against what Amazon showed: each entry carries the quantity it was compared with.
    for e in plans.entries(MFN):
        assert e.shows == stock[e.sku][1]
    # Nothing written: Amazon unchanged, no feed, every link as it was (no push recorded on it).
    assert listings.quantities == before_amazon and listings.pushes == [] and listings.feeds == {}
    assert links.links == before_links


def test_mfn_off_pushes_todays_quantities_not_the_recorded_ones_and_clears_the_plan():
    stock = {"MUG / 2": (9, 3), "CUP & SAUCER": (0, 5), "TEE+1": (4, 4)}
    sync, bp, links, listings, plans, cfg = mfn_world(stock, [UK], threshold=20, shadow=True)
    outbox = Outbox()
    shadow = Shadow(settings=cfg, plans=plans, mailer=once(outbox), sync=sync, marketplace_ids=[UK])
    sync.sync_links(list(links.all()), trigger="test")
    s = summarize(MFN, plans.entries(MFN))
    assert s.headline == "MFN push: 2 listings would change; 1 would go to 0; largest change +6 on SKU MUG / 2"
    report = shadow.report(MFN, csv=True, email=True)
    assert report["features"][MFN]["csv"].splitlines()[1].startswith("mfn,A1F83G8C2ARO7P,MUG / 2,,3,9,6")
    assert shadow.report(MFN, email=True)["emailed"] == []  # the same plan is emailed once
    (email,) = outbox.sent
    assert "2 listings would change" in email.subject and "MUG / 2" in email.text
    assert listings.quantities == {(UK, "MUG / 2"): 3, (UK, "CUP & SAUCER"): 5, (UK, "TEE+1"): 4}

    bp.stock(1, 1, 11)  # weeks later: Brightpearl moved on
    out = shadow.off(MFN)
    assert out["applied"]["pushed"] == 3 and out["cleared"] == 2
    assert listings.quantities == {(UK, "MUG / 2"): 11, (UK, "CUP & SAUCER"): 0, (UK, "TEE+1"): 4}
    assert cfg.global_settings().shadow == [] and list(plans.entries(MFN)) == []
    pushes = len(listings.pushes)
    sync.sync_links(list(links.all()), trigger="test")  # converged: nothing more to push
    assert len(listings.pushes) == pushes


# ---------------------------------------------------------------------------------------------- movements

def movement_world(shadow: bool, links: dict[str, int], on_hand: int = 500):
    bp = FakeBrightpearl(products={pid: sku for sku, pid in links.items()})
    for pid in links.values():
        bp.stock(FBA, pid, on_hand)
    cfg = FakeSettings(GlobalSettings(fba_warehouse_id=FBA, shadow=[MOVEMENTS] if shadow else []))
    plans = InMemoryShadowPlans()
    store = InMemoryMovementStore()

    def skus_of(pids):
        return {p: s for s, p in links.items() if p in set(pids)}

    gate = ShadowMovements(bp, plans, ShadowSwitch(cfg.global_settings, MOVEMENTS), skus_of=skus_of)
    svc = MovementService(ShadowMovementStore(store), gate, links.get, cfg.global_settings,  # type: ignore[arg-type]
                          clock=lambda: datetime(2026, 7, 1, tzinfo=UTC), batch_size=7)
    return svc, bp, store, plans, cfg


ROWS = st.lists(st.tuples(st.integers(0, 3), st.integers(-9, 9)), min_size=1, max_size=40)


def rows_of(spec: list[tuple[int, int]], skus: list[str], start: int = 0) -> list[StockChange]:
    return [StockChange(f"ledger|{start + i}", "GET_LEDGER_DETAIL_VIEW_DATA", "adjustment", skus[s], q, f"row {i}",
                        line=i + 2) for i, (s, q) in enumerate(spec)]


@settings(max_examples=50, deadline=None)
@given(spec=ROWS, later=ROWS, skus=st.lists(SKU, min_size=4, max_size=4, unique=True))
def test_movements_in_shadow_plan_as_live_move_nothing_and_are_never_applied_later(spec, later, skus):
    links = {sku: i + 1 for i, sku in enumerate(skus)}
    live, live_bp, _s, _p, _c = movement_world(False, links)
    shadow_svc, bp, store, plans, cfg = movement_world(True, links)
    rows = rows_of(spec, skus)
    live.ingest(rows)
    summary = shadow_svc.ingest(rows)
    # Every report line is accounted for: observed lines are settled (not left pending).
    assert summary.lines.pending == {}

    # The same plan: per SKU, the units shadow recorded are the units live moved.
    moved = {sku: live_bp.on_hand_of[(FBA, pid)] - 500 for sku, pid in links.items()}
    recorded = {e.sku: e.would for e in plans.entries(MOVEMENTS)}
    assert {k: v for k, v in moved.items() if v or k in recorded} == {k: recorded.get(k, 0) for k in moved
                                                                       if moved[k] or k in recorded}
    assert all(e.shows == 500 for e in plans.entries(MOVEMENTS))
    # Nothing written in shadow: Brightpearl's stock and write log untouched; every driven movement observed.
    assert bp.corrections == [] and bp.writes == [] and all(v == 500 for v in bp.on_hand_of.values())
    assert not [r for r in store.items.values() if r.status == APPLIED]

    # Off, then the same rows again (re-read report, re-delivered messages), the hourly retry, new rows.
    Shadow(settings=cfg, plans=plans).off(MOVEMENTS)
    shadow_svc.ingest(rows)
    shadow_svc.ingest(rows)
    shadow_svc.retry_pending()
    assert bp.corrections == []  # nothing from the shadow period is applied, ever
    new = rows_of(later, skus, start=1000)
    shadow_svc.ingest(new)
    shadow_svc.ingest(new)
    want = {pid: 500 for pid in links.values()}
    for (s, q) in later:
        want[links[skus[s]]] += q
    got = {pid: bp.on_hand_of[(FBA, pid)] for pid in links.values()}
    assert got == want  # each movement after off moved stock exactly once
    assert {r.status for r in store.items.values() if r.key.startswith("ledger|") and int(r.key[7:]) < 1000
            and r.quantity} <= {OBSERVED, SKIPPED}  # netted pairs are skipped, as live


def test_plan_entries_stay_bounded_per_sku_and_count_a_write_once():
    template = PlanEntry(MOVEMENTS, "SKU", "SKU", 0, 10)
    entry = None
    for i in range(120):
        entry = add_moves(entry, template, {f"ref{i}": -1})
    entry = add_moves(entry, template, {"ref119": -1})  # recorded again: counted once
    assert entry is not None and len(entry.moves) == 50 and entry.would == -120 and entry.forgotten == -70


def test_an_unknown_shadow_feature_is_refused_naming_it():
    with pytest.raises(ValueError, match="shadow: unknown shadow feature 'mfm'"):
        GlobalSettings(shadow=["mfm"])


# ---------------------------------------------------------------------------------------------- FBA reconciliation

def test_reconciliation_corrections_in_shadow_write_nothing_and_off_leaves_todays_reconciliation_to_apply():
    from connector.domain.shadow import RECONCILIATION
    from connector.usecases.fba_reconciliation import FbaReconciliation
    from connector.usecases.observing_store import ObservingStore
    from tests.fakes import FakeClock, FakeFbaInventory, FakeReconciliations, FakeReports, FakeShipments

    clock, bp, inventory, outbox = FakeClock(), FakeBrightpearl(products={1: "TEA / 1", 2: "CUP"}), \
        FakeFbaInventory(), Outbox()
    links = FakeLinks()
    for sku, pid in (("TEA / 1", 1), ("CUP", 2)):
        links.connect(seller_id="S", marketplace_id=UK, sku=sku, product_id=pid, channel="FBA")
    cfg = FakeSettings(GlobalSettings(fba_warehouse_id=FBA, shadow=[RECONCILIATION]))
    plans = InMemoryShadowPlans()
    observed = ObservingStore(InMemoryMovementStore())
    gate = ShadowMovements(bp, plans, ShadowSwitch(cfg.global_settings, RECONCILIATION), feature=RECONCILIATION,
                           skus_of=lambda pids: {p: s for p, s in bp.products.items() if p in set(pids)})
    movements = MovementService(ShadowMovementStore(observed), gate, {"TEA / 1": 1, "CUP": 2}.get,  # type: ignore[arg-type]
                                cfg.global_settings, clock=clock)
    recon = FbaReconciliation(links=links.all, marketplace_ids=[UK], inventory=inventory,
                              reports_for=lambda _m: FakeReports(), catalog=bp, shipments=FakeShipments().open,
                              inbound=None, movements=movements, observed=observed, settings=cfg,
                              store=FakeReconciliations(), mailer=once(outbox, clock), clock=clock)
    inventory.hold(UK, "TEA / 1", 8)
    inventory.hold(UK, "CUP", 3)
    bp.stock(FBA, 1, 10)
    bp.stock(FBA, 2, 3)
    rid = recon.start(trigger="operator")["id"]
    recon.approve(rid)
    recon.approve(rid)
    assert bp.on_hand(FBA, [1, 2]) == {1: 10, 2: 3} and bp.corrections == []  # nothing written in shadow
    (entry,) = plans.entries(RECONCILIATION)
    assert (entry.sku, entry.shows, entry.would) == ("TEA / 1", 10, -2)

    Shadow(settings=cfg, plans=plans).off(RECONCILIATION)
    recon.approve(rid)  # the shadow-period approval is never applied later
    assert bp.on_hand(FBA, [1, 2]) == {1: 10, 2: 3}
    clock.advance(minutes=5)
    today = recon.start(trigger="operator")["id"]  # today's reconciliation, live
    recon.approve(today)
    recon.approve(today)
    assert bp.on_hand(FBA, [1, 2]) == {1: 8, 2: 3}


def test_the_nightly_in_mfn_shadow_pushes_nothing_and_mails_the_shadow_summary_instead_of_corrected():
    from connector.usecases.nightly import NightlyReconciliation
    from connector.usecases.shadow import ShadowSummaryMail
    from tests.fakes import FakeClock, FakeReports

    stock = {"MUG / 2": (9, 9), "CUP": (4, 4)}
    sync, _bp, links, listings, plans, cfg = mfn_world(stock, [UK], threshold=20, shadow=True)
    reports, outbox = FakeReports(), Outbox()
    summary = Shadow(settings=cfg, plans=plans, mailer=once(outbox))
    mailer = ShadowSummaryMail(once(outbox), ShadowSwitch(cfg.global_settings, MFN),
                               lambda: summary.report(MFN, email=True, limit=0))
    nightly = NightlyReconciliation(sync=sync, reports_for=lambda _m: reports, links=links, settings=cfg,
                                    mailer=mailer, marketplace_ids=[UK], now=FakeClock())
    (rid,) = nightly.start()["requested"].values()
    listings.quantities[(UK, "MUG / 2")] = 2  # drifted on Amazon
    header = "item-name\tseller-sku\tprice\tquantity\tfulfillment-channel\n"
    doc = reports.finish(rid, [header, "Mug\tMUG / 2\t9.99\t2\tDEFAULT\n", "Cup\tCUP\t3.50\t4\tDEFAULT\n"])
    nightly.report_finished(rid, doc, "DONE")
    assert listings.quantities[(UK, "MUG / 2")] == 2 and listings.pushes == []  # nothing pushed in shadow
    (entry,) = plans.entries(MFN)
    assert (entry.sku, entry.shows, entry.would) == ("MUG / 2", 2, 9)  # against the report's quantity
    (email,) = outbox.sent
    assert email.subject.endswith("Shadow mode: MFN push: 1 listing would change; 0 would go to 0; "
                                  "largest change +7 on SKU MUG / 2") and "corrected" not in email.subject
