"""SP-API simulator: Listings Items 2021-08-01 and Feeds 2021-06-30 (JSON_LISTINGS_FEED), driven by
the real python-amazon-sp-api client through the production factory."""

from __future__ import annotations

import io
import json

import httpx
import pytest
from sp_api.api import Feeds, ListingsItems
from sp_api.auth import access_token_client
from sp_api.base import SellingApiBadRequestException, SellingApiNotFoundException, SellingApiRequestThrottledException

from connector.adapters.amazon.client import AmazonClients, LwaCredentials
from simulators.spapi import SpApiSimulator
from simulators.spapi.demo import CLIENT_ID, CLIENT_SECRET, DE, DEMO_SEED, REFRESH_TOKEN, UK

SELLER = "A1SELLER"


def qty_patch(quantity, lead=None, op="replace", channel="DEFAULT"):
    entry = {"fulfillment_channel_code": channel, "quantity": quantity}
    if lead is not None:
        entry["lead_time_to_ship_max_days"] = lead
    return {"op": op, "path": "/attributes/fulfillment_availability", "value": [entry]}


def feed_doc(*messages, seller=SELLER):
    return json.dumps({"header": {"sellerId": seller, "version": "2.0", "issueLocale": "en_GB"},
                       "messages": list(messages)}).encode("utf-8")


def feed_msg(message_id, sku, quantity, **extra):
    return {"messageId": message_id, "sku": sku, "operationType": "PATCH", "productType": "PRODUCT",
            "patches": [qty_patch(quantity)], **extra}


@pytest.fixture
def listings(amazon):
    return amazon.client(ListingsItems)


@pytest.fixture
def feeds(amazon):
    return amazon.client(Feeds)


# ---------------------------------------------------------------------------- getListingsItem
def test_get_listing_with_attributes_summaries_and_issues(listings):
    res = listings.get_listings_item(SELLER, "MFN-MUG", includedData=["summaries", "attributes", "issues",
                                                                      "fulfillmentAvailability"])
    item = res.payload
    assert item["sku"] == "MFN-MUG"
    assert item["attributes"]["fulfillment_availability"] == [
        {"fulfillment_channel_code": "DEFAULT", "quantity": 4, "lead_time_to_ship_max_days": 2}]
    assert item["fulfillmentAvailability"] == [{"fulfillmentChannelCode": "DEFAULT", "quantity": 4}]
    summary = item["summaries"][0]
    assert (summary["marketplaceId"], summary["asin"], summary["itemName"]) == (UK, "B0MUG00001", "Café crème mug")
    assert summary["status"] == ["BUYABLE", "DISCOVERABLE"]
    assert item["issues"] == []


def test_default_included_data_is_summaries_only(listings):
    item = listings.get_listings_item(SELLER, "MFN-MUG").payload
    assert set(item) == {"sku", "summaries"}


def test_fba_listing_reports_amazon_channel(listings):
    item = listings.get_listings_item(SELLER, "FBA-TEA", includedData=["attributes"]).payload
    assert item["attributes"]["fulfillment_availability"] == [{"fulfillment_channel_code": "AMAZON_EU"}]


def test_unknown_sku_is_404(listings):
    with pytest.raises(SellingApiNotFoundException) as exc:
        listings.get_listings_item(SELLER, "NO-SUCH-SKU")
    assert exc.value.amzn_code == "NOT_FOUND"  # Amazon's own code for a listing 404


def test_listing_not_offered_in_requested_marketplace_is_404(amazon):
    de = amazon.client(ListingsItems, marketplace_id=DE)
    with pytest.raises(SellingApiNotFoundException):
        de.get_listings_item(SELLER, "MFN/SLASH 1")  # listed in the UK only


def test_percent_encoded_sku_round_trips(listings, sim):
    res = listings.patch_listings_item(SELLER, "MFN/SLASH 1", body={"productType": "PRODUCT",
                                                                     "patches": [qty_patch(6)]})
    assert res.payload["status"] == "ACCEPTED" and res.payload["sku"] == "MFN/SLASH 1"
    assert sim.requests(route="patchListingsItem")[-1].path.endswith("/MFN%2FSLASH%201")
    assert listings.get_listings_item(SELLER, "MFN/SLASH 1", includedData=["attributes"]).payload[
        "attributes"]["fulfillment_availability"][0]["quantity"] == 6


# ---------------------------------------------------------------------------- patchListingsItem
def test_patch_replace_sets_mfn_quantity_and_lead_time(listings, sim):
    res = listings.patch_listings_item(SELLER, "MFN-MUG", body={"productType": "PRODUCT",
                                                                 "patches": [qty_patch(17, lead=5)]})
    assert res.payload["status"] == "ACCEPTED" and res.payload["issues"] == [] and res.payload["submissionId"]
    listing = sim.world.listings["MFN-MUG"]
    assert (listing.quantity, listing.lead_time) == (17, 5)


def test_patch_delete_removes_fulfillment_availability(listings):
    listings.patch_listings_item(SELLER, "MFN-MUG", body={"productType": "PRODUCT", "patches": [
        {"op": "delete", "path": "/attributes/fulfillment_availability",
         "value": [{"fulfillment_channel_code": "DEFAULT"}]}]})
    item = listings.get_listings_item(SELLER, "MFN-MUG", includedData=["attributes", "summaries"]).payload
    assert "fulfillment_availability" not in item["attributes"]
    assert "BUYABLE" not in item["summaries"][0]["status"]


def test_validation_preview_does_not_apply(listings, sim):
    res = listings.patch_listings_item(SELLER, "MFN-MUG", mode="VALIDATION_PREVIEW", includedData="identifiers,issues",
                                       body={"productType": "PRODUCT", "patches": [qty_patch(99)]})
    assert res.payload["status"] == "VALID"
    assert res.payload["identifiers"] == [{"marketplaceId": UK, "asin": "B0MUG00001"}]
    assert sim.world.listings["MFN-MUG"].quantity == 4


@pytest.mark.parametrize(("sku", "patch", "code"), [
    ("MFN-MUG", qty_patch(-1), "90000900"),
    ("MFN-MUG", qty_patch("ten"), "90000900"),
])
def test_patch_semantic_problems_are_invalid_with_issues(listings, sim, sku, patch, code):
    res = listings.patch_listings_item(SELLER, sku, body={"productType": "PRODUCT", "patches": [patch]})
    assert res.payload["status"] == "INVALID"
    assert [i["code"] for i in res.payload["issues"]] == [code]
    assert res.payload["issues"][0]["severity"] == "ERROR"
    assert sim.world.listings["MFN-MUG"].quantity == 4


@pytest.mark.parametrize("body", [
    {"patches": [qty_patch(1)]},
    {"productType": "PRODUCT"},
    {"productType": "PRODUCT", "patches": []},
    {"productType": "PRODUCT", "patches": [{"op": "increment", "path": "/attributes/x"}]},
])
def test_patch_body_violating_the_model_is_400(listings, body):
    with pytest.raises(SellingApiBadRequestException) as exc:
        listings.patch_listings_item(SELLER, "MFN-MUG", body=body)
    assert exc.value.amzn_code == "InvalidInput"


def test_marketplace_ids_are_required(amazon, sim):
    token = amazon.client(ListingsItems).auth.access_token
    r = httpx.get(f"{sim.url}/listings/2021-08-01/items/{SELLER}/MFN-MUG", headers={"x-amz-access-token": token})
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == "InvalidInput"


def test_patch_other_attribute_is_stored(listings, sim):
    listings.patch_listings_item(SELLER, "MFN-MUG", body={"productType": "PRODUCT", "patches": [
        {"op": "replace", "path": "/attributes/purchasable_offer", "value": [{"currency": "GBP"}]}]})
    assert sim.world.listings["MFN-MUG"].attributes["purchasable_offer"] == [{"currency": "GBP"}]


# ---------------------------------------------------------------------------- feeds
def submit(feeds, body: bytes, content_type="application/json"):
    _doc, feed = feeds.submit_feed("JSON_LISTINGS_FEED", io.BytesIO(body), content_type=content_type)
    return feed.payload["feedId"]


def test_listings_feed_lifecycle_applies_quantities_and_reports_issues(feeds, sim):
    feed_id = submit(feeds, feed_doc(feed_msg(1, "MFN-MUG", 25), feed_msg(2, "GHOST-SKU", 3),
                                     feed_msg(3, "MFN/SLASH 1", -4)))
    assert feeds.get_feed(feed_id).payload["processingStatus"] == "IN_QUEUE"
    sim.clock.advance(6)
    assert feeds.get_feed(feed_id).payload["processingStatus"] == "IN_PROGRESS"
    assert sim.world.listings["MFN-MUG"].quantity == 4  # not applied before processing ends
    sim.clock.advance(25)
    feed = feeds.get_feed(feed_id).payload
    assert feed["processingStatus"] == "DONE" and feed["processingEndTime"]
    assert sim.world.listings["MFN-MUG"].quantity == 25
    assert sim.world.listings["MFN/SLASH 1"].quantity == 0
    report = json.loads(feeds.get_feed_document(feed["resultFeedDocumentId"]))
    assert report["header"] == {"sellerId": SELLER, "version": "2.0", "feedId": feed_id}
    # GHOST-SKU does not exist: Amazon accepts the message anyway and reports no error for it.
    assert report["summary"] == {"errors": 1, "warnings": 0, "messagesProcessed": 3, "messagesAccepted": 2,
                                 "messagesInvalid": 1}
    by_message = {i["messageId"]: i for i in report["issues"]}
    assert 2 not in by_message
    assert sim.world.offer_only["GHOST-SKU"]["quantity"] == 3 and "GHOST-SKU" not in sim.world.listings
    assert by_message[3]["attributeName"] == "fulfillment_availability"


def test_schema_invalid_message_is_rejected_per_message(feeds, sim):
    bad = {"messageId": 1, "sku": "MFN-MUG", "operationType": "PATCH", "patches": [qty_patch(1)]}  # no productType
    feed_id = submit(feeds, feed_doc(bad, feed_msg(2, "MFN/SLASH 1", 8)))
    sim.clock.advance(60)
    feed = feeds.get_feed(feed_id).payload
    report = json.loads(feeds.get_feed_document(feed["resultFeedDocumentId"]))
    assert report["summary"]["messagesInvalid"] == 1 and report["summary"]["messagesAccepted"] == 1
    assert report["issues"][0]["messageId"] == 1
    assert (sim.world.listings["MFN-MUG"].quantity, sim.world.listings["MFN/SLASH 1"].quantity) == (4, 8)


@pytest.mark.parametrize("body", [b"{not json", feed_doc(feed_msg(1, "MFN-MUG", 2), seller="OTHER"),
                                  json.dumps({"header": {"sellerId": SELLER, "version": "1.0"},
                                              "messages": [feed_msg(1, "MFN-MUG", 2)]}).encode()])
def test_unusable_feed_document_is_fatal(feeds, sim, body):
    feed_id = submit(feeds, body)
    sim.clock.advance(60)
    feed = feeds.get_feed(feed_id).payload
    assert feed["processingStatus"] == "FATAL"
    assert json.loads(feeds.get_feed_document(feed["resultFeedDocumentId"]))["issues"]
    assert sim.world.listings["MFN-MUG"].quantity == 4


@pytest.mark.parametrize("outcome", ["CANCELLED", "FATAL"])
def test_forced_feed_outcome_applies_nothing(feeds, sim, outcome):
    sim.world.feed_jobs.force_feed_outcome("JSON_LISTINGS_FEED", outcome)
    feed_id = submit(feeds, feed_doc(feed_msg(1, "MFN-MUG", 2)))
    sim.clock.advance(60)
    assert feeds.get_feed(feed_id).payload["processingStatus"] == outcome
    assert sim.world.listings["MFN-MUG"].quantity == 4


def test_cancel_feed_in_queue(feeds, sim):
    feed_id = submit(feeds, feed_doc(feed_msg(1, "MFN-MUG", 2)))
    feeds.cancel_feed(feed_id)
    sim.clock.advance(60)
    assert feeds.get_feed(feed_id).payload["processingStatus"] == "CANCELLED"


def test_json_listings_feed_limit_is_five_per_five_minutes():
    access_token_client.cache.clear()  # tokens from the module's other simulator mean nothing here
    documented = SpApiSimulator().start()  # documented limits
    documented.seed(DEMO_SEED)
    documented.clock.set_speed(0)
    try:
        amazon = AmazonClients(LwaCredentials(REFRESH_TOKEN, CLIENT_ID, CLIENT_SECRET), marketplace_id=UK,
                               endpoint=documented.url, lwa_url=f"{documented.url}/auth/o2/token")
        feeds = amazon.client(Feeds)
        for i in range(5):
            submit(feeds, feed_doc(feed_msg(1, "MFN-MUG", i)))
        with pytest.raises(SellingApiRequestThrottledException) as exc:
            submit(feeds, feed_doc(feed_msg(1, "MFN-MUG", 9)))
        assert exc.value.amzn_code == "QuotaExceeded"
        documented.clock.advance(301)
        assert submit(feeds, feed_doc(feed_msg(1, "MFN-MUG", 9)))
    finally:
        documented.stop()
        access_token_client.cache.clear()


def test_retired_flat_file_inventory_feed_is_refused(feeds):
    with pytest.raises(SellingApiBadRequestException):
        feeds.submit_feed("POST_INVENTORY_AVAILABILITY_DATA", io.BytesIO(b"sku\tquantity\n"), content_type="text/tsv")


def test_upload_url_expires_after_five_minutes_and_checks_content_type(feeds, sim):
    doc = feeds.create_feed_document(None, "application/json").payload
    r = httpx.put(doc["url"], content=b"{}", headers={"Content-Type": "text/plain"})
    assert r.status_code == 403 and b"SignatureDoesNotMatch" in r.content
    sim.clock.advance(302)
    r = httpx.put(doc["url"], content=b"{}", headers={"Content-Type": "application/json"})
    assert r.status_code == 403 and b"Request has expired" in r.content


def test_create_feed_with_unknown_document_is_400(feeds):
    with pytest.raises(SellingApiBadRequestException):
        feeds.create_feed("JSON_LISTINGS_FEED", "amzn1.tortuga.4.eu.nope")


# ---------------------------------------------------------------------------- real Amazon's edges
def test_patch_for_a_sku_the_seller_does_not_have_is_accepted_as_an_offer_only_listing(listings, sim):
    # Amazon accepts it (selling-partner-api-models #2797): the offer exists, but no complete listing.
    res = listings.patch_listings_item(SELLER, "UNKNOWN-SKU", body={"productType": "PRODUCT",
                                                                     "patches": [qty_patch(3)]})
    assert res.payload["status"] == "ACCEPTED" and res.payload["issues"] == []
    assert sim.world.offer_only["UNKNOWN-SKU"]["quantity"] == 3
    assert sim.state()["offer_only"]["UNKNOWN-SKU"]["submissions"] == 1
    with pytest.raises(SellingApiNotFoundException):  # still no listing to read
        listings.get_listings_item(SELLER, "UNKNOWN-SKU")


def test_an_invalid_patch_for_an_unknown_sku_creates_nothing(listings, sim):
    res = listings.patch_listings_item(SELLER, "UNKNOWN-SKU", body={"productType": "PRODUCT",
                                                                     "patches": [qty_patch(-1)]})
    assert res.payload["status"] == "INVALID" and "UNKNOWN-SKU" not in sim.world.offer_only


def _raw(sim, amazon, method, sku_path):
    token = amazon.client(ListingsItems).auth.access_token
    body = {"productType": "PRODUCT", "patches": [qty_patch(9)]}
    return httpx.request(method, f"{sim.url}/listings/2021-08-01/items/{SELLER}/{sku_path}",
                         params={"marketplaceIds": UK}, headers={"x-amz-access-token": token},
                         json=body if method == "PATCH" else None)


@pytest.mark.parametrize("method", ["GET", "PATCH"])
def test_slash_in_a_sku_path_works_only_encoded_once(sim, amazon, method):
    # Raw "/" → 403 Unauthorized (selling-partner-api-models #1100, #4429); "%2F" is the SKU;
    # "%252F" names a SKU with a literal "%2F" in it, which does not exist.
    raw = _raw(sim, amazon, method, "MFN/SLASH%201")
    assert raw.status_code == 403 and raw.json()["errors"][0]["code"] == "Unauthorized"
    assert _raw(sim, amazon, method, "MFN%2FSLASH%201").status_code == 200
    assert _raw(sim, amazon, method, "MFN%2fSLASH%201").status_code == 200
    double = _raw(sim, amazon, method, "MFN%252FSLASH%25201")
    if method == "GET":
        assert double.status_code == 404 and double.json()["errors"][0]["code"] == "NOT_FOUND"
    else:  # accepted for the literal SKU "MFN%2FSLASH%201": the real listing is untouched
        assert double.json()["status"] == "ACCEPTED" and "MFN%2FSLASH%201" in sim.world.offer_only
    assert sim.world.listings["MFN/SLASH 1"].quantity == (9 if method == "PATCH" else 0)


def test_unknown_sku_can_answer_400_as_the_sandbox_does(sim, listings):
    sim.configure(listing_not_found_status=400)
    with pytest.raises(SellingApiBadRequestException) as exc:
        listings.get_listings_item(SELLER, "NO-SUCH-SKU")
    assert exc.value.amzn_code == "InvalidInput"
    sim.configure(listing_not_found_status=404)
    with pytest.raises(SellingApiNotFoundException):
        listings.get_listings_item(SELLER, "NO-SUCH-SKU")


def test_feed_delays_reorder_completions_and_application(feeds, sim):
    sim.configure(feed_delays=[100, 0])
    first = submit(feeds, feed_doc(feed_msg(1, "MFN-MUG", 5)))
    second = submit(feeds, feed_doc(feed_msg(1, "MFN-MUG", 7)))
    sim.clock.advance(40)
    sim.tick()
    assert (sim.world.feeds[first].status, sim.world.feeds[second].status) == ("IN_PROGRESS", "DONE")
    assert sim.world.listings["MFN-MUG"].quantity == 7
    sim.clock.advance(100)
    sim.tick()
    assert sim.world.listings["MFN-MUG"].quantity == 5  # the older feed was applied last
