"""The pending-write protocol of inbound shipments: releases and stock corrections carry no key Brightpearl
could deduplicate on, so the intent and the figure it must move are saved on the shipment first; a lost
answer is settled by reading that figure again, never by writing twice.

Kinds: ``release`` / ``correct`` (receiving), and for a cancelled shipment ``return-release``
(FBA quarantine → FBA stock), ``return-out`` (FBA -q) and ``return-in`` (source +q).

Receiving writes go as a **batch** (issue 14): the figures of all the shipment's products are read once
(by ID set), the whole batch's intent is saved once, every product's write is sent, and the outcome is
saved once — two saves of the shipment per batch instead of two per SKU. Each product's write moves only
that product's figure, so a batch cut short anywhere (a killed Lambda, a lost answer, the run's time
budget) is settled product by product from one read: what landed is recorded, the rest is sent again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from connector.domain.errors import UncertainWrite
from connector.domain.inbound import Line, Shipment
from connector.domain.settings import GlobalSettings
from connector.observability import logger
from connector.usecases.ports import Transfers

BATCH_PRODUCTS = 200  # products per pending batch: bounds the intent saved on the shipment item (~60 B each)
BATCH_KINDS = ("release", "correct")
# The one figure each batch kind moves (see ``settle``): a release lowers inTransit, a correction raises inStock.
_FIGURE = {"release": "inTransit", "correct": "inStock"}


class PendingWrites:
    def __init__(self, transfers: Transfers, save: Callable[[Shipment], None]) -> None:
        self.transfers = transfers
        self.save = save

    def write(self, record: Shipment, cfg: GlobalSettings, kind: str, line: Line, qty: int) -> bool:
        """Send one write of ``kind``; True when it was sent and answered (False: settled as landed)."""
        assert cfg.fba_warehouse_id is not None and cfg.inbound_source_warehouse_id is not None
        assert line.product_id is not None
        pid = line.product_id
        wid = cfg.inbound_source_warehouse_id if kind == "return-in" else cfg.fba_warehouse_id
        before = self.transfers.figures([pid], wid)[pid]
        record.pending = {"kind": kind, "sku": line.sku, "product_id": pid, "quantity": qty, "before": before,
                          "warehouse_id": wid}
        self.save(record)
        tid = record.stock_transfer_id or "-"
        try:
            if kind in ("release", "return-release"):
                self.transfers.release(wid, pid, qty)
            elif kind == "return-out":
                self.transfers.remove_stock(wid, pid, qty, reason=f"Amazon inbound {record.shipment_id} cancelled: "
                                                                  f"back to the source from transfer {tid} (connector)")
            elif kind == "return-in":
                self.transfers.add_stock(wid, pid, qty, cost={"currency": cfg.account_currency, "value": 0},
                                         reason=f"Amazon inbound {record.shipment_id} cancelled: back from the FBA "
                                                f"warehouse, transfer {tid} (connector)")
            else:
                self.transfers.add_stock(wid, pid, qty, cost={"currency": cfg.account_currency, "value": 0},
                                         reason=f"Amazon inbound {record.shipment_id}: received beyond transfer "
                                                f"{tid} (connector)")
        except UncertainWrite:
            self.settle(record, cfg)
            if record.pending is None:
                return False
            raise
        self._apply(record)
        return True

    # ------------------------------------------------------------------ batches (receiving)
    def write_batch(self, record: Shipment, cfg: GlobalSettings, kind: str, due: Sequence[tuple[Line, int]],
                    *, stop: Callable[[], bool] = lambda: False) -> tuple[int, bool]:
        """Send the receiving writes of ``kind`` for ``due`` (line, units); returns (writes answered, complete).

        ``complete`` is False when ``stop()`` said the run's time is up before every write was sent: what
        was sent is recorded, the rest is due again next run. A lost answer is settled from the figure at
        once; one that did not land is raised after the batch's outcome is saved.
        """
        assert kind in BATCH_KINDS, kind
        assert cfg.fba_warehouse_id is not None
        wid = cfg.fba_warehouse_id
        per_product: dict[int, dict[str, int]] = {}
        for line, qty in due:
            assert line.product_id is not None
            if qty > 0:
                skus = per_product.setdefault(line.product_id, {})
                skus[line.sku] = skus.get(line.sku, 0) + qty
        answered, complete = 0, True
        pids = list(per_product)  # in the lines' (SKU) order
        for start in range(0, len(pids), BATCH_PRODUCTS):
            if stop():
                return answered, False
            chunk = pids[start:start + BATCH_PRODUCTS]
            before = self.transfers.figures(chunk, wid)  # one read per 100 products, not one per write
            figure = _FIGURE[kind]
            # Compact entries [product, units, figure before, {sku: units}]: two SKUs of one product are one write.
            writes: list[list[Any]] = [[pid, sum(per_product[pid].values()), before[pid][figure], per_product[pid]]
                                       for pid in chunk]
            intent: dict[str, Any] = {"kind": "batch", "of": kind, "warehouse_id": wid, "writes": writes}
            record.pending = intent
            self.save(record)
            landed: list[list[Any]] = []
            lost: UncertainWrite | None = None
            for i, entry in enumerate(writes):
                if stop():
                    complete = False
                    break
                pid, qty = int(entry[0]), int(entry[1])
                try:
                    self._send_receiving(record, cfg, kind, pid, qty)
                except UncertainWrite as exc:
                    now = self.transfers.figures([pid], wid)[pid][figure]
                    if _applied(kind, entry, now):
                        landed.append(entry)
                    elif lost is None:
                        lost = exc
                    continue
                except Exception:
                    # Unknown outcome of this write and none sent after it: what was answered is recorded, this
                    # one and the rest stay pending, settled by the next run from the figures.
                    record.pending = {**intent, "writes": writes[i:]}
                    self._apply_batch(record, kind, landed)
                    self.save(record)
                    raise
                landed.append(entry)
                answered += 1
            record.pending = None
            self._apply_batch(record, kind, landed)
            self.save(record)
            if lost is not None:
                raise lost
            if not complete:
                return answered, False
        return answered, complete

    def _send_receiving(self, record: Shipment, cfg: GlobalSettings, kind: str, pid: int, qty: int) -> None:
        assert cfg.fba_warehouse_id is not None
        if kind == "release":
            self.transfers.release(cfg.fba_warehouse_id, pid, qty)
        else:
            tid = record.stock_transfer_id or "-"
            self.transfers.add_stock(cfg.fba_warehouse_id, pid, qty,
                                     cost={"currency": cfg.account_currency, "value": 0},
                                     reason=f"Amazon inbound {record.shipment_id}: received beyond transfer "
                                            f"{tid} (connector)")

    @staticmethod
    def _apply_batch(record: Shipment, kind: str, landed: Sequence[Sequence[Any]]) -> None:
        """Add what landed to the lines (in memory; the caller saves)."""
        for entry in landed:
            for sku, qty in dict(entry[3]).items():
                line = next(ln for ln in record.lines if ln.sku == sku)
                if kind == "release":
                    record.set_line(sku, released=line.released + int(qty))
                else:
                    record.set_line(sku, corrected=line.corrected + int(qty))

    def _settle_batch(self, record: Shipment) -> None:
        p = record.pending or {}
        kind, wid = str(p["of"]), int(p["warehouse_id"])
        writes = list(p.get("writes") or [])
        now = self.transfers.figures([int(e[0]) for e in writes], wid) if writes else {}
        landed = [e for e in writes if _applied(kind, e, now[int(e[0])][_FIGURE[kind]])]
        logger.warning("settled an unconfirmed batch of Brightpearl writes",
                       extra={"shipment": record.shipment_id, "kind": kind, "writes": len(writes),
                              "landed": len(landed)})
        record.pending = None
        self._apply_batch(record, kind, landed)
        self.save(record)

    # ------------------------------------------------------------------ settling
    def settle(self, record: Shipment, cfg: GlobalSettings) -> None:
        """Was the recorded write applied? Compare the figure it moves with the one saved."""
        assert cfg.fba_warehouse_id is not None
        p = record.pending
        if not p:
            return
        if p.get("kind") == "batch":
            self._settle_batch(record)
            return
        pid, qty, before = int(p["product_id"]), int(p["quantity"]), p["before"]
        now = self.transfers.figures([pid], int(p.get("warehouse_id") or cfg.fba_warehouse_id))[pid]
        in_stock_before = int(before.get("inStock", before["onHand"]))
        if p["kind"] in ("release", "return-release"):
            # Only transfers move inTransit; a release takes it down by its quantity.
            applied = now["inTransit"] <= int(before["inTransit"]) - qty
        elif p["kind"] == "return-out":
            applied = now["inStock"] <= in_stock_before - qty
        else:
            # inStock (onHand + allocated): FBA orders being allocated meanwhile do not change it,
            # where onHand would fall and make a correction that landed look missing.
            applied = now["inStock"] >= in_stock_before + qty
        logger.warning("settled an unconfirmed Brightpearl write",
                       extra={"shipment": record.shipment_id, "pending": p, "applied": applied, "now": now})
        if applied:
            self._apply(record)
        else:
            record.pending = None  # not applied: the next pass sends it again
            self.save(record)

    def _apply(self, record: Shipment) -> None:
        p = record.pending or {}
        line = next(ln for ln in record.lines if ln.sku == p["sku"])
        if p["kind"] == "release":
            record.set_line(line.sku, released=line.released + int(p["quantity"]))
        elif p["kind"] == "correct":
            record.set_line(line.sku, corrected=line.corrected + int(p["quantity"]))
        else:  # undoing a cancelled shipment: progress per SKU and step
            undo = dict(record.undo or {})
            done = dict(undo.get("done") or {})
            key = f"{line.sku}:{p['kind']}"
            done[key] = int(done.get(key, 0)) + int(p["quantity"])
            undo["done"] = done
            record.undo = undo
        record.pending = None
        self.save(record)


def _applied(kind: str, entry: Sequence[Any], now: int) -> bool:
    """Did the batch entry [product, units, figure before, skus] land, given the figure read now?"""
    qty, before = int(entry[1]), int(entry[2])
    # Only transfers move inTransit (a release takes it down by its units); inStock (onHand + allocated) is
    # not moved by FBA orders being allocated meanwhile, where onHand would be.
    return now <= before - qty if kind == "release" else now >= before + qty
