"""Brightpearl's integration-service webhooks: registration, listing, deletion and the simulate
route (delivery is in ``webhooks.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simulators.brightpearl.base import Section
from simulators.brightpearl.errors import BPError
from simulators.brightpearl.http import IDS, P, _body
from simulators.brightpearl.records import SUBSCRIBABLE_EVENTS, Webhook, _int, _require, format_id_set, ids_from
from simulators.brightpearl.webhooks import Delivery, event_variables, render
from simulators.core import Request, Response

if TYPE_CHECKING:
    from simulators.brightpearl.server import BrightpearlSimulator
    from simulators.brightpearl.world import World


class Webhooks(Section):
    """Registered webhooks."""

    def __init__(self, w: World) -> None:
        super().__init__(w)
        self.webhooks: dict[int, Webhook] = {}

    def register_webhook(self, body: dict[str, Any]) -> int:
        event = _require(body, "subscribeTo", "INTC-001")
        if event not in SUBSCRIBABLE_EVENTS:
            raise BPError(400, "INTC-064", f"{event} either does not exist or cannot be subscribed too")
        method = str(body.get("httpMethod", "POST")).upper()
        if method not in ("GET", "POST", "PUT", "DELETE"):
            raise BPError(400, "INTC-002", f"httpMethod {method} is not supported")
        _require(body, "uriTemplate", "INTC-001")
        if method in ("POST", "PUT"):
            _require(body, "bodyTemplate", "INTC-001")
            _require(body, "contentType", "INTC-001")
        qos = _int(body.get("qualityOfService", 0), "qualityOfService", "INTC-003")
        if qos not in (0, 1):
            raise BPError(400, "INTC-003", "qualityOfService must be 0 or 1")
        hid = int(body["id"]) if body.get("id") else self.shared.new_id("webhook")
        self.shared.bump("webhook", hid)
        self.webhooks[hid] = Webhook(hid, str(event), method, str(body["uriTemplate"]), body.get("bodyTemplate"),
                                     body.get("contentType"), bool(body.get("idSetAccepted", False)), qos)
        return hid

    def list_webhooks(self, ids: list[int] | None) -> list[dict[str, Any]]:
        if ids is None:
            return [w.to_json() for _, w in sorted(self.webhooks.items())]
        found = [self.webhooks[i].to_json() for i in ids if i in self.webhooks]
        if not found:
            raise BPError(404, "CMNC-404", f"No webhooks available in ID Set {format_id_set(ids)}")
        return found

    def delete_webhook(self, hid: int) -> None:
        if self.webhooks.pop(hid, None) is None:
            raise BPError(404, "CMNC-404", f"Cannot find webhook: {hid}")


def register(sim: BrightpearlSimulator) -> None:
    sim._post(r"/integration-service/webhook", lambda r: sim.world.hooks.register_webhook(_body(r)),
              "post-webhook")
    sim._get(r"/integration-service/webhook(?:/" + IDS + ")?",
             lambda r: sim.world.hooks.list_webhooks(ids_from(r.params["ids"]) if "ids" in r.params else None),
             "get-webhook")
    sim.route("DELETE", P + r"/integration-service/webhook/(?P<hid>\d+)", sim._api(lambda r: _delete_webhook(sim, r)),
              name="delete-webhook")
    sim._post(r"/integration-service/webhook/(?P<hid>\d+)/simulate", lambda r: _simulate_webhook(sim, r),
              "simulate-webhook", write=False)


def _delete_webhook(sim: BrightpearlSimulator, req: Request) -> Response:
    sim.world.hooks.delete_webhook(int(req.params["hid"]))
    return Response(200, {})


def _simulate_webhook(sim: BrightpearlSimulator, req: Request) -> Response:
    hook = sim.world.hooks.webhooks.get(int(req.params["hid"]))
    if hook is None:
        raise BPError(404, "CMNC-404", f"Cannot find webhook: {req.params['hid']}")
    data = (_body(req).get("testData") or {})
    ids_text = str(data.get("${resource-id}", "1"))
    if len(ids_from(ids_text)) > 10:
        raise BPError(400, "INTC-010", "testData may hold at most 10 ids")
    variables = event_variables(sim.account, hook.subscribe_to, ids_text,
                                sim.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"), sim.brightpearl_version)
    variables.update({str(k): str(v) for k, v in data.items()})
    body = render(hook.body_template, variables) if hook.body_template and hook.http_method in ("POST", "PUT") \
        else None
    sim.webhooks.submit([Delivery(hook.id, variables["${full-event}"], hook.http_method,
                                   render(hook.uri_template, variables), body, hook.content_type,
                                   hook.quality_of_service)])
    return Response(200, {})
