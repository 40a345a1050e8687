"""SQS: sending work to the connector's queues."""

from __future__ import annotations

import json
from typing import Any

import boto3


class QueueError(RuntimeError):
    pass


class Queue:
    def __init__(self, url: str, client: Any = None) -> None:
        self.url = url
        self._client = client or boto3.client("sqs")

    def send(self, message: dict[str, Any], *, attributes: dict[str, str] | None = None) -> str:
        kwargs: dict[str, Any] = {"QueueUrl": self.url, "MessageBody": json.dumps(message, separators=(",", ":"))}
        if attributes:
            kwargs["MessageAttributes"] = {k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()}
        try:
            return str(self._client.send_message(**kwargs)["MessageId"])
        except Exception as exc:  # botocore raises many types; the caller only needs "not queued"
            raise QueueError(f"could not queue message on {self.url}: {exc}") from exc
