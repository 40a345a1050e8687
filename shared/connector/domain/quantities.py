"""What quantity a merchant-fulfilled Amazon listing should show (pure rules, no I/O).

- A stock-tracked product: on-hand summed over the warehouses chosen for merchant-fulfilled
  listings (Brightpearl's ``onHand`` is what is free to sell), never below 0.
- A bundle: min over its components of floor(component quantity / quantity per bundle); a
  component may itself be a bundle.
- Optional buffer rules, applied in this order: keep back N units, then push P % of the rest
  (rounded down), then push at most M.
- In the EU Amazon matches a SKU across all the region's marketplaces, so one SKU gets one value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

# Amazon's EU region (one SKU, one listing quantity across these marketplaces).
EU_MARKETPLACES = frozenset({
    "A1F83G8C2ARO7P",  # UK
    "A1PA6795UKMFR9",  # DE
    "A13V1IB3VIYZZH",  # FR
    "APJ6JRA9NG5V4",  # IT
    "A1RKKUPIHCS9HS",  # ES
    "A1805IZSGTT6HS",  # NL
    "A2NODRKZP88ZB9",  # SE
    "A1C3SOZRARQ6R3",  # PL
    "AMEN7PMS3EDWL",  # BE
    "A28R8C7NBKEWEA",  # IE
    "A33AVAJ2PDY3EV",  # TR
})


class BundleCycleError(ValueError):
    """A bundle contains itself (directly or through other bundles)."""


@dataclass(frozen=True)
class BufferRule:
    keep_back: int = 0
    percent: int | None = None  # 0..100
    max_quantity: int | None = None

    def __post_init__(self) -> None:
        if self.keep_back < 0:
            raise ValueError("keep_back must be ≥ 0")
        if self.percent is not None and not 0 <= self.percent <= 100:
            raise ValueError("percent must be between 0 and 100")
        if self.max_quantity is not None and self.max_quantity < 0:
            raise ValueError("max_quantity must be ≥ 0")

    @property
    def is_off(self) -> bool:
        return self.keep_back == 0 and self.percent is None and self.max_quantity is None


NO_BUFFER = BufferRule()


def apply_buffer(quantity: int, rule: BufferRule = NO_BUFFER) -> int:
    q = max(0, quantity - rule.keep_back)
    if rule.percent is not None:
        q = q * rule.percent // 100
    if rule.max_quantity is not None:
        q = min(q, rule.max_quantity)
    return max(0, q)


def on_hand_over(availability: Mapping[str, object] | None, warehouses: Iterable[int]) -> int:
    """Sum ``onHand`` over ``warehouses`` in one product-availability entry; absent warehouses count 0."""
    if not availability:
        return 0
    per_wh = availability.get("warehouses")
    if not isinstance(per_wh, Mapping):
        return 0
    total = 0
    for wid in warehouses:
        figures = per_wh.get(str(wid))
        if isinstance(figures, Mapping):
            total += int(figures.get("onHand", 0) or 0)
    return max(0, total)


@dataclass(frozen=True)
class Composition:
    """How a product is made up: ``components`` is empty for an ordinary (stock-tracked) product."""

    product_id: int
    components: tuple[tuple[int, int], ...] = ()  # (component product id, quantity per bundle)

    @property
    def is_bundle(self) -> bool:
        return bool(self.components)


def sellable_quantity(product_id: int, compositions: Mapping[int, Composition],
                      on_hand: Mapping[int, int], _path: tuple[int, ...] = ()) -> int:
    """Quantity available to sell for a product or (nested) bundle, from per-product on-hand totals."""
    if product_id in _path:
        raise BundleCycleError(f"bundle {product_id} contains itself via {' → '.join(map(str, _path))}")
    comp = compositions.get(product_id)
    if comp is None or not comp.is_bundle:
        return max(0, on_hand.get(product_id, 0))
    best: int | None = None
    for component_id, per_bundle in comp.components:
        if per_bundle <= 0:
            continue  # a zero-quantity component does not limit the bundle
        available = sellable_quantity(component_id, compositions, on_hand, (*_path, product_id))
        can_make = available // per_bundle
        best = can_make if best is None else min(best, can_make)
    return best or 0


@dataclass(frozen=True, slots=True)
class ListingTarget:
    """One MFN listing and the quantity its own settings give it."""

    listing_id: str
    sku: str
    marketplace_id: str
    quantity: int
    settings_key: str  # identifies the settings that produced the quantity (e.g. warehouse set)


@dataclass(frozen=True)
class EuConflict:
    sku: str
    quantities: dict[str, int]  # marketplace id -> quantity its settings give
    settings: dict[str, str]  # marketplace id -> settings key
    pushed: int


@dataclass
class EuResolution:
    quantities: dict[str, int] = field(default_factory=dict)  # listing id -> quantity to push
    conflicts: list[EuConflict] = field(default_factory=list)


def resolve_eu_skus(targets: Iterable[ListingTarget]) -> EuResolution:
    """One value per EU SKU. When settings disagree, push the lowest value, so no marketplace oversells.

    Listings outside the EU keep their own value.
    """
    out = EuResolution()
    by_sku: dict[str, list[ListingTarget]] = {}
    for t in targets:
        if t.marketplace_id in EU_MARKETPLACES:
            by_sku.setdefault(t.sku, []).append(t)
        else:
            out.quantities[t.listing_id] = t.quantity
    for sku, group in sorted(by_sku.items()):
        value = min(t.quantity for t in group)
        for t in group:
            out.quantities[t.listing_id] = value
        # Different settings *would* give different values even when today's stock happens to agree.
        if len({t.settings_key for t in group}) > 1:
            out.conflicts.append(EuConflict(
                sku=sku,
                quantities={t.marketplace_id: t.quantity for t in group},
                settings={t.marketplace_id: t.settings_key for t in group},
                pushed=value,
            ))
    return out
