"""The listing links of some marketplaces, a bounded slice at a time (issue 14 item 5), for ``LinkRepository``.

One filtered Scan reads them (the same pages as ``LinkRepository.all``) and spills each as a compact record to
a temporary file of its SKU's bucket (``domain.slices``), so the process holds one page, not the catalogue;
then each slice's buckets are read back, the slice is handed to the caller and dropped. The files are in the
function's ephemeral storage (/tmp, 512 MB by default: ~0.3 KB a link, ~90 MB at 300 000 links) and are
removed when the iteration ends. A slice's links are a snapshot of that one scan, as ``all()`` is.
"""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any

from connector.adapters.store import ListingLink
from connector.domain.slices import BUCKETS, MAX_LINKS, LinkSlice, bucket_of, group_buckets

# Items per Scan page (DynamoDB's Limit). Without it a page is DynamoDB's 1 MB, and botocore holds the raw body,
# its JSON and the parsed items at once: ~20 MB of a container's peak for one ~3 000-link page (bench
# mfn_nightly, BENCH_RSS_PEAK). 1 000 links (~0.35 MB) keep that a few MB, for one more Scan call per 1 000.
SCAN_PAGE_LINKS = 1_000


def scan_slices(marketplace_ids: Iterable[str], *, max_links: int = MAX_LINKS,
                from_bucket: int = 0) -> Iterator[LinkSlice]:
    """Every link of ``marketplace_ids`` whose SKU's bucket is ``from_bucket`` or later, in slices of at
    most ``max_links`` links (all marketplaces of a SKU in one slice), in bucket order."""
    from connector.adapters.repositories import LinkRecord

    mids = sorted(set(marketplace_ids))
    if not mids:
        return
    names = [f.name for f in fields(LinkRecord)]
    counts = [0] * BUCKETS
    with tempfile.TemporaryDirectory(prefix="link-slices-") as tmp:
        files: dict[int, Any] = {}
        try:
            for link in ListingLink.scan(ListingLink.marketplace_id.is_in(*mids), page_size=SCAN_PAGE_LINKS):
                b = bucket_of(link.sku)
                if b < from_bucket:
                    continue
                out = files.get(b)
                if out is None:
                    out = files[b] = open(Path(tmp) / f"{b:03d}", "wb", buffering=16_384)  # noqa: SIM115
                rec = LinkRecord.of(link)
                pickle.dump(tuple(getattr(rec, n) for n in names), out, protocol=pickle.HIGHEST_PROTOCOL)
                counts[b] += 1
        finally:
            for out in files.values():
                out.close()
        for lo, hi in group_buckets(counts, max_links, from_bucket):
            yield LinkSlice(lo, hi, [link for b in range(lo, hi) if counts[b]
                                     for link in _read(Path(tmp) / f"{b:03d}")])


def _read(path: Path) -> Iterator[Any]:
    from connector.adapters.link_records import LinkRecord, _shared

    with open(path, "rb") as f:
        while True:
            try:
                values = pickle.load(f)  # noqa: S301 - this process's own file, written just above
            except EOFError:
                return
            rec = LinkRecord(*values)
            # The repeated values share one string each again (as LinkRecord.of does on a scan).
            rec.seller_id, rec.marketplace_id = _shared(rec.seller_id), _shared(rec.marketplace_id)
            rec.fulfillment_channel, rec.last_result = _shared(rec.fulfillment_channel), _shared(rec.last_result)
            rec.amazon_status = _shared(rec.amazon_status)
            yield rec
