"""The FBA inventory's records: the stock pool of a SKU, ledger rows and the report rows of
returns, replacements, reimbursements and MFN returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

DISPOSITIONS = ("SELLABLE", "CUSTOMER_DAMAGED", "WAREHOUSE_DAMAGED", "DISTRIBUTOR_DAMAGED",
                "CARRIER_DAMAGED", "DEFECTIVE", "EXPIRED")
# Ledger damage codes by the disposition the units leave (each is followed by a P row).
DAMAGE_CODE_FROM = {"SELLABLE": "E", "CARRIER_DAMAGED": "6", "EXPIRED": "7", "CUSTOMER_DAMAGED": "H",
                    "DEFECTIVE": "K", "DISTRIBUTOR_DAMAGED": "U"}
# Returns-report dispositions and where the unit lands in the seller's stock.
RETURN_DISPOSITIONS = {"SELLABLE": "SELLABLE", "DAMAGED": "WAREHOUSE_DAMAGED", "CUSTOMER_DAMAGED": "CUSTOMER_DAMAGED",
                       "DEFECTIVE": "DEFECTIVE", "CARRIER_DAMAGED": "CARRIER_DAMAGED", "EXPIRED": "EXPIRED"}
LEDGER_EVENT_TYPES = ("Shipments", "CustomerReturns", "Adjustments", "Receipts", "WhseTransfers", "VendorReturns")


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
