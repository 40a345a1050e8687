"""Listing links and merchant settings in DynamoDB (the repositories the use cases talk to)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from connector.adapters.store import ListingLink, Setting
from connector.domain.mfn_sync import ChannelRule, LinkView
from connector.domain.settings import (
    BufferSettings,
    ChannelSettings,
    GlobalSettings,
    WarehouseId,
    buffer_rule,
    channel_rules,
    listing_id,
)

# The settings values live in the domain; re-exported for the callers that import them from here.
__all__ = ["BufferSettings", "ChannelSettings", "GlobalSettings", "LinkRepository", "SettingsRepository",
           "WarehouseId", "listing_id"]


CHANNELS = ("MFN", "FBA")  # the fulfillment channels a link can have (LinkRepository.connect)
# by_products: a gap wider than this many ids starts a new Query. Each Query costs a call; a range
# costs reading the keys of every product inside it (~70 B each, ~14 000 per 1 MB page), so gaps up
# to a few thousand ids are cheaper read through than split.
ID_RANGE_GAP = 2_000


def id_ranges(ids: Iterable[int], gap: int = ID_RANGE_GAP) -> list[tuple[int, int]]:
    """Sorted ids as (lo, hi) ranges, a new range where two neighbours are more than ``gap`` apart."""
    out: list[tuple[int, int]] = []
    for i in sorted(set(ids)):
        if out and i - out[-1][1] <= gap:
            out[-1] = (out[-1][0], i)
        else:
            out.append((i, i))
    return out


PENDING_FEED_STALE = timedelta(hours=1)  # a feed result not seen by then is taken as lost


def _pending(data: dict[str, Any] | None) -> int | None:
    """The quantity of a feed message still in flight, unless it is so old its result was lost."""
    if not data or data.get("q") is None:
        return None
    try:
        at = datetime.fromisoformat(str(data.get("at")))
    except ValueError:
        return None
    return int(data["q"]) if datetime.now(UTC) - at < PENDING_FEED_STALE else None


class LinkRepository:
    def get(self, marketplace_id: str, sku: str) -> ListingLink | None:
        try:
            return ListingLink.get(listing_id(marketplace_id, sku))
        except DoesNotExist:
            return None

    def connect(self, *, seller_id: str, marketplace_id: str, sku: str, product_id: int, channel: str = "MFN",
                lead_time_days: int | None = None) -> ListingLink:
        if channel not in CHANNELS:
            raise ValueError(f"fulfillment channel must be MFN or FBA, got {channel!r}")
        link = self.get(marketplace_id, sku) or ListingLink(listing_id(marketplace_id, sku))
        link.seller_id, link.marketplace_id, link.sku = seller_id, marketplace_id, sku
        link.product_id, link.fulfillment_channel = product_id, channel
        if lead_time_days is not None:
            link.buffer = {**(link.buffer or {}), "lead_time_days": lead_time_days}
        link.save()
        return link

    def disconnect(self, marketplace_id: str, sku: str) -> bool:
        link = self.get(marketplace_id, sku)
        if link is None:
            return False
        link.delete()
        return True

    def by_products(self, product_ids: Iterable[int]) -> list[ListingLink]:
        """Every link of these products, for a whole batch at once: per channel, one keys-only Query
        per id range of ``by_channel_product`` (a 1 000-product storm is a few Queries, not 1 000),
        then the links themselves with BatchGetItem (100 keys per call)."""
        wanted = set(product_ids)
        if not wanted:
            return []
        keys: list[str] = []
        for channel in CHANNELS:
            for lo, hi in id_ranges(wanted):
                condition = ListingLink.product_id.between(lo, hi) if lo < hi else ListingLink.product_id == lo
                keys.extend(k.listing_id for k in ListingLink.by_channel_product.query(channel, condition)
                            if int(k.product_id) in wanted)
        # A link changed channel or product between the Query and the read: keep what the item says.
        links = [link for link in ListingLink.batch_get(sorted(set(keys))) if int(link.product_id) in wanted]
        return sorted(links, key=lambda link: (int(link.product_id), link.listing_id))

    def all(self) -> Iterator[ListingLink]:
        yield from ListingLink.scan()

    def record_push(self, link_id: str, *, quantity: int, confirmed: bool, result: str) -> None:
        self._record(link_id, quantity, confirmed, result, datetime.now(UTC))

    def eu_siblings(self, links: Iterable[ListingLink], eu_marketplaces: Iterable[str]) -> list[ListingLink]:
        """``links`` plus every link of the same SKU in the other EU marketplaces: Amazon keeps one
        quantity per SKU across the EU, so a plan must see all of them (the EU rule)."""
        out = {link.listing_id: link for link in links}
        eu = sorted(set(eu_marketplaces))
        skus = sorted({link.sku for link in out.values() if link.marketplace_id in eu})
        if not skus or len(eu) < 2:
            return list(out.values())
        if len(skus) * len(eu) > 400:  # many: one scan is cheaper than point reads
            wanted = set(skus)
            for link in self.all():
                if link.marketplace_id in eu and link.sku in wanted:
                    out.setdefault(link.listing_id, link)
            return list(out.values())
        for sku in skus:
            for mid in eu:
                if listing_id(mid, sku) not in out:
                    sibling = self.get(mid, sku)
                    if sibling is not None:
                        out[sibling.listing_id] = sibling
        return list(out.values())

    def set_amazon_status(self, link_id: str, status: str, *, lead_time_days: int | None = None,
                          result: str | None = None) -> None:
        """Record whether Amazon holds the listing (and the lead time read with it)."""
        link = self._get_by_id(link_id)
        if link is None:
            return
        actions: list[Any] = [ListingLink.amazon_status.set(status)]
        if lead_time_days is not None:
            actions.append(ListingLink.buffer.set({**(link.buffer or {}), "lead_time_days": lead_time_days}))
        if result is not None:
            actions.append(ListingLink.last_result.set(result))
        self._update(link_id, actions)

    def record_feed_sent(self, sent: Iterable[tuple[ListingLink, int, str, int]]) -> None:
        """Listings sent in a feed (link, quantity, feed id, message id): pending until its result."""
        now = datetime.now(UTC)

        def one(link_id: str, quantity: int, feed_id: str, message_id: int) -> None:
            self._update(link_id, [
                ListingLink.last_pushed_quantity.set(quantity), ListingLink.last_push_at.set(now),
                ListingLink.last_result.set(f"feed:{feed_id}:{message_id}"),
                ListingLink.pending_feed.set({"feed": feed_id, "msg": message_id, "q": quantity,
                                              "at": now.isoformat()}),
                ListingLink.pending_feed_id.set(feed_id)])

        work = [(link.listing_id, q, f, m) for link, q, f, m in sent]
        with ThreadPoolExecutor(max_workers=8) as pool:
            for future in [pool.submit(one, *w) for w in work]:
                future.result()

    def mark_replan(self, link_ids: Iterable[str]) -> None:
        """The plan changed while a feed message is in flight: re-plan when its result arrives."""
        for link_id in link_ids:
            link = self._get_by_id(link_id)
            if link is not None and link.pending_feed:
                self._update(link_id, [ListingLink.pending_feed.set({**link.pending_feed, "replan": True})])

    def pending_in_feed(self, feed_id: str) -> list[ListingLink]:
        """Links whose latest send is a message of this feed (a superseded send no longer names it)."""
        return [link for link in ListingLink.by_pending_feed.query(feed_id)
                if (link.pending_feed or {}).get("feed") == feed_id]

    @staticmethod
    def _get_by_id(link_id: str) -> ListingLink | None:
        try:
            return ListingLink.get(link_id)
        except DoesNotExist:
            return None

    @staticmethod
    def _update(link_id: str, actions: list[Any]) -> None:
        try:
            ListingLink(link_id).update(actions=actions, condition=ListingLink.listing_id.exists(),
                                        add_version_condition=False)
        except UpdateError as exc:
            if getattr(exc, "cause_response_code", None) != "ConditionalCheckFailedException":
                raise
            # Disconnected meanwhile: nothing to record, and the link must not come back.

    def record_pushes(self, outcomes: Iterable[tuple[ListingLink, int, bool, str]]) -> None:
        """What was pushed to each listing and how Amazon took it (many at once, e.g. after a feed).

        Each write sets only the four bookkeeping fields, on a link that still exists: a listing the
        operator disconnected, re-linked or switched to FBA during a long sync keeps that change.
        DynamoDB has no batch update, so the writes run on a few threads.
        """
        now = datetime.now(UTC)
        work = [(link.listing_id, quantity, confirmed, result) for link, quantity, confirmed, result in outcomes]
        with ThreadPoolExecutor(max_workers=8) as pool:
            for future in [pool.submit(self._record, *w, now) for w in work]:
                future.result()

    @staticmethod
    def _record(link_id: str, quantity: int, confirmed: bool, result: str, now: datetime) -> None:
        actions: list[Any] = [ListingLink.last_pushed_quantity.set(quantity), ListingLink.last_push_at.set(now),
                              ListingLink.last_result.set(result)]
        if confirmed:
            actions.append(ListingLink.last_confirmed_quantity.set(quantity))
        # Any recorded outcome ends the feed message in flight (a patch is only sent when none is).
        actions += [ListingLink.pending_feed.remove(), ListingLink.pending_feed_id.remove()]
        LinkRepository._update(link_id, actions)

    @staticmethod
    def view(link: ListingLink) -> LinkView:
        extra = link.buffer or {}
        return LinkView(
            listing_id=link.listing_id, sku=link.sku, marketplace_id=link.marketplace_id,
            product_id=int(link.product_id), channel=link.fulfillment_channel,
            last_confirmed=None if link.last_confirmed_quantity is None else int(link.last_confirmed_quantity),
            lead_time_days=extra.get("lead_time_days"),
            buffer=buffer_rule({k: v for k, v in extra.items() if k != "lead_time_days"}),
            amazon_status=link.amazon_status,
            pending=_pending(link.pending_feed),
        )


class SettingsRepository:
    GLOBAL = "global"

    @staticmethod
    def _load(key: str) -> dict[str, Any]:
        try:
            return dict(Setting.get(key).value or {})
        except DoesNotExist:
            return {}

    @staticmethod
    def _save(key: str, value: dict[str, Any]) -> None:
        try:
            item = Setting.get(key)
        except DoesNotExist:
            item = Setting(key)
        item.value = value
        item.updated_at = datetime.now(UTC)
        item.save()

    def get_value(self, key: str) -> dict[str, Any]:
        """A free-form item of the settings table (bookkeeping such as "last emailed")."""
        return self._load(key)

    def set_value(self, key: str, value: dict[str, Any]) -> None:
        self._save(key, value)

    def claim(self, key: str, value: dict[str, Any]) -> bool:
        """Create ``key`` only if it does not exist yet; False when another run already claimed it."""
        item = Setting(key)
        item.value = value
        item.updated_at = datetime.now(UTC)
        try:
            item.save(condition=Setting.key.does_not_exist())
        except PutError as exc:
            if getattr(exc, "cause_response_code", None) != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def global_settings(self) -> GlobalSettings:
        return GlobalSettings.model_validate(self._load(self.GLOBAL))

    def save_global(self, settings: GlobalSettings) -> None:
        self._save(self.GLOBAL, settings.model_dump())

    def channel(self, marketplace_id: str) -> ChannelSettings:
        return ChannelSettings.model_validate(self._load(f"channel#{marketplace_id}"))

    def save_channel(self, marketplace_id: str, settings: ChannelSettings) -> None:
        self._save(f"channel#{marketplace_id}", settings.model_dump())

    def rules(self, marketplace_ids: Iterable[str]) -> dict[str, ChannelRule]:
        mids = list(marketplace_ids)
        return channel_rules(self.global_settings(), {mid: self.channel(mid) for mid in mids}, mids)
