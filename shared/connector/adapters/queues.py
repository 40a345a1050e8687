"""SQS: sending work to the connector's queues."""

from __future__ import annotations

import json
from typing import Any

import boto3

from connector.domain.errors import Unavailable


class QueueError(RuntimeError, Unavailable):
    """The queue would not take the message (the port-level ``Unavailable``)."""


class Queue:
    def __init__(self, url: str, client: Any = None) -> None:
        self.url = url
        self._client = client or boto3.client("sqs")

    def send(self, message: dict[str, Any], *, attributes: dict[str, str] | None = None) -> str:
        kwargs: dict[str, Any] = {"QueueUrl": self.url, "MessageBody": _body(message)}
        if attributes:
            kwargs["MessageAttributes"] = _attributes(attributes)
        try:
            return str(self._client.send_message(**kwargs)["MessageId"])
        except Exception as exc:  # botocore raises many types; the caller only needs "not queued"
            raise QueueError(f"could not queue message on {self.url}: {exc}") from exc

    def send_batch(self, messages: list[dict[str, Any]], *, attributes: dict[str, str] | None = None) -> list[str]:
        """Queue every message (SendMessageBatch: 10 entries and 256 KiB per call); entries SQS refuses
        are retried once, then :class:`QueueError` if any is still not queued. Returns the message ids
        in order."""
        return self.send_raw([(_body(m), attributes or {}) for m in messages])

    def send_raw(self, messages: list[tuple[str, dict[str, str]]]) -> list[str]:
        """Queue (body, string attributes) pairs as they are, e.g. records a consumer hands back to its
        own queue as new messages (``send_batch``'s batching and retry)."""
        ids: list[str] = [""] * len(messages)
        for group in _groups(messages):
            pending = {str(i): messages[i] for i in group}
            resp: dict[str, Any] = {}
            for _attempt in range(2):
                entries = [{"Id": key, "MessageBody": body} | (
                    {"MessageAttributes": _attributes(attrs)} if attrs else {})
                    for key, (body, attrs) in pending.items()]
                try:
                    resp = self._client.send_message_batch(QueueUrl=self.url, Entries=entries)
                except Exception as exc:
                    raise QueueError(f"could not queue messages on {self.url}: {exc}") from exc
                for ok in resp.get("Successful", []):
                    ids[int(ok["Id"])] = str(ok["MessageId"])
                    pending.pop(ok["Id"], None)
                if not pending:
                    break
            if pending:
                failed = resp.get("Failed", [])
                raise QueueError(f"{len(pending)} message(s) not queued on {self.url}: {failed[:3]}")
        return ids


# SendMessageBatch: at most 10 entries, and the entries' sizes (body plus attribute names, types and
# values) sum to at most 256 KiB, the single message's limit too:
# https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html
BATCH_ENTRIES = 10
MESSAGE_BYTES = 256 * 1024


def message_bytes(body: str, attributes: dict[str, str]) -> int:
    """What SQS counts against its 256 KiB for one message."""
    return len(body.encode("utf-8")) + sum(len(k.encode("utf-8")) + len(b"String") + len(v.encode("utf-8"))
                                           for k, v in attributes.items())


def _groups(messages: list[tuple[str, dict[str, str]]]) -> list[list[int]]:
    """Message indexes in SendMessageBatch calls of at most 10 entries and 256 KiB each."""
    groups: list[list[int]] = []
    size = 0
    for i, (body, attrs) in enumerate(messages):
        n = message_bytes(body, attrs)
        if n > MESSAGE_BYTES:
            raise QueueError(f"message {i} is {n} bytes, over SQS's {MESSAGE_BYTES} (split it before sending)")
        if not groups or len(groups[-1]) == BATCH_ENTRIES or size + n > MESSAGE_BYTES:
            groups.append([])
            size = 0
        groups[-1].append(i)
        size += n
    return groups


def _body(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"))


def _attributes(attributes: dict[str, str]) -> dict[str, Any]:
    return {k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()}
