"""The Finances adapter against the SP-API simulator: every page of an order's refund events parsed into
domain refunds, and a missing Finances role raised as the port's ``Forbidden``, naming the role."""

from __future__ import annotations

from decimal import Decimal

import pytest

from connector.adapters.amazon.client import AmazonClients, LwaCredentials
from connector.adapters.amazon.finances import AmazonFinances
from connector.domain.errors import Forbidden
from simulators.spapi import SpApiSimulator
from simulators.spapi.demo import CLIENT_ID, CLIENT_SECRET, DEMO_SEED, REFRESH_TOKEN, UK

ORDER = "205-7654321-1234567"


@pytest.fixture
def sim():
    s = SpApiSimulator(rate_scale=1000).start()
    s.seed(DEMO_SEED)
    s.configure(finances_lag={"post_minutes": 0, "visible_minutes": 0})  # the lag: test_finances_lag.py
    yield s
    s.stop()


def finances(sim: SpApiSimulator) -> AmazonFinances:
    return AmazonFinances(AmazonClients(LwaCredentials(REFRESH_TOKEN, CLIENT_ID, CLIENT_SECRET), marketplace_id=UK,
                                        endpoint=sim.url, lwa_url=f"{sim.url}/auth/o2/token"))


def test_every_page_of_an_orders_refunds_is_read_and_parsed(sim):
    for n in range(130):  # more than one page of 100
        sim.world.finances.refund(ORDER, [{"sku": "FBA-TEA", "quantity": 1, "charges": {
            "Principal": f"-{n}.10", "Tax": "-0.02", "ShippingCharge": "-1.00"}, "fees": {"Commission": "0.30"}}])
    sim.world.finances.refund("205-0000000-0000001", [{"sku": "FBA-CUP", "charges": {"Principal": "-1.00"}}])
    got = finances(sim).refunds(ORDER)
    assert len(got) == 130 and len({r.refund_id for r in got}) == 130
    assert sum(r.total() for r in got) == sum(Decimal(f"{n}.10") + Decimal("1.02") for n in range(130))
    assert {r.currency for r in got} == {"GBP"} and all(r.fees() == Decimal("0.30") for r in got)
    assert len(sim.requests(route="listFinancialEventsByOrderId")) == 2  # 100 + 30: one call per page


def test_a_missing_finances_role_is_forbidden_naming_it(sim):
    sim.world.finances.authorised = False
    with pytest.raises(Forbidden, match="Finances role"):
        finances(sim).refunds(ORDER)


def test_refunds_posted_in_a_window_are_read_across_pages(sim):
    from datetime import timedelta

    start = sim.clock.now()
    for n in range(105):
        sim.world.finances.refund(f"205-{n:07d}-1234567", [{"sku": "FBA-TEA", "charges": {"Principal": "-1.00"}}])
    sim.clock.advance(600)
    got = finances(sim).refunds_posted(start - timedelta(seconds=1), sim.clock.now() - timedelta(minutes=3))
    assert len(got) == 105 and len({r.order_id for r in got}) == 105
