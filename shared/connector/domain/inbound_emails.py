"""FBA inbound shipments' discrepancies and emails, with no I/O: which email events a shipment's state
implies (each keyed by the figures it reports, so one event is mailed once) and what each one says.
The shipment's rules are in :mod:`connector.domain.inbound`.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from connector.domain.inbound import (
    CANCELLED_STATUSES,
    RECEIVING_RANK,
    SOURCE_BOTH,
    SOURCE_LEDGER,
    SOURCE_V0,
    Line,
    rank,
)
from connector.domain.messages import Column, Message, Table, product_label


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


# The emails whose table is the received figures: kind → (subject, intro, the SKUs the table shows; None:
# every line). The subject's ``{sid}`` and ``{status}`` are the shipment's id and its status in lower case.
_RECEIVED: dict[str, tuple[str, str, Callable[[Iterable[Line]], Collection[str]] | None]] = {
    "receiving": ("Amazon started receiving inbound shipment {sid}",
                  "Amazon has started receiving this shipment. Received units are released into the FBA warehouse.",
                  None),
    "over": ("Amazon received more than expected on inbound shipment {sid}",
             "Amazon received more units than the shipment listed. The extra units were added to the FBA "
             "warehouse by a stock correction; check the source warehouse's count.", over_received),
    "unexpected": ("Amazon received unexpected SKUs on inbound shipment {sid}",
                   "Amazon received SKUs that were not on the shipment. Linked SKUs were added to the FBA warehouse "
                   "by a stock correction; SKUs marked 'not linked' were not booked in Brightpearl.", unexpected),
    "unlinked": ("Inbound shipment {sid} has SKUs not linked to Brightpearl products",
                 "These SKUs have no listing link, so they are not on the transfer and nothing is released for "
                 "them. Link them to make later receipts count; the rest of the shipment proceeds.", unlinked),
    "cancelled": ("Amazon inbound shipment {sid} was {status}",
                  "Amazon cancelled this shipment. The connector has stopped working on it; see below what "
                  "happened to its Brightpearl transfer.", None),
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
    if kind in _RECEIVED:
        subject, intro, select = _RECEIVED[kind]
        subject = subject.format(sid=sid, status=view.status.lower())
        chosen = None if select is None else set(select(lines))
        rows = received_rows(ln for ln in lines if chosen is None or ln.sku in chosen)
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
