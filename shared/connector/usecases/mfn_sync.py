"""Use case: keep merchant-fulfilled (MFN) Amazon listings at what Brightpearl can sell.

Triggers, all ending in :meth:`MfnSync.sync_links`:
- a Brightpearl on-hand change (webhook → queue): the products and every bundle containing them;
- a listing gets connected: that listing;
- sync switched back on for a channel: every MFN listing of it, pushed even if unchanged;
- the nightly reconciliation: every listing, compared with what Amazon shows.

Only differences from Amazon's last confirmed value are pushed; few go out as patchListingsItem
calls, many as one JSON_LISTINGS_FEED per marketplace whose per-SKU results come back later
(FEED_PROCESSING_FINISHED → :meth:`MfnSync.apply_feed_result`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from connector.domain.errors import Throttled
from connector.domain.listings import QuantityUpdate
from connector.domain.mfn_sync import LinkView, Push, SyncPlan
from connector.domain.quantities import EU_MARKETPLACES, EuConflict
from connector.domain.slices import MAX_LINKS
from connector.observability import MetricUnit, logger, metrics
from connector.usecases.eu_conflicts import (
    EmailConflictNotifier as EmailConflictNotifier,  # re-exported: callers import it from here
)
from connector.usecases.mfn_run import SyncRun
from connector.usecases.ports import Catalog, Link, Links, Listings, Settings


class SyncSettingsError(RuntimeError):
    """The merchant's settings do not allow a safe push (e.g. no warehouses chosen)."""


class ConflictNotifier(Protocol):
    def eu_conflicts(self, conflicts: Sequence[EuConflict]) -> None: ...


@dataclass
class SyncReport:
    trigger: str
    plan: dict[str, Any] = field(default_factory=dict)
    pushes: list[tuple[str, str, int]] = field(default_factory=list)  # (marketplace, sku, quantity) sent
    patched: list[str] = field(default_factory=list)
    feeds: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # sku -> why
    retryable_failures: int = 0  # failures worth another try (Amazon unreachable, throttled, 5xx)
    ignored_products: int = 0  # webhook ids that no listing is linked to
    # products_changed: the changed product ids whose listings failed (their messages go back to the
    # queue, the others' do not); None when a failed listing cannot be traced to them (a bundle).
    retry_products: set[int] | None = field(default_factory=set)
    not_on_amazon: list[tuple[str, str]] = field(default_factory=list)  # (marketplace, sku): never pushed
    # (marketplace, sku, quantity) not sent: JSON_LISTINGS_FEED's 5 per 5 minutes were used up. Nothing is
    # recorded on their links, so the caller's next run (re-queued message, nightly continuation) sends them.
    deferred: list[tuple[str, str, int]] = field(default_factory=list)
    confirming: str | None = None  # the All Listings report whose arrival confirms and pushes (sync-on)


class FeedResultBusy(RuntimeError):
    """Another run is applying this feed's result right now: retry later (the message goes back)."""


FEED_MAX_MESSAGES = 25_000  # JSON_LISTINGS_FEED's documented maximum (see bench/limits.py for the source)
FEED_CLAIM_SECONDS = 300  # a claim older than this belongs to a run that died: take it over


class MfnSync:
    def __init__(self, *, catalog: Catalog, links: Links, settings: Settings,
                 listings: Listings, marketplace_ids: Sequence[str], notifier: ConflictNotifier | None = None,
                 feed_max_messages: int = FEED_MAX_MESSAGES, max_links: int = MAX_LINKS) -> None:
        self.feed_max_messages = feed_max_messages
        self.max_links = max_links  # a sync over a whole channel plans this many links at a time (sync-on)
        # (marketplace id, whole channel?) → report id: confirm many unchecked listings from one All
        # Listings report instead of one getListingsItem each (the nightly's; set by the composition root).
        self.confirm_by_report: Callable[[str, bool], str] | None = None
        self.catalog = catalog
        self.links = links
        self.settings = settings
        self.listings = listings
        self.marketplace_ids = list(marketplace_ids)
        self.notifier = notifier

    # ------------------------------------------------------------------ triggers
    def products_changed(self, product_ids: Iterable[int]) -> SyncReport:
        ids = set(product_ids)
        affected = ids | self.catalog.bundles_containing(ids)
        links = self.links.by_products(affected)
        linked_products = {int(link.product_id) for link in links}
        report = self.sync_links(links, trigger="on-hand change")
        report.ignored_products = len(ids - linked_products)
        failed = [int(link.product_id) for link in links if link.sku in report.failed]
        untraced = any(p not in ids for p in failed) or (report.retryable_failures and not failed)
        report.retry_products = None if untraced else set(failed)
        if report.ignored_products:
            metrics.add_metric(name="WebhookProductsNotLinked", unit=MetricUnit.Count, value=report.ignored_products)
        return report

    def listing_connected(self, marketplace_id: str, sku: str) -> SyncReport:
        link = self.links.get(marketplace_id, sku)
        if link is None:
            raise KeyError(f"no link for SKU {sku!r} in marketplace {marketplace_id}")
        return self.sync_links([link], trigger="listing connected", force=True)

    def set_sync(self, marketplace_id: str, enabled: bool) -> SyncReport | None:
        """Switch a channel's sync; switching it on pushes every MFN listing of the channel."""
        current = self.settings.channel(marketplace_id)
        self.settings.save_channel(marketplace_id, current.model_copy(update={"sync_enabled": enabled}))
        logger.info("sync switched", extra={"marketplace_id": marketplace_id, "enabled": enabled})
        if not enabled:
            return None
        # The channel's links and, for an EU channel, their EU siblings (the EU rule), a slice at a time
        # (every marketplace of a SKU in one slice) instead of the whole scope in memory (issue 14 item 5).
        eu = [m for m in self.marketplace_ids if m in EU_MARKETPLACES]
        scope = eu if marketplace_id in eu else [marketplace_id]
        if self.confirm_by_report is not None:
            # More unchecked MFN listings than the threshold: one report beats a read per SKU. Counted on
            # one streamed pass that stops at the threshold, nothing kept.
            limit, unchecked = self.settings.global_settings().patch_threshold, 0
            for link in self.links.all():
                if link.marketplace_id in scope and link.fulfillment_channel == "MFN" and link.amazon_status is None:
                    unchecked += 1
                    if unchecked > limit:
                        report = SyncReport(trigger="sync re-activated")
                        report.confirming = self.confirm_by_report(marketplace_id, True)
                        logger.info("sync-on waits for the All Listings report to confirm its listings",
                                    extra={"marketplace_id": marketplace_id, "report_id": report.confirming})
                        return report
        run = self.run("sync re-activated", force=True)
        for part in self.links.slices(scope, max_links=self.max_links):
            skus = {link.sku for link in part.links if link.marketplace_id == marketplace_id}
            run.add([link for link in part.links if link.sku in skus], eu_complete=True, tag=part.start)
        return run.finish()

    def needs_report(self, links: Sequence[Link]) -> bool:
        """More unchecked MFN listings than the patch threshold: one report beats a read per SKU (5/s)."""
        if self.confirm_by_report is None:
            return False
        unchecked = sum(1 for link in links if link.fulfillment_channel == "MFN" and link.amazon_status is None)
        return unchecked > self.settings.global_settings().patch_threshold

    # ------------------------------------------------------------------ the sync itself
    def sync_links(self, links: Sequence[Link], *, trigger: str, force: bool = False,
                   amazon_quantities: Mapping[str, int | None] | None = None,
                   amazon_statuses: Mapping[str, str] | None = None, eu_complete: bool = False) -> SyncReport:
        """Recompute and push. ``amazon_quantities`` (listing id → what Amazon shows, None: not shown)
        replaces the last confirmed value in the comparison (a listing id left out keeps its own), and
        ``amazon_statuses`` (listing id → "confirmed" /
        "not-found") whether Amazon holds the listing, as the nightly reconciliation does.
        ``eu_complete``: ``links`` already hold every EU link of their SKUs (the nightly EU scope)."""
        run = self.run(trigger, force=force)
        run.add(links, amazon_quantities=amazon_quantities, amazon_statuses=amazon_statuses, eu_complete=eu_complete)
        return run.finish()

    def run(self, trigger: str, *, force: bool = False, keep_pushes: bool = True) -> SyncRun:
        """A run over slices of links (``SyncRun.add`` each, then ``finish``): the nightly, sync-on and
        import-links plan and push a bounded slice at a time (issue 14 item 5)."""
        return SyncRun(self, SyncReport(trigger=trigger), force=force, keep_pushes=keep_pushes)

    def _confirm_on_amazon(self, views: Sequence[LinkView], report: SyncReport) -> dict[str, LinkView]:
        """Ask Amazon whether it holds each listing not checked yet (once per link, then recorded):
        a quantity is only ever pushed to a SKU Amazon has for this seller."""
        out: dict[str, LinkView] = {}
        checked: list[tuple[str, str, int | None, str | None]] = []
        for view in views:
            try:
                found = self.listings.lookup(view.sku, view.marketplace_id)
            except Exception as exc:  # unchecked stays unpushed; the change is retried
                report.failed[view.sku] = f"could not check the listing on Amazon: {exc}"
                report.retryable_failures += 1
                continue
            status = "confirmed" if found.exists else "not-found"
            lead = found.lead_time_days if view.lead_time_days is None else None
            why = None if found.exists else f"not on Amazon: {found.reason}"[:500]
            checked.append((view.listing_id, status, lead, why))
            out[view.listing_id] = replace(view, amazon_status=status,
                                           lead_time_days=view.lead_time_days if lead is None else lead)
        if checked:
            self.links.set_amazon_statuses(checked)  # recorded in batches, not one write per listing
        return out

    def _patch(self, push: Push, report: SyncReport, siblings: Sequence[Push] = ()) -> None:
        """One patch; its outcome is recorded for the EU siblings it stands for too (same SKU, same
        listing on Amazon's side)."""
        update = _update(push)
        ids = [push.link.listing_id, *(s.link.listing_id for s in siblings)]
        try:
            outcome = self.listings.patch(update)
        except Exception as exc:  # one listing's failure must not stop the others
            for link_id in ids:
                self.links.record_push(link_id, quantity=push.quantity, confirmed=False, result=f"error: {exc}"[:500])
            report.failed[push.link.sku] = str(exc)
            report.retryable_failures += 1
            metrics.add_metric(name="ListingPushFailed", unit=MetricUnit.Count, value=1)
            return
        if outcome.accepted:
            for link_id in ids:
                self.links.record_push(link_id, quantity=push.quantity, confirmed=True, result="ACCEPTED")
            report.patched.extend([push.link.sku] * len(ids))
        else:
            why = "; ".join(f"{i.get('code')}: {i.get('message')}" for i in outcome.issues) or "INVALID"
            for link_id in ids:
                self.links.record_push(link_id, quantity=push.quantity, confirmed=False,
                                       result=f"rejected: {why}"[:500])
            report.failed[push.link.sku] = why
            metrics.add_metric(name="ListingPushFailed", unit=MetricUnit.Count, value=1)

    def _feed(self, batch: list[Push], report: SyncReport, by_id: dict[str, Link],
              siblings: Mapping[str, Sequence[Push]] | None = None) -> bool:
        """Submit one feed; False when Amazon throttled it (nothing recorded: the push is deferred)."""
        marketplace_id = batch[0].link.marketplace_id
        siblings = siblings or {}
        with_siblings = [(p, [p, *siblings.get(p.link.listing_id, [])]) for p in batch]
        try:
            feed_id, ids = self.listings.submit_feed(marketplace_id, [_update(p) for p in batch])
        except Throttled:
            return False
        except Exception as exc:  # throttled or unreachable: only this feed's listings are handed back
            why = f"error: {exc}"[:500]
            # The status a successful send would have carried (record_feed_sent), so no re-check is needed.
            self.links.set_amazon_statuses((s.link.listing_id, "confirmed", None, None)
                                           for _p, group in with_siblings for s in group)
            self.links.record_pushes((by_id[s.link.listing_id], s.quantity, False, why)
                                     for _p, group in with_siblings for s in group)
            for p in batch:
                report.failed[p.link.sku] = str(exc)
            report.retryable_failures += len(batch)
            metrics.add_metric(name="ListingPushFailed", unit=MetricUnit.Count, value=len(batch))
            return True
        # Pending until the processing report says otherwise; the message id finds each one again
        # (an EU sibling waits on its SKU's one message).
        self.links.record_feed_sent((by_id[s.link.listing_id], s.quantity, feed_id, message_id)
                                    for message_id, (_p, group) in zip(sorted(ids), with_siblings, strict=True)
                                    for s in group)
        report.feeds.append(feed_id)
        metrics.add_metric(name="ListingsFeedsSubmitted", unit=MetricUnit.Count, value=1)
        return True

    def apply_feed_result(self, feed_id: str, result_document_id: str | None, processing_status: str) -> dict[str, int]:
        """Confirm or fail each listing of a finished feed from its processing report.

        Once per feed id: a repeated notification neither downloads the report again (Amazon allows
        one getFeedDocument per 45 s) nor touches the listings. Only listings whose latest send is in
        this feed are updated, so a late result never overwrites a newer send. Listings whose plan
        changed while the feed was in flight are re-planned and pushed at once.
        """
        key = f"feed-result#{feed_id}"
        now = datetime.now(UTC)
        if not self.settings.claim(key, {"status": "claimed", "at": now.isoformat()}):
            held = self.settings.get_value(key)
            if held.get("status") == "applied":
                logger.info("listings feed result already applied", extra={"feed_id": feed_id})
                return {"confirmed": 0, "failed": 0, "duplicate": 1}
            age = (now - datetime.fromisoformat(str(held.get("at", now.isoformat())))).total_seconds()
            if held.get("status") == "claimed" and age < FEED_CLAIM_SECONDS:
                raise FeedResultBusy(f"feed {feed_id} result is being applied by another run")
            self.settings.set_value(key, {"status": "claimed", "at": now.isoformat()})
        try:
            counts = self._apply_feed_result(feed_id, result_document_id, processing_status)
        except Exception:
            self.settings.set_value(key, {"status": "failed", "at": now.isoformat()})
            raise
        self.settings.set_value(key, {"status": "applied", "at": now.isoformat(), **counts})
        return counts

    def _apply_feed_result(self, feed_id: str, result_document_id: str | None,
                           processing_status: str) -> dict[str, int]:
        pending = self.links.pending_in_feed(feed_id)
        counts = {"confirmed": 0, "failed": 0, "replanned": 0}
        if not pending:
            return counts  # nothing waits for this feed (every listing was sent again since)
        errors: dict[int, str] = {}
        if processing_status == "DONE" and result_document_id:
            result = self.listings.feed_report(result_document_id)
            for issue in result.get("issues") or []:
                if issue.get("severity") == "ERROR" and issue.get("messageId") is not None:
                    errors[int(issue["messageId"])] = f"{issue.get('code')}: {issue.get('message')}"
        outcomes: list[tuple[Link, int, bool, str]] = []
        replan: list[Link] = []
        for link in pending:
            sent = link.pending_feed or {}
            message_id, quantity = int(sent["msg"]), int(sent["q"])
            why = errors.get(message_id, "") if processing_status == "DONE" else f"feed {feed_id} {processing_status}"
            outcomes.append((link, quantity, not why, f"rejected: {why}" if why else "ACCEPTED"))
            counts["failed" if why else "confirmed"] += 1
            if sent.get("replan"):
                replan.append(link)
        self.links.record_pushes(outcomes)
        if counts["failed"]:
            metrics.add_metric(name="ListingPushFailed", unit=MetricUnit.Count, value=counts["failed"])
        logger.info("listings feed result applied", extra={"feed_id": feed_id, **counts})
        if replan:
            fresh = [link for link in (self.links.get(x.marketplace_id, x.sku) for x in replan) if link is not None]
            counts["replanned"] = len(self.sync_links(fresh, trigger="feed result").pushes)
        return counts

    def _surface(self, plan: SyncPlan, report: SyncReport, *, notify: bool = True) -> None:
        if report.not_on_amazon:
            logger.warning("linked SKUs Amazon does not hold for this seller: not pushed",
                           extra={"listings": [f"{m}:{s}" for m, s in report.not_on_amazon]})
            metrics.add_metric(name="ListingNotOnAmazon", unit=MetricUnit.Count, value=len(report.not_on_amazon))
        if plan.deleted_products:
            logger.warning("products deleted in Brightpearl: their listings are pushed as 0",
                           extra={"product_ids": plan.deleted_products})
            metrics.add_metric(name="LinkedProductDeleted", unit=MetricUnit.Count, value=len(plan.deleted_products))
        if plan.conflicts:
            logger.warning("EU SKU fed from different settings: pushing the lowest value",
                           extra={"skus": [c.sku for c in plan.conflicts]})
            metrics.add_metric(name="EuSkuConflicts", unit=MetricUnit.Count, value=len(plan.conflicts))
            if self.notifier and notify:  # a run over slices warns once, at its end (SyncRun.finish)
                self.notifier.eu_conflicts(plan.conflicts)


def _one_push_per_eu_sku(pushes: Sequence[Push]) -> tuple[list[Push], dict[str, list[Push]]]:
    """Amazon keeps one quantity per SKU across the EU marketplaces, so an EU SKU is sent once (to its
    first EU marketplace, so the sends of many SKUs share one marketplace and one feed) and the other
    EU links ride on that send. Returns the pushes to send and, per sent listing, the siblings."""
    groups: dict[tuple[str, int], list[Push]] = {}
    out: list[Push] = []
    for p in pushes:
        if p.link.marketplace_id in EU_MARKETPLACES:
            groups.setdefault((p.link.sku, p.quantity), []).append(p)
        else:
            out.append(p)
    siblings: dict[str, list[Push]] = {}
    for group in groups.values():
        group.sort(key=lambda p: p.link.marketplace_id)
        lead, rest = group[0], group[1:]
        out.append(lead)
        if rest:
            siblings[lead.link.listing_id] = rest
    order = {id(p): i for i, p in enumerate(pushes)}
    out.sort(key=lambda p: order[id(p)])
    return out, siblings


def _with_confirmed(view: LinkView, amazon_quantity: int | None) -> LinkView:
    return replace(view, last_confirmed=amazon_quantity)


def _update(push: Push) -> QuantityUpdate:
    return QuantityUpdate(sku=push.link.sku, marketplace_id=push.link.marketplace_id, quantity=push.quantity,
                          lead_time_days=push.link.lead_time_days, shown=push.link.last_confirmed)
