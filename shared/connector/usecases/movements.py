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

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from connector.domain.flatfile import LineTally
from connector.domain.movement_records import IndexUpdate, MovementRecord, owes_release
from connector.domain.movements import (
    APPLIED,
    DRY_RUN,
    FINAL,
    OBSERVED,
    PENDING,
    QUARANTINED,
    SKIPPED,
    Quarantine,
    StockChange,
    brightpearl_ref,
)
from connector.domain.returns import (
    CustomerReturn,
)
from connector.domain.settings import GlobalSettings
from connector.usecases.ports import Finances, Movements, MovementStore
from connector.usecases.sales_credits import REFUND_KIND, SalesCredits
from connector.usecases.stock_corrections import (
    IN_FLIGHT_LEASE as IN_FLIGHT_LEASE,  # re-exported: callers import it from here
)
from connector.usecases.stock_corrections import (
    RETURN_KIND,
    SkuBatchResolver,
    SkuResolver,
    StockCorrections,
    _Intent,
)

CORRECTIONS_PER_REQUEST = 100
# Rows read, looked up (10 BatchGetItem calls), created and driven together; their corrections are netted
# within it. Nothing of a chunk is kept once it is done: memory does not grow with the report.
INGEST_CHUNK = 1000
# The index changes (movements resolved or to retry) are written once this many have gathered (two chunks), so a 5 M-row
# report does not hold a key per movement until its end (a few calls per report, flat memory).
INDEX_FLUSH = 2_000
# The report line tally's bucket for the lines an earlier invocation of the same report job recorded.
EARLIER = "recorded by an earlier invocation of this report job (its lines: detail.lines_before)"


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
    elif rec.status == OBSERVED:  # shadow mode (docs/shadow-mode.md): final, nothing to wait for
        tally.skip(f"{rec.kind}: shadow mode, observed only (nothing written)", n)
    else:
        tally.wait(rec.status, n)

class MovementService(StockCorrections):
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
        self._later: list[MovementRecord] = []
        self._netted: list[MovementRecord] = []  # saved first, pairs side by side (movement_writes.py)
        self._owed: list[MovementRecord] = []  # saved owing their claim's release (movement_writes.py)
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
                if len(index.resolved) + len(index.retry) >= INDEX_FLUSH:  # no per-row state for the whole report
                    self.store.update_index(index)
                    index = IndexUpdate()
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
                if existing is not None and owes_release(existing) and rec.key not in driven:
                    self._owed.append(existing)  # a release lost to a fault after its save: done now
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
                if rec is not None and owes_release(rec):
                    self._owed.append(rec)  # a release lost to a fault after its save: done now
                    continue
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
