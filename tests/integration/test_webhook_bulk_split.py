"""A bulk import's huge ID set through the webhook use case onto the real stock-change queue (moto):
accepted, split into bounded messages in SendMessageBatch calls within SQS's limits, the union of what
is on the queue exactly the set (issue 14 item 2)."""

from __future__ import annotations

import json
import random

import pytest

from connector.adapters.queues import MESSAGE_BYTES, Queue
from connector.domain.idsets import parse_id_set
from connector.usecases.accept_webhook import accept_webhook
from local.queues import drain


# slow (make test-slow); the fast run covers it by
# test_webhook_to_queue.py::test_huge_id_set_is_split_into_bounded_messages_and_nothing_is_dropped and test_idsets.py
@pytest.mark.slow
def test_a_100000_id_set_is_accepted_and_queued_whole_in_bounded_messages(local_aws):
    sqs = local_aws.client("sqs")
    url = local_aws.queue_url("StockChangeQueue")
    drain(sqs, url, max_messages=10_000)
    rng = random.Random(100)
    ranges = [(lo, lo + rng.randrange(2_000)) for lo in rng.sample(range(1, 10**7, 5_000), 25)]
    ids = {i for lo, hi in ranges for i in range(lo, hi + 1)}
    ids |= set(rng.sample(range(10**7, 10**9), 100_000 - len(ids)))  # scattered ids (gaps) up to 100 000
    parts = [f"{lo}-{hi}" for lo, hi in ranges] + [str(i) for i in rng.sample(sorted(ids), 500)]  # repeats
    parts += [str(i) for i in ids if i >= 10**7]
    rng.shuffle(parts)
    body = json.dumps({"accountCode": "acme", "resourceType": "product", "id": ",".join(parts),
                       "fullEvent": "product.modified.on-hand-modified"})

    result = accept_webhook(token="t", body=body, expected_token="t", account="acme", queue=Queue(url, sqs),
                            correlation_id="bulk-1")

    assert result.status == 200 and result.body["accepted"] == 100_000
    messages = drain(sqs, url, max_messages=10_000)
    assert len(messages) == result.body["messages"] == 400
    got = [i for m in messages for i in parse_id_set(json.loads(m["Body"])["idSet"])]
    assert len(got) == len(set(got)) and set(got) == ids  # exactly the set: none lost, none twice
    assert max(len(m["Body"].encode()) for m in messages) < MESSAGE_BYTES // 16
    assert all(m["MessageAttributes"]["correlationId"]["StringValue"] == "bulk-1" for m in messages)


# slow (make test-slow); the fast run has its shape at a fifth: tests/unit/test_bulk_requeue.py
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_100000_id_set_is_worked_under_the_budget_with_a_tenth_of_the_requeue_calls(monkeypatch):
    from tests.unit.test_bulk_requeue import drain_bulk

    drain_bulk(monkeypatch, 100_000, None)  # 2026-12-02: 50 invocations, 145 hand-back calls (was ~1 000)
