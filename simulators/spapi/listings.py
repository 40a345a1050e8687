"""Listings Items API 2021-08-01 of the SP-API simulator: the seller's listings (MFN quantity, attributes,
offer-only SKUs) and getListingsItem / patchListingsItem.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import unquote

from simulators.core import Request, Response
from simulators.spapi.common import ISSUE_INVALID_VALUE, JSON, ApiError, Shared, invalid, iso_ms
from simulators.spapi.http import Routes, qlist

LISTINGS_INCLUDED = ("summaries", "attributes", "issues", "offers", "fulfillmentAvailability", "procurement",
                     "relationships", "productTypes")


@dataclass
class Listing:
    sku: str
    asin: str
    fnsku: str
    title: str
    marketplace_ids: list[str]
    channel: str = "MFN"  # MFN (seller-fulfilled, DEFAULT channel) or FBA
    quantity: int = 0  # MFN quantity (fulfillment_availability DEFAULT)
    lead_time: int | None = None  # lead_time_to_ship_max_days
    product_type: str = "PRODUCT"
    condition: str = "new_new"
    price: str | None = None
    currency: str = "GBP"
    attributes: dict[str, JSON] = field(default_factory=dict)  # other attributes set by patches
    availability_deleted: bool = False  # fulfillment_availability removed by a delete patch
    issues: list[JSON] = field(default_factory=list)
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    updated: datetime = field(default_factory=lambda: datetime.now(UTC))


class ListingsItems:
    """The seller's listings in the region."""

    def __init__(self, shared: Shared) -> None:
        self.shared = shared
        self.listings: dict[str, Listing] = {}
        # SKUs a patch or feed message "created" although the seller had no such listing: Amazon accepts
        # the submission and may create an offer-only (incomplete) listing (docs/simulators-spapi.md).
        self.offer_only: dict[str, JSON] = {}
        self.not_found_status = 404  # 400: answer a bad SKU as the sandbox does (InvalidInput)
        # FBA sellable units of a SKU (None: no FBA stock); the world plugs in the inventory's figure.
        self.fba_sellable: Callable[[str], int | None] = lambda sku: None

    def add_listing(self, sku: str, spec: JSON) -> Listing:
        digest = hashlib.sha1(sku.encode("utf-8"), usedforsecurity=False).hexdigest().upper()
        now = self.shared.now()
        listing = Listing(
            sku=sku,
            asin=spec.get("asin") or f"B0{digest[:8]}",
            fnsku=spec.get("fnsku") or f"X00{digest[8:15]}",
            title=spec.get("title") or f"Product {sku}",
            marketplace_ids=list(spec.get("marketplaces") or self.shared.marketplace_ids),
            channel=str(spec.get("channel", "MFN")).upper(),
            quantity=int(spec.get("quantity", 0)),
            lead_time=spec.get("lead_time"),
            product_type=spec.get("product_type", "PRODUCT"),
            condition=spec.get("condition", "new_new"),
            price=None if spec.get("price") is None else str(spec["price"]),
            currency=spec.get("currency", "GBP"),
            issues=list(spec.get("issues", [])),
            created=now, updated=now,
        )
        if listing.channel not in ("MFN", "FBA"):
            raise ValueError(f"listing {sku}: channel must be MFN or FBA, got {listing.channel!r}")
        self.listings[sku] = listing
        return listing

    def get(self, sku: str) -> Listing:
        try:
            return self.listings[sku]
        except KeyError:
            raise ValueError(f"unknown SKU {sku!r}") from None

    def patch_listing(self, sku: str, patches: list[JSON], *, apply: bool = True) -> list[JSON]:
        """Apply JSON-Patch operations to a listing; returns issues (empty = accepted).

        ``/attributes/fulfillment_availability`` with channel ``DEFAULT`` sets the MFN quantity
        (and makes the SKU seller-fulfilled, as Amazon does); other attribute paths are stored.
        """
        listing = self.listings.get(sku)
        issues: list[JSON] = []
        # Validate every patch first: a submission with any problem changes nothing.
        changes: list[tuple[str, str, JSON]] = []  # (what, attribute name, value)
        for patch in patches:
            op, path = patch.get("op"), str(patch.get("path", ""))
            if not path.startswith("/attributes/") or path.count("/") != 2:
                issues.append(_issue(ISSUE_INVALID_VALUE, f"Unsupported patch path '{path}'.", path))
                continue
            name = path.split("/")[2]
            value = patch.get("value")
            if name == "fulfillment_availability":
                if op == "delete":
                    changes.append(("delete_availability", name, None))
                    continue
                problem, qty, lead = _parse_availability(value)
                if problem:
                    issues.append(_issue(ISSUE_INVALID_VALUE, problem, name))
                elif qty is not None:
                    changes.append(("quantity", name, (qty, lead)))
            else:
                changes.append(("delete" if op == "delete" else "set", name, value))
        if issues or not apply:
            return issues
        if listing is None:
            # Amazon accepts a patch for a SKU the seller does not have (selling-partner-api-models
            # #2797, #4402): the offer data is kept as an incomplete, offer-only listing.
            entry = self.offer_only.setdefault(sku, {"sku": sku, "created": iso_ms(self.shared.now()), "attributes": {},
                                                     "submissions": 0})
            entry["submissions"] = int(entry["submissions"]) + 1
            for what, name, value in changes:
                if what == "quantity":
                    entry["quantity"], entry["lead_time"] = value
                elif what == "set":
                    entry["attributes"][name] = value
            return []
        for what, name, value in changes:
            if what == "delete_availability":
                _set_quantity(listing, 0, None, deleted=True)
            elif what == "quantity":
                _set_quantity(listing, value[0], value[1])
            elif what == "delete":
                listing.attributes.pop(name, None)
            else:
                listing.attributes[name] = value
        listing.updated = self.shared.now()
        return []


    def listing_item(self, sku: str, marketplace_ids: list[str], included: Iterable[str]) -> JSON:
        """The getListingsItem ``Item`` for ``sku`` with the requested ``includedData``."""
        listing = self.listings[sku]
        mkts = [m for m in marketplace_ids if m in listing.marketplace_ids] or list(marketplace_ids)
        included = set(included)
        item: dict[str, JSON] = {"sku": sku}
        sellable = self.fba_sellable(sku)
        fba_buyable = listing.channel == "FBA" and (sellable or 0) > 0
        buyable = fba_buyable or (listing.channel == "MFN" and listing.quantity > 0)
        if "summaries" in included:
            item["summaries"] = [{
                "marketplaceId": m, "asin": listing.asin, "productType": listing.product_type,
                "conditionType": listing.condition,
                "status": ["BUYABLE", "DISCOVERABLE"] if buyable else ["DISCOVERABLE"],
                "fnSku": listing.fnsku, "itemName": listing.title,
                "createdDate": iso_ms(listing.created), "lastUpdatedDate": iso_ms(listing.updated),
            } for m in mkts]
        if "attributes" in included:
            attrs: dict[str, JSON] = {"item_name": [{"value": listing.title, "language_tag": "en_GB",
                                                     "marketplace_id": m} for m in mkts]}
            availability = self._availability_attribute(listing)
            if availability is not None:
                attrs["fulfillment_availability"] = availability
            attrs.update(listing.attributes)
            item["attributes"] = attrs
        if "issues" in included:
            item["issues"] = list(listing.issues)
        if "offers" in included:
            item["offers"] = [] if listing.price is None else [
                {"marketplaceId": m, "offerType": "B2C", "price": {"currencyCode": listing.currency,
                                                                   "amount": listing.price}} for m in mkts]
        if "fulfillmentAvailability" in included:
            if listing.channel == "FBA":
                item["fulfillmentAvailability"] = [{"fulfillmentChannelCode": "AMAZON_EU",
                                                    "quantity": sellable or 0}]
            elif not listing.availability_deleted:
                item["fulfillmentAvailability"] = [{"fulfillmentChannelCode": "DEFAULT", "quantity": listing.quantity}]
        if "productTypes" in included:
            item["productTypes"] = [{"marketplaceId": m, "productType": listing.product_type} for m in mkts]
        if "relationships" in included:
            item["relationships"] = [{"marketplaceId": m, "relationships": []} for m in mkts]
        if "procurement" in included:
            item["procurement"] = []
        return item

    def _availability_attribute(self, listing: Listing) -> JSON:
        if listing.channel == "FBA":
            return [{"fulfillment_channel_code": "AMAZON_EU"}]
        if listing.availability_deleted:
            return None
        entry: dict[str, JSON] = {"fulfillment_channel_code": "DEFAULT", "quantity": listing.quantity}
        if listing.lead_time is not None:
            entry["lead_time_to_ship_max_days"] = listing.lead_time
        return [entry]


    def state(self) -> JSON:
        return {
        "listings": {sku: {"asin": li.asin, "fnsku": li.fnsku, "title": li.title, "channel": li.channel,
                           "quantity": li.quantity, "lead_time": li.lead_time, "marketplaces": li.marketplace_ids,
                           "attributes": li.attributes, "availability_deleted": li.availability_deleted,
                           "updated": iso_ms(li.updated)}
                     for sku, li in self.listings.items()},
        "offer_only": {sku: dict(entry) for sku, entry in self.offer_only.items()},
        }


class ListingsRoutes(Routes):
    def register(self) -> None:
        op = self.host._op
        li = r"/listings/2021-08-01/items/(?P<seller>[^/]+)/(?P<sku>[^/]+)"
        op("GET", li, "getListingsItem", self._get_listings_item)
        op("PATCH", li, "patchListingsItem", self._patch_listings_item)
        # A raw "/" in the SKU makes the path longer than the operation's: Amazon answers 403
        # Unauthorized (selling-partner-api-models #1100, #4429; python-amazon-sp-api #495).
        li_slash = r"/listings/2021-08-01/items/(?P<seller>[^/]+)/(?P<sku>[^?]+/[^?]*)"
        op("GET", li_slash, "getListingsItem", self._listing_raw_slash)
        op("PATCH", li_slash, "patchListingsItem", self._listing_raw_slash)

    def _listing_request(self, req: Request) -> tuple[str, list[str]]:
        if unquote(req.params["seller"]) != self.host.seller_id:
            raise ApiError(403, "Unauthorized", "Access to requested resource is denied.")
        return unquote(req.params["sku"]), self._check_marketplaces(qlist(req, "marketplaceIds"))

    def _listing_raw_slash(self, req: Request) -> Response:
        raise ApiError(403, "Unauthorized", "Access to requested resource is denied.")

    def _listing_not_found(self, sku: str, mkts: list[str]) -> ApiError:
        if self.world.listings_items.not_found_status == 400:  # as Amazon's sandbox answers a bad id
            return ApiError(400, "InvalidInput", f"{sku} is an invalid SKU for marketplace {','.join(mkts)}")
        return ApiError(404, "NOT_FOUND", f"SKU '{sku}' not found in marketplace {','.join(mkts)}")

    def _get_listings_item(self, req: Request) -> Response:
        sku, mkts = self._listing_request(req)
        included = qlist(req, "includedData") or ["summaries"]
        bad = [i for i in included if i not in LISTINGS_INCLUDED]
        if bad:
            raise invalid(f"Invalid includedData value(s): {', '.join(bad)}.")
        listing = self.world.listings_items.listings.get(sku)
        if listing is None or not set(mkts) & set(listing.marketplace_ids):
            raise self._listing_not_found(sku, mkts)
        return Response(200, self.world.listings_items.listing_item(sku, mkts, included))

    def _patch_listings_item(self, req: Request) -> Response:
        sku, mkts = self._listing_request(req)
        body = self._body(req)
        if not isinstance(body.get("productType"), str) or not body["productType"]:
            raise invalid("productType is required.")
        patches = body.get("patches")
        if not isinstance(patches, list) or not patches:
            raise invalid("patches must be a non-empty array.")
        for p in patches:
            if not isinstance(p, dict) or p.get("op") not in ("add", "replace", "merge", "delete") \
                    or not isinstance(p.get("path"), str):
                raise invalid("Each patch needs op (add, replace, merge, delete) and path.")
            if "value" in p and not isinstance(p["value"], list):
                raise invalid("A patch value must be an array.")
        included = qlist(req, "includedData") or ["issues"]
        mode = req.q("mode")
        if mode not in (None, "VALIDATION_PREVIEW"):
            raise invalid(f"Invalid mode {mode}.")
        preview = mode == "VALIDATION_PREVIEW"
        listing = self.world.listings_items.listings.get(sku)
        issues = self.world.listings_items.patch_listing(sku, patches, apply=not preview)
        for issue in issues:
            issue.setdefault("marketplaceIds", mkts)
        status = "INVALID" if issues else ("VALID" if preview else "ACCEPTED")
        out: JSON = {"sku": sku, "status": status, "submissionId": uuid.uuid4().hex}
        if "issues" in included:
            out["issues"] = issues
        if "identifiers" in included:
            out["identifiers"] = [] if listing is None else [{"marketplaceId": m, "asin": listing.asin} for m in mkts]
        return Response(200, out)


def _issue(code: str, message: str, attribute: str) -> JSON:
    return {"code": code, "message": message, "severity": "ERROR", "attributeNames": [attribute],
            "categories": ["INVALID_ATTRIBUTE"]}



def _parse_availability(value: JSON) -> tuple[str | None, int | None, int | None]:
    """Read the DEFAULT entry of a fulfillment_availability value: (problem, quantity, lead time)."""
    if not isinstance(value, list) or not value:
        return "fulfillment_availability needs a non-empty list value.", None, None
    for entry in value:
        if not isinstance(entry, dict) or "fulfillment_channel_code" not in entry:
            return "Each fulfillment_availability entry needs fulfillment_channel_code.", None, None
        if entry["fulfillment_channel_code"] != "DEFAULT":
            continue  # FBA channel codes: Amazon manages those quantities; nothing to set
        qty = entry.get("quantity")
        if isinstance(qty, bool) or not isinstance(qty, int) or qty < 0:
            return f"The value '{qty}' for 'quantity' is invalid: it must be a whole number of 0 or more.", None, None
        lead = entry.get("lead_time_to_ship_max_days")
        if lead is not None and (isinstance(lead, bool) or not isinstance(lead, int) or lead < 0):
            return f"The value '{lead}' for 'lead_time_to_ship_max_days' is invalid.", None, None
        return None, qty, lead
    return None, None, None


def _set_quantity(listing: Listing, quantity: int, lead_time: int | None, *, deleted: bool = False) -> None:
    listing.channel = "MFN"
    listing.quantity = quantity
    listing.availability_deleted = deleted
    # "replace" replaces the whole attribute: an entry sent without a lead time leaves none, which is
    # why the connector sends the lead time it read along with every quantity.
    listing.lead_time = lead_time
