"""The Amazon-side world behind the SP-API simulator: listings, one Pan-EU FBA stock pool per SKU,
the inventory ledger, returns, replacements, reimbursements, inbound shipments, and the report and
feed jobs that read it.

Pure Python with no HTTP: the server turns requests into calls on :class:`World`, and tests call
the same "Amazon did something" operations (``customer_shipment``, ``lose``, ``receive_inbound``…)
directly. Every operation first advances the jobs to the simulated "now", so reports and feeds are
always processed against the world exactly as it was when they finished.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from simulators.core import SimClock
from simulators.spapi.scenario import ScenarioState

JSON = Any

DISPOSITIONS = ("SELLABLE", "CUSTOMER_DAMAGED", "WAREHOUSE_DAMAGED", "DISTRIBUTOR_DAMAGED",
                "CARRIER_DAMAGED", "DEFECTIVE", "EXPIRED")
# Ledger damage codes by the disposition the units leave (each is followed by a P row).
DAMAGE_CODE_FROM = {"SELLABLE": "E", "CARRIER_DAMAGED": "6", "EXPIRED": "7", "CUSTOMER_DAMAGED": "H",
                    "DEFECTIVE": "K", "DISTRIBUTOR_DAMAGED": "U"}
# Returns-report dispositions and where the unit lands in the seller's stock.
RETURN_DISPOSITIONS = {"SELLABLE": "SELLABLE", "DAMAGED": "WAREHOUSE_DAMAGED", "CUSTOMER_DAMAGED": "CUSTOMER_DAMAGED",
                       "DEFECTIVE": "DEFECTIVE", "CARRIER_DAMAGED": "CARRIER_DAMAGED", "EXPIRED": "EXPIRED"}
LEDGER_EVENT_TYPES = ("Shipments", "CustomerReturns", "Adjustments", "Receipts", "WhseTransfers", "VendorReturns")
V0_STATUSES = ("WORKING", "SHIPPED", "IN_TRANSIT", "DELIVERED", "CHECKED_IN", "RECEIVING", "CLOSED",
               "CANCELLED", "DELETED", "ERROR")
FINAL_STATUSES = ("DONE", "CANCELLED", "FATAL")

SUPPORTED_REPORTS = (
    "GET_LEDGER_DETAIL_VIEW_DATA",
    "GET_LEDGER_SUMMARY_VIEW_DATA",
    "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA",
    "GET_FBA_FULFILLMENT_CUSTOMER_SHIPMENT_REPLACEMENT_DATA",
    "GET_FBA_REIMBURSEMENTS_DATA",
    "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA",
    "GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE",
    "GET_MERCHANT_LISTINGS_ALL_DATA",
)
# Legacy flat-file listing feeds stopped working on 2025-07-31.
RETIRED_FEEDS = ("POST_INVENTORY_AVAILABILITY_DATA", "POST_FLAT_FILE_INVLOADER_DATA", "POST_PRODUCT_DATA",
                 "POST_FLAT_FILE_LISTINGS_DATA")
LISTINGS_FEED_MAX_MESSAGES = 25_000

SCHEMA_DIR = Path(__file__).parent / "schemas"

# Issue codes the simulator uses where Amazon publishes none (documented in docs/simulators-spapi.md).
ISSUE_UNKNOWN_SKU = "4000003"
ISSUE_INVALID_VALUE = "90000900"
ISSUE_SCHEMA = "99001"


class ApiError(Exception):
    """An SP-API error answer (``errors`` list with one entry)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> JSON:
        return {"errors": [{"code": self.code, "message": self.message, "details": ""}]}


def invalid(message: str) -> ApiError:
    return ApiError(400, "InvalidInput", message)


def iso_ms(dt: datetime) -> str:
    """``2026-07-14T03:35:13.214Z`` — the format SP-API JSON uses."""
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def iso_s(dt: datetime) -> str:
    """``2026-07-14T03:35:13Z`` — the 2024-03-20 inbound API's format."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str | None, name: str = "date-time") -> datetime | None:
    """ISO-8601 from a request; naive times are UTC. Raises 400 on garbage."""
    if value in (None, ""):
        return None
    assert value is not None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise invalid(f"{name} {value!r} is not an ISO-8601 date-time") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


@cache
def load_schema(name: str) -> JSON:
    return json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))


# ====================================================================== world records
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


@dataclass
class FbaStock:
    """Units in Amazon's fulfilment centres for one SKU; one pool for the whole region (Pan-EU)."""

    on_hand: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DISPOSITIONS, 0))
    pending_customer_order: int = 0
    pending_transshipment: int = 0
    fc_processing: int = 0
    researching: int = 0
    updated: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def unfulfillable(self) -> int:
        return sum(v for k, v in self.on_hand.items() if k != "SELLABLE")

    @property
    def reserved(self) -> int:
        return self.pending_customer_order + self.pending_transshipment + self.fc_processing


@dataclass
class LedgerEvent:
    at: datetime
    sku: str
    event_type: str
    reference_id: str
    quantity: int  # signed: negative = units leaving the seller's FBA stock
    fc: str
    disposition: str
    reason: str = ""
    country: str = "GB"
    reconciled: int | None = None
    unreconciled: int | None = None


@dataclass
class CustomerReturn:
    at: datetime
    order_id: str
    sku: str
    quantity: int
    fc: str
    detailed_disposition: str
    reason: str
    status: str
    license_plate_number: str
    customer_comments: str = ""


@dataclass
class Replacement:
    at: datetime
    sku: str
    quantity: int
    fc: str
    original_fc: str
    reason_code: str
    replacement_order_id: str
    original_order_id: str


@dataclass
class Reimbursement:
    at: datetime
    reimbursement_id: str
    case_id: str
    order_id: str
    reason: str
    sku: str
    condition: str
    currency: str
    amount_per_unit: str
    amount_total: str
    quantity_cash: int
    quantity_inventory: int
    original_reimbursement_id: str = ""
    original_reimbursement_type: str = ""


@dataclass
class MfnReturn:
    at: datetime  # return request date
    order_id: str
    order_date: datetime
    sku: str
    quantity: int
    reason: str
    status: str
    rma_id: str
    resolution: str
    order_amount: str
    currency: str
    refunded_amount: str


@dataclass
class InboundItem:
    sku: str
    shipped: int  # QuantityShipped: what the seller planned / sent
    received: int = 0
    quantity_in_case: int = 0


@dataclass
class InboundShipment:
    shipment_id: str  # v0 "FBA…" id = 2024-03-20 shipmentConfirmationId
    name: str
    fc: str
    status: str
    items: dict[str, InboundItem]
    created: datetime
    updated: datetime
    plan_id: str  # 2024-03-20 inboundPlanId (wf…)
    shipment_uuid: str  # 2024-03-20 shipmentId (sh…)
    placement_option_id: str
    label_prep: str = "SELLER_LABEL"
    # Stale v0 (scenario control ``stale_inbound_v0``): what getShipmentItems shows instead of the truth.
    v0_received: dict[str, int] | None = None  # frozen QuantityReceived per SKU (missing SKU → 0)
    v0_hidden: bool = False  # getShipmentItems answers no items at all (shipment made with the 2024-03-20 API)

    @property
    def plan_status(self) -> str:
        if self.status in ("CANCELLED", "DELETED"):
            return "VOIDED"
        return "ACTIVE" if self.status == "WORKING" else "SHIPPED"


@dataclass
class Document:
    document_id: str
    content: bytes | None
    content_type: str
    created: datetime
    compression: str | None = None  # "GZIP" when the stored bytes are gzip-compressed


@dataclass
class Report:
    report_id: str
    report_type: str
    marketplace_ids: list[str]
    options: dict[str, str]
    data_start: datetime
    data_end: datetime
    created: datetime
    status: str = "IN_QUEUE"
    processing_start: datetime | None = None
    processing_end: datetime | None = None
    document_id: str | None = None
    forced: str | None = None

    def to_api(self) -> JSON:
        out: dict[str, JSON] = {
            "reportId": self.report_id, "reportType": self.report_type,
            "marketplaceIds": self.marketplace_ids, "createdTime": iso_ms(self.created),
            "processingStatus": self.status,
            "dataStartTime": iso_ms(self.data_start), "dataEndTime": iso_ms(self.data_end),
        }
        if self.processing_start:
            out["processingStartTime"] = iso_ms(self.processing_start)
        if self.processing_end:
            out["processingEndTime"] = iso_ms(self.processing_end)
        if self.document_id:
            out["reportDocumentId"] = self.document_id
        return out


@dataclass
class Feed:
    feed_id: str
    feed_type: str
    marketplace_ids: list[str]
    input_document_id: str
    options: dict[str, str]
    created: datetime
    status: str = "IN_QUEUE"
    processing_start: datetime | None = None
    processing_end: datetime | None = None
    result_document_id: str | None = None
    forced: str | None = None
    extra_delay: float = 0.0  # seconds beyond Timing.feed_processing (reorders completions)

    def to_api(self) -> JSON:
        out: dict[str, JSON] = {
            "feedId": self.feed_id, "feedType": self.feed_type, "marketplaceIds": self.marketplace_ids,
            "createdTime": iso_ms(self.created), "processingStatus": self.status,
        }
        if self.processing_start:
            out["processingStartTime"] = iso_ms(self.processing_start)
        if self.processing_end:
            out["processingEndTime"] = iso_ms(self.processing_end)
        if self.result_document_id:
            out["resultFeedDocumentId"] = self.result_document_id
        return out


DEFAULT_SHIP_FROM = {"Name": "Sim Seller Ltd", "AddressLine1": "1 Warehouse Way", "City": "Leeds",
                     "StateOrProvinceCode": "West Yorkshire", "CountryCode": "GB", "PostalCode": "LS1 1AA"}


@dataclass
class Timing:
    """How long jobs take on the simulated clock (seconds)."""

    report_queue: float = 5.0
    report_processing: float = 25.0
    feed_queue: float = 5.0
    feed_processing: float = 25.0


# ====================================================================== the world
class World:
    """All Amazon-side state for one seller in one region."""

    def __init__(self, *, clock: SimClock, seller_id: str, marketplace_ids: Iterable[str], rng: random.Random,
                 timing: Timing | None = None, default_fc: str = "LTN1", country: str = "GB") -> None:
        self.clock = clock
        self.seller_id = seller_id
        self.marketplace_ids = list(marketplace_ids)
        self.rng = rng
        self.timing = timing or Timing()
        self.default_fc = default_fc
        self.country = country
        self.ship_from: dict[str, str] = dict(DEFAULT_SHIP_FROM)
        self.listings: dict[str, Listing] = {}
        self.fba: dict[str, FbaStock] = {}
        self.opening: dict[tuple[str, str], int] = {}  # (sku, disposition) → units before the ledger starts
        self.epoch = clock.now()
        self.ledger: list[LedgerEvent] = []
        self.returns: list[CustomerReturn] = []
        self.replacements: list[Replacement] = []
        self.reimbursements: list[Reimbursement] = []
        self.mfn_returns: list[MfnReturn] = []
        self.shipments: dict[str, InboundShipment] = {}
        self.reports: dict[str, Report] = {}
        self.feeds: dict[str, Feed] = {}
        self.documents: dict[str, Document] = {}
        self.forced_report_outcomes: dict[str, list[str]] = {}  # report type → queued outcomes
        self.scenario = ScenarioState()  # odd documents, host faults, token expiry (simulators/spapi/scenario.py)
        self.forced_feed_outcomes: dict[str, list[str]] = {}
        self.feed_delays: list[float] = []  # extra processing seconds for the next feeds, in order
        # SKUs a patch or feed message "created" although the seller had no such listing: Amazon accepts
        # the submission and may create an offer-only (incomplete) listing (docs/simulators-spapi.md).
        self.offer_only: dict[str, JSON] = {}
        self.listing_not_found_status = 404  # 400: answer a bad SKU as the sandbox does (InvalidInput)
        self.outbox: list[JSON] = []  # notification payloads waiting for delivery
        self.report_compression: str | None = "GZIP"
        self.report_charset = "UTF-8"
        self.report_utc_offset = timedelta(0)
        self._seq = 0
        # Observers the server hooks to turn finished jobs into notifications.
        self.on_report_finished: Callable[[Report], None] | None = None
        self.on_feed_finished: Callable[[Feed], None] | None = None
        self.on_inventory_changed: Callable[[str], None] | None = None

    # ------------------------------------------------------------------ ids and time
    def now(self) -> datetime:
        return self.clock.now()

    def _next(self) -> int:
        self._seq += 1
        return self._seq

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _alnum(self, n: int) -> str:
        return "".join(self.rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(n))

    def new_document_id(self) -> str:
        return f"amzn1.tortuga.4.eu.{self._uuid()}.T{self._alnum(12)}"

    # ------------------------------------------------------------------ seeding
    def add_listing(self, sku: str, spec: JSON) -> Listing:
        digest = hashlib.sha1(sku.encode("utf-8"), usedforsecurity=False).hexdigest().upper()
        now = self.now()
        listing = Listing(
            sku=sku,
            asin=spec.get("asin") or f"B0{digest[:8]}",
            fnsku=spec.get("fnsku") or f"X00{digest[8:15]}",
            title=spec.get("title") or f"Product {sku}",
            marketplace_ids=list(spec.get("marketplaces") or self.marketplace_ids),
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
        fba = spec.get("fba")
        if fba is not None or listing.channel == "FBA":
            self.set_fba_stock(sku, fba or {})
        return listing

    def set_fba_stock(self, sku: str, spec: JSON) -> None:
        """Seed FBA stock: ``{"SELLABLE": 10, "CUSTOMER_DAMAGED": 1, "pending_customer_order": 2, ...}``.

        Seeded units are the ledger's opening balance: they have no ledger rows of their own.
        """
        self._listing(sku)
        stock = FbaStock(updated=self.now())
        for key, value in spec.items():
            if key.upper() in DISPOSITIONS:
                stock.on_hand[key.upper()] = int(value)
            elif key in ("pending_customer_order", "pending_transshipment", "fc_processing", "researching"):
                setattr(stock, key, int(value))
            else:
                raise ValueError(f"unknown FBA stock field {key!r}")
        self.fba[sku] = stock
        for disp in DISPOSITIONS:
            self.opening[(sku, disp)] = stock.on_hand[disp]

    def seed(self, data: JSON) -> None:
        if "ship_from" in data:
            self.ship_from = dict(data["ship_from"])
        for sku, spec in (data.get("listings") or {}).items():
            self.add_listing(sku, spec)
        for sku, spec in (data.get("fba_inventory") or {}).items():
            self.set_fba_stock(sku, spec)
        for spec in data.get("inbound_shipments") or []:
            shp = self.create_inbound_shipment(spec["items"], shipment_id=spec.get("shipment_id"),
                                               name=spec.get("name"), fc=spec.get("fc"))
            status = spec.get("status", "WORKING")
            if status != "WORKING":
                if status not in V0_STATUSES:
                    raise ValueError(f"unknown inbound status {status!r}")
                shp.status = status

    # ------------------------------------------------------------------ lookups
    def _listing(self, sku: str) -> Listing:
        try:
            return self.listings[sku]
        except KeyError:
            raise ValueError(f"unknown SKU {sku!r}") from None

    def _stock(self, sku: str) -> FbaStock:
        self._listing(sku)
        if sku not in self.fba:
            self.fba[sku] = FbaStock(updated=self.now())
            for disp in DISPOSITIONS:
                self.opening.setdefault((sku, disp), 0)
        return self.fba[sku]

    def _shipment(self, shipment_id: str) -> InboundShipment:
        try:
            return self.shipments[shipment_id]
        except KeyError:
            raise ValueError(f"unknown inbound shipment {shipment_id!r}") from None

    def inbound_quantities(self, sku: str) -> tuple[int, int, int]:
        """(working, shipped, receiving) units of ``sku`` in open inbound shipments."""
        working = shipped = receiving = 0
        for shp in self.shipments.values():
            item = shp.items.get(sku)
            if item is None:
                continue
            if shp.status == "WORKING":
                working += item.shipped
            elif shp.status in ("SHIPPED", "IN_TRANSIT", "DELIVERED", "CHECKED_IN"):
                shipped += item.shipped
            elif shp.status == "RECEIVING":
                receiving += max(0, item.shipped - item.received)
        return working, shipped, receiving

    # ------------------------------------------------------------------ stock movements
    def _move(self, sku: str, disposition: str, delta: int) -> None:
        stock = self._stock(sku)
        if disposition not in DISPOSITIONS:
            raise ValueError(f"unknown disposition {disposition!r}; expected one of {DISPOSITIONS}")
        if stock.on_hand[disposition] + delta < 0:
            raise ValueError(f"{sku}: only {stock.on_hand[disposition]} {disposition} units, cannot remove {-delta}")
        stock.on_hand[disposition] += delta
        stock.updated = self.now()

    def _ledger(self, sku: str, event_type: str, reference_id: str, quantity: int, disposition: str, *,
                reason: str = "", fc: str | None = None, at: datetime | None = None,
                reconciled: int | None = None, unreconciled: int | None = None) -> LedgerEvent:
        event = LedgerEvent(at=at or self.now(), sku=sku, event_type=event_type, reference_id=reference_id,
                            quantity=quantity, fc=fc or self.default_fc, disposition=disposition, reason=reason,
                            country=self.country, reconciled=reconciled, unreconciled=unreconciled)
        self.ledger.append(event)
        return event

    def _changed(self, *skus: str) -> None:
        for sku in dict.fromkeys(skus):
            if sku in self.fba:
                self.fba[sku].updated = self.now()
            if self.on_inventory_changed:
                self.on_inventory_changed(sku)

    def _order_id(self) -> str:
        return f"{self.rng.randint(200, 299)}-{self.rng.randint(1000000, 9999999)}-{self.rng.randint(1000000, 9999999)}"

    # ------------------------------------------------------------------ world operations
    def customer_order(self, sku: str, quantity: int) -> None:
        """A customer ordered: units move from fulfillable to reserved (pending customer order)."""
        self.advance()
        self._move(sku, "SELLABLE", -quantity)
        self._stock(sku).pending_customer_order += quantity
        self._changed(sku)

    def customer_shipment(self, sku: str, quantity: int, *, order_id: str | None = None, fc: str | None = None,
                          at: datetime | None = None) -> LedgerEvent:
        """Amazon shipped a customer order: Shipments row (-qty); reserved units are used first."""
        self.advance()
        stock = self._stock(sku)
        from_reserved = min(stock.pending_customer_order, quantity)
        if quantity - from_reserved:
            self._move(sku, "SELLABLE", -(quantity - from_reserved))
        stock.pending_customer_order -= from_reserved
        event = self._ledger(sku, "Shipments", order_id or self._order_id(), -quantity, "SELLABLE", fc=fc, at=at)
        self._changed(sku)
        return event

    def customer_return(self, sku: str, quantity: int = 1, *, order_id: str | None = None,
                        disposition: str = "SELLABLE", reason: str = "UNWANTED_ITEM", status: str | None = None,
                        license_plate_number: str | None = None, comments: str = "", fc: str | None = None,
                        at: datetime | None = None) -> CustomerReturn:
        """The FC processed a customer return: returns-report row plus a CustomerReturns ledger row.

        ``disposition`` is the returns report's ``detailed-disposition``; ``DAMAGED`` (Amazon's
        fault) lands as WAREHOUSE_DAMAGED stock.
        """
        self.advance()
        disposition = disposition.upper()
        if disposition not in RETURN_DISPOSITIONS:
            raise ValueError(f"unknown return disposition {disposition!r}; expected one of {list(RETURN_DISPOSITIONS)}")
        ledger_disp = RETURN_DISPOSITIONS[disposition]
        order_id = order_id or self._order_id()
        when = at or self.now()
        self._move(sku, ledger_disp, quantity)
        self._ledger(sku, "CustomerReturns", order_id, quantity, ledger_disp, fc=fc, at=when)
        ret = CustomerReturn(
            at=when, order_id=order_id, sku=sku, quantity=quantity, fc=fc or self.default_fc,
            detailed_disposition=disposition, reason=reason,
            # Units Amazon damaged or the carrier broke are reimbursed rather than restocked for the seller.
            status=status or ("Reimbursed" if disposition in ("DAMAGED", "CARRIER_DAMAGED")
                              else "Unit returned to inventory"),
            license_plate_number=license_plate_number or f"LPN{self._alnum(9)}", customer_comments=comments)
        self.returns.append(ret)
        self._changed(sku)
        return ret

    def replacement(self, sku: str, quantity: int = 1, *, original_order_id: str,
                    replacement_order_id: str | None = None, reason_code: str = "3", fc: str | None = None,
                    original_fc: str | None = None, at: datetime | None = None) -> Replacement:
        """Amazon sent a free replacement: replacement-report row and a Shipments ledger row."""
        self.advance()
        when = at or self.now()
        rep = Replacement(at=when, sku=sku, quantity=quantity, fc=fc or self.default_fc,
                          original_fc=original_fc or fc or self.default_fc, reason_code=str(reason_code),
                          replacement_order_id=replacement_order_id or self._order_id(),
                          original_order_id=original_order_id)
        self._move(sku, "SELLABLE", -quantity)
        self._ledger(sku, "Shipments", rep.replacement_order_id, -quantity, "SELLABLE", fc=rep.fc, at=when)
        self.replacements.append(rep)
        self._changed(sku)
        return rep

    def _adjustment_ref(self) -> str:
        return str(self.rng.randint(10**9, 10**10 - 1))

    def lose(self, sku: str, quantity: int = 1, *, reason: str = "M", disposition: str = "SELLABLE",
             fc: str | None = None, at: datetime | None = None) -> LedgerEvent:
        """Units misplaced in the FC (M or 5): -qty, unreconciled, and under research until found/reimbursed."""
        self.advance()
        if reason not in ("M", "5"):
            raise ValueError("loss reason must be M or 5")
        self._move(sku, disposition, -quantity)
        self._stock(sku).researching += quantity
        event = self._ledger(sku, "Adjustments", self._adjustment_ref(), -quantity, disposition, reason=reason,
                             fc=fc, at=at, reconciled=0, unreconciled=quantity)
        self._changed(sku)
        return event

    def find(self, sku: str, quantity: int = 1, *, reason: str = "F", disposition: str = "SELLABLE",
             fc: str | None = None, at: datetime | None = None) -> LedgerEvent:
        """Units found (F) or transferred to the seller (N): +qty."""
        self.advance()
        if reason not in ("F", "N"):
            raise ValueError("found reason must be F or N")
        stock = self._stock(sku)
        self._move(sku, disposition, quantity)
        reconciled = min(quantity, stock.researching)
        stock.researching -= reconciled
        event = self._ledger(sku, "Adjustments", self._adjustment_ref(), quantity, disposition, reason=reason,
                             fc=fc, at=at, reconciled=reconciled, unreconciled=quantity - reconciled)
        self._changed(sku)
        return event

    def damage(self, sku: str, quantity: int = 1, *, from_disposition: str = "SELLABLE",
               to_disposition: str = "WAREHOUSE_DAMAGED", fc: str | None = None,
               at: datetime | None = None) -> tuple[LedgerEvent, LedgerEvent]:
        """Damaged in the FC: a paired E(…U)/P adjustment moving units between dispositions."""
        self.advance()
        code = DAMAGE_CODE_FROM.get(from_disposition)
        if code is None:
            raise ValueError(f"no damage code for units leaving {from_disposition!r}")
        self._move(sku, from_disposition, -quantity)
        self._move(sku, to_disposition, quantity)
        ref = self._adjustment_ref()
        out = self._ledger(sku, "Adjustments", ref, -quantity, from_disposition, reason=code, fc=fc, at=at,
                           reconciled=0, unreconciled=quantity)
        into = self._ledger(sku, "Adjustments", ref, quantity, to_disposition, reason="P", fc=fc, at=at)
        self._changed(sku)
        return out, into

    def dispose(self, sku: str, quantity: int = 1, *, disposition: str = "WAREHOUSE_DAMAGED", reason: str = "D",
                fc: str | None = None, at: datetime | None = None) -> LedgerEvent:
        """Units disposed of (D) or donated (G)."""
        self.advance()
        if reason not in ("D", "G"):
            raise ValueError("disposal reason must be D or G")
        self._move(sku, disposition, -quantity)
        event = self._ledger(sku, "Adjustments", self._adjustment_ref(), -quantity, disposition, reason=reason,
                             fc=fc, at=at)
        self._changed(sku)
        return event

    def adjust(self, sku: str, quantity: int, *, reason: str, disposition: str = "SELLABLE",
               fc: str | None = None, at: datetime | None = None) -> LedgerEvent:
        """Any other adjustment code (O, Q, 3, 4, or an unknown code) with a signed quantity."""
        self.advance()
        self._move(sku, disposition, quantity)
        event = self._ledger(sku, "Adjustments", self._adjustment_ref(), quantity, disposition, reason=reason,
                             fc=fc, at=at)
        self._changed(sku)
        return event

    def warehouse_transfer(self, sku: str, quantity: int, *, from_fc: str, to_fc: str,
                           at: datetime | None = None) -> tuple[LedgerEvent, LedgerEvent]:
        """Units moved between FCs: a -qty and a +qty WhseTransfers row (net zero)."""
        self.advance()
        self._stock(sku)
        ref = self._adjustment_ref()
        return (self._ledger(sku, "WhseTransfers", ref, -quantity, "SELLABLE", fc=from_fc, at=at),
                self._ledger(sku, "WhseTransfers", ref, quantity, "SELLABLE", fc=to_fc, at=at))

    def vendor_return(self, sku: str, quantity: int, *, disposition: str = "SELLABLE", order_id: str | None = None,
                      fc: str | None = None, at: datetime | None = None) -> LedgerEvent:
        """A removal order shipped units back to the seller: VendorReturns row (-qty)."""
        self.advance()
        self._move(sku, disposition, -quantity)
        event = self._ledger(sku, "VendorReturns", order_id or f"RMV{self._alnum(8)}", -quantity, disposition,
                             fc=fc, at=at)
        self._changed(sku)
        return event

    def reimburse(self, sku: str, *, quantity_cash: int = 0, quantity_inventory: int = 0,
                  amount_per_unit: str | float = "0.00", currency: str = "GBP", reason: str = "Lost_Warehouse",
                  order_id: str = "", case_id: str = "", original_reimbursement_id: str = "",
                  original_reimbursement_type: str = "", at: datetime | None = None) -> Reimbursement:
        """Amazon reimbursed the seller. Inventory reimbursement adds units with an N adjustment."""
        self.advance()
        listing = self._listing(sku)
        total = quantity_cash + quantity_inventory
        per_unit = f"{float(amount_per_unit):.2f}"
        when = at or self.now()
        rmb = Reimbursement(
            at=when, reimbursement_id=str(self.rng.randint(10**9, 10**10 - 1)), case_id=case_id, order_id=order_id,
            reason=reason, sku=sku, condition="NewItem" if listing.condition == "new_new" else listing.condition,
            currency=currency, amount_per_unit=per_unit, amount_total=f"{float(amount_per_unit) * quantity_cash:.2f}",
            quantity_cash=quantity_cash, quantity_inventory=quantity_inventory,
            original_reimbursement_id=original_reimbursement_id,
            original_reimbursement_type=original_reimbursement_type)
        self.reimbursements.append(rmb)
        stock = self._stock(sku)
        if reason in ("Lost_Warehouse", "Damaged_Warehouse"):
            # A reimbursed loss is settled: it is no longer under research.
            stock.researching -= min(stock.researching, total)
        if quantity_inventory:
            self._move(sku, "SELLABLE", quantity_inventory)
            self._ledger(sku, "Adjustments", rmb.reimbursement_id, quantity_inventory, "SELLABLE", reason="N",
                         at=when, reconciled=0, unreconciled=quantity_inventory)
        self._changed(sku)
        return rmb

    def mfn_return(self, sku: str, quantity: int = 1, *, order_id: str | None = None,
                   reason: str = "UNWANTED_ITEM", status: str = "Approved", resolution: str = "StandardRefund",
                   order_amount: str = "0.00", refunded_amount: str = "0.00", currency: str = "GBP",
                   order_date: datetime | None = None, at: datetime | None = None) -> MfnReturn:
        """A customer requested a return of a seller-fulfilled order (MFN returns report row)."""
        self.advance()
        self._listing(sku)
        when = at or self.now()
        ret = MfnReturn(at=when, order_id=order_id or self._order_id(),
                        order_date=order_date or when - timedelta(days=3),
                        sku=sku, quantity=quantity, reason=reason, status=status, rma_id=f"D{self._alnum(9)}RRMA",
                        resolution=resolution, order_amount=order_amount, currency=currency,
                        refunded_amount=refunded_amount)
        self.mfn_returns.append(ret)
        return ret

    # ------------------------------------------------------------------ inbound shipments
    def create_inbound_shipment(self, items: dict[str, int], *, shipment_id: str | None = None,
                                name: str | None = None, fc: str | None = None) -> InboundShipment:
        """The seller created an inbound shipment (WORKING): units count as inbound working."""
        self.advance()
        for sku in items:
            self._stock(sku)
        now = self.now()
        shipment_id = shipment_id or f"FBA{self._alnum(9)}"
        if shipment_id in self.shipments:
            raise ValueError(f"inbound shipment {shipment_id} exists")
        shp = InboundShipment(
            shipment_id=shipment_id, name=name or f"FBA ({now:%d/%m/%Y %H:%M})-{fc or self.default_fc}",
            fc=fc or self.default_fc, status="WORKING",
            items={sku: InboundItem(sku=sku, shipped=int(q)) for sku, q in items.items()},
            created=now, updated=now, plan_id=f"wf{self._uuid()}", shipment_uuid=f"sh{self._uuid()}",
            placement_option_id=f"pl{self._uuid()}")
        self.shipments[shipment_id] = shp
        self._changed(*items)
        return shp

    def set_inbound_status(self, shipment_id: str, status: str) -> InboundShipment:
        self.advance()
        if status not in V0_STATUSES:
            raise ValueError(f"unknown inbound status {status!r}")
        shp = self._shipment(shipment_id)
        shp.status = status
        shp.updated = self.now()
        self._changed(*shp.items)
        return shp

    def ship_inbound(self, shipment_id: str) -> InboundShipment:
        """The carrier picked the shipment up: inbound working → inbound shipped."""
        shp = self._shipment(shipment_id)
        if shp.status != "WORKING":
            raise ValueError(f"{shipment_id} is {shp.status}, only WORKING shipments can be shipped")
        return self.set_inbound_status(shipment_id, "SHIPPED")

    def receive_inbound(self, shipment_id: str, items: dict[str, int], *, fc: str | None = None,
                        at: datetime | None = None) -> InboundShipment:
        """The FC received units (partial, over-receipt or a SKU never in the shipment are all allowed).

        Each SKU gets a Receipts ledger row whose Reference ID is the shipment id.
        """
        self.advance()
        shp = self._shipment(shipment_id)
        if shp.status in ("WORKING", "CANCELLED", "DELETED", "CLOSED"):
            raise ValueError(f"{shipment_id} is {shp.status}; it cannot receive units")
        for sku, qty in items.items():
            self._stock(sku)
            item = shp.items.setdefault(sku, InboundItem(sku=sku, shipped=0))
            item.received += int(qty)
            self._move(sku, "SELLABLE", int(qty))
            self._ledger(sku, "Receipts", shipment_id, int(qty), "SELLABLE", fc=fc or shp.fc, at=at)
        shp.status = "RECEIVING"
        shp.updated = self.now()
        self._changed(*shp.items)
        return shp

    def close_inbound(self, shipment_id: str) -> InboundShipment:
        return self.set_inbound_status(shipment_id, "CLOSED")

    def stale_inbound_v0(self, shipment_id: str, *, received: dict[str, int] | None = None, hide: bool = False,
                         fresh: bool = False) -> InboundShipment:
        """Make v0 getShipmentItems lag the truth (ledger Receipts and stock keep the real figures).

        ``received``: v0 shows these QuantityReceived figures from now on (a SKU not named shows 0; ``{}`` =
        zero everywhere), however much more is received; ``hide``: v0 shows no items at all, as for a
        shipment created through the 2024-03-20 API; ``fresh``: back to the true figures.
        """
        shp = self._shipment(shipment_id)
        if fresh:
            shp.v0_received, shp.v0_hidden = None, False
        else:
            if received is not None:
                unknown = sorted(set(received) - set(shp.items))
                if unknown:
                    raise ValueError(f"{shipment_id} has no SKUs {unknown}")
                shp.v0_received = {k: int(v) for k, v in received.items()}
            shp.v0_hidden = bool(hide)
        return shp

    def cancel_inbound(self, shipment_id: str) -> InboundShipment:
        """Cancelled before sending → DELETED; after → CANCELLED."""
        shp = self._shipment(shipment_id)
        return self.set_inbound_status(shipment_id, "DELETED" if shp.status == "WORKING" else "CANCELLED")

    # ------------------------------------------------------------------ listings (MFN quantity)
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
            entry = self.offer_only.setdefault(sku, {"sku": sku, "created": iso_ms(self.now()), "attributes": {},
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
        listing.updated = self.now()
        return []

    # ------------------------------------------------------------------ reports
    def create_report(self, report_type: str, marketplace_ids: list[str], *, options: dict[str, str] | None = None,
                      data_start: datetime | None = None, data_end: datetime | None = None) -> Report:
        self.advance()
        if report_type not in SUPPORTED_REPORTS:
            raise invalid(f"Report type {report_type} is not supported by this simulator; "
                          f"supported: {', '.join(SUPPORTED_REPORTS)}")
        now = self.now()
        end = data_end or now
        start = data_start or (end - timedelta(days=30))
        if start > end:
            raise invalid("dataStartTime must be before dataEndTime")
        if end > now + timedelta(minutes=2):
            raise invalid("dataEndTime must not be in the future")
        report = Report(report_id=str(50_000_000_000 + self._next()), report_type=report_type,
                        marketplace_ids=list(marketplace_ids), options=dict(options or {}), data_start=start,
                        data_end=end, created=now)
        queue = self.forced_report_outcomes.get(report_type)
        if queue:
            report.forced = queue.pop(0)
        self.reports[report.report_id] = report
        return report

    def force_report_outcome(self, report_type: str, outcome: str, count: int = 1) -> None:
        """Make the next ``count`` reports of ``report_type`` end FATAL or CANCELLED."""
        if outcome not in ("FATAL", "CANCELLED", "DONE"):
            raise ValueError("outcome must be FATAL, CANCELLED or DONE")
        self.forced_report_outcomes.setdefault(report_type, []).extend([outcome] * count)

    def cancel_report(self, report_id: str) -> Report:
        self.advance()
        report = self.reports.get(report_id)
        if report is None:
            raise ApiError(404, "NotFound", f"Report {report_id} not found")
        if report.status != "IN_QUEUE":
            raise invalid(f"Report {report_id} is {report.status}; only IN_QUEUE reports can be cancelled")
        report.status = "CANCELLED"
        report.processing_end = self.now()
        if self.on_report_finished:
            self.on_report_finished(report)
        return report

    def _finish_report(self, report: Report, at: datetime) -> None:
        from simulators.spapi.reports import render_report  # late import: reports reads World

        report.processing_end = at
        outcome = report.forced
        text, rows = render_report(self, report, at)
        if outcome is None:
            outcome = "DONE" if rows else "CANCELLED"  # Amazon cancels a report that has no data
        report.status = outcome
        if outcome == "DONE":
            raw, content_type, _variants = self.scenario.shape_document(report.report_type, text,
                                                                        self.report_charset)
            compression = self.report_compression
            if compression == "GZIP":
                raw = gzip.compress(raw, mtime=0)
            doc = Document(document_id=self.new_document_id(), content=raw, content_type=content_type,
                           created=at, compression=compression)
            self.documents[doc.document_id] = doc
            report.document_id = doc.document_id
        if self.on_report_finished:
            self.on_report_finished(report)

    # ------------------------------------------------------------------ feeds
    def create_feed_document(self, content_type: str) -> Document:
        self.advance()
        doc = Document(document_id=self.new_document_id(), content=None, content_type=content_type,
                       created=self.now())
        self.documents[doc.document_id] = doc
        return doc

    def upload_document(self, document_id: str, content: bytes, content_type: str | None) -> None:
        doc = self.documents.get(document_id)
        if doc is None:
            raise ApiError(404, "NoSuchKey", "The specified key does not exist.")
        doc.content = content
        if content_type:
            doc.content_type = content_type

    def create_feed(self, feed_type: str, marketplace_ids: list[str], input_document_id: str,
                    options: dict[str, str] | None = None) -> Feed:
        self.advance()
        if feed_type in RETIRED_FEEDS:
            raise invalid(f"Feed type {feed_type} is no longer supported; use JSON_LISTINGS_FEED.")
        doc = self.documents.get(input_document_id)
        if doc is None:
            raise invalid(f"Invalid inputFeedDocumentId {input_document_id}")
        feed = Feed(feed_id=str(60_000_000_000 + self._next()), feed_type=feed_type,
                    marketplace_ids=list(marketplace_ids), input_document_id=input_document_id,
                    options=dict(options or {}), created=self.now())
        queue = self.forced_feed_outcomes.get(feed_type)
        if queue:
            feed.forced = queue.pop(0)
        if self.feed_delays:
            feed.extra_delay = self.feed_delays.pop(0)
        self.feeds[feed.feed_id] = feed
        return feed

    def force_feed_outcome(self, feed_type: str, outcome: str, count: int = 1) -> None:
        if outcome not in ("FATAL", "CANCELLED"):
            raise ValueError("outcome must be FATAL or CANCELLED")
        self.forced_feed_outcomes.setdefault(feed_type, []).extend([outcome] * count)

    def delay_next_feeds(self, delays: list[float]) -> None:
        """Give the next feeds extra processing seconds (in creation order), so they finish, are applied
        and notify in another order than they were created, as Amazon's feeds may."""
        self.feed_delays.extend(float(d) for d in delays)

    def cancel_feed(self, feed_id: str) -> Feed:
        self.advance()
        feed = self.feeds.get(feed_id)
        if feed is None:
            raise ApiError(404, "NotFound", f"Feed {feed_id} not found")
        if feed.status != "IN_QUEUE":
            raise invalid(f"Feed {feed_id} is {feed.status}; only IN_QUEUE feeds can be cancelled")
        feed.status = "CANCELLED"
        feed.processing_end = self.now()
        if self.on_feed_finished:
            self.on_feed_finished(feed)
        return feed

    def _finish_feed(self, feed: Feed, at: datetime) -> None:
        feed.processing_end = at
        if feed.forced == "CANCELLED":
            feed.status = "CANCELLED"
        elif feed.forced == "FATAL":  # aborted: nothing in the document is applied
            feed.status = "FATAL"
            self._feed_result(feed, {"header": {"sellerId": self.seller_id, "version": "2.0", "feedId": feed.feed_id},
                                     "issues": [{"code": ISSUE_SCHEMA, "severity": "ERROR",
                                                 "message": "The feed was aborted because of an internal error."}],
                                     "summary": _summary(1, 0, 0, 0, 0)})
        elif feed.feed_type != "JSON_LISTINGS_FEED":
            feed.status = "FATAL"
            self._feed_result(feed, {"header": {"sellerId": self.seller_id, "version": "2.0", "feedId": feed.feed_id},
                                     "issues": [{"code": ISSUE_SCHEMA, "severity": "ERROR",
                                                 "message": f"Feed type {feed.feed_type} is not supported "
                                                            "by the simulator."}],
                                     "summary": _summary(0, 0, 0, 1, 0)})
        else:
            feed.status, report = self.process_listings_feed(feed)
            self._feed_result(feed, report)
        if self.on_feed_finished:
            self.on_feed_finished(feed)

    def _feed_result(self, feed: Feed, report: JSON) -> None:
        doc = Document(document_id=self.new_document_id(), content=json.dumps(report).encode("utf-8"),
                       content_type="application/json;charset=UTF-8", created=self.now())
        self.documents[doc.document_id] = doc
        feed.result_document_id = doc.document_id

    def process_listings_feed(self, feed: Feed) -> tuple[str, JSON]:
        """Validate and apply a JSON_LISTINGS_FEED; returns (processingStatus, processing report)."""
        header = {"sellerId": self.seller_id, "version": "2.0", "feedId": feed.feed_id}
        doc = self.documents[feed.input_document_id]

        def fatal(message: str) -> tuple[str, JSON]:
            return "FATAL", {"header": header, "issues": [{"code": ISSUE_SCHEMA, "severity": "ERROR",
                                                           "message": message}],
                             "summary": _summary(1, 0, 0, 0, 0)}

        if doc.content is None:
            return fatal("The feed document was never uploaded.")
        try:
            data = json.loads(doc.content.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            return fatal(f"The feed document is not valid UTF-8 JSON: {exc}")
        schema = load_schema("listings-feed-schema-v2.json")
        if not isinstance(data, dict):
            return fatal("The feed document must be a JSON object.")
        header_errors = _schema_errors(schema["properties"]["header"], data.get("header"))
        if "header" not in data or header_errors:
            return fatal("Invalid header: " + "; ".join(header_errors or ["header is required"]))
        if data["header"]["sellerId"] != self.seller_id:
            return fatal(f"sellerId {data['header']['sellerId']} does not match the submitting seller.")
        messages = data.get("messages")
        if not isinstance(messages, list) or not messages:
            return fatal("messages must be a non-empty array.")
        if len(messages) > LISTINGS_FEED_MAX_MESSAGES:
            return fatal(f"The feed has {len(messages)} messages; the maximum is {LISTINGS_FEED_MAX_MESSAGES}.")
        message_schema = schema["properties"]["messages"]["items"]
        issues: list[JSON] = []
        accepted = invalid_count = 0
        touched: list[str] = []
        for msg in messages:
            msg_id = msg.get("messageId") if isinstance(msg, dict) else None
            sku = msg.get("sku") if isinstance(msg, dict) else None
            base: dict[str, JSON] = {}
            if isinstance(msg_id, int) and msg_id >= 1:
                base["messageId"] = msg_id
            if isinstance(sku, str) and sku:
                base["sku"] = sku
            errors = _schema_errors(message_schema, msg)
            if errors:
                invalid_count += 1
                issues.extend({**base, "code": ISSUE_SCHEMA, "severity": "ERROR", "message": e} for e in errors)
                continue
            if msg["operationType"] != "PATCH":
                # Only MFN quantity patches are modelled; other operations are accepted untouched.
                if msg["sku"] not in self.listings:
                    invalid_count += 1
                    issues.append({**base, "code": ISSUE_UNKNOWN_SKU, "severity": "ERROR",
                                   "message": f"SKU '{msg['sku']}' does not exist for this seller."})
                else:
                    accepted += 1
                continue
            problems = self.patch_listing(msg["sku"], msg["patches"])
            if problems:
                invalid_count += 1
                for p in problems:
                    entry = {**base, "code": p["code"], "severity": p["severity"], "message": p["message"]}
                    if p.get("attributeNames"):
                        entry["attributeName"] = p["attributeNames"][0]
                    issues.append(entry)
            else:
                accepted += 1
                if msg["sku"] in self.listings:  # an offer-only SKU has no item to report
                    touched.append(msg["sku"])
        report: JSON = {"header": header, "issues": issues,
                        "summary": _summary(len(issues), 0, len(messages), accepted, invalid_count)}
        wanted = (data["header"].get("report") or {}).get("includedData")
        if wanted:
            report["header"]["report"] = {"includedData": wanted, "apiVersion": "2021-08-01"}
            report["items"] = [self.listing_item(sku, feed.marketplace_ids, wanted)
                               for sku in dict.fromkeys(touched)]
        return "DONE", report

    # ------------------------------------------------------------------ listings API shapes
    def listing_item(self, sku: str, marketplace_ids: list[str], included: Iterable[str]) -> JSON:
        """The getListingsItem ``Item`` for ``sku`` with the requested ``includedData``."""
        listing = self.listings[sku]
        mkts = [m for m in marketplace_ids if m in listing.marketplace_ids] or list(marketplace_ids)
        included = set(included)
        item: dict[str, JSON] = {"sku": sku}
        fba_buyable = listing.channel == "FBA" and sku in self.fba and self.fba[sku].on_hand["SELLABLE"] > 0
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
                                                    "quantity": self.fba.get(sku, FbaStock()).on_hand["SELLABLE"]}]
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

    # ------------------------------------------------------------------ FBA inventory shapes
    def inventory_summary(self, sku: str, details: bool) -> JSON:
        listing = self.listings[sku]
        stock = self.fba[sku]
        working, shipped, receiving = self.inbound_quantities(sku)
        on = stock.on_hand
        summary: dict[str, JSON] = {
            "asin": listing.asin, "fnSku": listing.fnsku, "sellerSku": sku,
            "condition": "NewItem" if listing.condition == "new_new" else listing.condition,
            "lastUpdatedTime": iso_ms(stock.updated), "productName": listing.title,
            "totalQuantity": on["SELLABLE"] + stock.unfulfillable + stock.reserved + stock.researching
            + working + shipped + receiving,
            "stores": [],
        }
        if details:
            summary["inventoryDetails"] = {
                "fulfillableQuantity": on["SELLABLE"],
                "inboundWorkingQuantity": working, "inboundShippedQuantity": shipped,
                "inboundReceivingQuantity": receiving,
                "reservedQuantity": {"totalReservedQuantity": stock.reserved,
                                     "pendingCustomerOrderQuantity": stock.pending_customer_order,
                                     "pendingTransshipmentQuantity": stock.pending_transshipment,
                                     "fcProcessingQuantity": stock.fc_processing},
                "researchingQuantity": {"totalResearchingQuantity": stock.researching,
                                        "researchingQuantityBreakdown": [
                                            {"name": "researchingQuantityInShortTerm", "quantity": stock.researching},
                                            {"name": "researchingQuantityInMidTerm", "quantity": 0},
                                            {"name": "researchingQuantityInLongTerm", "quantity": 0}]},
                "unfulfillableQuantity": {"totalUnfulfillableQuantity": stock.unfulfillable,
                                          "customerDamagedQuantity": on["CUSTOMER_DAMAGED"],
                                          "warehouseDamagedQuantity": on["WAREHOUSE_DAMAGED"],
                                          "distributorDamagedQuantity": on["DISTRIBUTOR_DAMAGED"],
                                          "carrierDamagedQuantity": on["CARRIER_DAMAGED"],
                                          "defectiveQuantity": on["DEFECTIVE"],
                                          "expiredQuantity": on["EXPIRED"]},
            }
        return summary

    def availability_notification_payload(self, sku: str) -> JSON:
        """``Payload`` of FBA_INVENTORY_AVAILABILITY_CHANGES for ``sku`` (same pool in every EU marketplace)."""
        listing = self.listings[sku]
        stock = self._stock(sku)
        working, shipped, receiving = self.inbound_quantities(sku)
        inventory = {
            "InboundQuantityBreakdown": {"Working": working, "Shipped": shipped, "Receiving": receiving},
            "Fulfillable": stock.on_hand["SELLABLE"], "Unfulfillable": stock.unfulfillable,
            "Researching": stock.researching,
            "ReservedQuantityBreakdown": {"WarehouseProcessing": stock.fc_processing,
                                          "WarehouseTransfer": stock.pending_transshipment,
                                          "PendingCustomerOrder": stock.pending_customer_order},
            "FutureSupplyBuyable": 0, "PendingCustomerOrderInTransit": 0,
        }
        return {"SellerId": self.seller_id, "FNSKU": listing.fnsku, "ASIN": listing.asin, "SKU": sku,
                "FulfillmentInventoryByMarketplace": [
                    {"MarketplaceId": m, "ItemName": listing.title, "FulfillmentInventory": inventory}
                    for m in listing.marketplace_ids]}

    # ------------------------------------------------------------------ time
    def advance(self) -> None:
        """Run every job transition due by now, oldest first."""
        now = self.now()
        while True:
            due: list[tuple[datetime, int, Report | Feed]] = []
            for r in self.reports.values():
                if r.status == "IN_QUEUE":
                    due.append((r.created + timedelta(seconds=self.timing.report_queue), 0, r))
                elif r.status == "IN_PROGRESS":
                    assert r.processing_start is not None
                    due.append((r.processing_start + timedelta(seconds=self.timing.report_processing), 1, r))
            for f in self.feeds.values():
                if f.status == "IN_QUEUE":
                    due.append((f.created + timedelta(seconds=self.timing.feed_queue), 0, f))
                elif f.status == "IN_PROGRESS":
                    assert f.processing_start is not None
                    due.append((f.processing_start + timedelta(seconds=self.timing.feed_processing + f.extra_delay),
                                1, f))
            ready = [d for d in due if d[0] <= now]
            if not ready:
                return
            at, stage, job = min(ready, key=lambda d: (d[0], d[1]))
            if stage == 0:
                job.status = "IN_PROGRESS"
                job.processing_start = at
            elif isinstance(job, Report):
                self._finish_report(job, at)
            else:
                self._finish_feed(job, at)

    # ------------------------------------------------------------------ state
    def state(self) -> JSON:
        return {
            "seller_id": self.seller_id,
            "marketplace_ids": self.marketplace_ids,
            "now": iso_ms(self.now()),
            "listings": {sku: {"asin": li.asin, "fnsku": li.fnsku, "title": li.title, "channel": li.channel,
                               "quantity": li.quantity, "lead_time": li.lead_time, "marketplaces": li.marketplace_ids,
                               "attributes": li.attributes, "availability_deleted": li.availability_deleted,
                               "updated": iso_ms(li.updated)}
                         for sku, li in self.listings.items()},
            "offer_only": {sku: dict(entry) for sku, entry in self.offer_only.items()},
            "fba_inventory": {sku: {**st.on_hand, "pending_customer_order": st.pending_customer_order,
                                    "pending_transshipment": st.pending_transshipment,
                                    "fc_processing": st.fc_processing, "researching": st.researching,
                                    "inbound": dict(zip(("working", "shipped", "receiving"),
                                                        self.inbound_quantities(sku), strict=True))}
                              for sku, st in self.fba.items()},
            "ledger": [{"at": iso_ms(e.at), "sku": e.sku, "event_type": e.event_type, "reference_id": e.reference_id,
                        "quantity": e.quantity, "fc": e.fc, "disposition": e.disposition, "reason": e.reason}
                       for e in self.ledger],
            "inbound_shipments": {sid: {"status": s.status, "fc": s.fc, "plan_id": s.plan_id,
                                        "shipment_uuid": s.shipment_uuid,
                                        "items": {k: {"shipped": i.shipped, "received": i.received}
                                                  for k, i in s.items.items()}}
                                  for sid, s in self.shipments.items()},
            "reports": {rid: r.to_api() for rid, r in self.reports.items()},
            "feeds": {fid: f.to_api() for fid, f in self.feeds.items()},
            "counts": {"returns": len(self.returns), "replacements": len(self.replacements),
                       "reimbursements": len(self.reimbursements), "mfn_returns": len(self.mfn_returns)},
        }


# ====================================================================== helpers
def _issue(code: str, message: str, attribute: str) -> JSON:
    return {"code": code, "message": message, "severity": "ERROR", "attributeNames": [attribute],
            "categories": ["INVALID_ATTRIBUTE"]}


def _summary(errors: int, warnings: int, processed: int, accepted: int, invalid_count: int) -> JSON:
    return {"errors": errors, "warnings": warnings, "messagesProcessed": processed,
            "messagesAccepted": accepted, "messagesInvalid": invalid_count}


def _schema_errors(schema: JSON, instance: JSON) -> list[str]:
    validator = jsonschema.Draft7Validator(schema)
    return [f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}"
            for e in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))]


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
