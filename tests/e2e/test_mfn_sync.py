"""Merchant-fulfilled stock sync end to end.

Brightpearl simulator on-hand change → its webhook over HTTP → API Gateway stand-in → webhook
function → stock-change queue (moto) → stock-change function → Brightpearl reads → SP-API simulator.
Every assertion reads the outcome where it lands: the Amazon simulator's listing quantity, the
Brightpearl journal, the SES mailbox.
"""

from __future__ import annotations

import json

import pytest

from connector.adapters.repositories import ChannelSettings, GlobalSettings, LinkRepository, SettingsRepository
from connector.adapters.store import Setting
from local.aws import sent_emails
from local.queues import drain, pump
from local.stack import start_stack
from simulators.spapi.demo import CLIENT_ID, CLIENT_SECRET, DE, REFRESH_TOKEN, UK
from tests.emails import title

pytestmark = pytest.mark.e2e

SELLER = "A1SELLER"
TOKEN = "w" * 40

BP_SEED = {
    "warehouses": [{"id": 2, "name": "Main DC"}, {"id": 3, "name": "Overflow"}, {"id": 7, "name": "Amazon FBA"}],
    "products": [
        {"id": 1007, "sku": "SHIRT-BL-M", "productGroupId": 212,
         "options": [{"optionId": 1, "optionName": "Size", "optionValueId": 3, "optionValue": "M"}]},
        {"id": 1008, "sku": "SHIRT-BL-L", "productGroupId": 212,
         "options": [{"optionId": 1, "optionName": "Size", "optionValueId": 4, "optionValue": "L"}]},
        {"id": 1011, "sku": "SOCKS-GR"},
        {"id": 1013, "sku": "GIFT-SET", "bundleComponents": [{"productId": 1007, "productQuantity": 1},
                                                             {"productId": 1011, "productQuantity": 2}]},
        {"id": 1020, "sku": "TEA-FBA"},
        {"id": 1030, "sku": "MUG-EU"},
    ],
    "stock": [
        {"productId": 1007, "warehouseId": 2, "onHand": 40}, {"productId": 1007, "warehouseId": 3, "onHand": 8},
        {"productId": 1008, "warehouseId": 2, "onHand": 12},
        {"productId": 1011, "warehouseId": 2, "onHand": 30},
        {"productId": 1020, "warehouseId": 7, "onHand": 50}, {"productId": 1020, "warehouseId": 2, "onHand": 5},
        {"productId": 1030, "warehouseId": 2, "onHand": 9}, {"productId": 1030, "warehouseId": 3, "onHand": 4},
    ],
}

AMAZON_SEED = {
    "credentials": {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "refresh_token": REFRESH_TOKEN},
    "listings": {
        "SHIRT-BL-M": {"channel": "MFN", "quantity": 0, "lead_time": 3, "marketplaces": [UK]},
        "SHIRT-BL-L": {"channel": "MFN", "quantity": 0, "marketplaces": [UK]},
        "GIFT-SET": {"channel": "MFN", "quantity": 0, "marketplaces": [UK]},
        "TEA-FBA": {"channel": "FBA", "marketplaces": [UK], "fba": {"SELLABLE": 33}},
        "MUG-EU": {"channel": "MFN", "quantity": 0, "marketplaces": [UK, DE]},
    },
}

LINKS = [("SHIRT-BL-M", 1007, "MFN", UK), ("SHIRT-BL-L", 1008, "MFN", UK), ("GIFT-SET", 1013, "MFN", UK),
         ("TEA-FBA", 1020, "FBA", UK), ("MUG-EU", 1030, "MFN", UK), ("MUG-EU", 1030, "MFN", DE)]


@pytest.fixture
def world(local_aws):
    with start_stack(aws=local_aws, marketplaces=(UK, DE), amazon_rate_scale=100, api=True,
                     webhook_token=TOKEN) as stack:
        stack.bp.seed(BP_SEED)
        stack.amazon.seed(AMAZON_SEED)
        stack.clear(Setting)  # a fresh merchant: no settings, jobs or bookkeeping from other tests
        settings = SettingsRepository()
        settings.save_global(GlobalSettings(mfn_warehouses=[2, 3], patch_threshold=20))
        settings.save_channel(UK, ChannelSettings(sync_enabled=True))
        settings.save_channel(DE, ChannelSettings(sync_enabled=True))
        stack.link((mid, sku, pid, channel) for sku, pid, channel, mid in LINKS)
        assert stack.api
        stack.register_stock_webhook()
        stack.purge("StockChangeQueue", "NotificationsQueue")
        yield stack.bp, stack.amazon, local_aws


def settle(bp, local_aws):
    """Let Brightpearl deliver its webhooks, then let the stock-change function drain its queue."""
    assert bp.wait_webhooks_idle(10)
    return pump(local_aws, "StockChangeFunction")


def enqueue(aws, id_set, event="product.modified.on-hand-modified"):
    """A stock-change message as the webhook function writes it (e.g. a redelivery)."""
    aws.client("sqs").send_message(QueueUrl=aws.queue_url("StockChangeQueue"),
                                   MessageBody=json.dumps({"idSet": id_set, "fullEvent": event}))


def qty(amazon, sku):
    return amazon.world.listings[sku].quantity


def test_on_hand_change_reaches_the_amazon_listing(world):
    bp, amazon, aws = world
    # Connected by the operator: the connector reads the listing's lead time (3 days) from Amazon.
    assert operator("connect", marketplaceId=UK, sku="SHIRT-BL-M")["leadTimeDays"] == 3
    bp.adjust_on_hand(1007, 2, -5)  # 40 - 5 in Main DC + 8 in Overflow
    settle(bp, aws)
    assert qty(amazon, "SHIRT-BL-M") == 43
    # The bundle containing it was recomputed too: min(43 // 1, 30 // 2) = 15.
    assert qty(amazon, "GIFT-SET") == 15
    # Each push replaces the whole fulfillment_availability element; the lead time went with it.
    assert amazon.world.listings["SHIRT-BL-M"].lead_time == 3
    # Untouched listings were not pushed.
    assert qty(amazon, "SHIRT-BL-L") == 0
    link = LinkRepository().get(UK, "SHIRT-BL-M")
    assert (link.last_confirmed_quantity, link.last_result) == (43, "ACCEPTED")


def test_bundle_follows_its_scarcest_component(world):
    bp, amazon, aws = world
    bp.adjust_on_hand(1011, 2, -24)  # socks 30 → 6: the gift set can be made 3 times
    settle(bp, aws)
    assert qty(amazon, "GIFT-SET") == 3
    assert qty(amazon, "SHIRT-BL-M") == 0  # the shirt itself did not change, so it was not pushed


def test_each_variant_is_its_own_listing(world):
    bp, amazon, aws = world
    bp.adjust_on_hand(1008, 2, 3)
    settle(bp, aws)
    assert qty(amazon, "SHIRT-BL-L") == 15
    assert qty(amazon, "SHIRT-BL-M") == 0


def test_fba_listing_is_never_pushed(world):
    bp, amazon, aws = world
    bp.adjust_on_hand(1020, 2, 7)
    settle(bp, aws)
    patches = [e for e in amazon.requests(route="patchListingsItem")]
    assert patches == []
    assert amazon.world.listings["TEA-FBA"].channel == "FBA"


def test_sync_off_pushes_nothing_and_switching_on_pushes_every_listing(world):
    bp, amazon, aws = world
    from connector import wiring
    from connector.config import MfnSyncEnv, load

    sync = wiring.mfn_sync(wiring.Parts(load(MfnSyncEnv)))
    sync.set_sync(UK, False)
    bp.adjust_on_hand(1008, 2, 3)
    settle(bp, aws)
    assert qty(amazon, "SHIRT-BL-L") == 0
    assert amazon.requests(route="patchListingsItem") == []

    report = sync.set_sync(UK, True)
    assert qty(amazon, "SHIRT-BL-L") == 15
    assert qty(amazon, "SHIRT-BL-M") == 48
    assert qty(amazon, "GIFT-SET") == 15
    assert "TEA-FBA" not in report.patched


def test_eu_sku_from_different_warehouses_warns_once_and_pushes_the_lowest(world):
    bp, amazon, aws = world
    SettingsRepository().save_channel(DE, ChannelSettings(sync_enabled=True, mfn_warehouses=[2]))
    before = len(sent_emails(aws))
    bp.adjust_on_hand(1030, 2, 1)  # UK: 10 + 4 = 14 (warehouses 2,3); DE: 10 (warehouse 2)
    settle(bp, aws)
    assert qty(amazon, "MUG-EU") == 10
    mails = sent_emails(aws)[before:]
    assert len(mails) == 1
    assert "MUG-EU" in mails[0]["text"] and "1 SKU(s) fed from different settings" in mails[0]["subject"]
    assert f"{UK}: 14" in mails[0]["text"] and f"{DE}: 10" in mails[0]["text"]

    bp.adjust_on_hand(1030, 2, 1)
    settle(bp, aws)
    assert qty(amazon, "MUG-EU") == 11
    assert len(sent_emails(aws)) == before + 1  # the same conflict is not emailed again


def test_redelivered_change_pushes_nothing_more(world):
    bp, amazon, aws = world
    bp.adjust_on_hand(1008, 2, 3)
    settle(bp, aws)
    first = len(amazon.requests(route="patchListingsItem"))
    for _ in range(3):  # Brightpearl at-least-once: the same webhook again, and again
        enqueue(aws, "1008")
        pump(aws, "StockChangeFunction")
    assert len(amazon.requests(route="patchListingsItem")) == first
    assert qty(amazon, "SHIRT-BL-L") == 15


def test_unlinked_and_deleted_products(world):
    bp, amazon, aws = world
    enqueue(aws, "5000-5002")
    results = pump(aws, "StockChangeFunction")
    assert results[-1] == {"batchItemFailures": []}
    assert amazon.requests(route="patchListingsItem") == []

    # SHIRT-BL-L was confirmed at 15, then the product disappears from Brightpearl: pushed as 0.
    bp.adjust_on_hand(1008, 2, 3)
    settle(bp, aws)
    del bp.world.products[1008]
    enqueue(aws, "1008", "product.destroyed")
    pump(aws, "StockChangeFunction")
    assert qty(amazon, "SHIRT-BL-L") == 0


def test_a_failing_amazon_leaves_the_change_on_the_queue_until_it_succeeds(world, monkeypatch):
    bp, amazon, aws = world
    monkeypatch.setattr("connector.adapters.amazon.client.time.sleep", lambda s: None)  # back-off, instantly
    amazon.add_fault({"match": "patchListingsItem", "status": 500, "count": 50})
    bp.adjust_on_hand(1008, 2, 3)
    assert bp.wait_webhooks_idle(10)
    results = pump(aws, "StockChangeFunction", expire_visibility=True)
    assert len(results[-1]["batchItemFailures"]) == 1  # handed back to the queue
    link = LinkRepository().get(UK, "SHIRT-BL-L")
    assert link.last_result.startswith("error")
    assert link.last_confirmed_quantity is None
    assert qty(amazon, "SHIRT-BL-L") == 0

    amazon.clear_faults()
    pump(aws, "StockChangeFunction")  # SQS redelivers the record
    assert qty(amazon, "SHIRT-BL-L") == 15


def test_many_changes_go_in_one_feed_whose_report_confirms_each_listing(world):
    bp, amazon, aws = world
    SettingsRepository().save_global(GlobalSettings(mfn_warehouses=[2, 3], patch_threshold=0))
    LinkRepository().connect(seller_id=SELLER, marketplace_id=UK, sku="GHOST-SKU", product_id=1011, channel="MFN")
    bp.adjust_on_hand(1011, 2, -2)  # socks 28 (GHOST-SKU, unknown to Amazon) and the gift set (14)
    settle(bp, aws)
    assert amazon.requests(route="patchListingsItem") == []
    assert len(amazon.requests(route="createFeed", ok_only=True)) == 1
    pending = LinkRepository().get(UK, "GIFT-SET").last_result
    assert pending.startswith("feed:")
    feed_id = pending.split(":")[1]

    amazon.clock.advance(120)  # Amazon processes the feed, then notifies the SQS destination
    amazon.tick()
    pump(aws, "NotificationsFunction")
    assert qty(amazon, "GIFT-SET") == 14
    gift, ghost = LinkRepository().get(UK, "GIFT-SET"), LinkRepository().get(UK, "GHOST-SKU")
    assert (gift.last_confirmed_quantity, gift.last_result) == (14, "ACCEPTED")
    # GHOST-SKU is not a listing of the seller: flagged, never sent (Amazon would have accepted it).
    assert ghost.amazon_status == "not-found" and ghost.last_result.startswith("not on Amazon")
    assert ghost.last_pushed_quantity is None and amazon.world.offer_only == {}

    # The notification delivered again (at-least-once) changes nothing.
    before = [(link.listing_id, link.last_result) for link in LinkRepository().all()]
    from local.runtime import invoke

    note = {"notificationType": "FEED_PROCESSING_FINISHED", "payload": {"feedProcessingFinishedNotification": {
        "feedId": feed_id, "feedType": "JSON_LISTINGS_FEED", "processingStatus": "DONE"}}}
    invoke("NotificationsFunction", {"Records": [{"messageId": "dup", "body": json.dumps(note)}]})
    assert [(link.listing_id, link.last_result) for link in LinkRepository().all()] == before


def operator(command, **fields):
    from local.runtime import invoke

    return invoke("OperatorFunction", {"command": command, **fields})


def test_connecting_a_listing_pushes_it_now(world):
    _bp, amazon, _aws = world
    LinkRepository().disconnect(UK, "SHIRT-BL-L")
    result = operator("connect", marketplaceId=UK, sku="SHIRT-BL-L")  # product found by its SKU
    assert result["ok"] and result["productId"] == 1008 and result["pushed"]
    assert qty(amazon, "SHIRT-BL-L") == 12


def test_import_links_matches_brightpearl_skus_and_pushes(world):
    _bp, amazon, _aws = world
    for sku in ("SHIRT-BL-M", "SHIRT-BL-L", "GIFT-SET"):
        LinkRepository().disconnect(UK, sku)
    result = operator("import-links", marketplaceId=UK, listings=[
        {"sku": "SHIRT-BL-M"}, {"sku": "SHIRT-BL-L"}, {"sku": "GIFT-SET"}, {"sku": "NOT-IN-BRIGHTPEARL"}])
    assert result["ok"]
    assert (result["linked"], result["unmatched"]) == (3, ["NOT-IN-BRIGHTPEARL"])
    assert (qty(amazon, "SHIRT-BL-M"), qty(amazon, "SHIRT-BL-L"), qty(amazon, "GIFT-SET")) == (48, 12, 15)


def test_operator_switches_sync_and_names_bad_input(world):
    bp, amazon, aws = world
    assert operator("sync-off", marketplaceId=UK) == {"ok": True, "marketplaceId": UK, "sync": "off"}
    bp.adjust_on_hand(1008, 2, 3)
    settle(bp, aws)
    assert qty(amazon, "SHIRT-BL-L") == 0
    on = operator("sync-on", marketplaceId=UK)
    # shirts M and L, the gift set and the EU mug, planned with its DE link too (one EU quantity)
    assert on["ok"] and on["pushed"] == 5
    assert qty(amazon, "SHIRT-BL-L") == 15

    assert operator("connect", marketplaceId=UK, sku="NOPE")["error"].startswith(
        "connect: no Brightpearl product has SKU 'NOPE'")
    assert "channel" in operator("connect", marketplaceId=UK, sku="X", productId=1, channel="AFN")["error"]
    assert "unknown command 'explode'" in operator("explode")["error"]
    bad = operator("set-settings", **{"global": {"patch_threshold": -1}})
    assert not bad["ok"] and "patch_threshold" in bad["error"]
    good = operator("set-settings", channel=DE, values={"mfn_warehouses": [2]})
    assert good["channels"][DE]["mfn_warehouses"] == [2]


HARMFUL_SETTINGS = [
    ({"global": {"mfn_warehouses": [-1]}}, "global.mfn_warehouses.0"),
    ({"global": {"mfn_warehouses": [99]}}, "warehouse 99 does not exist in Brightpearl"),
    ({"global": {"mfn_warehouse": [2]}}, "global.mfn_warehouse: unknown setting (did you mean 'mfn_warehouses'?)"),
    ({"global": {"fba_warehouse_id": -7}}, "fba_warehouse_id"),
    ({"global": {"returns_warehouse_id": 42}}, "global.returns_warehouse_id: warehouse 42 does not exist"),
    ({"channel": UK, "values": {"buffer": {"percent": "50%"}}}, "buffer"),
    ({"channel": UK, "values": {"buffer": {"percent": 150}}}, "buffer"),
    ({"channel": UK, "values": {"buffer": {"keep_back": -5}}}, "buffer"),
    ({"channel": UK, "values": {"buffer": {"keepback": 5}}}, "buffer"),
    ({"channel": UK, "values": {"mfn_warehouses": [2, 98]}}, "values.mfn_warehouses: warehouse 98 does not exist"),
    ({"channel": UK, "values": {"sync": False}}, "values.sync: unknown setting"),
    ({"values": {"sync_enabled": False}}, '"values" needs "channel"'),
    ({"global": {"mfn_warehouses": [2]}, "dry_run": True}, "dry_run: Extra inputs are not permitted"),
]


@pytest.mark.parametrize(("fields", "named"), HARMFUL_SETTINGS)
def test_a_harmful_or_unknown_setting_is_refused_by_name_and_changes_nothing(world, fields, named):
    bp, amazon, aws = world
    before = operator("get-settings")
    refused = operator("set-settings", **fields)
    assert refused["ok"] is False
    assert named in refused["error"], refused["error"]
    assert operator("get-settings") == before  # nothing saved
    bp.adjust_on_hand(1008, 2, 3)  # and the listings still get their real quantities
    settle(bp, aws)
    assert qty(amazon, "SHIRT-BL-L") == 15


@pytest.mark.parametrize(("command", "fields", "named"), [
    ("approve-reconciliation", {"id": "x", "dry_run": True}, "dry_run: Extra inputs are not permitted"),
    ("approve-reconciliation", {"id": "x", "max_units": 3}, "max_units: Extra inputs are not permitted"),
    ("connect", {"marketplaceId": UK, "sku": "SHIRT-BL-L", "product": 1008}, "product: Extra inputs"),
    ("import-links", {"marketplaceId": UK, "listings": [{"sku": "A", "qty": 1}]}, "listings.0.qty: Extra inputs"),
    ("sync-on", {"marketplace": UK}, "marketplace: Extra inputs"),
    ("get-settings", {"verbose": True}, "verbose: Extra inputs"),
])
def test_every_command_refuses_an_unknown_field_by_name(world, command, fields, named):
    _bp, amazon, _aws = world
    patches = len(amazon.requests(route="patchListingsItem"))
    result = operator(command, **fields)
    assert result["ok"] is False and named in result["error"], result
    assert len(amazon.requests(route="patchListingsItem")) == patches


def test_a_correlation_id_follows_a_stock_change_from_webhook_to_push(world):
    import io
    import logging

    from connector.observability import logger

    bp, amazon, aws = world
    out = io.StringIO()
    tap = logging.StreamHandler(out)  # the connector's own JSON lines, as CloudWatch would get them
    tap.setFormatter(logger.registered_formatter)
    logger.addHandler(tap)
    try:
        bp.adjust_on_hand(1008, 2, 3)
        settle(bp, aws)
    finally:
        logger.removeHandler(tap)
    assert qty(amazon, "SHIRT-BL-L") == 15
    lines = [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]
    webhook = next(r for r in lines if r.get("function_name") == "BrightpearlWebhookFunction")
    cid = webhook["correlation_id"]
    assert cid
    synced = next(r for r in lines if r.get("message") == "stock change synced")
    assert cid in synced["correlation_ids"]  # the push's log line names the webhook it came from


def test_sync_refuses_to_push_zeros_when_no_warehouse_is_chosen(world):
    bp, amazon, aws = world
    SettingsRepository().save_global(GlobalSettings(mfn_warehouses=[]))
    bp.adjust_on_hand(1008, 2, 3)
    assert bp.wait_webhooks_idle(10)
    results = pump(aws, "StockChangeFunction", max_batches=1)
    assert results[-1]["batchItemFailures"]  # kept for when the settings are fixed
    assert amazon.requests(route="patchListingsItem") == []


def nightly(action):
    from local.runtime import invoke

    return invoke("NightlyReconciliationFunction", {"action": action})


def test_nightly_run_fixes_a_drifted_listing_and_reports_what_it_corrected(world):
    _bp, amazon, aws = world
    operator("sync-on", marketplaceId=UK)  # everything pushed and confirmed
    operator("sync-on", marketplaceId=DE)
    amazon.world.listings["SHIRT-BL-M"].quantity = 99  # changed behind the connector's back
    before = len(sent_emails(aws))

    requested = nightly("start")["requested"]
    assert list(requested) == ["EU"]  # one report for the whole EU: one quantity per SKU there
    assert nightly("start") == {"requested": {}}  # the same night is not requested twice
    amazon.clock.advance(120)
    amazon.tick()  # the report is done; Amazon notifies the SQS destination
    pump(aws, "NotificationsFunction")

    assert qty(amazon, "SHIRT-BL-M") == 48
    patches = [e for e in amazon.requests(route="patchListingsItem", ok_only=True)
               if "SHIRT-BL-M" in e.path]
    assert len(patches) == 2  # the sync-on push and the nightly correction, nothing else
    mails = sent_emails(aws)[before:]
    assert len(mails) == 1 and title(mails[0]["subject"]).startswith("Amazon stock nightly check: 1 corrected")
    assert "SHIRT-BL-M" in mails[0]["text"] and "99" in mails[0]["text"]

    # The notification again, and the fallback poll: both find the job applied.
    assert nightly("poll") == {"polled": {}}
    pump(aws, "NotificationsFunction")
    assert len(sent_emails(aws)) == before + 1


def test_nightly_poll_finishes_the_job_when_the_notification_is_lost(world):
    _bp, amazon, aws = world
    operator("sync-on", marketplaceId=UK)
    amazon.world.listings["SHIRT-BL-L"].quantity = 0
    nightly("start")
    amazon.clock.advance(120)
    amazon.tick()
    drain(aws.client("sqs"), aws.queue_url("NotificationsQueue"))  # lost
    polled = nightly("poll")["polled"]
    assert polled["EU"]["corrected"] == [{"sku": "SHIRT-BL-L", "marketplace": UK, "amazon_had": 0, "pushed": 12}]
    assert qty(amazon, "SHIRT-BL-L") == 12



def test_a_nightly_feed_over_amazons_feed_quota_is_deferred_then_continued_not_failed(world):
    """JSON_LISTINGS_FEED allows 5 feeds per 5 minutes: the simulator answers the 6th with 429. The nightly
    does not fail the job nor mark the listings failed; it continues from the same report once the window
    has passed, sending the correction once."""
    _bp, amazon, aws = world
    operator("sync-on", marketplaceId=UK)
    operator("sync-on", marketplaceId=DE)
    SettingsRepository().save_global(GlobalSettings(mfn_warehouses=[2, 3], patch_threshold=0))
    amazon.world.listings["SHIRT-BL-M"].quantity = 99
    limiter = amazon._listings_feed_limiter  # other feeds of the region used this window up
    while limiter.try_hit():
        pass
    before = len(sent_emails(aws))
    nightly("start")
    amazon.clock.advance(120)
    amazon.tick()
    pump(aws, "NotificationsFunction")
    assert len(amazon.requests(route="createFeed", ok_only=True)) == 0 and qty(amazon, "SHIRT-BL-M") == 99
    job = SettingsRepository().get_value("nightly#EU")
    assert job["status"] == "continuing"
    assert not (LinkRepository().get(UK, "SHIRT-BL-M").last_result or "").startswith(("error", "rejected"))
    assert nightly("poll") == {"polled": {}}  # not before the window has passed
    assert len(sent_emails(aws)) == before  # the summary waits for the last pass

    amazon.clock.advance(300)  # Amazon's window passes (the job's own clock is real time: moved back)
    SettingsRepository().set_value("nightly#EU", {**job, "continue_after": "2000-01-01T00:00:00+00:00"})
    nightly("poll")
    assert len(amazon.requests(route="createFeed", ok_only=True)) == 1
    amazon.clock.advance(120)
    amazon.tick()
    pump(aws, "NotificationsFunction")
    assert qty(amazon, "SHIRT-BL-M") == 48
    assert SettingsRepository().get_value("nightly#EU")["status"] == "applied"
    mails = sent_emails(aws)[before:]
    assert len(mails) == 1 and title(mails[0]["subject"]).startswith("Amazon stock nightly check: 1 corrected")


def test_sync_on_over_the_patch_threshold_confirms_from_one_report_not_a_read_per_sku(world):
    """Above patch_threshold, sync-on does not ask getListingsItem per unchecked SKU (5/s: 16.7 h at
    100 000 SKUs x 3): one All Listings report confirms them all, then every listing is pushed once; a SKU
    Amazon does not hold is flagged and never sent."""
    _bp, amazon, aws = world
    SettingsRepository().save_global(GlobalSettings(mfn_warehouses=[2, 3], patch_threshold=2))
    LinkRepository().connect(seller_id=SELLER, marketplace_id=UK, sku="GHOST-SKU", product_id=1011, channel="MFN")
    pushed = [(UK, "SHIRT-BL-M"), (UK, "SHIRT-BL-L"), (UK, "GIFT-SET"), (UK, "MUG-EU"), (DE, "MUG-EU")]
    versions = {key: int(LinkRepository().get(*key).version or 0) for key in pushed}
    out = operator("sync-on", marketplaceId=UK)
    assert out["confirmingReport"] and out["pushed"] == 0
    assert nightly("poll") == {"polled": {}}  # the report is not done yet: nothing happens
    amazon.clock.advance(120)
    amazon.tick()
    pump(aws, "NotificationsFunction")  # the report: confirm, then one feed for UK and DE together
    amazon.clock.advance(120)
    amazon.tick()
    pump(aws, "NotificationsFunction")  # the feed's processing report
    assert amazon.requests(route="getListingsItem") == []
    assert len(amazon.requests(route="createReport", ok_only=True)) == 1
    assert len(amazon.requests(route="createFeed", ok_only=True)) == 1
    assert (qty(amazon, "SHIRT-BL-M"), qty(amazon, "SHIRT-BL-L"), qty(amazon, "GIFT-SET"), qty(amazon, "MUG-EU")) \
        == (48, 12, 15, 13)
    ghost = LinkRepository().get(UK, "GHOST-SKU")
    assert ghost.amazon_status == "not-found" and ghost.last_pushed_quantity is None
    assert amazon.world.offer_only == {}
    assert LinkRepository().get(UK, "GIFT-SET").last_result == "ACCEPTED"
    assert SettingsRepository().get_value("confirm#EU")["status"] == "applied"
    # Each pushed link is written twice (the send, carrying "confirmed"; the feed result), not three times
    # (issue 14: DynamoDB calls per item); each write adds 1 to the stored version.
    for key in pushed:
        link = LinkRepository().get(*key)
        assert (link.amazon_status, link.last_confirmed_quantity == link.last_pushed_quantity) == ("confirmed", True)
        assert int(link.version) - versions[key] == 2, key


def test_import_links_over_the_patch_threshold_confirms_from_one_report_then_pushes(world):
    """Many SKUs: linked unchecked, confirmed from one All Listings report, pushed in one feed; a link
    made while that report runs is confirmed by one more report, never flagged wrongly."""
    _bp, amazon, aws = world
    SettingsRepository().save_global(GlobalSettings(mfn_warehouses=[2, 3], patch_threshold=1))
    for sku in ("SHIRT-BL-M", "SHIRT-BL-L", "GIFT-SET"):
        LinkRepository().disconnect(UK, sku)
    result = operator("import-links", marketplaceId=UK, listings=[
        {"sku": "SHIRT-BL-M"}, {"sku": "SHIRT-BL-L"}, {"sku": "NOT-IN-BRIGHTPEARL"}])
    assert (result["linked"], result["unmatched"], result["pushed"]) == (2, ["NOT-IN-BRIGHTPEARL"], 0)
    amazon.clock.advance(120)
    amazon.tick()  # the report is generated without the next import's SKU
    operator("import-links", marketplaceId=UK, listings=[{"sku": "GIFT-SET"}, {"sku": "SOCKS-GR"}])
    for _ in range(4):  # report → feed → second report → feed
        amazon.clock.advance(120)
        amazon.tick()
        pump(aws, "NotificationsFunction")
    assert amazon.requests(route="getListingsItem") == []
    assert len(amazon.requests(route="createReport", ok_only=True)) == 2
    assert (qty(amazon, "SHIRT-BL-M"), qty(amazon, "SHIRT-BL-L"), qty(amazon, "GIFT-SET")) == (48, 12, 15)
    assert LinkRepository().get(UK, "GIFT-SET").amazon_status == "confirmed"
    socks = LinkRepository().get(UK, "SOCKS-GR")  # Brightpearl has it, Amazon does not
    assert socks.amazon_status == "not-found" and socks.last_pushed_quantity is None
    assert SettingsRepository().get_value("confirm#EU")["status"] == "applied"
