"""FBA reconciliation (04:00 UTC schedule): ``start`` reconciles Amazon's FBA stock against the Brightpearl
FBA warehouse and emails the report (or requests the MYI report for a large catalogue); ``poll`` (every
15 minutes) finishes a requested report. Approval and apply are operator commands."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from connector import wiring
from connector.config import FbaReconciliationEnv
from connector.handlers import Container, entry

CONTAINER = Container(FbaReconciliationEnv)
build = CONTAINER.once(wiring.fba_reconciliation)

# every region when the stack has several (issue 16); none for a one-region stack
other_regions = CONTAINER.per_region(wiring.fba_reconciliation)


@entry()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    action = (event or {}).get("action", "start")
    if action not in ("start", "poll"):
        raise ValueError(f"unknown action {action!r}; expected 'start' or 'poll'")
    if other_regions():
        out: dict[str, Any] = {}
        for code, regional in other_regions().items():
            got = regional.start(trigger="schedule") if action == "start" else regional.poll()
            out[f"region {code}"] = {k: v for k, v in got.items() if k != "top"}
        return out
    if action == "start":
        out = build().start(trigger="schedule")
    elif action == "poll":
        out = build().poll()
    else:
        raise ValueError(f"unknown action {action!r}; expected 'start' or 'poll'")
    return {k: v for k, v in out.items() if k != "top"}
