"""Inventory ledger: parsing throughput on a GZIP document as Amazon serves it, and the cost of ingesting one.

1. ``stream``: a GET_LEDGER_DETAIL_VIEW_DATA document (Amazon's quoting, a realistic mix of event types and
   reason codes, non-ASCII titles, SKUs with awkward characters), GZIP-compressed as getReportDocument
   serves it, decoded, parsed and classified by the connector (``text_lines`` + ``report_items``) and, in the
   same container on the same file, by bare ``gzip`` + ``csv.reader``. Ratio goal >= 0.5; the container's
   peak RSS must not grow with the rows.
2. ``ingest``: a smaller document through the real MovementService (DynamoDB movement store on moto, the
   Brightpearl simulator), then the same document again, as the 3-day overlap re-reads it: DynamoDB calls
   per movement and per re-read row (goal <= 0.1 each), Brightpearl requests.
"""

from __future__ import annotations

import csv
import gzip
import random
import sys
import time
from pathlib import Path
from typing import Any

ROWS = 1_000_000
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


def write_ledger(path: Path, rows: int, skus: int = 5000) -> None:
    """A GZIP ledger document; SKUs from ``bench.jobs.sku`` (spaces, /, &, +, non-ASCII)."""
    from bench.jobs import sku as make_sku

    rng = random.Random(6)
    kinds = [m for m in MIX for _ in range(m[4])]
    with gzip.open(path, "wt", encoding="utf-8", newline="", compresslevel=6) as fh:
        fh.write("\t".join(f'"{h}"' for h in HEADER) + "\n")
        for i in range(rows):
            event, reason, sign, disp, _w = kinds[i % len(kinds)]
            n = rng.randrange(skus)
            sku = make_sku("FBA", n).replace('"', "")
            minute = i // 20
            when = f"2026-07-{1 + minute // 1440 % 28:02d}T{minute // 60 % 24:02d}:{minute % 60:02d}:00-0700"
            cells = [when[5:7] + "/" + when[8:10] + "/2026", f"X00{n:07d}", f"B0{n:08d}", sku,
                     TITLES[i % len(TITLES)], event, str(10**9 + i), str(sign * (1 + i % 3)), "LTN1", disp, reason,
                     "GB", "", "", when]
            fh.write("\t".join(f'"{c}"' for c in cells) + "\n")


def stream(path: str) -> dict[str, Any]:
    """(In a container) bare gzip + csv.reader, then the connector's decode + parse + classify."""
    from connector.adapters.amazon.reports import text_lines
    from connector.domain.reports import report_items

    t0 = time.process_time()
    with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
        bare = sum(1 for _ in csv.reader(fh, delimiter="\t"))
    bare_s = time.process_time() - t0
    t0 = time.process_time()
    items = 0
    with open(path, "rb") as raw:
        for _item in report_items("GET_LEDGER_DETAIL_VIEW_DATA", text_lines(raw, compression="GZIP", charset=None)):
            items += 1
    ours_s = time.process_time() - t0
    return {"rows": bare - 1, "bare_s": bare_s, "ours_s": ours_s, "items": items}


def parse(path: str) -> dict[str, Any]:
    """(In a container) what re-reading the document costs a continuing invocation: download aside, every
    row decoded, parsed and classified, none looked up (``MovementService.ingest``'s ``skip``)."""
    from connector.adapters.amazon.reports import text_lines
    from connector.domain.reports import report_items

    t0 = time.process_time()
    with open(path, "rb") as raw:
        items = sum(1 for _ in report_items("GET_LEDGER_DETAIL_VIEW_DATA", text_lines(raw, compression="GZIP",
                                                                                      charset=None)))
    return {"items": items, "cpu_s": time.process_time() - t0}


def ingest(path: str) -> dict[str, Any]:
    """(In a container) the document through the MovementService the stack wires (DynamoDB store)."""
    from connector import wiring
    from connector.adapters.amazon.reports import text_lines
    from connector.config import MovementsEnv, load
    from connector.domain.reports import report_items

    svc = wiring.movement_service(wiring.Parts(load(MovementsEnv)))
    with open(path, "rb") as raw:
        summary = svc.ingest(report_items("GET_LEDGER_DETAIL_VIEW_DATA", text_lines(raw, compression="GZIP",
                                                                                   charset=None)),
                             report_id="bench-ledger")
    return {"rows": summary.rows, "summary": str(summary)[:2000]}


def run_stream(rows: int) -> list[Any]:
    import tempfile

    from bench.limits import HEADROOM, lambda_limits
    from bench.measure import Row, in_container

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ledger.tsv.gz"
        write_ledger(path, rows)
        run = in_container([{"call": "bench.ledger_stream:stream", "kwargs": {"path": str(path)}}])
        size_mb = path.stat().st_size / 1e6
    r = run.results[0]
    lim = lambda_limits("NotificationsFunction")
    size = f"{rows:,} rows"
    return [Row("ledger parse (GZIP)", size, "rows/s against bare gzip+csv.reader", r["bare_s"] / r["ours_s"], 0.5, "x",
                higher=True, note=f"{r['rows'] / r['ours_s']:,.0f} rows/s vs {r['rows'] / r['bare_s']:,.0f}; "
                                  f"{size_mb:.0f} MB GZIP; {r['items']:,} items"),
            Row("ledger parse (GZIP)", size, "peak RSS / configured memory", run.peak_rss_mb / lim.memory_mb,
                1 - HEADROOM, "%", note=f"{run.peak_rss_mb:.0f} MB ({run.baseline_rss_mb:.0f} at container start)")]


def run_ingest(rows: int) -> Any:
    """The ingest job at ``rows`` rows (links for every SKU, an FBA warehouse): returns its JobCost, with the
    re-read of the same document as extra rows."""
    import tempfile

    from bench import limits
    from bench.jobs import bench_stack, sku
    from bench.measure import JobCost, Row
    from connector.adapters.repositories import GlobalSettings, SettingsRepository
    from simulators.spapi.demo import UK

    skus = max(50, rows // 20)
    with tempfile.TemporaryDirectory() as tmp, bench_stack((UK,)) as b:
        path = Path(tmp) / "ledger.tsv.gz"
        write_ledger(path, rows, skus=skus)
        pids = {i: 5000 + 3 * i for i in range(skus)}
        b.stack.bp.seed({"warehouses": [{"id": 7, "name": "Amazon FBA"}],
                         "products": [{"id": pid, "sku": sku("FBA", i)} for i, pid in pids.items()],
                         "stock": [{"productId": pid, "warehouseId": 7, "onHand": 100_000} for pid in pids.values()]})
        SettingsRepository().save_global(GlobalSettings(fba_warehouse_id=7))
        b.stack.link((UK, sku("FBA", i), pid, "FBA") for i, pid in pids.items())
        step = {"call": "bench.ledger_stream:ingest", "kwargs": {"path": str(path)}}
        first = b.phase("NotificationsFunction", [step])
        again = b.phase("NotificationsFunction", [step])  # the next run's 3-day overlap re-reads it
        movements = len([e for e in b.stack.bp.requests() if e.route == "post-stock-correction"])
        n_movements = int(first.run.results[0]["rows"])  # movements and quarantined rows the report held
        # A report longer than one invocation's budget stops at a chunk's end and the next invocation goes on
        # from there, reading the document again from its start (ReportJobs, APPLY_BUDGET_S): counted so.
        from bench.measure import Continuation, in_container
        from connector.usecases.movements import INGEST_CHUNK
        from connector.usecases.report_jobs import APPLY_BUDGET_S

        reread = in_container([{"call": "bench.ledger_stream:parse", "kwargs": {"path": str(path)}}]).results[0]
        first.continues = Continuation(APPLY_BUDGET_S, n_movements, reread["cpu_s"] / max(1, reread["items"]),
                                       INGEST_CHUNK)
        size = f"{rows:,} rows"
        cost = JobCost("ledger ingest", rows, n_movements, "movement", [first], 0, 0, extra=[
            Row("ledger ingest", size, "DynamoDB calls per re-read movement",
                again.run.dynamodb_calls / max(1, n_movements), limits.DDB_PER_ITEM_GOAL, scales="ratio",
                note=f"{again.run.dynamodb_calls} calls re-reading {n_movements} movements: "
                + ", ".join(f"{k} {v}" for k, v in again.run.dynamodb_by_operation().items())),
            Row("ledger ingest", size, "Brightpearl requests on re-read", sum(again.bp.values()), 0),
            Row("ledger ingest", size, "stock-correction requests (no documented cap)", movements),
            _largest_bookkeeping_item(size)])
        return cost


def _largest_bookkeeping_item(size: str) -> Any:
    """The movements' bookkeeping items in ReportJobs (quarantine log ``index#movements``, ``claims#<sku>``,
    ``state#…``) against DynamoDB's 400 KB item limit; the retry index is a sparse GSI, not an item."""
    import json

    from bench import limits
    from bench.measure import Row
    from connector.adapters.store import ReportJob

    sizes = {job.job_id: len(job.job_id) + len(json.dumps(job.detail or {}, ensure_ascii=False).encode())
             for job in ReportJob.scan() if job.job_id.startswith(("index#", "claims#", "state#"))}
    key, biggest = max(sizes.items(), key=lambda kv: kv[1], default=("none", 0))
    return Row("ledger ingest", size, "largest bookkeeping item / 400 KB", biggest / limits.DYNAMODB_ITEM_BYTES,
               1 - limits.HEADROOM, "%", scales="ratio",
               note=f"{biggest:,} bytes ({key}; {len(sizes)} items); quarantine log capped at 500 rows")


def main() -> None:
    from bench.measure import print_table

    rows = run_stream(ROWS)
    rows += run_ingest(2_000).rows()
    print_table(rows)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "shared"))
    main()
