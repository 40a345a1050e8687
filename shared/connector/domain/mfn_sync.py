"""Which merchant-fulfilled listings to push, and with what quantity (pure: data in, plan out)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from connector.domain.quantities import (
    NO_BUFFER,
    BufferRule,
    Composition,
    EuConflict,
    ListingTarget,
    apply_buffer,
    on_hand_over,
    resolve_eu_skus,
    sellable_quantity,
)


@dataclass(frozen=True, slots=True)
class LinkView:
    listing_id: str
    sku: str
    marketplace_id: str
    product_id: int
    channel: str  # MFN or FBA
    last_confirmed: int | None = None
    lead_time_days: int | None = None
    buffer: BufferRule | None = None  # per-listing rule overrides the channel's
    amazon_status: str | None = None  # "confirmed", "not-found", or None (not checked yet)
    pending: int | None = None  # quantity of a feed message still in flight


@dataclass(frozen=True)
class ChannelRule:
    marketplace_id: str
    enabled: bool
    warehouses: tuple[int, ...]
    buffer: BufferRule = NO_BUFFER

    @property
    def settings_key(self) -> str:
        return "warehouses:" + ",".join(map(str, sorted(self.warehouses)))


@dataclass(frozen=True, slots=True)
class Push:
    link: LinkView
    quantity: int
    reason: str  # "changed", "forced", "deleted-product"


@dataclass
class SyncPlan:
    pushes: list[Push] = field(default_factory=list)
    unchanged: int = 0
    skipped_fba: int = 0
    skipped_sync_off: int = 0
    deleted_products: list[int] = field(default_factory=list)
    conflicts: list[EuConflict] = field(default_factory=list)
    not_on_amazon: list[str] = field(default_factory=list)  # listing ids never pushed: Amazon lacks the SKU
    deferred: list[str] = field(default_factory=list)  # listing ids waiting for their feed in flight

    def summary(self) -> dict[str, Any]:
        return {"pushes": len(self.pushes), "unchanged": self.unchanged, "skipped_fba": self.skipped_fba,
                "skipped_sync_off": self.skipped_sync_off, "deleted_products": sorted(self.deleted_products),
                "eu_conflicts": [c.sku for c in self.conflicts], "not_on_amazon": sorted(self.not_on_amazon),
                "deferred": len(self.deferred)}


def plan_mfn_push(links: Iterable[LinkView], rules: Mapping[str, ChannelRule],
                  compositions: Mapping[int, Composition], availability: Mapping[int, Mapping[str, Any]],
                  known_products: set[int], *, force: bool = False) -> SyncPlan:
    """Quantities for every MFN listing whose channel syncs; only those differing from Amazon's last
    confirmed value are pushed (all of them with ``force``, e.g. when sync is switched back on).
    A listing Amazon does not hold is never pushed; one with a feed message in flight waits for it.

    A product Brightpearl no longer has (``known_products`` lacks it) is pushed as 0 and reported.
    """
    plan = SyncPlan()
    targets: list[ListingTarget] = []
    considered: dict[str, tuple[LinkView, str]] = {}
    on_hand_cache: dict[tuple[int, ...], dict[int, int]] = {}

    for link in links:
        if link.channel != "MFN":
            plan.skipped_fba += 1  # Amazon owns FBA quantities
            continue
        rule = rules.get(link.marketplace_id)
        if rule is None or not rule.enabled:
            plan.skipped_sync_off += 1
            continue
        if link.product_id not in known_products:
            plan.deleted_products.append(link.product_id)
            targets.append(ListingTarget(link.listing_id, link.sku, link.marketplace_id, 0, rule.settings_key))
            considered[link.listing_id] = (link, "deleted-product")
            continue
        on_hand = on_hand_cache.get(rule.warehouses)
        if on_hand is None:
            on_hand = {pid: on_hand_over(entry, rule.warehouses) for pid, entry in availability.items()}
            on_hand_cache[rule.warehouses] = on_hand
        quantity = sellable_quantity(link.product_id, compositions, on_hand)
        quantity = apply_buffer(quantity, link.buffer or rule.buffer)
        targets.append(ListingTarget(link.listing_id, link.sku, link.marketplace_id, quantity, rule.settings_key))
        considered[link.listing_id] = (link, "forced" if force else "changed")

    resolved = resolve_eu_skus(targets)
    plan.conflicts = resolved.conflicts
    for listing_id, quantity in resolved.quantities.items():
        link, reason = considered[listing_id]
        if link.amazon_status != "confirmed":
            # Amazon would accept a push to a SKU it does not hold and create an offer-only listing.
            plan.not_on_amazon.append(listing_id)
        elif link.pending is not None:
            # One feed message in flight per listing: two could be applied in either order. When the
            # plan differs from what is in flight, its result re-plans the listing.
            if link.pending == quantity:
                plan.unchanged += 1
            else:
                plan.deferred.append(listing_id)
        elif force or reason == "deleted-product" or link.last_confirmed != quantity:
            plan.pushes.append(Push(link, quantity, reason))
        else:
            plan.unchanged += 1
    plan.deleted_products = sorted(set(plan.deleted_products))
    return plan


def split_for_push(pushes: list[Push], patch_threshold: int,
                   feed_max: int = 25_000) -> tuple[list[Push], list[list[Push]]]:
    """Few changes → one patch each; many → feeds (one per marketplace, at most ``feed_max`` messages)."""
    if len(pushes) <= patch_threshold:
        return list(pushes), []
    by_marketplace: dict[str, list[Push]] = {}
    for p in pushes:
        by_marketplace.setdefault(p.link.marketplace_id, []).append(p)
    feeds: list[list[Push]] = []
    for _, group in sorted(by_marketplace.items()):
        for i in range(0, len(group), feed_max):
            feeds.append(group[i:i + feed_max])
    return [], feeds
