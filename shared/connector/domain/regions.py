"""Amazon regions in one stack (issue 16 item 1): which SP-API region each marketplace belongs to, the
stack's regions as values, and a region's settings laid over the global ones.

A stack has one *home* region: ``AMAZON_REGION`` with ``AMAZON_MARKETPLACE_IDS``, ``AMAZON_SELLER_ID``,
``SP_API_ENDPOINT`` and ``LWA_TOKEN_URL``, exactly as before. ``AMAZON_OTHER_REGIONS`` (unset for a
merchant selling in one region) names the others, a JSON object keyed by region code::

    {"na": {"marketplace_ids": ["ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"], "seller_id": "A2NASELLER"}}

Fields per region: ``marketplace_ids`` (required, each a marketplace of that region), ``seller_id``
(default: the home one), ``endpoint`` (default: Amazon's endpoint of the region) and ``lwa_token_url``
(default: the home one; Login with Amazon is one service for every region). Credentials: a seller
authorises an application once per regional account, each authorisation giving its own refresh token
(developer-docs.amazon.com/sp-api/docs/self-authorization: "an Authorize app button for each of your
merged accounts ... A LWA refresh token appears with every Authorize app button"), so the Amazon secret
may hold ``region_refresh_tokens: {"na": "Atzr|…"}``; a region without one uses the secret's
``refresh_token`` (one authorisation for all). Unknown regions, unknown fields and marketplaces of another
region are refused by name.

Marketplace ids and endpoints: developer-docs.amazon.com/sp-api/docs/marketplace-ids and
developer-docs.amazon.com/sp-api/docs/sp-api-endpoints (the same table as python-amazon-sp-api's
``Marketplaces``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

REGION_MARKETPLACES: dict[str, frozenset[str]] = {
    "na": frozenset({"ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1AM78C64UM0Y8", "A2Q3Y263D00KWC"}),  # US CA MX BR
    "eu": frozenset({"A1F83G8C2ARO7P", "A1PA6795UKMFR9", "A13V1IB3VIYZZH", "APJ6JRA9NG5V4", "A1RKKUPIHCS9HS",
                     "A1805IZSGTT6HS", "A2NODRKZP88ZB9", "A1C3SOZRARQ6R3", "AMEN7PMS3EDWL", "A28R8C7NBKEWEA",
                     "A33AVAJ2PDY3EV", "AE08WJ6YKNBMC", "ARBP9OOSHTCHU", "A17E79C6D8DWNP", "A2VIGQ35RCS4UG",
                     "A21TJRUUN4KGV"}),  # UK DE FR IT ES NL SE PL BE IE TR ZA EG SA AE IN
    "fe": frozenset({"A1VC38T7YXB528", "A39IBJ37TRP1C6", "A19VAU5U5O7RUS"}),  # JP AU SG
}
SP_API_ENDPOINTS = {"na": "https://sellingpartnerapi-na.amazon.com", "eu": "https://sellingpartnerapi-eu.amazon.com",
                    "fe": "https://sellingpartnerapi-fe.amazon.com"}
REGION_FIELDS = ("marketplace_ids", "seller_id", "endpoint", "lwa_token_url")


class RegionConfigError(ValueError):
    """AMAZON_OTHER_REGIONS (or a region setting) names an unknown region, field or marketplace."""


def region_of(marketplace_id: str) -> str | None:
    """The SP-API region serving ``marketplace_id`` (None: not a marketplace Amazon lists)."""
    return next((code for code, mids in REGION_MARKETPLACES.items() if marketplace_id in mids), None)


@dataclass(frozen=True)
class Region:
    """One SP-API region of the stack: its endpoint, seller, marketplaces; ``home``: the stack's AMAZON_REGION."""

    code: str
    marketplace_ids: tuple[str, ...]
    seller_id: str
    endpoint: str | None
    lwa_token_url: str
    home: bool = False

    @property
    def job_prefix(self) -> str:
        """What this region's report jobs and cursors are keyed under ("" for the home region: its keys
        stay what they were before regions; ``na#`` etc. otherwise, never a report type's upper case)."""
        return "" if self.home else f"{self.code}#"


def _refuse_unknown(where: str, given: Iterable[str], allowed: Iterable[str]) -> None:
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise RegionConfigError(f"{where}: unknown field(s) {', '.join(map(repr, unknown))} "
                                f"(allowed: {', '.join(allowed)})")


def _marketplaces(label: str, code: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(m, str) and m for m in value):
        raise RegionConfigError(f"{label}: a non-empty list of marketplace ids is required")
    for mid in value:
        owner = region_of(mid)
        if owner != code:
            why = f"a marketplace of region {owner!r}" if owner else "not an Amazon marketplace id"
            raise RegionConfigError(f"{label}: {mid!r} is {why}, not of {code!r}")
    return tuple(dict.fromkeys(value))


def _text(where: str, field: str, value: Any, default: str | None, *, url: bool = False) -> str | None:
    if value is None:
        return default
    if not isinstance(value, str) or not value.strip() or (url and not value.startswith(("https://", "http://"))):
        raise RegionConfigError(f"{where}.{field}: {'an http(s) URL' if url else 'a non-empty string'} is "
                                f"required, got {value!r}")
    return value.rstrip("/") if url else value


def parse_regions(other_regions: str | None, *, home_code: str, home_marketplaces: Sequence[str],
                  seller_id: str, endpoint: str | None, lwa_token_url: str) -> tuple[Region, ...]:
    """The stack's regions, home first. ``other_regions``: AMAZON_OTHER_REGIONS (None or blank: one region,
    the home one, exactly as configured before regions existed; its marketplaces are not checked then)."""
    home = Region(home_code, tuple(home_marketplaces), seller_id, endpoint, lwa_token_url, home=True)
    if other_regions is None or not other_regions.strip():
        return (home,)
    try:
        data = json.loads(other_regions)
    except ValueError as exc:
        raise RegionConfigError(f"AMAZON_OTHER_REGIONS is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise RegionConfigError("AMAZON_OTHER_REGIONS must be a JSON object keyed by region (na, eu, fe)")
    regions = [Region(home_code, _marketplaces("AMAZON_MARKETPLACE_IDS", home_code, list(home_marketplaces)),
                      seller_id, endpoint, lwa_token_url, home=True)]
    for code, spec in data.items():
        where = f"AMAZON_OTHER_REGIONS.{code}"
        if code not in REGION_MARKETPLACES:
            raise RegionConfigError(f"{where}: unknown region {code!r} (known: {', '.join(REGION_MARKETPLACES)})")
        if code == home_code:
            raise RegionConfigError(f"{where}: {code!r} is the stack's AMAZON_REGION; its marketplaces are "
                                    "AMAZON_MARKETPLACE_IDS")
        if not isinstance(spec, dict):
            raise RegionConfigError(f"{where}: a JSON object with {', '.join(REGION_FIELDS)} is required")
        _refuse_unknown(where, spec, REGION_FIELDS)
        regions.append(Region(
            code, _marketplaces(f"{where}.marketplace_ids", code, spec.get("marketplace_ids")),
            str(_text(where, "seller_id", spec.get("seller_id"), seller_id)),
            _text(where, "endpoint", spec.get("endpoint"), SP_API_ENDPOINTS[code], url=True),
            str(_text(where, "lwa_token_url", spec.get("lwa_token_url"), lwa_token_url, url=True))))
    return tuple(regions)


def refresh_token_for(secret: Mapping[str, Any], code: str) -> str | None:
    """The region's refresh token from the Amazon secret: its own, else the one for all regions."""
    own = (secret.get("region_refresh_tokens") or {}).get(code)
    return str(own) if own else (str(secret["refresh_token"]) if secret.get("refresh_token") else None)
