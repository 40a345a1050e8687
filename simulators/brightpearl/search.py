"""Brightpearl's generic ``*-search`` engine: typed columns, filters, sorting, paging, metaData.

Every search resource (products, orders) is a list of row dicts plus a column spec; this module
turns the query string into the ``{"results", "metaData"}`` object the contract describes (§8b).
The ``reference`` maps travel beside ``response`` in the envelope, not inside it (the server puts them there).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from simulators.brightpearl.errors import BPError
from simulators.core import parse_id_set

MAX_PAGE_SIZE = 500


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # reportDataType: IDSET, INTEGER, STRING, SEARCH_STRING, BOOLEAN, PERIOD
    reference_data: tuple[str, ...] = ()

    def meta(self) -> dict[str, Any]:
        return {"name": self.name, "sortable": True, "filterable": True, "reportDataType": self.type,
                "referenceData": list(self.reference_data), "isFreeTextSearchable": False, "required": False}


def _parse_time(text: str) -> datetime:
    dt = datetime.fromisoformat(text.strip())
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _filter_error(name: str, value: str, col_type: str) -> BPError:
    # Brightpearl answers an unparseable filter with a 500, not a 400 (contract §8b).
    return BPError(500, "CMNC-018", f"The filter {name}={value} cannot be parsed as: {col_type}")


def _matcher(col: Column, raw: str) -> Any:
    """Return a predicate for one filter value, raising CMNC-018 when the value does not parse."""
    t = col.type
    try:
        if t == "IDSET":
            wanted = set(parse_id_set(raw))
            return lambda v: v is not None and int(v) in wanted
        if t == "INTEGER":
            n = int(raw)
            return lambda v: v is not None and int(v) == n
        if t == "STRING":
            return lambda v: v is not None and str(v) == raw
        if t == "SEARCH_STRING":
            low = raw.lower()
            return lambda v: v is not None and low in str(v).lower()
        if t == "BOOLEAN":
            if raw not in ("true", "false"):
                raise ValueError(raw)
            b = raw == "true"
            return lambda v: v is not None and bool(v) == b
        if t == "PERIOD":
            if "/" not in raw:
                if len(raw.strip()) == 10:  # a bare date matches that whole day
                    _parse_time(raw)
                    day = raw.strip()
                    return lambda v: v is not None and str(v)[:10] == day
                at = _parse_time(raw)
                return lambda v: v is not None and _parse_time(str(v)) == at
            lo_s, hi_s = raw.split("/", 1)
            lo = _parse_time(lo_s) if lo_s else None
            hi = _parse_time(hi_s) if hi_s else None
            if lo is None and hi is None:
                raise ValueError(raw)
            return lambda v: v is not None and (lo is None or _parse_time(str(v)) >= lo) and (
                hi is None or _parse_time(str(v)) <= hi)
    except ValueError:
        raise _filter_error(col.name, raw, t) from None
    raise _filter_error(col.name, raw, t)


def _int_param(req_query: dict[str, list[str]], name: str, default: int) -> int:
    values = req_query.get(name)
    if not values:
        return default
    try:
        return int(values[0])
    except ValueError:
        raise _filter_error(name, values[0], "INTEGER") from None


def run_search(rows: list[dict[str, Any]], spec: list[Column], query: dict[str, list[str]]) -> dict[str, Any]:
    """Filter, sort and page ``rows`` (dicts keyed by column name) the way Brightpearl does."""
    by_name = {c.name: c for c in spec}

    for name, values in query.items():
        col = by_name.get(name)
        if col is None or not values:
            continue  # unknown parameters are ignored, like paging/columns/sort
        pred = _matcher(col, values[0])
        rows = [r for r in rows if pred(r.get(name))]

    columns_param = (query.get("columns") or [""])[0]
    if columns_param:
        names = [n.strip() for n in columns_param.split(",") if n.strip()]
        unknown = [n for n in names if n not in by_name]
        if unknown:
            raise BPError(400, "CMNC-020", f"Unknown column(s): {','.join(unknown)}")
        out_cols = [by_name[n] for n in names]
    else:
        out_cols = list(spec)

    sort_col, direction = spec[0], "ASC"
    sort_param = (query.get("sort") or [""])[0]
    if sort_param:
        # The contract has seen both ``orderId.DESC`` and ``orderId|DESC``.
        name, _, d = sort_param.replace("|", ".").partition(".")
        if name not in by_name:
            raise BPError(400, "CMNC-020", f"Unknown sort column: {name}")
        sort_col, direction = by_name[name], (d or "ASC").upper()
        if direction not in ("ASC", "DESC"):
            raise _filter_error("sort", sort_param, "SORT")
    rows = sorted(rows, key=lambda r: (r.get(sort_col.name) is None, r.get(sort_col.name) or 0),
                  reverse=direction == "DESC")

    first = max(1, _int_param(query, "firstResult", 1))
    size = min(MAX_PAGE_SIZE, max(1, _int_param(query, "pageSize", MAX_PAGE_SIZE)))
    page = rows[first - 1:first - 1 + size]
    total = len(rows)
    last = first + len(page) - 1 if page else first - 1
    meta: dict[str, Any] = {"morePagesAvailable": last < total, "resultsAvailable": total,
                            "resultsReturned": len(page)}
    if page:  # an empty result carries no firstResult/lastResult (issue "simulator fidelity": real traffic)
        meta.update(firstResult=first, lastResult=last)
    meta.update(columns=[c.meta() for c in out_cols],
                sorting=[{"filterable": sort_col.meta(), "direction": direction}])
    return {
        "results": [[r.get(c.name) for c in out_cols] for r in page],
        "metaData": meta,
        "_page": page,  # the raw rows, for the caller to build ``reference``; removed before sending
    }


PRODUCT_COLUMNS: list[Column] = [
    Column("productId", "IDSET", ("productCategoryMembership",)),
    Column("productName", "SEARCH_STRING"),
    Column("SKU", "STRING"),
    Column("barcode", "STRING"),
    Column("EAN", "STRING"),
    Column("UPC", "STRING"),
    Column("ISBN", "STRING"),
    Column("MPN", "STRING"),
    Column("stockTracked", "BOOLEAN"),
    Column("salesChannelName", "STRING"),
    Column("createdOn", "PERIOD"),
    Column("updatedOn", "PERIOD"),
    Column("brightpearlCategoryCode", "IDSET"),
    Column("productGroupId", "INTEGER"),
    Column("brandId", "IDSET"),
    Column("productTypeId", "IDSET"),
    Column("productStatus", "STRING"),
    Column("primarySupplierId", "IDSET"),
]

ORDER_COLUMNS: list[Column] = [
    Column("orderId", "IDSET"),
    Column("orderTypeId", "INTEGER", ("orderTypeNames",)),
    Column("contactId", "INTEGER"),
    Column("orderStatusId", "INTEGER", ("orderStatusNames",)),
    Column("orderStockStatusId", "INTEGER", ("orderStockStatusNames",)),
    Column("createdOn", "PERIOD"),
    Column("createdById", "INTEGER"),
    Column("customerRef", "STRING"),
    Column("orderPaymentStatusId", "INTEGER", ("orderPaymentStatusNames",)),
    Column("updatedOn", "PERIOD"),
    Column("parentOrderId", "INTEGER"),
    Column("orderShippingStatusId", "INTEGER", ("orderShippingStatusNames",)),
    Column("externalRef", "STRING"),
    Column("installedIntegrationInstanceId", "INTEGER"),
    Column("warehouseId", "INTEGER"),
    Column("staffOwnerContactId", "INTEGER"),
    Column("taxDate", "PERIOD"),
    Column("departmentId", "INTEGER"),
    Column("deliveryDate", "PERIOD"),
]
