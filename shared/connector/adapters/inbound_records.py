"""The Shipments table: one item per Amazon inbound shipment (the use case's memory between runs).

Items are converted to and from the domain's ``Shipment`` here and nowhere else; the item's
``VersionAttribute`` travels on ``Shipment.version``, and a save that lost the race raises the port-level
``Conflict``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from pynamodb.exceptions import DoesNotExist

from connector.adapters.queues import Queue
from connector.adapters.store import GovernorItem, InboundShipment, ShipmentSku, conflict_as
from connector.domain.errors import Conflict
from connector.domain.inbound import CHAIN_FRESH_S, FINISHED_PLANS_KEPT, Line, Shipment

# Attributes copied as they are, both ways (the lines, ints and version are converted below).
PLAIN = ("status", "name", "plan_id", "plan_shipment_id", "plan_shipments", "reference", "bp_shipped",
         "transfer_attempted", "pending", "receipts", "undo", "finished", "updated_at")
INTS = ("source_warehouse_id", "target_warehouse_id", "stock_transfer_id", "goods_out_note_id", "transfer_hwm")


def _int(value: object) -> int | None:
    return None if value is None else int(value)  # type: ignore[call-overload]


def shipment_of(item: InboundShipment) -> Shipment:
    lines = [Line(sku=s.sku, product_id=_int(s.product_id), expected=int(s.expected),
                  transferred=int(s.transferred), short=int(s.short), received=int(s.received),
                  released=int(s.released), corrected=int(s.corrected), source=str(s.source or ""))
             for s in item.skus or []]
    shipment = Shipment(item.shipment_id, item.status, lines=lines, status_history=list(item.status_history or []),
                        emails_sent=list(item.emails_sent or []), version=_int(item.version))
    for name in PLAIN[1:]:
        setattr(shipment, name, getattr(item, name))
    for name in INTS:
        setattr(shipment, name, _int(getattr(item, name)))
    return shipment


def item_of(shipment: Shipment) -> InboundShipment:
    item = InboundShipment(shipment.shipment_id)
    item.skus = [ShipmentSku(sku=ln.sku, product_id=ln.product_id, expected=ln.expected, transferred=ln.transferred,
                             short=ln.short, received=ln.received, released=ln.released, corrected=ln.corrected,
                             source=ln.source or None)
                 for ln in shipment.lines]
    item.status_history = list(shipment.status_history)
    item.emails_sent = list(shipment.emails_sent)
    for name in PLAIN + INTS:
        setattr(item, name, getattr(shipment, name))
    if shipment.version is not None:  # a new shipment has none: its save requires that no item exists yet
        item.version = shipment.version
    return item


def _phase(item: InboundShipment, now: datetime) -> None:
    """The sparse indexes' keys, from the item's own state (so every save keeps them true)."""
    if not item.finished:
        item.phase, item.phase_at = "open", item.shipment_id
    elif item.plan_id and item.plan_shipments:
        item.phase, item.phase_at = PLAN_DONE, now.isoformat()
    else:
        item.phase = item.phase_at = None
    item.transfer_key = "t" if item.stock_transfer_id is not None else None


PLAN_DONE = "plan_done"


class ShipmentRecords:
    INDEXED_KEY = "inbound#shipments-indexed"  # governor-table marker: every item carries its index keys
    _indexed = False  # per container, once the marker was seen

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.clock = clock

    def get(self, shipment_id: str) -> Shipment | None:
        try:
            return shipment_of(InboundShipment.get(shipment_id, consistent_read=True))
        except DoesNotExist:
            return None

    def new(self, shipment_id: str, status: str) -> Shipment:
        return Shipment(shipment_id, status)

    def save(self, record: Shipment) -> None:
        # VersionAttribute makes this a conditional write: two overlapping runs cannot both act on one
        # shipment (the loser fails on that shipment and the next run starts from the winner's state).
        item = item_of(record)
        _phase(item, self.clock())
        with conflict_as(f"shipment {record.shipment_id!r}"):
            item.save()
        record.version = _int(item.version)

    def _ensure_indexed(self) -> None:
        """Items saved before the indexes existed lack their keys: the first run after the upgrade Scans the
        table once and adds them (a conditional update: a run saving meanwhile wins, and saves its keys)."""
        if ShipmentRecords._indexed:
            return
        try:
            GovernorItem.get(self.INDEXED_KEY, consistent_read=True)
        except DoesNotExist:
            now = self.clock()
            for item in InboundShipment.scan():
                before = (item.phase, item.phase_at, item.transfer_key)
                _phase(item, now)
                if item.phase == PLAN_DONE and before[0] == PLAN_DONE:
                    item.phase_at = before[1]  # keep when it finished
                if (item.phase, item.phase_at, item.transfer_key) == before:
                    continue
                # saved by a run meanwhile (which set its keys): the conditional save loses, harmlessly
                with contextlib.suppress(Conflict), conflict_as(f"shipment {item.shipment_id!r}"):
                    item.save()
            GovernorItem(self.INDEXED_KEY).save(add_version_condition=False)
        ShipmentRecords._indexed = True

    def open(self) -> list[Shipment]:
        self._ensure_indexed()
        return [shipment_of(i) for i in InboundShipment.by_phase.query("open")]

    def finished_with_plans(self) -> list[Shipment]:
        """Finished shipments of settled 2024-03-20 plans that finished within ``FINISHED_PLANS_KEPT``: only
        their ids and plan, so neither their plans nor they themselves are read again. One finished longer
        ago can only be of a plan no longer listed (the use case lists plans updated within half that time);
        if one were, its plan would be read once more and its shipment found finished: reads, never a write."""
        self._ensure_indexed()
        since = (self.clock() - FINISHED_PLANS_KEPT).isoformat()
        items = InboundShipment.by_phase.query(PLAN_DONE, InboundShipment.phase_at >= since,
                                               attributes_to_get=["shipment_id", "plan_id", "plan_shipments"])
        return [Shipment(i.shipment_id, "", plan_id=i.plan_id, plan_shipments=dict(i.plan_shipments),
                         finished=True)
                for i in items if i.plan_id and i.plan_shipments]

    def max_transfer_id(self) -> int:
        """The highest Brightpearl transfer id any shipment holds (where a lost transfer is searched from)."""
        self._ensure_indexed()
        for item in InboundShipment.by_transfer.query("t", scan_index_forward=False, limit=1):
            return int(item.stock_transfer_id)
        return 0


class QueueContinuations:
    """Inbound continuations: one SQS message to the function's own queue (``InboundContinueQueue``) per hop;
    the chain's "running until" time is a small governor-table item the scheduled runs read."""

    KEY = "inbound#continuation"

    def __init__(self, queue: Queue, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.queue = queue
        self.clock = clock

    def send(self, resume_from: str, hop: int) -> None:
        self.mark()  # before the message: the next run may start before this one has returned
        self.queue.send({"resumeFrom": resume_from, "hop": hop, "sentAt": self.clock().isoformat()})

    def mark(self) -> None:
        now = self.clock()
        GovernorItem(self.KEY, lease_until=(now + timedelta(seconds=CHAIN_FRESH_S)).timestamp(),
                     expires_at=now + timedelta(days=1)).save(add_version_condition=False)

    def end(self) -> None:
        GovernorItem(self.KEY).delete(add_version_condition=False)

    def active(self) -> bool:
        try:
            item = GovernorItem.get(self.KEY, consistent_read=True)
        except DoesNotExist:
            return False
        return item.lease_until is not None and float(item.lease_until) > self.clock().timestamp()
