"""The conformance run's second check: every sandbox example of the official models replayed over
HTTP (identifiers made live, see ``simulators/conformance.py``) and its answer validated."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx

from simulators.conformance_base import (
    JSON,
    NOT_REPLAYABLE,
    PATCH_BODY,
    TOKEN_PARAMS,
    ModelOp,
    Result,
    _arn,
    validate,
)
from simulators.conformance_clients import _live_context
from simulators.spapi import SpApiSimulator
from simulators.spapi import notifications_api as napi
from simulators.spapi.demo import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, UK


# ====================================================================== sandbox replay
def _examples(op: ModelOp) -> Iterator[tuple[str, str, JSON]]:
    for status, response in op.spec["responses"].items():
        sandbox = response.get("x-amzn-api-sandbox") or {}
        index = 0
        for kind in ("static", "dynamic"):
            for example in sandbox.get(kind, []):
                yield status, f"{status}#{index}", example
                index += 1


# Which live id replaces a sandbox identifier, by parameter name.
LIVE_IDS = {"reportId": "reportId", "reportDocumentId": "reportDocumentId", "feedId": "feedId",
            "feedDocumentId": "feedDocumentId", "sellerId": "sellerId", "sku": "sku",
            "inboundPlanId": "inboundPlanId", "destinationId": "destinationId", "subscriptionId": "subscriptionId"}


def _live_value(op: ModelOp, name: str, ctx: dict[str, Any]) -> Any:
    if name == "shipmentId":
        return ctx["v0ShipmentId"] if op.path.startswith("/fba/inbound/v0") else ctx["shipmentId"]
    if name == "notificationType":
        return ctx["notificationType"]
    if name == "reportId" and op.operation_id == "cancelReport":
        return ctx["queuedReportId"]
    if name == "feedId" and op.operation_id == "cancelFeed":
        return ctx["queuedFeedId"]
    if name == "destinationId" and op.operation_id == "deleteDestination":
        return ctx["spareDestinationId"]
    return ctx[LIVE_IDS[name]]


# Required parameters a 2xx example may leave out, filled from the live world.
def _defaults(op: ModelOp, ctx: dict[str, Any]) -> dict[str, Any]:
    table: dict[str, dict[str, Any]] = {
        "getListingsItem": {"marketplaceIds": [UK]},
        "patchListingsItem": {"marketplaceIds": [UK], "body": PATCH_BODY},
        "createSubscription": {"body": {"payloadVersion": "1.0", "destinationId": ctx["destinationId"]}},
        "createDestination": {"body": {"name": "sandbox", "resourceSpecification": {"sqs": {"arn": _arn()}}}},
        "getShipmentItemsByShipmentId": {"MarketplaceId": UK},
        "getSubscriptions": {"notificationTypes": [ctx["notificationType"]]},
        "createFeed": {},
    }
    return table.get(op.operation_id, {})


def _replace_marketplaces(value: Any, region: tuple[str, ...]) -> Any:
    if isinstance(value, list):
        kept = [v for v in value if v in region]
        return kept or [UK]
    return value if value in region else UK


def build_request(op: ModelOp, example: JSON, success: bool, ctx: dict[str, Any],
                  region: tuple[str, ...]) -> tuple[str, dict[str, str], JSON]:
    """(path, query, body) for replaying ``example`` of ``op``."""
    given = {k: v.get("value") for k, v in (example.get("request", {}).get("parameters") or {}).items()
             if isinstance(v, dict) and "value" in v}
    params = op.parameters
    values: dict[str, Any] = {}
    if success or given:
        values.update(_defaults(op, ctx))
    for name, value in given.items():
        if name not in params:
            continue
        if success and name in TOKEN_PARAMS:
            continue  # a sandbox paging token means nothing to a live service
        if success and params[name]["in"] == "path":
            value = _live_value(op, name, ctx)
        elif success and name in ("marketplaceIds", "MarketplaceId", "granularityId"):
            value = _replace_marketplaces(value, region)
        elif success and name == "body" and isinstance(value, dict):
            value = dict(value)
            if "marketplaceIds" in value:
                value["marketplaceIds"] = _replace_marketplaces(value["marketplaceIds"], region)
            if "inputFeedDocumentId" in value:
                value["inputFeedDocumentId"] = ctx["inputFeedDocumentId"]
            if "destinationId" in value:
                value["destinationId"] = ctx["destinationId"]
        values[name] = value
    for name, p in params.items():
        if p.get("in") == "path" and name not in values:
            # A 4xx example that names no parameter at all stands for "a bad id"; one that names some
            # keeps those bad and gets the others from the live world.
            values[name] = _live_value(op, name, ctx) if success or given else f"INVALID-{name}"
    path = op.path
    query: dict[str, str] = {}
    body: JSON = None
    for name, value in values.items():
        where = params.get(name, {}).get("in")
        if where == "path":
            path = path.replace("{" + name + "}", quote(str(value), safe=""))
        elif where == "query":
            query[name] = ",".join(map(str, value)) if isinstance(value, list) else str(value)
        elif where == "body":
            body = value
    return path, query, body


def _token(sim: SpApiSimulator, grantless: bool) -> str:
    form = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    form.update({"grant_type": "client_credentials", "scope": napi.NOTIFICATIONS_SCOPE} if grantless else
                {"grant_type": "refresh_token", "refresh_token": REFRESH_TOKEN})
    return str(httpx.post(f"{sim.url}/auth/o2/token", data=form).json()["access_token"])


def replay_examples(sim: SpApiSimulator, operations: list[str], models: dict[str, ModelOp]
                    ) -> tuple[list[Result], list[tuple[str, str, str]]]:
    results: list[Result] = []
    skipped: list[tuple[str, str, str]] = []
    ctx = _live_context(sim)
    ctx["subscriptionId"] = sim.notifications_api._subscribe(
        "REPORT_PROCESSING_FINISHED", {"payloadVersion": "1.0", "destinationId": ctx["destinationId"]}).subscription_id
    ctx["notificationType"] = "REPORT_PROCESSING_FINISHED"
    tokens = {False: _token(sim, False), True: _token(sim, True)}
    with httpx.Client(base_url=sim.url, timeout=10) as http:
        for name in operations:
            op = models[name]
            for status, which, example in _examples(op):
                if (name, which) in NOT_REPLAYABLE:
                    skipped.append((name, which, NOT_REPLAYABLE[(name, which)]))
                    continue
                success = status.startswith("2")
                if name == "createSubscription" and success:
                    # One subscription per type: the live one must go before a 2xx create can succeed.
                    for s in list(sim.notifications_api.state.subscriptions.values()):
                        if s.notification_type == ctx["notificationType"]:
                            del sim.notifications_api.state.subscriptions[s.subscription_id]
                path, query, body = build_request(op, example, success, ctx, sim.marketplace_ids)
                headers = {"x-amz-access-token": tokens[name in napi.GRANTLESS_OPERATIONS]}
                resp = http.request(op.method, path, params=query, headers=headers,
                                    json=body if body is not None else None)
                try:
                    answer = resp.json() if resp.content else None
                except ValueError:
                    answer = resp.text
                problems = [] if str(resp.status_code) == status else [
                    f"answered {resp.status_code}, the example declares {status}: {json.dumps(answer)[:200]}"]
                problems += validate(op, resp.status_code, answer) if not problems else []
                results.append(Result("example", which, name, not problems, "; ".join(problems)))
                if name == "createSubscription" and resp.status_code == 200 and isinstance(answer, dict):
                    ctx["subscriptionId"] = answer["payload"]["subscriptionId"]
    return results, skipped
