"""Brightpearl's product-service: products, bundles and variants, deletion (ids never reused),
product search, and the product routes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simulators.brightpearl.base import Section
from simulators.brightpearl.errors import BPError
from simulators.brightpearl.http import IDS, P, _search
from simulators.brightpearl.records import Product, _int, format_id_set, ids_from
from simulators.brightpearl.search import PRODUCT_COLUMNS, run_search

if TYPE_CHECKING:
    from simulators.brightpearl.server import BrightpearlSimulator
    from simulators.brightpearl.world import World


class Catalog(Section):
    """Products of the account."""

    def __init__(self, w: World) -> None:
        super().__init__(w)
        self.products: dict[int, Product] = {}
        self.deleted_products: set[int] = set()  # ids are never reused (help.brightpearl.com "IDs, ID sets")

    def delete_product(self, pid: int) -> None:
        """Scenario hook: the merchant deletes a product in Brightpearl. Its id is never reused; every
        ID-set read naming it answers 400 from now on; ``product.destroyed`` is raised."""
        self.product(pid)
        del self.products[pid]
        self.deleted_products.add(pid)
        self.shared.raise_event("product.destroyed", [pid])

    def require_products(self, ids: list[int]) -> None:
        """ID-set reads answer 400 for the whole set when some id is unknown or deleted (issue
        "simulator fidelity": recorded traffic), and 404 when none of them exists (Brightpearl's
        "Empty list response code": 404 for a multi-resource request with no results)."""
        unknown = [i for i in ids if i not in self.products]
        if unknown and len(unknown) == len(set(ids)):
            raise BPError(404, "CMNC-404", f"No products found in ID set {format_id_set(ids)}")
        if unknown:
            raise BPError(400, "PRDC-001", f"Products not found: {format_id_set(unknown)}")

    def product(self, pid: int) -> Product:
        p = self.products.get(pid)
        if p is None:
            raise BPError(400, "PRDC-001", f"Product {pid} not found")
        return p

    def tracked(self, pid: Any) -> Product:
        p = self.product(_int(pid, "productId"))
        if not p.stock_tracked:
            raise BPError(400, "WHSB-010", f"Product {p.id} is not stock tracked")
        return p

    def seed_product(self, p: dict[str, Any]) -> None:
        pid = int(p["id"])
        comps = p.get("bundleComponents")
        now = self.shared.now()
        self.products[pid] = Product(
            id=pid, sku=str(p.get("sku", f"SKU-{pid}")), name=str(p.get("name", f"Product {pid}")),
            stock_tracked=bool(p.get("stockTracked", comps is None)),  # bundles are normally not tracked
            status=str(p.get("status", "LIVE")),
            product_group_id=p.get("productGroupId"),
            options=[{"productId": pid, **o} for o in p.get("options", [])],
            bundle_components=[(int(c["productId"]), int(c.get("productQuantity", c.get("quantity", 1))))
                               for c in comps] if comps is not None else None,
            barcode=str(p.get("barcode", "")), ean=str(p.get("ean", "")), upc=str(p.get("upc", "")),
            isbn=str(p.get("isbn", "")), mpn=str(p.get("mpn", "")),
            brand_id=int(p.get("brandId", 0)), product_type_id=int(p.get("productTypeId", 1)),
            category_ids=[int(c) for c in p.get("categoryIds", [])],
            primary_supplier_id=p.get("primarySupplierId"),
            sales_channel_name=str(p.get("salesChannelName", "Brightpearl")),
            created_on=str(p.get("createdOn", now)), updated_on=str(p.get("updatedOn", now)),
            warehouse_defaults={int(k): dict(v) for k, v in (p.get("warehouses") or {}).items()},
        )

    def product_search(self, query: dict[str, list[str]]) -> dict[str, Any]:
        rows = [{
            "productId": p.id, "productName": p.name, "SKU": p.sku, "barcode": p.barcode or None,
            "EAN": p.ean or None, "UPC": p.upc or None, "ISBN": p.isbn or None, "MPN": p.mpn or None,
            "stockTracked": p.stock_tracked, "salesChannelName": p.sales_channel_name,
            "createdOn": p.created_on, "updatedOn": p.updated_on,
            "brightpearlCategoryCode": p.category_ids[0] if p.category_ids else None,
            "productGroupId": p.product_group_id, "brandId": p.brand_id, "productTypeId": p.product_type_id,
            "productStatus": p.status, "primarySupplierId": p.primary_supplier_id,
        } for p in self.products.values()]
        out = run_search(rows, PRODUCT_COLUMNS, query)
        page = out.pop("_page")
        names = [c["name"] for c in out["metaData"]["columns"]]
        membership = {str(r["productId"]): self.products[r["productId"]].category_ids for r in page}
        out["reference"] = {"productCategoryMembership": membership} if "productId" in names else {}
        return out

    def product_json(self, p: Product) -> dict[str, Any]:
        comp: dict[str, Any] = {"bundle": p.bundle_components is not None}
        if p.bundle_components is not None:
            comp["bundleComponents"] = [
                {"productId": cid, "productQuantity": q,
                 "composition": {"bundle": bool(self.products.get(cid) and self.products[cid].bundle_components)}}
                for cid, q in p.bundle_components]
        return {
            "id": p.id, "brandId": p.brand_id, "productTypeId": p.product_type_id,
            "identity": {"sku": p.sku, "barcode": p.barcode, "ean": p.ean, "upc": p.upc, "isbn": p.isbn, "mpn": p.mpn},
            "productGroupId": p.product_group_id, "featured": False,
            "stock": {"stockTracked": p.stock_tracked, "weight": {"magnitude": 0.0},
                      "dimensions": {"length": 0.0, "height": 0.0, "width": 0.0, "volume": 0.0}},
            "financialDetails": {"taxable": True, "taxCode": {"id": 2, "code": "T20"}},
            "salesChannels": [{
                "salesChannelName": p.sales_channel_name, "productName": p.name, "productCondition": "new",
                "categories": [{"categoryCode": str(c)} for c in p.category_ids],
                "description": {"languageCode": "en", "text": "", "format": "HTML_FRAGMENT"},
                "shortDescription": {"languageCode": "en", "text": "", "format": "HTML_FRAGMENT"}}],
            "composition": comp,
            "createdOn": p.created_on, "updatedOn": p.updated_on,
            "warehouses": {str(w): self.warehouse_product_defaults(p, w) for w in sorted(self.w.inventory.warehouses)},
            "nominalCodeStock": "1001", "nominalCodePurchases": "5000", "nominalCodeSales": "4000",
            "seasonIds": [], "reporting": {}, "status": p.status, "version": p.version,
        }

    def warehouse_product_defaults(self, p: Product, wid: int) -> dict[str, int]:
        d = p.warehouse_defaults.get(wid, {})
        default = self.w.inventory.warehouses[wid].default_location_id
        return {"defaultLocationId": int(d.get("defaultLocationId", default)),
                "overflowLocationId": int(d.get("overflowLocationId", 0)),
                "reorderLevel": int(d.get("reorderLevel", 0)), "reorderQuantity": int(d.get("reorderQuantity", 0))}

    def get_products(self, ids: list[int]) -> list[dict[str, Any]]:
        self.require_products(ids)
        return [self.product_json(self.products[i]) for i in ids]

    def product_get_uris(self, ids: list[int], chunk: int = 200) -> list[str]:
        existing = sorted(i for i in set(ids) if i in self.products)
        return [f"/product/{format_id_set(existing[k:k + chunk])}" for k in range(0, len(existing), chunk)]

    def option_values(self, ids: list[int]) -> list[dict[str, Any]]:
        self.require_products(ids)
        return [dict(o) for i in ids if i in self.products for o in self.products[i].options]

    def _parents(self, pid: int, seen: frozenset[int] = frozenset()) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for b in sorted(self.products.values(), key=lambda x: x.id):
            if b.bundle_components and any(c == pid for c, _ in b.bundle_components) and b.id not in seen:
                entry: dict[str, Any] = {"id": b.id}
                grand = self._parents(b.id, seen | {pid})
                if grand:
                    entry["bundles"] = grand
                out.append(entry)
        return out

    def bundles_containing(self, ids: list[int]) -> list[dict[str, Any]]:
        self.require_products(ids)
        out = [{"id": i, "bundles": parents} for i in ids if (parents := self._parents(i))]
        if not out:
            raise BPError(404, "CMNC-404", f"No bundles found for ID set {format_id_set(ids)}")
        return out


def register(sim: BrightpearlSimulator) -> None:
    sim._get(r"/product-service/product-search", lambda r: _search(sim.world.catalog.product_search(r.query)),
             "product-search")
    sim._get(r"/product-service/product/" + IDS + "/bundle",
             lambda r: sim.world.catalog.bundles_containing(ids_from(r.params["ids"], "product")),
             "get-product-bundle")
    sim._get(r"/product-service/product/" + IDS + "/option-value",
             lambda r: sim.world.catalog.option_values(ids_from(r.params["ids"], "product")),
             "get-product-option-value")
    sim._get(r"/product-service/product/" + IDS,
             lambda r: sim.world.catalog.get_products(ids_from(r.params["ids"], "product")), "get-product")
    sim.route("OPTIONS", P + r"/product-service/product/" + IDS, sim._api(
        lambda r: {"getUris": sim.world.catalog.product_get_uris(ids_from(r.params["ids"]))}), name="options-product")
