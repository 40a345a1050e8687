"""Builds the movements use cases with their real adapters from a Lambda's environment (issue 6)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache

from connector.adapters import store
from connector.adapters.amazon.factory import amazon_clients
from connector.adapters.amazon.reports import AmazonReports
from connector.adapters.brightpearl.factory import brightpearl_client
from connector.adapters.brightpearl.movements import BrightpearlMovements
from connector.adapters.movement_store import DynamoMovementStore
from connector.adapters.repositories import LinkRepository, SettingsRepository
from connector.config import AmazonEnv, BrightpearlEnv, EmailEnv, load
from connector.domain.notifications import Notification
from connector.domain.reports import SPECS_BY_TYPE
from connector.emails.sending import DesignMailer, mailer_from_env
from connector.usecases.movements import MovementService
from connector.usecases.report_jobs import ReportJobs


class MovementsEnv(BrightpearlEnv, AmazonEnv, EmailEnv):
    """Report requests and REPORT_PROCESSING_FINISHED: Amazon reports in, Brightpearl movements out."""


def sku_resolver(marketplace_ids: list[str]) -> Callable[[str], int | None]:
    """Amazon SKU → linked Brightpearl product, trying the stack's marketplaces in order (cached per run)."""
    links = LinkRepository()
    cache: dict[str, int | None] = {}

    def resolve(sku: str) -> int | None:
        if sku not in cache:
            found = None
            for mid in marketplace_ids:
                link = links.get(mid, sku)
                if link is not None:
                    found = int(link.product_id)
                    break
            if found is None:
                return None  # not cached: a link made during this run is seen on the next look-up
            cache[sku] = found
        return cache[sku]

    return resolve


def movement_service(env: MovementsEnv) -> MovementService:
    store.bind()
    settings = SettingsRepository()
    return MovementService(DynamoMovementStore(), BrightpearlMovements(brightpearl_client(env)),
                           sku_resolver(env.amazon_marketplace_ids), settings.global_settings, clock=clock)


def report_jobs(env: MovementsEnv) -> ReportJobs:
    movements = movement_service(env)
    amazon = amazon_clients(env)
    amazon.clock = lambda: clock().timestamp()  # pace report quotas on the movements' clock
    return ReportJobs(AmazonReports(amazon, env.amazon_marketplace_ids), movements, clock=clock)


def mailer(env: MovementsEnv) -> DesignMailer:
    return mailer_from_env(env)


def _now() -> datetime:
    return datetime.now(UTC)


# The movements' clock. Production reads the system time; end-to-end tests point it at the Amazon
# simulator's simulated clock (the one thing they patch), so report windows and cadences line up.
CLOCK: Callable[[], datetime] = _now


def clock() -> datetime:
    return CLOCK()


@cache
def _bind_once() -> None:
    store.bind()  # binding drops pynamodb's connections: once per container, not once per message


@cache
def _notified_jobs() -> ReportJobs:
    return report_jobs(load(MovementsEnv))


def is_movements_report(n: Notification) -> bool:
    p = n.payload.get("reportProcessingFinishedNotification") or {}
    return str(p.get("reportType", "")) in SPECS_BY_TYPE


def report_finished(n: Notification) -> str:
    """REPORT_PROCESSING_FINISHED for a movements report: move its job on (download and apply when DONE)."""
    p = n.payload.get("reportProcessingFinishedNotification") or {}
    _bind_once()
    job = ReportJobs.job_by_report_id(str(p["reportId"]))
    if job is None:
        # Not requested by this connector (or the index lags: the schedule polls open jobs). Answered
        # before any client is built, so a stranger's report costs one DynamoDB query.
        return "unknown report"
    return _notified_jobs().advance(job, str(p.get("processingStatus", "")), p.get("reportDocumentId"))
