"""Settling Brightpearl writes that got no answer: look them up by reference, or by their figures.

A stock correction marked in flight whose answer was lost is looked up by its reference among the
goods notes after the highest id known when it was sent; the connector's first correction ever, with no
such id, is settled by the on-hand figures read before it was sent. Nothing is ever sent twice. Part of
:class:`connector.usecases.movements.MovementService`.
"""

from __future__ import annotations

from connector.domain.errors import PortError, Throttled
from connector.domain.movement_records import IndexUpdate, MovementRecord
from connector.domain.movements import APPLIED, IN_FLIGHT, PENDING
from connector.usecases.movement_writes import MovementWrites


class UnansweredWrites(MovementWrites):
    """Recovery of corrections in flight (their answer lost, or another worker's lease expired)."""

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
        moved by exactly what the request moved for that product (the sum of its movements of it) → it
        landed; anything else (someone else moved the product, or the request's movements of it net to 0)
        → left in flight, never sent twice. Assumes nothing else corrected that product in between."""
        ids = [r.product_id for r in recs if r.product_id is not None and "on_hand_before" in r.detail]
        try:
            now = self.bp.on_hand(wid, ids) if ids else {}
        except PortError:
            now = {}
        for r in recs:
            was, pid = r.detail.get("on_hand_before"), r.product_id
            moved = int(r.detail.get("request_moves", r.quantity))
            if was is not None and pid in now and moved != 0 and now[pid] == int(was) + moved:
                self._finish(r, APPLIED, index, reason=f"{r.reason}; confirmed in Brightpearl by its figures")
            elif was is not None and pid in now and moved != 0 and now[pid] == int(was):
                r.detail.pop("on_hand_before", None)
                r.detail.pop("request_moves", None)
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
