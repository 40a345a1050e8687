"""Run the benchmarks: ``python -m bench`` (all) or ``python -m bench brightpearl_budget``."""

from __future__ import annotations

import importlib
import sys

import local  # noqa: F401 - puts the layer (shared/) on sys.path

BENCHMARKS = ["brightpearl_budget", "mfn_nightly", "ledger_stream", "fba_reconciliation"]


def main(argv: list[str]) -> int:
    names = argv or BENCHMARKS
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    for name in names:
        importlib.import_module(f"bench.{name}").main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
