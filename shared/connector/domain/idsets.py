"""Brightpearl ID sets: ``1007``, ``1000-1010``, ``1,5,9`` and mixtures, in URLs and webhooks."""

from __future__ import annotations

from collections.abc import Iterable, Iterator


class IdSetError(ValueError):
    """An ID set that cannot be parsed; the message names the offending element."""


def parse_id_set(text: str, *, max_ids: int = 100_000) -> list[int]:
    """Expand an ID set into sorted unique ids. Ranges must ascend; whitespace is tolerated."""
    if not isinstance(text, str) or not text.strip():
        raise IdSetError("id set is empty")
    ids: set[int] = set()
    for raw in text.split(","):
        part = raw.strip()
        if not part:
            raise IdSetError(f"empty element in id set {text!r}")
        lo_s, sep, hi_s = part.partition("-")
        try:
            lo = int(lo_s)
            hi = int(hi_s) if sep else lo
        except ValueError:
            raise IdSetError(f"{part!r} is not an id or an ascending id range") from None
        if lo <= 0 or hi < lo:
            raise IdSetError(f"{part!r} is not an id or an ascending id range")
        if len(ids) + (hi - lo + 1) > max_ids:
            raise IdSetError(f"id set {text[:40]!r} names more than {max_ids} ids")
        ids.update(range(lo, hi + 1))
    return sorted(ids)


def format_id_set(ids: Iterable[int]) -> str:
    """Compress ids into the shortest ID set: runs become ranges (keeps URLs short, avoids 414)."""
    out: list[str] = []
    for lo, hi in _runs(sorted(set(ids))):
        out.append(str(lo) if lo == hi else f"{lo}-{hi}")
    return ",".join(out)


def _runs(ids: list[int]) -> Iterator[tuple[int, int]]:
    if not ids:
        return
    start = prev = ids[0]
    for i in ids[1:]:
        if i != prev + 1:
            yield start, prev
            start = i
        prev = i
    yield start, prev


def chunks(ids: Iterable[int], size: int) -> Iterator[list[int]]:
    """Sorted unique ids in chunks of at most ``size`` (Brightpearl's per-call ID-set maxima)."""
    if size <= 0:
        raise ValueError("chunk size must be positive")
    ordered = sorted(set(ids))
    for i in range(0, len(ordered), size):
        yield ordered[i:i + size]
