"""Brightpearl in memory: stock per warehouse that corrections, goods-out notes and releases move.

Implements the ``Movements``, ``Transfers`` and ``Directory`` ports (and ``Catalog.availability``).
Writes are all or nothing and refuse to take on-hand below zero, as Brightpearl does. ``lose_answer(op)``
makes the next call of that write land and then raise ``UncertainWrite`` (the answer lost on the way
back), so a test can show the use case settles it by reference instead of writing twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from connector.domain.errors import Refused, Unavailable, UncertainWrite
from connector.domain.movements import StockCorrection
from connector.domain.quantities import Composition
from connector.domain.returns import CreditRow
from connector.domain.shipments import GoodsOutNote, Transfer


@dataclass
class Note:
    note_id: int
    source_id: int
    target_id: int
    transfer_id: int
    quantities: dict[int, int]
    shipped: bool = False
    version: int = 1
    steps: tuple[str, ...] = ()


@dataclass
class Correction:
    note_id: int
    warehouse_id: int
    product_id: int
    quantity: int
    reason: str
    cost: dict[str, Any] | None = None


@dataclass
class FakeBrightpearl:
    products: dict[int, str] = field(default_factory=dict)  # product id -> SKU
    names: dict[int, str] = field(default_factory=dict)  # product id -> name (salesChannels[0].productName)
    name_reads: list[list[int]] = field(default_factory=list)  # each product_names call's ids
    names_fail: bool = False  # product_names raises (Brightpearl down)
    warehouse_names: dict[int, str] = field(default_factory=lambda: {1: "Main", 7: "Amazon FBA"})
    on_hand_of: dict[tuple[int, int], int] = field(default_factory=dict)  # (warehouse, product) -> units
    in_transit_of: dict[tuple[int, int], int] = field(default_factory=dict)  # quarantine of the target warehouse
    transfers: dict[int, Transfer] = field(default_factory=dict)
    notes: dict[int, Note] = field(default_factory=dict)
    corrections: list[Correction] = field(default_factory=list)
    writes: list[str] = field(default_factory=list)  # every write that landed, in order
    attempts: list[str] = field(default_factory=list)  # every write sent, landed or refused
    _lost: set[str] = field(default_factory=set)
    _ids: int = 1000

    def product_names(self, product_ids: Iterable[int]) -> dict[int, str]:
        """The ``ProductNames`` port, in ID sets of 200 as Brightpearl's product GET."""
        ids = sorted(set(product_ids))
        for k in range(0, len(ids), 200):
            self.name_reads.append(ids[k:k + 200])
        if self.names_fail:
            raise Unavailable("Brightpearl: 503 on product-service/product")
        return {p: self.names[p] for p in ids if p in self.names}

    # ------------------------------------------------------------------ test controls
    def stock(self, warehouse_id: int, product_id: int, units: int) -> None:
        self.on_hand_of[(warehouse_id, product_id)] = units

    def lose_answer(self, op: str) -> None:
        self._lost.add(op)

    def _landed(self, op: str) -> None:
        self.writes.append(op)
        if op in self._lost:
            self._lost.discard(op)
            raise UncertainWrite(f"fake Brightpearl: {op} landed, its answer was lost")

    def _id(self) -> int:
        self._ids += 1
        return self._ids

    def _allocated(self, warehouse_id: int, product_id: int) -> int:
        return sum(n.quantities.get(product_id, 0) for n in self.notes.values()
                   if n.source_id == warehouse_id and not n.shipped)

    # ------------------------------------------------------------------ Directory
    def product_skus(self) -> Iterable[tuple[int, str]]:
        return sorted(self.products.items())

    def warehouses(self) -> list[dict[str, Any]]:
        return [{"id": i, "name": n} for i, n in sorted(self.warehouse_names.items())]

    # ------------------------------------------------------------------ Catalog (plain products, no bundles)
    def bundles_containing(self, product_ids: Iterable[int]) -> set[int]:
        return set()

    def stock_inputs(self, product_ids: Iterable[int]) -> tuple[dict[int, dict[str, Any]], dict[int, Composition],
                                                                set[int]]:
        known = {p for p in product_ids if p in self.products}
        return self.availability(known), {p: Composition(p) for p in known}, known

    def availability(self, product_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        out: dict[int, dict[str, Any]] = {}
        for pid in set(product_ids):
            per = {str(w): self.figures([pid], w)[pid] for w in self.warehouse_names}
            out[pid] = {"total": {"onHand": sum(v["onHand"] for v in per.values())}, "warehouses": per}
        return out

    # ------------------------------------------------------------------ Movements
    def default_location(self, warehouse_id: int) -> int:
        return warehouse_id * 10

    def post_corrections(self, warehouse_id: int, corrections: list[StockCorrection]) -> list[int]:
        self.attempts.append("post_corrections")
        after = dict(self.on_hand_of)
        for c in corrections:
            key = (warehouse_id, c.product_id)
            after[key] = after.get(key, 0) + c.quantity
            if after[key] < 0:
                raise Refused(f"fake Brightpearl: product {c.product_id} would go below zero in {warehouse_id}")
            if c.quantity > 0 and c.cost_currency is None:
                raise Refused("fake Brightpearl: a correction that adds units needs a cost")
        self.on_hand_of = after
        ids = []
        for c in corrections:
            self.corrections.append(Correction(self._id(), warehouse_id, c.product_id, c.quantity, c.reason,
                                               None if c.cost_currency is None else
                                               {"currency": c.cost_currency, "value": 0}))
            ids.append(self.corrections[-1].note_id)
        self._landed("post_corrections")
        return ids

    def find_corrections(self, warehouse_id: int, refs: set[str], after_id: int,
                         before_id: int | None = None) -> dict[str, int]:
        return {r: c.note_id for c in self.corrections for r in refs
                if f"[{r}]" in c.reason and c.note_id > after_id and (before_id is None or c.note_id <= before_id)}

    def on_hand(self, warehouse_id: int, product_ids: list[int]) -> dict[int, int]:
        return {p: self.on_hand_of.get((warehouse_id, p), 0) for p in product_ids}

    def find_sales_order(self, amazon_order_id: str, field: str) -> int | None:
        return None

    def order(self, order_id: int) -> dict[str, Any] | None:
        return None

    def find_credit(self, external_ref: str) -> int | None:
        return None

    def create_credit(self, ref: str, order: dict[str, Any], rows: list[CreditRow], *, placed_on: datetime,
                      currency: str) -> int:
        raise Refused("fake Brightpearl: sales credits are not modelled")

    def credit(self, credit_id: int) -> dict[str, Any] | None:
        return None

    def find_goods_in(self, credit_id: int, batch_reference: str) -> int | None:
        return None

    def goods_in(self, credit_id: int, ref: str, warehouse_id: int, order: dict[str, Any], rows: list[CreditRow],
                 sellable: set[int], *, received_on: datetime, currency: str) -> int | None:
        raise Refused("fake Brightpearl: goods-in notes are not modelled")

    # ------------------------------------------------------------------ Transfers
    def create_transfer(self, source_id: int, target_id: int, reference: str) -> int:
        self.attempts.append("create_transfer")
        tid = self._id()
        self.transfers[tid] = Transfer(tid, reference, 0)
        self._landed("create_transfer")
        return tid

    def transfer(self, transfer_id: int) -> Transfer | None:
        return self.transfers.get(transfer_id)

    def highest_transfer_id(self, hint: int = 0) -> int:
        return max(self.transfers, default=0)

    def find_transfer(self, reference: str, *, above: int) -> Transfer | None:
        return next((t for i, t in sorted(self.transfers.items()) if i > above and t.reference == reference), None)

    def create_goods_out(self, source_id: int, target_id: int, transfer_id: int, quantities: Mapping[int, int], *,
                         shipping_method_id: int | None, release_date: datetime) -> int:
        for pid, q in quantities.items():
            if self.on_hand_of.get((source_id, pid), 0) - self._allocated(source_id, pid) < q:
                raise Refused(f"fake Brightpearl: not enough of product {pid} in warehouse {source_id}")
        nid = self._id()
        self.notes[nid] = Note(nid, source_id, target_id, transfer_id, dict(quantities))
        t = self.transfers[transfer_id]
        self.transfers[transfer_id] = Transfer(t.transfer_id, t.reference, nid)
        self._landed("create_goods_out")
        return nid

    def goods_out(self, note_id: int) -> GoodsOutNote | None:
        n = self.notes.get(note_id)
        return None if n is None else GoodsOutNote(n.note_id, n.shipped, n.version, dict(n.quantities), n.steps)

    def ship(self, note_id: int, *, version: int, staff_id: int, at: datetime) -> None:
        n = self.notes[note_id]
        if n.shipped or version != n.version:
            raise Refused(f"fake Brightpearl: goods-out note {note_id} version {version} is stale (412)")
        n.shipped, n.version = True, n.version + 1
        for pid, q in n.quantities.items():
            self.on_hand_of[(n.source_id, pid)] = self.on_hand_of.get((n.source_id, pid), 0) - q
            self.in_transit_of[(n.target_id, pid)] = self.in_transit_of.get((n.target_id, pid), 0) + q
        self._landed("ship")

    def release(self, warehouse_id: int, product_id: int, quantity: int) -> None:
        self.attempts.append("release")
        key = (warehouse_id, product_id)
        if self.in_transit_of.get(key, 0) < quantity:
            raise Refused(f"fake Brightpearl: only {self.in_transit_of.get(key, 0)} of product {product_id} "
                          f"in quarantine of warehouse {warehouse_id}")
        self.in_transit_of[key] -= quantity
        self.on_hand_of[key] = self.on_hand_of.get(key, 0) + quantity
        self._landed("release")

    def delete_goods_out(self, note_id: int) -> None:
        if self.notes[note_id].shipped:
            raise Refused(f"fake Brightpearl: goods-out note {note_id} is shipped")
        del self.notes[note_id]
        self._landed("delete_goods_out")

    def undo_steps(self, note_id: int, steps: Iterable[str], *, version: int, staff_id: int, at: datetime) -> None:
        n = self.notes[note_id]
        n.steps = tuple(s for s in n.steps if s not in set(steps))
        n.version += 1

    def remove_stock(self, warehouse_id: int, product_id: int, quantity: int, *, reason: str) -> int:
        (nid,) = self.post_corrections(warehouse_id, [StockCorrection(product_id, -quantity, 0, reason)])
        return nid

    def add_stock(self, warehouse_id: int, product_id: int, quantity: int, *, reason: str,
                  cost: Mapping[str, Any]) -> int:
        (nid,) = self.post_corrections(warehouse_id, [StockCorrection(product_id, quantity, 0, reason,
                                                                      str(cost.get("currency", "GBP")))])
        return nid

    def figures(self, product_ids: Iterable[int], warehouse_id: int) -> dict[int, dict[str, int]]:
        out = {}
        for pid in set(product_ids):
            on_hand = self.on_hand_of.get((warehouse_id, pid), 0)
            allocated = self._allocated(warehouse_id, pid)
            out[pid] = {"onHand": on_hand, "inTransit": self.in_transit_of.get((warehouse_id, pid), 0),
                        "allocated": allocated, "inStock": on_hand - allocated}
        return out
