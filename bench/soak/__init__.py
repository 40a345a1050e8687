"""The fault soak with an oracle: ``python -m bench soak`` (see docs/reliability.md)."""

from __future__ import annotations

import argparse
import os
import sys
import warnings


def main(argv: list[str] | None = None) -> int:
    """``python -m bench soak [--n N] [--seed S] [--fault-rate R] [--plain-skus] [--no-kill] [--movements M]
    [--shipments K]``.

    Defaults from SOAK_N, SOAK_SEED, SOAK_FAULT_RATE (10 000, 1, 0.2), SOAK_MOVEMENTS (N / 5),
    SOAK_SHIPMENTS (N / 400).
    """
    parser = argparse.ArgumentParser(prog="python -m bench soak", description=__doc__)
    parser.add_argument("--n", type=int, default=int(os.environ.get("SOAK_N", "10000")), help="stock changes")
    parser.add_argument("--seed", type=int, default=int(os.environ.get("SOAK_SEED", "1")))
    parser.add_argument("--fault-rate", type=float, default=float(os.environ.get("SOAK_FAULT_RATE", "0.2")))
    parser.add_argument("--plain-skus", action="store_true",
                        help="only URL-safe SKUs (default: SKUs with spaces, / & + # %% and non-ASCII letters too)")
    parser.add_argument("--movements", type=int, default=int(os.environ.get("SOAK_MOVEMENTS", "0")) or None,
                        help="FBA movements in part 2 (default N / 5)")
    parser.add_argument("--shipments", type=int, default=int(os.environ.get("SOAK_SHIPMENTS", "0")) or None,
                        help="FBA inbound shipments in part 3 (default N / 400)")
    parser.add_argument("--no-kill", action="store_true", help="skip the SIGKILL cases")
    args = parser.parse_args(sys.argv[2:] if argv is None else argv)
    from local.stack import QUIET

    os.environ.update(QUIET)  # before the layer is imported: its INFO logs would bury the figures
    warnings.filterwarnings("ignore", "No application metrics to publish")
    from bench.soak.driver import run, run_movements
    from bench.soak.inbound import run_inbound

    def progress(line: str) -> None:
        print(line, flush=True)

    print(f"soak part 1 (MFN): N={args.n} seed={args.seed} fault rate={args.fault_rate:.0%}", flush=True)
    mfn = run(args.n, args.seed, args.fault_rate, kill=not args.no_kill, awkward_skus=not args.plain_skus,
              progress=progress)
    print("\n".join(mfn.lines()), flush=True)
    n_movements = args.movements or max(1, args.n // 5)
    print(f"soak part 2 (FBA movements): N={n_movements} seed={args.seed} fault rate={args.fault_rate:.0%}",
          flush=True)
    fba = run_movements(n_movements, args.seed, args.fault_rate, progress=progress)
    print("\n".join(fba.lines()), flush=True)
    n_shipments = args.shipments or max(1, args.n // 400)
    print(f"soak part 3 (FBA inbound shipments): {n_shipments} shipments seed={args.seed} "
          f"fault rate={args.fault_rate:.0%}", flush=True)
    inbound = run_inbound(n_shipments, args.seed, args.fault_rate, kill=not args.no_kill, progress=progress)
    print("\n".join(inbound.lines()), flush=True)
    return 0 if mfn.ok and fba.ok and inbound.ok else 1
