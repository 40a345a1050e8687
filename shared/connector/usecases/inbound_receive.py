"""An inbound shipment's stock moves: releases and corrections as Amazon receives, and the undo of a
cancelled shipment (goods-out note deleted, or the units Amazon did not receive brought back). Each
write is a tracked one (``inbound_pending``). Part of
:class:`connector.usecases.inbound_shipments.InboundShipments`; docs/inbound-shipments.md.
"""


from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from connector.domain.errors import NotFound, Refused, UncertainWrite
from connector.domain.inbound import (
    Line,
    Shipment,
    corrections_due,
    releases_due,
)
from connector.domain.settings import GlobalSettings
from connector.usecases.inbound_notices import Notices
from connector.usecases.inbound_pending import PendingWrites
from connector.usecases.inbound_transfer import TransferSteps, Unconfirmed, lines_of
from connector.usecases.ports import ShipmentStore, Transfers


@dataclass
class RunReport:
    seen: int = 0
    processed: int = 0
    skipped_final: int = 0
    failed: list[str] = field(default_factory=list)
    writes: dict[str, int] = field(default_factory=dict)
    emails: int = 0
    resume_from: str | None = None  # stopped for time: the first shipment not finished this run
    continued: bool = False  # the next run was asked for at once
    skipped_busy: bool = False  # a continuation chain is running: this scheduled run did nothing

    def count(self, what: str, n: int = 1) -> None:
        self.writes[what] = self.writes.get(what, 0) + n


class ReceiveAndCancel:
    """Releases and corrections (``_receive``), and cancellation (``_cancel``)."""

    transfers: Transfers
    records: ShipmentStore
    now: Callable[[], datetime]
    pending: PendingWrites
    notices: Notices
    transfer: TransferSteps
    _remaining: Callable[[], float]
    _margins: tuple[float, float]

    def _time_left(self, margin: float) -> bool:
        return self._remaining() >= margin


    def _save(self, record: Shipment) -> None:
        record.updated_at = self.now()
        self.records.save(record)

    # ------------------------------------------------------------------ receive: release, correct
    def _receive(self, record: Shipment, cfg: GlobalSettings, report: RunReport) -> None:
        """Releases, then corrections, each as one batch (figures read once, two saves; inbound_pending)."""
        if record.bp_shipped:
            self._batch(record, cfg, "release", releases_due(lines_of(record)), report)
        if cfg.over_receipt == "correct" and report.resume_from is None:
            self._batch(record, cfg, "correct", corrections_due(lines_of(record)), report)

    def _batch(self, record: Shipment, cfg: GlobalSettings, kind: str, due: Mapping[str, int],
               report: RunReport) -> None:
        if not due:
            return
        by_sku = {ln.sku: ln for ln in lines_of(record)}
        sent, complete = self.pending.write_batch(record, cfg, kind, [(by_sku[sku], q) for sku, q in due.items()],
                                                  stop=lambda: not self._time_left(self._margins[1]))
        if sent:
            report.count("quarantine-release" if kind == "release" else "stock-correction", sent)
        if not complete:
            report.resume_from = record.shipment_id

    def _write(self, record: Shipment, cfg: GlobalSettings, kind: str, line: Line, qty: int,
               report: RunReport) -> None:
        if self.pending.write(record, cfg, kind, line, qty):
            report.count("quarantine-release" if kind.endswith("release") else "stock-correction")

    # ------------------------------------------------------------------ cancelled
    def _cancel(self, record: Shipment, cfg: GlobalSettings, report: RunReport) -> None:
        """Cancelled or deleted at Amazon: undo what this shipment did in Brightpearl, then mail what was undone.

        Not shipped: the goods-out note is deleted (Goods-Out Note DELETE), which frees the units it
        allocated in the source warehouse. Shipped: the units of this transfer Amazon did not receive are
        brought back from the FBA warehouse's quarantine to the source warehouse: released (as a receipt
        would), then a correction pair (FBA -q, source +q). Every write is a tracked one (intent saved
        first, a lost answer settled by the figure it moves), and progress is kept on the record (``undo``),
        so a retry or a killed run never undoes twice. Units Amazon received stay where they are.
        """
        undo: dict[str, Any] = dict(record.undo or {})
        if record.stock_transfer_id is None and record.transfer_attempted:
            found = self.transfer.find(record)  # a create whose answer was lost may still have landed
            if found is not None:
                record.stock_transfer_id = found.transfer_id
                record.goods_out_note_id = found.goods_out_note_id or None
                self._save(record)
        tid = record.stock_transfer_id
        notes: list[str] = []
        if tid is None:
            notes.append("No Brightpearl transfer had been created for it; nothing to undo.")
        elif record.goods_out_note_id is None and not record.bp_shipped:
            current = self.transfers.transfer(int(tid))
            if current is not None and current.goods_out_note_id:
                record.goods_out_note_id = current.goods_out_note_id
                self._save(record)
            else:
                notes.append(f"Brightpearl transfer #{tid} had no goods-out note yet; nothing was allocated.")
        if tid is not None and record.goods_out_note_id is not None and not record.bp_shipped:
            gid = record.goods_out_note_id
            note = self.transfers.goods_out(gid)
            if note is not None and note.shipped:
                record.bp_shipped = True  # shipped in Brightpearl by hand meanwhile: bring the units back
                self._save(record)
            else:
                if note is not None and note.steps:
                    # Printed, picked or packed (by hand): Brightpearl deletes a note only once those are undone.
                    try:
                        self.transfers.undo_steps(gid, note.steps, version=note.version,
                                                  staff_id=cfg.staff_contact_id, at=self.now())
                        report.count("goods-out-steps-undone")
                    except (UncertainWrite, Refused):
                        pass  # a lost answer or a 412 (moved on meanwhile): the DELETE below tells
                if note is not None:
                    try:
                        self.transfers.delete_goods_out(gid)
                        report.count("goods-out-deleted")
                    except (UncertainWrite, NotFound):
                        pass  # settled by reading the note again
                    except Refused as exc:
                        again = self.transfers.goods_out(gid)
                        if again is not None:
                            undo["refused"] = str(exc)[:300]
                            record.undo = undo
                            self._save(record)
                            raise Unconfirmed(f"goods-out note {gid} could not be deleted: {exc}") from exc
                    if self.transfers.goods_out(gid) is not None:
                        raise Unconfirmed(f"goods-out note {gid} of shipment {record.shipment_id} not deleted")
                freed = sum(ln.transferred for ln in lines_of(record))
                undo.update(note_deleted=gid, freed=freed)
                record.undo = undo
                self._save(record)
                notes.append(f"Goods-out note #{gid} of Brightpearl transfer #{tid} ({record.reference}) was deleted: "
                             f"{freed} allocated unit(s) are free again in the source warehouse.")
        if tid is not None and record.bp_shipped:
            if "back" not in (record.undo or {}):
                self._receive(record, cfg, report)  # what Amazon did receive is released first, as usual
                if report.resume_from is not None:
                    return  # cut short by the time budget: the undo waits for every receipt to be released
            back = self._bring_back(record, cfg, report)
            if back:
                notes.append(f"Brightpearl transfer #{tid} had been shipped: "
                             + ", ".join(f"{sku} {q}" for sku, q in sorted(back.items()))
                             + " unit(s) Amazon did not receive were released from the FBA warehouse's quarantine "
                             "and moved back to the source warehouse by a stock correction pair.")
            else:
                notes.append(f"Brightpearl transfer #{tid} had been shipped and Amazon received every unit; "
                             "nothing to bring back.")
        report.emails += self.notices.send_due(record, note=" ".join(notes))
        record.finished = True
        self._save(record)

    def _bring_back(self, record: Shipment, cfg: GlobalSettings, report: RunReport) -> dict[str, int]:
        """Per SKU, the units of this transfer still in FBA quarantine: release, then FBA -q, source +q."""
        assert cfg.fba_warehouse_id is not None and cfg.inbound_source_warehouse_id is not None
        undo: dict[str, Any] = dict(record.undo or {})
        if "back" not in undo:
            # Fixed once, before the first write, so later reads of Amazon cannot change what is undone.
            undo["back"] = {ln.sku: max(0, ln.transferred - ln.released) for ln in lines_of(record)
                            if ln.product_id is not None and ln.transferred > ln.released}
            undo["done"] = {}
            record.undo = undo
            self._save(record)
        for sku, qty in dict(undo["back"]).items():
            line = next(ln for ln in lines_of(record) if ln.sku == sku)
            for step in ("return-release", "return-out", "return-in"):
                done = (record.undo or {}).get("done", {}).get(f"{sku}:{step}", 0)
                if done < qty:
                    self._write(record, cfg, step, line, qty - done, report)
                    if (record.undo or {}).get("done", {}).get(f"{sku}:{step}", 0) < qty:
                        # A lost answer settled as not applied: stop here, so the steps stay in order and the
                        # shipment is not finished with its undo incomplete; the next run sends it again.
                        raise Unconfirmed(f"{step} of {sku} for cancelled shipment {record.shipment_id} "
                                          "not applied; retried next run")
        return {sku: int(q) for sku, q in undo["back"].items() if q}

