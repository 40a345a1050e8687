"""One builder per Lambda: each composes its use case from the container's :class:`Parts` (issue 12).

A handler caches a builder through ``connector.handlers.Container`` (``once`` / ``per_call`` /
``per_region``). Builders plug in what ``parts`` makes and wrap it in use-case gates (shadow mode,
regions); they import no adapter: ``parts.py`` is the one module that constructs those.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from connector.config import ImportLinksEnv
from connector.wiring.parts import Parts, RegionParts, clock, region_code, regions, store_prefix

if TYPE_CHECKING:
    from connector.domain.refunds import Refund
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
    from connector.usecases.shadow import Shadow


def mfn_sync(parts: Parts) -> MfnSync:
    from connector.usecases.mfn_sync import EmailConflictNotifier, MfnSync
    from connector.usecases.shadow import ShadowLinks, ShadowListings, ShadowSwitch

    # Shadow mode (docs/shadow-mode.md): the gate on the Amazon write port, read at every push.
    listings = ShadowListings(parts.amazon_listings(), shadow_plans(parts),
                              ShadowSwitch(parts.settings.global_settings, "mfn"), clock=clock)
    return MfnSync(catalog=parts.brightpearl_catalog(), links=ShadowLinks(parts.links, listings),
                   settings=parts.settings, listings=listings,
                   marketplace_ids=parts.env.amazon_marketplace_ids,
                   notifier=EmailConflictNotifier(parts.mailer, parts.settings, links=parts.links,
                                                  names=parts.brightpearl_catalog()))


def nightly(parts: Parts, sync: MfnSync | None = None) -> NightlyReconciliation:
    """``sync``: the container's merchant-fulfilled sync when it has one already (notifications)."""
    from connector.usecases.nightly import NightlyReconciliation
    from connector.usecases.shadow import Shadow, ShadowSummaryMail, ShadowSwitch

    sync = sync or mfn_sync(parts)  # one SP-API client (parts.amazon) for the sync and the report
    # MFN in shadow: the night's email is the shadow summary (docs/shadow-mode.md), not "N corrected".
    summary = Shadow(settings=parts.settings, plans=shadow_plans(parts), mailer=parts.mailer, clock=clock)
    mailer = ShadowSummaryMail(parts.mailer, ShadowSwitch(parts.settings.global_settings, "mfn"),
                               lambda: summary.report("mfn", email=True, limit=0))
    return NightlyReconciliation(
        sync=sync, reports_for=parts.amazon_reports,
        links=parts.links, settings=parts.settings, mailer=mailer,
        marketplace_ids=parts.env.amazon_marketplace_ids, names=parts.brightpearl_catalog())


def movement_service(parts: Parts, store: MovementStore | None = None, *,
                     feature: str = "movements") -> MovementService:
    """The movements use case (report rows → Brightpearl corrections and credits); ``store`` wraps the
    movement store (FBA reconciliation observes it); ``feature``: whose shadow switch gates its writes."""
    from connector.usecases.movements import MovementService
    from connector.usecases.shadow import ShadowMovements, ShadowMovementStore, ShadowSwitch

    assert parts.bound
    links = parts.links

    def skus_of(product_ids: Iterable[int]) -> dict[int, str]:
        return {int(link.product_id): link.sku for link in links.by_products(product_ids)}

    # Shadow mode (docs/shadow-mode.md): the gate on the Brightpearl write port; the store marks what it
    # answered "observed".
    gated = ShadowMovements(parts.brightpearl_movements(), shadow_plans(parts),
                            ShadowSwitch(parts.settings.global_settings, feature), feature=feature,
                            skus_of=skus_of, clock=clock)
    return MovementService(ShadowMovementStore(store or parts.movement_store()), gated,
                           parts.sku_resolver(remember=True), parts.settings.global_settings, clock=clock,
                           resolve_skus=parts.sku_batch_resolver(), finances=finances(parts))


def finances(parts: Parts) -> Finances:
    """Finances v0 (returns credited at what Amazon refunded); its SP-API client is built on the first call."""

    class _OnFirstUse:
        def refunds(self, amazon_order_id: str) -> list[Refund]:
            return parts.amazon_finances().refunds(amazon_order_id)

        def refunds_posted(self, after: datetime, before: datetime) -> list[Refund]:
            return parts.amazon_finances().refunds_posted(after, before)

    return _OnFirstUse()


def report_jobs(parts: Parts) -> ReportJobs:
    from connector.usecases.report_jobs import ReportJobs

    return ReportJobs(parts.amazon_reports(parts.env.amazon_marketplace_ids, on_clock=True),
                      movement_service(parts), parts.report_jobs_store, clock=clock)


def fba_reconciliation(parts: Parts) -> FbaReconciliation:
    from connector.usecases.fba_reconciliation import FbaReconciliation
    from connector.usecases.observing_store import ObservingStore

    if not isinstance(parts, RegionParts) and len(regions(parts)) > 1:
        parts = regions(parts)[0]  # the operator's and the page's: the home region's view (its links, shipments)
    observed = ObservingStore(parts.movement_store())
    catalog = parts.brightpearl_catalog()
    # Corrections go through the movements service: same keys, batching, governor, recovery and audit.
    return FbaReconciliation(
        links=parts.links.all, marketplace_ids=parts.env.amazon_marketplace_ids,
        inventory=parts.fba_inventory(), reports_for=parts.amazon_reports,
        catalog=catalog, names=catalog, shipments=_region_records(parts, parts.shipment_records()).open,
        inbound=parts.amazon_inbound(), movements=movement_service(parts, observed, feature="reconciliation"),
        observed=observed,
        settings=parts.settings, store=parts.reconciliations(store_prefix(parts)), mailer=parts.mailer, clock=clock)


def reconciliation_store(parts: Parts) -> Reconciliations:
    """The FBA reconciliations' items (the notifications function records the MYI report's arrival there)."""
    assert parts.bound
    return parts.reconciliations(store_prefix(parts))


def inbound_shipments(parts: Parts) -> InboundShipments:
    from connector.usecases.inbound_shipments import InboundShipments
    from connector.usecases.shadow import ShadowSwitch
    from connector.usecases.shadow_inbound import ShadowMail, ShadowShipmentStore, ShadowTransfers

    assert parts.bound
    url = getattr(parts.env, "inbound_continue_queue_url", None)
    links = parts.links
    # Shadow mode (docs/shadow-mode.md): the gate on the Brightpearl write port, the run's records kept in
    # memory, its emails held back.
    on = ShadowSwitch(parts.settings.global_settings, "inbound")
    transfers = ShadowTransfers(parts.brightpearl_transfers(), shadow_plans(parts), on, clock=clock,
                                skus_of=lambda pids: {int(lk.product_id): lk.sku for lk in links.by_products(pids)})
    return InboundShipments(
        amazon=parts.amazon_inbound(), transfers=transfers,
        records=ShadowShipmentStore(_region_records(parts, parts.shipment_records()), on),
        settings=parts.settings.global_settings,
        # not remembered: a run may follow a re-link made since the last one in this container
        product_for=parts.sku_resolver(remember=False), mail=ShadowMail(parts.mailer, on),
        continuations=parts.inbound_continuations(url) if url else None, names=parts.brightpearl_catalog())


def removals(parts: Parts) -> Removals:
    """FBA removal orders (docs/removals.md): its own report requests, Brightpearl transfers and disposals."""
    from connector.usecases.removals import Removals

    assert parts.bound
    return Removals(parts.amazon_reports(parts.env.amazon_marketplace_ids, on_clock=True),
                    parts.brightpearl_transfers(), parts.removal_store(store_prefix(parts)),
                    parts.settings.global_settings, parts.sku_resolver(remember=False), parts.mailer, clock=clock)


def operator(parts: Parts) -> Operator:
    from connector.usecases.operator import Operator

    sync = mfn_sync(parts)
    # Many unchecked listings (sync-on, import-links) are confirmed from one All Listings report.
    sync.confirm_by_report = nightly(parts, sync).request_confirmation
    if len(regions(parts)) > 1:  # several Amazon regions: each command to its marketplace's region
        sync = _routed_sync(parts)
    return Operator(sync=sync, links=parts.links, settings=parts.settings,
                    seller_id=parts.env.amazon_seller_id, directory=parts.brightpearl_catalog(),
                    fba_reconciliation=lambda: routed_fba_reconciliation(parts), shadow=lambda: shadow(parts, sync))


def shadow_plans(parts: Parts) -> ShadowPlans:
    """Shadow mode's plan store (items in the settings table)."""
    return parts.shadow_plan_store()


def shadow(parts: Parts, sync: MfnSync | None = None) -> Shadow:
    """The operator's shadow commands: status, the summary (CLI, email), on/off (docs/shadow-mode.md)."""
    from connector.usecases.shadow import Shadow

    return Shadow(settings=parts.settings, plans=shadow_plans(parts), mailer=parts.mailer,
                  sync=sync or mfn_sync(parts), marketplace_ids=parts.env.amazon_marketplace_ids, clock=clock)


def import_jobs(parts: Parts) -> ImportJobs:
    from connector.usecases.import_job import ImportJobs

    env = parts.env
    assert isinstance(env, ImportLinksEnv)
    queue = parts.queue(env.import_links_queue_url)

    def send(message: dict[str, Any]) -> None:
        queue.send(message)

    return ImportJobs(parts.settings, send, operator(parts).run, list(env.amazon_marketplace_ids))


def pages(parts: Parts) -> Pages:
    """The pages linked from emails (issue 17): the reconciliation is built on first use, so the nightly
    page needs no Brightpearl or Amazon client."""
    from connector.config import ConfigError
    from connector.usecases.approval_page import Pages
    from connector.wiring.parts import signing_key

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
    return Pages(key=signing_key(env.page_link_secret_name), reconciliation=reconciliation,
                 nonces=parts.page_nonces(), failing=failing, sender=parts.sender,
                 download=exports.presign if exports else None)


FAILING = ("rejected", "error", "not on Amazon")  # the nightly check's "failing" (usecases/nightly.py)


# ------------------------------------------- the use-case gates of a several-region stack (issue 16 item 1)


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
