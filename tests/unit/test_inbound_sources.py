"""Received figures from two sources (v0 items, ledger Receipts rows): reconciling, row keys across
overlapping reports, and never releasing twice. Properties over random data (no I/O)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from connector.adapters.amazon.inbound import receipts_in
from connector.domain.inbound import (
    SOURCE_BOTH,
    SOURCE_LEDGER,
    SOURCE_V0,
    Line,
    reconcile_received,
    releases_due,
    update_lines,
)

COLUMNS = ["Date", "FNSKU", "ASIN", "MSKU", "Title", "Event Type", "Reference ID", "Quantity",
           "Fulfillment Center", "Disposition", "Reason", "Country", "Reconciled Quantity",
           "Unreconciled Quantity", "Date and Time"]
SKUS = st.text(alphabet=st.sampled_from("AZaz09 -/&+_.éü字"), min_size=1, max_size=12).map(str.strip).filter(bool)
maybe = st.none() | st.integers(0, 500)


@given(maybe, maybe)
def test_reconciled_figure_is_the_larger_known_one_and_names_it(v0, ledger):
    received, source = reconcile_received(v0, ledger)
    known = [x for x in (v0, ledger) if x is not None]
    assert received == max(known, default=0)
    if not known:
        assert source == ""
    elif v0 is not None and ledger is not None and v0 == ledger:
        assert source == SOURCE_BOTH
    else:
        assert source == (SOURCE_V0 if received == v0 and (ledger is None or v0 > ledger) else SOURCE_LEDGER)


def _doc(rows):
    def q(v):
        return f'"{v}"'
    lines = ["\t".join(q(c) for c in COLUMNS)]
    for i, (event, ref, sku, qty) in rows:  # i: the row's place in Amazon's history, fixing its time
        lines.append("\t".join(q(v) for v in ["05/01/2024", f"X00{i % 3}", "B0", sku, "t", event, ref, str(qty),
                                              "LTN1", "SELLABLE", "", "GB", "", "", f"2024-05-01T10:{i:02d}:00+0000"]))
    return [ln + "\n" for ln in lines]


ROWS = st.lists(st.tuples(st.sampled_from(["Receipts", "Shipments", "Adjustments"]),
                          st.sampled_from(["FBA1A", "FBA1B", "OTHER"]), SKUS, st.integers(1, 40)), max_size=30)


@given(ROWS, st.integers(0, 30), st.integers(0, 30))
def test_overlapping_reports_never_count_a_receipts_row_twice(rows, cut_a, cut_b):
    """Two reports whose windows overlap hold some rows twice; kept by key, each row counts once."""
    numbered = list(enumerate(rows))
    first, second = numbered[:max(cut_a, cut_b)], numbered[min(cut_a, cut_b):]
    kept: dict[str, tuple[str, int]] = {}
    for doc in (first, second, numbered):
        for r in receipts_in(_doc(doc), {"FBA1A"}):
            kept[r.key] = (r.sku, r.quantity)
    truth: dict[str, int] = {}
    for event, ref, sku, qty in rows:
        if event == "Receipts" and ref == "FBA1A":
            truth[sku] = truth.get(sku, 0) + qty
    got: dict[str, int] = {}
    for sku, qty in kept.values():
        got[sku] = got.get(sku, 0) + qty
    assert got == truth


@given(st.lists(st.tuples(maybe, maybe), min_size=1, max_size=8), st.integers(0, 50))
def test_releases_over_any_sequence_of_source_readings_never_exceed_the_transfer(readings, transferred):
    """Whatever order v0 and the ledger report in (lagging, catching up, going back), the units released
    add up to min(highest received seen, transferred), never more, never twice."""
    line = Line("SKU", product_id=1, expected=transferred, transferred=transferred)
    released_total = 0
    best = 0
    for v0, ledger in readings:
        received, source = reconcile_received(v0, ledger)
        best = max(best, received)
        (line,), _ = update_lines([line], {"SKU": (transferred, received)}, {}, {"SKU": source})
        due = releases_due([line]).get("SKU", 0)
        released_total += due
        line = Line(**{**line.__dict__, "released": line.released + due})
    assert released_total == min(best, transferred)
    assert line.received == best
