"""The composition root: the one module that builds real adapters and plugs them into the use cases.

A handler makes one :class:`Parts` from its environment at import (nothing is built yet) and caches
its use case with ``functools.cache`` over one builder below, so a container builds each client once
(on first use) and each use case once. Adapters are imported inside the properties: the webhook
receiver never imports this module, and the others pay for SP-API or pynamodb only when they use them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, cast

from connector.config import ConnectorEnv, ImportLinksEnv

if TYPE_CHECKING:
    from connector.adapters.amazon.client import AmazonClients
    from connector.adapters.brightpearl.client import BrightpearlClient
    from connector.adapters.exports import S3Exports
    from connector.adapters.queues import Queue
    from connector.adapters.report_job_store import DynamoReportJobStore
    from connector.adapters.repositories import LinkRepository, SettingsRepository
    from connector.domain.refunds import Refund
    from connector.domain.regions import Region
    from connector.usecases.approval_page import Pages
    from connector.usecases.fba_reconciliation import FbaReconciliation
    from connector.usecases.import_job import ImportJobs
    from connector.usecases.inbound_shipments import InboundShipments
    from connector.usecases.mfn_sync import MfnSync
    from connector.usecases.movements import MovementService
    from connector.usecases.nightly import NightlyReconciliation
    from connector.usecases.operator import Operator
    from connector.usecases.ports import Finances, MovementStore, Reconciliations, ShadowPlans
    from connector.usecases.removals import Removals
    from connector.usecases.report_jobs import ReportJobs
    from connector.usecases.send_once import SendOnce
    from connector.usecases.shadow import Shadow


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
    def mailer(self) -> SendOnce:
        """SES, behind the design (a :class:`Message` is rendered with this stack's name, stage and links),
        with the one send-once mechanism: emails that must leave once go through ``send_once(key, …)``."""
        from connector.adapters.sent_mail import DynamoSentMail
        from connector.emails.sending import mailer_from_env
        from connector.usecases.send_once import SendOnce

        assert self.bound
        return SendOnce(mailer_from_env(self.env, self.exports), DynamoSentMail(), now=clock)

    @cached_property
    def exports(self) -> S3Exports | None:
        """Where email attachments too large to attach go (issue 14 item 5), linked through the signed page."""
        from connector.adapters.exports import S3Exports
        from connector.domain.messages import PageLink
        from connector.emails.sending import page_links

        bucket = getattr(self.env, "exports_bucket", None)
        if not bucket:
            return None
        links = page_links(self.env)

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


# ---------------------------------------------------------------------------------------------- builders


def mfn_sync(parts: Parts) -> MfnSync:
    from connector.adapters.amazon.listings import AmazonListings
    from connector.adapters.brightpearl.catalog import BrightpearlCatalog
    from connector.usecases.mfn_sync import EmailConflictNotifier, MfnSync
    from connector.usecases.shadow import ShadowLinks, ShadowListings, ShadowSwitch

    # Shadow mode (docs/shadow-mode.md): the gate on the Amazon write port, read at every push.
    listings = ShadowListings(AmazonListings(parts.amazon, parts.env.amazon_seller_id), shadow_plans(parts),
                              ShadowSwitch(parts.settings.global_settings, "mfn"), clock=clock)
    return MfnSync(catalog=BrightpearlCatalog(parts.brightpearl), links=ShadowLinks(parts.links, listings),
                   settings=parts.settings, listings=listings,
                   marketplace_ids=parts.env.amazon_marketplace_ids, max_links=parts.env.mfn_slice_links,
                   notifier=EmailConflictNotifier(parts.mailer, parts.settings, links=parts.links,
                                                  names=BrightpearlCatalog(parts.brightpearl)))


def nightly(parts: Parts, sync: MfnSync | None = None) -> NightlyReconciliation:
    """``sync``: the container's merchant-fulfilled sync when it has one already (notifications)."""
    from connector.adapters.amazon.reports import AmazonReports
    from connector.adapters.brightpearl.catalog import BrightpearlCatalog
    from connector.usecases.nightly import NightlyReconciliation
    from connector.usecases.shadow import Shadow, ShadowSummaryMail, ShadowSwitch

    amazon = parts.amazon  # one SP-API client for the sync and the report
    sync = sync or mfn_sync(parts)
    # MFN in shadow: the night's email is the shadow summary (docs/shadow-mode.md), not "N corrected".
    summary = Shadow(settings=parts.settings, plans=shadow_plans(parts), mailer=parts.mailer, clock=clock)
    mailer = ShadowSummaryMail(parts.mailer, ShadowSwitch(parts.settings.global_settings, "mfn"),
                               lambda: summary.report("mfn", email=True, limit=0))
    return NightlyReconciliation(
        sync=sync, reports_for=lambda marketplaces: AmazonReports(amazon, marketplaces),
        links=parts.links, settings=parts.settings, mailer=mailer,
        marketplace_ids=parts.env.amazon_marketplace_ids, names=BrightpearlCatalog(parts.brightpearl),
        max_links=parts.env.mfn_slice_links)


def movement_service(parts: Parts, store: MovementStore | None = None, *,
                     feature: str = "movements") -> MovementService:
    """The movements use case (report rows → Brightpearl corrections and credits); ``store`` wraps the
    movement store (FBA reconciliation observes it); ``feature``: whose shadow switch gates its writes."""
    from connector.adapters.brightpearl.movements import BrightpearlMovements
    from connector.adapters.movement_store import DynamoMovementStore
    from connector.usecases.movements import MovementService
    from connector.usecases.shadow import ShadowMovements, ShadowMovementStore, ShadowSwitch

    assert parts.bound
    links = parts.links

    def skus_of(product_ids: Iterable[int]) -> dict[int, str]:
        return {int(link.product_id): link.sku for link in links.by_products(product_ids)}

    # Shadow mode (docs/shadow-mode.md): the gate on the Brightpearl write port; the store marks what it
    # answered "observed".
    gated = ShadowMovements(BrightpearlMovements(parts.brightpearl), shadow_plans(parts),
                            ShadowSwitch(parts.settings.global_settings, feature), feature=feature,
                            skus_of=skus_of, clock=clock)
    return MovementService(ShadowMovementStore(store or DynamoMovementStore()), gated,
                           parts.sku_resolver(remember=True), parts.settings.global_settings, clock=clock,
                           resolve_skus=parts.sku_batch_resolver(), finances=finances(parts))


def finances(parts: Parts) -> Finances:
    """Finances v0 (returns credited at what Amazon refunded); its SP-API client is built on the first call."""
    from connector.adapters.amazon.finances import AmazonFinances

    class _OnFirstUse:
        def refunds(self, amazon_order_id: str) -> list[Refund]:
            return AmazonFinances(parts.amazon).refunds(amazon_order_id)

        def refunds_posted(self, after: datetime, before: datetime) -> list[Refund]:
            return AmazonFinances(parts.amazon).refunds_posted(after, before)

    return _OnFirstUse()


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

    if not isinstance(parts, RegionParts) and len(regions(parts)) > 1:
        parts = regions(parts)[0]  # the operator's and the page's: the home region's view (its links, shipments)
    amazon = parts.amazon
    observed = ObservingStore(DynamoMovementStore())
    catalog = BrightpearlCatalog(parts.brightpearl)
    # Corrections go through the movements service: same keys, batching, governor, recovery and audit.
    return FbaReconciliation(
        links=parts.links.all, marketplace_ids=parts.env.amazon_marketplace_ids,
        inventory=AmazonFbaInventory(amazon), reports_for=lambda marketplaces: AmazonReports(amazon, marketplaces),
        catalog=catalog, names=catalog, shipments=_region_records(parts, ShipmentRecords()).open,
        inbound=AmazonInbound(amazon), movements=movement_service(parts, observed, feature="reconciliation"),
        observed=observed,
        settings=parts.settings, store=ReconciliationStore(_store_prefix(parts)), mailer=parts.mailer, clock=clock)


def reconciliation_store(parts: Parts) -> Reconciliations:
    """The FBA reconciliations' items (the notifications function records the MYI report's arrival there)."""
    from connector.adapters.reconciliation_store import ReconciliationStore

    assert parts.bound
    return ReconciliationStore(_store_prefix(parts))


def inbound_shipments(parts: Parts) -> InboundShipments:
    from connector.adapters.amazon.inbound import AmazonInbound
    from connector.adapters.brightpearl.catalog import BrightpearlCatalog
    from connector.adapters.brightpearl.transfers import BrightpearlTransfers
    from connector.adapters.inbound_records import QueueContinuations, ShipmentRecords
    from connector.adapters.queues import Queue
    from connector.usecases.inbound_shipments import InboundShipments
    from connector.usecases.shadow import ShadowSwitch
    from connector.usecases.shadow_inbound import ShadowMail, ShadowShipmentStore, ShadowTransfers

    assert parts.bound
    url = getattr(parts.env, "inbound_continue_queue_url", None)
    links = parts.links
    # Shadow mode (docs/shadow-mode.md): the gate on the Brightpearl write port, the run's records kept in
    # memory, its emails held back.
    on = ShadowSwitch(parts.settings.global_settings, "inbound")
    transfers = ShadowTransfers(BrightpearlTransfers(parts.brightpearl), shadow_plans(parts), on, clock=clock,
                                skus_of=lambda pids: {int(lk.product_id): lk.sku for lk in links.by_products(pids)})
    return InboundShipments(
        amazon=AmazonInbound(parts.amazon), transfers=transfers,
        records=ShadowShipmentStore(_region_records(parts, ShipmentRecords()), on),
        settings=parts.settings.global_settings,
        # not remembered: a run may follow a re-link made since the last one in this container
        product_for=parts.sku_resolver(remember=False), mail=ShadowMail(parts.mailer, on),
        continuations=QueueContinuations(Queue(url)) if url else None, names=BrightpearlCatalog(parts.brightpearl))


def removals(parts: Parts) -> Removals:
    """FBA removal orders (docs/removals.md): its own report requests, Brightpearl transfers and disposals."""
    from connector.adapters.amazon.reports import AmazonReports
    from connector.adapters.brightpearl.transfers import BrightpearlTransfers
    from connector.adapters.removal_store import SettingsRemovalStore
    from connector.usecases.removals import Removals

    assert parts.bound
    return Removals(AmazonReports(parts.amazon_on_clock, parts.env.amazon_marketplace_ids),
                    BrightpearlTransfers(parts.brightpearl), SettingsRemovalStore(parts.settings, _store_prefix(parts)),
                    parts.settings.global_settings, parts.sku_resolver(remember=False), parts.mailer, clock=clock)


def operator(parts: Parts) -> Operator:
    from connector.adapters.brightpearl.catalog import BrightpearlCatalog
    from connector.usecases.operator import Operator

    sync = mfn_sync(parts)
    # Many unchecked listings (sync-on, import-links) are confirmed from one All Listings report.
    sync.confirm_by_report = nightly(parts, sync).request_confirmation
    if len(regions(parts)) > 1:  # several Amazon regions: each command to its marketplace's region
        sync = _routed_sync(parts)
    return Operator(sync=sync, links=parts.links, settings=parts.settings,
                    seller_id=parts.env.amazon_seller_id, directory=BrightpearlCatalog(parts.brightpearl),
                    fba_reconciliation=lambda: routed_fba_reconciliation(parts), shadow=lambda: shadow(parts, sync))


def shadow_plans(parts: Parts) -> ShadowPlans:
    """Shadow mode's plan store (items in the settings table)."""
    from connector.adapters.shadow_plans import DynamoShadowPlans

    assert parts.bound
    return DynamoShadowPlans()


def shadow(parts: Parts, sync: MfnSync | None = None) -> Shadow:
    """The operator's shadow commands: status, the summary (CLI, email), on/off (docs/shadow-mode.md)."""
    from connector.usecases.shadow import Shadow

    return Shadow(settings=parts.settings, plans=shadow_plans(parts), mailer=parts.mailer,
                  sync=sync or mfn_sync(parts), marketplace_ids=parts.env.amazon_marketplace_ids, clock=clock)


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
            recon.append(routed_fba_reconciliation(parts))
        return recon[0]

    exports = parts.exports
    return Pages(key=signing_key(env.page_link_secret_name), reconciliation=reconciliation, nonces=PageNonces(),
                 failing=failing, sender=sender_from_env(env), download=exports.presign if exports else None)


FAILING = ("rejected", "error", "not on Amazon")  # the nightly check's "failing" (usecases/nightly.py)


def stock_change_queue(parts: Parts) -> Queue:
    """The stock-change consumer's own queue: records beyond a batch's product budget go back on it."""
    from connector.adapters.queues import Queue
    from connector.config import StockChangeEnv

    env = parts.env
    assert isinstance(env, StockChangeEnv)
    return Queue(env.stock_change_queue_url)


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


def _store_prefix(parts: Parts) -> str:
    return parts.region.job_prefix if isinstance(parts, RegionParts) else ""  # home: ""


def _region_records(parts: Parts, store: Any) -> Any:
    """Inbound shipment records as this region sees them (the store itself in a one-region stack)."""
    from connector.usecases.regions import RegionShipmentRecords

    if not isinstance(parts, RegionParts):
        return store  # a one-region stack
    return RegionShipmentRecords(store, parts.home.settings, parts.region.code, home=parts.region.home)


def _routed_sync(parts: Parts) -> Any:
    from connector.usecases.regions import RegionRoutedSync

    syncs = {}
    for p in regions(parts):
        each = mfn_sync(p)
        each.confirm_by_report = nightly(p, each).request_confirmation
        syncs[region_code(p)] = each
    return RegionRoutedSync(syncs, parts.env.amazon_region)


def routed_fba_reconciliation(parts: Parts) -> FbaReconciliation:
    """The operator's and the review page's FBA reconciliation: with several regions, one that sends a
    reconciliation named by id to the region that made it (usecases/regions.py)."""
    regional = regions(parts)
    if len(regional) == 1:
        return fba_reconciliation(parts)
    from connector.usecases.regions import RegionRoutedReconciliation

    routed: Any = RegionRoutedReconciliation({region_code(p): fba_reconciliation(p) for p in regional},
                                             region_code(regional[0]))
    return cast("FbaReconciliation", routed)


def region_code(parts: Parts) -> str:
    return parts.region.code if isinstance(parts, RegionParts) else parts.env.amazon_region


def mfn_syncs(parts: Parts) -> list[MfnSync]:
    """The merchant-fulfilled sync per region: each pushes its own marketplaces with its own client, so the
    EU SKU rule (one quantity per SKU across EU marketplaces) never reaches a .com or .co.jp listing."""
    return [mfn_sync(p) for p in regions(parts)]


def report_jobs_by_region(parts: Parts) -> dict[str, ReportJobs]:
    """Report jobs per region (ledger, returns, inventory reports from each region's endpoint), home first."""
    return {region_code(p): region_report_jobs(p) for p in regions(parts)}


def region_report_jobs(p: Parts) -> ReportJobs:
    """One region's report jobs, keyed under its prefix in the one ReportJobs table (the home region's
    keys are unchanged); its movements go through the one Brightpearl governor like every other write."""
    from connector.adapters.amazon.reports import AmazonReports
    from connector.usecases.report_jobs import ReportJobs

    if not isinstance(p, RegionParts):
        return report_jobs(p)
    return ReportJobs(AmazonReports(p.amazon_on_clock, p.env.amazon_marketplace_ids), movement_service(p),
                      p.report_jobs_store, clock=clock, job_prefix=p.region.job_prefix)


def inbound_shipments_by_region(parts: Parts) -> dict[str, InboundShipments]:
    """Inbound shipments per region, each into its region's FBA warehouse (``regions.<code>.fba_warehouse_id``)."""
    return {region_code(p): inbound_shipments(p) for p in regions(parts)}


def fba_reconciliations(parts: Parts) -> dict[str, FbaReconciliation]:
    """FBA reconciliation per region: its FBA pool (Pan-EU read once for the EU) against its warehouse."""
    return {region_code(p): fba_reconciliation(p) for p in regions(parts)}


def nightlies(parts: Parts) -> dict[str, NightlyReconciliation]:
    return {region_code(p): nightly(p) for p in regions(parts)}
