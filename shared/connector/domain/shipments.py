"""What the inbound ports exchange: Amazon's FBA inbound shipments, their items and ledger receipts, and
Brightpearl's warehouse transfers and goods-out notes. Plain values; the adapters read and write them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class AmazonShipment:
    shipment_id: str  # the v0 ShipmentId
    name: str
    status: str
    fc: str = ""
    plan_id: str | None = None  # 2024-03-20 inboundPlanId, when found through a plan
    plan_shipment_id: str | None = None  # 2024-03-20 shipmentId (sh…), for listShipmentItems
    # The plan settled (placement confirmed, every shipment confirmed): all its (shipmentId, v0 id) pairs, which
    # cannot change any more; empty while the plan may still change (docs/inbound-shipments.md).
    plan_shipments: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class AmazonItem:
    sku: str
    shipped: int
    received: int


@dataclass(frozen=True)
class LedgerReceipt:
    """One ledger ``Receipts`` row: ``key`` identifies it across overlapping reports."""

    key: str
    shipment_id: str  # the row's Reference ID
    sku: str
    quantity: int


@dataclass(frozen=True)
class LedgerDocument:
    report_id: str
    document_id: str


@dataclass(frozen=True)
class Transfer:
    transfer_id: int
    reference: str
    goods_out_note_id: int  # 0 until the external transfer exists


@dataclass(frozen=True)
class GoodsOutNote:
    note_id: int
    shipped: bool
    version: int  # lastEventVersion, sent back as If-Match
    quantities: dict[int, int]  # product id -> units
    steps: tuple[str, ...] = ()  # which of printed / picked / packed are set (a note is deleted only without them)


def window(now: datetime, lookback: timedelta) -> tuple[datetime, datetime]:
    """The LastUpdated window of one poll (ending now: Amazon refuses dates in the future)."""
    return now - lookback, now
