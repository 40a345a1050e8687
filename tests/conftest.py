"""Shared fixtures: the stack's AWS resources on moto server (built from template.yaml).

Sockets are blocked except loopback (pytest-socket, see pyproject.toml): nothing here can reach a
real AWS, Brightpearl or Amazon endpoint.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from local.aws import LocalAws, start_local_aws


@pytest.fixture(scope="session")
def local_aws() -> Iterator[LocalAws]:
    saved = dict(os.environ)
    stack = start_local_aws()
    stack.apply_env()
    from connector.adapters import store

    store.bind()
    yield stack
    stack.stop()
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def sqs(local_aws: LocalAws):
    return local_aws.client("sqs")


def drain(sqs_client, queue_url: str, *, wait: int = 0, max_messages: int = 100) -> list[dict]:
    """Receive (and delete) every message currently on a queue."""
    out: list[dict] = []
    while len(out) < max_messages:
        resp = sqs_client.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait,
                                          MessageAttributeNames=["All"])
        msgs = resp.get("Messages", [])
        if not msgs:
            break
        for m in msgs:
            sqs_client.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
        out.extend(msgs)
    return out
