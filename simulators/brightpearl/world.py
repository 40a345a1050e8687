"""Brightpearl's state as a pure model: no HTTP, no threads, no locks (the server serialises calls).

:class:`World` is a thin container of what the sections share (:class:`~simulators.brightpearl.base.Shared`:
clock, staff id, id counters, events) and one part per section of the API:

- ``catalog`` (:mod:`simulators.brightpearl.catalog`): products, bundles, variants, product search;
- ``inventory`` (:mod:`simulators.brightpearl.inventory`): warehouses, locations, stock, corrections,
  internal transfers, quarantine release, availability (the stock model is described there);
- ``goods_out`` (:mod:`simulators.brightpearl.goods_out`): stock transfers and goods-out notes;
- ``sales`` (:mod:`simulators.brightpearl.sales`): orders and sales orders;
- ``credits`` (:mod:`simulators.brightpearl.credits`): sales credits and goods-in notes;
- ``hooks`` (:mod:`simulators.brightpearl.webhook_registry`): registered webhooks.

A part reaches another through the world (``self.w.inventory.move(...)``). ``products``, ``orders``,
``transfers``, ``gons``, ``goods_in_notes``, ``corrections`` and ``webhooks`` are the parts' own
collections, reachable from the world for tests and the demo.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from simulators.brightpearl.base import Shared
from simulators.brightpearl.catalog import Catalog
from simulators.brightpearl.credits import Credits
from simulators.brightpearl.goods_out import GoodsOut
from simulators.brightpearl.inventory import Inventory
from simulators.brightpearl.sales import Sales
from simulators.brightpearl.webhook_registry import Webhooks


class World:
    def __init__(self, now: Callable[[], str], staff_id: int = 4) -> None:
        self.shared = Shared(now, staff_id)
        self.catalog = Catalog(self)
        self.inventory = Inventory(self)
        self.goods_out = GoodsOut(self)
        self.sales = Sales(self)
        self.credits = Credits(self)
        self.hooks = Webhooks(self)
        # The parts' collections (the same objects), for tests and the demo.
        self.products = self.catalog.products
        self.orders = self.sales.orders
        self.transfers = self.goods_out.transfers
        self.gons = self.goods_out.gons
        self.goods_in_notes = self.credits.goods_in_notes
        self.corrections = self.inventory.corrections
        self.webhooks = self.hooks.webhooks

    def now(self) -> str:
        return self.shared.now()

    def seed(self, data: dict[str, Any]) -> None:
        """Merge a compact JSON description into the world (see the module docs / docs/simulators-brightpearl.md)."""
        for w in data.get("warehouses", []):
            self.inventory.seed_warehouse(w)
        for p in data.get("products", []):
            self.catalog.seed_product(p)
        for s in data.get("stock", []):
            self.inventory.seed_stock(s)
        for o in data.get("orders", []):
            self.sales.seed_order(o)
        for h in data.get("webhooks", []):
            self.hooks.register_webhook(h)
        # Seeding is arranging, not a change Brightpearl would announce.
        self.shared.events, self.shared.dirty = [], set()

    def to_json(self) -> dict[str, Any]:
        stock = []
        for pid, wid in sorted(self.inventory.history):
            wh = self.inventory.warehouses[wid]
            stock.append({"productId": pid, "warehouseId": wid, **self.inventory.warehouse_figures(pid, wid),
                          "quarantine": self.inventory.location_qty(pid, wid, wh.quarantine_location_id),
                          "locations": {str(lid): q for (p, w, lid), q in sorted(self.inventory.stock.items())
                                        if p == pid and w == wid and q}})
        return {
            "warehouses": [{"id": w.id, "name": w.name, "defaultLocationId": w.default_location_id,
                            "quarantineLocationId": w.quarantine_location_id, "locations": sorted(w.locations)}
                           for w in self.inventory.warehouses.values()],
            "products": [self.catalog.product_json(p) for p in self.catalog.products.values()],
            "stock": stock,
            "stockCorrections": self.inventory.get_stock_corrections_all(),
            "stockTransfers": self.goods_out.get_stock_transfers(sorted(self.goods_out.transfers)),
            "goodsOutNotes": {str(g.id): self.goods_out.gon_json(g) for g in self.goods_out.gons.values()},
            "quarantineReleases": [{"id": r.id, "warehouseId": r.warehouse_id, "productId": r.product_id,
                                    "quantity": r.quantity, "toLocationId": r.to_location_id, "createdOn": r.created_on}
                                   for r in self.inventory.releases.values()],
            "orders": [self.sales.order_json(o) for o in self.sales.orders.values()],
            "goodsInNotes": self.credits.get_goods_in(None, None),
            "webhooks": self.hooks.list_webhooks(None),
        }
