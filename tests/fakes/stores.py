"""The stores as dictionaries, honouring what the tables promise: a save is conditional on the version
read (``Conflict`` when another writer saved first), ``claim`` creates once, deleted links stay deleted."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from connector.adapters.movement_store import InMemoryMovementStore
from connector.adapters.repositories import LinkRepository
from connector.domain.errors import Conflict
from connector.domain.inbound import Shipment
from connector.domain.mfn_sync import ChannelRule, LinkView
from connector.domain.settings import ChannelSettings, GlobalSettings, channel_rules, listing_id
from connector.domain.slices import BUCKETS, MAX_LINKS, LinkSlice, bucket_of, group_buckets

__all__ = ["FakeJob", "FakeLink", "FakeLinks", "FakeReconciliations", "FakeReportJobs", "FakeSettings", "FakeShipments",
           "InMemoryMovementStore"]


class Versioned:
    """Items keyed by id with a version each: the optimistic locking the DynamoDB tables give."""

    def __init__(self) -> None:
        self.items: dict[str, Any] = {}

    def read(self, key: str) -> Any:
        item = self.items.get(key)
        return copy.deepcopy(item) if item is not None else None

    def write(self, key: str, item: Any) -> None:
        stored = self.items.get(key)
        if (stored.version if stored is not None else None) != item.version:
            raise Conflict(f"{key!r} changed since it was read")
        item.version = (item.version or 0) + 1
        self.items[key] = copy.deepcopy(item)


class FakeSettings:
    def __init__(self, global_settings: GlobalSettings | None = None,
                 channels: dict[str, ChannelSettings] | None = None) -> None:
        self.values: dict[str, dict[str, Any]] = {}
        if global_settings is not None:
            self.save_global(global_settings)
        for mid, c in (channels or {}).items():
            self.save_channel(mid, c)

    def get_value(self, key: str) -> dict[str, Any]:
        return copy.deepcopy(self.values.get(key, {}))

    def set_value(self, key: str, value: dict[str, Any]) -> None:
        self.values[key] = copy.deepcopy(value)

    def claim(self, key: str, value: dict[str, Any]) -> bool:
        if key in self.values:
            return False
        self.set_value(key, value)
        return True

    def global_settings(self) -> GlobalSettings:
        return GlobalSettings.model_validate(self.get_value("global"))

    def save_global(self, settings: GlobalSettings) -> None:
        self.set_value("global", settings.model_dump())

    def channel(self, marketplace_id: str) -> ChannelSettings:
        return ChannelSettings.model_validate(self.get_value(f"channel#{marketplace_id}"))

    def save_channel(self, marketplace_id: str, settings: ChannelSettings) -> None:
        self.set_value(f"channel#{marketplace_id}", settings.model_dump())

    def rules(self, marketplace_ids: Iterable[str]) -> dict[str, ChannelRule]:
        mids = list(marketplace_ids)
        return channel_rules(self.global_settings(), {m: self.channel(m) for m in mids}, mids)


@dataclass
class FakeLink:
    listing_id: str
    seller_id: str
    marketplace_id: str
    sku: str
    product_id: int
    fulfillment_channel: str = "MFN"
    buffer: dict[str, Any] | None = None
    amazon_status: str | None = None
    last_result: str | None = None
    last_pushed_quantity: int | None = None
    last_confirmed_quantity: int | None = None
    last_push_at: datetime | None = None
    pending_feed: dict[str, Any] | None = None


class FakeLinks:
    def __init__(self) -> None:
        self.links: dict[str, FakeLink] = {}

    def get(self, marketplace_id: str, sku: str) -> FakeLink | None:
        return self.links.get(listing_id(marketplace_id, sku))

    def connect(self, *, seller_id: str, marketplace_id: str, sku: str, product_id: int, channel: str = "MFN",
                lead_time_days: int | None = None) -> FakeLink:
        if channel not in ("MFN", "FBA"):
            raise ValueError(f"fulfillment channel must be MFN or FBA, got {channel!r}")
        link = self.get(marketplace_id, sku) or FakeLink(listing_id(marketplace_id, sku), seller_id, marketplace_id,
                                                         sku, product_id)
        link.product_id, link.fulfillment_channel = product_id, channel
        if lead_time_days is not None:
            link.buffer = {**(link.buffer or {}), "lead_time_days": lead_time_days}
        self.links[link.listing_id] = link
        return link

    def connect_many(self, *, seller_id: str, marketplace_id: str, items: Iterable[tuple[str, int, str]]) -> int:
        n = 0
        for sku, product_id, channel in items:
            self.connect(seller_id=seller_id, marketplace_id=marketplace_id, sku=sku, product_id=product_id,
                         channel=channel)
            n += 1
        return n

    def disconnect(self, marketplace_id: str, sku: str) -> bool:
        return self.links.pop(listing_id(marketplace_id, sku), None) is not None

    def by_products(self, product_ids: Iterable[int]) -> list[FakeLink]:
        wanted = set(product_ids)
        return [link for link in self.links.values() if link.product_id in wanted]

    def all(self) -> Iterator[FakeLink]:
        yield from list(self.links.values())

    def slices(self, marketplace_ids: Iterable[str], *, max_links: int = MAX_LINKS,
               from_bucket: int = 0) -> Iterator[LinkSlice]:
        """As the table's: a snapshot, grouped by the SKU's bucket (the same pure grouping)."""
        mids = set(marketplace_ids)
        by_bucket: dict[int, list[FakeLink]] = {}
        for link in list(self.links.values()):
            if link.marketplace_id in mids and bucket_of(link.sku) >= from_bucket:
                by_bucket.setdefault(bucket_of(link.sku), []).append(link)
        counts = [len(by_bucket.get(b, [])) for b in range(BUCKETS)]
        if not mids:
            return
        for lo, hi in group_buckets(counts, max_links, from_bucket):
            yield LinkSlice(lo, hi, [link for b in range(lo, hi) for link in by_bucket.get(b, [])])

    def _update(self, link_id: str, **changes: Any) -> None:
        link = self.links.get(link_id)
        if link is not None:  # disconnected meanwhile: nothing to record, and it must not come back
            for k, v in changes.items():
                setattr(link, k, v)

    def record_push(self, link_id: str, *, quantity: int, confirmed: bool, result: str) -> None:
        extra = {"last_confirmed_quantity": quantity} if confirmed else {}
        self._update(link_id, last_pushed_quantity=quantity, last_push_at=datetime.now(UTC), last_result=result,
                     pending_feed=None, amazon_status="confirmed", **extra)

    def record_pushes(self, outcomes: Iterable[tuple[Any, int, bool, str]]) -> None:
        for link, quantity, confirmed, result in outcomes:
            extra = {"last_confirmed_quantity": quantity} if confirmed else {}
            self._update(link.listing_id, last_pushed_quantity=quantity, last_push_at=datetime.now(UTC),
                         last_result=result, pending_feed=None, **extra)

    def record_feed_sent(self, sent: Iterable[tuple[Any, int, str, int]]) -> None:
        now = datetime.now(UTC)
        for link, quantity, feed_id, message_id in sent:
            self._update(link.listing_id, last_pushed_quantity=quantity, last_push_at=now,
                         last_result=f"feed:{feed_id}:{message_id}",
                         pending_feed={"feed": feed_id, "msg": message_id, "q": quantity, "at": now.isoformat()},
                         amazon_status="confirmed")

    def eu_siblings(self, links: Iterable[Any], eu_marketplaces: Iterable[str]) -> list[Any]:
        out = {link.listing_id: link for link in links}
        eu = set(eu_marketplaces)
        skus = {link.sku for link in out.values() if link.marketplace_id in eu}
        for link in self.links.values():
            if link.marketplace_id in eu and link.sku in skus:
                out.setdefault(link.listing_id, link)
        return list(out.values())

    def set_amazon_status(self, link_id: str, status: str, *, lead_time_days: int | None = None,
                          result: str | None = None) -> None:
        link = self.links.get(link_id)
        if link is None:
            return
        link.amazon_status = status
        if lead_time_days is not None:
            link.buffer = {**(link.buffer or {}), "lead_time_days": lead_time_days}
        if result is not None:
            link.last_result = result

    def set_amazon_statuses(self, checked: Iterable[tuple[str, str, int | None, str | None]]) -> None:
        for link_id, status, lead, result in checked:
            self.set_amazon_status(link_id, status, lead_time_days=lead, result=result)

    def mark_replan(self, link_ids: Iterable[str]) -> None:
        for link_id in link_ids:
            link = self.links.get(link_id)
            if link is not None and link.pending_feed:
                link.pending_feed = {**link.pending_feed, "replan": True}

    def pending_in_feed(self, feed_id: str) -> list[FakeLink]:
        return [link for link in self.links.values() if (link.pending_feed or {}).get("feed") == feed_id]

    def view(self, link: Any) -> LinkView:
        return LinkRepository.view(link)  # pure: the same reading of a link's fields as the table's


@dataclass
class FakeJob:
    """A report job (or cursor, or marker) with the fields of the ``ReportJob`` port."""

    job_id: str
    report_type: str = "-"
    status: str = "requested"
    report_id: str | None = None
    document_id: str | None = None
    data_start: datetime | None = None
    data_end: datetime | None = None
    detail: dict[str, Any] | None = None
    requested_at: datetime | None = None
    updated_at: datetime | None = None
    error: str | None = None
    version: int | None = None


class FakeReportJobs(Versioned):
    def get(self, job_id: str) -> FakeJob | None:
        job: FakeJob | None = self.read(job_id)
        return job

    def new(self, job_id: str, **fields: Any) -> FakeJob:
        return FakeJob(job_id, **fields)

    def save(self, job: FakeJob) -> None:
        self.write(job.job_id, job)

    def by_report_id(self, report_id: str) -> FakeJob | None:
        for job in self.items.values():
            if job.report_id == report_id:
                return self.get(job.job_id)
        return None


class FakeShipments(Versioned):
    def get(self, shipment_id: str) -> Shipment | None:
        shipment: Shipment | None = self.read(shipment_id)
        return shipment

    def new(self, shipment_id: str, status: str) -> Shipment:
        return Shipment(shipment_id, status)

    def save(self, record: Shipment) -> None:
        self.write(record.shipment_id, record)

    def open(self) -> list[Shipment]:
        return [copy.deepcopy(s) for s in self.items.values() if not s.finished]

    def max_transfer_id(self) -> int:
        return max((s.stock_transfer_id for s in self.items.values() if s.stock_transfer_id is not None), default=0)

    def finished_with_plans(self) -> list[Shipment]:
        return [copy.deepcopy(s) for s in self.items.values() if s.finished and s.plan_id and s.plan_shipments]


class FakeReconciliations:
    """FBA reconciliations: headers, their lines (copied, as the table's chunks are), the latest id, items."""

    def __init__(self) -> None:
        self.headers: dict[str, dict[str, Any]] = {}
        self.saved_lines: dict[str, list[Any]] = {}
        self.items: dict[str, dict[str, Any]] = {}

    def save(self, rid: str, header: dict[str, Any], lines: list[Any]) -> None:
        self.saved_lines[rid] = copy.deepcopy(lines)
        self.headers[rid] = {**copy.deepcopy(header), "chunks": 1}
        self.set_item("recon#latest", {"id": rid})

    def header(self, rid: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.headers.get(rid))

    def lines(self, rid: str, chunks: int) -> list[Any]:
        return copy.deepcopy(self.saved_lines.get(rid, []))

    def latest(self) -> str | None:
        return self.item("recon#latest").get("id")

    def update_header(self, rid: str, fn: Any) -> dict[str, Any]:
        if rid not in self.headers:
            raise KeyError(rid)
        self.headers[rid] = fn(copy.deepcopy(self.headers[rid]))
        return copy.deepcopy(self.headers[rid])

    def item(self, key: str) -> dict[str, Any]:
        return copy.deepcopy(self.items.get(key, {}))

    def set_item(self, key: str, value: dict[str, Any]) -> None:
        self.items[key] = copy.deepcopy(value)


class FakePageNonces:
    """The page nonces (``usecases.approval_page.Nonces``): the first claim of a nonce wins, later ones see it."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    def claim(self, nonce: str, what: dict[str, Any], *, expires: int) -> bool:
        if nonce in self.items:
            return False
        self.items[nonce] = {"status": "claimed", **what, "expires": expires}
        return True

    def finish(self, nonce: str, result: dict[str, Any]) -> None:
        self.items[nonce] = {**self.items[nonce], "status": "done", "result": result}

    def get(self, nonce: str) -> dict[str, Any] | None:
        return self.items.get(nonce)

    def forget_expired(self, now: float) -> None:
        """What DynamoDB's TTL does, some time after an item's expiry."""
        self.items = {n: v for n, v in self.items.items() if v["expires"] > now}
