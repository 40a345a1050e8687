"""What ``status``, ``links`` and ``explain`` read straight from the stack's tables and queues (read only:
every change goes through the connector's functions)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from cli.transport import DLQS, QUEUES, Transport

_DESER = TypeDeserializer()
RUN_PREFIX = "run#"  # a scheduled job's last run and outcome (connector.adapters.run_log)
MOVEMENTS_INDEX = "index#movements"  # the movements' retry/quarantine index (connector.adapters.movement_store)


def scan(t: Transport, table: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    ddb = t.client("dynamodb")
    for page in ddb.get_paginator("scan").paginate(TableName=t.table(table), ConsistentRead=True, **kwargs):
        for item in page["Items"]:
            yield {k: _plain(_DESER.deserialize(v)) for k, v in item.items()}


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal: ints stay ints."""
    from decimal import Decimal

    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, set)):
        return [_plain(v) for v in value]
    return value


def _json(value: Any) -> Any:
    """pynamodb's JSONAttribute is stored as a JSON string."""
    import json

    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def get_item(t: Transport, table: str, key: dict[str, str]) -> dict[str, Any] | None:
    resp = t.client("dynamodb").get_item(TableName=t.table(table), Key={k: {"S": v} for k, v in key.items()},
                                         ConsistentRead=True)
    item = resp.get("Item")
    return {k: _plain(_DESER.deserialize(v)) for k, v in item.items()} if item else None


def links(t: Transport, marketplace: str | None = None, sku: str | None = None) -> list[dict[str, Any]]:
    out = []
    for item in scan(t, "ListingsTable"):
        if (marketplace and item.get("marketplace_id") != marketplace) or (sku is not None and item.get("sku") != sku):
            continue
        for key in ("buffer", "pending_feed"):
            if key in item:
                item[key] = _json(item[key])
        out.append({"marketplace": item.get("marketplace_id"), "sku": item.get("sku"),
                    "productId": item.get("product_id"), "channel": item.get("fulfillment_channel", "MFN"),
                    "amazonStatus": item.get("amazon_status"), "lastPushed": item.get("last_pushed_quantity"),
                    "lastConfirmed": item.get("last_confirmed_quantity"), "lastPushAt": item.get("last_push_at"),
                    "lastResult": item.get("last_result"), "pendingFeed": item.get("pending_feed"),
                    "leadTimeDays": (item.get("buffer") or {}).get("lead_time_days")})
    return sorted(out, key=lambda r: (str(r["marketplace"]), str(r["sku"])))


def queue_depths(t: Transport) -> dict[str, dict[str, int]]:
    sqs = t.client("sqs")
    out = {}
    for logical in (*QUEUES, *DLQS):
        attrs = sqs.get_queue_attributes(QueueUrl=t.queue_url(logical), AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        out[logical] = {"visible": int(attrs.get("ApproximateNumberOfMessages", 0)),
                        "inFlight": int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0))}
    return out


def status(t: Transport, settings: dict[str, Any]) -> dict[str, Any]:
    """Per marketplace: sync on/off and its links' last results; the stack: queues, report jobs, the
    nightly run, movements, Brightpearl's request budget."""
    channels = dict(settings.get("channels") or {})
    per: dict[str, dict[str, Any]] = defaultdict(lambda: {"links": 0, "mfn": 0, "fba": 0, "notOnAmazon": 0,
                                                          "pendingFeeds": 0, "lastPushAt": None,
                                                          "results": Counter()})
    for link in links(t):
        m = per[str(link["marketplace"])]
        m["links"] += 1
        m["mfn" if link["channel"] == "MFN" else "fba"] += 1
        m["notOnAmazon"] += link["amazonStatus"] == "not-found"
        m["pendingFeeds"] += bool(link["pendingFeed"])
        if link["lastPushAt"] and (m["lastPushAt"] is None or str(link["lastPushAt"]) > str(m["lastPushAt"])):
            m["lastPushAt"] = link["lastPushAt"]
        if link["lastResult"]:
            m["results"][str(link["lastResult"]).split(":")[0][:40]] += 1
    marketplaces = {}
    for mid in sorted(set(channels) | set(per)):
        row = dict(per[mid])
        row["results"] = dict(row["results"])
        marketplaces[mid] = {"sync": "on" if (channels.get(mid) or {}).get("sync_enabled") else "off", **row}

    nightly = {}
    runs = {}
    for item in scan(t, "SettingsTable"):
        if str(item.get("key", "")).startswith("nightly#"):
            nightly[item["key"].split("#", 1)[1]] = _json(item.get("value"))
        elif str(item.get("key", "")).startswith(RUN_PREFIX):  # connector.adapters.run_log
            runs[item["key"][len(RUN_PREFIX):]] = _json(item.get("value"))

    jobs: dict[str, dict[str, Any]] = {}
    index: dict[str, Any] = {}
    for item in scan(t, "ReportJobsTable"):
        if item.get("job_id") == MOVEMENTS_INDEX:
            index = _json(item.get("detail")) or {}
            continue
        if item.get("status") == "state":  # bookkeeping items (claims, high-water marks), not report jobs
            continue
        kind = str(item.get("report_type"))
        at = str(item.get("updated_at") or item.get("requested_at") or "")
        entry = jobs.setdefault(kind, {"count": 0, "states": Counter(), "last": None, "lastAt": ""})
        entry["count"] += 1
        entry["states"][str(item.get("status"))] += 1
        if at >= entry["lastAt"]:
            entry.update(lastAt=at, last={"status": item.get("status"), "at": at or None,
                                          **({"error": item["error"]} if item.get("error") else {})})
    report_jobs = {k: {"count": v["count"], "states": dict(v["states"]), "last": v["last"]}
                   for k, v in sorted(jobs.items())}

    movements = Counter(str(i.get("status")) for i in scan(t, "MovementsTable", ProjectionExpression="#s",
                                                              ExpressionAttributeNames={"#s": "status"})
                        if i.get("status"))
    budget = {}
    for item in scan(t, "GovernorTable"):
        budget[str(item.get("key"))] = {k: item.get(k) for k in ("tokens", "refilled_at", "owner", "lease_until")
                                        if item.get(k) is not None}
    return {"marketplaces": marketplaces, "nightly": nightly, "reportJobs": report_jobs,
            "inbound": runs.get("inbound"),
            "movements": {"byStatus": dict(movements), "awaitingRetry": len(index.get("retry") or {}),
                          "quarantined": len(index.get("quarantined") or {})},
            "queues": queue_depths(t), "brightpearlBudget": budget}
