"""The Finances adapter against the stricter simulator (small pages, 25-minute NextTokens, Amazon's bare
"Invalid Input"): a window with more pages than the guard is an error, never a part of it; a NextToken that
expires mid-paging reads the list again from the start; a refused window is ``Refused`` naming it."""

from __future__ import annotations

from datetime import timedelta

import pytest

import connector.adapters.amazon.finances as finances_adapter
from connector.domain.errors import Refused, Unavailable
from simulators.clock import SimClock
from simulators.spapi.demo import DEMO_SEED
from simulators.spapi.server import SpApiSimulator
from tests.integration.test_amazon_finances import finances


@pytest.fixture
def sim():
    s = SpApiSimulator(rate_scale=1000, clock=SimClock(speed=0)).start()
    s.seed(DEMO_SEED)
    s.configure(finances_lag={"post_minutes": 0, "visible_minutes": 0, "page_size": 2})
    yield s
    finances(s).amazon.forget_access_token()  # its tokens mean nothing to the next test's simulator
    s.stop()


def seed_refunds(sim: SpApiSimulator, n: int) -> None:
    for i in range(n):
        sim.world.finances.refund(f"205-{i:07d}-1234567", [{"sku": "FBA-TEA", "charges": {"Principal": "-1.00"}}])
    sim.clock.advance(600)


def test_a_window_with_more_pages_than_the_guard_is_unavailable_not_cut_short(sim, monkeypatch):
    monkeypatch.setattr(finances_adapter, "MAX_WINDOW_PAGES", 3)
    start = sim.clock.now() - timedelta(seconds=1)
    seed_refunds(sim, 7)  # 4 pages of 2
    end = sim.clock.now() - timedelta(minutes=3)
    with pytest.raises(Unavailable, match="more than 3 pages"):
        finances(sim).refunds_posted(start, end)
    monkeypatch.setattr(finances_adapter, "MAX_WINDOW_PAGES", 4)
    assert len(finances(sim).refunds_posted(start, end)) == 7  # 4 pages: all of them read


def test_a_next_token_that_expires_mid_paging_reads_the_window_again(sim, monkeypatch):
    start = sim.clock.now() - timedelta(seconds=1)
    seed_refunds(sim, 5)
    end = sim.clock.now() - timedelta(minutes=3)
    adapter = finances(sim)
    real_call, calls = adapter.amazon.call, []

    def slow_call(operation, fn, *args, **kwargs):
        calls.append(kwargs.get("NextToken"))
        if len(calls) == 2:
            sim.clock.advance(26 * 60)  # a throttled run: the token is 26 minutes old when used
        return real_call(operation, fn, *args, **kwargs)

    monkeypatch.setattr(adapter.amazon, "call", slow_call)
    got = adapter.refunds_posted(start, end)
    assert len(got) == 5 and len({r.order_id for r in got}) == 5
    assert calls[2] is None  # started over from the first page


def test_a_window_amazon_refuses_is_refused_naming_it(sim):
    now = sim.clock.now()
    with pytest.raises(Refused, match=r"listFinancialEvents refused \(400\) refunds posted .* to .*Invalid Input"):
        finances(sim).refunds_posted(now - timedelta(hours=1), now)  # PostedBefore later than two minutes ago
