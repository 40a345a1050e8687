"""Report requests (hourly schedule): request due Amazon reports, poll open ones, retry pending movements,
send the daily digest. Also answers ``{"action": "explain", "sku": "…"}``: every movement of one SKU and why.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from connector import wiring
from connector.config import MovementsEnv
from connector.handlers import Container, entry
from connector.observability import logger

CONTAINER = Container(MovementsEnv)
build = CONTAINER.once(wiring.report_jobs)

# every region when the stack has several (issue 16); none for a one-region stack
other_regions = CONTAINER.per_region(wiring.region_report_jobs)


@entry(traced=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    from connector.usecases.movements_digest import send_daily_digest

    jobs = build()
    if event.get("action") == "explain":
        return {"sku": event["sku"], "movements": jobs.movements.explain(str(event["sku"]))}
    regional = other_regions()
    out: dict[str, Any] = ({f"region {code}": r.run_schedule() for code, r in regional.items()} if regional
                           else jobs.run_schedule())
    parts = CONTAINER.parts
    out["digest_sent"] = send_daily_digest(jobs.movements.store, parts.report_jobs_store, parts.mailer, wiring.clock)
    logger.info("report schedule ran", extra=out)
    return out
