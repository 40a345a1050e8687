"""Shadow mode (issue 16 item 4): what a feature would have done, per SKU, against what the platform shows.

A feature in shadow computes everything as it would live; its write ports are replaced by gates
(``usecases/shadow.py``) that record a :class:`PlanEntry` per SKU instead of writing. This module holds
the entries, how they merge (bounded per SKU, idempotent per write) and the summary a merchant reads
before switching the feature live ("3 412 listings would change; 12 would go to 0; largest change -480
on SKU …", with a true minus sign). Pure: no I/O.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

MFN, MOVEMENTS, INBOUND, RECONCILIATION = "mfn", "movements", "inbound", "reconciliation"
FEATURES = (MFN, MOVEMENTS, INBOUND, RECONCILIATION)
# What each feature's entry counts: a listing (MFN pushes) or a SKU (stock moved in Brightpearl).
NOUN = {MFN: "listings", MOVEMENTS: "SKUs", INBOUND: "SKUs", RECONCILIATION: "SKUs"}

# The writes remembered per SKU (their references). Enough to show what happened; a SKU with more keeps
# the latest ones and the units of those it forgot, so an item never outgrows DynamoDB's 400 KB.
MOVES_PER_SKU = 50


def check_feature(name: str, *, field_name: str = "feature") -> str:
    if name not in FEATURES:
        raise ValueError(f"{field_name}: unknown shadow feature {name!r}; expected one of {', '.join(FEATURES)}")
    return name


@dataclass(frozen=True)
class PlanEntry:
    """One SKU (MFN: one listing) of one feature's plan.

    MFN: ``would`` is the quantity that would be pushed, ``shows`` what Amazon shows for it now (None:
    not known). Stock features: ``would`` is the net units the writes would move, ``moves`` those writes
    by reference (each counted once however often it is recorded), ``shows`` Brightpearl's on-hand now."""

    feature: str
    key: str  # unique within the feature: "marketplace#sku" (MFN) or the SKU / product
    sku: str
    would: int
    shows: int | None = None
    marketplace_id: str | None = None
    product_id: int | None = None
    moves: Mapping[str, int] = field(default_factory=dict)
    forgotten: int = 0  # units of moves no longer listed (beyond MOVES_PER_SKU)
    at: str = ""  # ISO time of the last recording

    @property
    def change(self) -> int | None:
        """The change the platform would see: MFN against what Amazon shows; stock features their units."""
        if self.feature == MFN:
            return None if self.shows is None else self.would - self.shows
        return self.would

    @property
    def after(self) -> int | None:
        """What the platform would show afterwards."""
        if self.feature == MFN:
            return self.would
        return None if self.shows is None else self.shows + self.would

    def to_item(self) -> dict[str, object]:
        return {"feature": self.feature, "key": self.key, "sku": self.sku, "would": self.would,
                "shows": self.shows, "marketplace_id": self.marketplace_id, "product_id": self.product_id,
                "moves": dict(self.moves), "forgotten": self.forgotten, "at": self.at}

    @classmethod
    def from_item(cls, item: Mapping[str, object]) -> PlanEntry:
        shows, pid = item.get("shows"), item.get("product_id")
        return cls(feature=str(item["feature"]), key=str(item["key"]), sku=str(item["sku"]),
                   would=int(item.get("would") or 0),  # type: ignore[call-overload]
                   shows=None if shows is None else int(shows),  # type: ignore[call-overload]
                   marketplace_id=None if item.get("marketplace_id") is None else str(item["marketplace_id"]),
                   product_id=None if pid is None else int(pid),  # type: ignore[call-overload]
                   moves={str(k): int(v) for k, v in dict(item.get("moves") or {}).items()},  # type: ignore[call-overload]
                   forgotten=int(item.get("forgotten") or 0),  # type: ignore[call-overload]
                   at=str(item.get("at") or ""))


def add_moves(entry: PlanEntry | None, template: PlanEntry, moves: Mapping[str, int]) -> PlanEntry:
    """Merge writes (reference → units) into a SKU's entry: a reference recorded again (a retried Lambda,
    a re-delivered message) replaces itself, so it counts once; beyond MOVES_PER_SKU the oldest are
    forgotten into ``forgotten``. ``template`` carries the SKU's fields and what the platform shows now."""
    merged = dict(entry.moves) if entry is not None else {}
    forgotten = entry.forgotten if entry is not None else 0
    for ref, units in moves.items():
        merged.pop(ref, None)  # re-inserted last: the newest stay
        merged[ref] = int(units)
    while len(merged) > MOVES_PER_SKU:
        oldest = next(iter(merged))
        forgotten += merged.pop(oldest)
    return replace(template, moves=merged, forgotten=forgotten, would=sum(merged.values()) + forgotten)


@dataclass(frozen=True)
class ShadowSummary:
    feature: str
    entries: int
    changing: int  # entries whose change is not 0 (MFN: unknown counts as a change)
    to_zero: int  # would show 0 afterwards while showing more now
    largest: PlanEntry | None  # the largest change by size
    units: int  # the sum of every change's size

    @property
    def headline(self) -> str:
        noun = NOUN[self.feature] if self.changing != 1 else NOUN[self.feature][:-1]  # "1 listing"
        if not self.entries:
            return f"{_LABEL[self.feature]}: nothing recorded in shadow yet"
        text = f"{_LABEL[self.feature]}: {grouped(self.changing)} {noun} would change"
        text += f"; {grouped(self.to_zero)} would go to 0"
        if self.largest is not None and self.largest.change:
            text += f"; largest change {signed(self.largest.change)} on SKU {self.largest.sku}"
        return text


_LABEL = {MFN: "MFN push", MOVEMENTS: "Movements", INBOUND: "Inbound", RECONCILIATION: "Reconciliation corrections"}


def summarize(feature: str, entries: Iterable[PlanEntry]) -> ShadowSummary:
    n = changing = to_zero = units = 0
    largest: PlanEntry | None = None
    for e in entries:
        n += 1
        change = e.change
        if change is None or change != 0:
            changing += 1
        after = e.after
        if after == 0 and (e.shows is None or e.shows > 0):
            to_zero += 1
        if change:
            units += abs(change)
            if largest is None or abs(change) > abs(largest.change or 0) or \
                    (abs(change) == abs(largest.change or 0) and e.key < largest.key):
                largest = e
    return ShadowSummary(feature, n, changing, to_zero, largest, units)


def ranked(entries: Iterable[PlanEntry]) -> list[PlanEntry]:
    """Largest change first (unknown changes after the known ones), then by key: the rows an email shows."""
    return sorted(entries, key=lambda e: (e.change is None, -abs(e.change or 0), e.key))


CSV_COLUMNS = ("feature", "marketplace", "sku", "product_id", "platform_now", "would_be", "change", "writes")


def csv_text(entries: Iterable[PlanEntry]) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for e in ranked(entries):
        w.writerow([e.feature, e.marketplace_id or "", e.sku, "" if e.product_id is None else e.product_id,
                    "" if e.shows is None else e.shows, "" if e.after is None else e.after,
                    "" if e.change is None else e.change, len(e.moves) or ""])
    return out.getvalue()


def fingerprint(entries: Iterable[PlanEntry]) -> str:
    """Stable id of a plan's content: the same plan reported twice is emailed once."""
    h = hashlib.sha256()
    for e in sorted(entries, key=lambda e: e.key):
        h.update(f"{e.key}|{e.would}|{e.shows}|{sorted(e.moves.items())}\n".encode())
    return h.hexdigest()[:16]


def grouped(n: int) -> str:
    """3412 → "3 412" (the thin grouping of the merchant-facing summary)."""
    return f"{n:,}".replace(",", " ")


def signed(n: int) -> str:
    return f"\u2212{grouped(-n)}" if n < 0 else f"+{grouped(n)}"  # a true minus, as the merchant reads it
