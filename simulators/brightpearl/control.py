"""The Brightpearl simulator's control API (``/_sim/brightpearl/...``): on-hand edits, webhook
delivery records, token expiry and revocation, auth codes, and the scenario operations (delete
products, bulk products, force on-hand, place and ship sales orders, transfer history, goods-out
note deletion)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from simulators.brightpearl import goods_out_delete, history
from simulators.brightpearl.errors import BPError
from simulators.brightpearl.records import format_id_set
from simulators.core import Request, Response, iso

if TYPE_CHECKING:
    from simulators.brightpearl.server import BrightpearlSimulator


def register(sim: BrightpearlSimulator) -> None:
    def onhand(req: Request) -> Response:
        b = req.json() or {}
        with sim.lock:
            try:
                figures = sim.world.inventory.adjust_on_hand(
                    int(b["productId"]), int(b["warehouseId"]), delta=b.get("delta"), on_hand=b.get("onHand"),
                    location_id=b.get("locationId"))
            except BPError as e:
                sim.world.shared.drain_events()
                return Response(e.status, e.body())
            sim._flush_events()
        return Response(200, figures)

    def deliveries(req: Request) -> Response:
        return Response(200, sim.webhooks.attempts())

    def clear_deliveries(req: Request) -> Response:
        sim.webhooks.clear()
        return Response(200, {"ok": True})

    def wait(req: Request) -> Response:
        return Response(200, {"idle": sim.wait_webhooks_idle(float((req.json() or {}).get("timeout", 5.0)))})

    def expire(req: Request) -> Response:
        b = req.json() or {}
        with sim.lock:
            if b.get("afterRequests") is not None:
                sim.expire_tokens_after(int(b["afterRequests"]))
                return Response(200, {"expiresAfterRequests": int(b["afterRequests"])})
            return Response(200, {"expired": sim.tokens.expire_access(b.get("accessToken"))})

    def scenario(fn: Callable[[dict[str, Any]], Any]) -> Callable[[Request], Response]:
        def run(req: Request) -> Response:
            try:
                body = req.json() or {}
            except ValueError:
                return Response(400, BPError(400, "CMNC-400", "Request body is not valid JSON").body())
            with sim.lock:
                try:
                    result = fn(body)
                except BPError as e:
                    sim.world.shared.drain_events()
                    return Response(e.status, e.body())
                except (KeyError, TypeError, ValueError) as e:
                    sim.world.shared.drain_events()
                    return Response(400, BPError(400, "CMNC-400", f"Bad scenario request: {e!r}").body())
                sim._flush_events()
            return Response(200, result)
        return run

    sim.route("POST", r"/_sim/brightpearl/products/delete",
              scenario(lambda b: {"deleted": delete_products(sim, b["productIds"])}), write=False)
    sim.route("POST", r"/_sim/brightpearl/products/bulk", scenario(lambda b: bulk_products(sim, b)), write=False)
    sim.route("POST", r"/_sim/brightpearl/onhand/force", scenario(lambda b: sim.world.inventory.force_on_hand(
        int(b["productId"]), int(b["warehouseId"]), int(b["onHand"]), b.get("locationId"))), write=False)
    sim.route("POST", r"/_sim/brightpearl/sales-order", scenario(lambda b: place_sales_order(sim, b)), write=False)
    sim.route("POST", r"/_sim/brightpearl/sales-order/(?P<oid>\d+)/ship",
              lambda req: scenario(lambda b: ship_sales_order(sim, int(req.params["oid"])))(req), write=False)

    def revoke(req: Request) -> Response:
        with sim.lock:
            sim.tokens.revoke_access((req.json() or {}).get("accessToken"))
        return Response(200, {"ok": True})

    def auth_code(req: Request) -> Response:
        with sim.lock:
            return Response(200, {"code": sim.issue_auth_code((req.json() or {}).get("redirectUri"))})

    sim.control_routes("/_sim/brightpearl", [
        ("POST", "/onhand", onhand), ("GET", "/webhook-deliveries", deliveries),
        ("DELETE", "/webhook-deliveries", clear_deliveries), ("POST", "/webhooks/wait", wait),
        ("POST", "/tokens/expire", expire), ("POST", "/tokens/revoke", revoke), ("POST", "/auth-code", auth_code)])
    history.register(sim)  # scenario control: an account with a transfer history
    goods_out_delete.register(sim)  # Goods-Out Note DELETE (transfer notes)


def delete_products(sim: BrightpearlSimulator, ids: list[Any]) -> list[int]:
    pids = [int(i) for i in ids]
    for pid in pids:
        sim.world.catalog.delete_product(pid)
    return pids


def bulk_products(sim: BrightpearlSimulator, b: dict[str, Any]) -> dict[str, Any]:
    """``count`` products from ``firstId``, skipping one id after every ``gapEvery`` (0: no gaps), each
    with ``onHand`` units in ``warehouseId`` (when given); SKUs ``{skuPrefix}{id}``."""
    count, pid = int(b["count"]), int(b.get("firstId", 10000))
    gap, prefix = int(b.get("gapEvery", 0)), str(b.get("skuPrefix", "SKU-"))
    products: list[dict[str, Any]] = []
    stock: list[dict[str, Any]] = []
    ids: list[int] = []
    while len(ids) < count:
        ids.append(pid)
        products.append({"id": pid, "sku": f"{prefix}{pid}"})
        if b.get("warehouseId") is not None:
            stock.append({"productId": pid, "warehouseId": int(b["warehouseId"]),
                          "onHand": int(b.get("onHand", 0))})
        pid += 2 if gap and len(ids) % gap == 0 else 1
    sim.world.seed({"products": products, "stock": stock})
    return {"productIds": format_id_set(ids), "count": len(ids), "lastId": ids[-1] if ids else None}


def place_sales_order(sim: BrightpearlSimulator, b: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"customer": {"id": b.get("customerId", 200)}, "warehouseId": b["warehouseId"],
            "rows": [{"productId": r["productId"], "quantity": r.get("quantity", 1), "net": r.get("net", 0),
                      "tax": r.get("tax", 0)} for r in b["rows"]],
            **{k: b[k] for k in ("ref", "externalRef", "channelId", "parties", "allocate") if k in b}}
    oid = sim.world.sales.create_sales_order(body)
    out: dict[str, Any] = {"orderId": oid, "goodsOutNoteIds": []}
    if b.get("ship"):
        out["goodsOutNoteIds"] = ship_sales_order(sim, oid)["goodsOutNoteIds"]
    return out


def ship_sales_order(sim: BrightpearlSimulator, oid: int) -> dict[str, Any]:
    """Everything the order has allocated onto a goods-out note, then SHW (which adds PRI/PIC/PAC)."""
    order = sim.world.sales.orders.get(oid)
    if order is None:
        raise BPError(404, "CMNC-404", f"Order {oid} not found")
    if not order.allocations:  # nothing in stock was allocated: nothing to send
        return {"orderId": oid, "goodsOutNoteIds": []}
    gids = sim.world.sales.sales_order_goods_out(oid, {"warehouses": [{"warehouseId": order.warehouse_id}]})
    at = iso(sim.clock.now())
    for gid in gids:
        sim.world.goods_out.gon_event(gid, {"events": [{"eventCode": "SHW", "occured": at,
                                               "eventOwnerId": sim.staff_id}]}, None)
    return {"orderId": oid, "goodsOutNoteIds": gids}
