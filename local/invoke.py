"""Run one function on one event file, locally and without Docker: ``make invoke FN=… EVENT=…``.

The local stack (moto server and both simulators) is started,
the Amazon simulator seeded with its small demo world, the function's handler runs in this process as
Lambda would run it, and its answer is printed as JSON.
A webhook event gets the local webhook token put into its path.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from local.runtime import function_ids, invoke


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make invoke", description=__doc__)
    parser.add_argument("function", help="logical id in template.yaml, e.g. OperatorFunction")
    parser.add_argument("event", type=Path, help="an event file, e.g. events/operator.json")
    args = parser.parse_args(argv)
    if args.function not in function_ids():
        parser.error(f"FN={args.function!r} is not a function of template.yaml; one of {', '.join(function_ids())}")
    try:
        event: Any = json.loads(args.event.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        parser.error(f"EVENT={args.event}: {exc}")

    from local.stack import start_stack
    from simulators.spapi.demo import DEMO_SEED

    with start_stack() as stack:
        stack.amazon.seed(DEMO_SEED)
        if isinstance(event, dict) and "pathParameters" in event:
            event["pathParameters"]["token"] = stack.webhook_token
        result = invoke(args.function, event)
    print(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
