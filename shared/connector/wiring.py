"""The composition root: the one module that builds real adapters and plugs them into the use cases.

A handler makes one :class:`Parts` from its environment at import (nothing is built yet) and caches
its use case with ``functools.cache`` over one builder below, so a container builds each client once
(on first use) and each use case once. Adapters are imported inside the properties: the webhook
receiver never imports this module, and the others pay for SP-API or pynamodb only when they use them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from connector.config import ConnectorEnv, ImportLinksEnv

if TYPE_CHECKING:
    from connector.adapters.amazon.client import AmazonClients
    from connector.adapters.brightpearl.client import BrightpearlClient
    from connector.adapters.queues import Queue
    from connector.adapters.report_job_store import DynamoReportJobStore
    from connector.adapters.repositories import LinkRepository, SettingsRepository
    from connector.emails.sending import DesignMailer
    from connector.usecases.approval_page import Pages
    from connector.usecases.fba_reconciliation import FbaReconciliation
    from connector.usecases.import_job import ImportJobs
    from connector.usecases.inbound_shipments import InboundShipments
    from connector.usecases.mfn_sync import MfnSync
    from connector.usecases.movements import MovementService
    from connector.usecases.nightly import NightlyReconciliation
    from connector.usecases.operator import Operator
    from connector.usecases.ports import MovementStore
    from connector.usecases.report_jobs import ReportJobs


def _now() -> datetime:
    return datetime.now(UTC)


# The connector's clock (movements, report windows, reconciliation). Production reads the system time;
# end-to-end tests point it at the Amazon simulator's simulated clock (the one thing they patch), so
# report windows and cadences line up.
CLOCK: Callable[[], datetime] = _now


def clock() -> datetime:
    return CLOCK()


class Parts:
    """What one container shares: clients, stores and the mailer, each built on first use, once."""

    def __init__(self, env: ConnectorEnv) -> None:
        self.env = env

    @cached_property
    def bound(self) -> bool:
        from connector.adapters import store

        store.bind()  # binding drops pynamodb's connections: once per container, not once per message
        return True

    @cached_property
    def brightpearl(self) -> BrightpearlClient:
        from connector.adapters.brightpearl.factory import brightpearl_client

        return brightpearl_client(self.env)

    @cached_property
    def amazon(self) -> AmazonClients:
        from connector.adapters.amazon.factory import amazon_clients

        return amazon_clients(self.env)

    @cached_property
    def amazon_on_clock(self) -> AmazonClients:
        """SP-API paced on the connector's clock (report quotas), not the process's monotonic one: kept
        apart from :attr:`amazon`, whose pacing must not follow a simulated clock that tests freeze."""
        from connector.adapters.amazon.factory import amazon_clients

        amazon = amazon_clients(self.env)
        amazon.clock = lambda: clock().timestamp()
        return amazon

    @cached_property
    def mailer(self) -> DesignMailer:
        """SES, behind the design: a :class:`Message` is rendered with this stack's name, stage and links."""
        from connector.emails.sending import mailer_from_env

        return mailer_from_env(self.env)

    @cached_property
    def links(self) -> LinkRepository:
        from connector.adapters.repositories import LinkRepository

        assert self.bound
        return LinkRepository()

    @cached_property
    def settings(self) -> SettingsRepository:
        from connector.adapters.repositories import SettingsRepository

        assert self.bound
        return SettingsRepository()

    @cached_property
    def report_jobs_store(self) -> DynamoReportJobStore:
        from connector.adapters.report_job_store import DynamoReportJobStore

        assert self.bound
        return DynamoReportJobStore()

    def sku_resolver(self, *, remember: bool) -> Callable[[str], int | None]:
        """Amazon SKU → linked Brightpearl product, trying the stack's marketplaces in order (FBA stock
        is pooled across a region's marketplaces: the first linked listing names the product).
        ``remember`` keeps found links for the resolver's life (a report of many rows of few SKUs)."""
        links, marketplaces = self.links, list(self.env.amazon_marketplace_ids)
        found_before: dict[str, int] = {}

        def resolve(sku: str) -> int | None:
            if sku in found_before:
                return found_before[sku]
            for mid in marketplaces:
                link = links.get(mid, sku)
                if link is not None:
                    if remember:
                        found_before[sku] = int(link.product_id)
                    return int(link.product_id)
            return None  # never remembered: a link made meanwhile is seen on the next look-up

        return resolve


# ---------------------------------------------------------------------------------------------- builders


def mfn_sync(parts: Parts) -> MfnSync:
    from connector.adapters.amazon.listings import AmazonListings
    from connector.adapters.brightpearl.catalog import BrightpearlCatalog
    from connector.usecases.mfn_sync import EmailConflictNotifier, MfnSync

    return MfnSync(catalog=BrightpearlCatalog(parts.brightpearl), links=parts.links, settings=parts.settings,
                   listings=AmazonListings(parts.amazon, parts.env.amazon_seller_id),
                   marketplace_ids=parts.env.amazon_marketplace_ids,
                   notifier=EmailConflictNotifier(parts.mailer, parts.settings))


def nightly(parts: Parts, sync: MfnSync | None = None) -> NightlyReconciliation:
    """``sync``: the container's merchant-fulfilled sync when it has one already (notifications)."""
    from connector.adapters.amazon.reports import AmazonReports
    from connector.usecases.nightly import NightlyReconciliation

    amazon = parts.amazon  # one SP-API client for the sync and the report
    return NightlyReconciliation(
        sync=sync or mfn_sync(parts), reports_for=lambda marketplaces: AmazonReports(amazon, marketplaces),
        links=parts.links, settings=parts.settings, mailer=parts.mailer,
        marketplace_ids=parts.env.amazon_marketplace_ids)


def movement_service(parts: Parts, store: MovementStore | None = None) -> MovementService:
    """The movements use case (report rows → Brightpearl corrections and credits); ``store`` wraps the
    movement store (FBA reconciliation observes it)."""
    from connector.adapters.brightpearl.movements import BrightpearlMovements
    from connector.adapters.movement_store import DynamoMovementStore
    from connector.usecases.movements import MovementService

    assert parts.bound
    return MovementService(store or DynamoMovementStore(), BrightpearlMovements(parts.brightpearl),
                           parts.sku_resolver(remember=True), parts.settings.global_settings, clock=clock)


def report_jobs(parts: Parts) -> ReportJobs:
    from connector.adapters.amazon.reports import AmazonReports
    from connector.usecases.report_jobs import ReportJobs

    return ReportJobs(AmazonReports(parts.amazon_on_clock, parts.env.amazon_marketplace_ids),
                      movement_service(parts), parts.report_jobs_store, clock=clock)


def fba_reconciliation(parts: Parts) -> FbaReconciliation:
    from connector.adapters.amazon.inbound import AmazonInbound
    from connector.adapters.amazon.inventory import AmazonFbaInventory
    from connector.adapters.amazon.reports import AmazonReports
    from connector.adapters.brightpearl.catalog import BrightpearlCatalog
    from connector.adapters.inbound_records import ShipmentRecords
    from connector.adapters.movement_store import DynamoMovementStore
    from connector.adapters.reconciliation_store import ReconciliationStore
    from connector.usecases.fba_reconciliation import FbaReconciliation
    from connector.usecases.observing_store import ObservingStore

    amazon = parts.amazon
    observed = ObservingStore(DynamoMovementStore())
    # Corrections go through the movements service: same keys, batching, governor, recovery and audit.
    return FbaReconciliation(
        links=parts.links.all, marketplace_ids=parts.env.amazon_marketplace_ids,
        inventory=AmazonFbaInventory(amazon), reports_for=lambda marketplaces: AmazonReports(amazon, marketplaces),
        catalog=BrightpearlCatalog(parts.brightpearl), shipments=ShipmentRecords().open,
        inbound=AmazonInbound(amazon), movements=movement_service(parts, observed), observed=observed,
        settings=parts.settings, store=ReconciliationStore(), mailer=parts.mailer, clock=clock)


def inbound_shipments(parts: Parts) -> InboundShipments:
    from connector.adapters.amazon.inbound import AmazonInbound
    from connector.adapters.brightpearl.transfers import BrightpearlTransfers
    from connector.adapters.inbound_records import ShipmentRecords
    from connector.usecases.inbound_shipments import InboundShipments

    assert parts.bound
    return InboundShipments(
        amazon=AmazonInbound(parts.amazon), transfers=BrightpearlTransfers(parts.brightpearl),
        records=ShipmentRecords(), settings=parts.settings.global_settings,
        # not remembered: a run may follow a re-link made since the last one in this container
        product_for=parts.sku_resolver(remember=False), mail=parts.mailer)


def operator(parts: Parts) -> Operator:
    from connector.adapters.brightpearl.catalog import BrightpearlCatalog
    from connector.usecases.operator import Operator

    return Operator(sync=mfn_sync(parts), links=parts.links, settings=parts.settings,
                    seller_id=parts.env.amazon_seller_id, directory=BrightpearlCatalog(parts.brightpearl),
                    fba_reconciliation=lambda: fba_reconciliation(parts))


def import_jobs(parts: Parts) -> ImportJobs:
    from connector.adapters.queues import Queue
    from connector.usecases.import_job import ImportJobs

    env = parts.env
    assert isinstance(env, ImportLinksEnv)
    queue = Queue(env.import_links_queue_url)

    def send(message: dict[str, Any]) -> None:
        queue.send(message)

    return ImportJobs(parts.settings, send, operator(parts).run, list(env.amazon_marketplace_ids))


def pages(parts: Parts) -> Pages:
    """The pages linked from emails (issue 17): the reconciliation is built on first use, so the nightly
    page needs no Brightpearl or Amazon client."""
    from connector.adapters.page_nonces import PageNonces
    from connector.config import ConfigError
    from connector.emails.sending import sender_from_env, signing_key
    from connector.usecases.approval_page import Pages

    env = parts.env
    if not env.page_link_secret_name:
        raise ConfigError(f"{type(env).__name__}: PAGE_LINK_SECRET_NAME is not set")
    assert parts.bound
    links, marketplaces = parts.links, list(env.amazon_marketplace_ids)

    def failing() -> list[dict[str, Any]]:
        return sorted(({"sku": link.sku, "marketplace": link.marketplace_id, "result": link.last_result}
                       for link in links.all()
                       if link.marketplace_id in marketplaces and (link.last_result or "").startswith(FAILING)),
                      key=lambda r: (r["marketplace"], r["sku"]))

    recon: list[FbaReconciliation] = []

    def reconciliation() -> FbaReconciliation:
        if not recon:
            recon.append(fba_reconciliation(parts))
        return recon[0]

    return Pages(key=signing_key(env.page_link_secret_name), reconciliation=reconciliation, nonces=PageNonces(),
                 failing=failing, sender=sender_from_env(env))


FAILING = ("rejected", "error", "not on Amazon")  # the nightly check's "failing" (usecases/nightly.py)


def stock_change_queue(parts: Parts) -> Queue:
    """The stock-change consumer's own queue: records beyond a batch's product budget go back on it."""
    from connector.adapters.queues import Queue
    from connector.config import StockChangeEnv

    env = parts.env
    assert isinstance(env, StockChangeEnv)
    return Queue(env.stock_change_queue_url)
