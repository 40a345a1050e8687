"""The parts: the one module that constructs real adapters and clients (issue 12).

:class:`Parts` is what one container shares (clients, stores, the mailer, each built on first use,
once) and the factory of every other adapter a builder plugs in (``parts.amazon_reports(…)``, a new
object per call, as the builders made them before). :class:`RegionParts` is one SP-API region's view of
them. The builders (``builders.py``) compose use cases from these and import no adapter
(``tests/unit/test_import_rules.py`` holds it). Adapters are imported inside the methods: the others pay
for SP-API or pynamodb only when they use them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from connector.config import ConnectorEnv

if TYPE_CHECKING:
    from connector.adapters.amazon.client import AmazonClients
    from connector.adapters.amazon.finances import AmazonFinances
    from connector.adapters.amazon.inbound import AmazonInbound
    from connector.adapters.amazon.inventory import AmazonFbaInventory
    from connector.adapters.amazon.listings import AmazonListings
    from connector.adapters.amazon.reports import AmazonReports
    from connector.adapters.brightpearl.catalog import BrightpearlCatalog
    from connector.adapters.brightpearl.client import BrightpearlClient
    from connector.adapters.brightpearl.movements import BrightpearlMovements
    from connector.adapters.brightpearl.transfers import BrightpearlTransfers
    from connector.adapters.exports import S3Exports
    from connector.adapters.inbound_records import QueueContinuations, ShipmentRecords
    from connector.adapters.lease import HeartbeatLease
    from connector.adapters.movement_store import DynamoMovementStore
    from connector.adapters.page_nonces import PageNonces
    from connector.adapters.queues import Queue
    from connector.adapters.reconciliation_store import ReconciliationStore
    from connector.adapters.removal_store import SettingsRemovalStore
    from connector.adapters.report_job_store import DynamoReportJobStore
    from connector.adapters.repositories import LinkRepository, SettingsRepository
    from connector.adapters.shadow_plans import DynamoShadowPlans
    from connector.domain.regions import Region
    from connector.emails.design import Sender
    from connector.emails.sending import PageLinks
    from connector.usecases.send_once import SendOnce


def _now() -> datetime:
    return datetime.now(UTC)


# The connector's clock (movements, report windows, reconciliation). Production reads the system time;
# end-to-end tests point it at the Amazon simulator's simulated clock (the one thing they patch:
# ``connector.wiring.parts.CLOCK``), so report windows and cadences line up.
CLOCK: Callable[[], datetime] = _now


def clock() -> datetime:
    return CLOCK()


SIGNING_KEY_FIELD = "signing_key"


def signing_key(secret_name: str) -> Callable[[], bytes]:
    """The page-link key from Secrets Manager (read when first needed, cached like every secret)."""
    def read() -> bytes:
        from connector.adapters.secrets import SecretError, get_json_secret

        value = get_json_secret(secret_name).get(SIGNING_KEY_FIELD)
        if not isinstance(value, str) or len(value) < 32:
            raise SecretError(f"secret {secret_name!r} lacks a {SIGNING_KEY_FIELD!r} of at least 32 characters")
        return value.encode("utf-8")
    return read


class Parts:
    """What one container shares: clients, stores and the mailer, each built on first use, once; and the
    factory of the other adapters the builders plug in."""

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
    def mailer(self) -> SendOnce:
        """SES, behind the design (a :class:`Message` is rendered with this stack's name, stage and links),
        with the one send-once mechanism: emails that must leave once go through ``send_once(key, …)``."""
        from connector.adapters.email import Mailer
        from connector.adapters.sent_mail import DynamoSentMail
        from connector.emails.sending import DesignMailer
        from connector.usecases.send_once import SendOnce

        assert self.bound
        design = DesignMailer(Mailer(self.env.ses_sender, self.env.alert_recipients), self.sender, self.exports)
        return SendOnce(design, DynamoSentMail(), now=clock)

    @property
    def sender(self) -> Sender:
        """Who the emails and pages say they come from (stack, stage, marketplaces, signed links)."""
        from connector.emails.sending import sender_from_env

        return sender_from_env(self.env, signing_key)

    @property
    def page_links(self) -> PageLinks | None:
        from connector.emails.sending import page_links

        return page_links(self.env, signing_key)

    @cached_property
    def exports(self) -> S3Exports | None:
        """Where email attachments too large to attach go (issue 14 item 5), linked through the signed page."""
        from connector.adapters.exports import S3Exports
        from connector.domain.messages import PageLink

        bucket = getattr(self.env, "exports_bucket", None)
        if not bucket:
            return None
        links = self.page_links

        def link(export_id: str, filename: str) -> str:
            assert links is not None
            return links.url(PageLink("export", export_id, filename))

        return S3Exports(bucket, link=link if links is not None else None)

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

    def sku_batch_resolver(self) -> Callable[[Collection[str]], dict[str, int]]:
        """Many Amazon SKUs → linked products at once (BatchGetItem): a report chunk's SKUs together."""
        from connector.adapters.link_lookup import linked_products

        marketplaces = list(self.env.amazon_marketplace_ids)
        return lambda skus: linked_products(skus, marketplaces)

    # -------------------------------------------- the other adapters: a new one per call, as builders need

    def amazon_listings(self) -> AmazonListings:
        from connector.adapters.amazon.listings import AmazonListings

        return AmazonListings(self.amazon, self.env.amazon_seller_id)

    def amazon_reports(self, marketplace_ids: list[str], *, on_clock: bool = False) -> AmazonReports:
        """``on_clock``: paced on the connector's clock (report jobs and removals, :attr:`amazon_on_clock`)."""
        from connector.adapters.amazon.reports import AmazonReports

        return AmazonReports(self.amazon_on_clock if on_clock else self.amazon, marketplace_ids)

    def amazon_finances(self) -> AmazonFinances:
        from connector.adapters.amazon.finances import AmazonFinances

        return AmazonFinances(self.amazon)

    def amazon_inbound(self) -> AmazonInbound:
        from connector.adapters.amazon.inbound import AmazonInbound

        return AmazonInbound(self.amazon)

    def fba_inventory(self) -> AmazonFbaInventory:
        from connector.adapters.amazon.inventory import AmazonFbaInventory

        return AmazonFbaInventory(self.amazon)

    def brightpearl_catalog(self) -> BrightpearlCatalog:
        from connector.adapters.brightpearl.catalog import BrightpearlCatalog

        return BrightpearlCatalog(self.brightpearl)

    def brightpearl_movements(self) -> BrightpearlMovements:
        from connector.adapters.brightpearl.movements import BrightpearlMovements

        return BrightpearlMovements(self.brightpearl)

    def brightpearl_transfers(self) -> BrightpearlTransfers:
        from connector.adapters.brightpearl.transfers import BrightpearlTransfers

        return BrightpearlTransfers(self.brightpearl)

    def movement_store(self) -> DynamoMovementStore:
        from connector.adapters.movement_store import DynamoMovementStore

        return DynamoMovementStore()

    def shipment_records(self) -> ShipmentRecords:
        from connector.adapters.inbound_records import ShipmentRecords

        return ShipmentRecords(clock)

    def inbound_continuations(self, queue_url: str) -> QueueContinuations:
        from connector.adapters.inbound_records import QueueContinuations

        return QueueContinuations(self.queue(queue_url))

    def reconciliations(self, prefix: str) -> ReconciliationStore:
        from connector.adapters.reconciliation_store import ReconciliationStore

        return ReconciliationStore(prefix)

    def removal_store(self, prefix: str) -> SettingsRemovalStore:
        from connector.adapters.removal_store import SettingsRemovalStore

        return SettingsRemovalStore(self.settings, prefix)

    def shadow_plan_store(self) -> DynamoShadowPlans:
        from connector.adapters.shadow_plans import DynamoShadowPlans

        assert self.bound
        return DynamoShadowPlans()

    def page_nonces(self) -> PageNonces:
        from connector.adapters.page_nonces import PageNonces

        return PageNonces()

    def queue(self, url: str) -> Queue:
        from connector.adapters.queues import Queue

        return Queue(url)

    def lease(self, key: str, *, ttl: float, max_wait: float) -> AbstractContextManager[HeartbeatLease]:
        """One writer at a time across containers (the stock-change batches)."""
        from connector.adapters.lease import HeartbeatLease

        return HeartbeatLease(key, ttl=ttl, max_wait=max_wait)

    def record_run(self, job: str, started: datetime, *, outcome: str, **detail: Any) -> None:
        """A scheduled job's last run and outcome (``connector state``)."""
        from connector.adapters.run_log import record_run

        record_run(job, started, outcome=outcome, **detail)


def stock_change_queue(parts: Parts) -> Queue:
    """The stock-change consumer's own queue: records beyond a batch's product budget go back on it."""
    from connector.config import StockChangeEnv

    env = parts.env
    assert isinstance(env, StockChangeEnv)
    return parts.queue(env.stock_change_queue_url)


# ------------------------------------------------------------------------------ regions (issue 16 item 1)


class RegionParts(Parts):
    """One SP-API region's view of a container's parts: its own SP-API clients (endpoint, seller,
    marketplaces, refresh token), its emails (naming its marketplaces) and the settings with the region's
    values laid over the global ones; Brightpearl (and so its one shared rate budget) and the stores are
    the home parts' own."""

    def __init__(self, home: Parts, region: Region) -> None:
        env = home.env
        # A stopped inbound run's continuation resumes the home region's run only.
        no_continuation = hasattr(env, "inbound_continue_queue_url") and not region.home
        super().__init__(type(env)(**{**vars(env), "amazon_region": region.code,
                                      "amazon_marketplace_ids": list(region.marketplace_ids),
                                      "amazon_seller_id": region.seller_id, "sp_api_endpoint": region.endpoint,
                                      "lwa_token_url": region.lwa_token_url,
                                      **({"inbound_continue_queue_url": None} if no_continuation else {})}))
        self.home = home
        self.region = region

    @cached_property
    def bound(self) -> bool:
        return self.home.bound

    @cached_property
    def brightpearl(self) -> BrightpearlClient:
        return self.home.brightpearl

    # The mailer is the base one on this region's environment: its emails name the region's marketplaces.

    @cached_property
    def links(self) -> LinkRepository:
        from connector.usecases.regions import RegionLinks

        return RegionLinks(self.home.links, self.region.marketplace_ids)  # type: ignore[return-value]

    @cached_property
    def report_jobs_store(self) -> DynamoReportJobStore:
        return self.home.report_jobs_store

    @cached_property
    def settings(self) -> SettingsRepository:
        from connector.usecases.regions import RegionalSettings

        return RegionalSettings(self.home.settings, self.region.code)  # type: ignore[return-value]


def regions(parts: Parts) -> list[Parts]:
    """Each SP-API region's parts, home first; one region (no AMAZON_OTHER_REGIONS): ``[parts]`` itself,
    so a one-region stack runs exactly the code it ran before regions. With several, the home region
    is a region's view too (its links only its marketplaces', its report keys unchanged)."""
    from connector.config import amazon_regions

    found = amazon_regions(parts.env)
    if len(found) == 1:
        return [parts]
    cached: list[Parts] | None = getattr(parts, "_region_parts", None)
    if cached is None:
        cached = [RegionParts(parts, r) for r in found]
        parts._region_parts = cached  # type: ignore[attr-defined]
    return cached


def region_code(parts: Parts) -> str:
    return parts.region.code if isinstance(parts, RegionParts) else parts.env.amazon_region


def store_prefix(parts: Parts) -> str:
    """Where a region's items sit in the shared tables (the home region: "", its keys unchanged)."""
    return parts.region.job_prefix if isinstance(parts, RegionParts) else ""
