"""The links a bounded slice at a time (DynamoDB on moto): one scan, every link once, a SKU's marketplaces in one
slice, other marketplaces left out, a continuation from a bucket on."""

from __future__ import annotations

from dataclasses import replace

from connector.adapters.repositories import LinkRepository
from connector.adapters.store import ListingLink
from connector.domain.slices import bucket_of

EU = ("A1F83G8C2ARO7P", "A1PA6795UKMFR9", "A13V1IB3VIYZZH")
US = "ATVPDKIKX0DER"


def test_slices_hold_every_link_once_with_all_marketplaces_of_a_sku_together(local_aws):
    repo = LinkRepository()
    skus = [f"S-{i:03d}{['', ' blue', '/XL', '&co', '+1', '-thé', ' Größe/M&+'][i % 7]}" for i in range(90)]
    with ListingLink.batch_write() as batch:
        for i, s in enumerate(skus):
            for m in (*EU[: 1 + i % 3], US):
                link = ListingLink(f"{m}#{s}", seller_id="S", marketplace_id=m, sku=s, product_id=100 + i)
                batch.save(link)
    try:
        mine = set(skus)  # the session's table may hold other tests' links too
        parts = [replace(p, links=[lk for lk in p.links if lk.sku in mine])
                 for p in repo.slices(EU, max_links=25)]
        assert len(parts) >= 180 // 25
        seen = [(lk.marketplace_id, lk.sku) for p in parts for lk in p.links]
        assert sorted(seen) == sorted((m, s) for i, s in enumerate(skus) for m in EU[: 1 + i % 3])  # once each
        owner = {}
        for n, p in enumerate(parts):
            assert all(p.start <= bucket_of(lk.sku) < p.end for lk in p.links)
            for lk in p.links:
                assert owner.setdefault(lk.sku, n) == n  # every marketplace of a SKU in one slice
        assert [p.start for p in parts[1:]] == [p.end for p in parts[:-1]] and parts[-1].last
        # A continuation from the second slice's first bucket: the rest, nothing before it.
        rest = list(repo.slices(EU, max_links=25, from_bucket=parts[1].start))
        assert sorted(lk.listing_id for p in rest for lk in p.links if lk.sku in mine) == \
            sorted(lk.listing_id for p in parts[1:] for lk in p.links)
        record = parts[0].links[0]
        assert record == next(r for r in repo.all() if r.listing_id == record.listing_id)  # the same record
    finally:
        with ListingLink.batch_write() as batch:
            for link in ListingLink.scan():
                if link.sku in set(skus):
                    batch.delete(link)
