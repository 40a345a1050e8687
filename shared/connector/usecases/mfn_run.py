"""One MFN sync run over one or many slices of links (issue 14 item 5): each slice is planned and dropped;
the pushes it produces wait in an outbox per marketplace until a feed is full, so slicing never splits a
feed, and the patch-or-feed choice is the unsliced one (patches only when the whole run has at most
``patch_threshold`` sends). :meth:`MfnSync.sync_links` is one run of one slice.

Kept across slices: counts, the outbox (at most one feed's messages per marketplace plus their EU siblings),
the EU conflicts (one warning for the run) and what the caller asked to keep; nothing per listing else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from connector.domain.mfn_sync import ChannelRule, Push, SyncPlan, plan_mfn_push
from connector.domain.quantities import EU_MARKETPLACES, EuConflict
from connector.observability import MetricUnit, logger, metrics
from connector.usecases.ports import Link

if TYPE_CHECKING:
    from connector.usecases.mfn_sync import MfnSync, SyncReport

_LISTS = ("deleted_products", "eu_conflicts", "not_on_amazon")


class SyncRun:
    def __init__(self, sync: MfnSync, report: SyncReport, *, force: bool = False, keep_pushes: bool = True) -> None:
        self.sync, self.report, self.force, self.keep_pushes = sync, report, force, keep_pushes
        self.threshold = sync.settings.global_settings().patch_threshold
        self.rules: dict[str, ChannelRule] = {}
        # marketplace -> [(the push sent, its EU siblings riding on it)], with the links they record on
        self.outbox: dict[str, list[tuple[int, Push, list[Push]]]] = {}
        self.waiting: dict[str, Any] = {}  # listing id -> its LinkView, until its send is recorded
        self.sent = 0  # sends (after one per EU SKU) planned in this run
        self.fed = False  # a feed went out: the rest go as feeds too (the run is above the threshold)
        self.throttled = False
        self.conflicts: list[EuConflict] = []
        self.pushed = 0  # listings planned for a push (EU siblings counted), kept or not
        self.tags: dict[int, int] = {}  # outbox entry -> the caller's tag of its slice (its first bucket)
        self.deferred_from: int | None = None  # the smallest tag of a deferred push: a continuation starts there
        if not report.plan:
            report.plan = SyncPlan().summary()

    # ------------------------------------------------------------------ one slice
    def add(self, links: Sequence[Link], *, amazon_quantities: Mapping[str, int | None] | None = None,
            amazon_statuses: Mapping[str, str] | None = None, eu_complete: bool = False,
            tag: int = 0) -> list[Push]:
        """Plan one slice and queue its pushes; full feeds go out at once. Returns the slice's planned pushes."""
        from connector.usecases.mfn_sync import SyncSettingsError, _one_push_per_eu_sku, _with_confirmed

        sync, report = self.sync, self.report
        if not eu_complete:
            links = sync.links.eu_siblings(links, [m for m in sync.marketplace_ids if m in EU_MARKETPLACES])
        views = [sync.links.view(link) for link in links]
        if amazon_quantities is not None:
            views = [_with_confirmed(v, amazon_quantities[v.listing_id]) if v.listing_id in amazon_quantities
                     else v for v in views]
        if amazon_statuses is not None:
            views = [replace(v, amazon_status=amazon_statuses.get(v.listing_id, v.amazon_status)) for v in views]
        new = sorted({v.marketplace_id for v in views} - set(self.rules))
        if new:
            self.rules.update(sync.settings.rules(new))
        rules = self.rules
        for m in new:
            rule = rules.get(m)
            if rule and rule.enabled and not rule.warehouses:
                raise SyncSettingsError(
                    f"no warehouses chosen for merchant-fulfilled listings (marketplace {rule.marketplace_id}): "
                    "set mfn_warehouses in the settings before switching sync on; nothing was pushed")
        live = [v for v in views
                if v.channel == "MFN" and rules.get(v.marketplace_id) and rules[v.marketplace_id].enabled]
        checked = sync._confirm_on_amazon([v for v in live if v.amazon_status is None], report)
        views = [checked.get(v.listing_id, v) for v in views]
        wanted = {v.product_id for v in live}
        availability, compositions, known = sync.catalog.stock_inputs(wanted) if wanted else ({}, {}, set())
        plan = plan_mfn_push(views, rules, compositions, availability, known, force=self.force)
        del availability, compositions, known, checked
        self._count(plan.summary())
        by_view = {v.listing_id: v for v in views}
        report.not_on_amazon += [(by_view[i].marketplace_id, by_view[i].sku) for i in plan.not_on_amazon]
        sync._surface(plan, report, notify=False)
        self.conflicts += plan.conflicts
        if plan.deferred:
            sync.links.mark_replan(plan.deferred)
        self.pushed += len(plan.pushes)
        if self.keep_pushes:
            report.pushes += [(p.link.marketplace_id, p.link.sku, p.quantity) for p in plan.pushes]
        sent, siblings = _one_push_per_eu_sku(plan.pushes)
        for push in sent:
            group = siblings.get(push.link.listing_id, [])
            self.outbox.setdefault(push.link.marketplace_id, []).append((self.sent, push, group))
            self.tags[self.sent] = tag
            self.sent += 1
            for p in (push, *group):
                # The bookkeeping needs a link's id (and SKU): its compact view, not the record read.
                self.waiting[p.link.listing_id] = p.link
        if self.sent > self.threshold:
            for marketplace in sorted(self.outbox):
                while len(self.outbox.get(marketplace, ())) >= self.sync.feed_max_messages:
                    self._send_feed(marketplace)
        return plan.pushes

    def _count(self, summary: dict[str, Any]) -> None:
        plan = self.report.plan
        for key, value in summary.items():
            if key in _LISTS:
                plan[key] = sorted(set(plan.get(key, [])) | set(value)) if key == "deleted_products" \
                    else [*plan.get(key, []), *value]
            else:
                plan[key] = plan.get(key, 0) + value

    # ------------------------------------------------------------------ the sends
    def _send_feed(self, marketplace: str) -> None:
        queue = self.outbox[marketplace]
        batch, self.outbox[marketplace] = queue[:self.sync.feed_max_messages], queue[self.sync.feed_max_messages:]
        if not self.outbox[marketplace]:
            del self.outbox[marketplace]
        self.fed = True
        pushes = [p for _, p, _g in batch]
        siblings = {p.link.listing_id: group for _, p, group in batch if group}
        # Once Amazon refuses a feed for its 5-per-5-minutes cap, the rest wait too (untouched).
        self.throttled = self.throttled or not self.sync._feed(pushes, self.report, self.waiting, siblings)
        if self.throttled:
            self.report.deferred += [(s.link.marketplace_id, s.link.sku, s.quantity)
                                     for _, p, group in batch for s in (p, *group)]
            first = min(self.tags[n] for n, _p, _g in batch)
            self.deferred_from = first if self.deferred_from is None else min(self.deferred_from, first)
        for n, p, group in batch:
            self.tags.pop(n, None)
            for s in (p, *group):
                self.waiting.pop(s.link.listing_id, None)

    def finish(self, *, warn: bool = True) -> SyncReport:
        """Send what waits (patches when the whole run stayed at or under the threshold, else feeds), then
        the run's one EU warning (``warn=False``: the caller warns, e.g. at a continued job's last pass, and
        finds them in ``conflicts``) and its log line. Also where a run stopped early flushes its outbox."""
        report = self.report
        if not self.fed and self.sent <= self.threshold:
            for _, push, group in sorted((e for q in self.outbox.values() for e in q), key=lambda e: e[0]):
                self.sync._patch(push, report, group)
            self.outbox.clear()
        for marketplace in sorted(self.outbox):
            while marketplace in self.outbox:
                self._send_feed(marketplace)
        self.waiting.clear()
        self.tags.clear()
        if warn:
            self.warn(self.conflicts)
            self.conflicts = []
        if report.deferred:
            logger.info("listings feeds deferred: JSON_LISTINGS_FEED quota used up",
                        extra={"deferred": len(report.deferred)})
            metrics.add_metric(name="ListingPushDeferred", unit=MetricUnit.Count, value=len(report.deferred))
            report.retryable_failures += len(report.deferred)  # a queued trigger goes back to its queue
        logger.info("mfn sync", extra={"trigger": report.trigger, **{k: (len(v) if isinstance(v, list) else v)
                                                                       for k, v in report.plan.items()},
                                       "patched": len(report.patched), "feeds": report.feeds,
                                       "failed": len(report.failed)})
        return report

    def warn(self, conflicts: Sequence[EuConflict]) -> None:
        if conflicts and self.sync.notifier:
            self.sync.notifier.eu_conflicts(conflicts)
