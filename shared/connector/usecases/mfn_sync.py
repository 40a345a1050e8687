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

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from connector.adapters.amazon.listings import PatchOutcome, QuantityUpdate
from connector.adapters.repositories import LinkRepository, SettingsRepository
from connector.adapters.store import ListingLink
from connector.domain.mfn_sync import LinkView, Push, SyncPlan, plan_mfn_push, split_for_push
from connector.domain.quantities import Composition, EuConflict
from connector.observability import MetricUnit, logger, metrics


class SyncSettingsError(RuntimeError):
    """The merchant's settings do not allow a safe push (e.g. no warehouses chosen)."""


class Catalog(Protocol):
    def bundles_containing(self, product_ids: Iterable[int]) -> set[int]: ...

    def stock_inputs(self, product_ids: Iterable[int]) -> tuple[dict[int, dict[str, Any]], dict[int, Composition],
                                                                set[int]]: ...


class Listings(Protocol):
    def current_availability(self, sku: str, marketplace_id: str) -> dict[str, Any] | None: ...

    def patch(self, update: QuantityUpdate) -> PatchOutcome: ...

    def submit_feed(self, marketplace_id: str, updates: list[QuantityUpdate]) -> tuple[str, dict[int, str]]: ...

    def feed_status(self, feed_id: str) -> dict[str, Any]: ...

    def feed_report(self, result_document_id: str) -> dict[str, Any]: ...


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


class MfnSync:
    def __init__(self, *, catalog: Catalog, links: LinkRepository, settings: SettingsRepository,
                 listings: Listings, marketplace_ids: Sequence[str], notifier: ConflictNotifier | None = None) -> None:
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
        links = [link for link in self.links.all() if link.marketplace_id == marketplace_id]
        return self.sync_links(links, trigger="sync re-activated", force=True)

    # ------------------------------------------------------------------ the sync itself
    def sync_links(self, links: Sequence[ListingLink], *, trigger: str, force: bool = False,
                   amazon_quantities: Mapping[str, int | None] | None = None) -> SyncReport:
        """Recompute and push. ``amazon_quantities`` (listing id → what Amazon shows) replaces the
        last confirmed value in the comparison, as the nightly reconciliation does."""
        report = SyncReport(trigger=trigger)
        views = [self.links.view(link) for link in links]
        if amazon_quantities is not None:
            views = [_with_confirmed(v, amazon_quantities.get(v.listing_id)) for v in views]
        marketplaces = sorted({v.marketplace_id for v in views})
        rules = self.settings.rules(marketplaces)
        for rule in rules.values():
            if rule.enabled and not rule.warehouses:
                raise SyncSettingsError(
                    f"no warehouses chosen for merchant-fulfilled listings (marketplace {rule.marketplace_id}): "
                    "set mfn_warehouses in the settings before switching sync on; nothing was pushed")
        wanted = {v.product_id for v in views
                  if v.channel == "MFN" and rules.get(v.marketplace_id) and rules[v.marketplace_id].enabled}
        availability, compositions, known = self.catalog.stock_inputs(wanted) if wanted else ({}, {}, set())
        plan = plan_mfn_push(views, rules, compositions, availability, known, force=force)
        report.plan = plan.summary()
        self._surface(plan)
        threshold = self.settings.global_settings().patch_threshold
        report.pushes = [(p.link.marketplace_id, p.link.sku, p.quantity) for p in plan.pushes]
        patches, feeds = split_for_push(plan.pushes, threshold)
        for push in patches:
            self._patch(push, report)
        by_id = {link.listing_id: link for link in links}
        for batch in feeds:
            self._feed(batch, report, by_id)
        logger.info("mfn sync", extra={"trigger": trigger, **report.plan, "patched": len(report.patched),
                                       "feeds": report.feeds, "failed": len(report.failed)})
        return report

    def _patch(self, push: Push, report: SyncReport) -> None:
        update = _update(push)
        try:
            outcome = self.listings.patch(update)
        except Exception as exc:  # one listing's failure must not stop the others
            self.links.record_push(push.link.listing_id, quantity=push.quantity, confirmed=False,
                                   result=f"error: {exc}"[:500])
            report.failed[push.link.sku] = str(exc)
            report.retryable_failures += 1
            metrics.add_metric(name="ListingPushFailed", unit=MetricUnit.Count, value=1)
            return
        if outcome.accepted:
            self.links.record_push(push.link.listing_id, quantity=push.quantity, confirmed=True, result="ACCEPTED")
            report.patched.append(push.link.sku)
        else:
            why = "; ".join(f"{i.get('code')}: {i.get('message')}" for i in outcome.issues) or "INVALID"
            self.links.record_push(push.link.listing_id, quantity=push.quantity, confirmed=False,
                                   result=f"rejected: {why}"[:500])
            report.failed[push.link.sku] = why
            metrics.add_metric(name="ListingPushFailed", unit=MetricUnit.Count, value=1)

    def _feed(self, batch: list[Push], report: SyncReport, by_id: dict[str, ListingLink]) -> None:
        marketplace_id = batch[0].link.marketplace_id
        feed_id, ids = self.listings.submit_feed(marketplace_id, [_update(p) for p in batch])
        # Pending until the processing report says otherwise; the message id finds each one again.
        self.links.record_pushes((by_id[push.link.listing_id], push.quantity, False, f"feed:{feed_id}:{message_id}")
                                 for message_id, push in zip(sorted(ids), batch, strict=True))
        report.feeds.append(feed_id)
        metrics.add_metric(name="ListingsFeedsSubmitted", unit=MetricUnit.Count, value=1)

    def apply_feed_result(self, feed_id: str, result_document_id: str | None, processing_status: str) -> dict[str, int]:
        """Confirm or fail each listing of a finished feed from its processing report (idempotent)."""
        pending = [link for link in self.links.all() if (link.last_result or "").startswith(f"feed:{feed_id}:")]
        errors: dict[int, str] = {}
        if processing_status == "DONE" and result_document_id:
            result = self.listings.feed_report(result_document_id)
            for issue in result.get("issues") or []:
                if issue.get("severity") == "ERROR" and issue.get("messageId") is not None:
                    errors[int(issue["messageId"])] = f"{issue.get('code')}: {issue.get('message')}"
        counts = {"confirmed": 0, "failed": 0}
        outcomes: list[tuple[ListingLink, int, bool, str]] = []
        for link in pending:
            message_id = int(str(link.last_result).rsplit(":", 1)[1])
            quantity = int(link.last_pushed_quantity or 0)
            why = errors.get(message_id, "") if processing_status == "DONE" else f"feed {feed_id} {processing_status}"
            outcomes.append((link, quantity, not why, f"rejected: {why}" if why else "ACCEPTED"))
            counts["failed" if why else "confirmed"] += 1
        self.links.record_pushes(outcomes)
        if counts["failed"]:
            metrics.add_metric(name="ListingPushFailed", unit=MetricUnit.Count, value=counts["failed"])
        logger.info("listings feed result applied", extra={"feed_id": feed_id, **counts})
        return counts

    def _surface(self, plan: SyncPlan) -> None:
        if plan.deleted_products:
            logger.warning("products deleted in Brightpearl: their listings are pushed as 0",
                           extra={"product_ids": plan.deleted_products})
            metrics.add_metric(name="LinkedProductDeleted", unit=MetricUnit.Count, value=len(plan.deleted_products))
        if plan.conflicts:
            logger.warning("EU SKU fed from different settings: pushing the lowest value",
                           extra={"skus": [c.sku for c in plan.conflicts]})
            metrics.add_metric(name="EuSkuConflicts", unit=MetricUnit.Count, value=len(plan.conflicts))
            if self.notifier:
                self.notifier.eu_conflicts(plan.conflicts)


def _with_confirmed(view: LinkView, amazon_quantity: int | None) -> LinkView:
    return replace(view, last_confirmed=amazon_quantity)


def _update(push: Push) -> QuantityUpdate:
    return QuantityUpdate(sku=push.link.sku, marketplace_id=push.link.marketplace_id, quantity=push.quantity,
                          lead_time_days=push.link.lead_time_days)


def conflict_fingerprint(conflicts: Sequence[EuConflict]) -> str:
    """Stable id of a set of conflicts, so the same warning is emailed once, not on every sync."""
    text = "|".join(f"{c.sku}:{sorted(c.settings.items())}" for c in sorted(conflicts, key=lambda c: c.sku))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class EmailConflictNotifier:
    """Emails the EU SKU warning once per distinct set of conflicts (not on every sync)."""

    KEY = "eu-conflicts#last-emailed"

    def __init__(self, mailer: Any, settings: SettingsRepository) -> None:
        self.mailer = mailer
        self.settings = settings

    def eu_conflicts(self, conflicts: Sequence[EuConflict]) -> None:
        from connector.adapters.email import Email, table

        fingerprint = conflict_fingerprint(conflicts)
        if self.settings.get_value(self.KEY).get("fingerprint") == fingerprint:
            return
        rows = [[c.sku, ", ".join(f"{m}: {q}" for m, q in sorted(c.quantities.items())),
                 ", ".join(f"{m}: {s}" for m, s in sorted(c.settings.items())), c.pushed] for c in conflicts]
        text, html = table(["SKU", "quantity per marketplace", "settings per marketplace", "pushed"], rows)
        intro = ("In the EU, Amazon keeps one quantity per SKU across all marketplaces, but these SKUs are "
                 "linked in several EU marketplaces whose settings give different quantities. The connector "
                 "pushes the lowest value (so no marketplace oversells). Align the warehouse settings of "
                 "these marketplaces, or link each SKU once.")
        self.mailer.send(Email(subject=f"Amazon EU: {len(conflicts)} SKU(s) fed from different settings",
                               text=f"{intro}\n\n{text}\n", html=f"<p>{intro}</p>{html}"))
        self.settings.set_value(self.KEY, {"fingerprint": fingerprint})
