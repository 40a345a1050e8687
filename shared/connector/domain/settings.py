"""The merchant's settings as values: the whole connector's (``GlobalSettings``) and per marketplace
(``ChannelSettings``). Stored by ``adapters/repositories.SettingsRepository``; validated here, so a bad
value is refused when it is set, naming its field, not when a later batch uses it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from connector.domain.mfn_sync import ChannelRule
from connector.domain.quantities import NO_BUFFER, BufferRule
from connector.domain.region_settings import RegionSettings, check_region_codes


def listing_id(marketplace_id: str, sku: str) -> str:
    """A listing link's key: one per (marketplace, SKU)."""
    return f"{marketplace_id}#{sku}"


WarehouseId = Annotated[int, Field(gt=0)]


class BufferSettings(BaseModel):
    """A channel's buffer as the merchant sets it (BufferRule's terms); unknown keys are refused."""

    model_config = ConfigDict(extra="forbid", strict=True)

    keep_back: int = Field(0, ge=0, description="units held back from every listing")
    percent: int | None = Field(None, ge=0, le=100, description="push this percentage of what is left")
    max_quantity: int | None = Field(None, ge=0, description="never push more than this")


NOMINAL = r"^[0-9]{3,8}$"


class RefundNominalCodes(BaseModel):
    """Where each part of a refund goes in the merchant's chart of accounts (Brightpearl nominal codes).
    Unknown keys are refused, naming the key."""

    model_config = ConfigDict(extra="forbid", strict=True)

    item: str | None = Field(None, pattern=NOMINAL, description=(
        "refunded item price and its tax; unset: the original order row's nominal code"))
    shipping: str = Field("4040", pattern=NOMINAL, description="refunded shipping and shipping tax")
    gift_wrap: str = Field("4040", pattern=NOMINAL, description="refunded gift wrap and its tax")
    restocking_fee: str = Field("4900", pattern=NOMINAL, description="restocking fee the seller keeps")
    promotion: str = Field("4000", pattern=NOMINAL, description="promotions and discounts taken back")
    other: str = Field("4000", pattern=NOMINAL, description="any other refunded charge (Goodwill, ReturnShipping…)")


class GlobalSettings(BaseModel):
    """Settings for the whole connector (the ``global`` item of the settings table)."""

    mfn_warehouses: list[WarehouseId] = Field(default_factory=list, description=(
        "warehouses whose on-hand is summed for merchant-fulfilled listings"))
    patch_threshold: int = Field(20, ge=0, description="more changes than this go in one JSON_LISTINGS_FEED")

    # FBA (inbound shipments, movements, reconciliation)
    fba_warehouse_id: WarehouseId | None = Field(None, description=(
        "the Brightpearl warehouse that mirrors Amazon FBA stock"))
    inbound_source_warehouse_id: WarehouseId | None = Field(None, description=(
        "where inbound shipments' stock leaves from"))
    transfer_policy: str = Field("available", pattern="^(available|hold)$", description=(
        "short of stock for a transfer: 'available' creates it with what there is, 'hold' waits for stock"))
    ship_transfer_on: str = Field("shipped", pattern="^(shipped|created)$", description=(
        "mark the transfer's goods-out note shipped when Amazon shows the shipment shipped, or at once"))
    staff_contact_id: int = Field(4, description="Brightpearl staff id recorded on goods-out note events")
    shipping_method_id: int | None = Field(None, description="Brightpearl shipping method for transfers")
    over_receipt: str = Field("correct", pattern="^(correct|report)$", description=(
        "units Amazon receives beyond the transfer: 'correct' adds them to the FBA warehouse by a stock "
        "correction naming the shipment, 'report' only mails them"))
    account_currency: str = Field("GBP", pattern="^[A-Z]{3}$", description=(
        "Brightpearl accounting currency, on stock corrections that add units (Brightpearl requires a cost)"))

    # Returns and movements
    restock_returns: bool = Field(False, description="returned sellable units go back into stock")
    returns_warehouse_id: WarehouseId | None = Field(None, description=(
        "where merchant-fulfilled returns are restocked"))
    order_lookup_field: str = Field("externalRef", pattern="^(externalRef|customerRef)$", description=(
        "the Brightpearl order field holding the Amazon order id"))
    dry_run: bool = Field(False, description="compute and record movements without writing to Brightpearl")

    # Sales credits at what Amazon refunded (docs/movements.md, "Credits at the refunded amount")
    credit_amounts: str = Field("refund", pattern="^(refund|unit_price)$", description=(
        "'refund': a return's credit holds what Amazon refunded (Finances API), waiting for the refund; "
        "'unit_price': the original order row's unit price times the returned units"))
    refund_fallback: str = Field("wait", pattern="^(wait|unit_price)$", description=(
        "the seller's app lacks the Finances role: 'wait' keeps the return waiting (and says so), "
        "'unit_price' credits at the original unit price"))
    refund_wait_days: int = Field(14, ge=1, le=180, description=(
        "days a return waits for Amazon's refund before it is reported 'waiting for refund' (still retried)"))
    refund_nominal_codes: RefundNominalCodes = Field(default_factory=RefundNominalCodes, description=(
        "Brightpearl nominal code per part of a refund: item, shipping, gift_wrap, restocking_fee, promotion, "
        "other"))

    # Removal orders (docs/removals.md)
    removal_warehouse_id: WarehouseId | None = Field(None, description=(
        "where units Amazon ships back on a removal order are transferred to from the FBA warehouse; unset: "
        "return removals wait (disposals still reduce the FBA warehouse)"))

    # Several Amazon regions in one stack (docs/regions.md): per region code, the settings it changes.
    regions: dict[str, RegionSettings] = Field(default_factory=dict, description=(
        "per Amazon region (na, eu, fe): mfn_warehouses, fba_warehouse_id, inbound_source_warehouse_id, "
        "returns_warehouse_id, removal_warehouse_id, account_currency for that region's work"))

    @field_validator("regions")
    @classmethod
    def _known_regions(cls, value: dict[str, RegionSettings]) -> dict[str, RegionSettings]:
        check_region_codes(value)
        return value

    # Shadow mode (docs/shadow-mode.md): features that compute everything and write nothing to either platform
    shadow: list[str] = Field(default_factory=list, description=(
        "features in shadow mode: 'mfn', 'movements', 'inbound', 'reconciliation'; each computes everything, "
        "writes nothing to Brightpearl or Amazon and records per SKU what it would have done"))

    @field_validator("shadow")
    @classmethod
    def _shadow_features(cls, value: list[str]) -> list[str]:
        from connector.domain.shadow import check_feature

        return sorted({check_feature(v, field_name="shadow") for v in value})

    @model_validator(mode="after")
    def _removals_leave_the_fba_warehouse(self) -> GlobalSettings:
        # A transfer from the FBA warehouse to itself would move nothing and hide every removal.
        if self.removal_warehouse_id is not None and self.removal_warehouse_id == self.fba_warehouse_id:
            raise ValueError(f"removal_warehouse_id {self.removal_warehouse_id} is the FBA warehouse "
                             "(fba_warehouse_id): removals are transferred out of it, choose another warehouse")
        return self


class ChannelSettings(BaseModel):
    """Per Amazon marketplace (``channel#<marketplaceId>``)."""

    sync_enabled: bool = True
    mfn_warehouses: list[WarehouseId] | None = None  # None: the global list
    buffer: dict[str, Any] | None = None  # keep_back / percent / max_quantity; default off

    @field_validator("buffer")
    @classmethod
    def _buffer_terms(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        # Checked here, not when a batch is planned: a "50%" accepted today failed every push later.
        if not value:
            return None
        return BufferSettings.model_validate(value).model_dump(exclude_none=True)


def buffer_rule(data: Mapping[str, Any] | None) -> BufferRule | None:
    """A stored buffer (``keep_back`` / ``percent`` / ``max_quantity``) as the quantities' rule; None if off."""
    if not data:
        return None
    return BufferRule(keep_back=int(data.get("keep_back", 0)), percent=data.get("percent"),
                      max_quantity=data.get("max_quantity"))


def channel_rules(global_settings: GlobalSettings, channels: Mapping[str, ChannelSettings],
                  marketplace_ids: Iterable[str]) -> dict[str, ChannelRule]:
    """Each marketplace's sync rule: its own warehouses (or the global list), its buffer, on or off."""
    out: dict[str, ChannelRule] = {}
    for mid in marketplace_ids:
        c = channels[mid]
        warehouses = tuple(c.mfn_warehouses if c.mfn_warehouses is not None else global_settings.mfn_warehouses)
        out[mid] = ChannelRule(mid, c.sync_enabled, warehouses, buffer_rule(c.buffer) or NO_BUFFER)
    return out
