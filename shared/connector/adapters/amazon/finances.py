"""Finances v0: an order's refund events (``listFinancialEventsByOrderId``) or the refunds posted in a
window (``listFinancialEvents``, for refunds without a return), every page.

Amazon answers 403 when the seller's app lacks the Finances role (the client has already retried once
with a fresh token by then): that is ``Forbidden``, named, so the connector can say what to grant. A 400
is ``Refused``, naming the operation and the window or order (Amazon's own message is often just
"Invalid Input"). A NextToken lives 25 minutes ("Token is not valid, token duration is 25 minutes."): a
paging interrupted that long starts over from the first page, once. A window with more pages than the
guard is ``Unavailable``, never a silent part of it (the scan would move past the events not read).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sp_api.api.finances.finances_v0 import FinancesV0
from sp_api.base import SellingApiBadRequestException, SellingApiForbiddenException

from connector.adapters.amazon.client import AmazonClients
from connector.domain.errors import Forbidden, Refused, Unavailable
from connector.domain.refunds import Refund, parse_refunds

MAX_PAGES = 50  # 5 000 events for one order: far beyond any real order; a loop guard, not a limit
# A date window pages through every event type of the account (shipments too) and Amazon may fill pages
# well below MaxResultsPerPage: 300 pages is 10 minutes at 0.5 calls/s, about what one run can spend.
MAX_WINDOW_PAGES = 300


class AmazonFinances:
    def __init__(self, amazon: AmazonClients) -> None:
        self.amazon = amazon

    def refunds(self, amazon_order_id: str) -> list[Refund]:
        api = self.amazon.client(FinancesV0)
        return parse_refunds(self._pages("listFinancialEventsByOrderId", f"order {amazon_order_id}",
                                         lambda **kw: api.get_financial_events_for_order(amazon_order_id, **kw), {},
                                         MAX_PAGES))

    def refunds_posted(self, after: datetime, before: datetime) -> list[Refund]:
        api = self.amazon.client(FinancesV0)
        window = {"PostedAfter": _iso(after), "PostedBefore": _iso(before)}
        return parse_refunds(self._pages("listFinancialEvents", f"refunds posted {window['PostedAfter']} to "
                                         f"{window['PostedBefore']}", api.list_financial_events, window,
                                         MAX_WINDOW_PAGES))

    def _pages(self, operation: str, what: str, fn: Callable[..., Any], query: dict[str, Any],
               max_pages: int) -> list[Any]:
        try:
            return self._read_pages(operation, what, fn, query, max_pages)
        except _TokenRefused:
            # The token outlived its 25 minutes (a throttled run): read the whole list again, once.
            try:
                return self._read_pages(operation, what, fn, query, max_pages)
            except _TokenRefused as exc:
                raise Refused(f"SP-API {operation} refused a NextToken twice for {what}: {exc}") from None

    def _read_pages(self, operation: str, what: str, fn: Callable[..., Any], query: dict[str, Any],
                    max_pages: int) -> list[Any]:
        events: list[Any] = []
        token: str | None = None
        for _ in range(max_pages):
            # The token carries the request; Amazon wants the same arguments with it.
            kwargs: dict[str, Any] = {**query, "MaxResultsPerPage": 100}
            if token:
                kwargs["NextToken"] = token
            try:
                res = self.amazon.call(operation, fn, **kwargs)
            except SellingApiForbiddenException as exc:
                raise Forbidden(f"SP-API {operation} refused (403) for {what}: the seller's app lacks the "
                                f"Finances role ({exc})") from None
            except SellingApiBadRequestException as exc:
                if token:
                    raise _TokenRefused(str(exc)) from None
                raise Refused(f"SP-API {operation} refused (400) {what}: {exc}") from None
            payload = res.payload or {}
            events.extend((payload.get("FinancialEvents") or {}).get("RefundEventList") or [])
            token = payload.get("NextToken") or res.next_token
            if not token:
                return events
        raise Unavailable(f"SP-API {operation}: more than {max_pages} pages for {what}; not read (read again "
                          "next run)")


class _TokenRefused(Exception):
    """A page after the first refused (400): its NextToken expired or Amazon lost it."""


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
