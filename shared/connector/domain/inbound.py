"""FBA inbound shipments: the rules, with no I/O (per-SKU quantities, statuses, discrepancies, emails).

A shipment is a list of :class:`Line` (one per SKU) plus its Amazon status. Everything the use case
decides comes from here: what to put on the Brightpearl transfer, what to release from quarantine
now, what over-received units to add by correction, and which emails are due (each keyed by the
event, so one event is mailed once).
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from connector.domain.messages import Column, Message, Table, product_label

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
# (50 x 300 s ~ 4 h, then the 30-minute schedule takes over); a chain counts as running for CHAIN_FRESH_S
# after its last run started or asked for the next (longer than one run, 300 s, plus the queue's delivery).
MAX_HOPS = 50
CHAIN_FRESH_S = 360
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


# ------------------------------------------------------------------------------ discrepancies and emails
@dataclass(frozen=True)
class ShipmentView:
    shipment_id: str
    name: str
    status: str
    transfer_id: int | None
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class EmailEvent:
    key: str  # recorded on the shipment: the same key is never mailed twice
    kind: str


def _fingerprint(pairs: Mapping[str, int]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(pairs.items()))


def over_received(lines: Iterable[Line]) -> dict[str, int]:
    return {ln.sku: ln.received - ln.expected for ln in lines if ln.expected > 0 and ln.received > ln.expected}


def unexpected(lines: Iterable[Line]) -> dict[str, int]:
    return {ln.sku: ln.received for ln in lines if ln.expected <= 0 and ln.received > 0}


def unlinked(lines: Iterable[Line]) -> list[str]:
    return sorted(ln.sku for ln in lines if not ln.linked and (ln.expected > 0 or ln.received > 0))


def closed_short(lines: Iterable[Line]) -> dict[str, int]:
    return {ln.sku: ln.expected - ln.received for ln in lines if ln.received < ln.expected}


def emails_due(view: ShipmentView, *, transfer_planned: bool) -> list[EmailEvent]:
    """Every email event the shipment's state implies (the caller skips keys already sent).

    Keys carry the figures they report, so a new over-receipt (more units, another SKU) is a new
    event, while re-reading an unchanged shipment is not.
    """
    lines = view.lines
    events: list[EmailEvent] = []
    if view.status in CANCELLED_STATUSES:
        return [EmailEvent(f"cancelled:{view.status}", "cancelled")]
    if names := unlinked(lines):
        events.append(EmailEvent("unlinked:" + ",".join(names), "unlinked"))
    short = {ln.sku: ln.short for ln in lines if ln.short > 0}
    if short and transfer_planned:
        events.append(EmailEvent("short:" + _fingerprint(short), "short"))
    receiving = rank(view.status) >= RECEIVING_RANK or any(ln.received > 0 for ln in lines)
    if receiving and view.status != "CLOSED":
        events.append(EmailEvent("receiving", "receiving"))
    if over := over_received(lines):
        events.append(EmailEvent("over:" + _fingerprint(over), "over"))
    if extra := unexpected(lines):
        events.append(EmailEvent("unexpected:" + _fingerprint(extra), "unexpected"))
    if view.status == "CLOSED":
        events.append(EmailEvent("closed", "closed"))
    return events


def held_email_due(short: Mapping[str, int]) -> EmailEvent:
    """The transfer is held for stock (policy 'hold'): mailed once per shortage."""
    return EmailEvent("held:" + _fingerprint(short), "held")


_SOURCE_TEXT = {SOURCE_V0: "Amazon shipment items (v0)", SOURCE_LEDGER: "inventory ledger Receipts",
                SOURCE_BOTH: "shipment items (v0) and ledger agree"}


def _source(line: Line) -> str:
    return _SOURCE_TEXT.get(line.source, "-") if line.received else "-"


def _product(line: Line, names: Mapping[int, str] | None = None) -> str:
    # Inbound records hold the product id; the Brightpearl name comes with the email (usecases/inbound_notices).
    return product_label(line.product_id, names)


def _header(view: ShipmentView) -> list[tuple[str, str]]:
    return [("Amazon shipment", f"{view.shipment_id} ({view.name})" if view.name else view.shipment_id),
            ("Amazon status", view.status),
            ("Brightpearl transfer", f"#{view.transfer_id}" if view.transfer_id else "not created")]


# What each email means for the merchant and what they do about it (issue 17: one line each).
_MEANING: dict[str, tuple[str, str]] = {
    "receiving": ("Stock Amazon has received is sellable on Amazon and counted in the FBA warehouse.",
                  "Nothing; you get another email when Amazon closes the shipment."),
    "closed": ("Brightpearl's FBA warehouse now holds what Amazon received.", "Nothing."),
    "closed-short": ("Units Amazon did not receive are not sellable; Brightpearl keeps them in quarantine.",
                     "Open a case with Amazon for the missing units; book the reimbursement when it comes."),
    "over": ("Brightpearl's FBA warehouse was corrected up to what Amazon counted.",
             "Count the source warehouse: it may hold fewer units than Brightpearl thinks."),
    "unexpected": ("Amazon holds units of SKUs that were not planned on this shipment.",
                   "Check the packing of the shipment; link the SKUs marked 'not linked' (links connect)."),
    "short": ("The transfer carries fewer units than the shipment plan.",
              "Check the source warehouse's stock; nothing else is needed."),
    "held": ("No stock has moved yet: the transfer waits until every SKU is in stock.",
             "Book the missing stock into the source warehouse, or set the transfer policy to 'partial'."),
    "unlinked": ("Receipts of these SKUs are not counted in Brightpearl until they are linked.",
                 "Link each SKU to its Brightpearl product (links connect); the next run picks them up."),
    "cancelled": ("The connector will not move stock for this shipment any more.",
                  "Check the note above on the Brightpearl transfer; nothing else is needed."),
}


def render_email(view: ShipmentView, event: EmailEvent, short: Mapping[str, int] | None = None,
                 product_names: Mapping[int, str] | None = None) -> Message:
    """Subject, text and HTML for one email event (tables: SKU, product, expected, received, difference)."""
    sid = view.shipment_id
    lines = view.lines
    received_cols = ("SKU", "Product", "Expected", "Received", "Difference", "Received per")

    def received_rows(selected: Iterable[Line]) -> list[tuple[object, ...]]:
        return [(ln.sku, _product(ln, product_names), ln.expected, ln.received, ln.received - ln.expected, _source(ln))
                for ln in selected]

    kind = event.kind
    cols: Sequence[str] = received_cols
    if kind == "receiving":
        subject = f"Amazon started receiving inbound shipment {sid}"
        intro = "Amazon has started receiving this shipment. Received units are released into the FBA warehouse."
        rows = received_rows(lines)
    elif kind == "closed":
        missing = closed_short(lines)
        if missing:
            subject = f"Amazon closed inbound shipment {sid} short: {sum(missing.values())} unit(s) not received"
            intro = ("Amazon closed this shipment with fewer units than were sent. The missing units stay in the "
                     "FBA warehouse's quarantine in Brightpearl: check with Amazon (a reimbursement may follow).")
        else:
            subject = f"Amazon received inbound shipment {sid} in full"
            intro = "Amazon has closed this shipment: every unit sent was received."
        rows = received_rows(lines)
    elif kind == "over":
        over = over_received(lines)
        subject = f"Amazon received more than expected on inbound shipment {sid}"
        intro = ("Amazon received more units than the shipment listed. The extra units were added to the FBA "
                 "warehouse by a stock correction; check the source warehouse's count.")
        rows = received_rows(ln for ln in lines if ln.sku in over)
    elif kind == "unexpected":
        extra = unexpected(lines)
        subject = f"Amazon received unexpected SKUs on inbound shipment {sid}"
        intro = ("Amazon received SKUs that were not on the shipment. Linked SKUs were added to the FBA warehouse "
                 "by a stock correction; SKUs marked 'not linked' were not booked in Brightpearl.")
        rows = received_rows(ln for ln in lines if ln.sku in extra)
    elif kind == "short":
        subject = f"Brightpearl is short of stock for inbound shipment {sid}"
        intro = ("The source warehouse did not have enough stock: the transfer carries what there was. "
                 "Units Amazon receives beyond the transfer will be added to the FBA warehouse by correction.")
        cols = ("SKU", "Product", "Expected", "Transferred", "Short")
        rows = [(ln.sku, _product(ln, product_names), ln.expected, ln.transferred, ln.short)
                for ln in lines if ln.short > 0]
    elif kind == "held":
        subject = f"Transfer for inbound shipment {sid} is waiting for stock"
        intro = ("The source warehouse does not have enough stock and the transfer policy is 'hold': the transfer "
                 "will be created once every SKU is in stock.")
        cols = ("SKU", "Product", "Expected", "Short")
        rows = [(ln.sku, _product(ln, product_names), ln.expected, (short or {}).get(ln.sku, 0))
                for ln in lines if (short or {}).get(ln.sku)]
    elif kind == "unlinked":
        names = set(unlinked(lines))
        subject = f"Inbound shipment {sid} has SKUs not linked to Brightpearl products"
        intro = ("These SKUs have no listing link, so they are not on the transfer and nothing is released for "
                 "them. Link them to make later receipts count; the rest of the shipment proceeds.")
        rows = received_rows(ln for ln in lines if ln.sku in names)
    elif kind == "cancelled":
        subject = f"Amazon inbound shipment {sid} was {view.status.lower()}"
        intro = ("Amazon cancelled this shipment. The connector has stopped working on it; see below what "
                 "happened to its Brightpearl transfer.")
        rows = received_rows(lines)
    else:
        raise ValueError(f"unknown email kind {kind!r}")
    meaning = "closed-short" if kind == "closed" and closed_short(lines) else kind
    return _compose(view, subject, intro, cols, rows, meaning)


_TEXT_COLUMNS = ("SKU", "Product", "Received per")


def _compose(view: ShipmentView, subject: str, intro: str, cols: Sequence[str],
             rows: Sequence[Sequence[object]], meaning: str) -> Message:
    what, todo = _MEANING[meaning]
    columns = [Column(c, numeric=c not in _TEXT_COLUMNS) for c in cols]
    return Message(title=subject, summary=intro, meaning=what, todo=todo, facts=tuple(_header(view)),
                   tables=(Table.of("Shipment lines", columns, rows),),
                   cli=f"connector --stack {{stack}} explain {shlex.quote(str(rows[0][0]))}" if rows else None,
                   cli_doc="explain-sku")


def with_note(email: Message, note: str) -> Message:
    """Add a sentence (e.g. what happened to the transfer) under the intro."""
    return email.with_note(note)
