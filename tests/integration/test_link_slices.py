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


def test_scan_pages_are_bounded_and_still_hold_every_link(local_aws, monkeypatch):
    """A Scan page is SCAN_PAGE_LINKS items, not DynamoDB's 1 MB: botocore holds a page's body, JSON and items at
    once (~20 MB of the nightly's peak for a full page), so a bounded page keeps a container's peak flat."""
    from connector.adapters import link_slices, repositories

    monkeypatch.setattr(link_slices, "SCAN_PAGE_LINKS", 7, raising=False)
    monkeypatch.setattr(repositories, "SCAN_PAGE_LINKS", 7, raising=False)
    skus = [f"PAGE-{i:03d}" for i in range(40)]
    with ListingLink.batch_write() as batch:
        for i, s in enumerate(skus):
            batch.save(ListingLink(f"{EU[0]}#{s}", seller_id="S", marketplace_id=EU[0], sku=s, product_id=500 + i))
    pages: list[int] = []

    def page(parsed, **_kw):  # what DynamoDB returned per Scan call
        pages.append(int(parsed.get("ScannedCount", 0)))

    events = ListingLink._get_connection().connection.client.meta.events
    events.register("after-call.dynamodb.Scan", page)
    try:
        repo = LinkRepository()
        sliced = sorted(lk.sku for p in repo.slices([EU[0]], max_links=25) for lk in p.links if lk.sku in set(skus))
        every = sorted(r.sku for r in repo.all() if r.sku in set(skus))
        assert sliced == every == skus  # every link once, page after page
        assert pages and max(pages) <= 7 and len(pages) >= 2 * (len(skus) // 7)
    finally:
        events.unregister("after-call.dynamodb.Scan", page)
        with ListingLink.batch_write() as batch:
            for s in skus:
                batch.delete(ListingLink(f"{EU[0]}#{s}"))
