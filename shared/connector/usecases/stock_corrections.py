"""Amazon inventory rows → Brightpearl stock corrections: claims, netting, batched posts.

Each stock movement is settled now (skipped, unmatched, dry run) or queued as an intent; intents are
netted per warehouse (a loss and its found again cancel out) and posted 100 per request, each marked in
flight first so an unanswered write is looked up by reference (``unanswered_writes``) before it is sent
again. Part of :class:`connector.usecases.movements.MovementService`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from connector.domain.errors import PortError, Refused, Throttled, UncertainWrite
from connector.domain.movement_records import RELEASE_OWED, IndexUpdate, MovementRecord
from connector.domain.movements import (
    APPLIED,
    DRY_RUN,
    FAILED,
    IN_FLIGHT,
    PENDING,
    SKIPPED,
    UNMATCHED,
    Correction,
    DeemedClaims,
    StockCorrection,
    batches,
    net_pairs,
)
from connector.domain.returns import ledger_return_decision
from connector.domain.settings import GlobalSettings
from connector.usecases.unanswered_writes import UnansweredWrites

RETURN_KIND = "return"

SkuResolver = Callable[[str], int | None]
# Many SKUs at once → {sku: product id} for those linked (absent: unlinked). Optional; one at a time without it.
SkuBatchResolver = Callable[[Collection[str]], dict[str, int]]

# A movement marked in flight is being posted by the worker that marked it (which may be waiting on
# the shared governor); other workers leave it alone this long before settling it by reference.
IN_FLIGHT_LEASE = timedelta(minutes=15)


@dataclass
class _Intent:
    rec: MovementRecord
    warehouse_id: int
    product_id: int
    quantity: int
    lines: int = 1  # physical report lines this movement stands for (accounting)


def _take_claim(key: str, units: int, claim: str, claims: DeemedClaims) -> int:
    return claims.apply_loss(key, units) if claim == "loss" else claims.apply_deemed(key, units)


class StockCorrections(UnansweredWrites):
    """Driving stock movements to Brightpearl stock corrections."""

    resolve_sku: SkuResolver
    resolve_skus: SkuBatchResolver | None
    currency: str
    batch_size: int
    _linked: dict[str, int | None]
    _restocks: dict[str, bool]

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
                    self._owe_release(rec)
                    self._finish_later(rec, SKIPPED, netted=True,
                                       reason=f"{rec.reason}; netted against {other.key} in the same batch")
            for chunk in batches([by_key[c.key] for c in remaining], self.batch_size):
                self._post(wid, chunk, index, currency)

    @staticmethod
    def _owe_release(rec: MovementRecord) -> None:
        """A netted loss (or deemed reduction) never reached Brightpearl: it must not stay open for
        deemed matching, or a later reimbursement of it is matched and the stock drifts by its units.
        The debt is saved with the skipped movement and released after it (``_release_owed``)."""
        claim = rec.detail.get("claim")
        if claim:
            rec.detail[RELEASE_OWED] = str(claim)
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
        moves: dict[int, int] = {}
        for it in chunk:
            moves[it.product_id] = moves.get(it.product_id, 0) + it.quantity
        for it in chunk:
            it.rec.detail["hwm"] = hwm  # where a look-up for this write starts if its answer is lost
            if it.product_id in before:
                it.rec.detail["on_hand_before"] = before[it.product_id]
                # One request can carry several movements of one product: the figure moves by their sum,
                # and each of them is settled by that sum (the request lands whole or not at all).
                it.rec.detail["request_moves"] = moves[it.product_id]
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
