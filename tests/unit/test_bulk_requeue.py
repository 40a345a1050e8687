"""A 100 000-id bulk set through the stock-change function's budget: the records beyond each invocation's
budget are handed back merged into budget-sized messages, so the whole set costs ~1/10 of the
SendMessageBatch calls it did (one re-sent message per record: ~1 000 calls), none lost (issue 14 item 2).

The queue is a fake SQS client that keeps SQS's documented SendMessageBatch limits (10 entries, 256 KiB
in all, https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html)
and delivers batches of the event source mapping's BatchSize; the sync itself is replaced by a recorder.
"""

from __future__ import annotations

import itertools
import json
import random
from contextlib import nullcontext
from types import SimpleNamespace
from typing import Any

import pytest

from connector.adapters.queues import BATCH_ENTRIES, MESSAGE_BYTES, Queue, message_bytes
from connector.usecases.accept_webhook import accept_webhook
from local.runtime import FakeContext, load_handler_module

BATCH_SIZE = 1000  # template.yaml: the stock-change event source mapping's BatchSize


class FakeSqs:
    def __init__(self) -> None:
        self.queue: list[dict[str, Any]] = []
        self.calls = 0
        self._ids = itertools.count(1)

    def send_message_batch(self, *, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls += 1
        assert len(Entries) <= BATCH_ENTRIES
        sizes = [message_bytes(e["MessageBody"], {k: v["StringValue"] for k, v in
                                                   (e.get("MessageAttributes") or {}).items()}) for e in Entries]
        assert sum(sizes) <= MESSAGE_BYTES, "over SendMessageBatch's 256 KiB"
        ok = []
        for e in Entries:
            mid = f"m{next(self._ids)}"
            self.queue.append({"messageId": mid, "body": e["MessageBody"],
                               "messageAttributes": {k: {"stringValue": v["StringValue"], "dataType": "String"}
                                                     for k, v in (e.get("MessageAttributes") or {}).items()}})
            ok.append({"Id": e["Id"], "MessageId": mid})
        return {"Successful": ok, "Failed": []}


def _bulk_body(rng: random.Random, size: int) -> tuple[str, set[int]]:
    ranges = [(lo, lo + rng.randrange(size // 50)) for lo in rng.sample(range(1, 10**7, 5_000), 25)]
    ids = {i for lo, hi in ranges for i in range(lo, hi + 1)}
    ids |= set(rng.sample(range(10**7, 10**9), size - len(ids)))  # scattered (ten-digit) ids up to ``size``
    parts = [f"{lo}-{hi}" for lo, hi in ranges] + [str(i) for i in ids if i >= 10**7]
    rng.shuffle(parts)
    body = json.dumps({"accountCode": "acme", "resourceType": "product", "id": ",".join(parts),
                       "fullEvent": "product.modified.on-hand-modified"})
    return body, ids


ENV = {"SES_SENDER": "connector@example.com", "ALERT_RECIPIENTS": "ops@example.com",
       "AMAZON_MARKETPLACE_IDS": "A1F83G8C2ARO7P", "AMAZON_SELLER_ID": "A1SELLER", "AMAZON_SECRET_NAME": "amazon",
       "BRIGHTPEARL_ACCOUNT": "acme", "BRIGHTPEARL_BASE_URL": "https://euw1.brightpearlconnect.com",
       "BRIGHTPEARL_SECRET_NAME": "brightpearl", "GOVERNOR_TABLE": "governor",
       "STOCK_CHANGE_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/stock-change"}


def test_a_bulk_id_set_is_worked_under_the_budget_with_a_tenth_of_the_requeue_calls(monkeypatch):
    """The 100 000-id set at the real budget is slow (tests/integration/test_webhook_bulk_split.py, make
    test-slow); this has its shape at a fifth: 20 000 ids at a budget of 400 (50 invocations either way)."""
    drain_bulk(monkeypatch, 20_000, 400)


def drain_bulk(monkeypatch: pytest.MonkeyPatch, size: int, budget: int | None) -> None:
    for name, value in ENV.items():  # the module reads its environment on import (a cold start)
        monkeypatch.setenv(name, value)
    app = load_handler_module("StockChangeFunction")
    if budget is not None:
        monkeypatch.setattr(app, "PRODUCT_BUDGET", budget)
    sqs = FakeSqs()
    queue = Queue("https://sqs.eu-west-1.amazonaws.com/123456789012/stock-change", sqs)
    worked: list[set[int]] = []

    def products_changed(_syncs: Any, product_ids: set[int], **_: Any) -> Any:
        worked.append(set(product_ids))
        return SimpleNamespace(plan={}, ignored_products=0, failed={}, retryable_failures=False, pushes=[])

    monkeypatch.setattr(app, "own_queue", lambda: queue)
    monkeypatch.setattr(app, "syncs", lambda: [])
    monkeypatch.setattr(app, "products_changed", products_changed)
    monkeypatch.setattr(app, "_one_at_a_time", lambda: nullcontext(SimpleNamespace(waited=0.0)))
    monkeypatch.setattr(app, "add_sum", lambda *a, **k: None)

    body, ids = _bulk_body(random.Random(100), size)
    answer = accept_webhook(token="t", body=body, expected_token="t", account="acme", queue=queue,
                            correlation_id="bulk-1")
    assert answer.status == 200 and answer.body["accepted"] == size
    webhook_calls, sqs.calls = sqs.calls, 0

    invocations = 0
    while sqs.queue:
        batch, sqs.queue = sqs.queue[:BATCH_SIZE], sqs.queue[BATCH_SIZE:]
        result = app.handler({"Records": batch}, FakeContext(function_name="StockChangeFunction"))
        assert result == {"batchItemFailures": []}
        invocations += 1
        assert invocations <= 200, "the queue does not drain"
    got = set().union(*worked)
    assert got == ids and sum(map(len, worked)) == len(ids)  # every id worked, and once
    assert max(map(len, worked)) <= app.PRODUCT_BUDGET
    assert all(m["messageAttributes"]["correlationId"]["stringValue"] == "bulk-1" for m in sqs.queue) or not sqs.queue
    print(f"\n{size} ids, budget {app.PRODUCT_BUDGET}: webhook {webhook_calls} SendMessageBatch calls "
          f"({answer.body['messages']} messages), "
          f"{invocations} invocations, hand-backs {sqs.calls} SendMessageBatch calls")
    assert invocations == pytest.approx(len(ids) / app.PRODUCT_BUDGET, abs=2)
    # M = 50 budget-sized messages after the first hand-back, then one fewer per invocation, ten a call:
    # sum(ceil(m / 10) for m < M) = 150. Before (every record beyond the budget re-sent as it was): 352 at
    # 20 000 ids, and the 100 000-id set ~1 000.
    assert sqs.calls <= 150
