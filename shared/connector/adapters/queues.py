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
        """Queue every message (SendMessageBatch, 10 per call); entries SQS refuses are retried once,
        then :class:`QueueError` if any is still not queued. Returns the message ids in order."""
        ids: list[str] = [""] * len(messages)
        for start in range(0, len(messages), 10):
            pending = {str(i): messages[i] for i in range(start, min(start + 10, len(messages)))}
            for _attempt in range(2):
                entries = [{"Id": key, "MessageBody": _body(m)} | (
                    {"MessageAttributes": _attributes(attributes)} if attributes else {})
                    for key, m in pending.items()]
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


def _body(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"))


def _attributes(attributes: dict[str, str]) -> dict[str, Any]:
    return {k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()}
