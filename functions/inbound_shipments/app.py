"""Inbound shipments (every 30 minutes): Amazon FBA inbound shipments → Brightpearl transfers, released on receipt."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from connector.adapters.run_log import record_run
from connector.config import InboundShipmentsEnv, load
from connector.observability import logger, metrics
from connector.usecases.inbound_shipments import build

ENV = load(InboundShipmentsEnv)  # fails at cold start naming any missing variable


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    started = datetime.now(UTC)
    try:
        report = build(ENV).run()
    except Exception as exc:
        # The operator's `status` shows the last run and why it failed (the error alarm fires as well).
        record_run("inbound", started, outcome="failed", error=f"{type(exc).__name__}: {exc}"[:500])
        raise
    out = {"seen": report.seen, "processed": report.processed, "skippedFinal": report.skipped_final,
           "writes": report.writes, "emails": report.emails}
    record_run("inbound", started, outcome="ok", **out)
    return out
