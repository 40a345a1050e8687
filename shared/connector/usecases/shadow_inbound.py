"""Shadow mode for inbound shipments (feature ``inbound``, docs/shadow-mode.md).

A run in shadow computes every shipment as live (its transfer's quantities from the source's on-hand, the
goods-out note, shipping it, releases as Amazon receives) but:
- ``ShadowTransfers`` (the ``Transfers`` port) records each write instead of making it and answers as
  Brightpearl would, with negative ids (no Brightpearl id is negative); the transfer and goods-out note it
  answered are served from the gate's memory for the rest of the run;
- ``ShadowShipmentStore`` keeps the run's shipment records in memory only: nothing of a shadow run is
  saved, so each run plans from what Amazon and Brightpearl show now, and the first live run after
  ``shadow off`` creates every open shipment's transfer from that day's figures (the current plan);
- ``ShadowMail``: the inbound emails are not sent in shadow (they would name transfers that do not exist),
  and their send-once keys are left unclaimed for the live run.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from connector.domain.inbound import Shipment
from connector.domain.shadow import INBOUND, PlanEntry
from connector.domain.shipments import GoodsOutNote, Transfer
from connector.observability import logger
from connector.usecases.ports import OnceMail, ShadowPlans, ShipmentStore, Transfers

SkusOf = Callable[[Iterable[int]], dict[int, str]]


class RunSwitch:
    """The inbound shadow switch read once per run and held for it (issue 14 item 2: was one settings read per
    save, release and email, ~1 per received SKU). ``ShadowShipmentStore.open`` (the run's first read) reads
    it again, so a run is all live or all in shadow: a Brightpearl write and the save that records it never
    disagree. A switch flipped during a run applies from the next run; held at most ``hold`` seconds (a
    Lambda's longest run), read again after that, so no warm container keeps an old answer."""

    def __init__(self, on: Callable[[], bool], *, hold: float = 900.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.on, self.hold, self.clock = on, hold, clock
        self._held: tuple[bool, float] | None = None

    def refresh(self) -> bool:
        value = bool(self.on())
        self._held = (value, self.clock())
        return value

    def __call__(self) -> bool:
        held = self._held
        if held is not None and self.clock() - held[1] < self.hold:
            return held[0]
        return self.refresh()


class ShadowTransfers:
    def __init__(self, inner: Transfers, plans: ShadowPlans, on: Callable[[], bool], *,
                 skus_of: SkusOf | None = None, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.inner, self.plans, self.on, self.skus_of, self.clock = inner, plans, on, skus_of, clock
        self._transfers: dict[int, Transfer] = {}
        self._notes: dict[int, GoodsOutNote] = {}
        self._refs: dict[int, str] = {}

    def __getattr__(self, name: str) -> Any:  # reads: highest_transfer_id, figures
        return getattr(self.inner, name)

    def _id(self) -> int:
        return -(len(self._transfers) + len(self._notes) + 1)

    # ------------------------------------------------------------------ the transfer and its note
    def create_transfer(self, source_id: int, target_id: int, reference: str) -> int:
        if not self.on():
            return self.inner.create_transfer(source_id, target_id, reference)
        tid = self._id()
        self._transfers[tid] = Transfer(tid, reference, 0)
        self._refs[tid] = reference
        return tid

    def transfer(self, transfer_id: int) -> Transfer | None:
        if transfer_id < 0:
            return self._transfers.get(transfer_id)
        return self.inner.transfer(transfer_id)

    def find_transfer(self, reference: str, *, above: int) -> Transfer | None:
        mine = next((t for t in self._transfers.values() if t.reference == reference), None)
        return mine or self.inner.find_transfer(reference, above=max(above, 0))

    def create_goods_out(self, source_id: int, target_id: int, transfer_id: int, quantities: Mapping[int, int], *,
                         shipping_method_id: int | None, release_date: datetime) -> int:
        if not self.on():
            return self.inner.create_goods_out(source_id, target_id, transfer_id, quantities,
                                               shipping_method_id=shipping_method_id, release_date=release_date)
        gid = self._id()
        self._notes[gid] = GoodsOutNote(gid, False, 1, dict(quantities))
        if transfer_id in self._transfers:
            t = self._transfers[transfer_id]
            self._transfers[transfer_id] = Transfer(t.transfer_id, t.reference, gid)
        ref = self._refs.get(transfer_id, f"transfer {transfer_id}")
        # What the source warehouse would lose to the transfer, against its on-hand now.
        self._record(source_id, {pid: {f"{ref}#transfer": -int(q)} for pid, q in quantities.items() if q})
        return gid

    def goods_out(self, note_id: int) -> GoodsOutNote | None:
        if note_id < 0:
            return self._notes.get(note_id)
        return self.inner.goods_out(note_id)

    def ship(self, note_id: int, *, version: int, staff_id: int, at: datetime) -> None:
        if not self.on() and note_id > 0:
            return self.inner.ship(note_id, version=version, staff_id=staff_id, at=at)
        note = self._notes.get(note_id)
        if note is not None:
            self._notes[note_id] = GoodsOutNote(note.note_id, True, note.version + 1, note.quantities, note.steps)
        return None

    def delete_goods_out(self, note_id: int) -> None:
        if not self.on() and note_id > 0:
            return self.inner.delete_goods_out(note_id)
        self._notes.pop(note_id, None)
        return None

    def undo_steps(self, note_id: int, steps: Iterable[str], *, version: int, staff_id: int, at: datetime) -> None:
        if not self.on() and note_id > 0:
            return self.inner.undo_steps(note_id, steps, version=version, staff_id=staff_id, at=at)
        return None

    # ------------------------------------------------------------------ stock writes (receiving, cancelling)
    def release(self, warehouse_id: int, product_id: int, quantity: int) -> None:
        if not self.on():
            return self.inner.release(warehouse_id, product_id, quantity)
        # Quarantine → stock inside the FBA warehouse: a write, no change to its on-hand.
        self._record(None, {product_id: {f"release {warehouse_id}#{self.clock().date()}": 0}})
        return None

    def remove_stock(self, warehouse_id: int, product_id: int, quantity: int, *, reason: str) -> int:
        if not self.on():
            return self.inner.remove_stock(warehouse_id, product_id, quantity, reason=reason)
        self._record(warehouse_id, {product_id: {reason: -abs(quantity)}})
        return -1

    def add_stock(self, warehouse_id: int, product_id: int, quantity: int, *, reason: str,
                  cost: Mapping[str, Any]) -> int:
        if not self.on():
            return self.inner.add_stock(warehouse_id, product_id, quantity, reason=reason, cost=cost)
        self._record(warehouse_id, {product_id: {reason: abs(quantity)}})
        return -1

    def _record(self, warehouse_id: int | None, moves: Mapping[int, Mapping[str, int]]) -> None:
        pids = sorted(moves)
        shows: dict[int, int] = {}
        if warehouse_id is not None and pids:
            shows = {p: int(f.get("onHand", 0)) for p, f in self.inner.figures(pids, warehouse_id).items()}
        skus = self.skus_of(pids) if self.skus_of is not None else {}
        at = self.clock().isoformat()
        for pid in pids:
            sku = skus.get(pid) or f"product {pid}"
            self.plans.add_moves(PlanEntry(INBOUND, sku, sku, 0, shows.get(pid), product_id=pid, at=at), moves[pid])
        logger.info("shadow: inbound writes recorded, not sent", extra={"products": len(pids)})


class ShadowShipmentStore:
    """The ``ShipmentStore`` with inbound shadow: while on, the run's saves stay in memory (its own later
    reads see them); nothing is written to the table, so the live run after ``off`` starts from the state
    before shadow (or from nothing, for shipments first seen in shadow)."""

    def __init__(self, inner: ShipmentStore, on: Callable[[], bool]) -> None:
        self.inner, self.on = inner, on
        self._mine: dict[str, Shipment] = {}

    def get(self, shipment_id: str) -> Any:
        if shipment_id in self._mine:
            return copy.deepcopy(self._mine[shipment_id])
        return self.inner.get(shipment_id)

    def new(self, shipment_id: str, status: str) -> Any:
        return self.inner.new(shipment_id, status)

    def save(self, record: Any) -> None:
        if record.shipment_id in self._mine or self.on():
            record.version = (record.version or 0) + 1
            self._mine[record.shipment_id] = copy.deepcopy(record)
            return
        self.inner.save(record)

    def open(self) -> list[Any]:
        if isinstance(self.on, RunSwitch):
            self.on.refresh()  # a new run: it is live or in shadow as the settings say now, to its end
        stored = {r.shipment_id: r for r in self.inner.open()}
        stored.update({k: copy.deepcopy(v) for k, v in self._mine.items() if not v.finished})
        return list(stored.values())

    def max_transfer_id(self) -> int:
        return self.inner.max_transfer_id()

    def finished_with_plans(self) -> list[Any]:
        return self.inner.finished_with_plans()


class ShadowMail:
    """The inbound emails: not sent while inbound is in shadow (nothing they describe exists)."""

    def __init__(self, inner: OnceMail, on: Callable[[], bool]) -> None:
        self.inner, self.on = inner, on

    def send(self, email: Any) -> str:
        if self.on():
            return "shadow"
        return self.inner.send(email)

    def send_once(self, key: str, email: Any, **kw: Any) -> str | None:
        if self.on():
            return None  # the key stays unclaimed: the live run sends it
        return self.inner.send_once(key, email, **kw)
