"""Where movements and their bookkeeping live: DynamoDB in the stack, memory in unit tests and benchmarks.

- movements: the ``Movements`` table, one item per movement key (created with a condition, so two
  workers reading the same row create it once), queried by SKU through ``by_sku`` for "explain", and
  through the sparse ``by_retry`` for the movements the hourly retry drives again;
- bookkeeping in the ``ReportJobs`` table, beside the jobs and cursors it belongs with:
  ``claims#<sku>`` (deemed matching), ``index#movements`` (rows quarantined since
  the last digest) and ``state#goods-note-hwm`` (the highest Brightpearl goods-note id seen, where a
  look-up for an unconfirmed correction starts). Each is updated with optimistic locking.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import CancellationReason, DoesNotExist, PutError

from connector.adapters.movement_store_memory import InMemoryMovementStore
from connector.adapters.restock_markers import RestockMarkers
from connector.adapters.store import ReportJob, StockMovement, conflict_as, create_if_absent
from connector.adapters.transactions import TRANSACT_ITEMS, failed_condition, jittered_backoff, transact_with_retry
from connector.domain.errors import Throttled
from connector.domain.movement_records import IndexUpdate, MovementRecord, awaits_retry, merge_index, owes_release
from connector.domain.movements import FINAL, DeemedClaims
from connector.usecases.ports import MovementStore

# The records live in the domain and the port in usecases/ports.py; re-exported for their callers.
__all__ = ["DynamoMovementStore", "InMemoryMovementStore", "IndexUpdate", "MovementRecord", "MovementStore"]

# DynamoDB's documented cap: BatchGetItem reads at most 100 keys (TransactWriteItems: adapters/transactions.py).
BATCH_GET = 100


# A claims transaction throttled this many times in a row (jittered pauses doubling from 0.05 s: ~1.5 s at
# most in all) is given up with a Throttled error; the report job backs off and applies the report again.
CLAIM_TRIES = 6


def _movement_of(fn: Callable[[DeemedClaims], int]) -> str:
    """The movement a claim request is for, when the caller says (a ``functools.partial`` whose first
    argument is the movement key, as the use cases build them); else the request's own name."""
    args = getattr(fn, "args", ())
    return str(args[0]) if args and isinstance(args[0], str) else getattr(fn, "__qualname__", repr(fn))


# How long a movement's deemed-matching outcome stays on its SKU's claims item. It is needed only until
# the movement itself records it (``claim_left`` on the movement, saved with its status), i.e. across a
# crash between the two writes; a re-read row within the reports' overlap (≤ 7 days) is far inside it.
# Without a bound the item grew by one entry per lifetime loss of the SKU and hit DynamoDB's 400 KB.
CLAIM_MEMORY = timedelta(days=30)


def prune_counted(counted: dict[str, int], at: dict[str, str], now: datetime) -> tuple[dict[str, int], dict[str, str]]:
    """Keep the outcomes counted in the last CLAIM_MEMORY (new ones stamped now); drop the rest."""
    stamp = now.isoformat()
    cutoff = (now - CLAIM_MEMORY).isoformat()
    kept_at = {k: at.get(k) or stamp for k in counted}
    kept = {k: v for k, v in counted.items() if kept_at[k] >= cutoff}
    return kept, {k: kept_at[k] for k in kept}


class DynamoMovementStore:
    CLAIMS = "claims#"
    INDEX = "index#movements"
    HWM = "state#goods-note-hwm"

    @staticmethod
    def _record(item: StockMovement) -> MovementRecord:
        return MovementRecord(
            key=item.movement_key, source=item.source, kind=item.kind or "", sku=item.sku,
            created_at=item.created_at, status=item.status, quantity=int(item.quantity or 0), reason=item.reason,
            error=item.error, product_id=None if item.product_id is None else int(item.product_id),
            warehouse_id=None if item.warehouse_id is None else int(item.warehouse_id),
            brightpearl_ids=list(item.brightpearl_ids or []), ref=item.ref, match_key=item.match_key,
            line=None if item.line is None else int(item.line), report_id=item.report_id,
            detail=dict(item.detail or {}), updated_at=item.updated_at)

    @staticmethod
    def _fill(item: StockMovement, rec: MovementRecord) -> StockMovement:
        item.source, item.kind, item.sku, item.created_at = rec.source, rec.kind, rec.sku or "?", rec.created_at
        item.status, item.quantity, item.reason, item.error = rec.status, rec.quantity, rec.reason, rec.error
        item.product_id, item.warehouse_id, item.brightpearl_ids = rec.product_id, rec.warehouse_id, \
            list(rec.brightpearl_ids)
        item.ref, item.match_key, item.line, item.report_id = rec.ref, rec.match_key, rec.line, rec.report_id
        item.detail, item.updated_at = rec.detail, datetime.now(UTC)
        # The retry index is this sparse attribute, written with the movement itself: no extra write
        # (a skipped movement still owing its claim's release stays in it until released).
        item.awaiting_retry = "retry" if awaits_retry(rec) else None
        return item

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC), *,
                 pause: Callable[[int], None] | None = None) -> None:
        self._items: dict[str, StockMovement] = {}  # versions of items read in this run, for optimistic saves
        self.clock = clock
        self._pause = pause or jittered_backoff()  # between tries of a throttled claims transaction
        self._markers = RestockMarkers(self._record)

    def get(self, key: str) -> MovementRecord | None:
        try:
            item = StockMovement.get(key, consistent_read=True)
        except DoesNotExist:
            return None
        self._items[key] = item
        return self._record(item)

    def create(self, rec: MovementRecord) -> bool:
        item = self._fill(StockMovement(rec.key), rec)
        if not create_if_absent(item, StockMovement.movement_key):
            return False
        if rec.status not in FINAL:
            self._items[rec.key] = item
        return True

    def save(self, rec: MovementRecord) -> None:
        item = self._items.get(rec.key) or StockMovement.get(rec.key, consistent_read=True)
        self._markers.mark([rec])  # before the movement: see restock_markers.py
        with conflict_as(f"movement {rec.key!r}"):
            self._fill(item, rec).save()
        self._keep(rec, item)

    def _keep(self, rec: MovementRecord, item: StockMovement) -> None:
        if rec.status in FINAL and not owes_release(rec):
            self._items.pop(rec.key, None)  # finished: keep memory flat on a large report
        else:
            self._items[rec.key] = item

    # ------------------------------------------------------------------ batches (issue 14)
    def get_many(self, keys: Iterable[str]) -> dict[str, MovementRecord]:
        """The movements that exist among ``keys``: BatchGetItem, 100 keys a call, strongly consistent
        (a movement created a moment ago by another worker is seen); pynamodb sends unprocessed keys again."""
        out: dict[str, MovementRecord] = {}
        for item in StockMovement.batch_get(set(keys), consistent_read=True):
            rec = self._record(item)
            out[rec.key] = rec
            if rec.status not in FINAL or owes_release(rec):
                self._items[rec.key] = item  # its version, for the optimistic save that drives it
        return out

    def create_many(self, recs: Iterable[MovementRecord]) -> set[str]:
        """Create each movement only if its key is absent; the keys created. Each item of a
        TransactWriteItems call (≤ 100) carries ``attribute_not_exists``, exactly like the single create,
        so two workers creating the same movement create it once: the transaction is cancelled for the
        keys that exist, and is sent again without them."""
        items = [self._fill(StockMovement(r.key), r) for r in recs]
        done = self._transact(items, lambda item: StockMovement.movement_key.does_not_exist())
        by_key = {r.key: r for r in recs}
        for item in items:
            if item.movement_key in done:
                self._keep(by_key[item.movement_key], item)
        return done

    def save_many(self, recs: Iterable[MovementRecord]) -> set[str]:
        """Save each movement under its version condition (optimistic locking, like ``save``), 100 per
        TransactWriteItems call; returns the keys NOT saved because another worker changed them since
        they were read (the same outcome as ``save`` raising ``Conflict``, per movement)."""
        recs = list(recs)
        missing = [r.key for r in recs if r.key not in self._items]
        if missing:
            self.get_many(missing)
        self._markers.mark(recs)
        items = [self._fill(self._items.get(r.key) or StockMovement(r.key), r) for r in recs]
        done = self._transact(items, None)
        for r, item in zip(recs, items, strict=True):
            if r.key in done:
                self._keep(r, item)
            else:
                self._items.pop(r.key, None)  # stale: read it again before any later save
        return {r.key for r in recs} - done

    @staticmethod
    def _connection() -> Connection:
        # The model's own (cached) connection: a new one per call would build a botocore client each time.
        return StockMovement._get_connection().connection

    def _transact(self, items: list[StockMovement], condition: Callable[[StockMovement], Any] | None) -> set[str]:
        """Write ``items`` in transactions of 100; the keys written. An item whose condition fails (its
        own, or its version) is left out and the rest sent again; a transaction that collides with
        another one on the same item is sent again as it was (DynamoDB's TransactionConflict)."""
        seen: set[str] = set()
        unique = []
        for item in items:  # one transaction may not name an item twice; the first occurrence wins
            if item.movement_key not in seen:
                seen.add(item.movement_key)
                unique.append(item)
        dropped: set[str] = set()

        def settle(todo: list[StockMovement], reasons: list[CancellationReason | None]) -> list[StockMovement]:
            dropped.update(item.movement_key for item, why in zip(todo, reasons, strict=False)
                           if failed_condition(why))
            return [item for item, why in zip(todo, reasons, strict=False) if not failed_condition(why)]

        todo = transact_with_retry(unique, connection=self._connection() if unique else None, settle=settle,
                                   condition=condition, tries=10)
        if todo:
            raise RuntimeError(f"movements not written after 10 attempts: {[i.movement_key for i in todo][:5]}")
        return {item.movement_key for item in unique} - dropped

    def by_sku(self, sku: str) -> list[MovementRecord]:
        return [self._record(i) for i in StockMovement.by_sku.query(sku)]

    # ------------------------------------------------------------------ restocked returns (issue 14)
    def restocked(self, pairs: Iterable[tuple[str, str]]) -> set[str]:
        """Of these (SKU, match key) pairs, the match keys whose return its credit restocked
        (``adapters/restock_markers.py``: one BatchGetItem per 100)."""
        return self._markers.restocked(pairs, lambda sku: [self._record(i) for i in StockMovement.by_sku.query(sku)])

    def _job(self, key: str) -> ReportJob:
        try:
            return ReportJob.get(key, consistent_read=True)
        except DoesNotExist:
            return ReportJob(key, report_type="-", status="state", detail={})

    def _update(self, key: str, fn: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        for _ in range(20):
            job = self._job(key)
            job.detail = fn(dict(job.detail or {}))
            job.updated_at = datetime.now(UTC)
            try:
                job.save()
                return
            except PutError as exc:
                if exc.cause_response_code != "ConditionalCheckFailedException":
                    raise
        raise RuntimeError(f"could not update {key}: too much contention")

    def claim(self, sku: str, fn: Callable[[DeemedClaims], int], *, commit: bool = True) -> int:
        out: list[int] = []

        def change(d: dict[str, Any]) -> dict[str, Any]:
            claims = DeemedClaims(int(d.get("losses", 0)), int(d.get("deemed", 0)), dict(d.get("counted") or {}))
            out[:] = [fn(claims)]
            counted, at = prune_counted(claims.counted, dict(d.get("at") or {}), self.clock())
            return {"losses": claims.losses, "deemed": claims.deemed, "counted": counted, "at": at}

        if not commit:
            change(dict(self._job(self.CLAIMS + sku).detail or {}))
            return out[0]
        self._update(self.CLAIMS + sku, change)
        return out[0]

    def claim_many(self, requests: list[tuple[str, Callable[[DeemedClaims], int]]]) -> list[int | None]:
        """``claim`` for many movements at once, in order: the SKUs' claims items read with one BatchGetItem
        per 100, each ``fn`` applied in turn, and the changed items written back in TransactWriteItems of
        100 under their versions (as ``claim`` does one at a time). A SKU whose item another worker changed
        meanwhile gets None for each of its requests, and nothing of it is written: the caller claims those
        one at a time (``claim`` reads again and retries).

        A transaction DynamoDB cancels for throttling is sent again after a jittered, doubling pause, at
        most CLAIM_TRIES times in all; then :class:`Throttled` names the SKUs and movements not written
        (none of the failing batch, nor of the batches after it; the batches before it are written, and
        claiming again is idempotent per movement, so the report applied again settles them)."""
        if not requests:
            return []
        keys = {self.CLAIMS + sku for sku, _fn in requests}
        items = {i.job_id: i for i in ReportJob.batch_get(keys, consistent_read=True)}
        state: dict[str, tuple[ReportJob, DeemedClaims, dict[str, str]]] = {}
        out: list[int] = []
        for sku, fn in requests:
            key = self.CLAIMS + sku
            if key not in state:
                job = items.get(key) or ReportJob(key, report_type="-", status="state", detail={})
                d = dict(job.detail or {})
                claims = DeemedClaims(int(d.get("losses", 0)), int(d.get("deemed", 0)), dict(d.get("counted") or {}))
                state[key] = (job, claims, dict(d.get("at") or {}))
            out.append(fn(state[key][1]))
        now = self.clock()
        to_write = []
        for job, claims, at in state.values():
            counted, at = prune_counted(claims.counted, at, now)
            job.detail = {"losses": claims.losses, "deemed": claims.deemed, "counted": counted, "at": at}
            job.updated_at = datetime.now(UTC)
            to_write.append(job)
        lost: set[str] = set()

        def settle(part: list[ReportJob], reasons: list[CancellationReason | None]) -> list[ReportJob]:
            failed = {j.job_id for j, why in zip(part, reasons, strict=False) if failed_condition(why)}
            if not failed and all(why is None or why.code == "TransactionConflict" for why in reasons):
                failed = {j.job_id for j in part}  # a concurrent transaction: claimed one at a time
            lost.update(failed)
            return [j for j in part if j.job_id not in failed]

        unsent = transact_with_retry(to_write, connection=self._claims_connection(), settle=settle,
                                     tries=CLAIM_TRIES, pause=self._pause)
        if unsent:
            first = next(i for i, job in enumerate(to_write) if job.job_id == unsent[0].job_id)
            keys = {j.job_id for j in unsent} | {j.job_id for j in to_write[first // TRANSACT_ITEMS * TRANSACT_ITEMS
                                                                             + TRANSACT_ITEMS:]}
            skus = sorted(k.removeprefix(self.CLAIMS) for k in keys)
            movements = [_movement_of(fn) for sku, fn in requests if self.CLAIMS + sku in keys]
            raise Throttled(f"deemed-matching claims not written after {CLAIM_TRIES} throttled attempts: "
                            f"{len(skus)} SKU(s) {skus[:10]!r}{' ...' if len(skus) > 10 else ''}, "
                            f"{len(movements)} movement(s) {movements[:10]!r}{' ...' if len(movements) > 10 else ''}")
        return [None if self.CLAIMS + sku in lost else left for (sku, _fn), left in zip(requests, out, strict=True)]

    @staticmethod
    def _claims_connection() -> Connection:
        return ReportJob._get_connection().connection

    def update_index(self, update: IndexUpdate) -> None:
        """Movements to retry are found through the ``by_retry`` index (kept by each save); the index item
        keeps only the quarantine log (capped) and, from before that index, a legacy retry map that
        drains as its movements finish."""
        if not update.quarantined:
            legacy = (self._job(self.INDEX).detail or {}).get("retry") or {}
            if not (update.resolved & set(legacy)):
                return
        only = IndexUpdate(resolved=set(update.resolved), quarantined=dict(update.quarantined))
        self._update(self.INDEX, lambda d: merge_index(d, only))

    def index(self) -> dict[str, Any]:
        detail = dict(self._job(self.INDEX).detail or {})
        retry = dict(detail.get("retry") or {})
        for item in StockMovement.by_retry.query("retry"):
            rec = self._record(item)
            if awaits_retry(rec):
                retry[rec.key] = {"sku": rec.sku, "kind": rec.kind, "status": rec.status,
                                  "why": rec.error or rec.reason or "", "source": rec.source}
        return {**detail, "retry": retry}

    def clear_quarantine_log(self, keys: set[str]) -> None:
        def change(d: dict[str, Any]) -> dict[str, Any]:
            q = dict(d.get("quarantined") or {})
            for k in keys:
                q.pop(k, None)
            return {**d, "quarantined": q, "quarantine_dropped": 0}

        self._update(self.INDEX, change)

    def hwm(self) -> int:
        return int((self._job(self.HWM).detail or {}).get("id", 0))

    def raise_hwm(self, goods_note_id: int) -> None:
        self._update(self.HWM, lambda d: {"id": max(int(d.get("id", 0)), goods_note_id)})
