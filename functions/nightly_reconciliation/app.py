"""Nightly MFN reconciliation: ``start`` requests Amazon's All Listings report, ``poll`` finishes
ready reports when their notification was lost (the notification itself arrives via the
notifications function)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from connector import wiring
from connector.config import MfnSyncEnv
from connector.handlers import Container, entry

if TYPE_CHECKING:
    from connector.usecases.nightly import NightlyReconciliation

CONTAINER = Container(MfnSyncEnv)
build = CONTAINER.once(wiring.nightly)


@cache
def other_regions() -> dict[str, NightlyReconciliation]:
    """Every region's nightly check, each on its own marketplaces, when the stack has several (issue 16)."""
    regional = wiring.regions(CONTAINER.parts)
    return {wiring.region_code(p): wiring.nightly(p) for p in regional} if len(regional) > 1 else {}


@entry()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    action = (event or {}).get("action", "start")
    if other_regions() and action in ("start", "poll"):
        return {f"region {code}": {"polled": r.poll()} if action == "poll" else r.start()
                for code, r in other_regions().items()}
    job = build()
    if action == "poll":
        return {"polled": job.poll()}
    if action == "start":
        return job.start()
    raise ValueError(f"unknown action {action!r}; expected 'start' or 'poll'")
