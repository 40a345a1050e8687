"""Returns credited at what Amazon refunded (issue 16 item 3), on the in-memory fakes: the credit's rows
from the refund event, once per refund whatever is read again, waiting for a refund that is not there
yet, the Finances role missing, and today's unit-price credits behind ``credit_amounts``."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from connector.domain.movements import APPLIED, FAILED, PENDING
from connector.domain.refunds import PART_OF_CHARGE, credit_total, parse_refunds, refund_credit_rows
from connector.domain.returns import MFN_RETURNS, CreditError, CustomerReturn, ReturnLine
from connector.domain.settings import GlobalSettings, RefundNominalCodes
from connector.usecases.movements import MovementService
from tests.fakes import FakeClock, FakeCreditsBrightpearl, FakeFinances, InMemoryMovementStore

ORDER, ORDER_ID = "202-1111111-1111111", 1201
TEA, MUG = 1020, 1021
RETURNS_WH = 9
ORDER_ROWS = {"3301": {"productId": TEA, "quantity": {"magnitude": "3.0000"}, "nominalCode": "4000",
                       "itemCost": {"value": "4.00"},
                       "rowValue": {"rowNet": {"value": "30.00"}, "rowTax": {"value": "6.00"}, "taxCode": "T20"}},
              "3302": {"productId": MUG, "quantity": {"magnitude": "1.0000"}, "nominalCode": "4000",
                       "itemCost": {"value": "3.00"},
                       "rowValue": {"rowNet": {"value": "10.00"}, "rowTax": {"value": "2.00"}, "taxCode": "T20"}}}
ORDER_JSON = {"id": ORDER_ID, "orderRows": ORDER_ROWS, "currency": {"orderCurrencyCode": "GBP"}}
LINKS = {"TEA-1": TEA, "MUG/2 é": MUG}


def cents(d: Decimal) -> int:
    return int((d * 100).to_integral_value())


# ---------------------------------------------------------------------------------------------- properties
amounts = st.integers(-50_000, 50_000).map(lambda c: Decimal(c) / 100)
charge_types = st.sampled_from([*PART_OF_CHARGE, "Goodwill", "ReturnShipping", "ExportCharge"])
items = st.fixed_dictionaries({
    "sku": st.sampled_from(sorted(LINKS)), "quantity": st.integers(1, 3),
    "charges": st.dictionaries(charge_types, amounts, max_size=8),
    "fees": st.dictionaries(st.sampled_from(["Commission", "RefundCommission", "FBAPerUnitFulfillmentFee"]),
                            amounts, max_size=3),
    "promotions": st.lists(amounts, max_size=3)})


@settings(max_examples=300, deadline=None)
@given(st.lists(items, min_size=1, max_size=4), st.builds(
    RefundNominalCodes, item=st.none() | st.just("4001"), shipping=st.just("4041"), gift_wrap=st.just("4042"),
    restocking_fee=st.just("4901"), promotion=st.just("4002"), other=st.just("4003")))
def test_credit_rows_hold_every_cent_of_the_refund_once_in_its_part(spec, codes):
    fin = FakeFinances()
    fin.post(ORDER, spec)
    (refund,) = fin.refunds(ORDER)
    rows = refund_credit_rows(ORDER_JSON, refund, LINKS, codes)
    charges = [(t, Decimal(str(float(a)))) for it in spec for t, a in it["charges"].items()]
    promos = [Decimal(str(float(a))) for it in spec for a in it["promotions"]]
    # An event whose principal is positive is read in the buyer's signs: every amount turned round.
    if sum((a for t, a in charges if t == "Principal"), Decimal(0)) > 0:
        charges, promos = [(t, -a) for t, a in charges], [-a for a in promos]
    # The total: what the buyer got back, fees excluded, in cents.
    assert cents(credit_total(rows)) == -cents(sum((a for _t, a in charges), Decimal(0)) + sum(promos, Decimal(0)))
    assert refund.total() == credit_total(rows)
    # Per part: each amount in exactly its row, on its nominal code.
    def part_sum(part: str, side: str) -> int:
        return -cents(sum((a for t, a in charges if PART_OF_CHARGE.get(t, ("other", "net")) == (part, side)),
                          Decimal(0)))
    product_rows = [r for r in rows if r.product_id is not None]
    assert sum(cents(r.net) for r in product_rows) == part_sum("item", "net")
    assert sum(cents(r.tax) for r in product_rows) == part_sum("item", "tax")
    assert {r.product_id for r in product_rows} == {LINKS[it["sku"]] for it in spec}
    assert all(r.nominal_code == (codes.item or "4000") for r in product_rows)
    named = {r.name: r for r in rows if r.product_id is None}
    for part, code in (("shipping", "4041"), ("gift_wrap", "4042"), ("restocking_fee", "4901")):
        row = next((r for r in named.values() if r.nominal_code == code), None)
        net, tax = part_sum(part, "net"), part_sum(part, "tax")
        assert (cents(row.net), cents(row.tax)) == (net, tax) if row else (net, tax) == (0, 0)
    promo = next((r for r in named.values() if r.nominal_code == "4002"), None)
    want = part_sum("promotion", "net") - cents(sum(promos, Decimal(0)))
    assert (cents(promo.net) if promo else 0) == want
    assert all(cents(r.net) or cents(r.tax) for r in named.values())  # no empty rows


def test_refund_in_another_currency_than_the_order_is_refused_naming_both():
    fin = FakeFinances()
    fin.post(ORDER, [{"sku": "TEA-1", "charges": {"Principal": "-10.00"}}], currency="EUR")
    with pytest.raises(CreditError, match=r"EUR.*GBP"):
        refund_credit_rows(ORDER_JSON, fin.refunds(ORDER)[0], LINKS, RefundNominalCodes())


def test_unreadable_amount_is_refused_naming_the_event_and_field():
    event = {"AmazonOrderId": ORDER, "PostedDate": "x", "ShipmentItemAdjustmentList": [
        {"SellerSKU": "TEA-1", "ItemChargeAdjustmentList": [{"ChargeType": "Principal",
                                                             "ChargeAmount": {"CurrencyAmount": "ten"}}]}]}
    with pytest.raises(CreditError, match=r"order 202-1111111-1111111.*ChargeType.*'ten'"):
        parse_refunds([event])


@pytest.mark.parametrize("bad, where", [({"bogus": "4000"}, "refund_nominal_codes.bogus"),
                                        ({"shipping": "ship"}, "refund_nominal_codes.shipping")])
def test_nominal_code_settings_refuse_unknown_keys_and_bad_codes_naming_them(bad, where):
    with pytest.raises(ValidationError, match=where.replace(".", r"\.")):
        GlobalSettings.model_validate({"refund_nominal_codes": bad})
    with pytest.raises(ValidationError, match="credit_amounts"):
        GlobalSettings.model_validate({"credit_amounts": "maybe"})


# ---------------------------------------------------------------------------------------------- the use case
class Rig:
    def __init__(self, **settings_kw):
        self.bp = FakeCreditsBrightpearl()
        self.bp.add_order(ORDER_ID, ORDER, ORDER_ROWS)
        self.fin = FakeFinances()
        self.clock = FakeClock()
        self.settings = GlobalSettings(fba_warehouse_id=7, returns_warehouse_id=RETURNS_WH, **settings_kw)
        self.svc = MovementService(InMemoryMovementStore(), self.bp, LINKS.get, lambda: self.settings,
                                   clock=self.clock, finances=self.fin)

    def mfn_return(self, *lines: tuple[str, int], rma: str = "RMA1") -> CustomerReturn:
        return CustomerReturn(f"mfn-return|{ORDER}|{rma}", MFN_RETURNS, "MFN", ORDER, rma, "2026-07-01",
                              tuple(ReturnLine(s, q, "SELLABLE") for s, q in lines), 2)

    def movement(self, key: str):
        return self.svc.store.get(key)


def test_partial_refund_with_shipping_and_restocking_fee_credits_exactly_what_was_refunded_once():
    rig = Rig(restock_returns=True)
    rig.fin.post(ORDER, [{"sku": "TEA-1", "quantity": 1, "fees": {"Commission": "1.20"},
                          "charges": {"Principal": "-7.50", "Tax": "-1.50", "ShippingCharge": "-2.99",
                                      "ShippingTax": "-0.60", "RestockingFee": "1.00"}}])
    ret = rig.mfn_return(("TEA-1", 1))
    for _ in range(3):  # the report read again, and the hourly retry: one credit, one goods-in
        rig.svc.ingest([ret])
        rig.svc.retry_pending()
    (credit,) = rig.bp.credits.values()
    refund = rig.fin.refunds(ORDER)[0]
    assert credit.external_ref == f"AMZ-RF-{refund.refund_id}"
    assert [(r.product_id, r.quantity, r.net, r.tax, r.nominal_code) for r in credit.rows] == [
        (TEA, 1, Decimal("7.50"), Decimal("1.50"), "4000"),
        (None, 1, Decimal("2.99"), Decimal("0.60"), "4040"),
        (None, 1, Decimal("-1.00"), Decimal("0"), "4900")]
    assert rig.bp.credited() == {credit.external_ref: Decimal("11.59")}
    assert rig.bp.on_hand_of[(RETURNS_WH, TEA)] == 1 and len(rig.bp.goods_ins) == 1
    rec = rig.movement(ret.key)
    assert rec.status == APPLIED and rec.detail["refund_id"] == refund.refund_id
    assert "fee adjustments 1.20 not credited" in rec.reason


def test_return_without_refund_waits_is_reported_after_the_bound_then_credits_when_the_refund_appears():
    rig = Rig(refund_wait_days=3)
    ret = rig.mfn_return(("MUG/2 é", 1))
    rig.svc.ingest([ret])
    rec = rig.movement(ret.key)
    assert rec.status == PENDING and "waiting for refund" in rec.error and not rig.bp.credits
    assert ret.key in rig.svc.store.index()["retry"]
    rig.clock.advance(days=4)
    rig.svc.retry_pending()
    rec = rig.movement(ret.key)
    assert rec.status == FAILED and "waiting for refund" in rec.error and "refund_wait_days=3" in rec.error
    assert not rig.bp.credits
    rig.fin.post(ORDER, [{"sku": "MUG/2 é", "charges": {"Principal": "-10.00", "Tax": "-2.00"}}],
                 posted=rig.clock().isoformat())
    rig.clock.advance(hours=6)  # a return waiting for days asks Amazon every 6 hours
    rig.svc.retry_pending()
    assert rig.movement(ret.key).status == APPLIED
    assert list(rig.bp.credited().values()) == [Decimal("12.00")]


def test_two_returns_of_one_sku_take_one_refund_each_in_order():
    rig = Rig(restock_returns=True)
    first, second = rig.mfn_return(("TEA-1", 1), rma="A"), rig.mfn_return(("TEA-1", 1), rma="B")
    rig.fin.post(ORDER, [{"sku": "TEA-1", "charges": {"Principal": "-10.00"}}], posted="2026-07-01T10:00:00Z")
    rig.svc.ingest([first, second])
    assert rig.movement(first.key).status == APPLIED
    assert rig.movement(second.key).status == PENDING  # its refund is not there yet: never the first one's
    rig.fin.post(ORDER, [{"sku": "TEA-1", "charges": {"Principal": "-8.00"}}], posted="2026-07-02T10:00:00Z")
    rig.clock.advance(hours=1)  # the next hourly run
    rig.svc.retry_pending()
    assert sorted(rig.bp.credited().values()) == [Decimal("8.00"), Decimal("10.00")]
    assert rig.bp.on_hand_of[(RETURNS_WH, TEA)] == 2


def test_one_refund_for_two_returns_of_an_order_is_credited_once_and_each_restocks_its_units():
    rig = Rig(restock_returns=True)
    rig.fin.post(ORDER, [{"sku": "TEA-1", "charges": {"Principal": "-10.00"}},
                         {"sku": "MUG/2 é", "charges": {"Principal": "-10.00"}}])
    rig.svc.ingest([rig.mfn_return(("TEA-1", 1), rma="A"), rig.mfn_return(("MUG/2 é", 1), rma="B")])
    assert list(rig.bp.credited().values()) == [Decimal("20.00")]
    assert rig.bp.on_hand_of[(RETURNS_WH, TEA)] == 1 and rig.bp.on_hand_of[(RETURNS_WH, MUG)] == 1


def test_finances_role_missing_waits_saying_what_to_grant_or_falls_back_to_the_unit_price():
    rig = Rig()
    rig.fin.deny()
    ret = rig.mfn_return(("TEA-1", 1))
    rig.svc.ingest([ret])
    rec = rig.movement(ret.key)
    assert rec.status == FAILED and "Finances role" in rec.error and "refund_fallback=unit_price" in rec.error
    assert not rig.bp.credits
    rig.settings = rig.settings.model_copy(update={"refund_fallback": "unit_price"})
    rig.svc.retry_pending()
    assert rig.movement(ret.key).status == APPLIED
    assert list(rig.bp.credited().values()) == [Decimal("12.00")]  # 1 of 3 units of 30.00 + 6.00
    assert "credited at the original unit price" in rig.movement(ret.key).reason


def test_unit_price_setting_keeps_todays_credit_and_never_calls_finances():
    rig = Rig(credit_amounts="unit_price")
    rig.svc.ingest([rig.mfn_return(("TEA-1", 2))])
    assert list(rig.bp.credited().values()) == [Decimal("24.00")] and rig.fin.calls == 0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(sorted(LINKS)), st.integers(-3000, -1), st.integers(-600, 0)),
                min_size=1, max_size=5), st.integers(1, 4))
def test_random_refunds_each_credit_once_at_their_total_however_often_read(refunds, reads):
    rig = Rig()
    rets = []
    for n, (sku, principal, tax) in enumerate(refunds):
        rig.fin.post(ORDER, [{"sku": sku, "charges": {"Principal": Decimal(principal) / 100,
                                                      "Tax": Decimal(tax) / 100}}],
                     posted=f"2026-07-01T10:{n:02d}:00Z")
        rets.append(rig.mfn_return((sku, 1), rma=f"R{n}"))
    for _ in range(reads):
        rig.svc.ingest(rets)
        rig.svc.retry_pending()
    want = sorted(-(Decimal(p) + Decimal(t)) / 100 for _s, p, t in refunds)
    assert sorted(rig.bp.credited().values()) == want
    assert rig.bp.attempts.count("create_credit") == len(refunds)


def test_refund_without_a_return_is_credited_once_without_restock_and_a_later_return_restocks_against_it():
    rig = Rig(restock_returns=True)
    rig.fin.post(ORDER, [{"sku": "TEA-1", "charges": {"Principal": "-10.00", "Tax": "-2.00"}}],
                 posted="2026-06-30T10:00:00Z")
    rig.svc.retry_pending()
    assert not rig.bp.credits  # read once 48 hours old (Amazon may still be posting that window's events)
    for _ in range(3):  # the hourly schedule: read once, whatever runs follow
        rig.clock.advance(hours=24)
        rig.svc.retry_pending()
    (credit,) = rig.bp.credits.values()
    assert rig.bp.credited() == {credit.external_ref: Decimal("12.00")}
    assert not rig.bp.goods_ins  # nothing came back
    (refund_move,) = [m for m in rig.svc.explain("TEA-1") if m["kind"] == "refund"]
    assert refund_move["status"] == APPLIED and "nothing restocked" in refund_move["why"]
    # The parcel arrives after all: its return shares the refund's credit and restocks its unit once.
    ret = rig.mfn_return(("TEA-1", 1))
    rig.svc.ingest([ret])
    rig.svc.retry_pending()
    assert len(rig.bp.credits) == 1 and rig.bp.on_hand_of[(RETURNS_WH, TEA)] == 1
    assert rig.movement(ret.key).status == APPLIED
    assert rig.bp.attempts.count("create_credit") == 1


def test_refund_scan_is_off_for_unit_price_credits_and_survives_a_missing_role():
    rig = Rig(credit_amounts="unit_price")
    rig.fin.post(ORDER, [{"sku": "TEA-1", "charges": {"Principal": "-10.00"}}], posted="2026-06-30T10:00:00Z")
    rig.svc.retry_pending()
    assert rig.fin.calls == 0 and not rig.bp.credits
    rig = Rig()
    rig.fin.deny()
    rig.svc.retry_pending()  # logged, nothing else: the returns themselves say what to grant
    assert not rig.bp.credits


def test_an_event_written_in_the_buyers_signs_credits_the_same():
    seller, buyer = FakeFinances(), FakeFinances()
    seller.post(ORDER, [{"sku": "TEA-1", "charges": {"Principal": "-10.00", "Tax": "-2.00", "RestockingFee": "1.00"}}])
    buyer.post(ORDER, [{"sku": "TEA-1", "charges": {"Principal": "10.00", "Tax": "2.00", "RestockingFee": "-1.00"}}])
    rows = [refund_credit_rows(ORDER_JSON, f.refunds(ORDER)[0], LINKS, RefundNominalCodes()) for f in (seller, buyer)]
    assert [(r.net, r.tax) for r in rows[0]] == [(r.net, r.tax) for r in rows[1]]
    assert credit_total(rows[0]) == Decimal("11.00")


def test_set_settings_takes_nominal_codes_by_part_and_refuses_an_unknown_part_by_name():
    from connector.usecases.operator import CommandError
    from tests.unit.test_operator import operator

    op, _, _, settings, _ = operator()
    op.run({"command": "set-settings", "global": {"refund_nominal_codes": {"shipping": "4045"},
                                                  "credit_amounts": "refund"}})
    codes = settings.global_settings().refund_nominal_codes
    assert (codes.shipping, codes.restocking_fee, codes.item) == ("4045", "4900", None)  # the rest: defaults
    with pytest.raises(CommandError, match=r"global\.refund_nominal_codes\.postage: Extra inputs"):
        op.run({"command": "set-settings", "global": {"refund_nominal_codes": {"postage": "4045"}}})
    with pytest.raises(CommandError, match=r"global\.refund_wait_days"):
        op.run({"command": "set-settings", "global": {"refund_wait_days": 0}})
    assert settings.global_settings().refund_nominal_codes.shipping == "4045"  # nothing changed


def test_a_refund_read_during_a_dry_run_is_credited_once_dry_run_is_off():
    rig = Rig(dry_run=True)
    rig.fin.post(ORDER, [{"sku": "TEA-1", "charges": {"Principal": "-5.00"}}], posted="2026-06-28T10:00:00Z")
    rig.svc.retry_pending()
    (m,) = [m for m in rig.svc.explain("TEA-1") if m["kind"] == "refund"]
    assert m["status"] == "dry_run" and "would credit" in m["why"] and not rig.bp.credits
    rig.settings = rig.settings.model_copy(update={"dry_run": False})
    rig.svc.retry_pending()
    rig.svc.retry_pending()
    assert list(rig.bp.credited().values()) == [Decimal("5.00")]


def test_waiting_returns_ask_amazon_less_often_the_longer_they_wait():
    rig = Rig(refund_wait_days=14)
    rig.svc.ingest([rig.mfn_return(("TEA-1", 1), rma=f"R{n}") for n in range(20)])
    for _ in range(14 * 24):  # two weeks of hourly runs
        rig.clock.advance(hours=1)
        rig.svc.retry_pending()
    per_return = rig.fin.order_calls / 20  # the returns' own calls (not the refund scan's)
    assert per_return <= 65  # hourly polling would be 337
