"""A netted loss's claim release that fails after the movements were saved is not lost.

A loss and its find in one batch are netted (both skipped, nothing posted) and the loss's deemed-matching
claim is released on its SKU's claims item in a second write. Before, a fault between the two (a throttled
claims transaction, a killed process) left the loss final with its units still open on the claims item, so
a later reimbursement of the same unit was matched against a loss Brightpearl never saw: the stock stayed
one unit too high for good. Now the movement is saved owing the release, and the retry (or the row read
again) does it, once.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connector.domain.errors import Throttled
from connector.domain.movements import StockChange
from connector.domain.settings import GlobalSettings
from connector.usecases.movements import MovementService
from tests.fakes import InMemoryMovementStore
from tests.unit.test_ledger_movements import FakeBrightpearl


class FailingReleases(InMemoryMovementStore):
    """Raises from the ``fail_call``-th ``claim_many`` (the netted loss's release: the first call takes the
    claims of the chunk, the second releases the netted ones after the movements were saved)."""

    def __init__(self, fault: BaseException, fail_call: int = 2) -> None:
        super().__init__()
        self.fault, self.fail_call, self.calls = fault, fail_call, 0

    def claim_many(self, requests):
        self.calls += 1
        if self.calls == self.fail_call:
            raise self.fault
        return super().claim_many(requests)


class Killed(BaseException):
    """The process killed between two writes (not an Exception: nothing in the use case catches it)."""


LOSS = StockChange("ledger|l", "GET_LEDGER_DETAIL_VIEW_DATA", "lost", "SKU-1", -1, "M", line=2, claim="loss")
FOUND = StockChange("ledger|f", "GET_LEDGER_DETAIL_VIEW_DATA", "found", "SKU-1", 1, "F", line=3)
DEEMED = StockChange("reimbursement|1|SKU-1", "GET_FBA_REIMBURSEMENTS_DATA", "deemed", "SKU-1", -1,
                     "reimbursement 1", line=2, claim="deemed")


def _service(store, bp):
    settings = GlobalSettings(fba_warehouse_id=7)
    return MovementService(store, bp, {"SKU-1": 1}.get, lambda: settings,  # type: ignore[arg-type]
                           clock=lambda: datetime(2026, 7, 1, tzinfo=UTC))


@pytest.mark.parametrize("fault", [Throttled("claims throttled"), Killed()], ids=["throttled", "killed"])
@pytest.mark.parametrize("recovery", ["retry", "report read again"])
def test_a_release_that_fails_after_the_netted_movements_were_saved_is_done_by_the_next_run(fault, recovery):
    bp = FakeBrightpearl({1: 10})
    store = FailingReleases(fault)
    with pytest.raises(type(fault)):
        _service(store, bp).ingest([LOSS, FOUND])
    assert {r.status for r in store.items.values()} == {"skipped"}  # saved (netted) before the fault
    assert bp.stock[1] == 10 and bp.requests == 0

    again = _service(store, bp)  # a new invocation (the old one is gone)
    if recovery == "retry":
        again.retry_pending()
    else:
        again.ingest([LOSS, FOUND])
    assert store.claims["SKU-1"].losses == 0  # the netted loss is no longer open
    assert bp.requests == 0 and bp.stock[1] == 10  # nothing posted for the netted pair, then or now
    assert "ledger|l" not in (again.store.index().get("retry") or {})  # settled: the retry leaves it

    again.ingest([DEEMED])  # Amazon reimburses the unit: it reduces the stock itself (10 - 1 + 1 - 1)
    assert bp.stock[1] == 9
    again.retry_pending()
    again.ingest([LOSS, FOUND, DEEMED])  # everything read again: nothing more
    assert bp.stock[1] == 9 and bp.requests == 1
    # the reimbursement's unit is the one open claim (a ledger loss of it read later is not reduced twice)
    assert (store.claims["SKU-1"].losses, store.claims["SKU-1"].deemed) == (0, 1)


def test_a_release_done_but_not_yet_recorded_on_the_movement_is_not_done_twice():
    """The release written, then the process killed before the movement says so: the retry releases
    again, which changes nothing (an earlier loss of the SKU stays open for its reimbursement)."""
    bp = FakeBrightpearl({1: 10})
    store = FailingReleases(Killed(), fail_call=99)
    earlier = StockChange("ledger|e", "GET_LEDGER_DETAIL_VIEW_DATA", "lost", "SKU-1", -2, "M", line=9, claim="loss")
    svc = _service(store, bp)
    svc.ingest([earlier])
    assert bp.stock[1] == 8 and store.claims["SKU-1"].losses == 2

    real_save_many = store.save_many
    saves = []

    def save_many_then_die(recs):
        recs = list(recs)
        saves.append(recs)
        if len(saves) == 2:  # the second save of the chunk: the movement no longer owing its release
            raise Killed()
        return real_save_many(recs)

    store.save_many = save_many_then_die  # type: ignore[method-assign]
    with pytest.raises(Killed):
        svc.ingest([LOSS, FOUND])
    assert store.claims["SKU-1"].losses == 2  # the netted loss released; the earlier one still open
    store.save_many = real_save_many  # type: ignore[method-assign]
    _service(store, bp).retry_pending()
    assert store.claims["SKU-1"].losses == 2
    _service(store, bp).ingest([DEEMED])  # matched against the earlier loss: no second reduction
    assert bp.stock[1] == 8


class KilledBetweenTransactions(InMemoryMovementStore):
    """Saves a batch 100 movements at a time, in order, as the DynamoDB store's TransactWriteItems do, and
    is killed after the first 100 of its first batch that is larger than that."""

    def __init__(self) -> None:
        super().__init__()
        self.killed = False

    def save_many(self, recs):
        recs = list(recs)
        for start in range(0, len(recs), 100):
            super().save_many(recs[start:start + 100])
            if start == 0 and len(recs) > 100 and not self.killed:
                self.killed = True
                raise Killed()
        return set()


def test_a_netted_pair_is_saved_in_one_transaction_so_a_kill_between_transactions_never_splits_it():
    """99 rows of an unlinked SKU settle before the pair in the chunk; the pair's two saves must not fall
    on both sides of a transaction boundary, or the next run posts the half left pending alone."""
    bp = FakeBrightpearl({1: 10})
    store = KilledBetweenTransactions()
    unlinked = [StockChange(f"ledger|u{i}", "GET_LEDGER_DETAIL_VIEW_DATA", "found", "NOT-LINKED", 1, "F", line=4 + i)
                for i in range(99)]
    rows = [*unlinked, StockChange(LOSS.key, LOSS.source, LOSS.kind, LOSS.sku, LOSS.quantity, LOSS.why, line=200,
                                   claim="loss"), FOUND]
    with pytest.raises(Killed):
        _service(store, bp).ingest(rows)
    _service(store, bp).ingest(rows)  # read again
    _service(store, bp).retry_pending()
    assert bp.requests == 0 and bp.stock[1] == 10  # the pair netted: Brightpearl sees nothing, then or now
    assert {store.items[k].status for k in ("ledger|l", "ledger|f")} == {"skipped"}
