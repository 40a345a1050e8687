"""The movements' own records: status transitions saved one at a time or in conditional batches.

A transition nothing in a chunk waits for is queued (``_finish_later``) and saved with the chunk's
others (``_save_later``); every save is conditional on the version read, so a movement another worker
moved on is left to it. Part of :class:`connector.usecases.movements.MovementService`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial

from connector.domain.errors import Conflict
from connector.domain.movement_records import RELEASE_OWED, IndexUpdate, MovementRecord, awaits_retry, owes_release
from connector.domain.movements import DeemedClaims
from connector.observability import logger
from connector.usecases.ports import Movements, MovementStore


class MovementWrites:
    """Saving movement records (the base of the movements service's parts)."""

    store: MovementStore
    bp: Movements
    clock: Callable[[], datetime]
    _later: list[MovementRecord]
    _netted: list[MovementRecord]
    _owed: list[MovementRecord]

    def _finish_later(self, rec: MovementRecord, status: str, *, reason: str | None = None,
                      error: str | None = None, netted: bool = False) -> None:
        """A transition that nothing in this chunk waits for (skipped, unmatched, dry run, pending): saved
        with the chunk's others in one batch (``_save_later``), under the same version condition. A movement
        found as it already was (an unlinked SKU's row read again) is not written again."""
        was = (rec.status, rec.reason, rec.error)
        rec.status = status
        if reason is not None:
            rec.reason = reason
        rec.error = error
        if (rec.status, rec.reason, rec.error) == was and not owes_release(rec):
            return
        rec.updated_at = self.clock()
        (self._netted if netted else self._later).append(rec)

    def _save_later(self, index: IndexUpdate) -> None:
        # The netted pairs first, each pair side by side: the store writes 100 a transaction in order, so a
        # pair is never split by a fault between two transactions (its half left pending would be posted
        # alone by the next run).
        later, self._later, self._netted = self._netted + self._later, [], []
        if later:
            self._finish_all(later, index)
        owed, self._owed = self._owed, []
        if owed:
            self._release_owed(owed, index)

    def _release_owed(self, owed: list[MovementRecord], index: IndexUpdate) -> None:
        """Release the claims of netted movements saved owing it, then save them again without the debt
        (which takes them out of the retry index). A fault between the saves and the release leaves the
        debt on the movements: the retry, or the row read again, releases then. Releasing is idempotent
        (``DeemedClaims.release`` of a key already released changes nothing), so a fault after the release
        and before the second save is harmless too."""
        unique = list({r.key: r for r in owed}.values())
        releases: list[tuple[str, Callable[[DeemedClaims], int]]] = [
            (r.sku, partial(_release, r.key, str(r.detail[RELEASE_OWED]))) for r in unique]
        for (sku, fn), left in zip(releases, self.store.claim_many(releases), strict=True):
            if left is None:
                self.store.claim(sku, fn)  # the SKU's item changed meanwhile: released alone
        for r in unique:
            r.detail.pop(RELEASE_OWED, None)
            r.updated_at = self.clock()
        self._finish_all(unique, index)

    def _finish_all(self, recs: list[MovementRecord], index: IndexUpdate) -> set[str]:
        """Save movements whose status is set, 100 per call; the keys saved. A movement another worker
        moved on since it was read is left to it (as ``_finish``): no index change, nothing follows.
        A saved movement owing its claim's release is queued for it (``_release_owed``)."""
        if not recs:
            return set()
        lost = self.store.save_many(recs)
        for rec in recs:
            if rec.key in lost:
                logger.info("movement changed by another worker; left to it", extra={"key": rec.key})
                continue
            if awaits_retry(rec):
                index.add_retry(rec)
            else:
                index.resolve(rec.key)
            if owes_release(rec):
                self._owed.append(rec)
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
        if awaits_retry(rec):
            index.add_retry(rec)
        else:
            index.resolve(rec.key)
        return True


def _release(key: str, claim: str, claims: DeemedClaims) -> int:
    claims.release(key, claim)
    return 0
