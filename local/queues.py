"""Runs the stack's SQS-triggered functions locally: receive from the queue, invoke, delete what succeeded.

The queue → function mapping comes from the template's SQS events; failed records (batchItemFailures)
are left on the queue, exactly as Lambda's event source mapping does.
"""

from __future__ import annotations

from typing import Any

from local.aws import LocalAws
from local.runtime import _TEMPLATE, invoke


def consumers() -> dict[str, tuple[str, int]]:
    """function logical id → (queue logical id, batch size)."""
    out = {}
    for logical, res in _TEMPLATE["Resources"].items():
        if res["Type"] != "AWS::Serverless::Function":
            continue
        for ev in (res["Properties"].get("Events") or {}).values():
            if ev["Type"] == "SQS":
                out[logical] = (ev["Properties"]["Queue"]["Fn::GetAtt"][0], int(ev["Properties"].get("BatchSize", 10)))
    return out


def pump(local: LocalAws, function_id: str, *, max_batches: int = 100,
         expire_visibility: bool = False) -> list[dict[str, Any]]:
    """Deliver what is on the function's queue, batch by batch, until it is empty; returns the results.

    ``expire_visibility`` makes failed records visible again at once, as if their visibility
    timeout had passed (tests use it to see the redelivery without waiting minutes).
    """
    queue_id, batch_size = consumers()[function_id]
    url = local.queue_url(queue_id)
    arn = local.attributes[(queue_id, "Arn")]
    sqs = local.client("sqs")
    results = []
    for _ in range(max_batches):
        msgs = receive_batch(sqs, url, batch_size)
        if not msgs:
            break
        event = {"Records": [{
            "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
            "attributes": m.get("Attributes", {}), "messageAttributes": _lambda_attributes(m),
            "md5OfBody": m.get("MD5OfBody", ""), "eventSource": "aws:sqs", "eventSourceARN": arn,
            "awsRegion": "eu-west-1"} for m in msgs]}
        result = invoke(function_id, event) or {}
        failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        for m in msgs:
            if m["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            elif expire_visibility:
                sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
        results.append(result)
        if failed:
            break  # failed records stay invisible until their visibility timeout, as on AWS
    return results


def receive_batch(sqs: Any, url: str, batch_size: int, on_receive: Any = None) -> list[dict[str, Any]]:
    """Up to ``batch_size`` messages, 10 per ReceiveMessage, as the event source mapping gathers a batch
    above 10 (its batching window: here, until the queue has no more visible)."""
    msgs: list[dict[str, Any]] = []
    while len(msgs) < batch_size:
        if on_receive is not None:
            on_receive()
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=min(batch_size - len(msgs), 10),
                                  AttributeNames=["All"], MessageAttributeNames=["All"]).get("Messages", [])
        if not got:
            break
        msgs.extend(got)
    return msgs


def drain(sqs_client: Any, queue_url: str, *, wait: int = 0, max_messages: int = 100) -> list[dict[str, Any]]:
    """Receive (and delete) every message currently on a queue."""
    out: list[dict[str, Any]] = []
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


def _lambda_attributes(message: dict[str, Any]) -> dict[str, Any]:
    """SQS message attributes as Lambda's event carries them (camelCase, with the list fields)."""
    return {name: {"stringValue": a.get("StringValue"), "binaryValue": a.get("BinaryValue"),
                   "stringListValues": [], "binaryListValues": [], "dataType": a.get("DataType", "String")}
            for name, a in (message.get("MessageAttributes") or {}).items()}
