"""The movements' own records: status transitions saved one at a time or in conditional batches.

A transition nothing in a chunk waits for is queued (``_finish_later``) and saved with the chunk's
others (``_save_later``); every save is conditional on the version read, so a movement another worker
moved on is left to it. Part of :class:`connector.usecases.movements.MovementService`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from connector.domain.errors import Conflict
from connector.domain.movement_records import IndexUpdate, MovementRecord
from connector.domain.movements import RETRY, DeemedClaims
from connector.observability import logger
from connector.usecases.ports import Movements, MovementStore


class MovementWrites:
    """Saving movement records (the base of the movements service's parts)."""

    store: MovementStore
    bp: Movements
    clock: Callable[[], datetime]
    _later: list[tuple[MovementRecord, Callable[[], None] | None]]
    _releases: list[tuple[str, Callable[[DeemedClaims], int]]]

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
