"""Run the benchmarks: ``python -m bench`` (all) or ``python -m bench brightpearl_budget``.

Several benchmarks run one after another each in a fresh process, so none inherits another's moto
state or memory (ledger_stream measures the peak memory of its own process).
"""

from __future__ import annotations

import importlib
import subprocess
import sys

import local  # noqa: F401 - puts the layer (shared/) on sys.path

BENCHMARKS = ["brightpearl_budget", "mfn_nightly", "ledger_stream", "fba_reconciliation", "cold_start"]


def main(argv: list[str]) -> int:
    if argv[:1] == ["soak"]:  # the fault soak (not in the default list: N=10 000 takes a while); its own options
        return int(importlib.import_module("bench.soak").main(argv[1:]))
    names = argv or BENCHMARKS
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    if len(names) == 1:
        importlib.import_module(f"bench.{names[0]}").main()
        return 0
    failed = [n for n in names if subprocess.run([sys.executable, "-m", "bench", n], check=False).returncode]
    if failed:
        print(f"benchmark(s) failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
