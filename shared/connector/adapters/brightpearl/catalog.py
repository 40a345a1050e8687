"""Reads the connector needs from Brightpearl's catalogue and stock, batched into ID sets.

Every read goes through :class:`BrightpearlClient` (and so the shared budget); product reads take
up to 200 ids per call and availability up to 100 (longer URIs risk 414), so 20 000 products cost
about 200 availability calls, not 20 000.

One unknown or deleted id makes Brightpearl refuse the whole ID set with a 400 (a 404 when none of
it exists). The bad ids are isolated by splitting the set in halves (about 2·log2(chunk) extra calls
per bad id, fewer because a half known to hold the bad id is split without being asked for), the
good ids are returned, and the bad ones are remembered in :attr:`BrightpearlCatalog.missing`: the
callers see them as products Brightpearl no longer has (deleted). Brightpearl never reuses an id
(help.brightpearl.com "IDs, ID sets"), so later reads by the same catalogue (one per warm Lambda) skip them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from connector.adapters.brightpearl.client import BrightpearlClient, BrightpearlNotFound, BrightpearlValidationError
from connector.domain.idsets import chunks, format_id_set
from connector.domain.quantities import Composition
from connector.observability import logger

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
        # Ids Brightpearl refused as unknown (deleted products): never asked for again by this catalogue.
        self.missing: set[int] = set()

    def product_skus(self) -> Iterable[tuple[int, str]]:
        """Every (product id, SKU) in the account (the ``Directory`` port)."""
        return iter_product_skus(self.client)

    def warehouses(self) -> list[dict[str, Any]]:
        """The account's warehouses (``id``, ``name``, …), one read."""
        return list(self.client.get("warehouse-service/warehouse") or [])

    def _read(self, product_ids: Iterable[int], per_call: int, path: Callable[[str], str], *,
              none_found_means_missing: bool, refused: bool = False) -> list[Any]:
        """The ``response`` of each ID-set read covering ``product_ids`` (known-missing ids left out).

        A 400 for a set means one of its ids is unknown: the set is split in halves until the bad ids
        stand alone, and those join :attr:`missing`. A 404 means nothing in the set was found: for a
        product read every id of it is missing; for availability only when the set is a half of a set
        refused with 400 (then nothing in it exists). ``refused``: the caller already saw these ids
        refused together, so the first call is not repeated."""
        wanted = sorted(set(product_ids) - self.missing)
        out: list[Any] = []
        newly_missing: list[int] = []
        refused_ids: list[int] = []  # ids refused with a 400 on their own (not "nothing found")

        def read(ids: list[int], known_bad: bool = False, split: bool = False) -> bool:
            """Read ``ids``; True when it answered 200 (so no bad id in it)."""
            if known_bad and len(ids) == 1:
                newly_missing.append(ids[0])  # its sibling half answered: this one is the bad id
                refused_ids.append(ids[0])
                return False
            if not known_bad:
                try:
                    out.append(self.client.get(path(format_id_set(ids))))
                    return True
                except BrightpearlNotFound:
                    if none_found_means_missing or split:
                        newly_missing.extend(ids)
                    return False  # the bad id may be here, so its sibling is asked, not presumed bad
                except BrightpearlValidationError as exc:
                    if exc.status != 400:
                        raise
                    if len(ids) == 1:
                        newly_missing.append(ids[0])
                        refused_ids.append(ids[0])
                        return False
            half = len(ids) // 2
            left_clean = read(ids[:half], split=True)
            # The whole set failed; if its left half answered 200, the bad id is in the right half: split it unasked.
            read(ids[half:], known_bad=left_clean, split=True)
            return False

        for chunk in chunks(wanted, per_call):
            found_before, refused_before = len(newly_missing), len(refused_ids)
            read(list(chunk), known_bad=refused)
            if len(chunk) > 1 and len(refused_ids) - refused_before == len(chunk):
                # Every id refused on its own: a request Brightpearl refuses, not deleted products. Reading
                # it as "all deleted" would push 0 to every listing of the set; fail loudly instead.
                del newly_missing[found_before:]
                raise BrightpearlValidationError(
                    "GET", path(format_id_set(chunk)), 400, [],
                    f"every one of the {len(chunk)} ids was refused on its own; not treating them all as deleted")
        if newly_missing:
            self.missing.update(newly_missing)
            logger.warning("Brightpearl does not know these product ids (deleted?): left out of the read",
                           extra={"product_ids": sorted(newly_missing)})
        return out

    def products(self, product_ids: Iterable[int]) -> dict[int, ProductInfo]:
        """Products by id; ids Brightpearl no longer has (deleted) are absent (and in :attr:`missing`)."""
        out: dict[int, ProductInfo] = {}
        for rows in self._read(product_ids, PRODUCT_IDS_PER_CALL, lambda s: f"product-service/product/{s}",
                               none_found_means_missing=True):
            for row in rows or []:
                info = _product_info(row)
                out[info.product_id] = info
        return out

    def product_names(self, product_ids: Iterable[int]) -> dict[int, str]:
        """Product id → name (``salesChannels[0].productName``), in ID sets of 200 (the ``ProductNames`` port,
        for the emails); products without a name, or deleted, are absent."""
        out: dict[int, str] = {}
        for rows in self._read(product_ids, PRODUCT_IDS_PER_CALL, lambda s: f"product-service/product/{s}",
                               none_found_means_missing=True):
            for row in rows or []:
                channels = row.get("salesChannels") or [{}]
                name = str((channels[0] or {}).get("productName") or "").strip()
                if name:
                    out[int(row["id"])] = name
        return out

    def availability(self, product_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        """product-availability entries by product id. Untracked products are absent, as in Brightpearl;
        deleted ones too (and in :attr:`missing`)."""
        out: dict[int, dict[str, Any]] = {}
        for data in self._read(product_ids, AVAILABILITY_IDS_PER_CALL,
                               lambda s: f"warehouse-service/product-availability/{s}",
                               none_found_means_missing=False):
            for key, entry in (data or {}).items():
                out[int(key)] = entry
        return out

    def bundles_containing(self, product_ids: Iterable[int]) -> set[int]:
        """Every bundle that contains any of the products, at any depth (Brightpearl's reverse lookup).

        A 404 means none of the products is in a bundle, so it cannot tell an unknown id from a product
        in no bundle: when a set is refused with 400, its bad ids are isolated with product reads
        (whose 404 is unambiguous) and the look-up is asked again without them."""
        found: set[int] = set()

        def lookup(ids: list[int]) -> list[dict[str, Any]]:
            try:
                return list(self.client.get(f"product-service/product/{format_id_set(ids)}/bundle") or [])
            except BrightpearlNotFound:
                return []  # none of these products is in a bundle

        for chunk in chunks(sorted(set(product_ids) - self.missing), PRODUCT_IDS_PER_CALL):
            try:
                rows = lookup(list(chunk))
            except BrightpearlValidationError as exc:
                if exc.status != 400:
                    raise
                self._read(chunk, PRODUCT_IDS_PER_CALL, lambda s: f"product-service/product/{s}",
                           none_found_means_missing=True, refused=True)
                good = [i for i in chunk if i not in self.missing]
                rows = lookup(good) if good else []
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


def search_rows(client: BrightpearlClient, path: str, params: dict[str, Any], *,
                page_size: int = 500) -> Iterable[dict[str, Any]]:
    """Every row of a Brightpearl ``*-search``, page by page, as a dict keyed by column name.

    Rows are mapped through ``metaData.columns``, never by position. Tolerated shapes (both occur):
    ``reference`` inside ``response`` (the contract's example) or beside it (recorded traffic) — it is
    not needed here, so it is never read; an empty result without ``firstResult``/``lastResult``; a page
    without ``lastResult`` (the next page then starts after the rows this one returned)."""
    first = 1
    while True:
        page = client.get(path, {**params, "pageSize": page_size, "firstResult": first}) or {}
        meta = page.get("metaData") or {}
        names = [c["name"] for c in meta.get("columns") or []]
        rows = page.get("results") or []
        for row in rows:
            yield dict(zip(names, row, strict=False))
        if not meta.get("morePagesAvailable") or not rows:
            return
        last = meta.get("lastResult")
        first = int(last) + 1 if last is not None else first + len(rows)


def iter_product_skus(client: BrightpearlClient, *, page_size: int = 500) -> Iterable[tuple[int, str]]:
    """Every (product id, SKU) in Brightpearl, read page by page from product-search (2 columns only)."""
    for values in search_rows(client, "product-service/product-search", {"columns": "productId,SKU"},
                              page_size=page_size):
        if values.get("productId") is not None and values.get("SKU"):
            yield int(values["productId"]), str(values["SKU"])
