"""A listing link as read: compact, read-only records of the ``Listings`` table's items (the repository,
``repositories.py``, writes; a feed's results and a whole-table walk hold many of these at once)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, overload

from connector.adapters.store import ListingLink


@dataclass(slots=True)
class LinkRecord:
    """A listing link as read (the ListingLink fields, for reading only; writes go through the repository)."""

    listing_id: str
    seller_id: str | None
    marketplace_id: str
    sku: str
    product_id: int
    fulfillment_channel: str
    last_pushed_quantity: int | None
    last_confirmed_quantity: int | None
    last_push_at: datetime | None
    last_result: str | None
    buffer: dict[str, Any] | None
    amazon_status: str | None
    pending_feed: dict[str, Any] | None
    pending_feed_id: str | None

    @classmethod
    def of(cls, link: ListingLink) -> LinkRecord:
        def num(value: Any) -> int | None:
            return None if value is None else int(value)

        return cls(link.listing_id, _shared(link.seller_id), _shared(link.marketplace_id), link.sku,
                   int(link.product_id), _shared(link.fulfillment_channel), num(link.last_pushed_quantity),
                   num(link.last_confirmed_quantity), link.last_push_at, _shared(link.last_result),
                   link.buffer or None, _shared(link.amazon_status), link.pending_feed or None, link.pending_feed_id)


# Values most links repeat (seller, marketplace, channel, status, "ACCEPTED"): one string each instead of one per
# decoded item, a third of a record (558 -> 360 bytes with its strings). Bounded, so unique results stay unique.
_COMMON: dict[str, str] = {}


@overload
def _shared(value: str) -> str: ...
@overload
def _shared(value: str | None) -> str | None: ...
def _shared(value: str | None) -> str | None:
    if value is None:
        return None
    if len(_COMMON) < 256:
        return _COMMON.setdefault(value, value)
    return _COMMON.get(value, value)
