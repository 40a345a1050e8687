"""A webhook storm end to end (issue 14 item 2): many separate webhooks through the webhook function,
the stock-change queue (moto) and the stock-change function to the Amazon simulator — coalesced into
one batch, one Brightpearl read per ID set of the union, one feed; failures handed back per product;
a bulk ID set split into bounded messages and worked under the product budget, none lost."""

from __future__ import annotations

import json
import math
import random

import pytest

from connector.adapters.repositories import ChannelSettings, GlobalSettings, LinkRepository, SettingsRepository
from connector.adapters.store import ListingLink, Setting
from local.queues import drain, pump
from local.runtime import load_handler_module
from local.stack import start_stack
from simulators.spapi.demo import UK

pytestmark = pytest.mark.e2e

TOKEN = "s" * 40
AWKWARD = ["", " blue", "/XL", "&co", "+1", "-thé"]


def _sku(i: int) -> str:
    return f"STORM-{i:04d}{AWKWARD[i % len(AWKWARD)]}"


@pytest.fixture
def storm(local_aws):
    """150 linked products with gaps in their ids (+ unlinked ones between), confirmed on Amazon at 0."""
    rng = random.Random(14)
    pids, pid = [], 50_000
    for _ in range(150):
        pid += 1 + (rng.randrange(30) if rng.random() < 0.1 else 0)
        pids.append(pid)
    stock = [{"productId": p, "warehouseId": w, "onHand": rng.randint(1, 50)} for p in pids for w in (2, 3)]
    with start_stack(aws=local_aws, marketplaces=(UK,), amazon_rate_scale=100, bp_limit=200,
                     bp_window_seconds=0.6, webhook_token=TOKEN) as stack:
        stack.bp.seed({"warehouses": [{"id": 2, "name": "Main"}, {"id": 3, "name": "Overflow"}],
                       "products": [{"id": p, "sku": _sku(i)} for i, p in enumerate(pids)], "stock": stock})
        stack.amazon.seed({"listings": {_sku(i): {"channel": "MFN", "quantity": 0, "marketplaces": [UK]}
                                        for i in range(len(pids))}})
        stack.clear(Setting)
        settings = SettingsRepository()
        settings.save_global(GlobalSettings(mfn_warehouses=[2, 3], patch_threshold=20))
        settings.save_channel(UK, ChannelSettings(sync_enabled=True))
        stack.link([(UK, _sku(i), p, "MFN") for i, p in enumerate(pids)])
        with ListingLink.batch_write() as batch:  # connected earlier: checked on Amazon, confirmed at 0
            for link in ListingLink.scan():
                link.amazon_status, link.last_confirmed_quantity = "confirmed", 0
                batch.save(link)
        stack.purge("StockChangeQueue")
        yield stack, pids


def _webhook(stack, id_set: str) -> dict:
    event = {"pathParameters": {"token": TOKEN}, "requestContext": {"requestId": f"req-{id_set[:20]}"},
             "body": json.dumps({"accountCode": "acme", "resourceType": "product", "id": id_set,
                                 "lifecycleEvent": "modified", "fullEvent": "product.modified.on-hand-modified"})}
    out = stack.invoke("BrightpearlWebhookFunction", event)
    assert out["statusCode"] == 200, out
    return json.loads(out["body"])


def _finish_feeds(stack) -> None:
    stack.amazon.clock.advance(120)  # Amazon processes the feed and notifies
    stack.amazon.tick()
    pump(stack.aws, "NotificationsFunction")


def test_a_storm_of_separate_webhooks_is_one_batch_one_read_per_id_set_and_one_feed(storm):
    stack, pids = storm
    for pid in pids:
        stack.bp.adjust_on_hand(pid, 2, 1)  # Brightpearl's on-hand changes (its own webhooks are not registered)
    for pid in pids:  # the storm: one webhook per product, one product twice
        _webhook(stack, str(pid))
    _webhook(stack, str(pids[3]))
    bp0, amazon0 = len(stack.bp.requests()), len(stack.amazon.requests())

    results = pump(stack.aws, "StockChangeFunction")

    assert results == [{"batchItemFailures": []}]  # one invocation for the whole storm
    bp_routes = [e.route for e in stack.bp.requests()[bp0:] if e.route not in (None, "oauth-token")]
    assert bp_routes.count("get-product-availability") == math.ceil(len(pids) / 100)
    assert bp_routes.count("get-product-bundle") == math.ceil(len(pids) / 200)
    amazon_routes = [e.route for e in stack.amazon.requests()[amazon0:]]
    assert amazon_routes.count("createFeed") == 1
    assert "patchListingsItem" not in amazon_routes and "getListingsItem" not in amazon_routes
    _finish_feeds(stack)
    want = _sellable(stack, pids)
    got = {_sku(i): stack.amazon.world.listings[_sku(i)].quantity for i in range(len(pids))}
    assert got == want
    links = {link.sku: link for link in LinkRepository().by_products(pids)}
    assert {s: int(link.last_confirmed_quantity) for s, link in links.items()} == want


def stack_pids(stack) -> list[int]:
    return sorted(p for p in stack.bp.world.catalog.products)


def _sellable(stack, pids) -> dict[str, int]:
    """What Brightpearl says each product can sell from warehouses 2 and 3, read from the simulator."""
    inventory = stack.bp.world.inventory
    index = {pid: i for i, pid in enumerate(stack_pids(stack))}
    return {_sku(index[pid]): sum(inventory.on_hand(pid, w) for w in (2, 3)) for pid in pids}


def test_a_failed_push_hands_back_only_the_records_of_its_product(storm, monkeypatch):
    stack, pids = storm
    monkeypatch.setattr("connector.adapters.amazon.client.time.sleep", lambda s: None)  # back-off, instantly
    few = pids[:3]  # below the patch threshold: three patches
    for pid in few:
        stack.bp.adjust_on_hand(pid, 2, 2)
        _webhook(stack, str(pid))
    stack.amazon.add_fault({"match": "PATCH .*/items/[^/]+/STORM-0001", "status": 500, "count": 100})

    results = pump(stack.aws, "StockChangeFunction", expire_visibility=True)

    assert len(results[0]["batchItemFailures"]) == 1  # only the record naming the failed product
    left = drain(stack.aws.client("sqs"), stack.aws.queue_url("StockChangeQueue"))
    assert [json.loads(m["Body"])["idSet"] for m in left] == [str(pids[1])]
    want = _sellable(stack, few)
    assert stack.amazon.world.listings[_sku(0)].quantity == want[_sku(0)]
    assert stack.amazon.world.listings[_sku(2)].quantity == want[_sku(2)]
    assert stack.amazon.world.listings[_sku(1)].quantity == 0


def test_a_bulk_id_set_is_split_worked_under_the_budget_and_none_is_lost(storm, monkeypatch):
    stack, pids = storm
    app = load_handler_module("StockChangeFunction")
    monkeypatch.setattr(app, "PRODUCT_BUDGET", 400)
    for pid in pids:
        stack.bp.adjust_on_hand(pid, 3, 4)
    # A bulk import's set: a range over the linked products and the unlinked ids between and around them.
    lo, hi = pids[0] - 500, pids[-1] + 500
    answer = _webhook(stack, f"{lo}-{hi},{hi + 7}")
    assert answer["accepted"] == hi - lo + 2
    assert answer["messages"] == math.ceil(answer["accepted"] / 250)

    results = pump(stack.aws, "StockChangeFunction", max_batches=100)

    assert all(r == {"batchItemFailures": []} for r in results)
    # The budget held (at most 400 products per invocation; the rest queued again and worked later).
    assert math.ceil(answer["accepted"] / 400) <= len(results) <= answer["messages"]
    _finish_feeds(stack)
    want = _sellable(stack, pids)
    assert {_sku(i): stack.amazon.world.listings[_sku(i)].quantity for i in range(len(pids))} == want
    assert drain(stack.aws.client("sqs"), stack.aws.queue_url("StockChangeQueue")) == []
