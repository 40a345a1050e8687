"""SP-API simulator conformance run: ``python -m simulators conformance``.

Three checks against a fresh, seeded :class:`~simulators.spapi.SpApiSimulator`:

1. every operation the simulator routes (its route names are the models' operationIds) is driven
   with **Amazon's own SDK** (``amzn-sp-api``, package ``spapi``: ``SPAPIConfig`` + ``SPAPIClient``
   with the simulator as ``endpoint`` and ``oauth_endpoint``) and with **python-amazon-sp-api** used
   plainly (its API classes, an ``AccessTokenClient`` subclass pointing at the simulator's LWA and a
   marketplace object carrying the simulator's endpoint);
2. every ``x-amzn-api-sandbox`` example (static and dynamic) of those operations in the official
   models (``tests/contracts/sp-api/``) is replayed over HTTP and the answer is validated: the status
   the example declares, and the body against that status's response schema (no undeclared fields);
3. a table: operations working per client (n of N), examples schema-valid (n of M), every failure
   with its reason. The run fails (exit 1) on any failure that is not in :data:`KNOWN_GAPS`; a known
   gap that no longer fails is printed as stale, to be removed from the list.

How sandbox examples are replayed (they were written for Amazon's sandbox, not for a world): for a
2xx example, identifiers the sandbox made up (report, feed, document, plan, shipment, destination
and subscription ids, the seller id and SKU) and marketplaces outside the simulator's region are
replaced by live ones, and placeholder paging tokens are dropped; a required parameter the example
leaves out is filled from the live world. A 4xx example is replayed with its own values, so its bad
input stays bad; what it leaves out is filled from the live world the same way (so only its bad value
is bad), except that one naming no parameter at all gets placeholder ids.

The models, results and seeded world are in ``conformance_base.py``, the client drivers in
``conformance_clients.py`` and the replay in ``conformance_replay.py``.
"""

from __future__ import annotations

import re
import sys
import time

from simulators.conformance_base import (
    CLIENTS,
    INBOUND,
    KNOWN_GAPS,
    LISTINGS,
    NOT_REPLAYABLE,
    ModelOp,
    Report,
    Result,
    load_models,
    new_simulator,
    prepare,
    validate,
)
from simulators.conformance_clients import drive_clients, implemented_operations
from simulators.conformance_replay import replay_examples
from simulators.spapi import SpApiSimulator

__all__ = ["CLIENTS", "INBOUND", "KNOWN_GAPS", "LISTINGS", "NOT_REPLAYABLE", "ModelOp", "Report", "Result",
           "load_models", "main", "new_simulator", "prepare", "run", "validate"]


# ====================================================================== the run
def _route_problem(sim: SpApiSimulator, name: str, models: dict[str, ModelOp]) -> str:
    """Why the route called ``name`` is not the model operation of that operationId ('' when it is)."""
    op = models.get(name)
    if op is None:
        return "route name is not an operationId of any model"
    sample = re.sub(r"\{[^}]+\}", "X1", op.path)
    routes = [r for r in sim._routes if r.name == name]
    if not any(r.method == op.method and r.pattern.match(sample) for r in routes):
        return f"route does not serve {op.method} {op.path} (the model's {op.model})"
    return ""



def run(sim: SpApiSimulator | None = None) -> Report:
    owned = sim is None
    sim = sim or new_simulator()
    try:
        models = load_models()
        operations = implemented_operations(sim)
        report = Report(operations)
        for op in operations:
            problem = _route_problem(sim, op, models)
            if problem:
                report.results.append(Result("op", "model", op, False, problem))
        operations = [op for op in operations if not _route_problem(sim, op, models)]
        report.results += drive_clients(sim, operations)
        examples, report.skipped = replay_examples(sim, operations, models)
        report.results += examples
        return report
    finally:
        if owned:
            sim.stop()


def main(argv: list[str] | None = None) -> int:
    started = time.monotonic()
    report = run()
    print(report.table())
    print(f"({time.monotonic() - started:.1f} s)")
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
