"""Restocked returns found by marker (issue 14): the ledger asks a chunk's CustomerReturns rows in one
BatchGetItem instead of a ``by_sku`` Query per SKU, and returns restocked before the markers existed are
still found (the store scans for them once, querying as before until that scan completes)."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import botocore.client

from connector.adapters import restock_markers
from connector.adapters.movement_store import DynamoMovementStore, MovementRecord
from connector.adapters.store import ReportJob, StockMovement
from connector.domain.movements import APPLIED


def _return(i: int, *, restocked: bool) -> MovementRecord:
    sku = f"RET {i} /&+ é"
    detail = {"channel": "FBA", "order_id": f"205-{i:07d}"}
    if restocked:
        detail.update(goods_in_id=900 + i, restocked=True)
    return MovementRecord(key=f"returns|{i}|{sku}", source="returns", kind="return", sku=sku,
                          created_at=datetime(2026, 7, 7, tzinfo=UTC), status=APPLIED, quantity=1,
                          match_key=f"return|205-{i:07d}|{sku}", detail=detail)


def _count_calls():
    calls: dict[str, int] = {}
    original = botocore.client.BaseClient._make_api_call

    def counting(self, operation_name, api_params):
        if self.meta.service_model.service_name == "dynamodb":
            calls[operation_name] = calls.get(operation_name, 0) + 1
        return original(self, operation_name, api_params)

    return calls, original, counting


def _fresh_markers_state():
    with contextlib.suppress(ReportJob.DoesNotExist):
        ReportJob.get(restock_markers.STATE).delete(add_version_condition=False)


def test_a_chunk_of_returns_is_answered_by_markers_in_batches(local_aws):
    _fresh_markers_state()
    writer = DynamoMovementStore()
    recs = [_return(i, restocked=i % 3 == 0) for i in range(150)]
    for r in recs[:75]:
        assert writer.create(r)
    for r in recs[75:]:  # saved later as restocked (the credit's goods-in came afterwards)
        restocked = r.detail.pop("restocked", False)
        writer.create(r)
        if restocked:
            r.detail["restocked"] = True
            writer.save(r)
    reader = DynamoMovementStore()
    pairs = [(r.sku, r.match_key) for r in recs] + [("NEVER SEEN", "return|none|NEVER SEEN")]
    assert reader.restocked(pairs[:1]) == {recs[0].match_key}  # completes the (one-page) scan first
    calls, original, counting = _count_calls()
    botocore.client.BaseClient._make_api_call = counting
    try:
        found = reader.restocked(pairs)
    finally:
        botocore.client.BaseClient._make_api_call = original
    assert found == {r.match_key for i, r in enumerate(recs) if i % 3 == 0}
    assert calls == {"BatchGetItem": 2}, calls  # 151 markers: two BatchGetItem of <= 100, no Query


def test_a_return_restocked_before_the_markers_is_still_found(local_aws):
    _fresh_markers_state()
    old = _return(7001, restocked=True)
    # As the code before the markers wrote it: the movement alone, no marker.
    item = DynamoMovementStore._fill(StockMovement(old.key), old)
    item.save()
    plain = _return(7002, restocked=False)
    DynamoMovementStore().create(plain)
    store = DynamoMovementStore()
    assert store.restocked([(old.sku, old.match_key), (plain.sku, plain.match_key)]) == {old.match_key}
    # The scan wrote its marker and completed: a new store answers from the markers alone.
    assert ReportJob.get(restock_markers.STATE).detail == {"complete": True}
    assert ReportJob.get(restock_markers.PREFIX + old.match_key) is not None
    calls, original, counting = _count_calls()
    botocore.client.BaseClient._make_api_call = counting
    try:
        assert DynamoMovementStore().restocked([(old.sku, old.match_key)]) == {old.match_key}
    finally:
        botocore.client.BaseClient._make_api_call = original
    assert "Query" not in calls and "Scan" not in calls, calls


def test_an_unfinished_scan_falls_back_to_the_query(local_aws, monkeypatch):
    _fresh_markers_state()
    old = _return(7101, restocked=True)
    DynamoMovementStore._fill(StockMovement(old.key), old).save()
    monkeypatch.setattr(restock_markers, "BACKFILL_PAGES", 0)  # the scan makes no progress in this call
    store = DynamoMovementStore()
    assert store.restocked([(old.sku, old.match_key)]) == {old.match_key}  # answered by by_sku, as before
    assert not (ReportJob.get(restock_markers.STATE).detail or {}).get("complete")
