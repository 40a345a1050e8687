"""Amazon SKUs → their linked Brightpearl products, many at once (a report chunk's SKUs).

One ``BatchGetItem`` per 100 listing keys instead of one ``GetItem`` per SKU and marketplace: a ledger
chunk of 1 000 rows names a few hundred SKUs, looked up in a few calls. FBA stock is pooled across a
region's marketplaces, so the first marketplace (in the stack's order) with a link names the product,
exactly as ``Parts.sku_resolver`` does one SKU at a time.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from connector.adapters.store import ListingLink
from connector.domain.settings import listing_id


def linked_products(skus: Collection[str], marketplaces: Sequence[str]) -> dict[str, int]:
    """{sku: product id} for the SKUs linked in any of ``marketplaces``; unlinked SKUs are absent."""
    keys = {listing_id(mid, sku): (rank, sku) for sku in set(skus) for rank, mid in enumerate(marketplaces)}
    best: dict[str, tuple[int, int]] = {}
    for link in ListingLink.batch_get(list(keys)):
        rank, sku = keys[link.listing_id]
        if sku not in best or rank < best[sku][0]:
            best[sku] = (rank, int(link.product_id))
    return {sku: pid for sku, (_rank, pid) in best.items()}
