"""Several Amazon regions in one stack (issue 16 item 1, docs/regions.md): what the handlers need to run
one use case per region and to route an Amazon notification to the region it came from."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from connector.domain.mfn_sync import ChannelRule
from connector.domain.region_settings import settings_for_region
from connector.domain.regions import region_of
from connector.domain.settings import GlobalSettings, channel_rules
from connector.usecases.mfn_sync import MfnSync, SyncReport
from connector.usecases.ports import Links, Settings


class RegionalSettings:
    """The settings store as one region's work sees it: ``global_settings()`` with the region's values
    (``regions.<code>``) laid over the global ones; everything else is the store itself."""

    def __init__(self, store: Settings, code: str) -> None:
        self._store = store
        self.code = code

    def global_settings(self) -> GlobalSettings:
        return settings_for_region(self._store.global_settings(), self.code)

    def rules(self, marketplace_ids: Iterable[str]) -> dict[str, ChannelRule]:
        """Each marketplace's sync rule over the region's settings (its warehouses, unless the channel's own)."""
        mids = list(marketplace_ids)
        return channel_rules(self.global_settings(), {mid: self._store.channel(mid) for mid in mids}, mids)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def region_of_job(job_id: str, codes: Iterable[str], home: str) -> str:
    """The region a report job belongs to, from its key's prefix (``na#…``; none: the home region)."""
    head = job_id.split("#", 1)[0]
    return head if head in set(codes) and head != home else home


def sync_for_feed(links: Links, syncs: Mapping[str, MfnSync], feed_id: str, home: str) -> MfnSync:
    """The region whose listings wait on ``feed_id`` (a feed is one region's: its marketplaces are)."""
    for link in links.pending_in_feed(feed_id):
        code = region_of(link.marketplace_id)
        if code is not None and code in syncs:
            return syncs[code]
    return syncs[home]


def products_changed(syncs: Sequence[MfnSync], product_ids: Iterable[int],
                     per_region: Callable[[int, SyncReport], None] | None = None) -> SyncReport:
    """One stock change pushed in every region, each to its own marketplaces; one report for the batch.
    ``per_region(i, report)``: each region's own report, as it finishes (the Region metrics)."""
    ids = list(product_ids)
    reports = [sync.products_changed(ids) for sync in syncs]
    if len(reports) == 1:
        return reports[0]
    for i, r in enumerate(reports):
        if per_region is not None:
            per_region(i, r)
    return merge_reports(reports)


def merge_reports(reports: Sequence[SyncReport]) -> SyncReport:
    """Several regions' sync reports as one (plan counts summed; a retry set None if any region's is)."""
    if len(reports) == 1:
        return reports[0]
    out = SyncReport(trigger=reports[0].trigger)
    for r in reports:
        for key, value in r.plan.items():
            out.plan[key] = out.plan.get(key, 0) + value if isinstance(value, int) else value
        out.pushes += r.pushes
        out.patched += r.patched
        out.feeds += r.feeds
        out.failed.update(r.failed)
        out.retryable_failures += r.retryable_failures
        out.not_on_amazon += r.not_on_amazon
        out.deferred += r.deferred
        if out.retry_products is not None:
            out.retry_products = None if r.retry_products is None else out.retry_products | r.retry_products
    # Not linked in any region: at most the fewest any one region ignored (the log's figure, a bound).
    out.ignored_products = min(r.ignored_products for r in reports)
    return out


OWNERS_KEY = "inbound-regions"  # settings item: {shipment id: region} for the open shipments of non-home regions


class RegionShipmentRecords:
    """The inbound shipments store as one region's runs see it: ``open()`` only the region's own, so a
    run never settles another region's pending write with its own warehouse, nor asks its endpoint for a
    shipment of another region. Shipment ids are Amazon's (unique), so ``get`` needs no filter. Which
    region a shipment is of is noted when it is first recorded (home: no note); notes of shipments no
    longer open are dropped, so the note stays as small as the open shipments."""

    def __init__(self, store: Any, settings: Settings, code: str, *, home: bool) -> None:
        self._store = store
        self._settings = settings
        self.code = code
        self.home = home

    def new(self, shipment_id: str, status: str) -> Any:
        if not self.home:
            owners = dict(self._settings.get_value(OWNERS_KEY))
            if owners.get(shipment_id) != self.code:
                self._settings.set_value(OWNERS_KEY, {**owners, shipment_id: self.code})
        return self._store.new(shipment_id, status)

    def open(self) -> list[Any]:
        records = self._store.open()
        owners = dict(self._settings.get_value(OWNERS_KEY))
        ids = {r.shipment_id for r in records}
        # Dropped only once its record exists and is over: a shipment being recorded right now (noted,
        # not saved yet) keeps its note.
        over = {k for k in set(owners) - ids if self._store.get(k) is not None}
        if over:
            self._settings.set_value(OWNERS_KEY, {k: v for k, v in owners.items() if k not in over})
        if self.home:
            return [r for r in records if r.shipment_id not in owners]
        return [r for r in records if owners.get(r.shipment_id) == self.code]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


class RegionLinks:
    """The listing links as one region's work sees them: only its marketplaces' links come back from
    the reads that gather work (a US link is never planned, pushed or fed through the EU endpoint)."""

    def __init__(self, links: Links, marketplace_ids: Iterable[str]) -> None:
        self._links = links
        self.marketplace_ids = frozenset(marketplace_ids)

    def _own(self, links: Iterable[Any]) -> list[Any]:
        return [link for link in links if link.marketplace_id in self.marketplace_ids]

    def by_products(self, product_ids: Iterable[int]) -> list[Any]:
        return self._own(self._links.by_products(product_ids))

    def all(self) -> Iterator[Any]:
        return (link for link in self._links.all() if link.marketplace_id in self.marketplace_ids)  # streamed

    def slices(self, marketplace_ids: Iterable[str], **kwargs: Any) -> Iterator[Any]:
        return self._links.slices([m for m in marketplace_ids if m in self.marketplace_ids], **kwargs)

    def eu_siblings(self, links: Iterable[Any], eu_marketplaces: Iterable[str]) -> list[Any]:
        return self._own(self._links.eu_siblings(links, eu_marketplaces))

    def pending_in_feed(self, feed_id: str) -> list[Any]:
        return self._own(self._links.pending_in_feed(feed_id))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._links, name)


class RegionRoutedSync:
    """The operator's merchant-fulfilled sync across regions: a command naming a marketplace goes to that
    marketplace's region (its client, its links, its settings); listings of several regions are synced
    each in its own region. Marketplaces: every region's, home first."""

    def __init__(self, syncs: Mapping[str, MfnSync], home: str) -> None:
        self.syncs = dict(syncs)
        self.home = home
        self.marketplace_ids = [m for sync in self.syncs.values() for m in sync.marketplace_ids]
        self.listings = _RoutedListings(self)
        self.settings = self.syncs[home].settings
        self.confirm_by_report: Callable[[str, bool], str] | None = (
            self._confirm_by_report if all(s.confirm_by_report for s in self.syncs.values()) else None)

    def sync_for(self, marketplace_id: str) -> MfnSync:
        code = region_of(marketplace_id)
        return self.syncs[code] if code in self.syncs else self.syncs[self.home]

    def _confirm_by_report(self, marketplace_id: str, whole: bool) -> str:
        confirm = self.sync_for(marketplace_id).confirm_by_report
        assert confirm is not None
        return confirm(marketplace_id, whole)

    def listing_connected(self, marketplace_id: str, sku: str) -> SyncReport:
        return self.sync_for(marketplace_id).listing_connected(marketplace_id, sku)

    def set_sync(self, marketplace_id: str, enabled: bool) -> SyncReport | None:
        return self.sync_for(marketplace_id).set_sync(marketplace_id, enabled)

    def needs_report(self, links: Sequence[Any]) -> bool:
        return self.syncs[self.home].needs_report(links)

    def sync_links(self, links: Sequence[Any], **kw: Any) -> SyncReport:
        by_region: dict[int, list[Any]] = {}
        order: list[MfnSync] = []
        for link in links:
            sync = self.sync_for(link.marketplace_id)
            if sync not in order:
                order.append(sync)
            by_region.setdefault(order.index(sync), []).append(link)
        if not order:
            return self.syncs[self.home].sync_links([], **kw)
        return merge_reports([order[i].sync_links(group, **kw) for i, group in sorted(by_region.items())])

    def __getattr__(self, name: str) -> Any:
        return getattr(self.syncs[self.home], name)


class _RoutedListings:
    def __init__(self, routed: RegionRoutedSync) -> None:
        self._routed = routed

    def lookup(self, sku: str, marketplace_id: str) -> Any:
        return self._routed.sync_for(marketplace_id).listings.lookup(sku, marketplace_id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._routed.syncs[self._routed.home].listings, name)


class RegionRoutedReconciliation:
    """The FBA reconciliations of several regions behind one face, for the operator and the review page: a
    reconciliation named by id is approved by the region whose latest it is (its FBA warehouse, its
    settings); ``start``/``poll`` and the rest are the home region's. Ids carry a random suffix and headers
    are shared (adapters/reconciliation_store.py), so any region shows any id; an id that is no region's
    latest goes home, which refuses it as superseded."""

    def __init__(self, by_region: Mapping[str, Any], home: str) -> None:
        self.by_region = dict(by_region)
        self.home = self.by_region[home]

    def owner(self, rid: str | None) -> Any:
        if rid:
            for recon in self.by_region.values():
                if recon.store.latest() == rid:
                    return recon
        return self.home

    def show(self, rid: str | None = None, **kw: Any) -> dict[str, Any]:
        return dict(self.owner(rid).show(rid, **kw))

    def rows(self, rid: str) -> list[list[Any]]:
        return list(self.owner(rid).rows(rid))

    def approve(self, rid: str, **kw: Any) -> dict[str, Any]:
        return dict(self.owner(rid).approve(rid, **kw))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.home, name)
