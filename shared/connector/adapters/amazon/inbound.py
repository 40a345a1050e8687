"""FBA inbound shipments from SP-API: v0 getShipments / items, 2024-03-20 plans → shipments and their
items, and the inventory ledger's ``Receipts`` rows.

Received quantities have two sources: v0 ``getShipmentItems`` (``QuantityReceived``; can lag, and shows
no items for shipments made through the 2024-03-20 API, whose items carry no received quantities) and
the ledger detail report's ``Receipts`` rows (Reference ID = the shipment id). Every shipment is read
through its v0 id; a 2024-03-20 shipment is mapped to it by ``shipmentConfirmationId`` (the "FBA…" id).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from sp_api.api.fulfillment_inbound.fulfillment_inbound import FulfillmentInbound
from sp_api.api.reports.reports import Reports
from sp_api.base import ApiResponse

from connector.adapters.amazon.client import AmazonClients
from connector.domain.flatfile import HeaderError, cell, parse_int, read_rows
from connector.domain.ledger import REPORT_TYPE as LEDGER_REPORT
from connector.domain.ledger import LedgerColumns
from connector.domain.movements import OccurrenceCounter, natural_key
from connector.domain.shipments import AmazonItem, AmazonShipment, LedgerDocument, LedgerReceipt

V0_ID_BATCH = 100  # ShipmentIdList takes up to 999; shorter keeps the URL modest


class AmazonInbound:
    def __init__(self, amazon: AmazonClients) -> None:
        self.amazon = amazon
        self._v0 = amazon.client(FulfillmentInbound)
        # The v0 class's 2024 methods use wrong paths: the versioned client is a separate object.
        self._v2024 = amazon.client(FulfillmentInbound, version="2024-03-20")
        self._reports = amazon.client(Reports)

    # ------------------------------------------------------------------ v0
    def _pages(self, first: ApiResponse) -> Iterator[dict[str, Any]]:
        res = first
        while True:
            payload = res.payload or {}
            yield from payload.get("ShipmentData") or []
            token = payload.get("NextToken") or res.next_token
            if not token:
                return
            res = self.amazon.call("getShipments", self._v0.get_shipments, QueryType="NEXT_TOKEN", NextToken=token)

    @staticmethod
    def _shipment(row: dict[str, Any]) -> AmazonShipment:
        return AmazonShipment(shipment_id=str(row["ShipmentId"]), name=str(row.get("ShipmentName") or ""),
                              status=str(row.get("ShipmentStatus") or ""),
                              fc=str(row.get("DestinationFulfillmentCenterId") or ""))

    def by_status(self, statuses: Iterable[str]) -> list[AmazonShipment]:
        first = self.amazon.call("getShipments", self._v0.get_shipments, QueryType="SHIPMENT",
                                 ShipmentStatusList=",".join(statuses))
        return [self._shipment(r) for r in self._pages(first)]

    def by_ids(self, shipment_ids: Iterable[str]) -> list[AmazonShipment]:
        ids = sorted(set(shipment_ids))
        out: list[AmazonShipment] = []
        for i in range(0, len(ids), V0_ID_BATCH):
            first = self.amazon.call("getShipments", self._v0.get_shipments, QueryType="SHIPMENT",
                                     ShipmentIdList=",".join(ids[i:i + V0_ID_BATCH]))
            out += [self._shipment(r) for r in self._pages(first)]
        return out

    def items(self, shipment_id: str) -> list[AmazonItem]:
        """Every SKU of a shipment with shipped and received units (one answer; no paging)."""
        res = self.amazon.call("getShipmentItemsByShipmentId", self._v0.shipment_items_by_shipment, shipment_id)
        rows = (res.payload or {}).get("ItemData") or []
        merged: dict[str, AmazonItem] = {}
        for r in rows:
            sku = str(r["SellerSKU"])
            prev = merged.get(sku, AmazonItem(sku, 0, 0))
            merged[sku] = AmazonItem(sku, prev.shipped + int(r.get("QuantityShipped") or 0),
                                     prev.received + int(r.get("QuantityReceived") or 0))
        return list(merged.values())

    # ------------------------------------------------------------------ ledger Receipts
    def latest_ledger(self) -> LedgerDocument | None:
        """The newest finished ledger detail report (the movements flow requests one every 4 hours)."""
        res = self.amazon.call("getReports", self._reports.get_reports, reportTypes=[LEDGER_REPORT],
                               processingStatuses=["DONE"], pageSize=1)
        for r in (res.payload or {}).get("reports") or []:
            if r.get("reportDocumentId"):
                return LedgerDocument(str(r["reportId"]), str(r["reportDocumentId"]))
        return None

    def ledger_receipts(self, document: LedgerDocument, shipment_ids: Iterable[str]) -> list[LedgerReceipt]:
        """The ``Receipts`` rows of the wanted shipments in one ledger document (streamed, not held)."""
        from connector.adapters.amazon.reports import AmazonReports  # the download/decoding the movements use

        wanted = set(shipment_ids)
        with AmazonReports(self.amazon, []).open_document(document.document_id) as lines:
            return list(receipts_in(lines, wanted))

    # ------------------------------------------------------------------ 2024-03-20
    def items_2024(self, plan_id: str, plan_shipment_id: str) -> list[AmazonItem]:
        """listShipmentItems: the planned units per SKU (the model has no received quantities)."""
        merged: dict[str, int] = {}
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"pageSize": 1000}
            if token:
                kwargs["paginationToken"] = token
            res = self.amazon.call("listShipmentItems", self._v2024.list_shipment_items, plan_id,
                                   plan_shipment_id, **kwargs)
            payload = res.payload or {}
            for item in payload.get("items") or []:
                sku = str(item["msku"])
                merged[sku] = merged.get(sku, 0) + int(item.get("quantity") or 0)
            token = (payload.get("pagination") or {}).get("nextToken")
            if not token:
                return [AmazonItem(sku, q, 0) for sku, q in merged.items()]

    def from_plans(self, *, updated_since: datetime, known_plans: Mapping[str, Mapping[str, str]],
                   settled: Collection[str] = ()) -> list[AmazonShipment]:
        """Shipments of inbound plans updated since ``updated_since``, with their v0 ids.

        ``known_plans`` (plan id → {shipmentId → v0 id}) spares the getShipment call for shipments already
        mapped. A plan in ``settled`` is not read at all: its placement was confirmed ("Once confirmed, it
        cannot be changed", confirmPlacementOption) and each of its shipments had its confirmation id when it
        was last read, so getInboundPlan can show nothing new; its shipments are followed through v0 by id.
        Plans are read newest first and reading stops at the first older one. Shipments not yet confirmed
        (no ``shipmentConfirmationId``) are skipped: they have no v0 id to follow.
        """
        out: list[AmazonShipment] = []
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"pageSize": 30, "sortBy": "LAST_UPDATED_TIME", "sortOrder": "DESC"}
            if token:
                kwargs["paginationToken"] = token
            res = self.amazon.call("listInboundPlans", self._v2024.list_inbound_plans, **kwargs)
            payload = res.payload or {}
            for plan in payload.get("inboundPlans") or []:
                updated = _parse(plan.get("lastUpdatedAt"))
                if updated is not None and updated < updated_since:
                    return out
                plan_id = str(plan["inboundPlanId"])
                if plan_id not in settled:
                    out += self._plan_shipments(plan_id, known_plans.get(plan_id) or {})
            token = (payload.get("pagination") or {}).get("nextToken")
            if not token:
                return out

    def _plan_shipments(self, plan_id: str, known: Mapping[str, str]) -> list[AmazonShipment]:
        plan = self.amazon.call("getInboundPlan", self._v2024.get_inbound_plan, plan_id).payload or {}
        # The shipments list is final once a placement option is ACCEPTED (the model: "populated when it has
        # been generated with the confirmPlacementOptions operation. Only shipments from the chosen placement
        # option are returned"); before that the plan may still change.
        placed = any(str(o.get("status") or "") == "ACCEPTED" for o in plan.get("placementOptions") or [])
        summaries = list(plan.get("shipments") or [])
        out = []
        confirmed_all = placed and bool(summaries)
        for summary in summaries:
            status = str(summary.get("status") or "")
            plan_shipment_id = str(summary.get("shipmentId") or "")
            v0_id = known.get(plan_shipment_id)
            name = ""
            if v0_id is None:
                shp = self.amazon.call("getShipment", self._v2024.get_shipment, plan_id,
                                       summary["shipmentId"]).payload or {}
                v0_id = shp.get("shipmentConfirmationId")
                name = str(shp.get("name") or "")
                status = str(shp.get("status") or status)
            if v0_id:
                out.append(AmazonShipment(shipment_id=str(v0_id), name=name, status=status, plan_id=plan_id,
                                          plan_shipment_id=plan_shipment_id or None))
            else:
                confirmed_all = False
        if not confirmed_all:
            return out
        pairs = tuple((s.plan_shipment_id or "", s.shipment_id) for s in out)
        return [replace(s, plan_shipments=pairs) for s in out]


def _parse(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def receipts_in(lines: Iterable[str], shipment_ids: set[str]) -> Iterator[LedgerReceipt]:
    """``Receipts`` rows of a ledger detail document whose Reference ID is one of ``shipment_ids``.

    Parsed with the movements' flat-file reader and column names; the row key is built the way the
    movements build theirs (every identifying column plus an occurrence count for identical rows), so
    the same row read again from an overlapping report has the same key.
    """
    try:
        columns, rows = read_rows(lines)
    except HeaderError:
        return
    cols = LedgerColumns.of(columns)
    counter = OccurrenceCounter()
    for _, row in rows:
        if cell(row, cols.event_type).lower() != "receipts":
            continue
        ref = cell(row, cols.reference_id)
        qty = parse_int(cell(row, cols.quantity))
        sku = cell(row, cols.msku)
        if ref not in shipment_ids or qty is None or not sku:
            continue
        when = cell(row, cols.date_time) or cell(row, cols.date)
        key = counter.key(natural_key("ledger", "receipts", ref, cell(row, cols.fnsku), sku, when,
                                      cell(row, cols.fc), cell(row, cols.disposition), qty))
        # Hashed: the record keeps one key per row, and a short key keeps the item small.
        yield LedgerReceipt(hashlib.sha256(key.encode()).hexdigest()[:20], ref, sku, qty)
