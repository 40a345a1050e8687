"""Inbound shipments (every 30 minutes): Amazon FBA inbound shipments → Brightpearl transfers, released on receipt."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from connector import wiring
from connector.config import InboundShipmentsEnv, load
from connector.observability import logger, metrics

if TYPE_CHECKING:
    from connector.usecases.inbound_shipments import InboundShipments

ENV = load(InboundShipmentsEnv)  # fails at cold start naming any missing variable
PARTS = wiring.Parts(ENV)


@cache
def build() -> InboundShipments:
    return wiring.inbound_shipments(PARTS)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = build().run()
    return {"seen": report.seen, "processed": report.processed, "skippedFinal": report.skipped_final,
            "writes": report.writes, "emails": report.emails}
