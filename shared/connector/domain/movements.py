"""What every Amazon → Brightpearl movement has in common (pure, no I/O).

A movement is one change Brightpearl must see because of one source row of an Amazon report: a
stock correction in a warehouse, or a sales credit (with or without a restock). Its key is built
from the row's *natural key* only (never from the report id, the download time or the line number),
so the same row read again from an overlapping window, a replayed notification or a re-requested
report maps to the same key, and the key is what makes the movement happen at most once.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

# Statuses recorded on each movement (the audit ledger).
PENDING = "pending"  # recorded, not yet written to Brightpearl (waiting for a batch, an order, a retry)
IN_FLIGHT = "in_flight"  # a Brightpearl write was sent and its answer is not recorded yet
APPLIED = "applied"  # Brightpearl has it; brightpearl_ids say what was created
FAILED = "failed"  # Brightpearl refused it; error says why; retried on the next run
SKIPPED = "skipped"  # nothing to write, on purpose; reason says why
UNMATCHED = "unmatched"  # the Amazon SKU has no Brightpearl product link yet; retried when it appears
QUARANTINED = "quarantined"  # the row could not be understood (malformed, unknown code); reported, not guessed
DRY_RUN = "dry_run"  # computed in dry-run mode; nothing written (applied if the row is read again live)

# Seen while movements were in shadow mode (docs/shadow-mode.md): nothing written, and never applied later.
OBSERVED = "observed"

FINAL = frozenset({APPLIED, SKIPPED, QUARANTINED, OBSERVED})
# Driven again by the hourly retry (the retry index holds exactly the movements in these states).
RETRY = frozenset({PENDING, FAILED, UNMATCHED, IN_FLIGHT})
RETRYABLE = frozenset({PENDING, IN_FLIGHT, FAILED, UNMATCHED})


def brightpearl_ref(movement_key: str) -> str:
    """A short, deterministic reference for Brightpearl fields of limited length (correction reason,
    credit externalRef, goods-in userBatchReference). 80 bits of SHA-256: collisions are not a concern
    at one merchant's volume, and the full key is kept in the movement record beside it."""
    digest = hashlib.sha256(movement_key.encode("utf-8")).digest()[:10]
    return "AMZ-" + base64.b32encode(digest).decode("ascii").rstrip("=")


def natural_key(*parts: object) -> str:
    """Join natural-key parts; '|' inside a part is escaped so two different rows never collide."""
    return "|".join(str(p).replace("\\", "\\\\").replace("|", "\\|") for p in parts)


class OccurrenceCounter:
    """Disambiguates rows that are identical in every natural-key column within one report.

    Two such rows are two real events (e.g. two single units returned in the same second); they
    always fall in the same report window together, so numbering them in file order gives the same
    keys on every read.
    """

    def __init__(self) -> None:
        # Keyed by a 128-bit digest of the natural key, not the key itself: the one per-row state of a
        # report's read, a third of the memory of the strings (no collision at any report's size).
        self._seen: dict[bytes, int] = {}

    def key(self, base: str) -> str:
        digest = hashlib.blake2b(base.encode("utf-8"), digest_size=16).digest()
        n = self._seen.get(digest, 0)
        self._seen[digest] = n + 1
        return base if n == 0 else f"{base}#{n + 1}"


@dataclass(frozen=True)
class Quarantine:
    """A row that could not be turned into a movement; reported with its report, line and reason."""

    report_type: str
    line: int
    reason: str
    raw: str
    sku: str = ""

    @property
    def key(self) -> str:
        digest = hashlib.sha256(self.raw.encode("utf-8")).hexdigest()[:24]
        return natural_key("quarantine", self.report_type, digest)


@dataclass(frozen=True)
class StockChange:
    """A signed change to one SKU's stock in the warehouse that mirrors Amazon FBA (or returns)."""

    key: str
    source: str  # report type
    kind: str  # lost, found, damaged, disposed, customer_return, replacement, deemed, ...
    sku: str
    quantity: int  # signed; 0 = nothing to do (skipped with ``why``)
    why: str
    line: int = 0
    match_key: str | None = None  # links rows that describe the same units (double-count rules)
    claim: str | None = None  # "loss" / "deemed": takes part in deemed matching, see DeemedClaims


@dataclass
class DeemedClaims:
    """Per SKU: units reduced by ledger losses not yet matched by a reimbursement, and units reduced
    by a reimbursement ("deemed") not yet matched by a ledger loss.

    Amazon usually writes the loss row first (M/5/E…, O) and reimburses days later, but the two reports
    are requested separately, so either can be read first. Whichever comes second is matched against
    the other's unmatched units, so a unit is reduced once whatever the order. ``counted`` remembers
    each movement's outcome so re-reading a row never counts it twice.
    """

    losses: int = 0
    deemed: int = 0
    counted: dict[str, int] = field(default_factory=dict)

    def apply_loss(self, key: str, units: int) -> int:
        """A ledger reduction of ``units`` (> 0). Returns the units still to reduce in Brightpearl."""
        if key in self.counted:
            return self.counted[key]
        matched = min(units, self.deemed)
        self.deemed -= matched
        self.losses += units - matched
        self.counted[key] = units - matched
        return units - matched

    def apply_deemed(self, key: str, units: int) -> int:
        """A reimbursement deeming ``units`` (> 0) lost. Returns the units still to reduce."""
        if key in self.counted:
            return self.counted[key]
        matched = min(units, self.losses)
        self.losses -= matched
        self.deemed += units - matched
        self.counted[key] = units - matched
        return units - matched

    def release(self, key: str, claim: str) -> None:
        """The movement's reduction was netted against an opposite movement in its batch and never
        reached Brightpearl: its unmatched units are no longer open, so a later row of the other
        report is not matched against them (it reduces the stock itself)."""
        left = self.counted.get(key, 0)
        if left <= 0:
            return
        if claim == "loss":
            self.losses -= min(left, self.losses)
        else:
            self.deemed -= min(left, self.deemed)
        self.counted[key] = 0


@dataclass(frozen=True)
class Correction:
    """One line of a Brightpearl stock correction request."""

    key: str
    product_id: int
    quantity: int


@dataclass(frozen=True)
class StockCorrection:
    """One line of a stock correction as the use case asks for it (the adapter writes Brightpearl's JSON).
    ``cost_currency``: units added are valued at 0 in this currency (Brightpearl requires a cost)."""

    product_id: int
    quantity: int
    location_id: int
    reason: str
    cost_currency: str | None = None


def net_pairs(changes: Iterable[Correction]) -> tuple[list[Correction], list[tuple[Correction, Correction]]]:
    """Cancel out opposite movements of the same product and size within one batch.

    Amazon records some events in pairs (lost then found, a damaged unit moved between dispositions);
    when both halves arrive together the unit must not move down and up again in Brightpearl. Returns
    the corrections still to write and the netted pairs (each recorded as skipped, naming the other).
    Pairs are matched in input order, so the result is deterministic.
    """
    remaining: list[Correction] = []
    open_by: dict[tuple[int, int], list[int]] = {}
    pairs: list[tuple[Correction, Correction]] = []
    for c in changes:
        opposite = open_by.get((c.product_id, -c.quantity))
        if opposite:
            idx = opposite.pop(0)
            pairs.append((remaining[idx], c))
            remaining[idx] = Correction("", 0, 0)  # tombstone; dropped below
            continue
        open_by.setdefault((c.product_id, c.quantity), []).append(len(remaining))
        remaining.append(c)
    return [c for c in remaining if c.key], pairs


def batches[T](items: list[T], size: int) -> list[list[T]]:
    return [items[i:i + size] for i in range(0, len(items), size)]
