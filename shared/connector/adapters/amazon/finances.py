"""Finances v0: an order's refund events (``listFinancialEventsByOrderId``) or the refunds posted in a
window (``listFinancialEvents``, for refunds without a return), every page.

Amazon answers 403 when the seller's app lacks the Finances role (the client has already retried once
with a fresh token by then): that is ``Forbidden``, named, so the connector can say what to grant.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sp_api.api.finances.finances_v0 import FinancesV0
from sp_api.base import SellingApiForbiddenException

from connector.adapters.amazon.client import AmazonClients
from connector.domain.errors import Forbidden
from connector.domain.refunds import Refund, parse_refunds

MAX_PAGES = 50  # 5 000 events for one order: far beyond any real order; a loop guard, not a limit


class AmazonFinances:
    def __init__(self, amazon: AmazonClients) -> None:
        self.amazon = amazon

    def refunds(self, amazon_order_id: str) -> list[Refund]:
        api = self.amazon.client(FinancesV0)
        return parse_refunds(self._pages("listFinancialEventsByOrderId", f"order {amazon_order_id}",
                                         lambda **kw: api.get_financial_events_for_order(amazon_order_id, **kw), {}))

    def refunds_posted(self, after: datetime, before: datetime) -> list[Refund]:
        api = self.amazon.client(FinancesV0)
        window = {"PostedAfter": _iso(after), "PostedBefore": _iso(before)}
        return parse_refunds(self._pages("listFinancialEvents", f"refunds posted {window['PostedAfter']} to "
                                         f"{window['PostedBefore']}", api.list_financial_events, window))

    def _pages(self, operation: str, what: str, fn: Callable[..., Any], query: dict[str, Any]) -> list[Any]:
        events: list[Any] = []
        token: str | None = None
        for _ in range(MAX_PAGES):
            # The token carries the request; Amazon wants the same arguments with it.
            kwargs: dict[str, Any] = {**query, "MaxResultsPerPage": 100}
            if token:
                kwargs["NextToken"] = token
            try:
                res = self.amazon.call(operation, fn, **kwargs)
            except SellingApiForbiddenException as exc:
                raise Forbidden(f"SP-API {operation} refused (403) for {what}: the seller's app lacks the "
                                f"Finances role ({exc})") from None
            payload = res.payload or {}
            events.extend((payload.get("FinancialEvents") or {}).get("RefundEventList") or [])
            token = payload.get("NextToken") or res.next_token
            if not token:
                break
        return events


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
