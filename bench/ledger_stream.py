"""Inventory ledger throughput and the cost of applying adjustments.

1. Writes a 1 000 000-row GET_LEDGER_DETAIL_VIEW_DATA document (Amazon's quoting, a realistic mix of
   event types and reason codes, non-ASCII titles) to a temporary file, then streams it through the
   connector's decoding (``text_lines``), parsing and classification (``report_items``) and, in the
   same run on the same file, through bare ``csv.reader``. Prints rows/s for both and their ratio
   (goal ≥ 0.5), and the process's peak memory (goal ≤ 150 MB).
2. Applies 10 000 adjustments with MovementService against the Brightpearl simulator and prints the
   stock-correction requests sent against the batching lower bound ceil(10 000 / corrections per request).
"""

from __future__ import annotations

import csv
import math
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

ROWS = 1_000_000
ADJUSTMENTS = 10_000
HEADER = ["Date", "FNSKU", "ASIN", "MSKU", "Title", "Event Type", "Reference ID", "Quantity", "Fulfillment Center",
          "Disposition", "Reason", "Country", "Reconciled Quantity", "Unreconciled Quantity", "Date and Time"]
TITLES = ["Thé vert « spécial »", "Café crème mug", "Linen shirt", "Bougie parfumée €", "Socks (pair)"]
# (event type, reason, sign, disposition, weight)
MIX = [("Shipments", "", -1, "SELLABLE", 70), ("Receipts", "", 1, "SELLABLE", 8),
       ("CustomerReturns", "", 1, "SELLABLE", 4), ("CustomerReturns", "", 1, "CUSTOMER_DAMAGED", 1),
       ("WhseTransfers", "", -1, "SELLABLE", 5), ("Adjustments", "M", -1, "SELLABLE", 3),
       ("Adjustments", "F", 1, "SELLABLE", 2), ("Adjustments", "E", -1, "SELLABLE", 2),
       ("Adjustments", "P", 1, "WAREHOUSE_DAMAGED", 2), ("Adjustments", "D", -1, "WAREHOUSE_DAMAGED", 1),
       ("Adjustments", "O", -1, "SELLABLE", 1), ("VendorReturns", "", -1, "SELLABLE", 1)]


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def write_ledger(path: Path, rows: int) -> None:
    rng = random.Random(6)
    kinds = [m for m in MIX for _ in range(m[4])]
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write("\t".join(f'"{h}"' for h in HEADER) + "\n")
        for i in range(rows):
            event, reason, sign, disp, _w = kinds[i % len(kinds)]
            sku = f"SKU-{rng.randrange(5000):05d}"
            minute = i // 20
            when = f"2026-07-{1 + minute // 1440 % 28:02d}T{minute // 60 % 24:02d}:{minute % 60:02d}:00-0700"
            cells = [when[5:7] + "/" + when[8:10] + "/2026", f"X00{sku[4:]}", f"B0{sku[4:]}", sku,
                     TITLES[i % len(TITLES)], event, str(10**9 + i), str(sign * (1 + i % 3)), "LTN1", disp, reason,
                     "GB", "", "", when]
            fh.write("\t".join(f'"{c}"' for c in cells) + "\n")


def bench_stream(path: Path) -> None:
    from connector.adapters.amazon.reports import text_lines
    from connector.domain.reports import report_items

    t0 = time.perf_counter()
    with path.open(encoding="utf-8", newline="") as fh:
        bare = sum(1 for _ in csv.reader(fh, delimiter="\t"))
    bare_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    movements = 0
    with path.open("rb") as raw:
        lines = text_lines(raw, compression=None, charset=None)
        for _item in report_items("GET_LEDGER_DETAIL_VIEW_DATA", lines):
            movements += 1
    ours_s = time.perf_counter() - t0

    rows = bare - 1
    print(f"  bare csv.reader:            {rows / bare_s:>12,.0f} rows/s ({bare_s:.2f} s)")
    print(f"  decode+parse+classify:      {rows / ours_s:>12,.0f} rows/s ({ours_s:.2f} s), "
          f"{movements:,} movements / quarantines")
    print(f"  ratio:                      {bare_s / ours_s:>12.2f}x   (goal >= 0.5x)")
    print(f"  peak memory (process RSS):  {_peak_mb():>12.1f} MB  (goal <= 150 MB)")


def bench_apply() -> None:
    from datetime import UTC, datetime

    from connector.adapters.brightpearl.auth import PrivateAppAuth
    from connector.adapters.brightpearl.client import BrightpearlClient
    from connector.adapters.brightpearl.movements import BrightpearlMovements
    from connector.adapters.movement_store import InMemoryMovementStore
    from connector.adapters.repositories import GlobalSettings
    from connector.domain.movements import StockChange
    from connector.usecases.movements import CORRECTIONS_PER_REQUEST, MovementService
    from simulators.brightpearl import BrightpearlSimulator

    class _NoGovernor:  # the shared budget is measured by bench/brightpearl_budget.py
        def acquire(self) -> None:
            pass

    sim = BrightpearlSimulator(account="acme", limit=1_000_000).start()
    try:
        products = 500
        sim.seed({"warehouses": [{"id": 7, "name": "Amazon FBA"}],
                  "products": [{"id": 5000 + p, "sku": f"SKU-{p}"} for p in range(products)],
                  "stock": [{"productId": 5000 + p, "warehouseId": 7, "onHand": 1000} for p in range(products)]})
        client = BrightpearlClient(base_url=sim.url, account="acme", governor=_NoGovernor(),
                                   auth=PrivateAppAuth(app_ref="acme_connector", account_token="account-token"),
                                   low_watermark=-1)
        settings = GlobalSettings.model_validate({"fba_warehouse_id": 7})
        svc = MovementService(InMemoryMovementStore(), BrightpearlMovements(client),
                              lambda sku: 5000 + int(sku.split("-")[1]), lambda: settings,
                              clock=lambda: datetime.now(UTC))
        changes = (StockChange(f"ledger|{i}", "GET_LEDGER_DETAIL_VIEW_DATA", "lost", f"SKU-{i % products}",
                               -1 if i % 2 else -2, "bench") for i in range(ADJUSTMENTS))
        t0 = time.perf_counter()
        svc.ingest(changes)
        took = time.perf_counter() - t0
        posts = len(sim.requests(route="post-stock-correction"))
        total = len(sim.requests())
        bound = math.ceil(ADJUSTMENTS / CORRECTIONS_PER_REQUEST)
        print(f"  {ADJUSTMENTS:,} adjustments applied in {took:.1f} s")
        print(f"  stock-correction requests:  {posts:>6}   lower bound ceil({ADJUSTMENTS}/{CORRECTIONS_PER_REQUEST}) = "
              f"{bound}   ratio {posts / bound:.2f}")
        print(f"  all Brightpearl requests:   {total:>6}   (+ default-location look-up)")
    finally:
        sim.stop()


def main() -> None:
    print(f"ledger_stream: {ROWS:,}-row inventory ledger")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ledger.tsv"
        t0 = time.perf_counter()
        write_ledger(path, ROWS)
        print(f"  (document written: {path.stat().st_size / 1e6:.0f} MB in {time.perf_counter() - t0:.1f} s)")
        bench_stream(path)
    print("ledger_stream: applying adjustments")
    bench_apply()


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "shared"))
    main()
