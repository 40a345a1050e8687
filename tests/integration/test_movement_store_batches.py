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
