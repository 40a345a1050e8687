"""Helpers for tests that drive the Brightpearl simulator with the production client."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class NoGovernor:
    """The shared DynamoDB budget left out: a test's simulator has a budget of its own."""

    def acquire(self) -> None:
        return None


def one_warehouse_account(sim: Any, warehouse_id: int, products: Iterable[int], on_hand: int) -> Any:
    """``sim`` reset to one warehouse holding ``on_hand`` units of each product (SKU ``P<id>``), and the
    production client on it: private-app auth, no shared governor, no pause for its rate headers."""
    from connector.adapters.brightpearl.auth import PrivateAppAuth
    from connector.adapters.brightpearl.client import BrightpearlClient

    pids = list(products)
    sim.reset()
    sim.seed({"warehouses": [{"id": warehouse_id, "name": "Amazon FBA"}],
              "products": [{"id": pid, "sku": f"P{pid}"} for pid in pids],
              "stock": [{"productId": pid, "warehouseId": warehouse_id, "onHand": on_hand} for pid in pids]})
    return BrightpearlClient(base_url=sim.url, account="acme", governor=NoGovernor(),
                             auth=PrivateAppAuth(app_ref="acme_connector", account_token="account-token"),
                             low_watermark=-1)
