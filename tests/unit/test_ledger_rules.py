"""Inventory ledger rows → stock changes: the reason-code table, dispositions, netting, keys, bad rows."""

from __future__ import annotations

import pytest

from connector.domain.flatfile import read_rows
from connector.domain.ledger import REASON_ACTIONS, LedgerColumns, classify_ledger
from connector.domain.movements import Correction, DeemedClaims, Quarantine, StockChange, brightpearl_ref, net_pairs

HEADER = ["Date", "FNSKU", "ASIN", "MSKU", "Title", "Event Type", "Reference ID", "Quantity", "Fulfillment Center",
          "Disposition", "Reason", "Country", "Reconciled Quantity", "Unreconciled Quantity", "Date and Time"]


def row(event="Adjustments", qty="-1", disposition="SELLABLE", reason="M", ref="1000000001", sku="SKU-1",
        when="2026-07-06T10:00:00+0000", title="Thé vert"):
    return {"Date": "07/06/2026", "FNSKU": "X001", "ASIN": "B001", "MSKU": sku, "Title": title, "Event Type": event,
            "Reference ID": ref, "Quantity": qty, "Fulfillment Center": "LTN1", "Disposition": disposition,
            "Reason": reason, "Country": "GB", "Reconciled Quantity": "", "Unreconciled Quantity": "",
            "Date and Time": when}


def render(rows, header=HEADER, quoted=True):
    def c(v):
        return f'"{v}"' if quoted else v
    lines = ["\t".join(c(h) for h in header)]
    lines += ["\t".join(c(r.get(h, "")) for h in header) for r in rows]
    return [ln + "\n" for ln in lines]


def classify(rows, **kw):
    columns, it = read_rows(render(rows, **kw))
    return list(classify_ledger(it, LedgerColumns.of(columns)))


@pytest.mark.parametrize(("reason", "qty", "kind", "delta"), [
    ("M", "-2", "lost", -2), ("5", "-1", "lost", -1), ("F", "3", "found", 3), ("N", "1", "found", 1),
    ("E", "-1", "damaged", -1), ("D", "-1", "disposed", -1), ("G", "-1", "disposed", -1),
    ("O", "-1", "correction", -1), ("P", "1", "disposition_in", 1), ("Q", "-1", "disposition_out", -1),
    ("3", "2", "redefinition_in", 2), ("4", "-2", "redefinition_out", -2),
])
def test_sellable_adjustments_move_the_mirrored_stock_by_their_quantity(reason, qty, kind, delta):
    (change,) = classify([row(reason=reason, qty=qty)])
    assert isinstance(change, StockChange)
    assert (change.kind, change.quantity) == (kind, delta)


@pytest.mark.parametrize("reason", ["6", "7", "H", "K", "U"])
def test_damage_from_an_unsellable_disposition_moves_nothing(reason):
    (change,) = classify([row(reason=reason, disposition="CUSTOMER_DAMAGED")])
    assert isinstance(change, StockChange) and change.quantity == 0
    assert "not in the mirrored sellable stock" in change.why


def test_every_documented_code_has_an_action():
    assert set(REASON_ACTIONS) == set("M5FNE67HKUDGOPQ34")


def test_damage_pair_reduces_once_and_disposal_of_the_damaged_unit_does_not_reduce_again():
    changes = classify([row(reason="E", qty="-1", ref="77"),
                        row(reason="P", qty="1", ref="77", disposition="WAREHOUSE_DAMAGED"),
                        row(reason="D", qty="-1", ref="78", disposition="WAREHOUSE_DAMAGED")])
    assert [c.quantity for c in changes] == [-1, 0, 0]
    assert len({c.key for c in changes}) == 3  # the pair shares a Reference ID but not a key


def test_unknown_reason_code_and_malformed_rows_are_quarantined_not_guessed():
    changes = classify([row(reason="J"), row(qty="two"), row(sku=""), row(reason="M", qty="3"), row()])
    assert [type(c).__name__ for c in changes] == ["Quarantine"] * 4 + ["StockChange"]
    reasons = [c.reason for c in changes if isinstance(c, Quarantine)]
    assert "unknown adjustment reason code 'J'" in reasons[0]
    assert "not an integer" in reasons[1] and "no MSKU" in reasons[2] and "wrong sign" in reasons[3]
    assert [c.line for c in changes] == [2, 3, 4, 5, 6]


def test_other_event_types_are_not_ours_and_customer_returns_are():
    changes = classify([row(event="Shipments", reason=""), row(event="Receipts", qty="5", reason=""),
                        row(event="WhseTransfers", reason=""), row(event="VendorReturns", reason=""),
                        row(event="CustomerReturns", qty="1", reason="", ref="202-1"),
                        row(event="CustomerReturns", qty="1", reason="", ref="202-2", disposition="DEFECTIVE"),
                        row(event="Mystery", reason="")])
    assert [(type(c).__name__, getattr(c, "quantity", None)) for c in changes] == [
        ("StockChange", 1), ("StockChange", 0), ("Quarantine", None)]
    assert changes[0].match_key == "return|202-1|SKU-1"


def test_columns_found_by_name_in_any_order_extra_columns_ignored_unquoted_too():
    header = [*reversed(HEADER), "Store"]
    (a,) = classify([row()], header=header, quoted=False)
    (b,) = classify([row()])
    assert a == b


def test_keys_are_deterministic_and_identical_rows_in_one_report_are_two_movements():
    first = classify([row(), row(), row(reason="F", qty="1")])
    again = classify([row(), row(), row(reason="F", qty="1")])
    assert [c.key for c in first] == [c.key for c in again]
    assert len({c.key for c in first}) == 3
    assert brightpearl_ref(first[0].key) == brightpearl_ref(again[0].key)
    assert brightpearl_ref(first[0].key).startswith("AMZ-") and len(brightpearl_ref(first[0].key)) == 20


def test_headers_only_report_has_nothing_to_do():
    columns, it = read_rows(render([]))
    assert list(classify_ledger(it, LedgerColumns.of(columns))) == []


def test_lost_then_found_in_one_batch_nets_to_nothing_and_other_corrections_stay():
    lost, found, other = Correction("a", 7, -2), Correction("b", 7, 2), Correction("c", 7, -1)
    remaining, pairs = net_pairs([lost, other, found])
    assert remaining == [other]
    assert pairs == [(lost, found)]
    assert net_pairs([Correction("a", 7, -2), Correction("b", 8, 2)])[1] == []  # other product: no netting


@pytest.mark.parametrize("loss_first", [True, False])
def test_deemed_units_are_reduced_once_whichever_report_is_read_first(loss_first):
    claims = DeemedClaims()
    if loss_first:
        reduced = [claims.apply_loss("ledger-1", 3), claims.apply_deemed("rmb-1", 3)]
    else:
        reduced = [claims.apply_deemed("rmb-1", 3), claims.apply_loss("ledger-1", 3)]
    assert sum(reduced) == 3
    assert claims.apply_loss("ledger-1", 3) == reduced[0 if loss_first else 1]  # re-read: same answer
    assert claims.apply_deemed("rmb-2", 2) == 2  # a further reimbursement with no loss behind it


def test_partially_matched_deemed_units():
    claims = DeemedClaims()
    assert claims.apply_loss("l", 2) == 2
    assert claims.apply_deemed("r", 5) == 3
    assert (claims.losses, claims.deemed) == (0, 3)


def test_a_header_missing_a_needed_column_makes_the_report_unusable_not_guessed():
    from connector.domain.flatfile import HeaderError
    from connector.domain.reports import report_items

    lines = ["\ufeff" + "\t".join(h for h in HEADER if h != "Quantity") + "\n", "x\n"]
    with pytest.raises(HeaderError, match="Quantity"):
        list(report_items("GET_LEDGER_DETAIL_VIEW_DATA", lines))


def test_bom_and_spaces_in_the_header_do_not_matter():
    lines = render([row()])
    lines[0] = "\ufeff" + lines[0].replace('"MSKU"', ' "MSKU" ')
    columns, it = read_rows(lines)
    (change,) = classify_ledger(it, LedgerColumns.of(columns))
    assert isinstance(change, StockChange) and change.sku == "SKU-1"


@pytest.mark.parametrize(("qty", "event", "why"), [
    ("1e3", "Adjustments", "not an integer"), ("2.5", "Adjustments", "not an integer"),
    ("-99999999999", "Adjustments", "plausible"), ("-3", "CustomerReturns", "a return adds units"),
])
def test_implausible_quantities_are_quarantined_not_applied(qty, event, why):
    (item,) = classify([row(qty=qty, event=event, reason="M" if event == "Adjustments" else "")])
    assert isinstance(item, Quarantine) and why in item.reason and item.line == 2


def test_an_unclosed_quote_in_a_cell_stays_on_its_line():
    from connector.domain.flatfile import split_line

    assert split_line('a\t"Mug 12\tb\r\n') == ["a", '"Mug 12', "b"]
    assert split_line('"a"\t"say ""hi"""\t""\n') == ["a", 'say "hi"', ""]
    assert split_line('"a"\t"12" mug"\n') == ["a", '12" mug']  # Amazon's unescaped quote (models#4367)
    items = classify([row(title='"Mug 12'), row(ref="2"), row(ref="3")], quoted=False)
    assert [i.line for i in items] == [2, 3, 4] and all(isinstance(i, StockChange) for i in items)
