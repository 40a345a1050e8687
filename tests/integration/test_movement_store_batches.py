"""The movement store's batch operations on DynamoDB (moto): BatchGetItem / TransactWriteItems of 100 keep
the single operations' guarantees — a create only where the key is absent, a save only on the version read."""

from __future__ import annotations

from datetime import UTC, datetime

from connector.adapters.movement_store import DynamoMovementStore, MovementRecord
from connector.adapters.store import StockMovement
from connector.domain.movements import APPLIED, IN_FLIGHT, PENDING

N = 250  # more than two transactions and BatchGetItem pages


def _rec(i: int, status: str = PENDING) -> MovementRecord:
    return MovementRecord(key=f"batch|ledger|{i:04d}|SKU /&+ é", source="ledger", kind="lost", sku=f"SKU {i % 7} é",
                          created_at=datetime(2026, 7, 7, tzinfo=UTC), status=status, quantity=-1, ref=f"AMZ-{i}")


def test_create_many_creates_only_absent_keys_and_never_overwrites(local_aws):
    first = DynamoMovementStore()
    assert first.create(_rec(3))  # another worker created these before our batch
    done = _rec(7, APPLIED)
    assert first.create(done)
    store = DynamoMovementStore()
    created = store.create_many([_rec(i) for i in range(N)] + [_rec(5)])  # a key twice: written once
    assert created == {_rec(i).key for i in range(N)} - {_rec(3).key, _rec(7).key}
    assert StockMovement.get(_rec(7).key).status == APPLIED  # the existing movement is untouched
    found = store.get_many([_rec(i).key for i in range(N)] + ["batch|absent"])
    assert len(found) == N and "batch|absent" not in found
    assert found[_rec(11).key].sku == "SKU 4 é"


def test_save_many_saves_on_the_version_read_and_reports_the_others(local_aws):
    keys = [_rec(1000 + i).key for i in range(120)]
    DynamoMovementStore().create_many([_rec(1000 + i) for i in range(120)])
    mine, theirs = DynamoMovementStore(), DynamoMovementStore()
    recs = list(mine.get_many(keys).values())
    moved = theirs.get(keys[42])
    assert moved is not None
    moved.status = IN_FLIGHT
    theirs.save(moved)  # another worker moved one on since we read it
    for r in recs:
        r.status = IN_FLIGHT
    assert mine.save_many(recs) == {keys[42]}  # ours lost on that one only; the other 119 are saved
    assert sum(1 for k in keys if StockMovement.get(k).status == IN_FLIGHT) == 120
    again = [r for r in recs if r.key != keys[42]]
    for r in again:
        r.status = APPLIED
    assert mine.save_many(again) == set()  # the versions it wrote are the ones it saves on next
    assert StockMovement.get(keys[0]).status == APPLIED and StockMovement.get(keys[42]).status == IN_FLIGHT


def test_claim_many_matches_in_order_and_leaves_a_sku_changed_meanwhile_to_be_claimed_alone(local_aws, monkeypatch):
    from connector.adapters.store import ReportJob

    store, other = DynamoMovementStore(), DynamoMovementStore()
    a, b = "CLAIM A/é", "CLAIM B&+"
    other.claim(a, lambda c: c.apply_deemed("reimb-1", 2))  # a reimbursement deemed 2 units of A lost
    real = ReportJob.batch_get

    def racing(keys, **kw):  # another worker changes B's item between our read and our write
        got = list(real(keys, **kw))
        other.claim(b, lambda c: c.apply_loss("theirs", 1))
        return iter(got)

    monkeypatch.setattr(ReportJob, "batch_get", racing)
    out = store.claim_many([(a, lambda c: c.apply_loss("l1", 3)), (a, lambda c: c.apply_loss("l2", 1)),
                            (b, lambda c: c.apply_loss("l3", 5))])
    monkeypatch.setattr(ReportJob, "batch_get", real)
    assert out == [1, 1, None]  # 3 - 2 deemed, then 1; B not written: its caller claims it alone
    detail = ReportJob.get(DynamoMovementStore.CLAIMS + a).detail
    assert (detail["losses"], detail["deemed"]) == (2, 0) and set(detail["counted"]) == {"reimb-1", "l1", "l2"}
    assert ReportJob.get(DynamoMovementStore.CLAIMS + b).detail["losses"] == 1  # theirs only
    assert store.claim(b, lambda c: c.apply_loss("l3", 5)) == 5


def test_a_netted_loss_whose_release_is_throttled_after_its_save_is_released_by_the_retry(local_aws, monkeypatch):
    """On DynamoDB: the netted loss is saved owing its claim's release (in the ``by_retry`` index); the
    release's transaction throttled past its tries; the next run's retry releases it and takes it out."""
    from connector.adapters.store import ReportJob
    from connector.domain.errors import Throttled
    from connector.domain.movements import StockChange
    from connector.domain.settings import GlobalSettings
    from connector.usecases.movements import MovementService
    from tests.unit.test_ledger_movements import FakeBrightpearl

    bp, settings = FakeBrightpearl({1: 10}), GlobalSettings(fba_warehouse_id=7)
    sku = "NET / é&+"
    loss = StockChange("net|loss", "GET_LEDGER_DETAIL_VIEW_DATA", "lost", sku, -1, "M", line=2, claim="loss")
    found = StockChange("net|found", "GET_LEDGER_DETAIL_VIEW_DATA", "found", sku, 1, "F", line=3)

    def run() -> MovementService:
        return MovementService(DynamoMovementStore(), bp, {sku: 1}.get, lambda: settings)  # type: ignore[arg-type]

    real, calls = DynamoMovementStore.claim_many, []

    def throttled_release(self, requests):
        calls.append(len(requests))
        if len(calls) == 2:  # the chunk's second claims write: the netted loss's release
            raise Throttled("deemed-matching claims not written after 6 throttled attempts")
        return real(self, requests)

    monkeypatch.setattr(DynamoMovementStore, "claim_many", throttled_release)
    try:
        run().ingest([loss, found])
        raise AssertionError("the release was not attempted")
    except Throttled:
        pass
    saved = StockMovement.get("net|loss", consistent_read=True)
    assert saved.status == "skipped" and saved.awaiting_retry == "retry"
    assert ReportJob.get(DynamoMovementStore.CLAIMS + sku).detail["losses"] == 1  # still open after the fault
    assert "net|loss" in run().store.index()["retry"]

    run().retry_pending()
    assert ReportJob.get(DynamoMovementStore.CLAIMS + sku, consistent_read=True).detail["losses"] == 0
    saved = StockMovement.get("net|loss", consistent_read=True)
    assert saved.status == "skipped" and saved.awaiting_retry is None and "release_owed" not in saved.detail
    assert bp.requests == 0 and bp.stock[1] == 10
