"""FBA inbound shipments: the rules, with no I/O (per-SKU quantities, statuses, discrepancies, emails).

A shipment is a list of :class:`Line` (one per SKU) plus its Amazon status. Everything the use case
decides comes from here: what to put on the Brightpearl transfer, what to release from quarantine
now, what over-received units to add by correction, and which emails are due (each keyed by the
event, so one event is mailed once).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

# v0 and 2024-03-20 statuses in the order a shipment moves through them. Amazon's polls can show an
# older status after a newer one (eventual consistency); a status never moves a shipment backwards.
STATUS_ORDER: dict[str, int] = {
    "UNCONFIRMED": 0, "WORKING": 0, "READY_TO_SHIP": 1, "SHIPPED": 2, "IN_TRANSIT": 3, "DELIVERED": 4,
    "CHECKED_IN": 5, "RECEIVING": 6, "CLOSED": 7,
}
CANCELLED_STATUSES = frozenset({"CANCELLED", "DELETED", "ABANDONED"})
FINAL_STATUSES = CANCELLED_STATUSES | {"CLOSED"}
OPEN_STATUSES = ("WORKING", "READY_TO_SHIP", "SHIPPED", "IN_TRANSIT", "DELIVERED", "CHECKED_IN", "RECEIVING")
SHIPPED_RANK = STATUS_ORDER["SHIPPED"]
LEDGER_REPORTS_KEPT = 20  # ledger report ids remembered per shipment (already read: not read again)
RECEIVING_RANK = STATUS_ORDER["RECEIVING"]
# Continuation chains (a run stopped for time asks for the next at once): at most MAX_HOPS runs back to back
# (200 x 300 s ~ 17 h, then the 30-minute schedule takes over: 500 open shipments of 200 SKUs are ~150 runs at
# Brightpearl's 200 requests a minute, one chain); a chain counts as running for CHAIN_FRESH_S after its last
# run started or asked for the next (longer than one run, 300 s, plus the queue's delivery).
MAX_HOPS = 200
CHAIN_FRESH_S = 360
# Finished shipments of settled plans are remembered (not their plans re-read) this long after finishing:
# twice the 2 days within which the use case lists updated plans.
FINISHED_PLANS_KEPT = timedelta(days=4)
CONTINUATION_FIELDS = frozenset({"resumeFrom", "hop", "sentAt"})


def continuation_of(body: Mapping[str, Any], now: datetime) -> tuple[str, int] | None:
    """(resume_from, hop) of a continuation message; None when it is stale (sent more than CHAIN_FRESH_S
    ago: a redelivery after a failed run, by which time the schedule has taken over). ValueError names
    the bad field."""
    if not isinstance(body, Mapping):
        raise ValueError(f"continuation message must be an object, got {type(body).__name__}")
    if unknown := sorted(set(body) - CONTINUATION_FIELDS):
        raise ValueError(f"continuation message: unknown field(s) {', '.join(unknown)}")
    resume_from, hop, sent_at = body.get("resumeFrom"), body.get("hop"), body.get("sentAt")
    if not isinstance(resume_from, str) or not resume_from:
        raise ValueError(f"continuation message: resumeFrom must be a shipment id, got {resume_from!r}")
    if not isinstance(hop, int) or isinstance(hop, bool) or not 1 <= hop <= MAX_HOPS:
        raise ValueError(f"continuation message: hop must be an integer 1..{MAX_HOPS}, got {hop!r}")
    try:
        sent = datetime.fromisoformat(str(sent_at))
    except ValueError:
        raise ValueError(f"continuation message: sentAt must be an ISO date-time, got {sent_at!r}") from None
    if sent.tzinfo is None:
        raise ValueError(f"continuation message: sentAt needs a time zone, got {sent_at!r}")
    if (now - sent).total_seconds() > CHAIN_FRESH_S:
        return None
    return resume_from, hop


@dataclass(frozen=True)
class StatusDecision:
    status: str
    changed: bool
    note: str | None = None  # why a reported status was not taken (logged by the caller)


def merge_status(current: str | None, reported: str) -> StatusDecision:
    """The status to keep when Amazon reports ``reported`` for a shipment recorded as ``current``."""
    reported = reported.upper()
    if current is None:
        return StatusDecision(reported, True)
    if current == reported:
        return StatusDecision(current, False)
    if current in FINAL_STATUSES:
        return StatusDecision(current, False, f"{current} is final; ignoring {reported}")
    if reported in CANCELLED_STATUSES:
        return StatusDecision(reported, True)
    if reported not in STATUS_ORDER:
        return StatusDecision(current, False, f"unknown or error status {reported}; keeping {current}")
    if STATUS_ORDER[reported] < STATUS_ORDER.get(current, -1):
        return StatusDecision(current, False, f"out-of-order status {reported} after {current}; keeping {current}")
    return StatusDecision(reported, True)


def rank(status: str) -> int:
    return STATUS_ORDER.get(status, -1)


@dataclass(frozen=True)
class Line:
    """One SKU of a shipment. ``product_id`` None = no listing link (named in emails, never transferred)."""

    sku: str
    product_id: int | None = None
    expected: int = 0  # Amazon's QuantityShipped (planned units)
    transferred: int = 0  # units on the Brightpearl transfer
    short: int = 0  # expected units Brightpearl did not have when the transfer was made
    received: int = 0  # Amazon's QuantityReceived
    released: int = 0  # units this shipment released from the FBA warehouse's quarantine
    corrected: int = 0  # units added to the FBA warehouse by correction (received beyond the transfer)
    source: str = ""  # where ``received`` came from (see :func:`reconcile_received`)

    @property
    def linked(self) -> bool:
        return self.product_id is not None


@dataclass
class Shipment:
    """One Amazon inbound shipment and its Brightpearl side: the inbound use case's state between runs.

    The store converts it to and from its table item; ``version`` is that item's, so a save is
    conditional on what was read (two overlapping runs cannot both act on one shipment).
    """

    shipment_id: str
    status: str
    lines: list[Line] = field(default_factory=list)
    status_history: list[Any] = field(default_factory=list)
    name: str | None = None
    plan_id: str | None = None  # 2024-03-20 inboundPlanId, when seen through a plan
    plan_shipment_id: str | None = None  # 2024-03-20 shipmentId (sh…), for listShipmentItems
    # The settled plan's shipments {shipmentId: v0 id} (None: not seen settled): its getInboundPlan is not re-read.
    plan_shipments: dict[str, str] | None = None
    reference: str | None = None  # the stock transfer's reference, AMZ-IN-<shipment id>
    source_warehouse_id: int | None = None
    target_warehouse_id: int | None = None
    stock_transfer_id: int | None = None
    goods_out_note_id: int | None = None
    transfer_attempted: bool = False  # a create was sent: look it up before sending again
    transfer_hwm: int | None = None  # highest transfer id in Brightpearl just before the create
    bp_shipped: bool = False
    pending: dict[str, Any] | None = None  # the pending write: a release/correction sent, not yet confirmed
    receipts: dict[str, Any] | None = None  # ledger Receipts rows of this shipment
    undo: dict[str, Any] | None = None  # cancelled: what was undone in Brightpearl
    emails_sent: list[Any] = field(default_factory=list)
    finished: bool = False  # final status handled; polled no more
    updated_at: datetime | None = None
    version: int | None = None

    @property
    def skus(self) -> list[Line]:
        """The lines under the table's name for them (one per SKU)."""
        return self.lines

    def set_line(self, sku: str, **changes: int) -> None:
        for i, ln in enumerate(self.lines):
            if ln.sku == sku:
                self.lines[i] = replace(ln, **changes)  # type: ignore[arg-type]
                return
        raise KeyError(sku)


# Where a received figure came from (named per SKU in the emails).
SOURCE_V0 = "v0"  # getShipmentItems QuantityReceived
SOURCE_LEDGER = "ledger"  # the inventory ledger's Receipts rows (Reference ID = shipment id)
SOURCE_BOTH = "v0+ledger"  # both report the same figure


def reconcile_received(v0: int | None, ledger: int | None) -> tuple[int, str]:
    """One received figure per SKU from Amazon's two sources, and which one it is.

    Both lag the truth and neither over-reports: v0 ``QuantityReceived`` can stay behind (or show
    nothing for shipments made with the 2024-03-20 API, which has no received quantities at all), and
    the ledger only holds the Receipts rows of the reports read so far. So the larger one is taken.
    ``None`` = the source says nothing about the SKU.
    """
    if v0 is None and ledger is None:
        return 0, ""
    if ledger is None or (v0 is not None and v0 > ledger):
        return max(0, v0 or 0), SOURCE_V0
    if v0 is None or ledger > v0:
        return max(0, ledger), SOURCE_LEDGER
    return max(0, v0), SOURCE_BOTH


def update_lines(lines: Sequence[Line], amazon_items: Mapping[str, tuple[int, int]],
                 products: Mapping[str, int | None], sources: Mapping[str, str] | None = None,
                 ) -> tuple[list[Line], list[str]]:
    """Fold Amazon's items (sku → (shipped, received)) into the lines; returns lines and notes to log.

    Received never goes down: released units cannot be un-released, so a lower figure is only logged.
    A SKU that gains a link later (the merchant connected it) gets its product from ``products``.
    ``sources`` names where each received figure came from (kept with the figure that wins).
    """
    notes: list[str] = []
    out: dict[str, Line] = {line.sku: line for line in lines}
    for sku, (shipped, received) in amazon_items.items():
        line = out.get(sku) or Line(sku)
        if received < line.received:
            notes.append(f"{sku}: Amazon now reports {received} received, had {line.received}; keeping {line.received}")
        product_id = line.product_id if line.product_id is not None else products.get(sku)
        # The figure kept names its source; a lower figure now reported keeps the old attribution.
        source = ((sources or {}).get(sku) or line.source) if received >= line.received else line.source
        out[sku] = replace(line, product_id=product_id, expected=max(0, shipped),
                           received=max(line.received, received), source=source)
    return sorted(out.values(), key=lambda line: line.sku), notes


# ------------------------------------------------------------------------------ the transfer
@dataclass(frozen=True)
class TransferPlan:
    quantities: dict[str, int]  # sku -> units to put on the transfer (only > 0)
    short: dict[str, int]  # sku -> expected units Brightpearl lacks
    hold: bool  # do not create the transfer yet


def plan_transfer(lines: Iterable[Line], available: Mapping[int, int], policy: str) -> TransferPlan:
    """What the transfer carries, given the source warehouse's on-hand per product.

    ``available``: the source holds what there is (a short SKU is mailed); ``hold``: wait until every
    linked SKU is in stock. A plan with nothing to carry is always held (a transfer needs lines).
    """
    quantities: dict[str, int] = {}
    short: dict[str, int] = {}
    left = dict(available)  # two SKUs may share one product
    for line in lines:
        if not line.linked or line.expected <= 0:
            continue
        assert line.product_id is not None
        have = max(0, left.get(line.product_id, 0))
        take = min(have, line.expected)
        left[line.product_id] = have - take
        if take < line.expected:
            short[line.sku] = line.expected - take
        if take:
            quantities[line.sku] = take
    hold = not quantities or (policy == "hold" and bool(short))
    return TransferPlan(quantities, short, hold)


def releases_due(lines: Iterable[Line]) -> dict[str, int]:
    """Units to release from quarantine now: newly received, never beyond what this transfer carried."""
    out: dict[str, int] = {}
    for line in lines:
        due = min(line.received, line.transferred) - line.released
        if line.linked and due > 0:
            out[line.sku] = due
    return out


def corrections_due(lines: Iterable[Line]) -> dict[str, int]:
    """Units Amazon received beyond this transfer that are not yet in the FBA warehouse.

    Rule: the Brightpearl FBA warehouse should hold what Amazon holds. Units received beyond the
    transfer (over-receipt, a SKU never on the shipment, or a SKU the source was short of) never left
    Brightpearl's source by transfer, so they are added to the FBA warehouse by a stock correction
    whose reason names the shipment, and mailed so the source warehouse's count can be checked.
    """
    out: dict[str, int] = {}
    for line in lines:
        due = max(0, line.received - line.transferred) - line.corrected
        if line.linked and due > 0:
            out[line.sku] = due
    return out
