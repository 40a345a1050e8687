"""What the Listings port exchanges: a quantity to push, what Amazon holds for a SKU, how a patch went."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class QuantityUpdate:
    sku: str
    marketplace_id: str
    quantity: int
    lead_time_days: int | None = None  # kept as Amazon had it, so a quantity push does not reset it
    # What Amazon shows for the listing now, as the plan compared it (the shadow plan's "now"); not sent.
    shown: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class ListingLookup:
    sku: str
    exists: bool
    availability: dict[str, Any] | None  # the DEFAULT fulfillment_availability entry
    reason: str = ""  # why Amazon said it does not exist

    @property
    def lead_time_days(self) -> int | None:
        lead = (self.availability or {}).get("lead_time_to_ship_max_days")
        return int(lead) if lead is not None else None


@dataclass(frozen=True)
class PatchOutcome:
    sku: str
    accepted: bool
    issues: list[dict[str, Any]] = field(default_factory=list)
