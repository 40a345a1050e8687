"""Brightpearl's warehouse transfers: stock transfers, external transfers and their goods-out
notes (events printed/picked/packed/shipped), and their routes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simulators.brightpearl.base import Section
from simulators.brightpearl.errors import BPError
from simulators.brightpearl.http import IDS, _body, _note_ids
from simulators.brightpearl.records import (
    _EVENT_FLAG,
    GON_EVENT_CODES,
    Allocation,
    GoodsOutNote,
    StockTransfer,
    _int,
    _require,
    ids_from,
)
from simulators.core import Request, Response

if TYPE_CHECKING:
    from simulators.brightpearl.server import BrightpearlSimulator
    from simulators.brightpearl.world import World


class GoodsOut(Section):
    """Stock transfers and goods-out notes."""

    def __init__(self, w: World) -> None:
        super().__init__(w)
        self.transfers: dict[int, StockTransfer] = {}
        self.gons: dict[int, GoodsOutNote] = {}

    def create_stock_transfer(self, source: int, body: dict[str, Any]) -> int:
        self.w.inventory.warehouse(source)
        target = _int(_require(body, "targetWarehouseId"), "targetWarehouseId")
        self.w.inventory.warehouse(target)
        if target == source:
            raise BPError(400, "WHSC-006", "targetWarehouseId must differ from the source warehouse")
        ref = body.get("reference")
        if ref and any(t.reference == ref for t in self.transfers.values()):
            raise BPError(400, "WHSC-007", f"A stock transfer with reference {ref} already exists")
        tid = self.shared.new_id("transfer")
        self.transfers[tid] = StockTransfer(tid, source, target, ref, self.shared.now(), self.shared.staff_id)
        return tid

    def get_stock_transfers(self, ids: list[int]) -> list[dict[str, Any]]:
        return [{"stockTransferId": t.id, "sourceWarehouseId": t.source_warehouse_id,
                 "targetWarehouseId": t.target_warehouse_id, "goodsOutNoteId": t.goods_out_note_id,
                 "reference": t.reference, "createdBy": t.created_by, "createdOn": t.created_on}
                for i in ids if (t := self.transfers.get(i))]

    def external_transfer(self, source_id: int, body: dict[str, Any]) -> list[int]:
        source = self.w.inventory.warehouse(source_id)
        tid = _int(_require(body, "stockTransferId"), "stockTransferId")
        transfer = self.transfers.get(tid)
        if transfer is None or transfer.source_warehouse_id != source_id:
            raise BPError(400, "WHSC-008", f"Stock transfer {tid} not found for warehouse {source_id}")
        target = _int(body.get("targetWarehouseId", transfer.target_warehouse_id), "targetWarehouseId")
        if target != transfer.target_warehouse_id:
            raise BPError(400, "WHSC-009", f"Stock transfer {tid} goes to warehouse {transfer.target_warehouse_id}")
        previous = self.gons.get(transfer.goods_out_note_id)
        if previous and previous.shipped:
            raise BPError(400, "WHSC-010", f"Stock transfer {tid} has already been shipped")
        lines = body.get("transferredProducts")
        if not isinstance(lines, list) or not lines:
            raise BPError(400, "WHSC-003", "transferredProducts must be a non-empty list")

        # The call replaces whatever the transfer held: plan against stock as if the old note were released.
        if previous:
            for a in previous.lines:
                self.w.inventory.move(a.product_id, source_id, a.location_id, a.quantity)
            del self.gons[previous.id]
        seen: set[tuple[int, int | None]] = set()
        allocations: list[Allocation] = []
        taken: dict[tuple[int, int], int] = {}
        try:
            for ln in lines:
                p = self.w.catalog.tracked(_require(ln, "productId"))
                q = _int(_require(ln, "quantity"), "quantity")
                if q <= 0:
                    raise BPError(400, "WHSC-004", "quantity must be positive")
                lid = self.w.inventory.location(source_id, ln["fromLocationId"]) if ln.get("fromLocationId") else None
                if (p.id, lid) in seen:
                    raise BPError(400, "WHSC-011", f"Product {p.id} appears twice for the same location")
                seen.add((p.id, lid))
                allocations += self.w.inventory.plan_allocation(source, p.id, q, lid, taken)
        except BPError:
            if previous:  # refused: put the old note back as it was
                for a in previous.lines:
                    self.w.inventory.move(a.product_id, source_id, a.location_id, -a.quantity)
                self.gons[previous.id] = previous
            raise
        for a in allocations:
            self.w.inventory.move(a.product_id, source_id, a.location_id, -a.quantity)  # onHand -q, allocated +q
        gid = self.shared.new_id("goods_note")
        now = self.shared.now()
        version = self.shared.new_id("event_version")
        self.gons[gid] = GoodsOutNote(
            id=gid, warehouse_id=source_id, target_warehouse_id=target, stock_transfer_id=tid,
            shipping_method_id=int(body.get("shippingMethodId", 0)), release_date=str(body.get("releaseDate", now)),
            created_on=now, created_by=self.shared.staff_id, lines=allocations,
            events=[{"occured": now, "eventOwnerId": self.shared.staff_id, "eventCode": "PLA"}],
            last_event_version=version)
        transfer.goods_out_note_id = gid
        self.shared.raise_event("goods-out-note.created", [gid])
        return [gid]

    def gon_json(self, g: GoodsOutNote) -> dict[str, Any]:
        rows: dict[str, list[dict[str, Any]]] = {}
        for a in g.lines:
            key = str(g.row_ids.get(a.product_id, 0)) if not g.transfer else "0"
            rows.setdefault(key, []).append({"productId": a.product_id, "quantity": a.quantity,
                                             "locationId": a.location_id})
        out = {"orderId": g.order_id, "warehouseId": g.warehouse_id, "transfer": g.transfer, "priority": False,
               "status": dict(g.status), "shipping": {"reference": "", "shippingMethodId": g.shipping_method_id},
               "releaseDate": g.release_date, "createdOn": g.created_on, "createdBy": g.created_by,
               "orderRows": rows, "sequence": 1, "events": [dict(e) for e in g.events],
               "lastEventVersion": g.last_event_version}
        if g.transfer:
            out.update(targetWarehouseId=g.target_warehouse_id, stockTransferId=g.stock_transfer_id)
        return out

    def get_gons(self, order_ids: list[int] | None, gon_ids: list[int] | None) -> dict[str, Any]:
        # Transfer notes belong to no order: they answer under ``*`` or order id 0; sales-order notes
        # under their order id.
        notes = [g for g in self.gons.values()
                 if (gon_ids is None or g.id in gon_ids) and (order_ids is None or g.order_id in order_ids)]
        if not notes:
            raise BPError(404, "CMNC-404", "No goods-out notes found")
        return {str(g.id): self.gon_json(g) for g in sorted(notes, key=lambda n: n.id)}

    def gon_event(self, gid: int, body: dict[str, Any], if_match: str | None) -> None:
        g = self.gons.get(gid)
        if g is None:
            raise BPError(404, "CMNC-404", f"Goods-out note {gid} not found")
        if if_match is not None and if_match.strip().strip('"') != str(g.last_event_version):
            raise BPError(412, "WHSC-012", f"Goods-out note {gid} has version {g.last_event_version}, not {if_match}")
        if g.shipped:
            raise BPError(400, "WHSC-013", f"Goods-out note {gid} has been shipped and cannot be changed")
        events = body.get("events")
        if not isinstance(events, list) or not events:
            raise BPError(400, "WHSC-003", "events must be a non-empty list")
        for e in events:
            for key in ("eventCode", "occured", "eventOwnerId"):
                _require(e, key, "WHSC-014")
            if e["eventCode"] not in GON_EVENT_CODES:
                raise BPError(400, "WHSC-015", f"Unknown event code {e['eventCode']}")
        for e in events:
            code = e["eventCode"]
            if g.shipped:
                raise BPError(400, "WHSC-013", f"Goods-out note {gid} has been shipped and cannot be changed")
            if code == "SHW":
                for auto, flag in (("PRI", "printed"), ("PIC", "picked"), ("PAC", "packed")):
                    if not g.status[flag]:
                        self._gon_record(g, auto, e)
                        g.status[flag] = True
                self._gon_record(g, "SHW", e)
                self._ship(g, e)
            else:
                flag, value = _EVENT_FLAG[code]
                g.status[flag] = value
                self._gon_record(g, code, e)

    def _gon_record(self, g: GoodsOutNote, code: str, e: dict[str, Any]) -> None:
        g.events.append({"occured": str(e["occured"]), "eventOwnerId": int(e["eventOwnerId"]), "eventCode": code})
        g.last_event_version = self.shared.new_id("event_version")

    def _ship(self, g: GoodsOutNote, e: dict[str, Any]) -> None:
        g.status.update(shipped=True, shippedOn=str(e["occured"]), shippedById=int(e["eventOwnerId"]))
        if not g.transfer:
            # A sales order's units leave the business: the allocation ends (allocated -q, inStock -q).
            for a in g.lines:
                self.shared.dirty.add(a.product_id)
            order = self.w.sales.orders[g.order_id]
            shipped = all(n.shipped for n in self.gons.values() if n.order_id == order.id)
            order.shipping_status_id = 4 if shipped and not order.allocations else 3
            order.updated_on = self.shared.now()
            self.shared.raise_event("goods-out-note.modified.shipped", [g.id])
            return
        target = self.w.inventory.warehouse(g.target_warehouse_id)
        for a in g.lines:
            # Source: the allocation ends (allocated -q, inStock -q). Target: units wait in quarantine (inTransit +q).
            self.w.inventory.move(a.product_id, target.id, target.quarantine_location_id, a.quantity)
            inv = self.w.inventory
            inv.transit[(a.product_id, target.id)] = inv.in_transit(a.product_id, target.id) + a.quantity
            self.shared.dirty.add(a.product_id)
        self.shared.raise_event("goods-out-note.modified.shipped", [g.id])


def register(sim: BrightpearlSimulator) -> None:
    wh = r"/warehouse-service/warehouse/(?P<wid>\d+)"
    sim._post(wh + r"/stock-transfer",
              lambda r: sim.world.goods_out.create_stock_transfer(int(r.params["wid"]), _body(r)),
              "post-stock-transfer")
    sim._get(r"/warehouse-service/stock-transfer/" + IDS,
             lambda r: sim.world.goods_out.get_stock_transfers(ids_from(r.params["ids"])), "get-stock-transfer")
    sim._post(wh + r"/external-transfer",
              lambda r: sim.world.goods_out.external_transfer(int(r.params["wid"]), _body(r)),
              "post-external-transfer")
    sim._get(r"/warehouse-service/order/(?P<orders>\*|[0-9][^/]*)/goods-note/goods-out(?:/" + IDS + ")?",
             lambda r: _read_gons(sim, r), "get-goods-out-note")
    sim._post(r"/warehouse-service/goods-note/goods-out/(?P<gid>\d+)/event",
              lambda r: _gon_event(sim, r), "post-goods-out-note-event")


def _read_gons(sim: BrightpearlSimulator, req: Request) -> Any:
    return sim.world.goods_out.get_gons(*_note_ids(req, "goods-out"))


def _gon_event(sim: BrightpearlSimulator, req: Request) -> Response:
    sim.world.goods_out.gon_event(int(req.params["gid"]), _body(req), req.header("if-match"))
    return Response(200, {})
