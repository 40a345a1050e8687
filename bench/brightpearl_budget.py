"""The shared Brightpearl governor, measured on a simulated clock: what it admits, not how fast this machine is.

Several governors (one per concurrent Lambda) share one DynamoDB token bucket on moto, as in production,
with Brightpearl's documented budget of 200 requests per rolling 60 s. Time is simulated: the governors'
clock reads a shared virtual time, each worker is told when it may send (while the others go on booking),
and every admitted request takes a simulated round trip, so many minutes of Brightpearl time take
seconds. The governor takes its tokens in blocks (``connector.adapters.ratelimit``). Printed:

- the most requests admitted in any rolling 60 s window (goal <= 200: Brightpearl would throttle above);
- the share of the budget used over the run (goal >= 90 %);
- DynamoDB calls per admitted request (what the governor costs);
- separately, the real wall time per ``acquire`` on this machine (overhead, no goal: it depends on load).
"""

from __future__ import annotations

import bisect
import heapq
import time
from typing import Any

from bench import limits
from local.aws_calls import aws_calls

WORKERS = 4
SIM_MINUTES = 5
ROUND_TRIP = 0.25  # simulated seconds one Brightpearl request takes


class _SimTime:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)


def measure(minutes: float = SIM_MINUTES, workers: int = WORKERS) -> dict[str, Any]:
    """Run the governors on a simulated clock (needs moto bound: ``store.bind()``)."""
    from connector.adapters.brightpearl.governor import BucketShape, DynamoGovernor

    sim = _SimTime()
    shape = BucketShape.for_limit(limits.BP_REQUESTS_PER_MINUTE, 60.0)
    key = f"bench#{time.time_ns()}"
    governors = [DynamoGovernor(key, shape, clock=sim.clock, sleep=sim.sleep, max_wait=120) for _ in range(workers)]
    # Events: a worker asks for a token (the governor books then, when it must), is told when it may send
    # (``acquire`` would sleep until then; here the other workers go on meanwhile, as concurrent Lambdas
    # do), sends, and asks again ROUND_TRIP later.
    ready = [(sim.now, w) for w in range(workers)]
    admitted: list[float] = []
    by_worker: list[list[float]] = [[] for _ in range(workers)]
    end = sim.now + minutes * 60
    wall = 0.0
    with aws_calls("dynamodb") as calls:
        while ready:
            at, w = heapq.heappop(ready)
            sim.now = max(sim.now, at)
            if sim.now >= end:
                break
            t0 = time.perf_counter()
            use = governors[w].bucket.take()
            wall += time.perf_counter() - t0
            admitted.append(use)
            by_worker[w].append(use)
            heapq.heappush(ready, (use + ROUND_TRIP, w))
    # Each worker's requests over the run, and over its second half (the slow start's head start of one
    # block, which the first worker to book keeps, weighs less the longer the run).
    shares = [g.stats["acquired"] for g in governors]
    half = (admitted[0] + end) / 2 if admitted else end
    late = [sum(1 for t in uses if t >= half) for uses in by_worker]
    stats = {k: sum(g.stats[k] for g in governors) for k in ("reads", "writes", "conflicts", "bookings", "expired")}
    admitted.sort()
    start = admitted[0]
    peak = max(bisect.bisect_left(admitted, t + 60) - i for i, t in enumerate(admitted))
    span = end - start
    budget = limits.BP_REQUESTS_PER_MINUTE * span / 60  # the rolling window's steady rate over the run
    return {"admitted": len(admitted), "peak_window": peak, "budget_used": len(admitted) / budget,
            "ddb_per_request": calls.total() / len(admitted), "wall_ms_per_acquire": 1000 * wall / len(admitted),
            "minutes": span / 60, "fairness": min(shares) / max(shares), "shares": shares,
            "fairness_late": min(late) / max(late), "calls": dict(calls),
            **stats}


def rows(minutes: float = SIM_MINUTES) -> list:
    from bench.measure import Row
    from connector.adapters import store
    from local.aws import start_local_aws

    aws = start_local_aws()
    aws.apply_env()
    store.bind()
    try:
        m = measure(minutes)
        alone = measure(minutes / 2, workers=1)  # one Lambda on its own: the usual case of a long job
    finally:
        aws.stop()
    size = f"{WORKERS} workers"
    job = "brightpearl_budget"
    return [Row(job, size, "most admitted in a rolling 60 s", m["peak_window"], limits.BP_REQUESTS_PER_MINUTE,
                note=f"{m['admitted']} admitted over {m['minutes']:.1f} simulated min"),
            Row(job, size, "share of the budget used", m["budget_used"], 0.9, "%", higher=True,
                note="200 per rolling minute: https://www.brightpearl.com/developer/latest/concept/index.html"),
            Row(job, size, "DynamoDB calls per admitted request", m["ddb_per_request"], 0.1,
                note=f"{_calls(m)}; {m['bookings']:.0f} bookings, {m['conflicts']:.0f} refused, "
                     f"{m['expired']:.0f} tokens expired"),
            Row(job, size, "smallest worker's share / largest", m["fairness"], 0.8, "%", higher=True,
                note="requests admitted per worker: " + ", ".join(f"{n:.0f}" for n in m["shares"])
                     + f"; {100 * m['fairness_late']:.1f} % over the run's second half"),
            Row(job, "1 worker", "DynamoDB calls per admitted request", alone["ddb_per_request"], 0.1,
                note=f"{_calls(alone)}: one process alone books blocks of up to 64 tokens, one UpdateItem each"),
            Row(job, size, "wall ms per acquire (this machine)", m["wall_ms_per_acquire"],
                note="overhead only: moto round trips on a shared machine")]


def _calls(m: dict[str, Any]) -> str:
    return ", ".join(f"{op} {n}" for op, n in sorted(m["calls"].items()))


def main() -> None:
    import os

    from bench.measure import print_table

    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    print_table(rows())
