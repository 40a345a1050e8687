"""An inbound shipment's Brightpearl side: the stock transfer and its goods-out note, created once each
(the high-water mark and the reference are saved before the create, so a lost answer is looked up, not
sent again), and the note shipped when Amazon shows the goods on their way."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime

from connector.domain.errors import Refused, UncertainWrite
from connector.domain.inbound import (
    SHIPPED_RANK,
    Line,
    Shipment,
    plan_transfer,
    rank,
)
from connector.domain.inbound_emails import held_email_due
from connector.domain.settings import GlobalSettings
from connector.domain.shipments import Transfer
from connector.observability import logger
from connector.usecases.inbound_notices import Notices
from connector.usecases.ports import ShipmentStore, Transfers

Count = Callable[[str], None]  # RunReport.count: one Brightpearl write of this kind was made


class Unconfirmed(RuntimeError):
    """A Brightpearl write got no answer and a read-back could not confirm it: the next run resolves it."""


def transfer_reference(shipment_id: str) -> str:
    return f"AMZ-IN-{shipment_id}"


def lines_of(record: Shipment) -> list[Line]:
    return list(record.lines)


def store_lines(record: Shipment, lines: Iterable[Line]) -> None:
    record.lines = list(lines)


class TransferSteps:
    def __init__(self, transfers: Transfers, records: ShipmentStore, save: Callable[[Shipment], None],
                 notices: Notices, now: Callable[[], datetime]) -> None:
        self.transfers = transfers
        self.records = records
        self.save = save
        self.notices = notices
        self.now = now

    def ensure(self, record: Shipment, cfg: GlobalSettings, count: Count) -> bool:
        """Stock transfer + goods-out note exist for the shipment; False while held for stock."""
        assert cfg.inbound_source_warehouse_id is not None and cfg.fba_warehouse_id is not None
        source, target = cfg.inbound_source_warehouse_id, cfg.fba_warehouse_id
        ref = transfer_reference(record.shipment_id)
        if record.stock_transfer_id is None:
            if not record.transfer_attempted:
                if not self._plan(record, cfg):
                    return False
                # The high-water mark is taken before the POST: a transfer whose answer is lost has a
                # higher id, so it is found by reading upwards from here, whatever the account's history.
                record.transfer_hwm = self.transfers.highest_transfer_id(self.records.max_transfer_id())
                record.transfer_attempted, record.reference = True, ref
                record.source_warehouse_id, record.target_warehouse_id = source, target
                self.save(record)  # before the POST: from here on, look the reference up before creating
                existing = None
            else:
                existing = self.find(record)
            if existing is None:
                try:
                    tid = self.transfers.create_transfer(source, target, ref)
                    count("stock-transfer")
                except (UncertainWrite, Refused) as exc:
                    # Lost answer, or "reference exists" from an earlier lost answer: it is there or not.
                    existing = self.find(record)
                    if existing is None:
                        raise Unconfirmed(f"stock transfer {ref} not created: {exc}") from exc
                    tid = existing.transfer_id
            else:
                tid = existing.transfer_id
            record.stock_transfer_id = tid
            if existing is not None and existing.goods_out_note_id:
                record.goods_out_note_id = existing.goods_out_note_id
            self.save(record)

        if record.goods_out_note_id is None:
            tid = int(record.stock_transfer_id)
            current = self.transfers.transfer(tid)
            if current is not None and current.goods_out_note_id:
                record.goods_out_note_id = current.goods_out_note_id
            else:
                quantities = self._quantities(lines_of(record))
                try:
                    gid = self.transfers.create_goods_out(source, target, tid, quantities,
                                                          shipping_method_id=cfg.shipping_method_id,
                                                          release_date=self.now())
                    count("external-transfer")
                except UncertainWrite as exc:
                    current = self.transfers.transfer(tid)
                    if current is None or not current.goods_out_note_id:
                        raise Unconfirmed(f"goods-out note of transfer {tid} not confirmed: {exc}") from exc
                    gid = current.goods_out_note_id
                record.goods_out_note_id = gid
            self.save(record)
        return True

    def _plan(self, record: Shipment, cfg: GlobalSettings) -> bool:
        """Decide the transfer's quantities from the source's on-hand; store them (and shortfalls)."""
        assert cfg.inbound_source_warehouse_id is not None
        lines = lines_of(record)
        pids = {ln.product_id for ln in lines if ln.product_id is not None}
        figures = self.transfers.figures(pids, cfg.inbound_source_warehouse_id) if pids else {}
        # 'hold' only makes sense while the goods have not left: once Amazon shows the shipment shipped,
        # the transfer carries what Brightpearl has and the rest is mailed as short.
        policy = cfg.transfer_policy if rank(record.status) < SHIPPED_RANK else "available"
        plan = plan_transfer(lines, {pid: f["onHand"] for pid, f in figures.items()}, policy)
        if plan.hold:
            if plan.short:
                event = held_email_due(plan.short)
                self.notices.send(record, event, self.notices.render(record, event, short=plan.short))
            logger.info("transfer held for stock", extra={"shipment": record.shipment_id, "short": plan.short})
            return False
        store_lines(record, [replace(ln, transferred=plan.quantities.get(ln.sku, 0), short=plan.short.get(ln.sku, 0))
                             for ln in lines])
        return True

    @staticmethod
    def _quantities(lines: Iterable[Line]) -> dict[int, int]:
        out: dict[int, int] = {}
        for ln in lines:
            if ln.product_id is not None and ln.transferred > 0:
                out[ln.product_id] = out.get(ln.product_id, 0) + ln.transferred
        return out

    def find(self, record: Shipment) -> Transfer | None:
        """The shipment's transfer, read upwards from the high-water mark saved before the create (ids only
        grow). Records from before the mark existed fall back to a little below our own highest transfer."""
        ref = transfer_reference(record.shipment_id)
        above = (int(record.transfer_hwm) if record.transfer_hwm is not None
                 else max(0, self.records.max_transfer_id() - 10))
        return self.transfers.find_transfer(ref, above=above)

    def ship(self, record: Shipment, cfg: GlobalSettings, count: Count) -> None:
        assert record.goods_out_note_id is not None, f"shipment {record.shipment_id} has no goods-out note"
        gid = record.goods_out_note_id
        note = self.transfers.goods_out(gid)
        if note is None:
            raise RuntimeError(f"goods-out note {gid} of shipment {record.shipment_id} not found in Brightpearl")
        if not note.shipped:
            try:
                self.transfers.ship(gid, version=note.version, staff_id=cfg.staff_contact_id, at=self.now())
                count("goods-out-shipped")
            except (UncertainWrite, Refused) as exc:
                # Lost answer, 412 (someone else moved the note on) or "frozen" (already shipped): read it.
                again = self.transfers.goods_out(gid)
                if again is None or not again.shipped:
                    raise Unconfirmed(f"goods-out note {gid} not shipped: {exc}") from exc
        record.bp_shipped = True
        self.save(record)
