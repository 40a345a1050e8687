"""Inbound shipments (every 30 minutes, and at once after a run that stopped for time): Amazon FBA inbound
shipments → Brightpearl transfers, released on receipt."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from connector import wiring
from connector.config import InboundShipmentsEnv
from connector.handlers import Container, entry
from connector.observability import logger

if TYPE_CHECKING:
    from connector.usecases.inbound_shipments import InboundShipments

CONTAINER = Container(InboundShipmentsEnv)
# Built per run, not once like the other handlers' use cases (a deliberate exception): each run starts
# with its own SP-API pacing (getReports: burst 10, 1 per 45 s), as before the composition root. Runs are
# 30 minutes apart, so in production the bucket is full again anyway; a cached client only made
# back-to-back runs (the end-to-end tests) read the ledger throttled and skip it. The home region's run
# is on its region's view when the stack has several (issue 16).
build = CONTAINER.per_call(lambda parts: wiring.inbound_shipments(wiring.regions(parts)[0]))


def build_other_regions() -> dict[str, InboundShipments]:
    """The stack's regions other than the home one (issue 16), each into its own FBA warehouse; built per
    run too."""
    regional = wiring.regions(wiring.Parts(CONTAINER.env))
    return {wiring.region_code(p): wiring.inbound_shipments(p) for p in regional[1:]}


def _continuation(event: dict[str, Any]) -> tuple[bool, str | None, int]:
    """(from the queue?, resume_from, hop). A stale continuation (a redelivery) is a no-op run's worth: (True,
    None, -1). A malformed one raises ValueError naming the field (left on the queue, then its DLQ)."""
    from connector.domain.inbound import continuation_of

    records = event.get("Records")
    if not records:
        return False, None, 0
    if len(records) != 1:  # BatchSize 1 in template.yaml: one continuation per run
        raise ValueError(f"inbound continuation: expected 1 record, got {len(records)}")
    found = continuation_of(json.loads(records[0]["body"]), datetime.now(UTC))
    if found is None:
        return True, None, -1
    return True, found[0], found[1]


@entry(traced=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    started = datetime.now(UTC)
    from_queue, resume_from, hop = _continuation(event)
    if hop < 0:
        logger.warning("stale inbound continuation dropped (the schedule has taken over)")
        return {"batchItemFailures": []}
    try:
        # build first: the wiring binds the tables record_run writes to
        report = build().run(remaining=lambda: context.get_remaining_time_in_millis() / 1000,
                             resume_from=resume_from, hop=hop)
    except Exception as exc:
        # The operator's `status` shows the last run and why it failed (the error alarm fires as well).
        CONTAINER.parts.record_run("inbound", started, outcome="failed", error=f"{type(exc).__name__}: {exc}"[:500])
        from connector.usecases.inbound_shipments import RunIncomplete

        if from_queue and isinstance(exc, RunIncomplete):
            # The failed shipments are logged and counted (InboundShipmentFailures); retrying the message
            # would only run again what the schedule runs anyway.
            return {"batchItemFailures": []}
        raise
    out = {"seen": report.seen, "processed": report.processed, "skippedFinal": report.skipped_final,
           "writes": report.writes, "emails": report.emails, "hop": hop, "resumeFrom": report.resume_from,
           "continued": report.continued, "skippedBusy": report.skipped_busy}
    if not from_queue:  # a continuation resumes the home region's run; the schedule runs every region
        from connector.region_metrics import region_metric

        others = build_other_regions()
        if others:
            region_metric("RegionInboundShipmentsProcessed", report.processed, CONTAINER.env.amazon_region)
        for code, regional in others.items():
            got = regional.run(remaining=lambda: context.get_remaining_time_in_millis() / 1000)
            out[f"region {code}"] = {"seen": got.seen, "processed": got.processed, "writes": got.writes,
                                     "emails": got.emails, "resumeFrom": got.resume_from}
            region_metric("RegionInboundShipmentsProcessed", got.processed, code)
    CONTAINER.parts.record_run("inbound", started, outcome="ok", **out)
    return {**out, "batchItemFailures": []} if from_queue else out
