"""The dead-letter queues: list what is there and why, replay it to where it came from after a fix.

Replaying is safe because the work is idempotent (a stock change re-reads Brightpearl and pushes what
is true now; a notification re-reads its report or feed). Messages are moved one at a time: sent to
the source queue first, then deleted from the DLQ, so a crash in between duplicates, never loses.
"""

from __future__ import annotations

import json
import time
from typing import Any

from cli.transport import DLQS, FunctionFailed, Transport

ALIASES = {"stock-change": "StockChangeDLQ", "notifications": "NotificationsDLQ", "scheduled": "ScheduledFailuresDLQ",
           "import-links": "ImportLinksDLQ"}
_HIDE_SECONDS = 30  # how long a listed message stays hidden from others while this command reads the queue


def resolve(name: str) -> str:
    """A DLQ by alias or logical id; ValueError names the choices."""
    logical = ALIASES.get(name, name)
    if logical not in DLQS:
        raise ValueError(f"unknown dead-letter queue {name!r}; expected one of {', '.join([*ALIASES, *DLQS])}")
    return logical


def _receive(t: Transport, logical: str, limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` messages, each once, hidden for a while (the caller deletes or releases them)."""
    sqs, url = t.client("sqs"), t.queue_url(logical)
    seen: dict[str, dict[str, Any]] = {}
    while len(seen) < limit:
        msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=min(10, limit - len(seen)),
                                   VisibilityTimeout=_HIDE_SECONDS, AttributeNames=["All"],
                                   MessageAttributeNames=["All"]).get("Messages", [])
        if not msgs:
            break
        for m in msgs:
            seen.setdefault(m["MessageId"], m)
    return list(seen.values())


def _release(t: Transport, logical: str, msgs: list[dict[str, Any]]) -> None:
    sqs, url = t.client("sqs"), t.queue_url(logical)
    for m in msgs:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)


def reason(msg: dict[str, Any]) -> str | None:
    """Why the message failed, when it says: a Lambda failure record's error, an ``error``/``reason``
    field, or Lambda's ErrorMessage attribute. SQS redrive itself records no reason: see the function's log."""
    attr = (msg.get("MessageAttributes") or {}).get("ErrorMessage")
    if attr:
        return str(attr.get("StringValue"))
    try:
        body = json.loads(msg.get("Body") or "")
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    response = body.get("responsePayload")
    if isinstance(response, dict) and (response.get("errorMessage") or response.get("errorType")):
        return f"{response.get('errorType')}: {response.get('errorMessage')}"
    condition = (body.get("requestContext") or {}).get("condition")
    for key in ("error", "reason"):
        if body.get(key):
            return str(body[key])
    return str(condition) if condition else None


def describe(msg: dict[str, Any], now: float | None = None) -> dict[str, Any]:
    attrs = msg.get("Attributes") or {}
    sent = int(attrs.get("SentTimestamp", 0)) / 1000
    body = msg.get("Body") or ""
    return {"messageId": msg["MessageId"], "ageSeconds": round((now or time.time()) - sent) if sent else None,
            "receiveCount": int(attrs.get("ApproximateReceiveCount", 0)), "reason": reason(msg),
            "body": body if len(body) <= 500 else body[:500] + "…"}


def list_messages(t: Transport, logical: str, limit: int) -> list[dict[str, Any]]:
    msgs = _receive(t, logical, limit)
    try:
        now = time.time()
        return sorted((describe(m, now) for m in msgs), key=lambda d: -(d["ageSeconds"] or 0))
    finally:
        _release(t, logical, msgs)  # listing must not hide them from a replay or the console


def replay(t: Transport, logical: str, limit: int) -> dict[str, Any]:
    """Move up to ``limit`` messages back to their source queue (or, for failed scheduled runs, invoke
    the function again with the run's input). A message whose replay fails stays on the DLQ."""
    sqs, dlq_url = t.client("sqs"), t.queue_url(logical)
    source = DLQS[logical]
    msgs = _receive(t, logical, limit)
    replayed: list[str] = []
    failed: list[dict[str, Any]] = []
    kept = []
    for m in msgs:
        try:
            if source is not None:
                attrs = {k: {f: v[f] for f in ("DataType", "StringValue", "BinaryValue") if f in v}
                         for k, v in (m.get("MessageAttributes") or {}).items()}
                sqs.send_message(QueueUrl=t.queue_url(source), MessageBody=m["Body"],
                                 **({"MessageAttributes": attrs} if attrs else {}))
            else:
                function, payload = _failed_run(t, m)
                t.invoke_async(function, payload)
        except (FunctionFailed, ValueError) as exc:
            failed.append({"messageId": m["MessageId"], "error": str(exc)})
            kept.append(m)
            continue
        sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=m["ReceiptHandle"])
        replayed.append(m["MessageId"])
    _release(t, logical, kept)
    return {"queue": logical, "to": source or "the failed runs' functions", "replayed": len(replayed),
            "messageIds": replayed, "failed": failed}


def _failed_run(t: Transport, msg: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A Lambda asynchronous-invocation failure record: which function, with what input."""
    try:
        body = json.loads(msg["Body"])
        arn = body["requestContext"]["functionArn"]
        payload = body.get("requestPayload") or {}
    except (ValueError, KeyError, TypeError):
        raise ValueError("not a Lambda failure record (no requestContext.functionArn)") from None
    function = t.function_id(str(arn))
    if function is None:
        raise ValueError(f"no function of this stack is {arn}")
    if not isinstance(payload, dict):
        raise ValueError("the failed run's input is not a JSON object")
    return function, payload
