"""The pending-write protocol of inbound shipments: releases and stock corrections carry no key Brightpearl
could deduplicate on, so the intent and the figure it must move are saved on the shipment first; a lost
answer is settled by reading that figure again, never by writing twice.

Kinds: ``release`` / ``correct`` (receiving), and for a cancelled shipment ``return-release``
(FBA quarantine → FBA stock), ``return-out`` (FBA -q) and ``return-in`` (source +q).
"""

from __future__ import annotations

from collections.abc import Callable

from connector.domain.errors import UncertainWrite
from connector.domain.inbound import Line, Shipment
from connector.domain.settings import GlobalSettings
from connector.observability import logger
from connector.usecases.ports import Transfers


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

    def settle(self, record: Shipment, cfg: GlobalSettings) -> None:
        """Was the recorded write applied? Compare the figure it moves with the one saved."""
        assert cfg.fba_warehouse_id is not None
        p = record.pending
        if not p:
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
