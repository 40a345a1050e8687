"""The stock-change consumer without reserved concurrency: overlapping batches read and push one after
the other under a DynamoDB lease, so Amazon ends on the latest Brightpearl quantity; a dead holder blocks
for one short ttl only; a held lease hands the work back instead of waiting into the Lambda timeout."""

from __future__ import annotations

import json
import threading
import time

import pytest

from connector.adapters.lease import HeartbeatLease, LeaseTimeout
from connector.adapters.repositories import ChannelSettings, GlobalSettings, SettingsRepository
from connector.adapters.store import GovernorItem, Setting
from local.stack import start_stack
from simulators.spapi.demo import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, UK

pytestmark = pytest.mark.e2e
MAIN = 2
LEASE_KEY = "lease#stock-change"  # functions/stock_change/app.py


@pytest.fixture
def stack(local_aws):
    with start_stack(aws=local_aws, marketplaces=(UK,), amazon_rate_scale=100, bp_limit=10_000) as s:
        s.bp.seed({"warehouses": [{"id": MAIN, "name": "Main DC"}], "products": [{"id": 1007, "sku": "SHIRT-BL-M"}],
                   "stock": [{"productId": 1007, "warehouseId": MAIN, "onHand": 40}]})
        s.amazon.seed({"credentials": {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                                       "refresh_token": REFRESH_TOKEN},
                       "listings": {"SHIRT-BL-M": {"channel": "MFN", "quantity": 0, "marketplaces": [UK]}}})
        s.clear(Setting, GovernorItem)
        SettingsRepository().save_global(GlobalSettings(mfn_warehouses=[MAIN]))
        SettingsRepository().save_channel(UK, ChannelSettings(sync_enabled=True))
        s.link([(UK, "SHIRT-BL-M", 1007, "MFN")])
        yield s


def batch(n: int) -> dict:
    return {"Records": [{"messageId": f"m{n}", "receiptHandle": f"r{n}", "body": json.dumps({
        "idSet": "1007", "fullEvent": "product.modified.on-hand-modified"}), "messageAttributes": {},
        "attributes": {}, "eventSource": "aws:sqs"}]}


def test_overlapping_batches_leave_amazon_on_the_latest_quantity(stack):
    # The first batch's push is slow to land at Amazon: without serialising, the second batch (reading
    # the newer, lower on-hand) would push first and the first would then overwrite it with 40.
    stack.amazon.add_fault({"match": "patchListingsItem", "kind": "latency", "seconds": 1.5, "count": 1})
    reads = len(stack.bp.requests(route="get-product-availability"))
    results = {}
    first = threading.Thread(target=lambda: results.update(a=stack.invoke("StockChangeFunction", batch(1))))
    first.start()
    deadline = time.monotonic() + 10
    while len(stack.bp.requests(route="get-product-availability")) == reads and time.monotonic() < deadline:
        time.sleep(0.02)
    stack.bp.adjust_on_hand(1007, MAIN, -10)  # 30 now, while the first batch's push is in flight
    second = threading.Thread(target=lambda: results.update(b=stack.invoke("StockChangeFunction", batch(2))))
    second.start()
    first.join(30)
    second.join(30)
    assert results == {"a": {"batchItemFailures": []}, "b": {"batchItemFailures": []}}
    assert stack.amazon.world.listings["SHIRT-BL-M"].quantity == 30
    assert GovernorItem.count(LEASE_KEY) == 0  # released


def test_a_dead_holders_lease_blocks_for_its_short_ttl_only(stack):
    GovernorItem(LEASE_KEY, owner="killed-lambda", lease_until=time.time() + 2).save()  # its ttl left: 2 s
    started = time.monotonic()
    assert stack.invoke("StockChangeFunction", batch(1)) == {"batchItemFailures": []}
    assert time.monotonic() - started >= 1.5
    assert stack.amazon.world.listings["SHIRT-BL-M"].quantity == 40


def test_a_held_lease_is_renewed_and_a_waiter_gives_up_by_name(stack):
    with HeartbeatLease("lease#test", ttl=0.6):
        time.sleep(1.5)  # past the ttl: only the renewals keep it
        with pytest.raises(LeaseTimeout, match="lease#test"), HeartbeatLease("lease#test", ttl=0.6, max_wait=0.3):
            pass
    with HeartbeatLease("lease#test", ttl=0.6, max_wait=0.3) as lease:  # released on exit: free at once
        assert lease.waited < 0.3
