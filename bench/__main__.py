"""Run the benchmarks and print one table, each figure beside its goal with PASS/FAIL.

    python -m bench                 # everything (make bench)
    python -m bench --quick         # smaller measured sizes, fewer cold-start samples
    python -m bench mfn_nightly     # one bench (names below)
    python -m bench --jobs 1        # one bench at a time (default 2 side by side; cold_start always alone)
    python -m bench soak ...        # the fault soak (bench/soak), its own options

Each bench runs in a fresh process of its own (no moto state or memory carried from one to the next) and
hands its rows back as JSON; the jobs inside run their functions in containers of their own
(``bench.measure``).
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import local  # noqa: F401 - puts the layer (shared/) on sys.path
from bench.measure import Row, print_table

TAG = "BENCH-ROWS "
CPU_TAG = "BENCH-CPU "  # the bench process's CPU seconds, its threads (moto, simulators) and its containers


def _scale(name: str, fn: str) -> Callable[[bool], list[Row]]:
    def run(quick: bool) -> list[Row]:
        from bench import jobs
        from bench.scale import scale_rows

        return scale_rows(name, getattr(jobs, fn), quick)
    return run


def _ledger_ingest(quick: bool) -> list[Row]:
    from bench.ledger_stream import run_ingest
    from bench.scale import LEDGER_SIZES, scale_rows

    return scale_rows("ledger_ingest", run_ingest, quick, LEDGER_SIZES, "rows")


def _inbound(quick: bool) -> list[Row]:
    from bench.jobs import inbound_receipt
    from bench.scale import SHIPMENT_SIZES, scale_rows

    return scale_rows("inbound_receipt", inbound_receipt, quick, SHIPMENT_SIZES, "shipments")


def _ledger_stream(quick: bool) -> list[Row]:
    from bench.ledger_stream import run_stream

    return run_stream(100_000 if quick else 1_000_000)


def _storm(quick: bool) -> list[Row]:
    from bench.jobs import webhook_storm

    return webhook_storm(100 if quick else 1_000).rows()


def _budget(quick: bool) -> list[Row]:
    from bench.brightpearl_budget import rows

    return rows(2 if quick else 5)


def _cold(quick: bool) -> list[Row]:
    from bench.cold_start import rows

    return rows(3 if quick else 9)


# CPU seconds of each bench in a full run (2026-12-01, `make bench`'s run-time line): the side-by-side benches
# start longest first, so the two queues end together (the table keeps the order of BENCHES).
CPU_S = {"mfn_nightly": 85, "webhook_storm": 50, "sync_on": 40, "inbound_receipt": 31, "import_links": 26,
         "fba_reconciliation": 24, "ledger_ingest": 19, "ledger_stream": 14, "brightpearl_budget": 4}

BENCHES: dict[str, Callable[[bool], list[Row]]] = {
    "brightpearl_budget": _budget, "cold_start": _cold, "ledger_stream": _ledger_stream,
    "webhook_storm": _storm, "mfn_nightly": _scale("mfn_nightly", "mfn_nightly"),
    "sync_on": _scale("sync_on", "sync_on"), "fba_reconciliation": _scale("fba_reconciliation", "fba_reconciliation"),
    "import_links": _scale("import_links", "import_links"), "ledger_ingest": _ledger_ingest,
    "inbound_receipt": _inbound,
}


def _one(name: str, quick: bool) -> int:
    from local.stack import QUIET

    os.environ.update(QUIET)
    rows = BENCHES[name](quick)
    print(TAG + json.dumps([r.__dict__ for r in rows]))
    print(CPU_TAG + json.dumps(_cpu_seconds()))
    return 0


def _cpu_seconds() -> float:
    """This process's CPU (user + system: moto and the simulators serve from its threads) and that of the
    containers it waited for. CPU, unlike wall time, hardly depends on what else the machine runs, so the
    run-time line can say what the benches would take on idle cores."""
    import resource

    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return round(own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime, 1)


def main(argv: list[str]) -> int:
    if argv[:1] == ["soak"]:  # the fault soak (not in the default list: N=10 000 takes a while); its own options
        return int(importlib.import_module("bench.soak").main(argv[1:]))
    quick = "--quick" in argv
    if "--one" in argv:
        return _one(argv[argv.index("--one") + 1], quick)
    jobs = int(argv[argv.index("--jobs") + 1]) if "--jobs" in argv else 2
    values = {argv.index("--jobs") + 1} if "--jobs" in argv else set()
    names = [a for i, a in enumerate(argv) if not a.startswith("--") and i not in values] or list(BENCHES)
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(BENCHES)}", file=sys.stderr)
        return 2
    rows: list[Row] = []
    failed = []
    t0 = time.monotonic()

    def run(name: str) -> tuple[str, subprocess.CompletedProcess[str], float]:
        t1 = time.monotonic()
        cmd = [sys.executable, "-m", "bench", "--one", name] + (["--quick"] if quick else [])
        return name, subprocess.run(cmd, capture_output=True, text=True, check=False), time.monotonic() - t1

    # Benches run side by side (``--jobs``, 2 for the 2-core machine): each figure is the bench's own
    # containers' CPU and peak RSS, which a neighbour does not change; the cold-start bench, whose ratios a
    # neighbour would disturb, runs alone after the others.
    alone = [n for n in names if n == "cold_start"]
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        done = list(pool.map(run, sorted((n for n in names if n not in alone), key=lambda n: -CPU_S.get(n, 0))))
    done += [run(n) for n in alone]
    by_name = {name: (proc, secs) for name, proc, secs in done}
    cpu: dict[str, float] = {}
    for name in names:
        proc, secs = by_name[name]
        got = [ln for ln in proc.stdout.splitlines() if ln.startswith(TAG)]
        if proc.returncode or not got:
            failed.append(name)
            print(f"{name}: failed (exit {proc.returncode})\n{proc.stderr[-3000:]}", file=sys.stderr)
            continue
        rows += [Row(**r) for r in json.loads(got[-1][len(TAG):])]
        cpu[name] = sum(float(ln[len(CPU_TAG):]) for ln in proc.stdout.splitlines() if ln.startswith(CPU_TAG))
        print(f"  ({name}: {secs:.0f} s wall, {cpu.get(name, 0):.0f} s CPU)", file=sys.stderr)
    wall = time.monotonic() - t0
    print(f"bench{' --quick' if quick else ''}: {len(names)} benchmark(s) in {wall:.0f} s wall, "
          f"{sum(cpu.values()):.0f} s CPU ({_load()}). "
          "Goals from issue 14; lower bounds from the platforms' documented limits (bench/limits.py). "
          "'extrap.' = linear from the two measured sizes above it.")
    print_table(rows)
    if failed:
        print(f"benchmark(s) that did not run: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


def _load() -> str:
    try:
        return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    except OSError:
        return f"{os.cpu_count()} cores"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
