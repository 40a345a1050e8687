"""FBA reconciliation over 20 000 linked FBA SKUs, then approval of every suggested correction.

Runs the real stack code (wiring from the environment, DynamoDB and SES on moto server, the shared
governor) against both simulators, with Brightpearl's rolling window scaled 1:10 (200 requests per 6 s).
20 000 SKUs are past ``api_max_skus``, so Amazon's quantities come from the MYI inventory report (a
handful of calls) rather than 400 getInventorySummaries pages at 2 per second. Prints, from this one run:
- Brightpearl requests to read the FBA warehouse against the lower bound ceil(SKUs / 100);
- correction requests against ceil(corrections / 100);
- Amazon calls per operation, throttled responses from either platform (goal 0), elapsed time.
"""

from __future__ import annotations

import math
import os
import random
import time

from local.stack import QUIET, start_stack

N_SKUS = 20_000
DRIFT_SHARE = 0.05
FBA, MAIN = 7, 2
LIMIT, WINDOW = 200, 6.0


def main() -> None:
    os.environ.update(QUIET)  # before the layer is imported: its INFO logs would bury the figures
    from connector import wiring
    from connector.adapters.repositories import GlobalSettings, SettingsRepository
    from connector.config import FbaReconciliationEnv, load
    from simulators.spapi.demo import UK

    rng = random.Random(7)
    t0 = time.monotonic()
    stack = start_stack(bp_limit=LIMIT, bp_window_seconds=WINDOW, amazon_marketplaces=(UK,), notifications=False)
    bp, amazon = stack.bp, stack.amazon
    amazon.clock.set_speed(0)  # the report is finished by advancing the clock, not by waiting
    amazon_stock = {pid: rng.randint(0, 60) for pid in range(1, N_SKUS + 1)}
    drifted = set(rng.sample(range(1, N_SKUS + 1), int(N_SKUS * DRIFT_SHARE)))
    bp_stock = {pid: max(0, q + (rng.choice([-3, -1, 1, 2, 4]) if pid in drifted else 0))
                for pid, q in amazon_stock.items()}
    bp.seed({"warehouses": [{"id": MAIN, "name": "Main"}, {"id": FBA, "name": "Amazon FBA"}],
             "products": [{"id": pid, "sku": f"FBA-{pid:05d}"} for pid in range(1, N_SKUS + 1)],
             "stock": [{"productId": pid, "warehouseId": FBA, "onHand": q} for pid, q in bp_stock.items()]})
    amazon.seed({"listings": {f"FBA-{pid:05d}": {"channel": "FBA", "marketplaces": [UK], "fba": {"SELLABLE": q}}
                              for pid, q in amazon_stock.items()}})
    SettingsRepository().save_global(GlobalSettings(fba_warehouse_id=FBA))
    stack.link((UK, f"FBA-{pid:05d}", pid, "FBA") for pid in range(1, N_SKUS + 1))
    expected = sum(1 for pid in drifted if bp_stock[pid] != amazon_stock[pid])
    print(f"fba_reconciliation: {N_SKUS} linked FBA SKUs, {expected} drifted; Brightpearl limit {LIMIT} per "
          f"{WINDOW:.0f}s (60 s scaled 1:10); set up in {time.monotonic() - t0:.0f}s")

    recon = wiring.fba_reconciliation(wiring.Parts(load(FbaReconciliationEnv)))
    t1 = time.monotonic()
    requested = recon.start(trigger="schedule")
    amazon.clock.advance(120)
    out = recon.poll()
    t_read = time.monotonic() - t1
    reads = [e for e in bp.requests() if e.path.startswith("/public-api/")]
    t2 = time.monotonic()
    applied = recon.approve(out["id"])
    t_apply = time.monotonic() - t2
    again = recon.approve(out["id"])
    bp_api = [e for e in bp.requests() if e.path.startswith("/public-api/")]
    posts = [e for e in bp_api if e.route == "post-stock-correction"]
    sp = [e for e in amazon.requests() if not e.path.startswith("/_sim")]
    per_op: dict[str, int] = {}
    for e in sp:
        per_op[e.route] = per_op.get(e.route, 0) + 1
    throttled = sum(1 for e in bp_api if e.status in (429, 503)) + sum(1 for e in sp if e.status == 429)
    matches = sum(1 for pid in range(1, N_SKUS + 1) if bp.on_hand(pid, FBA) == amazon_stock[pid])
    mail = [m for m in stack.emails() if out["id"] in m["subject"]]
    csv_lines = sum(len((c.decode("utf-8") if isinstance(c, bytes) else str(c)).splitlines()) - 1
                    for m in mail for c in m["attachments"].values())
    print(f"  source {out['source']} (requested {list(requested['requested'].values())}); found "
          f"{out['totals'].get('difference', 0)} differences; read + compare + store + email {t_read:.1f}s")
    print(f"  Brightpearl requests to read: {len(reads)} vs lower bound ceil({N_SKUS}/100) = "
          f"{math.ceil(N_SKUS / 100)} ({len(reads) / math.ceil(N_SKUS / 100):.2f}x)")
    n_applied = applied["statuses"].get("applied", 0)
    print(f"  applied {n_applied} corrections in {t_apply:.1f}s with {len(posts)} correction requests vs "
          f"ceil({n_applied}/100) = {math.ceil(n_applied / 100)}; second approval: {again['statuses']}")
    print(f"  Brightpearl total requests {len(bp_api)}; Amazon calls: "
          f"{', '.join(f'{k} {v}' for k, v in sorted(per_op.items()))}")
    print(f"  throttled responses {throttled} (goal 0); SKUs now matching {matches}/{N_SKUS}; email CSV rows "
          f"{csv_lines}; elapsed {time.monotonic() - t0:.0f}s")
    stack.stop()
