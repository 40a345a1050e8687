"""The movements' retry index holds any number of pending movements: it is a sparse index on the
Movements table, not one ReportJobs item (which failed at DynamoDB's 400 KB at ~1 500 pending)."""

import json
from datetime import UTC, datetime

from connector.adapters.movement_store import DynamoMovementStore, IndexUpdate, MovementRecord
from connector.adapters.store import ReportJob, StockMovement
from connector.domain.movements import APPLIED, FAILED, UNMATCHED

N = 2_000


def test_thousands_of_pending_movements_are_all_retried_and_the_index_item_stays_small(local_aws):
    for item in StockMovement.scan():
        item.delete()
    store = DynamoMovementStore()
    now = datetime.now(UTC)
    update = IndexUpdate()
    with StockMovement.batch_write() as batch:  # a large report's worth of unlinked SKUs
        for i in range(N):
            rec = MovementRecord(key=f"ledger#unlinked-{i:05d}", source="ledger", kind="lost",
                                 sku=f"NEVER LINKED/{i} é", created_at=now, status=UNMATCHED, quantity=-1,
                                 error="no Brightpearl product linked to Amazon SKU")
            batch.save(store._fill(StockMovement(rec.key), rec))
            update.add_retry(rec)
    store.update_index(update)

    retry = store.index()["retry"]
    assert len(retry) == N
    assert retry["ledger#unlinked-00007"]["sku"] == "NEVER LINKED/7 é"
    try:
        item = ReportJob.get(DynamoMovementStore.INDEX)
        assert len(json.dumps(item.detail)) < 2_000  # the item no longer carries the retry map
    except ReportJob.DoesNotExist:
        pass  # nothing quarantined: no index item at all

    # a movement that finishes leaves the index with its own save; a failed one stays
    done = store.get("ledger#unlinked-00001")
    done.status = APPLIED
    store.save(done)
    failed = store.get("ledger#unlinked-00002")
    failed.status = FAILED
    store.save(failed)
    retry = store.index()["retry"]
    assert "ledger#unlinked-00001" not in retry
    assert retry["ledger#unlinked-00002"]["status"] == FAILED
    assert len(retry) == N - 1
