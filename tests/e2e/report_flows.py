"""The local stack as the report-fed flows' end-to-end tests start it, and the movements world.

:func:`reports_stack`: both simulators on a frozen simulated clock that the movements follow, Amazon
sending REPORT_PROCESSING_FINISHED, the worlds seeded, the named tables emptied, the links made and the
notifications queue drained (movements, refunds, removals, the ledger's inbound receipts).
:class:`World` with its seeds: the shop the movements and refunds tests share (``movements_world`` in
``conftest.py``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from connector.adapters.repositories import GlobalSettings, SettingsRepository
from local.queues import pump
from local.stack import LocalStack, start_stack
from simulators.core import SimClock
from simulators.spapi.demo import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, UK


@contextmanager
def reports_stack(local_aws: Any, *, bp_seed: dict, amazon_seed: dict, links: Iterable[tuple[str, str, int, str]],
                  clear: Iterable[type]) -> Iterator[LocalStack]:
    with start_stack(aws=local_aws, clock=SimClock(speed=0), bp_limit=10_000, amazon_rate_scale=1000,
                     movements_clock=True) as stack:
        stack.amazon.configure(notification_types=["REPORT_PROCESSING_FINISHED"])
        stack.bp.seed(bp_seed)
        stack.amazon.seed(amazon_seed)
        stack.clear(*clear)
        stack.link(links)
        stack.purge("NotificationsQueue")
        yield stack


SELLER = "A1SELLER"
MAIN, FBA, RETURNS = 2, 7, 9
TEA, MUG, SOAP, CANDLE = 1020, 1021, 1022, 1023

ORDER_TEA = "202-1111111-1111111"
ORDER_MUG = "202-2222222-2222222"
ORDER_MFN = "202-3333333-3333333"
ORDER_MISSING = "202-9999999-9999999"

BP_SEED = {
    "warehouses": [{"id": MAIN, "name": "Main DC"}, {"id": FBA, "name": "Amazon FBA"},
                   {"id": RETURNS, "name": "Returns"}],
    "products": [{"id": TEA, "sku": "TEA-FBA"}, {"id": MUG, "sku": "MUG-FBA"}, {"id": SOAP, "sku": "SOAP-MFN"},
                 {"id": CANDLE, "sku": "CANDLE-FBA"}],
    "stock": [{"productId": TEA, "warehouseId": FBA, "onHand": 50},
              {"productId": MUG, "warehouseId": FBA, "onHand": 20},
              {"productId": CANDLE, "warehouseId": FBA, "onHand": 10},
              {"productId": SOAP, "warehouseId": MAIN, "onHand": 5},
              {"productId": SOAP, "warehouseId": RETURNS, "onHand": 0}],
    "orders": [
        {"id": 1201, "orderTypeCode": "SO", "externalRef": ORDER_TEA, "contactId": 200, "warehouseId": FBA,
         "channelId": 3, "installedIntegrationInstanceId": 13, "currency": "GBP",
         "rows": [{"productId": TEA, "quantity": 3, "net": 30.0, "tax": 6.0, "itemCost": 4.0, "taxCode": "T20",
                   "nominalCode": "4000"}]},
        {"id": 1202, "orderTypeCode": "SO", "externalRef": ORDER_MUG, "contactId": 201, "warehouseId": FBA,
         "channelId": 3, "installedIntegrationInstanceId": 13, "currency": "GBP",
         "rows": [{"productId": MUG, "quantity": 1, "net": 10.0, "tax": 2.0, "itemCost": 3.0, "taxCode": "T20",
                   "nominalCode": "4000"}]},
        {"id": 1203, "orderTypeCode": "SO", "externalRef": ORDER_MFN, "contactId": 202, "warehouseId": MAIN,
         "channelId": 3, "installedIntegrationInstanceId": 13, "currency": "GBP",
         "rows": [{"productId": SOAP, "quantity": 2, "net": 8.0, "tax": 1.6, "itemCost": 1.5, "taxCode": "T20",
                   "nominalCode": "4000"}]},
    ],
}

AMAZON_SEED = {
    "credentials": {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "refresh_token": REFRESH_TOKEN},
    "listings": {
        "TEA-FBA": {"title": "Thé vert", "channel": "FBA", "marketplaces": [UK], "fba": {"SELLABLE": 50}},
        "MUG-FBA": {"title": "Café crème mug", "channel": "FBA", "marketplaces": [UK], "fba": {"SELLABLE": 20}},
        "CANDLE-FBA": {"channel": "FBA", "marketplaces": [UK], "fba": {"SELLABLE": 10}},
        "SOAP-MFN": {"channel": "MFN", "quantity": 5, "marketplaces": [UK]},
        "NEW-FBA": {"channel": "FBA", "marketplaces": [UK], "fba": {"SELLABLE": 5}},
    },
}
LINKS = [("TEA-FBA", TEA, "FBA"), ("MUG-FBA", MUG, "FBA"), ("CANDLE-FBA", CANDLE, "FBA"), ("SOAP-MFN", SOAP, "MFN")]


class World:
    def __init__(self, stack: LocalStack) -> None:
        self.stack, self.bp, self.amazon, self.aws = stack, stack.bp, stack.amazon, stack.aws

    def settings(self, **kw) -> None:
        # These tests hold the return flow at the unit price; the refunded amounts: test_refunds_e2e.py.
        base = {"fba_warehouse_id": FBA, "returns_warehouse_id": RETURNS, "restock_returns": False,
                "credit_amounts": "unit_price"}
        SettingsRepository().save_global(GlobalSettings(**{**base, **kw}))

    def cycle(self, hours: float = 5) -> None:
        """One schedule: request the due reports, let Amazon finish them, deliver the notifications."""
        self.stack.report_cycle(hours)

    def replay_notifications(self, times: int = 3) -> None:
        sqs = self.aws.client("sqs")
        url = self.aws.queue_url("NotificationsQueue")
        for _ in range(times):
            for body in list(self.amazon.notifications):
                sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body))
            pump(self.aws, "NotificationsFunction")

    def on_hand(self, pid: int, wid: int) -> int:
        return self.bp.on_hand(pid, wid)

    def writes(self) -> int:
        return len(self.bp.requests(writes_only=True, ok_only=True))

    def assert_replays_change_nothing(self, notifications: int = 3, cycles: int = 3, hours: float = 5) -> None:
        """Amazon's notifications delivered ``notifications`` times more, then ``cycles`` more schedules
        (their overlapping windows read the same rows again): Brightpearl's stock, notes, credits and writes
        stay as they were."""
        before = self.snapshot()
        self.replay_notifications(notifications)
        for _ in range(cycles):
            self.cycle(hours)
        assert self.snapshot() == before

    def snapshot(self) -> tuple:
        stock = tuple(self.on_hand(p, w) for p in (TEA, MUG, SOAP, CANDLE) for w in (MAIN, FBA, RETURNS))
        return stock, len(self.bp.world.goods_in_notes), len([o for o in self.bp.world.orders.values()
                                                              if o.order_type_code == "SC"]), self.writes()
