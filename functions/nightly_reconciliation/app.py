"""Nightly MFN reconciliation: ``start`` requests Amazon's All Listings report, ``poll`` finishes
ready reports when their notification was lost (the notification itself arrives via the
notifications function)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from connector import wiring
from connector.config import MfnSyncEnv
from connector.handlers import Container, entry

CONTAINER = Container(MfnSyncEnv)
build = CONTAINER.once(wiring.nightly)

# every region when the stack has several (issue 16); none for a one-region stack
other_regions = CONTAINER.per_region(wiring.nightly)


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
