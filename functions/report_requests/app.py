"""Report requests (hourly schedule): request due Amazon reports, poll open ones, retry pending movements,
send the daily digest. Also answers ``{"action": "explain", "sku": "…"}``: every movement of one SKU and why.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from connector.config import load
from connector.observability import logger, metrics
from connector.wiring_movements import MovementsEnv

ENV = load(MovementsEnv)


@cache
def _jobs() -> Any:
    from connector.wiring_movements import report_jobs

    return report_jobs(ENV)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    from connector.usecases.movements_digest import send_daily_digest
    from connector.wiring_movements import clock, mailer

    jobs = _jobs()
    if event.get("action") == "explain":
        return {"sku": event["sku"], "movements": jobs.movements.explain(str(event["sku"]))}
    out = jobs.run_schedule()
    out["digest_sent"] = send_daily_digest(jobs.movements.store, mailer(ENV), clock)
    logger.info("report schedule ran", extra=out)
    return out
