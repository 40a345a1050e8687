"""Amazon report rows → Brightpearl stock corrections and sales credits, exactly once, audited.

Each source row becomes a movement record keyed by its natural key (``domain.movements``). The record is
created once (conditional write), then *driven*: the product link is resolved, the double-count rules
are applied, and the Brightpearl write is made with the movement's reference in it. The record says at
every step what happened and why, so the same row read again (overlapping windows, replayed
notifications, Lambda retries) finds its record and does nothing more, and a crash between the
Brightpearl write and the record is repaired by looking Brightpearl up by that reference before writing
again. Movements that cannot finish now (no product link, order not in Brightpearl yet, Brightpearl
refused or did not answer) stay in a retry index and are driven again on the next run.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from connector.domain.errors import Conflict, PortError, Refused, Throttled, UncertainWrite
from connector.domain.flatfile import LineTally
from connector.domain.movement_records import IndexUpdate, MovementRecord
from connector.domain.movements import (
    APPLIED,
    DRY_RUN,
    FAILED,
    FINAL,
    IN_FLIGHT,
    PENDING,
    QUARANTINED,
    RETRY,
    SKIPPED,
    UNMATCHED,
    Correction,
    DeemedClaims,
    Quarantine,
    StockChange,
    StockCorrection,
    batches,
    brightpearl_ref,
    net_pairs,
)
from connector.domain.returns import (
    CustomerReturn,
    ledger_return_decision,
)
from connector.domain.settings import GlobalSettings
from connector.observability import logger
from connector.usecases.ports import Finances, Movements, MovementStore
from connector.usecases.sales_credits import REFUND_KIND, SalesCredits

CORRECTIONS_PER_REQUEST = 100
# Rows read, looked up (10 BatchGetItem calls), created and driven together; their corrections are netted
# within it. Nothing of a chunk is kept once it is done: memory does not grow with the report.
INGEST_CHUNK = 1000
# The report line tally's bucket for the lines an earlier invocation of the same report job recorded.
EARLIER = "recorded by an earlier invocation of this report job (its lines: detail.lines_before)"
RETURN_KIND = "return"


SkuResolver = Callable[[str], int | None]
# Many SKUs at once → {sku: product id} for those linked (absent: unlinked). Optional; one at a time without it.
SkuBatchResolver = Callable[[Collection[str]], dict[str, int]]


# A movement marked in flight is being posted by the worker that marked it (which may be waiting on
# the shared governor); other workers leave it alone this long before settling it by reference.
IN_FLIGHT_LEASE = timedelta(minutes=15)

@dataclass
class Summary:
    rows: int = 0
    recorded: int = 0
    seen_before: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    lines: LineTally = field(default_factory=LineTally)
    stopped_at: int | None = None  # items consumed when the ingest was stopped before the end (``stop``)

    def count(self, status: str) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1


@dataclass
class _Intent:
    rec: MovementRecord
    warehouse_id: int
    product_id: int
    quantity: int
    lines: int = 1  # physical report lines this movement stands for (accounting)


def account(tally: LineTally, rec: MovementRecord | None, n: int, line: int) -> None:
    """Book ``n`` report lines under what became of their movement in this run."""
    if rec is None:
        tally.wait("unknown", n)  # recorded by another worker between our create and read
    elif rec.status == APPLIED:
        tally.applied += n
    elif rec.status == SKIPPED:
        tally.skip(f"{rec.kind}: nothing to write (the movement says why)", n)
    elif rec.status == QUARANTINED:
        # This report's line: a record seen before (the same bad row twice, a re-read report) carries the
        # line it was first recorded from, and every line must be named by its own number.
        tally.quarantine(line or rec.line or 0, rec.reason or "quarantined", n)
    else:
        tally.wait(rec.status, n)


def _take_claim(key: str, units: int, claim: str, claims: DeemedClaims) -> int:
    return claims.apply_loss(key, units) if claim == "loss" else claims.apply_deemed(key, units)


class MovementService:
    def __init__(self, store: MovementStore, brightpearl: Movements, resolve_sku: SkuResolver,
                 settings: Callable[[], GlobalSettings], *, currency: str = "GBP",
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 batch_size: int = CORRECTIONS_PER_REQUEST, chunk_size: int = INGEST_CHUNK,
                 resolve_skus: SkuBatchResolver | None = None, finances: Finances | None = None) -> None:
        self.store = store
        self.bp = brightpearl
        self.resolve_sku = resolve_sku
        self.settings = settings
        self.currency = currency
        self.clock = clock
        self.returns = SalesCredits(store, brightpearl, resolve_sku, self._finish, self._note_ids,
                                    currency=currency, clock=clock, finances=finances)
        self.batch_size = batch_size
        self.chunk_size = chunk_size
        self._later: list[tuple[MovementRecord, Callable[[], None] | None]] = []
        self._releases: list[tuple[str, Callable[[DeemedClaims], int]]] = []
        self.resolve_skus = resolve_skus
        self._linked: dict[str, int | None] = {}  # this chunk's SKUs, resolved together; cleared after it
        self._restocks: dict[str, bool] = {}  # this chunk's returns restocked, by match key; cleared after it

    # ================================================================== ingest
    def ingest(self, items: Iterable[StockChange | CustomerReturn | Quarantine], *,
               report_id: str | None = None, lines: LineTally | None = None,
               stop: Callable[[], bool] | None = None, skip: int = 0) -> Summary:
        """Record every row (once) and drive whatever is not finished. Rows are consumed as a stream, a
        chunk at a time: each chunk's existence is read in batches, its new movements created in batches
        and its state transitions written in batches, and nothing of the chunk is kept after it.

        Every item's report lines are booked on ``lines`` (the report's :class:`LineTally`, which the
        reader has already told about blank lines and rows of other features) under what became of
        its movement in this run: applied, skipped, quarantined or pending (by status).

        ``skip``: items already ingested by an earlier invocation (a report job's cursor): read (so the
        report's numbering of identical rows stays the same) but not looked up again. ``stop``: asked
        after each chunk; True ends the ingest there (``Summary.stopped_at`` says how many items were
        consumed) so a report too large for one invocation continues where it stopped."""
        s = self.settings()
        summary = Summary()
        tally = summary.lines if lines is None else lines
        summary.lines = tally
        index = IndexUpdate()
        chunk: list[tuple[StockChange | CustomerReturn | Quarantine, int]] = []
        consumed = 0
        for item in items:
            consumed += 1
            if consumed <= skip:
                tally.skip(EARLIER, len(item.lines) if isinstance(item, CustomerReturn) else 1)
                continue
            summary.rows += 1
            chunk.append((item, len(item.lines) if isinstance(item, CustomerReturn) else 1))
            if len(chunk) >= self.chunk_size:
                self._ingest_chunk(chunk, report_id, s, summary, tally, index)
                chunk = []
                if stop is not None and stop():
                    summary.stopped_at = consumed
                    break
        else:
            self._ingest_chunk(chunk, report_id, s, summary, tally, index)
        self.store.update_index(index)
        return summary

    def _ingest_chunk(self, chunk: list[tuple[StockChange | CustomerReturn | Quarantine, int]],
                      report_id: str | None, s: GlobalSettings, summary: Summary, tally: LineTally,
                      index: IndexUpdate) -> None:
        if not chunk:
            return
        now = self.clock()
        recs = [self._new_record(item, report_id, now) for item, _n in chunk]
        # One BatchGetItem per 100 keys: a re-read row (the 3-day overlap reads each one ~19 times) costs
        # ~0.01 calls, and only the rows not found are created.
        found = self.store.get_many({r.key for r in recs})
        fresh: dict[str, MovementRecord] = {}
        for r in recs:
            if r.key not in found:
                fresh.setdefault(r.key, r)
        created = self.store.create_many(fresh.values()) if fresh else set()
        lost = set(fresh) - created
        if lost:  # created by another worker between our read and our create: read what it wrote
            found.update(self.store.get_many(lost))
        # What to do with each row: book it as it stands, or drive its movement (each movement once).
        plan: list[tuple[int, int, MovementRecord | None, bool]] = []
        driven: set[str] = set()
        for (item, n), rec in zip(chunk, recs, strict=True):
            if rec.key in created:
                created.discard(rec.key)  # a key twice in one chunk: its second row is "seen before"
                summary.recorded += 1
                summary.count(rec.status)
                if rec.status == QUARANTINED:
                    index.quarantined[rec.key] = {"source": rec.source, "line": rec.line, "why": rec.reason,
                                                  "sku": rec.sku, "report_id": report_id}
                found[rec.key] = rec
                if rec.status in FINAL:
                    plan.append((item.line, n, rec, False))
                    continue
                todo = rec
            else:
                summary.seen_before += 1
                existing = found.get(rec.key)
                if existing is None or existing.status in FINAL or (existing.status == DRY_RUN and s.dry_run) \
                        or rec.key in driven:
                    plan.append((item.line, n, existing, False))
                    continue
                todo = existing
            driven.add(todo.key)
            plan.append((item.line, n, todo, True))
        stock = [r for _line, _n, r, drive in plan if drive and r is not None and r.kind != RETURN_KIND]
        self._resolve_together(r.sku for r in stock)
        self._claim_together(stock, s)
        self._restocked_together(stock)
        intents: list[_Intent] = []
        returns: list[tuple[MovementRecord, int]] = []
        for line, n, todo_or_seen, drive in plan:
            if not drive or todo_or_seen is None:
                account(tally, todo_or_seen, n, line)
            elif todo_or_seen.kind == RETURN_KIND:
                returns.append((todo_or_seen, n))
            elif self._drive_stock(todo_or_seen, s, intents, index):
                intents[-1].lines = n
            else:
                account(tally, todo_or_seen, n, line)
        self._flush(intents, index, s)
        self._account_intents(tally, intents)
        self._save_later(index)
        self._linked, self._restocks = {}, {}
        for rec, n in returns:
            self.returns.drive(rec, s, index)
            account(tally, rec, n, rec.line or 0)

    @staticmethod
    def _account_intents(tally: LineTally, intents: list[_Intent]) -> None:
        for it in intents:
            account(tally, it.rec, it.lines, it.rec.line or 0)

    def retry_pending(self) -> Summary:
        """Drive every movement in the retry index again (new links, orders now in Brightpearl, retries)."""
        s = self.settings()
        summary = Summary()
        index = IndexUpdate()
        keys = list(self.store.index().get("retry") or {})
        for start in range(0, len(keys), self.chunk_size):
            part = keys[start:start + self.chunk_size]
            found = self.store.get_many(part)  # strongly consistent: the index is a GSI, read eventually
            stock = [r for r in found.values() if r.status not in FINAL and r.kind not in (RETURN_KIND, REFUND_KIND)]
            self._resolve_together(r.sku for r in stock)
            self._claim_together(stock, s)
            self._restocked_together(stock)
            intents: list[_Intent] = []
            for key in part:
                rec = found.get(key)
                if rec is None or rec.status in FINAL:
                    index.resolve(key)
                    continue
                summary.rows += 1
                if rec.kind in (RETURN_KIND, REFUND_KIND):
                    self.returns.drive(rec, s, index)
                else:
                    self._drive_stock(rec, s, intents, index)
            self._flush(intents, index, s)
            self._save_later(index)
            self._linked, self._restocks = {}, {}
        self.returns.scan_refunds(s, index)  # refunds without a return (issue 16), credited once
        self.store.update_index(index)
        return summary

    def explain(self, sku: str) -> list[dict[str, Any]]:
        """Every movement recorded for one Amazon SKU, oldest first, with what was done and why."""
        return [r.explain() for r in self.store.by_sku(sku)]

    def _resolve_together(self, skus: Iterable[str]) -> None:
        """Look the chunk's SKUs up in one batch (when the wiring gives a batch resolver)."""
        wanted = set(skus)
        if self.resolve_skus is not None and wanted:
            linked = self.resolve_skus(wanted)
            self._linked = {sku: linked.get(sku) for sku in wanted}

    def _claim_together(self, recs: list[MovementRecord], s: GlobalSettings) -> None:
        """Deemed matching for the chunk's movements that take part in it, in one batch (their SKUs' claims
        items read and written together, in order, before any of them is posted). A movement whose SKU's
        item another worker changed meanwhile is left without ``claim_left``: ``_drive_stock`` claims it
        alone, as before."""
        if s.dry_run or s.fba_warehouse_id is None:
            return
        todo = [r for r in recs if r.detail.get("claim") and r.detail.get("claim_left") is None
                and r.status != IN_FLIGHT]
        if not todo:
            return
        requests: list[tuple[str, Callable[[DeemedClaims], int]]] = [
            (r.sku, partial(_take_claim, r.key, abs(int(r.detail.get("amazon_quantity", r.quantity))),
                            str(r.detail["claim"]))) for r in todo]
        for rec, left in zip(todo, self.store.claim_many(requests), strict=True):
            if left is not None:
                rec.detail["claim_left"] = left

    def _restocked_together(self, recs: list[MovementRecord]) -> None:
        """Whether each sellable CustomerReturns row's return was already restocked by its credit, for the
        whole chunk in one batch of the store's restock markers (was one ``by_sku`` query per SKU)."""
        asked = {(r.sku, r.match_key) for r in recs if r.kind == "customer_return" and r.match_key}
        found = self.store.restocked(asked) if asked else set()
        self._restocks = {m: m in found for _sku, m in asked}

    def _restocked(self, rec: MovementRecord) -> bool:
        """The return of these units was restocked by its credit's goods-in (asked for the chunk at once)."""
        if rec.match_key is None:
            return False
        if rec.match_key not in self._restocks:
            self._restocks[rec.match_key] = bool(self.store.restocked([(rec.sku, rec.match_key)]))
        return self._restocks[rec.match_key]

    def _product_of(self, sku: str) -> int | None:
        return self._linked[sku] if sku in self._linked else self.resolve_sku(sku)

    # ================================================================== records
    @staticmethod
    def _new_record(item: StockChange | CustomerReturn | Quarantine, report_id: str | None,
                    now: datetime) -> MovementRecord:
        if isinstance(item, Quarantine):
            return MovementRecord(key=item.key, source=item.report_type, kind="quarantine", sku=item.sku or "?",
                                  created_at=now, status=QUARANTINED, reason=item.reason, line=item.line,
                                  report_id=report_id, detail={"raw": item.raw[:2000]})
        if isinstance(item, CustomerReturn):
            return MovementRecord(
                key=item.key, source=item.source, kind=RETURN_KIND, sku=item.sku, created_at=now, status=PENDING,
                quantity=sum(ln.quantity for ln in item.lines), line=item.line, report_id=report_id,
                ref=brightpearl_ref(item.key), match_key=item.match_key(item.sku),
                reason=f"{item.channel} return of order {item.order_id} ({item.reference})",
                detail={"channel": item.channel, "order_id": item.order_id, "reference": item.reference,
                        "returned_at": item.returned_at,
                        "lines": [[ln.sku, ln.quantity, ln.disposition] for ln in item.lines]})
        return MovementRecord(
            key=item.key, source=item.source, kind=item.kind, sku=item.sku, created_at=now,
            status=PENDING if item.quantity else SKIPPED, quantity=item.quantity, reason=item.why,
            line=item.line, report_id=report_id, ref=brightpearl_ref(item.key), match_key=item.match_key,
            detail={"amazon_quantity": item.quantity, "claim": item.claim})

    def _finish_later(self, rec: MovementRecord, status: str, *, reason: str | None = None,
                      error: str | None = None, then: Callable[[], None] | None = None) -> None:
        """A transition that nothing in this chunk waits for (skipped, unmatched, dry run, pending): saved
        with the chunk's others in one batch (``_save_later``), under the same version condition. A movement
        found as it already was (an unlinked SKU's row read again) is not written again."""
        was = (rec.status, rec.reason, rec.error)
        rec.status = status
        if reason is not None:
            rec.reason = reason
        rec.error = error
        if (rec.status, rec.reason, rec.error) == was and then is None:
            return
        rec.updated_at = self.clock()
        self._later.append((rec, then))

    def _save_later(self, index: IndexUpdate) -> None:
        later, self._later = self._later, []
        if later:
            self._finish_all([r for r, _ in later], index, then={r.key: f for r, f in later if f})
        releases, self._releases = self._releases, []
        if releases:  # the netted movements saved above: their claims released together
            for (sku, fn), left in zip(releases, self.store.claim_many(releases), strict=True):
                if left is None:
                    self.store.claim(sku, fn)  # the SKU's item changed meanwhile: released alone

    def _finish_all(self, recs: list[MovementRecord], index: IndexUpdate, *,
                    then: dict[str, Callable[[], None]] | None = None) -> set[str]:
        """Save movements whose status is set, 100 per call; the keys saved. A movement another worker
        moved on since it was read is left to it (as ``_finish``): no index change, nothing follows."""
        if not recs:
            return set()
        lost = self.store.save_many(recs)
        for rec in recs:
            if rec.key in lost:
                logger.info("movement changed by another worker; left to it", extra={"key": rec.key})
                continue
            if rec.status in RETRY:
                index.add_retry(rec)
            else:
                index.resolve(rec.key)
            if then and rec.key in then:
                then[rec.key]()
        return {r.key for r in recs} - lost

    def _finish(self, rec: MovementRecord, status: str, index: IndexUpdate, *, reason: str | None = None,
                error: str | None = None) -> bool:
        rec.status = status
        if reason is not None:
            rec.reason = reason
        rec.error = error
        rec.updated_at = self.clock()
        try:
            self.store.save(rec)
        except Conflict:
            # Another worker moved this movement on since we read it: its record wins, and this
            # worker leaves it alone (no write to Brightpearl follows a failed save).
            logger.info("movement changed by another worker; left to it", extra={"key": rec.key})
            return False
        if status in RETRY:
            index.add_retry(rec)
        else:
            index.resolve(rec.key)
        return True

    # ================================================================== stock corrections
    def _drive_stock(self, rec: MovementRecord, s: GlobalSettings, intents: list[_Intent],
                     index: IndexUpdate) -> bool:
        """Settle the movement now, or queue its correction on ``intents`` (True)."""
        wid = s.fba_warehouse_id
        if wid is None:
            self._finish_later(rec, PENDING, error="fba_warehouse_id is not set")
            return False
        if rec.status == IN_FLIGHT:
            since = self.clock() - rec.updated_at if rec.updated_at else IN_FLIGHT_LEASE
            if timedelta(0) <= since < IN_FLIGHT_LEASE:
                # Another worker marked it in flight moments ago and may still be waiting on the
                # governor to post it: looking it up now would find nothing and post it twice.
                # It stays in the retry index; a later run settles it by reference.
                return False
            if self._recovered(wid, [rec], index):
                return False
        amazon_qty = int(rec.detail.get("amazon_quantity", rec.quantity))
        if rec.kind == "customer_return":
            restocked = self._restocked(rec)
            apply, why = ledger_return_decision(restock_on=s.restock_returns, credit_restocked=restocked)
            if not apply:
                self._finish_later(rec, SKIPPED, reason=f"{rec.reason}; {why}")
                return False
        quantity = amazon_qty
        claim = rec.detail.get("claim")
        if claim:
            units = abs(amazon_qty)

            def take(c: Any) -> int:
                return int(c.apply_loss(rec.key, units) if claim == "loss" else c.apply_deemed(rec.key, units))

            if rec.detail.get("claim_left") is not None:
                left = int(rec.detail["claim_left"])  # matched before (a retry): the movement remembers it
            else:
                left = self.store.claim(rec.sku, take, commit=not s.dry_run)
                if not s.dry_run:
                    # Kept on the movement, so the SKU's claims item needs the outcome only briefly.
                    rec.detail["claim_left"] = left
            quantity = -left
            if left == 0:
                other = "a reimbursement already deemed these units" if claim == "loss" else \
                    "a ledger adjustment already reduced these units"
                self._finish_later(rec, SKIPPED, reason=f"{rec.reason}; {other}")
                return False
            if left < units:
                rec.reason = f"{rec.reason}; {units - left} unit(s) already reduced by the matching row"
        rec.quantity = quantity
        product_id = self._product_of(rec.sku)
        if product_id is None:
            self._finish_later(rec, UNMATCHED, error=f"no Brightpearl product linked to Amazon SKU {rec.sku}")
            return False
        rec.product_id, rec.warehouse_id = product_id, wid
        if s.dry_run:
            self._finish_later(rec, DRY_RUN, reason=f"{rec.reason}; dry run: would correct {quantity:+d} "
                                                      f"of product {product_id} in warehouse {wid}")
            return False
        intents.append(_Intent(rec, wid, product_id, quantity))
        return True

    def _flush(self, intents: list[_Intent], index: IndexUpdate, s: GlobalSettings) -> None:
        # Brightpearl values stock added by correction; Amazon says nothing of cost, so 0 in the account currency.
        currency = str(getattr(s, "account_currency", None) or self.currency)
        by_wid: dict[int, list[_Intent]] = {}
        for it in intents:
            by_wid.setdefault(it.warehouse_id, []).append(it)
        for wid, group in by_wid.items():
            by_key = {it.rec.key: it for it in group}
            remaining, pairs = net_pairs(Correction(it.rec.key, it.product_id, it.quantity) for it in group)
            for a, b in pairs:
                for this, other in ((a, b), (b, a)):
                    rec = by_key[this.key].rec
                    self._finish_later(rec, SKIPPED,
                                       reason=f"{rec.reason}; netted against {other.key} in the same batch",
                                       then=partial(self._release_claim, rec))
            for chunk in batches([by_key[c.key] for c in remaining], self.batch_size):
                self._post(wid, chunk, index, currency)

    def _release_claim(self, rec: MovementRecord) -> None:
        """A netted loss (or deemed reduction) never reached Brightpearl: it must not stay open for
        deemed matching, or a later reimbursement of it is matched and the stock drifts by its units."""
        claim = rec.detail.get("claim")
        if claim:
            key = rec.key

            def release(c: DeemedClaims) -> int:
                c.release(key, str(claim))
                return 0

            self._releases.append((rec.sku, release))  # written with the chunk's others (_save_later)
            rec.detail["claim_left"] = 0

    def _post(self, wid: int, chunk: list[_Intent], index: IndexUpdate, currency: str) -> None:
        location = self.bp.default_location(wid)
        hwm = self.store.hwm()
        body: list[StockCorrection] = []
        claimed: list[_Intent] = []
        before: dict[int, int] = {}
        if hwm == 0:
            # The connector's first correction ever: no goods-note id to look an unanswered write up from.
            # The figures it moves are read first, so a lost answer can be settled by reading them again.
            try:
                before = self.bp.on_hand(wid, [it.product_id for it in chunk])
            except PortError:
                before = {}
        for it in chunk:
            it.rec.detail["hwm"] = hwm  # where a look-up for this write starts if its answer is lost
            if it.product_id in before:
                it.rec.detail["on_hand_before"] = before[it.product_id]
            it.rec.status, it.rec.error, it.rec.updated_at = IN_FLIGHT, None, self.clock()
        # All the request's movements marked in flight in one conditional batch (their versions): only
        # those this worker marked are posted; one another worker moved on is left to it.
        mine = self._finish_all([it.rec for it in chunk], index)
        for it in chunk:
            if it.rec.key not in mine:
                continue
            claimed.append(it)
            body.append(StockCorrection(it.product_id, it.quantity, location,
                                        f"Amazon {it.rec.kind.replace('_', ' ')} [{it.rec.ref}]",
                                        currency if it.quantity > 0 else None))
        if not body:
            return
        chunk = claimed
        try:
            ids = self.bp.post_corrections(wid, body)
        except UncertainWrite as exc:
            if not self._recovered(wid, [it.rec for it in chunk], index):
                for it in chunk:
                    if it.rec.status == IN_FLIGHT:
                        self._finish(it.rec, PENDING, index, error=f"no answer from Brightpearl, not found by "
                                                                   f"reference; will send again: {exc}")
            return
        except Refused as exc:
            if len(chunk) > 1:  # all or nothing: find the culprit(s), let the others through
                for it in chunk:
                    self._post(wid, [it], index, currency)
                return
            self._finish(chunk[0].rec, FAILED, index, error=str(exc))
            return
        except (Throttled, PortError) as exc:
            for it in chunk:
                it.rec.status, it.rec.error, it.rec.updated_at = PENDING, f"will retry: {exc}", self.clock()
            self._finish_all([it.rec for it in chunk], index)
            return
        for it, note_id in zip(chunk, ids, strict=False):
            it.rec.brightpearl_ids = [note_id]
            it.rec.status, it.rec.error, it.rec.updated_at = APPLIED, None, self.clock()
        self._finish_all([it.rec for it, _id in zip(chunk, ids, strict=False)], index)
        if ids:
            self.store.raise_hwm(max(ids))

    def _recovered(self, wid: int, recs: list[MovementRecord], index: IndexUpdate) -> bool:
        """Look in-flight corrections up by reference; mark those found applied. True if all were found.

        The look-up starts after the highest goods-note id known when the write was sent. Before the
        connector has ever seen one (its very first correction), there is no such point: the movement
        waits, unsent, until a later write reveals a recent id, and is then looked up backwards from it.
        """
        refs = {r.ref for r in recs if r.ref}
        after = min(int(r.detail.get("hwm", 0)) for r in recs)
        try:
            if after == 0:
                known = self.store.hwm()
                # Before the connector has seen any goods-note id (its first correction ever), look from the
                # account's first ids (a young account); a later write's id, once known, bounds it instead.
                found = self.bp.find_corrections(wid, refs, 0, before_id=known) if known else \
                    self.bp.find_corrections(wid, refs, 0)
                if not found and known == 0:
                    return self._settled_by_figures(wid, recs, index)
            else:
                found = self.bp.find_corrections(wid, refs, after)
        except (Throttled, PortError) as exc:
            # The look-up itself failed (Brightpearl throttling it, an outage): the write may have landed,
            # so nothing is sent again; the movements stay in flight for the hourly retry to look up again,
            # and the notification that brought them succeeds instead of being dead-lettered.
            for r in recs:
                if r.status == IN_FLIGHT:
                    self._finish(r, IN_FLIGHT, index, error=f"look-up by reference failed, retried hourly: {exc}")
            return True
        for r in recs:
            if r.ref in found:
                r.brightpearl_ids = [found[r.ref]]
                self._finish(r, APPLIED, index, reason=f"{r.reason}; confirmed in Brightpearl by reference")
        if found:
            self.store.raise_hwm(max(found.values()))
        return all(r.ref in found for r in recs)

    def _settled_by_figures(self, wid: int, recs: list[MovementRecord], index: IndexUpdate) -> bool:
        """The first correction ever went unanswered and no id bounds a look-up: compare the on-hand it
        moves with the figure read before it was sent. Unchanged → it did not land (False: send again);
        moved by exactly its quantity → it landed; anything else (someone else moved the product) → left
        in flight, never sent twice. Assumes nothing else corrected that product in between."""
        ids = [r.product_id for r in recs if r.product_id is not None and "on_hand_before" in r.detail]
        try:
            now = self.bp.on_hand(wid, ids) if ids else {}
        except PortError:
            now = {}
        for r in recs:
            was, pid = r.detail.get("on_hand_before"), r.product_id
            if was is not None and pid in now and r.quantity != 0 and now[pid] == int(was) + r.quantity:
                self._finish(r, APPLIED, index, reason=f"{r.reason}; confirmed in Brightpearl by its figures")
            elif was is not None and pid in now and now[pid] == int(was):
                r.detail.pop("on_hand_before", None)
                self._finish(r, PENDING, index, error="no answer from Brightpearl to the first correction ever; "
                             "its figures show it did not land: sent again")
            else:
                self._finish(r, IN_FLIGHT, index, error="no answer from Brightpearl to the first correction ever "
                             "and its figures do not settle it; looked up by reference once a later write shows "
                             "where to look")
        return True  # each one settled here: nothing more for the caller to do now

    def _note_ids(self, ids: list[int]) -> None:
        if ids:
            self.store.raise_hwm(max(ids))
