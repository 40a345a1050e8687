"""The deemed-matching claims item of one SKU stays bounded however many losses the SKU has had
(it used to keep one entry per lifetime loss and failed at DynamoDB's 400 KB after ~3 600)."""

import json
from datetime import UTC, datetime, timedelta

from connector.adapters.movement_store import CLAIM_MEMORY, DynamoMovementStore
from connector.adapters.store import ReportJob


def test_years_of_losses_keep_the_claims_item_small_and_recent_rows_idempotent(local_aws):
    now = [datetime(2024, 1, 1, tzinfo=UTC)]
    store = DynamoMovementStore(clock=lambda: now[0])
    sku = "MUG / blue & co"
    for day in range(300):  # 300 days, 3 losses a day: 900 lifetime losses, ten times the window
        now[0] = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=day)
        for n in range(3):
            left = store.claim(sku, lambda c, k=f"loss#{day}#{n}": c.apply_loss(k, 1))
            assert left == 1
    item = ReportJob.get(DynamoMovementStore.CLAIMS + sku)
    size = len(json.dumps(item.detail))
    assert len(item.detail["counted"]) <= 3 * (CLAIM_MEMORY.days + 1)
    assert size < 10_000  # whatever the history's length (400 KB is the limit)
    assert item.detail["losses"] == 900  # the open-loss total is kept exactly
    # a row re-read within the window is still recognised: no second reduction
    assert store.claim(sku, lambda c: c.apply_loss("loss#299#0", 1)) == 1
    assert ReportJob.get(DynamoMovementStore.CLAIMS + sku).detail["losses"] == 900
    # a reimbursement still matches open losses
    assert store.claim(sku, lambda c: c.apply_deemed("reimb#1", 3)) == 0
    assert ReportJob.get(DynamoMovementStore.CLAIMS + sku).detail["losses"] == 897
