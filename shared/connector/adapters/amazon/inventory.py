"""FBA Inventory v1 getInventorySummaries: every page, with details, for one inventory pool.

A ``nextToken`` expires 30 seconds after it was issued, so pages are read back to back (the client paces
at Amazon's 2 requests/second; a page waits at most one pacing interval). If a token has expired anyway
(400 naming the token), the listing is restarted once from the first page: a partial list must never be
taken for the whole pool, because a SKU missing from it would read as zero stock.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sp_api.api.inventories.inventories import Inventories
from sp_api.base import SellingApiBadRequestException

from connector.adapters.amazon.client import AmazonClients
from connector.domain.fba_reconciliation import AmazonFba, from_summary


class AmazonFbaInventory:
    def __init__(self, amazon: AmazonClients) -> None:
        self.amazon = amazon

    def _pages(self, marketplace_id: str) -> Iterator[dict[str, Any]]:
        api = self.amazon.client(Inventories, marketplace_id=marketplace_id)
        query: dict[str, Any] = {"granularityType": "Marketplace", "granularityId": marketplace_id,
                                 "marketplaceIds": marketplace_id, "details": "true"}
        token: str | None = None
        while True:
            kwargs = {**query, "nextToken": token} if token else query
            res = self.amazon.call("getInventorySummaries", api.get_inventory_summary_marketplace, **kwargs)
            yield from (res.payload or {}).get("inventorySummaries") or []
            token = res.next_token
            if not token:
                return

    def summaries(self, marketplace_id: str) -> list[AmazonFba]:
        """Every SKU of the pool ``marketplace_id`` belongs to (one call per 50 SKUs)."""
        for attempt in (1, 2):
            try:
                return [from_summary(s) for s in self._pages(marketplace_id) if s.get("sellerSku")]
            except SellingApiBadRequestException:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")
