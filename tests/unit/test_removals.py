"""Removal orders on fakes: disposals reduce the FBA warehouse once, shipped units go FBA → removal warehouse
per package and arrive on receipt; every report line is accounted for; re-reading moves nothing."""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector.adapters.removal_store import SettingsRemovalStore
from connector.domain.flatfile import LineTally, read_rows
from connector.domain.ledger import LedgerColumns, classify_ledger
from connector.domain.movements import StockChange
from connector.domain.removals import ORDER_DETAIL, SHIPMENT_DETAIL
from connector.domain.settings import GlobalSettings
from connector.usecases.removals import CommandError, Removals
from tests.fakes import FakeBrightpearl, FakeReports, FakeSettings, Outbox, once

FBA, BACK = 7, 9
TEA, CUP = 11, 12
ORDER_COLS = ["request-date", "order-id", "order-type", "order-status", "last-updated-date", "sku", "fnsku",
              "disposition", "requested-quantity", "cancelled-quantity", "disposed-quantity", "shipped-quantity",
              "in-process-quantity", "removal-fee", "currency"]
SHIP_COLS = ["request-date", "order-id", "shipment-date", "sku", "fnsku", "disposition", "shipped-quantity",
             "carrier", "tracking-number", "removal-order-type"]


def order_row(order: str, kind: str, sku: str, requested: int, *, cancelled: int = 0, disposed: int = 0,
              shipped: int = 0, disposition: str = "Sellable", status: str = "Pending") -> str:
    in_process = requested - cancelled - disposed - shipped
    return "\t".join(["2026-11-01T10:00:00+00:00", order, kind, status, "2026-11-02T10:00:00+00:00", sku, "X00",
                      disposition, str(requested), str(cancelled), str(disposed), str(shipped), str(in_process),
                      "0.50", "GBP"])


def ship_row(order: str, sku: str, qty: int, tracking: str, *, disposition: str = "Sellable",
             date: str = "2026-11-03T09:00:00+00:00") -> str:
    return "\t".join(["2026-11-01T10:00:00+00:00", order, date, sku, "X00", disposition, str(qty), "UPS", tracking,
                      "Return"])


def doc(cols: list[str], *rows: str) -> list[str]:
    return ["\t".join(cols), *rows]


LINKS = {"TEA": TEA, "CUP": CUP, "CUP/ü & +": CUP}


def world(fba_stock: int = 20, **cfg: object) -> tuple[Removals, FakeBrightpearl, SettingsRemovalStore, Outbox]:
    bp = FakeBrightpearl(products={TEA: "TEA", CUP: "CUP"}, warehouse_names={7: "Amazon FBA", 9: "Removals"})
    bp.stock(FBA, TEA, fba_stock)
    bp.stock(FBA, CUP, fba_stock)
    store = SettingsRemovalStore(FakeSettings())
    outbox = Outbox()
    gs = GlobalSettings.model_validate({"fba_warehouse_id": FBA, "removal_warehouse_id": BACK, **cfg})
    usecase = Removals(FakeReports(), bp, store, lambda: gs, LINKS.copy().get, once(outbox))
    return usecase, bp, store, outbox


def fig(bp: FakeBrightpearl, wid: int, pid: int) -> dict[str, int]:
    return bp.figures([pid], wid)[pid]


def test_disposal_reduces_the_fba_warehouse_by_the_sellable_units_disposed_and_a_reread_moves_nothing():
    uc, bp, _, _ = world()
    cfg = uc.settings()
    t1 = uc.apply_lines(ORDER_DETAIL, doc(ORDER_COLS, order_row("D1", "Disposal", "TEA", 5, disposed=2),
                                          order_row("D1", "Disposal", "CUP", 3, disposed=3,
                                                    disposition="Unsellable")), cfg)
    assert fig(bp, FBA, TEA)["onHand"] == 18 and fig(bp, FBA, CUP)["onHand"] == 20
    assert t1.balanced and t1.applied == 1 and sum(t1.skipped.values()) == 1
    # Amazon disposes of the rest: only the new units move; an older report read late lowers nothing.
    uc.apply_lines(ORDER_DETAIL, doc(ORDER_COLS, order_row("D1", "Disposal", "TEA", 5, disposed=5,
                                                           status="Completed")), cfg)
    uc.apply_lines(ORDER_DETAIL, doc(ORDER_COLS, order_row("D1", "Disposal", "TEA", 5, disposed=2)), cfg)
    again = uc.apply_lines(ORDER_DETAIL, doc(ORDER_COLS, order_row("D1", "Disposal", "TEA", 5, disposed=5,
                                                                   status="Completed")), cfg)
    assert fig(bp, FBA, TEA)["onHand"] == 15
    assert again.applied == 0 and again.balanced
    assert len([w for w in bp.writes if w == "post_corrections"]) == 2


def test_return_removal_in_two_packages_is_two_transfers_shipped_then_received_by_the_operator():
    uc, bp, store, outbox = world()
    cfg = uc.settings()
    uc.apply_lines(ORDER_DETAIL, doc(ORDER_COLS, order_row("R1", "Return", "TEA", 6, cancelled=1, shipped=5)), cfg)
    t = uc.apply_lines(SHIPMENT_DETAIL, doc(SHIP_COLS, ship_row("R1", "TEA", 3, "1Z1"), ship_row("R1", "TEA", 2, "1Z2"),
                                            ship_row("R1", "CUP", 1, "1Z2", disposition="Unsellable")), cfg)
    assert t.balanced and t.applied == 2 and sum(t.skipped.values()) == 1
    assert sorted(tr.reference for tr in bp.transfers.values()) == sorted(
        f"AMZ-RMV-R1-{p}" for p in store.get("R1").packages)  # type: ignore[union-attr]
    # Shipped as Amazon shipped them: 5 units left the FBA warehouse and wait in the removal quarantine;
    # the cancelled unit (Amazon could not find it) and the unsellable one were not transferred.
    assert fig(bp, FBA, TEA)["onHand"] == 15 and fig(bp, BACK, TEA)["inTransit"] == 5
    assert fig(bp, FBA, CUP)["onHand"] == 20
    out = uc.receive("R1", {"TEA": 4})
    assert fig(bp, BACK, TEA) == {"onHand": 4, "inTransit": 1, "allocated": 0, "inStock": 4}
    assert out["emails"] == 1 and "arrived short: 1 unit(s)" in outbox.subjects[0]
    with pytest.raises(CommandError, match="no shipped package waiting"):
        uc.receive("R1")
    # Re-reading both reports moves nothing more.
    writes = list(bp.writes)
    uc.apply_lines(SHIPMENT_DETAIL, doc(SHIP_COLS, ship_row("R1", "TEA", 3, "1Z1"), ship_row("R1", "TEA", 2, "1Z2")),
                   cfg)
    assert bp.writes == writes


def test_a_goods_in_in_brightpearl_is_seen_and_nothing_is_released_twice():
    uc, bp, store, _ = world()
    cfg = uc.settings()
    uc.apply_lines(ORDER_DETAIL, doc(ORDER_COLS, order_row("R2", "Return", "TEA", 3, shipped=3,
                                                           status="Completed")), cfg)
    uc.apply_lines(SHIPMENT_DETAIL, doc(SHIP_COLS, ship_row("R2", "TEA", 3, "1ZA")), cfg)
    bp.release(BACK, TEA, 3)  # the merchant booked the goods-in in Brightpearl
    uc.run()
    assert fig(bp, BACK, TEA)["onHand"] == 3
    assert store.get("R2").finished  # type: ignore[union-attr]
    assert store.open() == []


def test_lost_answers_are_settled_by_reference_and_figures_not_written_twice():
    uc, bp, store, _ = world()
    cfg = uc.settings()
    bp.lose_answer("create_transfer")
    bp.lose_answer("post_corrections")
    uc.apply_lines(ORDER_DETAIL, doc(ORDER_COLS, order_row("D9", "Disposal", "TEA", 2, disposed=2)), cfg)
    uc.apply_lines(SHIPMENT_DETAIL, doc(SHIP_COLS, ship_row("R9", "CUP", 2, "1ZQ")), cfg)
    uc.run()
    assert len(bp.transfers) == 1 and fig(bp, BACK, CUP)["inTransit"] == 2
    assert fig(bp, FBA, TEA)["onHand"] == 18
    bp.lose_answer("release")
    uc.receive("R9")
    assert fig(bp, BACK, CUP)["onHand"] == 2 and store.get("R9").pending is None  # type: ignore[union-attr]


def test_unknown_sku_waits_with_its_reason_and_moves_once_linked():
    uc, bp, _, _ = world()
    links = dict(LINKS)
    uc.product_for = links.get
    t = uc.apply_lines(SHIPMENT_DETAIL, doc(SHIP_COLS, ship_row("R3", "NEW", 1, "1ZN")), uc.settings())
    assert t.balanced and t.pending == {"no Brightpearl product linked to NEW": 1}
    assert not bp.transfers
    links["NEW"] = TEA
    uc.run()
    assert fig(bp, BACK, TEA)["inTransit"] == 1 and len(bp.transfers) == 1


def test_removal_warehouse_unset_waits_and_is_named():
    uc, bp, _, _ = world(removal_warehouse_id=None)
    t = uc.apply_lines(SHIPMENT_DETAIL, doc(SHIP_COLS, ship_row("R4", "TEA", 1, "1ZW")), uc.settings())
    assert "removal_warehouse_id is not set" in next(iter(t.pending))
    assert not bp.transfers


def test_malformed_lines_are_quarantined_with_their_line_numbers():
    uc, _, _, _ = world()
    lines = doc(ORDER_COLS, order_row("D2", "Disposal", "TEA", 1, disposed=1),
                order_row("D2", "Liquidations", "TEA", 1), order_row("D2", "Disposal", "TEA", 1, disposed=3),
                "only\tthree\tcells", order_row("", "Disposal", "TEA", 1))
    t = uc.apply_lines(ORDER_DETAIL, lines, uc.settings())
    assert t.balanced and t.quarantined == 4
    assert [q[0] for q in t.quarantined_lines] == [3, 4, 5, 6]


def test_one_owner_per_unit_the_ledger_skips_removal_rows_the_removal_reports_move_them_once():
    """The same removals read by the ledger (VendorReturns rows) and by the removal reports: stock moves once."""
    uc, bp, _, _ = world()
    ledger = ['"Date"\t"MSKU"\t"Event Type"\t"Reference ID"\t"Quantity"\t"Disposition"\t"Reason"\t"Date and Time"',
              '"11/03/2026"\t"TEA"\t"VendorReturns"\t"D5"\t"-4"\t"SELLABLE"\t""\t"2026-11-03T09:00:00+0000"',
              '"11/03/2026"\t"CUP"\t"VendorReturns"\t"R5"\t"-2"\t"SELLABLE"\t""\t"2026-11-03T09:00:00+0000"']
    tally = LineTally()
    columns, rows = read_rows(ledger, tally=tally)
    changes = [c for c in classify_ledger(rows, LedgerColumns.of(columns), tally) if isinstance(c, StockChange)]
    assert changes == [] and tally.balanced  # the ledger owns none of them, and says why
    assert any("removal" in why for why in tally.skipped)
    cfg = uc.settings()
    uc.apply_lines(ORDER_DETAIL, doc(ORDER_COLS, order_row("D5", "Disposal", "TEA", 4, disposed=4)), cfg)
    uc.apply_lines(SHIPMENT_DETAIL, doc(SHIP_COLS, ship_row("R5", "CUP", 2, "1Z5")), cfg)
    assert fig(bp, FBA, TEA)["onHand"] == 16 and fig(bp, FBA, CUP)["onHand"] == 18


# ---------------------------------------------------------------------------------------------- property

SKUS = st.sampled_from(["TEA", "CUP", "CUP/ü & +", "NEW"])
_text = st.text(alphabet=string.ascii_letters + string.digits + " -/&+ü", max_size=6)


@st.composite
def order_lines(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 9)) == 0:  # a malformed line now and then
        return draw(st.sampled_from(["x\ty", order_row("D", "Disposal", "TEA", 1, disposed=2),
                                     order_row("D", "Mystery", "TEA", 1),
                                     order_row("D", "Disposal", "TEA", 1).replace("\t1\t", "\tone\t", 1)]))
    kind = draw(st.sampled_from(["Disposal", "Return"]))
    order = ("D" if kind == "Disposal" else "R") + str(draw(st.integers(1, 3)))
    req = draw(st.integers(1, 8))
    done = draw(st.integers(0, req))
    cancelled = draw(st.integers(0, done))
    key = "disposed" if kind == "Disposal" else "shipped"
    return order_row(order, kind, draw(SKUS), req, cancelled=cancelled, **{key: done - cancelled},
                     disposition=draw(st.sampled_from(["Sellable", "Unsellable"])),
                     status=draw(st.sampled_from(["Pending", "Completed", "Cancelled"])))


@st.composite
def ship_lines(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from(["a\tb\tc", ship_row("R1", "TEA", 0, "T"), ship_row("", "TEA", 1, "T")]))
    return ship_row("R" + str(draw(st.integers(1, 3))), draw(SKUS), draw(st.integers(1, 5)),
                    "T" + draw(_text), disposition=draw(st.sampled_from(["Sellable", "Sellable", "Unsellable"])))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(order_lines(), max_size=12), st.lists(ship_lines(), max_size=12), st.booleans())
def test_every_line_of_random_removal_reports_is_accounted_for_and_a_reread_moves_nothing(orders, ships, blank):
    uc, bp, _, _ = world(fba_stock=10)
    cfg = uc.settings()
    first = doc(ORDER_COLS, *orders, *([""] if blank else []))
    second = doc(SHIP_COLS, *ships)
    for report_type, lines in ((ORDER_DETAIL, first), (SHIPMENT_DETAIL, second)):
        t = uc.apply_lines(report_type, lines, cfg)
        assert t.balanced, t.as_dict()
        assert t.lines_in == len(lines) - 1
    before = {k: dict(v) for k, v in bp.figures([TEA, CUP], FBA).items()}, bp.figures([TEA, CUP], BACK)
    writes = list(bp.writes)
    for report_type, lines in ((ORDER_DETAIL, first), (SHIPMENT_DETAIL, second)):
        t = uc.apply_lines(report_type, lines, cfg)
        assert t.balanced and t.applied == 0, t.as_dict()
    assert bp.writes == writes
    assert ({k: dict(v) for k, v in bp.figures([TEA, CUP], FBA).items()}, bp.figures([TEA, CUP], BACK)) == before
    # Never below zero, never more out of the FBA warehouse than Amazon removed.
    assert all(f["onHand"] >= 0 for f in bp.figures([TEA, CUP], FBA).values())


def test_a_receive_interrupted_after_its_release_releases_nothing_more_when_confirmed_again():
    uc, bp, store, outbox = world()
    cfg = uc.settings()
    uc.apply_lines(SHIPMENT_DETAIL, doc(SHIP_COLS, ship_row("R7", "TEA", 5, "1Z7")), cfg)
    real_save = store.save
    calls = {"n": 0}

    def crash_after_release(removal):  # the process dies once the release is recorded
        real_save(removal)
        pkg = next(iter(removal.packages.values()))
        if pkg.received and not pkg.closed:
            calls["n"] += 1
            raise SystemExit("killed")

    store.save = crash_after_release  # type: ignore[method-assign]
    with pytest.raises(SystemExit):
        uc.receive("R7", {"TEA": 4})
    store.save = real_save  # type: ignore[method-assign]
    uc.receive("R7", {"TEA": 4})
    assert fig(bp, BACK, TEA)["onHand"] == 4 and fig(bp, BACK, TEA)["inTransit"] == 1
    assert len(outbox.sent) == 1


def test_an_unknown_removal_warehouse_is_refused_by_name_when_set():
    from connector.usecases.operator import CommandError as OperatorError
    from tests.unit.test_operator import operator

    op, _, _, settings_store, _ = operator()
    with pytest.raises(OperatorError, match=r"global\.removal_warehouse_id: warehouse 99 does not exist"):
        op.run({"command": "set-settings", "global": {"removal_warehouse_id": 99}})
    assert settings_store.global_settings().removal_warehouse_id is None
    op.run({"command": "set-settings", "global": {"removal_warehouse_id": 7}})
    assert settings_store.global_settings().removal_warehouse_id == 7
    with pytest.raises(OperatorError, match="removal_warehouse_id 7 is the FBA warehouse"):
        op.run({"command": "set-settings", "global": {"fba_warehouse_id": 7}})


def test_the_schedule_requests_both_reports_applies_them_once_and_survives_a_bad_one():
    from datetime import timedelta

    from tests.fakes import FakeClock

    uc, bp, store, _ = world()
    clock = FakeClock()
    uc.clock = clock
    reports: FakeReports = uc.reports  # type: ignore[assignment]
    out = uc.run()
    order_rid, ship_rid = out.requested
    assert {r.report_type for r in reports.requested()} == {ORDER_DETAIL, SHIPMENT_DETAIL}
    assert reports.get(order_rid).end == clock() and reports.get(order_rid).start == clock() - timedelta(days=30)
    assert uc.run().requested == []  # both still in the queue: nothing asked twice
    reports.finish(order_rid, doc(ORDER_COLS, order_row("D1", "Disposal", "TEA", 2, disposed=2)))
    # The shipment document lacks a column the connector needs: refused whole, the other applies.
    reports.finish(ship_rid, ["\t".join(c for c in SHIP_COLS if c != "shipment-date"),
                              ship_row("R1", "TEA", 1, "1Z").replace("\t2026-11-03T09:00:00+00:00", "", 1)])
    clock.advance(minutes=5)
    out = uc.run()
    assert out.applied[order_rid]["applied"] == 1 and fig(bp, FBA, TEA)["onHand"] == 18
    assert out.failed and "shipment-date" in out.failed[0]["error"]
    assert store.cursor(SHIPMENT_DETAIL)["error"].startswith("unusable report")
    clock.advance(minutes=5)
    (retry,) = uc.run().requested  # the unusable shipment report is asked for again; the order report not yet
    assert reports.get(retry).report_type == SHIPMENT_DETAIL
    # Four hours on: the order report's next window overlaps the last by three days and moves nothing.
    clock.advance(hours=4)
    (again,) = [r for r in uc.run().requested if reports.get(r).report_type == ORDER_DETAIL]
    assert reports.get(again).start == reports.get(order_rid).end - timedelta(days=3)
    reports.finish(again, doc(ORDER_COLS, order_row("D1", "Disposal", "TEA", 2, disposed=2, status="Completed")))
    clock.advance(minutes=5)
    uc.run()
    assert fig(bp, FBA, TEA)["onHand"] == 18 and store.get("D1").finished  # type: ignore[union-attr]
