"""Nightly MFN reconciliation over 20 000 linked listings (500 of them bundles, 5 warehouses).

Runs the real stack code (wiring from the environment, DynamoDB on moto server, the shared
governor) against both simulators, with Brightpearl's rolling window scaled 1:10 (200 requests per
6 s) so the budget is tested in seconds. Prints, from this one run:
- Brightpearl requests against the lower bound ceil(products / ID-set size) + fixed overhead (goal ≤ 1.1x);
- Amazon calls per operation (goal: one feed for the lot);
- throttled responses from either platform (goal 0);
- the share of the Brightpearl budget used while it was reading (goal ≥ 90 %).
"""

from __future__ import annotations

import math
import os
import random
import time
from datetime import datetime

from local.stack import QUIET, start_stack

N_LISTINGS = 20_000
N_BUNDLES = 500
WAREHOUSES = [1, 2, 3, 4, 5]
MFN_WAREHOUSES = [1, 2, 3]
LIMIT, WINDOW = 200, 6.0


def _seed_brightpearl(rng: random.Random) -> dict:
    plain = N_LISTINGS - N_BUNDLES
    products: list[dict] = [{"id": pid, "sku": f"SKU-{pid:05d}"} for pid in range(1, plain + 1)]
    for pid in range(plain + 1, N_LISTINGS + 1):
        comps = rng.sample(range(1, plain + 1), 2)
        products.append({"id": pid, "sku": f"SKU-{pid:05d}",
                         "bundleComponents": [{"productId": comps[0], "productQuantity": 1},
                                              {"productId": comps[1], "productQuantity": rng.randint(1, 3)}]})
    stock = [{"productId": pid, "warehouseId": wid, "onHand": rng.randint(0, 40)}
             for pid in range(1, plain + 1) for wid in rng.sample(WAREHOUSES, rng.randint(1, 3))]
    return {"warehouses": [{"id": w, "name": f"Warehouse {w}"} for w in WAREHOUSES],
            "products": products, "stock": stock}


def main() -> None:
    os.environ.update(QUIET)  # before the layer is imported: its INFO logs would bury the figures
    from connector import wiring
    from connector.adapters.repositories import GlobalSettings, SettingsRepository
    from connector.config import MfnSyncEnv, load
    from simulators.spapi.demo import UK

    rng = random.Random(42)
    t0 = time.monotonic()
    stack = start_stack(bp_limit=LIMIT, bp_window_seconds=WINDOW, amazon_marketplaces=(UK,), notifications=False)
    bp, amazon = stack.bp, stack.amazon
    bp.seed(_seed_brightpearl(rng))
    amazon.seed({"listings": {f"SKU-{pid:05d}": {"channel": "MFN", "quantity": rng.randint(0, 60),
                                                 "marketplaces": [UK]} for pid in range(1, N_LISTINGS + 1)}})
    SettingsRepository().save_global(GlobalSettings(mfn_warehouses=MFN_WAREHOUSES))
    stack.link((UK, f"SKU-{pid:05d}", pid, "MFN") for pid in range(1, N_LISTINGS + 1))
    print(f"mfn_nightly: {N_LISTINGS} linked listings ({N_BUNDLES} bundles), {len(WAREHOUSES)} warehouses; "
          f"Brightpearl limit {LIMIT} per {WINDOW:.0f}s (60 s scaled 1:10); set up in {time.monotonic() - t0:.0f}s")

    job = wiring.nightly(wiring.Parts(load(MfnSyncEnv)))
    t1 = time.monotonic()
    job.start()
    amazon.clock.advance(120)
    summary = job.poll()["EU"]
    run_seconds = time.monotonic() - t1
    for feed_id in summary["feeds"]:  # Amazon processes the feed; its report confirms each listing
        amazon.clock.advance(120)
        status = job.sync.listings.feed_status(feed_id)
        counts = job.sync.apply_feed_result(feed_id, status.get("resultFeedDocumentId"), status["processingStatus"])
    bp_api = [e for e in bp.requests() if e.path.startswith("/public-api/")]
    bp_ok = [e for e in bp_api if e.status == 200]
    lower = math.ceil(N_LISTINGS / 100) + math.ceil(N_BUNDLES / 200)
    stamps = sorted(datetime.fromisoformat(e.at).timestamp() for e in bp_api)
    span = max(stamps[-1] - stamps[0], 1e-9)
    budget = LIMIT * span / WINDOW
    sp = [e for e in amazon.requests() if not e.path.startswith("/_sim")]
    per_op: dict[str, int] = {}
    for e in sp:
        per_op[e.route] = per_op.get(e.route, 0) + 1
    throttled = sum(1 for e in bp_api if e.status == 503) + sum(1 for e in sp if e.status == 429)
    print(f"  corrected {len(summary['corrected'])} listings, failing {len(summary['failing'])}; "
          f"nightly run {run_seconds:.0f}s")
    print(f"  Brightpearl requests {len(bp_api)} vs lower bound {lower} "
          f"(ceil({N_LISTINGS}/100) availability + ceil({N_BUNDLES}/200) bundle reads): "
          f"{len(bp_api) / lower:.2f}x (goal <= 1.1x)")
    print(f"  Amazon calls: {', '.join(f'{k} {v}' for k, v in sorted(per_op.items()))}; "
          f"feeds {len(summary['feeds'])} (goal 1)")
    print(f"  throttled responses {throttled} (goal 0)")
    print(f"  Brightpearl budget used while reading: {len(bp_ok)} ok in {span:.1f}s = {len(bp_ok) / budget:.1%} "
          f"(goal >= 90%)")
    if summary["feeds"]:
        print(f"  feed result applied: {counts}")
    stack.stop()
