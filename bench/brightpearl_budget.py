"""How much of Brightpearl's request budget the connector can use without being throttled.

Several workers (threads standing in for concurrent Lambdas) share one DynamoDB token bucket (moto
server) and call the Brightpearl simulator, whose rolling window is scaled down (200 requests per
6 s instead of per 60 s) so a run takes seconds. Printed: requests sent, throttled responses (goal 0)
and the share of the budget used over the run (goal ≥ 90 %), for the governor and, for contrast,
for the same workers with no shared governor.
"""

from __future__ import annotations

import threading
import time

LIMIT = 200
WINDOW = 6.0
WORKERS = 4
DURATION = 4 * WINDOW


class _NoGovernor:
    def acquire(self) -> None:
        pass


def _run(sim, make_governor, label: str) -> None:
    from connector.adapters.brightpearl.auth import PrivateAppAuth
    from connector.adapters.brightpearl.client import BrightpearlClient

    sim.reset()
    sim.seed({"warehouses": [{"id": 2}], "products": [{"id": 1, "sku": "A"}],
              "stock": [{"productId": 1, "warehouseId": 2, "onHand": 1}]})
    stop_at = time.monotonic() + DURATION
    clients: list[BrightpearlClient] = []

    def worker() -> None:
        client = BrightpearlClient(base_url=sim.url, account="acme", governor=make_governor(),
                                   auth=PrivateAppAuth(app_ref="acme_connector", account_token="account-token"),
                                   low_watermark=-1)  # measure the governor alone, not the header pacing
        clients.append(client)
        while time.monotonic() < stop_at:
            client.get("warehouse-service/product-availability/1")

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    elapsed = time.monotonic() - t0
    api = [e for e in sim.requests() if e.path.startswith("/public-api/")]
    ok = sum(1 for e in api if e.status == 200)
    throttled = sum(1 for e in api if e.status == 503)
    budget = LIMIT * elapsed / WINDOW
    print(f"  {label:<28} requests {len(api):>5}  ok {ok:>5}  throttled 503s {throttled:>4}  "
          f"budget used {ok / budget:6.1%}")


def main() -> None:
    from connector.adapters import store
    from connector.adapters.brightpearl.governor import BucketShape, DynamoGovernor
    from local.aws import start_local_aws
    from simulators.brightpearl import BrightpearlSimulator

    aws = start_local_aws()
    aws.apply_env()
    store.bind()
    sim = BrightpearlSimulator(account="acme", limit=LIMIT, window_seconds=WINDOW).start()
    print(f"brightpearl_budget: {WORKERS} workers for {DURATION:.0f}s, Brightpearl limit {LIMIT} per {WINDOW:.0f}s "
          "(the real 60 s window scaled 1:10)")
    shape = BucketShape.for_limit(LIMIT, WINDOW)
    key = f"bench#{time.time_ns()}"
    _run(sim, lambda: DynamoGovernor(key, shape), "shared DynamoDB governor")
    _run(sim, _NoGovernor, "no governor (503 + retry)")
    sim.stop()
    aws.stop()
