"""Merchant-fulfilled quantities to Amazon: patchListingsItem for a few, JSON_LISTINGS_FEED for many.

Quantities are absolute (``replace``), so sending one twice cannot move stock twice; the connector
still sends only differences, to stay inside Amazon's limits.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

import httpx
from sp_api.api.feeds.feeds import Feeds
from sp_api.api.listings_items.listings_items import ListingsItems
from sp_api.base import SellingApiBadRequestException, SellingApiNotFoundException

from connector.adapters.amazon.client import AmazonClients
from connector.domain.listings import ListingLookup, PatchOutcome, QuantityUpdate

MFN_CHANNEL = "DEFAULT"


def _first_error(exc: Exception) -> str:
    errors = getattr(exc, "error", None) or []
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return f"{errors[0].get('code')}: {errors[0].get('message')}"
    return str(exc)


def availability_value(update: QuantityUpdate) -> list[dict[str, Any]]:
    """The whole fulfillment_availability element: channel code, quantity and lead time together."""
    entry: dict[str, Any] = {"fulfillment_channel_code": MFN_CHANNEL, "quantity": max(0, update.quantity)}
    if update.lead_time_days is not None:
        entry["lead_time_to_ship_max_days"] = update.lead_time_days
    return [entry]


def feed_document(seller_id: str, updates: Iterable[QuantityUpdate]) -> tuple[bytes, dict[int, str]]:
    """A JSON_LISTINGS_FEED body and the messageId → SKU map to read its processing report."""
    messages = []
    ids: dict[int, str] = {}
    for i, u in enumerate(updates, start=1):
        ids[i] = u.sku
        messages.append({"messageId": i, "sku": u.sku, "operationType": "PATCH", "productType": "PRODUCT",
                         "patches": [{"op": "replace", "path": "/attributes/fulfillment_availability",
                                      "value": availability_value(u)}]})
    doc = {"header": {"sellerId": seller_id, "version": "2.0", "issueLocale": "en_GB"}, "messages": messages}
    return json.dumps(doc, separators=(",", ":")).encode("utf-8"), ids


class AmazonListings:
    def __init__(self, amazon: AmazonClients, seller_id: str) -> None:
        self.amazon = amazon
        self.seller_id = seller_id

    def lookup(self, sku: str, marketplace_id: str) -> ListingLookup:
        """Whether Amazon holds ``sku`` for this seller in ``marketplace_id``, and its merchant
        (DEFAULT) fulfillment_availability entry. 404 NOT_FOUND and 400 InvalidInput both mean
        "no such listing" (production answers either; the sandbox answers 400 for a bad id)."""
        api = self.amazon.client(ListingsItems, marketplace_id=marketplace_id)
        try:
            # The SKU goes raw: python-amazon-sp-api percent-encodes path parameters itself (every
            # reserved character, "/" as %2F), which is the one encoding Amazon decodes.
            res = self.amazon.call("getListingsItem", api.get_listings_item, self.seller_id, sku,
                                   marketplaceIds=[marketplace_id], includedData=["summaries", "attributes"])
        except (SellingApiNotFoundException, SellingApiBadRequestException) as exc:
            return ListingLookup(sku, False, None, _first_error(exc))
        entry = None
        for candidate in ((res.payload or {}).get("attributes") or {}).get("fulfillment_availability") or []:
            if candidate.get("fulfillment_channel_code") == MFN_CHANNEL:
                entry = dict(candidate)
                break
        return ListingLookup(sku, True, entry)

    def current_availability(self, sku: str, marketplace_id: str) -> dict[str, Any] | None:
        """The DEFAULT (merchant) fulfillment_availability entry Amazon holds for a SKU, if any."""
        return self.lookup(sku, marketplace_id).availability

    def patch(self, update: QuantityUpdate) -> PatchOutcome:
        api = self.amazon.client(ListingsItems, marketplace_id=update.marketplace_id)
        body = {"productType": "PRODUCT", "patches": [
            {"op": "replace", "path": "/attributes/fulfillment_availability", "value": availability_value(update)}]}
        res = self.amazon.call("patchListingsItem", api.patch_listings_item, self.seller_id,
                               update.sku, marketplaceIds=[update.marketplace_id], body=body)
        payload = res.payload or {}
        issues = [i for i in payload.get("issues") or [] if i.get("severity") == "ERROR"]
        return PatchOutcome(update.sku, payload.get("status") == "ACCEPTED" and not issues, issues)

    def submit_feed(self, marketplace_id: str, updates: list[QuantityUpdate]) -> tuple[str, dict[int, str]]:
        """Upload one JSON_LISTINGS_FEED and create the feed; returns the feed id and the message map."""
        body, ids = feed_document(self.seller_id, updates)
        api = self.amazon.client(Feeds, marketplace_id=marketplace_id)
        content_type = "application/json; charset=UTF-8"
        doc = self.amazon.call("createFeedDocument", api.create_feed_document, file=None,
                               content_type=content_type).payload
        self._upload(doc["url"], body, content_type)
        res = self.amazon.call("createFeed", api.create_feed, "JSON_LISTINGS_FEED", doc["feedDocumentId"],
                               marketplaceIds=[marketplace_id])
        return str(res.payload["feedId"]), ids

    def _upload(self, url: str, body: bytes, content_type: str, attempts: int = 4) -> None:
        """PUT the feed document; a dropped connection or a 5xx is retried (the URL is valid 5 minutes,
        and uploading the same bytes again is harmless)."""
        for attempt in range(1, attempts + 1):
            try:
                upload = httpx.put(url, content=body, headers={"Content-Type": content_type}, timeout=60)
                if upload.status_code < 500:
                    upload.raise_for_status()
                    return
                if attempt == attempts:
                    upload.raise_for_status()
            except httpx.TransportError:
                if attempt == attempts:
                    raise
            self.amazon.sleep(min(4.0, 0.5 * 2 ** (attempt - 1)))

    def feed_status(self, feed_id: str) -> dict[str, Any]:
        api = self.amazon.client(Feeds)
        return dict(self.amazon.call("getFeed", api.get_feed, feed_id).payload or {})

    def feed_report(self, result_document_id: str) -> dict[str, Any]:
        """The JSON processing report of a finished listings feed."""
        api = self.amazon.client(Feeds)
        path = f"/feeds/2021-06-30/documents/{quote(result_document_id, safe='')}"
        # The library's getFeedDocument downloads and decodes the document itself (as ISO-8859-1);
        # ask for the metadata only and download it here, honouring compression and UTF-8.
        meta = self.amazon.call("getFeedDocument", lambda: api._request(path, params={}, add_marketplace=False))
        resp = httpx.get(meta.payload["url"], timeout=60)
        resp.raise_for_status()
        raw = resp.content
        if meta.payload.get("compressionAlgorithm") == "GZIP":
            raw = gzip.decompress(raw)
        return dict(json.loads(raw.decode("utf-8")))
