"""A region's settings (issue 16, docs/regions.md): what one SP-API region changes of the global settings.
Kept apart from ``regions.py``, which the env models use at cold start without importing pydantic."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from connector.domain.regions import REGION_MARKETPLACES

if TYPE_CHECKING:
    from connector.domain.settings import GlobalSettings


class RegionSettings(BaseModel):
    """What a region changes of the global settings (``regions: {"na": {...}}``); unset: the global value.
    Marketplace-level settings stay per channel (``ChannelSettings``). Unknown keys are refused by name."""

    model_config = ConfigDict(extra="forbid", strict=True)

    mfn_warehouses: list[int] | None = Field(None, description=(
        "warehouses whose on-hand feeds this region's merchant-fulfilled listings"))
    fba_warehouse_id: int | None = Field(None, gt=0, description="the Brightpearl warehouse mirroring this "
                                                                  "region's FBA stock")
    inbound_source_warehouse_id: int | None = Field(None, gt=0, description=(
        "where this region's inbound shipments leave from"))
    returns_warehouse_id: int | None = Field(None, gt=0, description="where this region's MFN returns restock")
    removal_warehouse_id: int | None = Field(None, gt=0, description="where this region's removals go")
    account_currency: str | None = Field(None, pattern="^[A-Z]{3}$", description=(
        "currency on this region's stock corrections that add units"))


def check_region_codes(regions: Mapping[str, Any]) -> None:
    unknown = [code for code in regions if code not in REGION_MARKETPLACES]
    if unknown:
        raise ValueError(f"regions: unknown region(s) {', '.join(map(repr, unknown))} "
                         f"(known: {', '.join(REGION_MARKETPLACES)})")


def settings_for_region(settings: GlobalSettings, code: str) -> GlobalSettings:
    """The global settings as one region's work sees them: the region's own values laid over them."""
    own = settings.regions.get(code)
    if own is None:
        return settings
    update = {k: v for k, v in own.model_dump().items() if v is not None}
    return settings.model_copy(update=update) if update else settings
