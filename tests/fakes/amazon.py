"""Amazon in memory: reports a test finishes by hand, listings that hold a quantity, inbound shipments.

Implements the ``Reports``, ``Listings`` and ``Inbound`` ports.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from connector.domain.errors import NotFound
from connector.domain.fba_reconciliation import AmazonFba
from connector.domain.listings import ListingLookup, PatchOutcome, QuantityUpdate
from connector.domain.shipments import AmazonItem, AmazonShipment, LedgerDocument, LedgerReceipt


@dataclass
class FakeReport:
    report_id: str
    report_type: str
    start: datetime
    end: datetime
    status: str = "IN_QUEUE"  # IN_QUEUE / IN_PROGRESS / DONE / CANCELLED / FATAL
    document_id: str | None = None


class FakeReports:
    def __init__(self) -> None:
        self.reports: dict[str, FakeReport] = {}
        self.documents: dict[str, list[str]] = {}
        self.downloads = 0

    # test controls
    def finish(self, report_id: str, lines: list[str]) -> str:
        """Amazon produced the report: DONE, with this document; returns the document id."""
        doc = f"doc-{report_id}"
        self.documents[doc] = lines
        self.reports[report_id] = replace(self.reports[report_id], status="DONE", document_id=doc)
        return doc

    def requested(self, report_type: str | None = None) -> list[FakeReport]:
        return [r for r in self.reports.values() if report_type in (None, r.report_type)]

    # the port
    def create(self, report_type: str, start: datetime, end: datetime, options: dict[str, str] | None = None) -> str:
        rid = f"R{len(self.reports) + 1}"
        self.reports[rid] = FakeReport(rid, report_type, start, end)
        return rid

    def get(self, report_id: str) -> FakeReport:
        if report_id not in self.reports:
            raise NotFound(f"fake Amazon: no report {report_id}")
        return self.reports[report_id]

    def cancel(self, report_id: str) -> None:
        self.reports[report_id] = replace(self.reports[report_id], status="CANCELLED")

    @contextmanager
    def open_document(self, document_id: str) -> Iterator[Iterable[str]]:
        self.downloads += 1
        yield iter(self.documents[document_id])


@dataclass
class FakeListings:
    """Merchant-fulfilled listings: (marketplace, SKU) → quantity; a feed is applied when submitted."""

    quantities: dict[tuple[str, str], int] = field(default_factory=dict)
    pushes: list[QuantityUpdate] = field(default_factory=list)
    feeds: dict[str, dict[int, str]] = field(default_factory=dict)
    feed_quota: int | None = None  # feeds Amazon still accepts before answering 429 (None: no limit)

    def lookup(self, sku: str, marketplace_id: str) -> ListingLookup:
        q = self.quantities.get((marketplace_id, sku))
        if q is None:
            return ListingLookup(sku, False, None, "NOT_FOUND: no such listing")
        return ListingLookup(sku, True, {"fulfillment_channel_code": "DEFAULT", "quantity": q})

    def current_availability(self, sku: str, marketplace_id: str) -> dict[str, Any] | None:
        return self.lookup(sku, marketplace_id).availability

    def patch(self, update: QuantityUpdate) -> PatchOutcome:
        if (update.marketplace_id, update.sku) not in self.quantities:
            return PatchOutcome(update.sku, False, [{"code": "NOT_FOUND"}])
        self.quantities[(update.marketplace_id, update.sku)] = update.quantity
        self.pushes.append(update)
        return PatchOutcome(update.sku, True)

    def submit_feed(self, marketplace_id: str, updates: list[QuantityUpdate]) -> tuple[str, dict[int, str]]:
        if self.feed_quota is not None:
            if self.feed_quota <= 0:  # JSON_LISTINGS_FEED's 5 per 5 minutes used up
                from connector.domain.errors import Throttled

                raise Throttled("SP-API createFeed throttled (429 QuotaExceeded)")
            self.feed_quota -= 1
        fid = f"F{len(self.feeds) + 1}"
        self.feeds[fid] = {i: u.sku for i, u in enumerate(updates, start=1)}
        for u in updates:
            self.patch(u)
        return fid, self.feeds[fid]

    def feed_status(self, feed_id: str) -> dict[str, Any]:
        return {"feedId": feed_id, "processingStatus": "DONE", "resultFeedDocumentId": f"res-{feed_id}"}

    def feed_report(self, result_document_id: str) -> dict[str, Any]:
        return {"summary": {"errors": 0}, "issues": []}


@dataclass
class FakeInbound:
    """FBA inbound shipments by v0 id, with their items (shipped and received per SKU)."""

    shipments: dict[str, AmazonShipment] = field(default_factory=dict)
    lines: dict[str, list[AmazonItem]] = field(default_factory=dict)

    def ship(self, shipment_id: str, status: str, items: dict[str, tuple[int, int]]) -> None:
        """Amazon shows the shipment with this status and these (shipped, received) units per SKU."""
        self.shipments[shipment_id] = AmazonShipment(shipment_id, f"Shipment {shipment_id}", status)
        self.lines[shipment_id] = [AmazonItem(sku, shipped, received) for sku, (shipped, received) in items.items()]

    def by_status(self, statuses: Iterable[str]) -> list[AmazonShipment]:
        wanted = set(statuses)
        return [s for s in self.shipments.values() if s.status in wanted]

    def by_ids(self, shipment_ids: Iterable[str]) -> list[AmazonShipment]:
        return [self.shipments[i] for i in shipment_ids if i in self.shipments]

    def items(self, shipment_id: str) -> list[AmazonItem]:
        return list(self.lines.get(shipment_id, []))

    def from_plans(self, *, updated_since: datetime, known_plans: Mapping[str, Mapping[str, str]],
                   settled: Collection[str] = ()) -> list[AmazonShipment]:
        return []

    def items_2024(self, plan_id: str, plan_shipment_id: str) -> list[AmazonItem]:
        return []

    def latest_ledger(self) -> LedgerDocument | None:
        return None

    def ledger_receipts(self, document: LedgerDocument, shipment_ids: Iterable[str]) -> list[LedgerReceipt]:
        return []


@dataclass
class FakeFbaInventory:
    """Amazon's FBA quantities per marketplace pool and SKU (getInventorySummaries)."""

    pools: dict[str, dict[str, AmazonFba]] = field(default_factory=dict)

    def hold(self, marketplace_id: str, sku: str, fulfillable: int) -> None:
        self.pools.setdefault(marketplace_id, {})[sku] = AmazonFba(sku, fulfillable=fulfillable)

    def summaries(self, marketplace_id: str) -> list[AmazonFba]:
        return list(self.pools.get(marketplace_id, {}).values())
