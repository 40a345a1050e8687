"""Play a merchant's week against a Brightpearl simulator through its control endpoints only.

:class:`BrightpearlScenario` speaks HTTP to ``/_sim/...``, so it drives an in-process simulator
(``BrightpearlScenario.of(sim)``) and a standalone one (``python -m simulators``) alike, and never
touches the simulator's internals. Every method is one control call; each is documented, with an
example, in ``docs/simulators-brightpearl.md`` ("Scenario API")::

    s = BrightpearlScenario("http://127.0.0.1:8100")
    s.reset()
    s.warehouse(2, "Main DC")
    s.products({1007: "SHIRT-BL-M", 1008: "SHIRT-BL-L"}, warehouse_id=2, on_hand=10)
    order = s.place_sales_order(2, {1007: 3})           # allocates: onHand 7, allocated 3
    s.ship_sales_order(order["orderId"])                # ships: onHand 7, allocated 0
    s.delete_product(1008)                              # ID-set reads naming 1008 now answer 400
    s.force_on_hand(1007, 2, -4)                        # negative on-hand
    s.expire_tokens_after(5)                            # the 6th API request sees an expired token
    s.advance(60)                                       # a rate-limit window rolls over
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import requests


class ScenarioError(RuntimeError):
    """A control call was refused; names the route, the status and the simulator's answer."""


class BrightpearlScenario:
    def __init__(self, base_url: str, *, timeout: float = 10.0, session: requests.Session | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = session or requests.Session()

    @classmethod
    def of(cls, sim: Any) -> BrightpearlScenario:
        """For a simulator started in this process (anything with a ``url``)."""
        return cls(sim.url)

    # ------------------------------------------------------------------ plumbing
    def _call(self, method: str, path: str, body: Any = None, params: dict[str, str] | None = None) -> Any:
        r = self.session.request(method, f"{self.base_url}{path}", json=body, params=params, timeout=self.timeout)
        if not 200 <= r.status_code < 300:
            raise ScenarioError(f"{method} {path} → {r.status_code}: {r.text[:500]}")
        return r.json() if r.content else None

    # ------------------------------------------------------------------ world
    def reset(self) -> None:
        """Empty world, fresh rate window and credentials, no faults, journal or delivery records."""
        self._call("POST", "/_sim/reset")

    def seed(self, data: Mapping[str, Any]) -> None:
        """Merge the seed JSON of the docs ("Seeding") into the world; raises no webhooks."""
        self._call("POST", "/_sim/seed", dict(data))

    def state(self) -> dict[str, Any]:
        return dict(self._call("GET", "/_sim/state"))

    def warehouse(self, warehouse_id: int, name: str, **fields: Any) -> None:
        self.seed({"warehouses": [{"id": warehouse_id, "name": name, **fields}]})

    def products(self, skus: Mapping[int, str], *, warehouse_id: int | None = None, on_hand: int = 0) -> None:
        """Products ``{id: sku}``, each with ``on_hand`` units in ``warehouse_id`` when given."""
        data: dict[str, Any] = {"products": [{"id": pid, "sku": sku} for pid, sku in skus.items()]}
        if warehouse_id is not None:
            data["stock"] = [{"productId": pid, "warehouseId": warehouse_id, "onHand": on_hand} for pid in skus]
        self.seed(data)

    def bulk_products(self, count: int, *, first_id: int = 10000, gap_every: int = 0, warehouse_id: int | None = None,
                      on_hand: int = 0, sku_prefix: str = "SKU-") -> dict[str, Any]:
        """``count`` products from ``first_id``, one id skipped after every ``gap_every`` (ids with gaps, as a
        long-lived account has). Answers ``{"productIds": <ID set>, "count", "lastId"}``."""
        body: dict[str, Any] = {"count": count, "firstId": first_id, "gapEvery": gap_every, "skuPrefix": sku_prefix,
                                "onHand": on_hand}
        if warehouse_id is not None:
            body["warehouseId"] = warehouse_id
        return dict(self._call("POST", "/_sim/brightpearl/products/bulk", body))

    def figures(self, product_id: int, warehouse_id: int) -> dict[str, int]:
        """``{"inStock", "onHand", "allocated", "inTransit"}`` of one product in one warehouse (zeros if none)."""
        for row in self.state()["stock"]:
            if row["productId"] == product_id and row["warehouseId"] == warehouse_id:
                return {k: int(row[k]) for k in ("inStock", "onHand", "allocated", "inTransit")}
        return {"inStock": 0, "onHand": 0, "allocated": 0, "inTransit": 0}

    # ------------------------------------------------------------------ stock
    def set_on_hand(self, product_id: int, warehouse_id: int, on_hand: int) -> dict[str, int]:
        """Set on-hand (never below 0; fires the on-hand webhook); answers the warehouse figures."""
        return dict(self._call("POST", "/_sim/brightpearl/onhand",
                               {"productId": product_id, "warehouseId": warehouse_id, "onHand": on_hand}))

    def adjust_on_hand(self, product_id: int, warehouse_id: int, delta: int) -> dict[str, int]:
        return dict(self._call("POST", "/_sim/brightpearl/onhand",
                               {"productId": product_id, "warehouseId": warehouse_id, "delta": delta}))

    def force_on_hand(self, product_id: int, warehouse_id: int, on_hand: int) -> dict[str, int]:
        """Set on-hand to any value, negative included (fires the on-hand webhook)."""
        return dict(self._call("POST", "/_sim/brightpearl/onhand/force",
                               {"productId": product_id, "warehouseId": warehouse_id, "onHand": on_hand}))

    def delete_product(self, *product_ids: int) -> list[int]:
        """Delete products: every ID-set read naming one answers 400 from now on (ids are never reused)."""
        answer = self._call("POST", "/_sim/brightpearl/products/delete", {"productIds": list(product_ids)})
        return [int(i) for i in answer["deleted"]]

    # ------------------------------------------------------------------ orders
    def place_sales_order(self, warehouse_id: int, rows: Mapping[int, int] | Iterable[Mapping[str, Any]], *,
                          ship: bool = False, external_ref: str | None = None, customer_id: int = 200,
                          channel_id: int | None = None) -> dict[str, Any]:
        """A sales order that allocates its rows from ``warehouse_id`` (onHand -q, allocated +q); with
        ``ship`` also a goods-out note shipped at once (allocated -q). ``rows``: ``{productId: quantity}``
        or ``[{"productId", "quantity", "net"?, "tax"?}]``. Answers ``{"orderId", "goodsOutNoteIds"}``."""
        row_list = ([{"productId": p, "quantity": q} for p, q in rows.items()] if isinstance(rows, Mapping)
                    else [dict(r) for r in rows])
        body: dict[str, Any] = {"warehouseId": warehouse_id, "rows": row_list, "ship": ship, "customerId": customer_id}
        if external_ref is not None:
            body["externalRef"] = external_ref
        if channel_id is not None:
            body["channelId"] = channel_id
        return dict(self._call("POST", "/_sim/brightpearl/sales-order", body))

    def ship_sales_order(self, order_id: int) -> dict[str, Any]:
        """Everything the order has allocated goes onto a goods-out note, shipped (SHW adds PRI/PIC/PAC)."""
        return dict(self._call("POST", f"/_sim/brightpearl/sales-order/{order_id}/ship", {}))

    # ------------------------------------------------------------------ auth, time, faults
    def expire_tokens(self) -> int:
        """Expire every live access token now; answers how many were live."""
        return int(self._call("POST", "/_sim/brightpearl/tokens/expire", {})["expired"])

    def expire_tokens_after(self, requests_: int) -> None:
        """The next ``requests_`` API requests authenticate as usual; the one after sees an expired token."""
        self._call("POST", "/_sim/brightpearl/tokens/expire", {"afterRequests": requests_})

    def advance(self, seconds: float) -> str:
        """Move the simulated clock (rate window, token expiry, timestamps); answers the new time."""
        return str(self._call("POST", "/_sim/clock", {"seconds": seconds})["now"])

    def add_fault(self, match: str, **fault: Any) -> dict[str, Any]:
        """A fault rule (``kind``, ``status``, ``count``, ``seconds``…, see core.py); answers it with its id."""
        return dict(self._call("POST", "/_sim/faults", {"match": match, **fault}))

    def clear_faults(self) -> None:
        self._call("DELETE", "/_sim/faults")

    def journal(self, route: str | None = None) -> list[dict[str, Any]]:
        return list(self._call("GET", "/_sim/journal", params={"route": route} if route else None))

    def wait_webhooks(self, timeout: float = 5.0) -> bool:
        return bool(self._call("POST", "/_sim/brightpearl/webhooks/wait", {"timeout": timeout})["idle"])
