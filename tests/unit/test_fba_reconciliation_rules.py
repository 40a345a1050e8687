"""FBA reconciliation rules: what is compared, how differences are explained, what is suggested (no I/O)."""

from __future__ import annotations

import csv
import io

from connector.domain.fba_reconciliation import (
    DIFFERENCE,
    EXPLAINED,
    INBOUND,
    MATCH,
    MOVEMENT,
    NOT_IN_BRIGHTPEARL,
    ORDERS,
    UNLINKED,
    AmazonFba,
    BrightpearlFba,
    InFlight,
    compare,
    from_availability,
    from_myi,
    from_summary,
    inbound_unreleased,
    merge_pools,
    movement_in_flight,
    movement_key,
    pools,
    select,
)
from connector.domain.fba_reconciliation_report import email_content, to_csv, totals
from connector.domain.quantities import EU_MARKETPLACES

UK, DE, FR, US = "A1F83G8C2ARO7P", "A1PA6795UKMFR9", "A13V1IB3VIYZZH", "ATVPDKIKX0DER"


def one(sku: str, amazon: AmazonFba, bp: BrightpearlFba | None, flights: list[InFlight] | None = None,
        pid: int = 1):
    [line] = compare(links={sku: pid}, amazon={sku: amazon}, brightpearl={pid: bp}, in_flight=flights or [])
    return line


# ------------------------------------------------------------------ what is compared
def test_sellable_is_fulfillable_plus_reserved_against_on_hand_plus_allocated() -> None:
    a = AmazonFba("TEA", fulfillable=40, reserved=3, pending_orders=2, unfulfillable=5, inbound_shipped=10,
                  researching=2)
    line = one("TEA", a, BrightpearlFba(1, on_hand=41, allocated=2, in_transit=10))
    # Unfulfillable, inbound (Brightpearl's quarantine) and researching units are never compared.
    assert (line.amazon, line.brightpearl, line.difference, line.status) == (43, 43, 0, MATCH)


def test_a_customer_order_moves_units_within_each_side_and_makes_no_difference() -> None:
    before = one("TEA", AmazonFba("TEA", fulfillable=10, pending_orders=0), BrightpearlFba(1, on_hand=10))
    # Amazon reserves 2 units; Brightpearl allocates the imported order: still no difference.
    after = one("TEA", AmazonFba("TEA", fulfillable=8, reserved=2, pending_orders=2),
                BrightpearlFba(1, on_hand=8, allocated=2))
    assert before.difference == after.difference == 0


def test_unexplained_drift_is_suggested_in_both_directions() -> None:
    up = one("TEA", AmazonFba("TEA", fulfillable=12, pending_orders=0), BrightpearlFba(1, on_hand=10))
    down = one("TEA", AmazonFba("TEA", fulfillable=7, pending_orders=0), BrightpearlFba(1, on_hand=10))
    assert (up.difference, up.suggested, up.status) == (2, 2, DIFFERENCE)
    assert (down.difference, down.suggested, down.status) == (-3, -3, DIFFERENCE)


# ------------------------------------------------------------------ explanations
def test_unreleased_inbound_receipts_explain_a_positive_difference() -> None:
    f = inbound_unreleased("TEA", "FBA1", received=6, transferred=10, released=0, corrected=0,
                           over_receipt_corrected=True)
    assert f is not None and f.quantity == 6 and f.kind == INBOUND
    line = one("TEA", AmazonFba("TEA", fulfillable=16, pending_orders=0), BrightpearlFba(1, on_hand=10, in_transit=10),
               [f])
    assert (line.difference, line.suggested, line.status) == (6, 0, EXPLAINED)


def test_inbound_unreleased_counts_over_receipt_only_when_it_will_be_corrected() -> None:
    kw = {"received": 12, "transferred": 10, "released": 4, "corrected": 0}
    corrected = inbound_unreleased("TEA", "FBA1", **kw, over_receipt_corrected=True)
    reported = inbound_unreleased("TEA", "FBA1", **kw, over_receipt_corrected=False)
    assert corrected is not None and corrected.quantity == 6 + 2
    assert reported is not None and reported.quantity == 6  # 'report' never adds the 2 extra: not in flight
    assert inbound_unreleased("TEA", "FBA1", received=5, transferred=10, released=5, corrected=0,
                              over_receipt_corrected=True) is None


def test_pending_movement_explains_and_only_the_rest_is_suggested() -> None:
    lost = movement_in_flight("TEA", key="ledger|x", kind="lost", status="failed", quantity=-3, detail={},
                              restock_returns=False)
    assert lost is not None and lost.kind == MOVEMENT and lost.quantity == -3
    line = one("TEA", AmazonFba("TEA", fulfillable=5, pending_orders=0), BrightpearlFba(1, on_hand=10), [lost])
    assert (line.difference, line.suggested) == (-5, -2)
    assert line.explained == [{"kind": MOVEMENT, "quantity": -3, "note": lost.note}]


def test_in_flight_that_overshoots_suggests_the_opposite_correction() -> None:
    found = InFlight("TEA", MOVEMENT, 4, "found pending")
    line = one("TEA", AmazonFba("TEA", fulfillable=11, pending_orders=0), BrightpearlFba(1, on_hand=10), [found])
    assert (line.difference, line.suggested) == (1, -3)  # once the +4 lands, Brightpearl is 3 over


def test_returns_count_only_when_they_will_restock_sellable_fba_units() -> None:
    detail = {"channel": "FBA", "lines": [["TEA", 2, "SELLABLE"], ["TEA", 1, "CUSTOMER_DAMAGED"]]}
    on = movement_in_flight("TEA", key="r", kind="return", status="pending", quantity=3, detail=detail,
                            restock_returns=True)
    assert on is not None and on.quantity == 2
    assert movement_in_flight("TEA", key="r", kind="return", status="pending", quantity=3, detail=detail,
                              restock_returns=False) is None
    assert movement_in_flight("TEA", key="r", kind="return", status="pending", quantity=3,
                              detail={**detail, "channel": "MFN"}, restock_returns=True) is None
    # With restocking on the ledger's CustomerReturns row is skipped (the credit restocks): not in flight.
    assert movement_in_flight("TEA", key="l", kind="customer_return", status="pending", quantity=1, detail={},
                              restock_returns=True) is None
    assert movement_in_flight("TEA", key="l", kind="customer_return", status="pending", quantity=1, detail={},
                              restock_returns=False) is not None


def test_unmatched_movement_is_its_own_kind() -> None:
    f = movement_in_flight("TEA", key="k", kind="found", status="unmatched", quantity=2, detail={},
                           restock_returns=False)
    assert f is not None and f.kind == "unmatched_movement"


def test_orders_shipped_by_amazon_but_still_allocated_in_brightpearl_explain_a_negative_difference() -> None:
    # Amazon shipped 2 of 3 reserved units; Brightpearl still has the 3 allocated (not shipped there yet).
    line = one("TEA", AmazonFba("TEA", fulfillable=10, reserved=1, pending_orders=1),
               BrightpearlFba(1, on_hand=10, allocated=3))
    assert line.difference == -2
    assert [(e["kind"], e["quantity"]) for e in line.explained] == [(ORDERS, -2)]
    assert (line.suggested, line.status) == (0, EXPLAINED)


def test_orders_explanation_never_exceeds_the_difference_it_explains() -> None:
    line = one("TEA", AmazonFba("TEA", fulfillable=9, reserved=0, pending_orders=0),
               BrightpearlFba(1, on_hand=5, allocated=5))
    assert line.difference == -1
    assert line.explained[0]["quantity"] == -1 and line.suggested == 0
    # Reserved at Amazon, already booked out in Brightpearl: a positive difference, explained.
    pos = one("TEA", AmazonFba("TEA", fulfillable=5, reserved=4, pending_orders=4), BrightpearlFba(1, on_hand=6))
    assert (pos.difference, pos.suggested) == (3, 0)
    # Without the breakdown (MYI report) all reserved units are taken as orders.
    myi = one("TEA", AmazonFba("TEA", fulfillable=5, reserved=4, pending_orders=None), BrightpearlFba(1, on_hand=7))
    assert (myi.difference, myi.suggested) == (2, 0)


def test_orders_are_not_an_explanation_when_the_direction_does_not_fit() -> None:
    line = one("TEA", AmazonFba("TEA", fulfillable=12, reserved=0, pending_orders=0),
               BrightpearlFba(1, on_hand=7, allocated=3))
    assert line.difference == 2 and line.explained == [] and line.suggested == 2


# ------------------------------------------------------------------ SKUs, products, pools
def test_skus_sharing_a_product_are_one_line_against_brightpearls_one_figure() -> None:
    lines = compare(links={"TEA-B": 1, "TEA-A": 1}, amazon={"TEA-A": AmazonFba("TEA-A", 4, pending_orders=0),
                                                            "TEA-B": AmazonFba("TEA-B", 6, pending_orders=0)},
                    brightpearl={1: BrightpearlFba(1, on_hand=10)}, in_flight=[])
    assert len(lines) == 1 and lines[0].sku == "TEA-A" and lines[0].skus == ["TEA-A", "TEA-B"]
    assert lines[0].difference == 0


def test_unlinked_and_missing_products_are_reported_never_corrected() -> None:
    lines = compare(links={"TEA": 1, "GONE": 2},
                    amazon={"TEA": AmazonFba("TEA", 3), "STRAY": AmazonFba("STRAY", 5), "EMPTY": AmazonFba("EMPTY")},
                    brightpearl={1: BrightpearlFba(1, on_hand=3), 2: None}, in_flight=[])
    by = {ln.sku: ln for ln in lines}
    assert by["STRAY"].status == UNLINKED and by["STRAY"].product_id is None
    assert "EMPTY" not in by  # no units anywhere: nothing to say
    assert by["GONE"].status == NOT_IN_BRIGHTPEARL and by["GONE"].note
    assert select(lines) == []


def test_linked_sku_amazon_does_not_list_counts_as_zero_with_a_note() -> None:
    [line] = compare(links={"OLD": 1}, amazon={}, brightpearl={1: BrightpearlFba(1, on_hand=4)}, in_flight=[])
    assert (line.amazon, line.difference, line.suggested) == (0, -4, -4) and "not in Amazon" in line.note


def test_pan_eu_is_one_pool_other_marketplaces_their_own() -> None:
    assert pools([UK, DE, FR], EU_MARKETPLACES) == [UK]
    assert pools([DE, UK, US], EU_MARKETPLACES) == [DE, US]


def test_the_same_sku_in_one_pool_is_counted_once_and_distinct_pools_add_up() -> None:
    eu_page1 = [AmazonFba("TEA", 10)]
    eu_page2 = [AmazonFba("TEA", 10)]  # the same units, repeated (e.g. asked per marketplace)
    merged = merge_pools([eu_page1 + eu_page2])
    assert merged["TEA"].fulfillable == 10
    assert merge_pools([[AmazonFba("TEA", 10)], [AmazonFba("TEA", 4)]])["TEA"].fulfillable == 14


# ------------------------------------------------------------------ shapes
def test_from_summary_reads_the_details_breakdown() -> None:
    a = from_summary({"sellerSku": "TEA", "inventoryDetails": {
        "fulfillableQuantity": 40, "inboundWorkingQuantity": 1, "inboundShippedQuantity": 2,
        "inboundReceivingQuantity": 3,
        "reservedQuantity": {"totalReservedQuantity": 5, "pendingCustomerOrderQuantity": 4},
        "researchingQuantity": {"totalResearchingQuantity": 6},
        "unfulfillableQuantity": {"totalUnfulfillableQuantity": 7}}})
    assert (a.sellable, a.pending_orders, a.unfulfillable, a.inbound_receiving, a.researching) == (45, 4, 7, 3, 6)


def test_from_myi_reads_columns_by_name_and_skips_merchant_fulfilled_rows() -> None:
    text = ("afn-reserved-quantity\tsku\tafn-fulfillable-quantity\tafn-listing-exists\tafn-unsellable-quantity\n"
            "2\tTEA\t10\tYes\t1\n"
            "0\tSOAP\t\tNo\t\n")
    rows = from_myi(io.StringIO(text))
    assert [(r.sku, r.fulfillable, r.reserved, r.unfulfillable, r.pending_orders) for r in rows] == [
        ("TEA", 10, 2, 1, None)]


def test_from_availability_treats_a_missing_warehouse_as_zeros() -> None:
    entry = {"warehouses": {"7": {"onHand": 5, "allocated": 1, "inTransit": 2}}}
    assert from_availability(1, entry, 7) == BrightpearlFba(1, 5, 1, 2)
    assert from_availability(1, entry, 9) == BrightpearlFba(1, 0, 0, 0)
    assert from_availability(1, None, 7) is None


# ------------------------------------------------------------------ approval
def _lines():
    return compare(links={"A": 1, "B": 2, "C": 3, "D": 4},
                   amazon={"A": AmazonFba("A", 12), "B": AmazonFba("B", 1), "C": AmazonFba("C", 5),
                           "D": AmazonFba("D", 9)},
                   brightpearl={1: BrightpearlFba(1, 10), 2: BrightpearlFba(2, 10), 3: BrightpearlFba(3, 5),
                                4: BrightpearlFba(4, 5)},
                   in_flight=[InFlight("D", MOVEMENT, 4, "pending")])


def test_select_filters_by_skus_and_threshold_and_skips_what_needs_nothing() -> None:
    lines = _lines()
    assert sorted(ln.sku for ln in select(lines)) == ["A", "B"]  # C matches, D is explained
    assert [ln.sku for ln in select(lines, skus=["B", "C"])] == ["B"]
    assert [ln.sku for ln in select(lines, max_units=2)] == ["A"]
    assert movement_key("R1", "A") == "recon#R1#A"


# ------------------------------------------------------------------ report
def test_csv_has_every_line_and_email_the_top_differences() -> None:
    lines = _lines()
    rows = list(csv.DictReader(io.StringIO(to_csv(lines).decode("utf-8"))))
    assert {r["sku"] for r in rows} == {"A", "B", "C", "D"}
    d = next(r for r in rows if r["sku"] == "D")
    assert (d["difference"], d["explained_units"], d["suggested_correction"], d["status"]) == ("4", "4", "0",
                                                                                                EXPLAINED)
    t = totals(lines)
    assert (t["units_to_add"], t["units_to_remove"], t[DIFFERENCE]) == (2, 9, 2)
    c = email_content("R1", lines, top=2)
    assert [r[0] for r in c.rows] == ["B", "A"]  # largest suggested correction first, then difference
    assert "approve-reconciliation" in c.closing and "R1" in c.subject


def test_a_line_whose_in_flight_work_landed_while_reading_is_not_corrected():
    from connector.domain.fba_reconciliation import DIFFERENCE, UNSETTLED, InFlight, Line, mark_unsettled, select

    moved = Line(sku="A", skus=["A"], product_id=1, status=DIFFERENCE, amazon=10, brightpearl=5, difference=5,
                 suggested=5)
    steady = Line(sku="B", skus=["B"], product_id=2, status=DIFFERENCE, amazon=7, brightpearl=6, difference=1,
                  suggested=1)
    release = InFlight("A", "inbound_unreleased", 5, "FBA15X: 5 received, not released")
    other = InFlight("B", "movement", -1, "lost movement pending")
    lines = mark_unsettled([moved, steady], before=[release, other], after=[other])  # A's release landed
    assert (moved.status, moved.suggested) == (UNSETTLED, 0) and "compare again" in moved.note
    assert (steady.status, steady.suggested) == (DIFFERENCE, 1)
    assert [ln.sku for ln in select(lines)] == ["B"]  # an approval never corrects the unsettled line
