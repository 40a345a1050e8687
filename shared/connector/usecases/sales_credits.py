"""Customer returns → Brightpearl sales credits (and a goods-in note when the units are restocked).

Driven by the movements service for each return movement it records: the credit is created once
(looked up by its ``externalRef`` before any retry), saved on the movement at once, and the goods-in
note is looked up by its batch reference the same way. Brightpearl's request bodies are the adapter's.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from connector.domain.errors import PortError, Throttled, Unavailable, UncertainWrite
from connector.domain.movement_records import IndexUpdate, MovementRecord
from connector.domain.movements import APPLIED, DRY_RUN, FAILED, PENDING, UNMATCHED
from connector.domain.returns import CreditError, credit_rows, restock_decision
from connector.domain.settings import GlobalSettings
from connector.usecases.ports import Movements, MovementStore

Finish = Callable[..., bool]  # MovementService._finish: record a movement's new status (False: lost the race)


class SalesCredits:
    def __init__(self, store: MovementStore, brightpearl: Movements, resolve_sku: Callable[[str], int | None],
                 finish: Finish, note_ids: Callable[[list[int]], None], *, currency: str,
                 clock: Callable[[], datetime]) -> None:
        self.store = store
        self.bp = brightpearl
        self.resolve_sku = resolve_sku
        self.finish = finish
        self.note_ids = note_ids
        self.currency = currency
        self.clock = clock

    def drive(self, rec: MovementRecord, s: GlobalSettings, index: IndexUpdate) -> None:
        d = rec.detail
        channel, order_ref = d["channel"], d["order_id"]
        lines: list[tuple[str, int, str]] = [(str(a), int(b), str(c)) for a, b, c in d["lines"]]
        products: dict[str, int] = {}
        for sku, _q, _disp in lines:
            pid = self.resolve_sku(sku)
            if pid is None:
                self.finish(rec, UNMATCHED, index, error=f"no Brightpearl product linked to Amazon SKU {sku}")
                return
            products[sku] = pid
        try:
            self._credit(rec, s, index, channel, order_ref, lines, products)
        except CreditError as exc:
            self.finish(rec, FAILED, index, error=str(exc))
        except UncertainWrite as exc:
            self.finish(rec, PENDING, index, error=f"no answer from Brightpearl; looked up by reference next run: "
                                                    f"{exc}")
        except (Throttled, Unavailable) as exc:
            self.finish(rec, PENDING, index, error=f"will retry: {exc}")
        except PortError as exc:
            self.finish(rec, FAILED, index, error=str(exc))

    def _credit(self, rec: MovementRecord, s: GlobalSettings, index: IndexUpdate, channel: str, order_ref: str,
                lines: list[tuple[str, int, str]], products: dict[str, int]) -> None:
        d = rec.detail
        assert rec.ref
        order_id = d.get("order_bp_id") or self.bp.find_sales_order(order_ref, s.order_lookup_field)
        if order_id is None:
            self.finish(rec, PENDING, index, error=f"Amazon order {order_ref} is not in Brightpearl yet "
                                                    f"(looked up by {s.order_lookup_field}); retried")
            return
        order = self.bp.order(int(order_id))
        if order is None:
            self.finish(rec, PENDING, index, error=f"Brightpearl order {order_id} could not be read; retried")
            return
        rows = credit_rows(order, [(products[sku], q) for sku, q, _disp in lines])
        warehouse = s.fba_warehouse_id if channel == "FBA" else s.returns_warehouse_id
        sellable_products = {products[sku] for sku, _q, disp in lines if disp == "SELLABLE"}
        ledger_raised = channel == "FBA" and any(
            o.kind == "customer_return" and o.status == APPLIED and o.quantity > 0
            and o.match_key == rec.match_key for o in self.store.by_sku(rec.sku))
        restock, why = restock_decision(channel=channel, restock_on=s.restock_returns,
                                        sellable=bool(sellable_products), warehouse_id=warehouse,
                                        ledger_raised=ledger_raised)
        rec.product_id, rec.warehouse_id = rows[0].product_id, warehouse if restock else None
        d["order_bp_id"] = int(order_id)
        base = f"{channel} return of order {order_ref} ({d.get('reference')})"
        if s.dry_run:
            self.finish(rec, DRY_RUN, index, reason=f"{base}; dry run: would credit order {order_id} with "
                                                      f"{len(rows)} row(s); {why}")
            return
        credit_id = d.get("credit_id") or self.bp.find_credit(rec.ref)
        if credit_id is None:
            try:
                credit_id = self.bp.create_credit(rec.ref, order, rows, placed_on=self.clock(),
                                                  currency=self.currency)
            except UncertainWrite:
                credit_id = self.bp.find_credit(rec.ref)
                if credit_id is None:
                    raise
        d["credit_id"] = int(credit_id)
        rec.brightpearl_ids = [int(credit_id)]
        self.store.save(rec)  # the credit exists: never create it again, whatever happens next
        if restock and warehouse is not None:
            goods_in = d.get("goods_in_id") or self.bp.find_goods_in(int(credit_id), rec.ref)
            if goods_in is None:
                try:
                    goods_in = self.bp.goods_in(int(credit_id), rec.ref, warehouse, order, rows, sellable_products,
                                                received_on=self.clock(), currency=self.currency)
                except UncertainWrite:
                    goods_in = self.bp.find_goods_in(int(credit_id), rec.ref)
                    if goods_in is None:
                        raise
                if goods_in is None:
                    # Nothing to receive against the credit's rows: never mark it restocked, or the
                    # ledger's CustomerReturns row (which would raise the stock) is skipped too.
                    self.finish(rec, APPLIED, index, reason=f"{base}; credit {credit_id}; no credit row to "
                                                            "receive against, not restocked")
                    return
            d["goods_in_id"], d["restocked"] = int(goods_in), True
            self.note_ids([int(goods_in)])  # goods notes share one id sequence with corrections
            rec.brightpearl_ids = [int(credit_id), int(goods_in)]
        self.finish(rec, APPLIED, index, reason=f"{base}; credit {credit_id}; {why}")
