"""Fulfillment Inbound of the SP-API simulator: the seller's inbound shipments (created, shipped,
received, closed or cancelled; v0 figures that may lag the truth) and their two APIs, v0
(getShipments, getShipmentItems…) and 2024-03-20 (inbound plans, shipments, items).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import unquote

from simulators.core import Request, Response
from simulators.spapi.common import JSON, ApiError, Shared, invalid, iso_s, parse_time
from simulators.spapi.http import Routes, int_param, qlist
from simulators.spapi.inventory import FbaInventory

V0_STATUSES = ("WORKING", "SHIPPED", "IN_TRANSIT", "DELIVERED", "CHECKED_IN", "RECEIVING", "CLOSED",
               "CANCELLED", "DELETED", "ERROR")

DEFAULT_SHIP_FROM = {"Name": "Sim Seller Ltd", "AddressLine1": "1 Warehouse Way", "City": "Leeds",
                     "StateOrProvinceCode": "West Yorkshire", "CountryCode": "GB", "PostalCode": "LS1 1AA"}


@dataclass
class InboundItem:
    sku: str
    shipped: int  # QuantityShipped: what the seller planned / sent
    received: int = 0
    quantity_in_case: int = 0


@dataclass
class InboundShipment:
    shipment_id: str  # v0 "FBA…" id = 2024-03-20 shipmentConfirmationId
    name: str
    fc: str
    status: str
    items: dict[str, InboundItem]
    created: datetime
    updated: datetime
    plan_id: str  # 2024-03-20 inboundPlanId (wf…)
    shipment_uuid: str  # 2024-03-20 shipmentId (sh…)
    placement_option_id: str
    label_prep: str = "SELLER_LABEL"
    # Stale v0 (scenario control ``stale_inbound_v0``): what getShipmentItems shows instead of the truth.
    v0_received: dict[str, int] | None = None  # frozen QuantityReceived per SKU (missing SKU → 0)
    v0_hidden: bool = False  # getShipmentItems answers no items at all (shipment made with the 2024-03-20 API)
    # The plan's placement option is confirmed (world op ``confirm_inbound_plan``). Until then the plan may
    # still change (shipments added, docs/simulators-spapi.md "Inbound plans settle"): the shipment has no
    # confirmation id, so v0 does not know it, and getInboundPlan lists no shipments.
    confirmed: bool = True


class FulfillmentInbound:
    """The seller's inbound shipments; receiving moves FBA stock."""

    def __init__(self, shared: Shared, inventory: FbaInventory) -> None:
        self.shared = shared
        self.inventory = inventory
        self.ship_from: dict[str, str] = dict(DEFAULT_SHIP_FROM)
        self.shipments: dict[str, InboundShipment] = {}

    def get(self, shipment_id: str) -> InboundShipment:
        try:
            return self.shipments[shipment_id]
        except KeyError:
            raise ValueError(f"unknown inbound shipment {shipment_id!r}") from None

    def inbound_quantities(self, sku: str) -> tuple[int, int, int]:
        """(working, shipped, receiving) units of ``sku`` in open inbound shipments."""
        working = shipped = receiving = 0
        for shp in self.shipments.values():
            item = shp.items.get(sku)
            if item is None:
                continue
            if shp.status == "WORKING":
                working += item.shipped
            elif shp.status in ("SHIPPED", "IN_TRANSIT", "DELIVERED", "CHECKED_IN"):
                shipped += item.shipped
            elif shp.status == "RECEIVING":
                receiving += max(0, item.shipped - item.received)
        return working, shipped, receiving


    def create_inbound_shipment(self, items: dict[str, int], *, shipment_id: str | None = None,
                                name: str | None = None, fc: str | None = None, plan_id: str | None = None,
                                confirmed: bool = True) -> InboundShipment:
        """The seller created an inbound shipment (WORKING): units count as inbound working.

        ``plan_id``: one more shipment of that 2024-03-20 plan (only while its placement is not confirmed);
        ``confirmed=False``: the plan's placement is not confirmed yet (``confirm_inbound_plan`` confirms it).
        """
        if plan_id is not None:
            siblings = self.plan_shipments(plan_id)
            if not siblings:
                raise ValueError(f"unknown inbound plan {plan_id!r}")
            if any(x.confirmed for x in siblings):
                raise ValueError(f"inbound plan {plan_id} is confirmed; its shipments cannot change")
            confirmed = False
        self.shared.advance()
        for sku in items:
            self.inventory.stock(sku)
        now = self.shared.now()
        shipment_id = shipment_id or f"FBA{self.shared.alnum(9)}"
        if shipment_id in self.shipments:
            raise ValueError(f"inbound shipment {shipment_id} exists")
        shp = InboundShipment(
            shipment_id=shipment_id, name=name or f"FBA ({now:%d/%m/%Y %H:%M})-{fc or self.shared.default_fc}",
            fc=fc or self.shared.default_fc, status="WORKING",
            items={sku: InboundItem(sku=sku, shipped=int(q)) for sku, q in items.items()},
            created=now, updated=now, plan_id=plan_id or f"wf{self.shared.uuid()}",
            shipment_uuid=f"sh{self.shared.uuid()}", placement_option_id=f"pl{self.shared.uuid()}",
            confirmed=bool(confirmed))
        if plan_id is not None:
            shp.placement_option_id = self.plan_shipments(plan_id)[0].placement_option_id
            for sibling in self.plan_shipments(plan_id):
                sibling.updated = now  # the plan changed
        self.shipments[shipment_id] = shp
        self.inventory.changed(*items)
        return shp

    def plan_shipments(self, plan_id: str) -> list[InboundShipment]:
        return [s for s in self.shipments.values() if s.plan_id == plan_id]

    def confirm_inbound_plan(self, plan_id: str) -> list[InboundShipment]:
        """The seller confirmed the plan's placement option: its shipments are fixed and get their ids."""
        self.shared.advance()
        shipments = self.plan_shipments(plan_id)
        if not shipments:
            raise ValueError(f"unknown inbound plan {plan_id!r}")
        now = self.shared.now()
        for shp in shipments:
            shp.confirmed, shp.updated = True, now
        return shipments

    def set_inbound_status(self, shipment_id: str, status: str) -> InboundShipment:
        self.shared.advance()
        if not self.get(shipment_id).confirmed and status not in ("DELETED", "CANCELLED"):
            raise ValueError(f"{shipment_id}: its plan's placement is not confirmed yet")
        if status not in V0_STATUSES:
            raise ValueError(f"unknown inbound status {status!r}")
        shp = self.get(shipment_id)
        shp.status = status
        shp.updated = self.shared.now()
        self.inventory.changed(*shp.items)
        return shp

    def ship_inbound(self, shipment_id: str) -> InboundShipment:
        """The carrier picked the shipment up: inbound working → inbound shipped."""
        shp = self.get(shipment_id)
        if shp.status != "WORKING":
            raise ValueError(f"{shipment_id} is {shp.status}, only WORKING shipments can be shipped")
        return self.set_inbound_status(shipment_id, "SHIPPED")

    def receive_inbound(self, shipment_id: str, items: dict[str, int], *, fc: str | None = None,
                        at: datetime | None = None) -> InboundShipment:
        """The FC received units (partial, over-receipt or a SKU never in the shipment are all allowed).

        Each SKU gets a Receipts ledger row whose Reference ID is the shipment id.
        """
        self.shared.advance()
        shp = self.get(shipment_id)
        if shp.status in ("WORKING", "CANCELLED", "DELETED", "CLOSED"):
            raise ValueError(f"{shipment_id} is {shp.status}; it cannot receive units")
        for sku, qty in items.items():
            self.inventory.stock(sku)
            item = shp.items.setdefault(sku, InboundItem(sku=sku, shipped=0))
            item.received += int(qty)
            self.inventory.move(sku, "SELLABLE", int(qty))
            self.inventory.record(sku, "Receipts", shipment_id, int(qty), "SELLABLE", fc=fc or shp.fc, at=at)
        shp.status = "RECEIVING"
        shp.updated = self.shared.now()
        self.inventory.changed(*shp.items)
        return shp

    def close_inbound(self, shipment_id: str) -> InboundShipment:
        return self.set_inbound_status(shipment_id, "CLOSED")

    def stale_inbound_v0(self, shipment_id: str, *, received: dict[str, int] | None = None, hide: bool = False,
                         fresh: bool = False) -> InboundShipment:
        """Make v0 getShipmentItems lag the truth (ledger Receipts and stock keep the real figures).

        ``received``: v0 shows these QuantityReceived figures from now on (a SKU not named shows 0; ``{}`` =
        zero everywhere), however much more is received; ``hide``: v0 shows no items at all, as for a
        shipment created through the 2024-03-20 API; ``fresh``: back to the true figures.
        """
        shp = self.get(shipment_id)
        if fresh:
            shp.v0_received, shp.v0_hidden = None, False
        else:
            if received is not None:
                unknown = sorted(set(received) - set(shp.items))
                if unknown:
                    raise ValueError(f"{shipment_id} has no SKUs {unknown}")
                shp.v0_received = {k: int(v) for k, v in received.items()}
            shp.v0_hidden = bool(hide)
        return shp

    def cancel_inbound(self, shipment_id: str) -> InboundShipment:
        """Cancelled before sending → DELETED; after → CANCELLED."""
        shp = self.get(shipment_id)
        return self.set_inbound_status(shipment_id, "DELETED" if shp.status == "WORKING" else "CANCELLED")


    def state(self) -> JSON:
        return {
        "inbound_shipments": {sid: {"status": s.status, "fc": s.fc, "plan_id": s.plan_id,
                                    "shipment_uuid": s.shipment_uuid, "confirmed": s.confirmed,
                                    "items": {k: {"shipped": i.shipped, "received": i.received}
                                              for k, i in s.items.items()}}
                              for sid, s in self.shipments.items()},
        }


class InboundRoutes(Routes):
    def register(self) -> None:
        op = self.host._op
        v0 = "/fba/inbound/v0"
        op("GET", v0 + r"/shipments", "getShipments", self._get_shipments)
        op("GET", v0 + r"/shipments/(?P<id>[^/]+)/items", "getShipmentItemsByShipmentId",
                 self._get_shipment_items_by_id)
        op("GET", v0 + r"/shipmentItems", "getShipmentItems", self._get_shipment_items)
        p = "/inbound/fba/2024-03-20/inboundPlans"
        op("GET", p, "listInboundPlans", self._list_inbound_plans)
        op("GET", p + r"/(?P<plan>[^/]+)", "getInboundPlan", self._get_inbound_plan)
        op("GET", p + r"/(?P<plan>[^/]+)/items", "listInboundPlanItems", self._list_inbound_plan_items)
        op("GET", p + r"/(?P<plan>[^/]+)/shipments/(?P<shipment>[^/]+)", "getShipment", self._get_shipment)
        op("GET", p + r"/(?P<plan>[^/]+)/shipments/(?P<shipment>[^/]+)/items", "listShipmentItems",
                 self._list_shipment_items)

    # ================================================================== inbound v0
    def _v0_shipment(self, shp: InboundShipment) -> JSON:
        return {"ShipmentId": shp.shipment_id, "ShipmentName": shp.name,
                "ShipFromAddress": dict(self.world.inbound.ship_from),
                "DestinationFulfillmentCenterId": shp.fc, "ShipmentStatus": shp.status,
                "LabelPrepType": shp.label_prep, "AreCasesRequired": False, "BoxContentsSource": "INTERACTIVE"}

    @staticmethod
    def _v0_items(shp: InboundShipment, fnsku: Callable[[str], str]) -> list[JSON]:
        if shp.v0_hidden:  # stale v0 control: a 2024-03-20 shipment v0 shows no items for
            return []
        stale = shp.v0_received
        return [{"ShipmentId": shp.shipment_id, "SellerSKU": i.sku, "FulfillmentNetworkSKU": fnsku(i.sku),
                 "QuantityShipped": i.shipped,
                 "QuantityReceived": i.received if stale is None else min(i.received, stale.get(i.sku, 0)),
                 "QuantityInCase": i.quantity_in_case, "PrepDetailsList": []} for i in shp.items.values()]

    def _fnsku(self, sku: str) -> str:
        return self.world.listings_items.listings[sku].fnsku

    def _v0_marketplace(self, req: Request, required: bool = True) -> None:
        mkt = req.q("MarketplaceId")
        if mkt or required:
            self._check_marketplaces([mkt] if mkt else [], "MarketplaceId")

    def _v0_page(self, kind: str, rows: list[JSON], offset: int = 0) -> JSON:
        page = rows[offset:offset + self.host.inbound_page_size]
        out: JSON = {"ShipmentData" if kind == "shipments" else "ItemData": page}
        if offset + self.host.inbound_page_size < len(rows):
            out["NextToken"] = self._page_token((kind, rows, offset + self.host.inbound_page_size))
        return {"payload": out}

    def _v0_window(self, req: Request) -> list[InboundShipment]:
        after = parse_time(req.q("LastUpdatedAfter"), "LastUpdatedAfter")
        before = parse_time(req.q("LastUpdatedBefore"), "LastUpdatedBefore")
        if after is None or before is None:
            raise invalid("LastUpdatedAfter and LastUpdatedBefore are required for QueryType DATE_RANGE.")
        return [s for s in self.world.inbound.shipments.values() if after <= s.updated <= before]

    def _v0_next_page(self, req: Request, kind: str, operation: str) -> Response:
        """The page a v0 NextToken points at; a token of the other operation is refused."""
        token_kind, rows, offset = self._take_page_token(req.q("NextToken") or "")
        if token_kind != kind:
            raise invalid(f"The NextToken is not a {operation} token.")
        return Response(200, self._v0_page(kind, rows, offset))

    def _get_shipments(self, req: Request) -> Response:
        self._v0_marketplace(req)
        query_type = req.q("QueryType")
        if query_type == "NEXT_TOKEN":
            return self._v0_next_page(req, "shipments", "getShipments")
        statuses = set(qlist(req, "ShipmentStatusList"))
        ids = qlist(req, "ShipmentIdList")
        if query_type == "SHIPMENT":
            if not statuses and not ids:
                raise invalid("ShipmentStatusList or ShipmentIdList is required for QueryType SHIPMENT.")
            found = list(self.world.inbound.shipments.values())
        elif query_type == "DATE_RANGE":
            found = self._v0_window(req)
        else:
            raise invalid("QueryType must be SHIPMENT, DATE_RANGE or NEXT_TOKEN.")
        if len(ids) > 999:
            raise invalid("ShipmentIdList accepts at most 999 ids.")
        # A shipment whose plan is not confirmed has no confirmation id yet: v0 does not know it.
        found = [s for s in found if s.confirmed and (not ids or s.shipment_id in ids)
                 and (not statuses or s.status in statuses)]
        rows = [self._v0_shipment(s) for s in sorted(found, key=lambda s: s.created)]
        return Response(200, self._v0_page("shipments", rows))

    def _get_shipment_items_by_id(self, req: Request) -> Response:
        self._v0_marketplace(req, required=False)
        shp = self.world.inbound.shipments.get(unquote(req.params["id"]))
        if shp is None or not shp.confirmed:
            raise invalid(f"Invalid shipmentId {req.params['id']}.")
        # The operation takes no NextToken: every item of the shipment comes in one answer.
        return Response(200, {"payload": {"ItemData": self._v0_items(shp, self._fnsku)}})

    def _get_shipment_items(self, req: Request) -> Response:
        self._v0_marketplace(req)
        query_type = req.q("QueryType")
        if query_type == "NEXT_TOKEN":
            return self._v0_next_page(req, "items", "getShipmentItems")
        if query_type != "DATE_RANGE":
            raise invalid("QueryType must be DATE_RANGE or NEXT_TOKEN.")
        rows = [row for s in sorted(self._v0_window(req), key=lambda s: s.created) if s.confirmed
                for row in self._v0_items(s, self._fnsku)]
        return Response(200, self._v0_page("items", rows))

    # ================================================================== inbound 2024-03-20
    def _source_address(self) -> JSON:
        a = self.world.inbound.ship_from
        out = {"name": a["Name"], "addressLine1": a["AddressLine1"], "city": a["City"],
               "countryCode": a["CountryCode"], "postalCode": a["PostalCode"]}
        if a.get("StateOrProvinceCode"):
            out["stateOrProvinceCode"] = a["StateOrProvinceCode"]
        return out

    def _plan(self, plan_id: str) -> InboundShipment:
        shp = next((s for s in self.world.inbound.shipments.values() if s.plan_id == plan_id), None)
        if shp is None:
            raise ApiError(404, "NotFound", f"Inbound plan {plan_id} not found.")
        return shp

    def _plan_shipment(self, plan_id: str, shipment_uuid: str) -> InboundShipment:
        self._plan(plan_id)
        shp = next((s for s in self.world.inbound.plan_shipments(plan_id) if s.shipment_uuid == shipment_uuid), None)
        if shp is None:
            raise ApiError(404, "NotFound", f"Shipment {shipment_uuid} not found.")
        return shp

    def _plan_summary(self, shp: InboundShipment) -> JSON:
        shipments = self.world.inbound.plan_shipments(shp.plan_id)
        if all(s.status in ("CANCELLED", "DELETED") for s in shipments):
            status = "VOIDED"
        elif any(s.status == "WORKING" or not s.confirmed for s in shipments):
            status = "ACTIVE"
        else:
            status = "SHIPPED"
        return {"inboundPlanId": shp.plan_id, "name": f"FBA ({shp.created:%m/%d/%Y, %I:%M %p})",
                "status": status, "createdAt": iso_s(shp.created),
                "lastUpdatedAt": iso_s(max(s.updated for s in shipments)),
                "marketplaceIds": [self.host.marketplace_ids[0]], "sourceAddress": self._source_address()}

    def _paginate_2024(self, req: Request, rows: list[JSON], default: int, maximum: int) -> tuple[list[JSON], JSON]:
        size = int_param(req, "pageSize", default, 1, maximum)
        token = req.q("paginationToken")
        offset = self._take_page_token(token) if token else 0
        pagination: JSON = {}
        if offset + size < len(rows):
            pagination["nextToken"] = self._page_token(offset + size)
        return rows[offset:offset + size], pagination

    def _list_inbound_plans(self, req: Request) -> Response:
        status = req.q("status")
        if status not in (None, "ACTIVE", "VOIDED", "SHIPPED"):
            raise invalid("status must be ACTIVE, VOIDED or SHIPPED.")
        sort_by = req.q("sortBy") or "LAST_UPDATED_TIME"
        order = req.q("sortOrder") or "ASC"
        if sort_by not in ("LAST_UPDATED_TIME", "CREATION_TIME") or order not in ("ASC", "DESC"):
            raise invalid("Invalid sortBy or sortOrder.")
        firsts: dict[str, InboundShipment] = {}
        for shp in self.world.inbound.shipments.values():
            firsts.setdefault(shp.plan_id, shp)  # one entry per plan, however many shipments it has
        summaries = [self._plan_summary(s) for s in firsts.values()]
        summaries = [p for p in summaries if status is None or p["status"] == status]
        key = "lastUpdatedAt" if sort_by == "LAST_UPDATED_TIME" else "createdAt"
        summaries.sort(key=lambda p: str(p[key]), reverse=order == "DESC")
        page, pagination = self._paginate_2024(req, summaries, 10, 30)
        return Response(200, {"inboundPlans": page, "pagination": pagination})

    def _get_inbound_plan(self, req: Request) -> Response:
        shp = self._plan(req.params["plan"])
        shipments = self.world.inbound.plan_shipments(shp.plan_id)
        placed = all(s.confirmed for s in shipments)
        # Before the placement is confirmed the plan lists no shipments (the model: "populated when it has
        # been generated with the confirmPlacementOptions operation"), and its option is only OFFERED.
        return Response(200, {**self._plan_summary(shp),
                              "shipments": [{"shipmentId": s.shipment_uuid, "status": s.status}
                                            for s in shipments] if placed else [],
                              "packingOptions": [],
                              "placementOptions": [{"placementOptionId": shp.placement_option_id,
                                                    "status": "ACCEPTED" if placed else "OFFERED"}]})

    def _get_shipment(self, req: Request) -> Response:
        shp = self._plan_shipment(req.params["plan"], req.params["shipment"])
        body: JSON = {
            "shipmentId": shp.shipment_uuid, "name": shp.name,
            "status": shp.status if shp.confirmed else "UNCONFIRMED", "placementOptionId": shp.placement_option_id,
            "source": {"sourceType": "SELLER_FACILITY", "address": self._source_address()},
            "destination": {"destinationType": "AMAZON_WAREHOUSE", "warehouseId": shp.fc},
        }
        if shp.confirmed:  # the id on the labels exists once the placement is confirmed
            body["shipmentConfirmationId"] = shp.shipment_id
        return Response(200, body)

    def _items_2024(self, shp: InboundShipment) -> list[JSON]:
        out = []
        for item in shp.items.values():
            if item.shipped < 1:
                continue  # a SKU Amazon received but the seller never planned is not a planned item
            li = self.world.listings_items.listings[item.sku]
            out.append({"msku": item.sku, "asin": li.asin, "fnsku": li.fnsku, "quantity": item.shipped,
                        "labelOwner": "SELLER", "prepInstructions": []})
        return out

    def _list_shipment_items(self, req: Request) -> Response:
        shp = self._plan_shipment(req.params["plan"], req.params["shipment"])
        page, pagination = self._paginate_2024(req, self._items_2024(shp), 10, 1000)
        return Response(200, {"items": page, "pagination": pagination})

    def _list_inbound_plan_items(self, req: Request) -> Response:
        items = [i for shp in self.world.inbound.plan_shipments(self._plan(req.params["plan"]).plan_id)
                 for i in self._items_2024(shp)]
        page, pagination = self._paginate_2024(req, items, 10, 1000)
        return Response(200, {"items": page, "pagination": pagination})

