"""Restock markers: which returns their credit's goods-in restocked, found by key (issue 14).

The ledger's sellable ``CustomerReturns`` row must not raise the units a return's sales credit already
restocked (domain/returns.py). Both carry the match key ``return|<order id>|<SKU>``; finding the return
used to take one ``by_sku`` Query per SKU. Now each return saved as restocked leaves a marker item
``restock#<match key>`` in the ReportJobs table, so a chunk's rows are answered with one BatchGetItem per
100. The marker is written *before* the movement that says restocked: the goods-in exists by then
(``restocked`` is set only once it does), so a crash between the two leaves a marker for a real restock,
never a restock without one.

Returns restocked before the markers existed are found by one scan of the Movements table
(``state#restock-markers`` holds its cursor, then ``complete``), ``BACKFILL_PAGES`` pages of 1 MB per
call, continued by the next call; until it completes, the SKU's movements are queried as before.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError

from connector.adapters.store import ReportJob, StockMovement
from connector.domain.movement_records import MovementRecord

RETURN_KIND = "return"  # a returns-report movement (usecases/movements.py RETURN_KIND)
PREFIX = "restock#"  # + match key
STATE = "state#restock-markers"  # {"cursor": ...} while the scan runs, {"complete": true} once it is done
BACKFILL_PAGES = 20


def restock_marker(rec: MovementRecord) -> str | None:
    """The match key a return restocked by its credit's goods-in leaves behind (None for anything else)."""
    if rec.kind == RETURN_KIND and rec.match_key and (rec.detail or {}).get("restocked"):
        return rec.match_key
    return None


class RestockMarkers:
    def __init__(self, record: Callable[[StockMovement], MovementRecord]) -> None:
        self._record = record
        self._complete = False
        self._marked: set[str] = set()  # markers this process wrote: each once

    def mark(self, recs: Iterable[MovementRecord]) -> None:
        """Write the marker of each return in ``recs`` that is (about to be saved) restocked."""
        keys = {PREFIX + m for r in recs if (m := restock_marker(r)) is not None and m not in self._marked}
        if not keys:
            return
        with ReportJob.batch_write() as batch:
            for key in keys:
                batch.save(ReportJob(key, report_type="-", status="state", detail={}, updated_at=datetime.now(UTC)))
        self._marked |= {k[len(PREFIX):] for k in keys}

    def restocked(self, pairs: Iterable[tuple[str, str]], by_sku: Callable[[str], list[MovementRecord]]) -> set[str]:
        """Of these (SKU, match key) pairs, the match keys whose return was restocked."""
        pairs = list(pairs)
        if not pairs:
            return set()
        wanted = {m for _s, m in pairs}
        if not self._backfill():
            found: set[str] = set()
            for sku in {s for s, _m in pairs}:
                found |= {m for r in by_sku(sku) if (m := restock_marker(r)) is not None}
            return found & wanted
        return {job.job_id[len(PREFIX):] for job in ReportJob.batch_get({PREFIX + m for m in wanted},
                                                                        consistent_read=True)}

    def _backfill(self) -> bool:
        """True once every restocked return has its marker (module docstring)."""
        if self._complete:
            return True
        try:
            state = ReportJob.get(STATE, consistent_read=True)
        except DoesNotExist:
            state = ReportJob(STATE, report_type="-", status="state", detail={})
        d: dict[str, Any] = dict(state.detail or {})
        if d.get("complete"):
            self._complete = True
            return True
        cursor = d.get("cursor")
        pages = StockMovement.scan(filter_condition=StockMovement.kind == RETURN_KIND,
                                   last_evaluated_key=cursor).page_iter
        finished = False
        for _page in range(BACKFILL_PAGES):
            try:
                page = next(pages)
            except StopIteration:
                finished = True
                break
            self.mark(self._record(StockMovement.from_raw_data(raw)) for raw in page.get("Items", []))
            cursor = pages.last_evaluated_key
            if cursor is None:
                finished = True
                break
        state.detail = {"complete": True} if finished else {"cursor": cursor}
        state.updated_at = datetime.now(UTC)
        with contextlib.suppress(PutError):  # another worker saved its progress: the next call reads it
            state.save()
        self._complete = finished
        return finished
