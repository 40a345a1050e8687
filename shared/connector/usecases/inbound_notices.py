"""The inbound shipments' emails: each event of a shipment (started receiving, received in full, short,
held, cancelled, …) is mailed once, keyed ``inbound#<shipment>#<event>`` in the send-once store."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from connector.domain.email import Email
from connector.domain.inbound import Shipment
from connector.domain.inbound_emails import EmailEvent, ShipmentView, emails_due, render_email, with_note
from connector.domain.messages import Message
from connector.usecases.ports import OnceMail, ProductNames
from connector.usecases.product_names import Names


def view_of(record: Shipment) -> ShipmentView:
    return ShipmentView(record.shipment_id, record.name or "", record.status,
                        None if record.stock_transfer_id is None else int(record.stock_transfer_id),
                        tuple(record.lines))


class Notices:
    def __init__(self, mail: OnceMail, save: Callable[[Shipment], None], now: Callable[[], datetime],
                 names: ProductNames | None = None) -> None:
        self.mail = mail
        self.save = save
        self.now = now
        self.names = names  # Brightpearl product names for the emails (None: SKU and id only)

    def render(self, record: Shipment, event: EmailEvent, *, short: Mapping[str, int] | None = None,
               names: Names | None = None) -> Message:
        """The event's email, its products by SKU and Brightpearl name (read for this shipment's lines)."""
        view = view_of(record)
        known = (names or Names(self.names))([ln.product_id for ln in view.lines])
        return render_email(view, event, short=short, product_names=known)

    def send_due(self, record: Shipment, *, note: str | None = None) -> int:
        """Every email the shipment's state calls for and it has not had yet; returns how many were sent."""
        view = view_of(record)
        sent = 0
        names = Names(self.names)  # one read for all of this shipment's emails
        for event in emails_due(view, transfer_planned=record.stock_transfer_id is not None):
            if any(e.get("key") == event.key for e in record.emails_sent):
                continue
            email = self.render(record, event, names=names)
            if note:
                email = with_note(email, note)
            if self.send(record, event, email):
                sent += 1
        return sent

    def send(self, record: Shipment, event: EmailEvent, email: Email | Message) -> bool:
        """Send once per shipment and event key, through the one send-once mechanism (``usecases/send_once``):
        a retry, a concurrent run or a crash after sending never sends twice; an SES error releases the
        claim so the next run retries. The record keeps what was sent (the operator shows it)."""
        if any(e.get("key") == event.key for e in record.emails_sent):
            return False  # sent before the send-once store existed (records of older versions)
        message_id = self.mail.send_once(f"inbound#{record.shipment_id}#{event.key}", email)
        if message_id is None:
            return False
        entry = {"key": event.key, "state": "sent", "message_id": message_id, "at": self.now().isoformat()}
        record.emails_sent = [*record.emails_sent, entry]
        self.save(record)
        return True
