"""Inbound shipments (every 30 minutes): Amazon FBA inbound shipments → Brightpearl transfers, released on receipt."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from connector import wiring
from connector.adapters.run_log import record_run
from connector.config import InboundShipmentsEnv, load
from connector.observability import logger, metrics

if TYPE_CHECKING:
    from connector.usecases.inbound_shipments import InboundShipments

ENV = load(InboundShipmentsEnv)  # fails at cold start naming any missing variable


def build() -> InboundShipments:
    # Built per run, not cached like the other handlers' use cases (a deliberate exception): each run
    # starts with its own SP-API pacing (getReports: burst 10, 1 per 45 s), as before the composition
    # root. Runs are 30 minutes apart, so in production the bucket is full again anyway; a cached client
    # only made back-to-back runs (the end-to-end tests) read the ledger throttled and skip it.
    return wiring.inbound_shipments(wiring.Parts(ENV))


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    started = datetime.now(UTC)
    try:
        report = build().run()  # build first: the wiring binds the tables record_run writes to
    except Exception as exc:
        # The operator's `status` shows the last run and why it failed (the error alarm fires as well).
        record_run("inbound", started, outcome="failed", error=f"{type(exc).__name__}: {exc}"[:500])
        raise
    out = {"seen": report.seen, "processed": report.processed, "skippedFinal": report.skipped_final,
           "writes": report.writes, "emails": report.emails}
    record_run("inbound", started, outcome="ok", **out)
    return out
