"""Reads the connector needs from Brightpearl's catalogue and stock, batched into ID sets.

Every read goes through :class:`BrightpearlClient` (and so the shared budget); product reads take
up to 200 ids per call and availability up to 100 (longer URIs risk 414), so 20 000 products cost
about 200 availability calls, not 20 000.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from connector.adapters.brightpearl.client import BrightpearlClient, BrightpearlNotFound
from connector.domain.idsets import chunks, format_id_set
from connector.domain.quantities import Composition

PRODUCT_IDS_PER_CALL = 200
AVAILABILITY_IDS_PER_CALL = 100


@dataclass(frozen=True)
class ProductInfo:
    product_id: int
    sku: str
    status: str
    stock_tracked: bool
    composition: Composition


class BrightpearlCatalog:
    def __init__(self, client: BrightpearlClient) -> None:
        self.client = client

    def products(self, product_ids: Iterable[int]) -> dict[int, ProductInfo]:
        """Products by id; ids Brightpearl no longer has (deleted) are simply absent."""
        out: dict[int, ProductInfo] = {}
        for chunk in chunks(product_ids, PRODUCT_IDS_PER_CALL):
            try:
                rows = self.client.get(f"product-service/product/{format_id_set(chunk)}") or []
            except BrightpearlNotFound:
                continue  # none of this chunk exists
            for row in rows:
                info = _product_info(row)
                out[info.product_id] = info
        return out

    def availability(self, product_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        """product-availability entries by product id (untracked products are absent, as in Brightpearl)."""
        out: dict[int, dict[str, Any]] = {}
        for chunk in chunks(product_ids, AVAILABILITY_IDS_PER_CALL):
            try:
                data = self.client.get(f"warehouse-service/product-availability/{format_id_set(chunk)}") or {}
            except BrightpearlNotFound:
                continue
            for key, entry in data.items():
                out[int(key)] = entry
        return out

    def bundles_containing(self, product_ids: Iterable[int]) -> set[int]:
        """Every bundle that contains any of the products, at any depth (Brightpearl's reverse lookup)."""
        found: set[int] = set()
        for chunk in chunks(product_ids, PRODUCT_IDS_PER_CALL):
            try:
                rows = self.client.get(f"product-service/product/{format_id_set(chunk)}/bundle") or []
            except BrightpearlNotFound:
                continue  # 404: none of these products is in a bundle
            for row in rows:
                _collect_bundles(row.get("bundles") or [], found)
        return found

    def stock_inputs(self, product_ids: Iterable[int]) -> tuple[dict[int, dict[str, Any]], dict[int, Composition],
                                                                set[int]]:
        """What quantities are computed from: availability of every stock-tracked product involved,
        the composition of every bundle involved (components too, at any depth), and which products
        exist at all.

        Availability is read first, in ID sets: Brightpearl leaves out products that are not stock
        tracked, and only those (bundles, or products deleted since) are read as products. For a
        catalogue of plain products that is one call per 100 listings, close to the lower bound.
        """
        availability: dict[int, dict[str, Any]] = {}
        compositions: dict[int, Composition] = {}
        known: set[int] = set()
        pending = set(product_ids)
        while pending:
            fetched = self.availability(pending)
            availability.update(fetched)
            known.update(fetched)
            untracked = pending - set(fetched)
            nxt: set[int] = set()
            if untracked:
                for pid, info in self.products(untracked).items():
                    known.add(pid)
                    compositions[pid] = info.composition
                    nxt.update(c for c, _ in info.composition.components)
            pending = nxt - known - set(compositions)
        return availability, compositions, known

def _collect_bundles(items: list[dict[str, Any]], found: set[int]) -> None:
    for item in items:
        if "id" in item:
            found.add(int(item["id"]))
        _collect_bundles(item.get("bundles") or [], found)


def _product_info(row: dict[str, Any]) -> ProductInfo:
    pid = int(row["id"])
    composition = row.get("composition") or {}
    components: tuple[tuple[int, int], ...] = ()
    if composition.get("bundle"):
        components = tuple((int(c["productId"]), int(c.get("productQuantity", 1)))
                           for c in composition.get("bundleComponents") or [])
    return ProductInfo(
        product_id=pid,
        sku=str((row.get("identity") or {}).get("sku", "")),
        status=str(row.get("status", "LIVE")),
        stock_tracked=bool((row.get("stock") or {}).get("stockTracked", True)),
        composition=Composition(pid, components),
    )


def iter_product_skus(client: BrightpearlClient, *, page_size: int = 500) -> Iterable[tuple[int, str]]:
    """Every (product id, SKU) in Brightpearl, read page by page from product-search (2 columns only)."""
    first = 1
    while True:
        page = client.get("product-service/product-search",
                          {"columns": "productId,SKU", "pageSize": page_size, "firstResult": first}) or {}
        meta = page.get("metaData") or {}
        names = [c["name"] for c in meta.get("columns") or []]
        for row in page.get("results") or []:
            values = dict(zip(names, row, strict=False))  # map through metaData.columns, never by position
            if values.get("productId") is not None and values.get("SKU"):
                yield int(values["productId"]), str(values["SKU"])
        if not meta.get("morePagesAvailable"):
            return
        first = int(meta.get("lastResult", first + page_size - 1)) + 1
