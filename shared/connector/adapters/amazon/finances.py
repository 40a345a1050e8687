"""Finances v0 ``listFinancialEventsByOrderId``: an order's refund events, every page.

Amazon answers 403 when the seller's app lacks the Finances role (the client has already retried once
with a fresh token by then): that is ``Forbidden``, named, so the connector can say what to grant.
"""

from __future__ import annotations

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
        events: list[Any] = []
        token: str | None = None
        for _ in range(MAX_PAGES):
            kwargs: dict[str, Any] = {"MaxResultsPerPage": 100}
            if token:
                kwargs["NextToken"] = token
            try:
                res = self.amazon.call("listFinancialEventsByOrderId", api.get_financial_events_for_order,
                                       amazon_order_id, **kwargs)
            except SellingApiForbiddenException as exc:
                raise Forbidden(f"SP-API listFinancialEventsByOrderId refused (403) for order {amazon_order_id}: "
                                f"the seller's app lacks the Finances role ({exc})") from None
            payload = res.payload or {}
            events.extend((payload.get("FinancialEvents") or {}).get("RefundEventList") or [])
            token = payload.get("NextToken") or res.next_token
            if not token:
                break
        return parse_refunds(events)
