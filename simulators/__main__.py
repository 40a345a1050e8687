"""Run a simulator standalone: ``python -m simulators brightpearl --port 8081 --seed seed.json``.

Both simulators then answer on 127.0.0.1 until interrupted; arrange and inspect them through their
control API under ``/_sim/`` (see docs/simulators.md). ``python -m simulators conformance`` instead
runs the SP-API simulator's conformance check (both public Python clients, every sandbox example of
the official models) and exits non-zero on an unexpected failure (docs/simulators-spapi.md).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from simulators.core import SimClock, SimulatorServer


def build(kind: str, args: argparse.Namespace) -> SimulatorServer:
    clock = SimClock(speed=args.speed)
    if kind == "brightpearl":
        from simulators.brightpearl import BrightpearlSimulator

        return BrightpearlSimulator(account=args.account, port=args.port, clock=clock,
                                    limit=args.limit, window_seconds=args.window)
    from simulators.spapi import SpApiSimulator

    return SpApiSimulator(seller_id=args.seller_id, port=args.port, clock=clock, rate_scale=args.rate_scale,
                          sqs_queue_url=args.sqs_queue_url, sqs_endpoint_url=args.sqs_endpoint_url,
                          strict_subscriptions=args.strict_subscriptions)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulators", description=__doc__)
    parser.add_argument("kind", choices=["brightpearl", "spapi", "conformance"])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 = any free port)")
    parser.add_argument("--seed", type=Path, help="JSON file with the world to load (see docs/simulators.md)")
    parser.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second")
    parser.add_argument("--account", default="acme", help="Brightpearl account code")
    parser.add_argument("--limit", type=int, default=200, help="Brightpearl requests per window")
    parser.add_argument("--window", type=float, default=60.0, help="Brightpearl window in simulated seconds")
    parser.add_argument("--seller-id", default="A1SELLER", help="Amazon seller id")
    parser.add_argument("--rate-scale", type=float, default=1.0, help="multiply SP-API rate limits")
    parser.add_argument("--sqs-queue-url", help="SP-API notifications destination queue")
    parser.add_argument("--sqs-endpoint-url", help="SQS endpoint (e.g. a moto server)")
    parser.add_argument("--strict-subscriptions", action="store_true",
                        help="SP-API: notify only types with a Notifications API subscription")
    args = parser.parse_args(argv)
    if args.kind == "conformance":
        from simulators import conformance

        return conformance.main()

    sim = build(args.kind, args)
    if args.seed:
        try:
            data: Any = json.loads(args.seed.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            parser.error(f"--seed {args.seed}: {exc}")
        sim.seed(data)
    # The handler goes in before the "listening" line: whoever reads that line may SIGTERM at once.
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    sim.start()
    print(f"{args.kind} simulator listening on {sim.url} (control API: {sim.url}/_sim/state)", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
