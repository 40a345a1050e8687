"""Listing links and merchant settings in DynamoDB (the repositories the use cases talk to)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from pynamodb.exceptions import CancellationReason, DoesNotExist, PutError, UpdateError
from pynamodb.transactions import TransactWrite

from connector.adapters.link_records import LinkRecord
from connector.adapters.link_slices import SCAN_PAGE_LINKS, scan_slices
from connector.adapters.settings_repository import SettingsRepository
from connector.adapters.store import ListingLink
from connector.adapters.transactions import failed_condition, transact_with_retry
from connector.domain.mfn_sync import LinkView
from connector.domain.settings import (
    BufferSettings,
    ChannelSettings,
    GlobalSettings,
    WarehouseId,
    buffer_rule,
    listing_id,
)

# The settings values live in the domain; re-exported for the callers that import them from here.
__all__ = ["BufferSettings", "ChannelSettings", "GlobalSettings", "LinkRecord", "LinkRepository",
           "SettingsRepository", "WarehouseId", "listing_id"]


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
BATCH_GET = 100  # BatchGetItem maximum (DynamoDB API reference); TransactWriteItems: adapters/transactions.py
BATCH_RETRIES = 8


def _put_under_version(links: list[ListingLink],
                       again: Callable[[list[str]], list[ListingLink]]) -> None:
    """Write ``links`` in TransactWriteItems of 100, each conditional on the version it was read at (or
    on being absent, for a new link), as ``save()`` would be. A link another writer changed or deleted
    since the read fails its condition: ``again`` reads those fresh and re-applies the change (returning
    none for a link that is gone, which is never brought back), and the rest are sent again. So no
    operator command or concurrent push landing between the read and the write is overwritten."""
    def settle(todo: list[ListingLink], reasons: list[CancellationReason | None]) -> list[ListingLink]:
        stale = [link.listing_id for link, why in zip(todo, reasons, strict=False) if failed_condition(why)]
        return [link for link, why in zip(todo, reasons, strict=False)
                if not failed_condition(why)] + (again(stale) if stale else [])

    todo = transact_with_retry(links, connection=ListingLink._get_connection().connection, settle=settle,
                               tries=BATCH_RETRIES,
                               # a TransactionConflict clears once the other ends
                               pause=lambda attempt: time.sleep(min(2.0, 0.05 * 2 ** attempt)))
    if todo:
        raise PutError(f"{len(todo)} listing link(s) not written after {BATCH_RETRIES} tries "
                       f"(e.g. {todo[0].listing_id!r})")


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

    def connect_many(self, *, seller_id: str, marketplace_id: str, items: Iterable[tuple[str, int, str]]) -> int:
        """Link many (SKU, product id, channel) at once, unchecked on Amazon: one BatchGetItem per 100
        (an existing link keeps its bookkeeping, as :meth:`connect`), one TransactWriteItems per 100."""
        wanted: dict[str, tuple[str, int, str]] = {}
        for sku, product_id, channel in items:
            if channel not in ("MFN", "FBA"):
                raise ValueError(f"fulfillment channel must be MFN or FBA, got {channel!r} (SKU {sku!r})")
            wanted[listing_id(marketplace_id, sku)] = (sku, product_id, channel)
        ids = list(wanted)
        for start in range(0, len(ids), BATCH_GET):
            chunk = ids[start:start + BATCH_GET]
            found = {link.listing_id: link for link in ListingLink.batch_get(chunk)}

            def linked(link: ListingLink) -> ListingLink:
                sku, product_id, channel = wanted[link.listing_id]
                link.seller_id, link.marketplace_id, link.sku = seller_id, marketplace_id, sku
                link.product_id, link.fulfillment_channel = product_id, channel
                return link

            def again(stale: list[str]) -> list[ListingLink]:
                fresh = {link.listing_id: link for link in ListingLink.batch_get(stale, consistent_read=True)}
                return [linked(fresh.get(link_id) or ListingLink(link_id)) for link_id in stale]

            _put_under_version([linked(found.get(link_id) or ListingLink(link_id)) for link_id in chunk], again)
        return len(ids)

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

    def all(self) -> Iterator[LinkRecord]:
        """Every link as a compact read-only record (a slotted value, not a pynamodb object per link: a
        nightly over 100 000 SKUs x 3 marketplaces holds 300 000 of them)."""
        for link in ListingLink.scan(page_size=SCAN_PAGE_LINKS):  # a bounded page (link_slices.py)
            yield LinkRecord.of(link)

    slices = staticmethod(scan_slices)  # the same links a bounded slice at a time (issue 14 item 5)

    def record_push(self, link_id: str, *, quantity: int, confirmed: bool, result: str) -> None:
        """One outcome (a patch): a conditional UpdateItem, one call. A patch goes only to a listing
        confirmed on Amazon, so its status is written with it (the sync-on confirmation writes no other)."""
        self._update(link_id, [*self._push_actions(quantity, confirmed, result, datetime.now(UTC)),
                               ListingLink.amazon_status.set("confirmed")])

    def eu_siblings(self, links: Iterable[Any], eu_marketplaces: Iterable[str]) -> list[Any]:
        """``links`` plus every link of the same SKU in the other EU marketplaces: Amazon keeps one
        quantity per SKU across the EU, so a plan must see all of them (the EU rule)."""
        out: dict[str, Any] = {link.listing_id: link for link in links}
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
        """Record whether Amazon holds the listing (and the lead time read with it): one UpdateItem."""
        link = self._get_by_id(link_id) if lead_time_days is not None else None
        actions: list[Any] = [ListingLink.amazon_status.set(status)]
        if link is not None:
            actions.append(ListingLink.buffer.set({**(link.buffer or {}), "lead_time_days": lead_time_days}))
        if result is not None:
            actions.append(ListingLink.last_result.set(result))
        self._update(link_id, actions)

    def set_amazon_statuses(self, checked: Iterable[tuple[str, str, int | None, str | None]]) -> None:
        """Many at once: (link id, "confirmed" / "not-found", lead time or None, result or None). Without a
        lead time only bookkeeping fields change, written without reading (:meth:`_update_many`); a lead
        time is merged into the link's buffer, so those are read first (:meth:`_batch_update`)."""
        checked = list(checked)

        def actions(status: str, result: str | None) -> Callable[[], list[Any]]:
            return lambda: [ListingLink.amazon_status.set(status),
                            *([] if result is None else [ListingLink.last_result.set(result)])]

        self._update_many({link_id: actions(status, result)
                           for link_id, status, lead, result in checked if lead is None})
        checked = [c for c in checked if c[2] is not None]
        if not checked:
            return

        def change(status: str, lead: int | None, result: str | None) -> Callable[[ListingLink], None]:
            def apply(link: ListingLink) -> None:
                link.amazon_status = status
                if lead is not None:
                    link.buffer = {**(link.buffer or {}), "lead_time_days": lead}
                if result is not None:
                    link.last_result = result
            return apply

        self._batch_update({link_id: change(status, lead, result) for link_id, status, lead, result in checked})

    def record_feed_sent(self, sent: Iterable[tuple[ListingLink, int, str, int]]) -> None:
        """Listings sent in a feed (link, quantity, feed id, message id): pending until its result.
        Bookkeeping fields only, without reading first (:meth:`_update_many`). A send goes only to a
        listing confirmed on Amazon, so the status rides on this write (sync-on: 2 writes per link, not 3)."""
        now = datetime.now(UTC)

        def actions(quantity: int, feed_id: str, message_id: int) -> Callable[[], list[Any]]:
            return lambda: [ListingLink.last_pushed_quantity.set(quantity), ListingLink.last_push_at.set(now),
                            ListingLink.last_result.set(f"feed:{feed_id}:{message_id}"),
                            ListingLink.pending_feed.set({"feed": feed_id, "msg": message_id, "q": quantity,
                                                          "at": now.isoformat()}),
                            ListingLink.pending_feed_id.set(feed_id), ListingLink.amazon_status.set("confirmed")]

        self._update_many({link.listing_id: actions(q, f, m) for link, q, f, m in sent})

    def mark_replan(self, link_ids: Iterable[str]) -> None:
        """The plan changed while a feed message is in flight: re-plan when its result arrives."""
        def apply(link: ListingLink) -> bool:
            if not link.pending_feed:
                return False
            link.pending_feed = {**link.pending_feed, "replan": True}
            return True

        self._batch_update(dict.fromkeys(link_ids, apply))

    def pending_in_feed(self, feed_id: str) -> list[LinkRecord]:
        """Links whose latest send is a message of this feed (a superseded send no longer names it), as
        compact records: a feed of 25 000 EU SKUs names 75 000 links (pynamodb objects were ~5x larger)."""
        return [LinkRecord.of(link) for link in ListingLink.by_pending_feed.query(feed_id)
                if (link.pending_feed or {}).get("feed") == feed_id]

    @staticmethod
    def _get_by_id(link_id: str) -> ListingLink | None:
        try:
            return ListingLink.get(link_id)
        except DoesNotExist:
            return None

    def record_pushes(self, outcomes: Iterable[tuple[ListingLink, int, bool, str]]) -> None:
        """What was pushed to each listing and how Amazon took it (many at once, e.g. after a feed).

        Only the bookkeeping fields change, on a link that still exists: a listing the operator
        disconnected, re-linked or switched to FBA during a long sync keeps that change (see
        :meth:`_batch_update`)."""
        now = datetime.now(UTC)
        # Any recorded outcome ends the feed message in flight (a patch is only sent when none is).
        self._update_many({link.listing_id: partial(self._push_actions, q, ok, why, now)
                           for link, q, ok, why in outcomes})

    @staticmethod
    def _push_actions(quantity: int, confirmed: bool, result: str, now: datetime) -> list[Any]:
        actions: list[Any] = [ListingLink.last_pushed_quantity.set(quantity), ListingLink.last_push_at.set(now),
                              ListingLink.last_result.set(result)]
        if confirmed:
            actions.append(ListingLink.last_confirmed_quantity.set(quantity))
        return [*actions, ListingLink.pending_feed.remove(), ListingLink.pending_feed_id.remove()]

    @staticmethod
    def _update_many(updates: Mapping[str, Callable[[], list[Any]]]) -> None:
        """Bookkeeping of many links without reading them: UpdateItem actions on the bookkeeping fields
        only, 100 per TransactWriteItems (0.01 calls per link; the read-then-put of :meth:`_batch_update`
        costs 0.02). Each update is conditional on the link existing, so a link disconnected meanwhile is
        never brought back, and adds 1 to its version, so a version-conditional writer that read it before
        sees the change. The operator's fields (product, channel, seller, buffer) are not in the
        expression: a re-link or an FBA switch at any moment is kept, as the single ``_update`` keeps it.
        Every value set is absolute, so a retried call repeats nothing."""
        def item(link_id: str) -> ListingLink:
            link = ListingLink(link_id)
            link.version = 0  # ADD 1 to the stored version (see ``_update``)
            return link

        def write(tx: TransactWrite, link: ListingLink) -> None:
            tx.update(link, updates[link.listing_id](), condition=ListingLink.listing_id.exists(),
                      add_version_condition=False)

        def settle(todo: list[ListingLink], reasons: list[CancellationReason | None]) -> list[ListingLink]:
            # Gone (disconnected): nothing to record. The rest are sent again (TransactionConflict).
            return [link for link, why in zip(todo, reasons, strict=False) if not failed_condition(why)]

        todo = transact_with_retry([item(link_id) for link_id in updates],
                                   connection=ListingLink._get_connection().connection, settle=settle,
                                   tries=BATCH_RETRIES, write=write,
                                   pause=lambda attempt: time.sleep(min(2.0, 0.05 * 2 ** attempt)))
        if todo:
            raise PutError(f"{len(todo)} listing link(s) not written after {BATCH_RETRIES} tries "
                           f"(e.g. {todo[0].listing_id!r})")

    @staticmethod
    def _update(link_id: str, actions: list[Any]) -> None:
        # A version of 0 makes pynamodb ADD 1 to the stored version (an unknown version would SET it to 1):
        # the version keeps growing, so a batch writer that read the link before this update sees it changed.
        link = ListingLink(link_id)
        link.version = 0
        try:
            link.update(actions=actions, condition=ListingLink.listing_id.exists(), add_version_condition=False)
        except UpdateError as exc:
            if getattr(exc, "cause_response_code", None) != "ConditionalCheckFailedException":
                raise
            # Disconnected meanwhile: nothing to record, and the link must not come back.

    @staticmethod
    def _batch_update(changes: Mapping[str, Callable[[ListingLink], object]]) -> None:
        """Bookkeeping of many links in batches: one BatchGetItem per 100 links reads them fresh, the
        change is applied to the fresh item, one TransactWriteItems per 100 puts them back, each under the
        version it was read at (0.02 calls per link instead of one UpdateItem each).

        Why this is safe: each item is written under the version it was read at, so a link disconnected
        or changed (an operator's re-link, an FBA switch, a concurrent push's bookkeeping) between the
        read and the write fails its condition and is read again and the change re-applied to it; a
        deleted link is not brought back. A change returning ``False`` leaves its link unwritten. Still
        not written after the retries, the call raises (the caller's message is retried, and every
        write here is an absolute value, so a retry repeats nothing)."""
        def changed(stale: list[str]) -> list[ListingLink]:
            fresh = list(ListingLink.batch_get(stale, consistent_read=True))
            return [link for link in fresh if changes[link.listing_id](link) is not False]

        ids = list(changes)
        for start in range(0, len(ids), BATCH_GET):
            _put_under_version(changed(ids[start:start + BATCH_GET]), changed)

    @staticmethod
    def view(link: Any) -> LinkView:
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
