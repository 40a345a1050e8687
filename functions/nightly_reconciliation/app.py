"""Nightly MFN reconciliation: ``start`` requests Amazon's All Listings report, ``poll`` finishes
ready reports when their notification was lost (the notification itself arrives via the
notifications function)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from connector import wiring
from connector.config import MfnSyncEnv, load
from connector.observability import logger, metrics, tracer

if TYPE_CHECKING:
    from connector.usecases.nightly import NightlyReconciliation

ENV = load(MfnSyncEnv)
PARTS = wiring.Parts(ENV)


@cache
def build() -> NightlyReconciliation:
    return wiring.nightly(PARTS)


@cache
def other_regions() -> dict[str, NightlyReconciliation]:
    """The stack's other SP-API regions' nightly checks, each on its own marketplaces (issue 16)."""
    return {wiring.region_code(p): wiring.nightly(p) for p in wiring.regions(PARTS)[1:]}


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    action = (event or {}).get("action", "start")
    job = build()
    if action == "poll":
        out: dict[str, Any] = {"polled": job.poll()}
    elif action == "start":
        out = job.start()
    else:
        raise ValueError(f"unknown action {action!r}; expected 'start' or 'poll'")
    for code, regional in other_regions().items():
        out[f"region {code}"] = {"polled": regional.poll()} if action == "poll" else regional.start()
    return out
