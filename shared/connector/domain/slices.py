"""Bounded slices of the listing links (issue 14 item 5): the nightly, sync-on and import-links plan and push a
slice at a time, so their memory is one slice's, not the catalogue's (pure: no I/O).

A link's slice is decided by its SKU alone (a stable hash into ``BUCKETS`` buckets), so every marketplace of
one SKU is in the same slice: the EU rule (one SKU, one value across the EU) and a SKU's bundle/variant
figures are planned together. Consecutive buckets are grouped into slices of at most ``max_links`` links
(a bucket is never split), and a run records the first bucket it has not finished: a continuation resumes
there, whatever the grouping of the remaining buckets is then.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

BUCKETS = 256  # ~1 200 links a bucket at 100 000 SKUs x 3 EU marketplaces: slices stay close to their bound
# A slice's bound in links (the memory is per link: ~1-5 KB each while planned). 25 000 SKUs in one
# marketplace, ~8 300 SKUs in three EU ones: a few slices at 100 000 SKUs, each well under one feed of
# 25 000 messages, so slicing adds at most one partial Brightpearl availability read per slice (feeds
# are carried over from slice to slice and never split by it).
MAX_LINKS = 25_000


def bucket_of(sku: str) -> int:
    """The SKU's bucket: CRC-32 of its UTF-8 bytes (stable across processes, unlike ``hash``)."""
    return zlib.crc32(sku.encode("utf-8")) % BUCKETS


def group_buckets(counts: Sequence[int], max_links: int, start: int = 0) -> list[tuple[int, int]]:
    """Consecutive bucket ranges ``[lo, hi)`` from ``start`` holding at most ``max_links`` links each (a
    bucket larger than that is a slice of its own); empty buckets join their neighbours."""
    if max_links < 1:
        raise ValueError(f"max_links must be >= 1, got {max_links}")
    out: list[tuple[int, int]] = []
    lo, size = start, 0
    for b in range(start, len(counts)):
        if size and size + counts[b] > max_links:
            out.append((lo, b))
            lo, size = b, 0
        size += counts[b]
    if lo < len(counts) and (size or not out):
        out.append((lo, len(counts)))
    elif out:
        out[-1] = (out[-1][0], len(counts))
    return out


@dataclass
class LinkSlice:
    """The links of buckets ``[start, end)`` of ``BUCKETS`` (every marketplace asked for)."""

    start: int
    end: int
    links: list[Any] = field(default_factory=list)

    @property
    def last(self) -> bool:
        return self.end >= BUCKETS
