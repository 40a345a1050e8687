"""simulators/core.py: a frozen clock that still lets waits elapse (tick, auto_advance), and a journal
that names every fault that fired."""

from __future__ import annotations

import contextlib
import time

import pytest
import requests

from connector.adapters.brightpearl.auth import PrivateAppAuth
from connector.adapters.brightpearl.client import BrightpearlClient, BrightpearlThrottled
from simulators.brightpearl import BrightpearlSimulator
from simulators.core import SimClock
from tests.brightpearl import NoGovernor as _NoGovernor


def client(sim: BrightpearlSimulator, low_watermark: int = 0) -> BrightpearlClient:
    # The production client, sleeping with the real time.sleep for whatever the simulator announces.
    return BrightpearlClient(base_url=sim.url, account="acme", governor=_NoGovernor(),
                             auth=PrivateAppAuth(app_ref="acme_connector", account_token="account-token"),
                             low_watermark=low_watermark, max_wait=45.0)


def seeded(clock: SimClock, limit: int = 3) -> BrightpearlSimulator:
    sim = BrightpearlSimulator(account="acme", limit=limit, window_seconds=60.0, clock=clock).start()
    sim.seed({"warehouses": [{"id": 7, "name": "Amazon FBA"}]})
    return sim


def test_auto_advance_lets_brightpearl_throttle_waits_elapse_on_a_frozen_clock():
    clock = SimClock(speed=0, auto_advance=True)
    sim = seeded(clock)
    try:
        bp = client(sim)
        t0 = time.monotonic()
        for _ in range(10):  # 3 requests per simulated minute: 10 need three window roll-overs
            bp.get("warehouse-service/warehouse/7")
        assert time.monotonic() - t0 < 5  # no real minute was slept
        assert clock.advanced_for_waits >= 3 * 59
        assert len([e for e in sim.requests() if e.status == 200]) == 10
    finally:
        sim.stop()


def test_a_frozen_clock_without_auto_advance_still_throttles_as_before():
    sim = seeded(SimClock(speed=0))
    try:
        bp = client(sim, low_watermark=-1)  # no pacing sleep: the 503's wait alone is past max_wait
        with pytest.raises(BrightpearlThrottled):
            for _ in range(10):
                bp.get("warehouse-service/warehouse/7")
    finally:
        sim.stop()


def test_tick_moves_time_per_request_and_is_set_through_the_control_api():
    clock = SimClock(speed=0)
    sim = seeded(clock, limit=1000)
    try:
        start = clock.seconds()
        out = requests.post(sim.url + "/_sim/clock", json={"tick": 30}, timeout=5).json()
        assert out["tick"] == 30 and out["speed"] == 0
        bp = client(sim)
        for _ in range(4):
            bp.get("warehouse-service/warehouse/7")
        assert clock.seconds() - start == pytest.approx(4 * 30)
        bad = requests.post(sim.url + "/_sim/clock", json={"tik": 1}, timeout=5)
        assert bad.status_code == 400 and "tik" in bad.text
        assert requests.get(sim.url + "/_sim/clock", timeout=5).json()["tick"] == 30
    finally:
        sim.stop()


@pytest.mark.parametrize("kind", ["latency", "status", "timeout", "reset"])
def test_every_fault_that_fires_is_journaled_with_its_kind(kind):
    sim = seeded(SimClock(speed=0), limit=1000)
    try:
        fault = sim.add_fault({"match": "warehouse-service", "kind": kind, "status": 500, "seconds": 0.05,
                               "count": 1})
        with contextlib.suppress(requests.RequestException):  # timeout / reset drop the connection
            requests.get(sim.url + "/public-api/acme/warehouse-service/warehouse/7", timeout=2,
                         headers={"brightpearl-app-ref": "acme_connector",
                                  "brightpearl-account-token": "account-token"})
        (entry,) = sim.requests()
        assert entry.fault == kind and entry.fault_id == fault.id
        if kind in ("latency", "timeout"):
            assert entry.seconds == 0.05
        if kind == "latency":
            assert entry.status == 200  # delayed, then answered normally
    finally:
        sim.stop()
