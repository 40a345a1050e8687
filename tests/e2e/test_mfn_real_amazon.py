"""Merchant-fulfilled sync against Amazon as it really behaves, end to end on the local stack.

- SKUs with a space, "/", "&", "+", "%", "#", "?" or non-ASCII characters (Amazon decodes a path
  parameter once; a raw "/" is refused);
- the EU rule (one quantity per SKU across the EU) on every path that pushes;
- a settings change that moves quantities pushes at once;
- the JSON_LISTINGS_FEED pipeline converges with every notification delivered twice and feeds
  finishing out of order;
- a link to a SKU Amazon does not hold is flagged and never pushed (Amazon would accept the push
  and create an offer-only listing).
"""

from __future__ import annotations

import random

import pytest

from connector.adapters.repositories import ChannelSettings, GlobalSettings, LinkRepository, SettingsRepository
from connector.adapters.store import Setting
from local.aws import sent_emails
from local.queues import pump
from local.runtime import invoke
from local.stack import start_stack
from simulators.spapi.demo import CLIENT_ID, CLIENT_SECRET, DE, REFRESH_TOKEN, UK

pytestmark = pytest.mark.e2e

TOKEN = "w" * 40
ODD_SKUS = ["mug/blue", "tea & cake", "a+b 2", "café crème", "50% off #1?", "box/of/3 ünïcode"]
PLAIN = [f"PLAIN-{i}" for i in range(6)]

BP_SEED = {
    "warehouses": [{"id": 2, "name": "Main DC"}, {"id": 3, "name": "Overflow"}],
    "products": ([{"id": 2000 + i, "sku": sku} for i, sku in enumerate(ODD_SKUS)]
                 + [{"id": 3000 + i, "sku": sku} for i, sku in enumerate(PLAIN)]
                 + [{"id": 4000, "sku": "MUG-EU"}, {"id": 4001, "sku": "NOT-ON-AMAZON"}]),
    "stock": ([{"productId": 2000 + i, "warehouseId": 2, "onHand": 10 + i} for i in range(len(ODD_SKUS))]
              + [{"productId": 3000 + i, "warehouseId": 2, "onHand": 20 + i} for i in range(len(PLAIN))]
              + [{"productId": 4000, "warehouseId": 2, "onHand": 9}, {"productId": 4000, "warehouseId": 3, "onHand": 4},
                 {"productId": 4001, "warehouseId": 2, "onHand": 5}]),
}

AMAZON_SEED = {
    "credentials": {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "refresh_token": REFRESH_TOKEN},
    "listings": {**{sku: {"channel": "MFN", "quantity": 0, "lead_time": 2, "marketplaces": [UK]} for sku in ODD_SKUS},
                 **{sku: {"channel": "MFN", "quantity": 0, "marketplaces": [UK]} for sku in PLAIN},
                 "MUG-EU": {"channel": "MFN", "quantity": 0, "marketplaces": [UK, DE]}},
}


@pytest.fixture
def stack(local_aws):
    with start_stack(aws=local_aws, marketplaces=(UK, DE), amazon_rate_scale=100, api=True,
                     webhook_token=TOKEN) as s:
        s.bp.seed(BP_SEED)
        s.amazon.seed(AMAZON_SEED)
        s.clear(Setting)
        from connector.adapters.store import ListingLink

        s.clear(ListingLink)
        settings = SettingsRepository()
        settings.save_global(GlobalSettings(mfn_warehouses=[2, 3], patch_threshold=20))
        settings.save_channel(UK, ChannelSettings(sync_enabled=True))
        settings.save_channel(DE, ChannelSettings(sync_enabled=True))
        assert s.api
        s.register_stock_webhook()
        s.purge("StockChangeQueue", "NotificationsQueue")
        yield s


def operator(command, **fields):
    return invoke("OperatorFunction", {"command": command, **fields})


def settle(stack):
    assert stack.bp.wait_webhooks_idle(10)
    return pump(stack.aws, "StockChangeFunction", expire_visibility=True)


def qty(stack, sku):
    return stack.amazon.world.listings[sku].quantity


# ---------------------------------------------------------------------------- item 1: odd SKUs
def test_odd_skus_are_linked_and_pushed_by_import_links_connect_and_webhook(stack):
    result = operator("import-links", marketplaceId=UK, listings=[
        {"sku": s} for s in [*ODD_SKUS[:-1], "NOT-ON-AMAZON", "NOT-IN-BRIGHTPEARL"]])
    assert result["ok"], result
    assert result["linked"] == len(ODD_SKUS)  # every SKU has its own result; none aborts the others
    assert result["unmatched"] == ["NOT-IN-BRIGHTPEARL"] and result["notOnAmazon"] == ["NOT-ON-AMAZON"]
    by_sku = {r["sku"]: r for r in result["results"]}
    assert all(by_sku[s]["onAmazon"] and by_sku[s]["leadTimeDays"] == 2 for s in ODD_SKUS[:-1])
    assert [qty(stack, s) for s in ODD_SKUS[:-1]] == [10 + i for i in range(len(ODD_SKUS) - 1)]

    connected = operator("connect", marketplaceId=UK, sku=ODD_SKUS[-1])
    assert connected["ok"] and connected["onAmazon"] and connected["pushed"], connected
    assert qty(stack, ODD_SKUS[-1]) == 10 + len(ODD_SKUS) - 1

    for i in range(len(ODD_SKUS)):  # a stock change reaches every one of them through the webhook
        stack.bp.adjust_on_hand(2000 + i, 3, 5)
    settle(stack)
    assert [qty(stack, s) for s in ODD_SKUS] == [15 + i for i in range(len(ODD_SKUS))]
    assert stack.amazon.world.offer_only == {}  # no push landed on a mis-encoded SKU
    assert all(LinkRepository().get(UK, s).last_result == "ACCEPTED" for s in ODD_SKUS)


# ---------------------------------------------------------------------------- item 2: EU rule on every path
EU_PATHS = ["sync-on", "connect", "import-links", "webhook", "nightly", "settings"]


@pytest.mark.parametrize("path", EU_PATHS)
def test_every_pushing_path_plans_an_eu_sku_with_all_its_eu_links(stack, path):
    links = LinkRepository()
    links.connect(seller_id="A1SELLER", marketplace_id=DE, sku="MUG-EU", product_id=4000)
    if path not in ("connect", "import-links"):
        links.connect(seller_id="A1SELLER", marketplace_id=UK, sku="MUG-EU", product_id=4000)
    if path != "settings":  # DE sells from the main warehouse only: 9, where the UK's two give 13
        SettingsRepository().save_channel(DE, ChannelSettings(sync_enabled=True, mfn_warehouses=[2]))
    before = len(sent_emails(stack.aws))

    if path == "sync-on":
        operator("sync-off", marketplaceId=UK)
        assert operator("sync-on", marketplaceId=UK)["ok"]
    elif path == "connect":
        assert operator("connect", marketplaceId=UK, sku="MUG-EU")["ok"]
    elif path == "import-links":
        assert operator("import-links", marketplaceId=UK, listings=[{"sku": "MUG-EU"}])["ok"]
    elif path == "webhook":
        stack.bp.adjust_on_hand(4000, 3, 1)  # UK 14, DE 9
        settle(stack)
    elif path == "nightly":
        assert invoke("NightlyReconciliationFunction", {"action": "start"})["requested"]
        stack.amazon.clock.advance(120)
        stack.amazon.tick()
        pump(stack.aws, "NotificationsFunction")
    else:
        assert operator("set-settings", channel=DE, values={"mfn_warehouses": [2]})["ok"]

    assert qty(stack, "MUG-EU") == 9  # the lowest: no EU marketplace oversells
    mails = [m for m in sent_emails(stack.aws)[before:] if "fed from different settings" in m["subject"]]
    assert len(mails) == 1 and "MUG-EU" in mails[0]["text"]


@pytest.mark.parametrize("path", ["patch", "feed"])
def test_an_eu_sku_is_sent_once_for_all_its_eu_links(stack, path):
    """Amazon keeps one quantity per SKU across the EU: one patch (or one feed message) serves every EU
    link of the SKU, and every link records the outcome (performance issue: one feed per EU marketplace
    with identical quantities hit the feed quota at six marketplaces)."""
    if path == "feed":
        SettingsRepository().save_global(GlobalSettings(mfn_warehouses=[2, 3], patch_threshold=0))
    stack.link([(UK, "MUG-EU", 4000, "MFN"), (DE, "MUG-EU", 4000, "MFN")])
    stack.bp.adjust_on_hand(4000, 2, 3)  # 12 + 4
    settle(stack)
    if path == "feed":
        stack.amazon.clock.advance(300)
        stack.amazon.tick()
        pump(stack.aws, "NotificationsFunction")
        assert len(stack.amazon.requests(route="createFeed")) == 1
        assert stack.amazon.requests(route="patchListingsItem") == []
    else:
        assert len(stack.amazon.requests(route="patchListingsItem")) == 1
    assert qty(stack, "MUG-EU") == 16
    links = {link.marketplace_id: link for link in LinkRepository().all() if link.sku == "MUG-EU"}
    assert {m: (int(link.last_confirmed_quantity or -1)) for m, link in links.items()} == {UK: 16, DE: 16}
    before = len(stack.amazon.requests(route="patchListingsItem")) + len(stack.amazon.requests(route="createFeed"))
    stack.bp.adjust_on_hand(4000, 3, 4)  # stock moved between the two MFN warehouses: the total is unchanged,
    stack.bp.adjust_on_hand(4000, 2, -4)  # so nothing more is sent to either marketplace
    settle(stack)
    after = len(stack.amazon.requests(route="patchListingsItem")) + len(stack.amazon.requests(route="createFeed"))
    assert after == before


# ---------------------------------------------------------------------------- item 3: settings re-plan
def test_removing_a_warehouse_lowers_amazon_at_once(stack):
    stack.link([(UK, "MUG-EU", 4000, "MFN")] + [(UK, s, 3000 + i, "MFN") for i, s in enumerate(PLAIN)])
    stack.bp.adjust_on_hand(3000, 3, 7)  # PLAIN-0: 20 in Main DC, 7 in Overflow
    operator("sync-on", marketplaceId=UK)
    assert (qty(stack, "MUG-EU"), qty(stack, "PLAIN-0")) == (13, 27)
    patches_before = len(stack.amazon.requests(route="patchListingsItem"))

    out = operator("set-settings", **{"global": {"mfn_warehouses": [2]}})  # Overflow no longer sells MFN
    assert (qty(stack, "MUG-EU"), qty(stack, "PLAIN-0")) == (9, 20)  # no webhook, no nightly run
    assert out["ok"] and out["resync"]["marketplaces"] == [UK, DE]
    # Only the two listings whose quantity moved were pushed.
    assert len(stack.amazon.requests(route="patchListingsItem")) == patches_before + 2

    out = operator("set-settings", channel=UK, values={"buffer": {"keep_back": 5}})
    assert (qty(stack, "MUG-EU"), qty(stack, "PLAIN-0")) == (4, 15)
    assert operator("set-settings", **{"global": {"patch_threshold": 5}})["resync"] == {"marketplaces": []}


# ---------------------------------------------------------------------------- item 4: feed pipeline
def drain_pipeline(stack, rounds=12):
    """Let Amazon finish every feed and notify (each notification twice), and the connector react."""
    for _ in range(rounds):
        stack.amazon.clock.advance(400)
        stack.amazon.tick()
        pump(stack.aws, "NotificationsFunction", expire_visibility=True)
        pump(stack.aws, "StockChangeFunction", expire_visibility=True)
        if not any(f.status in ("IN_QUEUE", "IN_PROGRESS") for f in stack.amazon.world.feeds.values()) \
                and not [link for link in LinkRepository().all() if getattr(link, "pending_feed", None)]:
            return
    raise AssertionError("the feed pipeline did not drain")


@pytest.mark.parametrize("seed", [3, 11])
def test_feed_pipeline_converges_under_duplicates_reordering_and_throttles(stack, seed):
    rng = random.Random(seed)
    skus = {s: 3000 + i for i, s in enumerate(PLAIN)}
    stack.link([(UK, s, pid, "MFN") for s, pid in skus.items()])
    SettingsRepository().save_global(GlobalSettings(mfn_warehouses=[2, 3], patch_threshold=0))  # all by feed
    stack.amazon.configure(notification_duplicates=2, feed_delays=[rng.choice([0, 150, 300]) for _ in range(40)])
    operator("sync-on", marketplaceId=UK)  # every listing pushed once (one feed), then drained
    drain_pipeline(stack)
    stack.amazon.add_fault({"match": "uploadDocument", "status": 500, "count": 1})  # upload retried
    stack.amazon.add_fault({"match": "createFeed", "status": 429, "count": 1})  # batch handed back once

    on_hand = {pid: 20 + i for i, pid in enumerate(skus.values())}
    for step in range(6):
        # A → B → A: a product moves away and back while its feed is still in flight.
        for pid in rng.sample(sorted(on_hand), 3):
            delta = rng.choice([-3, -1, 2, 4])
            if step % 2 and rng.random() < 0.6:
                delta = -delta
            delta = max(delta, -on_hand[pid])
            on_hand[pid] += delta
            stack.bp.adjust_on_hand(pid, 2, delta)
        settle(stack)
        stack.amazon.clock.advance(rng.choice([0, 20, 40]))  # some feeds finish between changes
        stack.amazon.tick()
        pump(stack.aws, "NotificationsFunction", expire_visibility=True)
    drain_pipeline(stack)

    want = {s: on_hand[pid] for s, pid in skus.items()}
    assert {s: qty(stack, s) for s in skus} == want  # before any nightly run
    assert all(LinkRepository().get(UK, s).last_confirmed_quantity == want[s] for s in skus)
    finished = [f for f in stack.amazon.world.feeds.values() if f.status == "DONE"]
    downloads = stack.amazon.requests(route="getFeedDocument", ok_only=True)
    assert len(downloads) <= len(finished)  # each result document downloaded at most once, not per delivery
    assert len(stack.amazon.requests(route="createFeed", ok_only=False)) > len(finished)  # the throttle hit


# ---------------------------------------------------------------------------- item 6: unknown SKUs
def test_a_link_to_a_sku_amazon_does_not_hold_is_flagged_and_never_pushed(stack):
    # A link made without the check (e.g. by an older version) is checked before its first push;
    # the sandbox's 400 for a bad id means the same as production's 404.
    stack.link([(UK, "NOT-ON-AMAZON-2", 4001, "MFN")])
    stack.amazon.configure(listing_not_found_status=400)
    stack.bp.adjust_on_hand(4001, 2, 3)
    settle(stack)
    assert stack.amazon.world.offer_only == {}  # Amazon would have accepted a push and created one
    assert stack.amazon.requests(route="patchListingsItem") == []

    stack.amazon.configure(listing_not_found_status=404)
    out = operator("connect", marketplaceId=UK, sku="NOT-ON-AMAZON")
    assert out["ok"] and out["onAmazon"] is False and not out["pushed"], out
    assert out["reason"].startswith("not on Amazon: NOT_FOUND")
    stack.bp.adjust_on_hand(4001, 2, 1)
    settle(stack)
    assert stack.amazon.world.offer_only == {} and stack.amazon.requests(route="patchListingsItem") == []
    for sku in ("NOT-ON-AMAZON", "NOT-ON-AMAZON-2"):
        link = LinkRepository().get(UK, sku)
        assert link.amazon_status == "not-found" and link.last_result.startswith("not on Amazon")

    before = len(sent_emails(stack.aws))
    invoke("NightlyReconciliationFunction", {"action": "start"})
    stack.amazon.clock.advance(120)
    stack.amazon.tick()
    pump(stack.aws, "NotificationsFunction")
    assert stack.amazon.world.offer_only == {}
    mails = sent_emails(stack.aws)[before:]
    assert len(mails) == 1 and "NOT-ON-AMAZON" in mails[0]["text"] and "2 failing" in mails[0]["subject"]
