"""Customer returns → Brightpearl sales credits (and a goods-in note when the units are restocked).

Driven by the movements service for each return movement it records: the credit is created once
(looked up by its ``externalRef`` before any retry), saved on the movement at once, and the goods-in
note is looked up by its batch reference the same way. Brightpearl's request bodies are the adapter's.

``credit_amounts`` = ``refund`` (the default): the credit's rows are what Amazon refunded for the
order (Finances refund events, ``domain/refunds.py``), its externalRef the Amazon refund id
(``AMZ-RF-<OrderAdjustmentItemId>``), so whichever return (or re-read) reaches a refund first credits
it and every later one finds that credit. A return whose refund is not there yet waits (pending, retried
each run; after ``refund_wait_days`` failed with "waiting for refund", still retried). ``unit_price``:
the original order row's unit price times the returned units (the behaviour before Finances).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from dataclasses import replace
from datetime import datetime, timedelta

from connector.domain.errors import Conflict, Forbidden, PortError, Refused, Throttled, Unavailable, UncertainWrite
from connector.domain.movement_records import IndexUpdate, MovementRecord
from connector.domain.movements import APPLIED, DRY_RUN, FAILED, PENDING, SKIPPED, UNMATCHED, brightpearl_ref
from connector.domain.refunds import Refund, credit_total, refund_credit_rows
from connector.domain.returns import CreditError, CreditRow, credit_rows, restock_decision
from connector.domain.settings import GlobalSettings
from connector.observability import logger
from connector.usecases.ports import Finances, Movements, MovementStore

WAITING = "waiting for refund"
REFUND_KIND = "refund"  # a refund read from Amazon's refund events (with or without a return)
REFUND_SOURCE = "FINANCES_REFUND_EVENTS"
REFUND_ONLY = "REFUND"  # its channel: nothing physical came back (yet)
RECHECK_MAX = timedelta(hours=6)  # a waiting return asks Amazon at least this often
SCAN_KEY = "refund-scan|cursor"
SCAN_FIRST = timedelta(days=7)  # the first scan looks back as far as the returns reports do
# Amazon: "orders from the last 48 hours might not be included in financial events". A window is read once
# it is older than that, then again at 14 and 30 days: integrators see events appear in a window days or
# weeks after it was first read and re-read at 14 and 30 days (selling-partner-api-docs #3601), and
# deferred transactions are listed only once released (selling-partner-api-models #4316). Three reads of
# each window, never an hourly sliding overlap (listFinancialEvents pages through every event type of the
# account, shipments too: a 48-hour overlap would read a busy seller's day 48 times). Refund ids dedupe.
SCAN_DELAY = timedelta(hours=48)
SCAN_PASSES = (SCAN_DELAY, timedelta(days=14), timedelta(days=30))  # a window's age at each read
SCAN_MAX = timedelta(days=30)  # one window per pass and run; a longer gap is caught up run by run
SCAN_NARROW = timedelta(days=1)  # the window tried next when a longer one cannot be read in one run

Finish = Callable[..., bool]  # MovementService._finish: record a movement's new status (False: lost the race)


class SalesCredits:
    def __init__(self, store: MovementStore, brightpearl: Movements, resolve_sku: Callable[[str], int | None],
                 finish: Finish, note_ids: Callable[[list[int]], None], *, currency: str,
                 clock: Callable[[], datetime], finances: Finances | None = None) -> None:
        self.store = store
        self.bp = brightpearl
        self.resolve_sku = resolve_sku
        self.finish = finish
        self.note_ids = note_ids
        self.currency = currency
        self.clock = clock
        self.finances = finances

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
        except Forbidden as exc:
            self.finish(rec, FAILED, index, error=f"{exc}: grant the app the Finances role (Seller Central, "
                                                   "Develop Apps), or set refund_fallback=unit_price to credit "
                                                   "at the original unit price meanwhile; retried each run")
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
        returned = [(products[sku], q) for sku, q, _disp in lines]
        refund, note = None, ""
        if s.credit_amounts == "refund":
            if self._checked_recently(rec):
                self._wait(rec, index, order_ref, s)
                return
            try:
                refund = self._refund_for(rec, order_ref, {sku for sku, _q, _d in lines})
            except Forbidden as exc:
                if s.refund_fallback != "unit_price":
                    raise
                logger.warning("Finances not authorised: crediting at the unit price", extra={"key": rec.key})
                note = f"; credited at the original unit price (refund_fallback=unit_price): {exc}"
            else:
                if refund is None:
                    self._wait(rec, index, order_ref, s)
                    return
        if refund is not None:
            refund_products = {sku: self.resolve_sku(sku) for sku in refund.skus}
            unlinked = sorted(sku for sku, pid in refund_products.items() if pid is None)
            if unlinked:
                self.finish(rec, UNMATCHED, index, error=f"Amazon refund {refund.refund_id} of order {order_ref} "
                                                         f"names SKU(s) with no Brightpearl product: {unlinked}")
                return
            qty: dict[str, int] = {}
            for sku, q, _disp in lines:
                qty[sku] = qty.get(sku, 0) + q
            rows = refund_credit_rows(order, refund, {k: int(v) for k, v in refund_products.items() if v is not None},
                                      s.refund_nominal_codes, returned=qty)
            credit_ref = refund.credit_ref
            d["refund_id"], d["credit_ref"] = refund.refund_id, credit_ref
            note = (f"; Amazon refund {refund.refund_id}: {credit_total(rows)} {refund.currency or ''} credited "
                    f"in {len(rows)} row(s)").replace("  ", " ")
            if refund.fees():
                note += f" (Amazon fee adjustments {refund.fees()} not credited: between Amazon and the seller)"
        else:
            rows = credit_rows(order, returned)
            credit_ref = rec.ref
        # Receive only this return's units, never more than the credit row holds (a refund can cover
        # several returns of one order; each receives its own units against the one credit).
        restock_rows = self._restock_rows(rows, returned)
        warehouse = s.fba_warehouse_id if channel == "FBA" else s.returns_warehouse_id
        sellable_products = {products[sku] for sku, _q, disp in lines if disp == "SELLABLE"}
        ledger_raised = channel == "FBA" and any(
            o.kind == "customer_return" and o.status == APPLIED and o.quantity > 0
            and o.match_key == rec.match_key for o in self.store.by_sku(rec.sku))
        restock, why = restock_decision(channel=channel, restock_on=s.restock_returns,
                                        sellable=bool(sellable_products), warehouse_id=warehouse,
                                        ledger_raised=ledger_raised)
        if channel == REFUND_ONLY:
            restock, why = False, ("a refund without a return: credited, nothing restocked (a return read later "
                                   "restocks its units against this credit)")
        rec.product_id, rec.warehouse_id = returned[0][0], warehouse if restock else None
        d["order_bp_id"] = int(order_id)
        base = f"refund of order {order_ref} ({d.get('reference')})" if channel == REFUND_ONLY else \
            f"{channel} return of order {order_ref} ({d.get('reference')})"
        if s.dry_run:
            self.finish(rec, DRY_RUN, index, reason=f"{base}; dry run: would credit order {order_id} with "
                                                      f"{len(rows)} row(s){note}; {why}")
            return
        credit_id = d.get("credit_id") or self.bp.find_credit(credit_ref)
        if credit_id is None:
            try:
                credit_id = self.bp.create_credit(credit_ref, order, rows, placed_on=self.clock(),
                                                  currency=self.currency)
            except UncertainWrite:
                credit_id = self.bp.find_credit(credit_ref)
                if credit_id is None:
                    raise
        d["credit_id"] = int(credit_id)
        rec.brightpearl_ids = [int(credit_id)]
        self.store.save(rec)  # the credit exists: never create it again, whatever happens next
        if restock and warehouse is not None:
            goods_in = d.get("goods_in_id") or self.bp.find_goods_in(int(credit_id), rec.ref)
            if goods_in is None:
                try:
                    goods_in = self.bp.goods_in(int(credit_id), rec.ref, warehouse, order, restock_rows,
                                                sellable_products, received_on=self.clock(), currency=self.currency)
                except UncertainWrite:
                    goods_in = self.bp.find_goods_in(int(credit_id), rec.ref)
                    if goods_in is None:
                        raise
                if goods_in is None:
                    # Nothing to receive against the credit's rows: never mark it restocked, or the
                    # ledger's CustomerReturns row (which would raise the stock) is skipped too.
                    self.finish(rec, APPLIED, index, reason=f"{base}; credit {credit_id}{note}; no credit row to "
                                                            "receive against, not restocked")
                    return
            d["goods_in_id"], d["restocked"] = int(goods_in), True
            self.note_ids([int(goods_in)])  # goods notes share one id sequence with corrections
            rec.brightpearl_ids = [int(credit_id), int(goods_in)]
        self.finish(rec, APPLIED, index, reason=f"{base}; credit {credit_id}{note}; {why}")

    # ------------------------------------------------------------------ refunds
    def _refund_for(self, rec: MovementRecord, order_ref: str, skus: set[str]) -> Refund | None:
        """The Amazon refund this return is credited from: the one it chose before (a retry, or the refund a
        scan read), else the oldest refund of its SKUs no other return of the SKU has chosen. None: no refund
        (listed) yet."""
        if self.finances is None:
            raise Forbidden("no Finances API is configured for this connector")
        refunds = [r for r in self.finances.refunds(order_ref) if r.skus & skus]
        rec.detail["refund_checked"] = self.clock().isoformat()
        chosen = rec.detail.get("refund_id")
        if chosen:
            # Only that refund: Amazon's by-order list can lag its by-date list (or drop an event for a while),
            # and taking another refund of the order here would credit that one and never this one.
            return next((r for r in refunds if r.refund_id == chosen), None)
        taken = {str(o.detail.get("refund_id")) for o in self.store.by_sku(rec.sku)
                 if o.key != rec.key and o.kind == rec.kind and o.detail.get("refund_id")}
        return next((r for r in refunds if r.refund_id not in taken), None)

    def _checked_recently(self, rec: MovementRecord) -> bool:
        """A return still waiting asks Amazon again after a quarter of the time it has waited (at least an
        hour, at most 6 hours): hourly runs over many waiting returns stay within Finances' 0.5 calls/s."""
        checked = rec.detail.get("refund_checked")
        if not checked or rec.detail.get("refund_id"):
            return False
        now = self.clock()
        waited = now - rec.created_at if rec.created_at else timedelta(0)
        interval = min(RECHECK_MAX, max(timedelta(hours=1), waited / 4))
        return now - datetime.fromisoformat(str(checked)) < interval - timedelta(minutes=5)

    def _wait(self, rec: MovementRecord, index: IndexUpdate, order_ref: str, s: GlobalSettings) -> None:
        since = rec.created_at
        waited = self.clock() - since if since else timedelta(0)
        what = (f"{WAITING}: Amazon has posted no refund for order {order_ref} (SKU {rec.sku}) yet; the credit is "
                f"written when it does (credit_amounts=refund)")
        if waited >= timedelta(days=s.refund_wait_days):
            # Operator-visible (the digest lists failed movements) but still retried: a late refund credits.
            self.finish(rec, FAILED, index, error=f"{what}; waited {waited.days} day(s), more than refund_wait_days="
                                                  f"{s.refund_wait_days}: check the refund in Seller Central")
        else:
            self.finish(rec, PENDING, index, error=what)

    @staticmethod
    def _restock_rows(rows: list[CreditRow], returned: list[tuple[int, int]]) -> list[CreditRow]:
        left: dict[int, int] = {}
        for pid, q in returned:
            left[pid] = left.get(pid, 0) + q
        out = []
        for r in rows:
            if r.product_id is None or left.get(r.product_id, 0) <= 0:
                continue
            take = min(r.quantity, left[r.product_id])
            left[r.product_id] -= take
            out.append(replace(r, quantity=take))
        return out

    # ------------------------------------------------------------------ refunds without a return
    def scan_refunds(self, s: GlobalSettings, index: IndexUpdate) -> int:
        """Read the refunds Amazon posted since the last scan, once they are 48 hours old and again at 14 and 30
        days (``SCAN_PASSES``: Amazon lists some events late), and credit each once (a refund movement per
        refund event, keyed by its refund id): a refund without a return is credited without restock; a
        refund whose return is read first (or later) shares that return's credit, looked up by the refund
        id. Returns the number of refunds seen for the first time."""
        if s.credit_amounts != "refund" or self.finances is None:
            return 0
        now = self.clock()
        cursor = self.store.get(SCAN_KEY)
        if cursor is None:
            cursor = MovementRecord(key=SCAN_KEY, source=REFUND_SOURCE, kind="refund_scan", sku="-", created_at=now,
                                    status=SKIPPED, reason="how far Amazon's refund events have been read")
            if not self.store.create(cursor):
                return 0  # another worker started the first scan
        # Every pass starts where the first one did (a cursor from before the later passes too).
        start = (cursor.created_at or now) - SCAN_DELAY - SCAN_FIRST
        new, moved = 0, False
        for age in SCAN_PASSES:
            field = _pass_field(age)
            last = cursor.detail.get(field)
            after = datetime.fromisoformat(last) if last else start
            before = min(now - age, after + SCAN_MAX)
            if before <= after:
                continue
            read = self._read_window(after, before)
            if read is None:
                break  # not authorised, throttled or down: the later passes wait for the next run too
            refunds, before = read
            new += self._credit_new(refunds, s, index, now)
            if not s.dry_run:  # a dry run's windows are read again once it is off
                cursor.detail[field] = before.isoformat()
                moved = True
        if moved:
            cursor.updated_at = now
            with suppress(Conflict):  # another scan moved it: the next run reads from there (keys keep it idempotent)
                self.store.save(cursor)
        return new

    def _read_window(self, after: datetime, before: datetime) -> tuple[list[Refund], datetime] | None:
        """The refunds posted in ``[after, before)`` or, when that window cannot be read in one run (a long
        gap, a busy seller: more pages than the adapter reads), in its first day; with the end read to.
        None: not read this run (logged why)."""
        assert self.finances is not None
        while True:
            try:
                return self.finances.refunds_posted(after, before), before
            except Unavailable as exc:
                if before - after <= SCAN_NARROW:
                    logger.info("refund scan deferred to the next run", extra={"error": str(exc)})
                    return None
                before = after + SCAN_NARROW
            except Forbidden as exc:
                logger.warning("refunds without a return not read: Finances not authorised",
                               extra={"error": str(exc)})
                return None
            except (Throttled, Refused) as exc:
                logger.info("refund scan deferred to the next run", extra={"error": str(exc)})
                return None

    def _credit_new(self, refunds: list[Refund], s: GlobalSettings, index: IndexUpdate, now: datetime) -> int:
        """Credit each refund not seen before (its key: the refund id); the number of new ones."""
        new = 0
        for refund in refunds:
            rec = self._refund_record(refund, now)
            if rec is None:
                continue
            if self.store.create(rec):
                new += 1
                self.drive(rec, s, index)  # unfinished ones are in the retry index from here
            elif not s.dry_run:
                seen = self.store.get(rec.key)
                if seen is not None and seen.status == DRY_RUN:
                    self.drive(seen, s, index)  # read during a dry run: applied now that it is over
        return new

    @staticmethod
    def _refund_record(refund: Refund, now: datetime) -> MovementRecord | None:
        if not refund.order_id or not refund.items:
            return None
        key = f"refund|{refund.order_id}|{refund.refund_id}"
        lines = [[it.sku, it.quantity or 1, "REFUND_ONLY"] for it in refund.items]
        return MovementRecord(
            key=key, source=REFUND_SOURCE, kind=REFUND_KIND, sku=refund.items[0].sku, created_at=now, status=PENDING,
            quantity=0, ref=brightpearl_ref(key), reason=f"Amazon refund {refund.refund_id} of order {refund.order_id}",
            detail={"channel": REFUND_ONLY, "order_id": refund.order_id, "reference": refund.refund_id,
                    "refund_id": refund.refund_id, "posted": refund.posted, "lines": lines})


def _pass_field(age: timedelta) -> str:
    """The cursor's field for the pass reading windows ``age`` old (the first pass keeps its old name)."""
    return "posted_before" if age == SCAN_DELAY else f"posted_before_{age.days}d"
