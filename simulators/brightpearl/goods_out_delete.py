"""Goods-Out Note DELETE for transfer notes: ``DELETE /warehouse-service/order/{orderId}/goods-note/goods-out/{id}``.

Not in the project's contract; documented by Brightpearl (https://api-docs.brightpearl.com/warehouse/goods-out-note/delete.html,
also wrapped by the ruby-brightpearl gem as ``GoodsOutNote.delete(order_id:, gon_id:)``), and the help centre
says a goods-out note can be deleted once printing, picking and packing are undone, while shipping can never be
undone (brightpearl.com/support/documentation/sales/help-guides/fulfilment-shipping/print-pick-pack-ship).
The simulator is the stricter reading: a shipped note → 400 ``WHSC-013``; a printed, picked or packed one → 400
``WHSC-016`` (undo those events first); an unknown note, or one not under the given order (transfer notes
belong to order 0) → 404; ``*`` matches no DELETE route (405). Deleting frees the allocation (source ``onHand +q,
allocated -q``), leaves the stock transfer without a note (``goodsOutNoteId`` 0) and raises
``goods-out-note.destroyed``. The answer is ``{}``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulators.brightpearl.errors import BPError
from simulators.brightpearl.http import P
from simulators.brightpearl.world import World
from simulators.core import Request, Response

if TYPE_CHECKING:
    from simulators.brightpearl.server import BrightpearlSimulator


def delete_goods_out_note(world: World, order_id: int, gid: int) -> None:
    g = world.gons.get(gid)
    if g is None or order_id != 0:  # only transfer notes are modelled; they belong to order 0
        raise BPError(404, "CMNC-404", f"Goods-out note {gid} not found for order {order_id}")
    if g.shipped:
        raise BPError(400, "WHSC-013", f"Goods-out note {gid} has been shipped and cannot be changed")
    if any(g.status.get(flag) for flag in ("printed", "picked", "packed")):
        raise BPError(400, "WHSC-016", f"Goods-out note {gid} must be unpacked, unpicked and unprinted first")
    for a in g.lines:
        world.inventory.move(a.product_id, g.warehouse_id, a.location_id, a.quantity)  # the allocation ends
    del world.gons[gid]
    transfer = world.transfers.get(g.stock_transfer_id)
    if transfer is not None and transfer.goods_out_note_id == gid:
        transfer.goods_out_note_id = 0
    world.shared.raise_event("goods-out-note.destroyed", [gid])


def register(sim: BrightpearlSimulator) -> None:
    def handler(req: Request) -> Response:
        delete_goods_out_note(sim.world, int(req.params["oid"]), int(req.params["gid"]))
        return Response(200, {})

    sim.route("DELETE", P + r"/warehouse-service/order/(?P<oid>\d+)/goods-note/goods-out/(?P<gid>\d+)",
              sim._api(handler), name="delete-goods-out-note")
