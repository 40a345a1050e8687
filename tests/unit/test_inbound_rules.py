"""Inbound shipment rules: statuses, per-SKU quantities, releases, corrections, discrepancies, emails (no I/O)."""

from __future__ import annotations

import pytest

from connector.domain.inbound import (
    Line,
    corrections_due,
    merge_status,
    plan_transfer,
    releases_due,
    update_lines,
)
from connector.domain.inbound_emails import EmailEvent, ShipmentView, emails_due, held_email_due, render_email
from connector.emails.design import Sender, render
from tests.emails import has_row, skus_in_tables, table_rows, title

SENDER = Sender("connector-test", "test", ("A1F83G8C2ARO7P",))


def rendered(*args, **kwargs):
    return render(render_email(*args, **kwargs), SENDER)


# ------------------------------------------------------------------------------ statuses
@pytest.mark.parametrize(("current", "reported", "kept", "changed"), [
    (None, "working", "WORKING", True),
    ("WORKING", "SHIPPED", "SHIPPED", True),
    ("RECEIVING", "SHIPPED", "RECEIVING", False),  # an older answer arrives late
    ("CHECKED_IN", "IN_TRANSIT", "CHECKED_IN", False),
    ("RECEIVING", "CLOSED", "CLOSED", True),
    ("CLOSED", "RECEIVING", "CLOSED", False),  # final stays final
    ("SHIPPED", "CANCELLED", "CANCELLED", True),
    ("WORKING", "DELETED", "DELETED", True),
    ("DELETED", "WORKING", "DELETED", False),
    ("SHIPPED", "ERROR", "SHIPPED", False),
    ("SHIPPED", "MIXED", "SHIPPED", False),
    ("SHIPPED", "SHIPPED", "SHIPPED", False),
])
def test_status_never_moves_backwards(current, reported, kept, changed):
    decision = merge_status(current, reported)
    assert (decision.status, decision.changed) == (kept, changed)
    assert (decision.note is not None) == (not changed and current != reported.upper())


# ------------------------------------------------------------------------------ lines
def test_update_lines_adds_skus_links_late_and_never_lowers_received():
    lines = [Line("A", 1, expected=5, transferred=5, received=3, released=3), Line("B", None, expected=2)]
    out, notes = update_lines(lines, {"A": (5, 2), "B": (2, 1), "C": (0, 4)}, {"B": 7, "C": None})
    by = {ln.sku: ln for ln in out}
    assert by["A"].received == 3 and by["A"].released == 3  # Amazon said 2: kept 3, logged
    assert len(notes) == 1 and "A" in notes[0]
    assert by["B"].product_id == 7 and by["B"].received == 1  # linked since the last run
    assert by["C"] == Line("C", None, expected=0, received=4)
    assert [ln.sku for ln in out] == ["A", "B", "C"]


# ------------------------------------------------------------------------------ transfer plan
def test_plan_takes_what_there_is_and_reports_the_shortfall():
    lines = [Line("A", 1, expected=10), Line("B", 2, expected=5), Line("X", None, expected=3)]
    plan = plan_transfer(lines, {1: 50, 2: 3}, "available")
    assert plan.quantities == {"A": 10, "B": 3} and plan.short == {"B": 2} and not plan.hold


def test_plan_shares_one_product_between_two_skus():
    plan = plan_transfer([Line("A", 1, expected=4), Line("A-EU", 1, expected=4)], {1: 6}, "available")
    assert plan.quantities == {"A": 4, "A-EU": 2} and plan.short == {"A-EU": 2}


def test_hold_policy_waits_while_anything_is_short():
    lines = [Line("A", 1, expected=10), Line("B", 2, expected=5)]
    assert plan_transfer(lines, {1: 50, 2: 3}, "hold").hold
    assert not plan_transfer(lines, {1: 50, 2: 5}, "hold").hold


def test_nothing_in_stock_or_nothing_linked_is_held_even_under_available():
    assert plan_transfer([Line("A", 1, expected=3)], {}, "available").hold
    assert plan_transfer([Line("X", None, expected=3)], {}, "available").hold


# ------------------------------------------------------------------------------ releases and corrections
def test_partial_receipts_release_only_the_new_units():
    line = Line("A", 1, expected=10, transferred=10, received=4, released=0)
    assert releases_due([line]) == {"A": 4}
    assert releases_due([Line("A", 1, expected=10, transferred=10, received=9, released=4)]) == {"A": 5}
    assert releases_due([Line("A", 1, expected=10, transferred=10, received=9, released=9)]) == {}


def test_release_never_exceeds_the_transfer_and_over_receipt_is_corrected_once():
    over = Line("A", 1, expected=10, transferred=10, received=12, released=0)
    assert releases_due([over]) == {"A": 10}
    assert corrections_due([over]) == {"A": 2}
    assert corrections_due([Line("A", 1, expected=10, transferred=10, received=12, corrected=2)]) == {}
    assert corrections_due([Line("A", 1, expected=10, transferred=10, received=13, corrected=2)]) == {"A": 1}


def test_short_transfer_received_in_full_is_corrected_by_the_difference():
    line = Line("B", 2, expected=5, transferred=3, short=2, received=5)
    assert releases_due([line]) == {"B": 3} and corrections_due([line]) == {"B": 2}


def test_unlinked_skus_release_and_correct_nothing():
    line = Line("X", None, expected=0, received=4)
    assert releases_due([line]) == {} and corrections_due([line]) == {}


# ------------------------------------------------------------------------------ emails
def view(status, *lines, transfer=61):
    return ShipmentView("FBA1", "Spring", status, transfer, tuple(lines))


def keys(v, planned=True):
    return [e.key for e in emails_due(v, transfer_planned=planned)]


def test_no_email_for_a_quiet_working_shipment():
    assert keys(view("WORKING", Line("A", 1, expected=5, transferred=5))) == []


def test_receiving_then_closed_in_full():
    a = Line("A", 1, expected=5, transferred=5, received=2)
    assert keys(view("RECEIVING", a)) == ["receiving"]
    assert keys(view("CLOSED", Line("A", 1, expected=5, transferred=5, received=5))) == ["closed"]


def test_discrepancy_keys_carry_their_figures_so_growth_is_a_new_event():
    a = Line("A", 1, expected=5, transferred=5, received=7)
    m = Line("M", 3, expected=0, received=1)
    x = Line("X", None, expected=2)
    b = Line("B", 2, expected=4, transferred=3, short=1)
    assert keys(view("RECEIVING", a, b, m, x)) == [
        "unlinked:X", "short:B=1", "receiving", "over:A=2", "unexpected:M=1"]
    more = Line("A", 1, expected=5, transferred=5, received=8)
    assert "over:A=3" in keys(view("RECEIVING", more))
    assert "short:B=1" not in keys(view("WORKING", b), planned=False)  # mailed once the transfer exists


def test_cancelled_is_the_only_email_of_a_cancelled_shipment():
    assert keys(view("DELETED", Line("A", 1, expected=5, received=0), Line("X", None, expected=1))) == [
        "cancelled:DELETED"]


def test_email_tables_name_the_shipment_the_transfer_and_each_difference():
    v = view("CLOSED", Line("A", 1007, expected=5, transferred=5, received=4),
             Line("B & co", None, expected=0, received=2))
    email = rendered(v, EmailEvent("closed", "closed"))
    assert email.subject == ("[connector-test · test] UK: "
                             "Amazon closed inbound shipment FBA1 short: 1 unit(s) not received")
    assert "Amazon shipment: FBA1 (Spring)" in email.text and "Brightpearl transfer: #61" in email.text
    assert ["SKU", "Product", "Expected", "Received", "Difference", "Received per"] in table_rows(email.html)
    assert has_row(email.html, "A", "#1007", 5, 4, -1)
    assert has_row(email.html, "B & co", "not linked", 0, 2, 2)
    assert "B &amp; co" in email.html and "<td>B & co" not in email.html  # cell text is escaped
    full = rendered(view("CLOSED", Line("A", 1, expected=5, received=5)), EmailEvent("closed", "closed"))
    assert title(full.subject) == "Amazon received inbound shipment FBA1 in full"


def test_over_and_unexpected_emails_list_only_their_skus():
    v = view("RECEIVING", Line("A", 1, expected=5, transferred=5, received=7), Line("B", 2, expected=3, received=3),
             Line("M", 3, expected=0, received=1))
    over = rendered(v, EmailEvent("over:A=2", "over"))
    assert "A" in skus_in_tables(over.html) and not {"B", "M"} & skus_in_tables(over.html)
    extra = rendered(v, EmailEvent("unexpected:M=1", "unexpected"))
    assert has_row(extra.html, "M", "#3", 0, 1, 1) and "A" not in skus_in_tables(extra.html)


def test_held_email_shows_the_shortfall_without_a_transfer():
    v = view("WORKING", Line("B", 2, expected=5), transfer=None)
    event = held_email_due({"B": 2})
    email = rendered(v, event, short={"B": 2})
    assert event.key == "held:B=2"
    assert "Brightpearl transfer: not created" in email.text
    assert has_row(email.html, "B", "#2", 5, 2)
