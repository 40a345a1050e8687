"""Refunds Amazon lists late (issue 16 item 3 fidelity), on the in-memory fakes: Finances lists an event days
after its PostedDate, its by-order list may lag its by-date list, and the connector still credits every
refund exactly once, whatever the lags and the order the refunds were posted in."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from connector.domain.movements import APPLIED
from tests.unit.test_refund_credits import ORDER, Rig


def iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def lagging_rig() -> Rig:
    rig = Rig()
    rig.fin.clock = rig.clock  # Finances lists an event only from its ``visible`` time
    rig.svc.retry_pending()  # the first run: the refund scan's cursor starts here
    return rig


def run(rig: Rig, days: float, every_hours: float = 6) -> None:
    for _ in range(int(days * 24 / every_hours)):
        rig.clock.advance(hours=every_hours)
        rig.svc.retry_pending()


def refund_id(event: dict) -> str:
    return str(event["ShipmentItemAdjustmentList"][0]["OrderAdjustmentItemId"])


def test_a_refund_listed_days_after_its_window_was_first_read_is_credited_once():
    rig = lagging_rig()
    posted = rig.clock() + timedelta(hours=1)
    # Listed 5 days after it was posted: the 48-hour read of its window has passed by then.
    event = rig.fin.post(ORDER, [{"sku": "TEA-1", "quantity": 1, "charges": {"Principal": "-5.00", "Tax": "-1.00"}}],
                         posted=iso(posted), visible=posted + timedelta(days=5))
    run(rig, 4)
    assert not rig.bp.credits
    run(rig, 28)  # the 14- and 30-day reads
    assert rig.bp.credited() == {f"AMZ-RF-{refund_id(event)}": Decimal("6.00")}
    assert rig.bp.attempts.count("create_credit") == 1
    (m,) = [m for m in rig.svc.explain("TEA-1") if m["kind"] == "refund"]
    assert m["status"] == APPLIED and "nothing restocked" in m["why"]


def test_a_refund_read_by_date_but_not_yet_by_order_waits_for_itself_not_another_refund():
    rig = lagging_rig()
    t0 = rig.clock()
    # A goodwill partial, listed by date at once but by order only 10 days later; then the unit's own refund.
    goodwill = rig.fin.post(ORDER, [{"sku": "TEA-1", "quantity": 1, "charges": {"Principal": "-4.00"}}],
                            posted=iso(t0 + timedelta(hours=1)), visible=t0 + timedelta(hours=1),
                            order_visible=t0 + timedelta(days=10))
    unit = rig.fin.post(ORDER, [{"sku": "TEA-1", "quantity": 1, "charges": {"Principal": "-10.00", "Tax": "-2.00"}}],
                        posted=iso(t0 + timedelta(hours=2)))
    run(rig, 4)
    assert rig.bp.credited() == {f"AMZ-RF-{refund_id(unit)}": Decimal("12.00")}  # the goodwill one waits
    run(rig, 8)
    assert rig.bp.credited() == {f"AMZ-RF-{refund_id(unit)}": Decimal("12.00"),
                                 f"AMZ-RF-{refund_id(goodwill)}": Decimal("4.00")}
    assert rig.bp.attempts.count("create_credit") == 2


refunds = st.lists(st.tuples(
    st.integers(0, 20 * 24),  # posted this many hours after the first run
    st.integers(0, 27 * 24),  # then listed by date this many hours later (within the 30-day read)
    st.integers(0, 3 * 24),  # and by order this many hours after that
    st.integers(1, 2_000)),  # cents refunded
    min_size=1, max_size=4)


@settings(max_examples=15, deadline=None)
@given(refunds, st.integers(0, 2), st.integers(0, 20 * 24))
def test_every_refund_is_credited_exactly_once_whatever_the_lags_and_posting_order(spec, returns, return_at):
    rig = lagging_rig()
    t0 = rig.clock()
    expected = {}
    for posted_h, lag_h, order_lag_h, cents in spec:
        posted = t0 + timedelta(hours=posted_h)
        event = rig.fin.post(ORDER, [{"sku": "TEA-1", "quantity": 1, "charges": {"Principal": f"-{cents / 100:.2f}"}}],
                             posted=iso(posted), visible=posted + timedelta(hours=lag_h),
                             order_visible=posted + timedelta(hours=lag_h + order_lag_h))
        expected[f"AMZ-RF-{refund_id(event)}"] = Decimal(cents) / 100
    run(rig, return_at / 24)
    if returns:  # returns of the unit, read from the report (again and again): they share the refunds' credits
        rets = [rig.mfn_return(("TEA-1", 1), rma=f"R{n}") for n in range(min(returns, len(spec)))]
        rig.svc.ingest(rets)
        rig.svc.ingest(rets)
    run(rig, 20 + 27 + 3 + 2 - return_at / 24, every_hours=12)
    assert rig.bp.credited() == expected
    assert rig.bp.attempts.count("create_credit") == len(spec)  # never a credit written twice
