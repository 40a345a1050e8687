"""Notifications API v1 of the SP-API simulator: destinations (grantless) and subscriptions.

Shapes follow Amazon's ``notifications.json`` model (copy in tests/contracts/sp-api/). Behaviour the
model does not spell out comes from Amazon's issue threads, listed in docs/simulators-spapi.md:

* destination operations are grantless: they take an LWA token of grant ``client_credentials``
  with scope ``sellingpartnerapi::notifications``; a seller (refresh-token) token is refused 403
  ``Unauthorized`` (jrl84/amazon-sp-api#20), and so is a grantless token on
  createSubscription/getSubscription(s), which act for one seller (selling-partner-api-models#4491);
  getSubscriptionById and deleteSubscriptionById take either token (see EITHER_TOKEN_OPERATIONS);
* one subscription per notification type and payload version per application and seller: a second
  createSubscription answers 409 ``StateConflict`` (amzn/selling-partner-api-docs#3448, models#1960);
* one destination per SQS ARN (and per AWS account for EventBridge): 409 ``Conflict``
  (selling-partner-api-docs#1800, #1850); a destination with subscriptions cannot be deleted.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from simulators.core import Request, Response
from simulators.spapi.common import ApiError, invalid

if TYPE_CHECKING:
    from simulators.spapi.server import SpApiSimulator

JSON = Any

NOTIFICATIONS_SCOPE = "sellingpartnerapi::notifications"
# LWA client_credentials scopes Amazon issues (the Grantless Operations guide); others → invalid_scope.
GRANTLESS_SCOPES = (NOTIFICATIONS_SCOPE, "sellingpartnerapi::client_credential:rotation")
GRANTLESS_OPERATIONS = frozenset({"getDestinations", "createDestination", "getDestination", "deleteDestination",
                                  "getSubscriptionById", "deleteSubscriptionById"})
# The model calls these two grantless too, but Amazon also takes the seller's token for them
# (saleweaver/python-amazon-sp-api#373: the library sends a seller token and it works;
# selling-partner-api-docs#1850, #493), so either token is accepted.
EITHER_TOKEN_OPERATIONS = frozenset({"getSubscriptionById", "deleteSubscriptionById"})
# Every Notifications API operation: rate 1 per second, burst 5 (the model's Usage Plan tables).
LIMITS: dict[str, tuple[float, int]] = {op: (1.0, 5) for op in (
    *GRANTLESS_OPERATIONS, "createSubscription", "getSubscription", "getSubscriptions")}

# Notification types by transport (Amazon's "Notification Type Values" table; a type has one transport).
SQS_TYPES = frozenset({
    "REPORT_PROCESSING_FINISHED", "FEED_PROCESSING_FINISHED", "FBA_INVENTORY_AVAILABILITY_CHANGES",
    "ANY_OFFER_CHANGED", "B2B_ANY_OFFER_CHANGED", "FBA_OUTBOUND_SHIPMENT_STATUS", "FEE_PROMOTION",
    "FULFILLMENT_ORDER_STATUS", "MFN_ORDER_STATUS_CHANGE", "ORDER_CHANGE", "PRICING_HEALTH",
    "ACCOUNT_STATUS_CHANGED", "EXTERNAL_FULFILLMENT_SHIPMENT_STATUS_CHANGE", "TRANSACTION_UPDATE",
    "DATA_KIOSK_QUERY_PROCESSING_FINISHED", "ORDER_STATUS_CHANGE", "PRODUCT_TYPE_DEFINITIONS_CHANGE",
})
EVENTBRIDGE_TYPES = frozenset({
    "LISTINGS_ITEM_STATUS_CHANGE", "LISTINGS_ITEM_ISSUES_CHANGE", "LISTINGS_ITEM_MFN_QUANTITY_CHANGE",
    "BRANDED_ITEM_CONTENT_CHANGE", "ITEM_PRODUCT_TYPE_CHANGE", "DETAIL_PAGE_TRAFFIC_EVENT",
    "ITEM_INVENTORY_EVENT_CHANGE", "ITEM_SALES_EVENT_CHANGE",
})
# Payload versions a subscription may name; anything not listed here subscribes with "1.0".
PAYLOAD_VERSIONS: dict[str, tuple[str, ...]] = {
    "LISTINGS_ITEM_ISSUES_CHANGE": ("2023-12-13",),  # 1.0 is retired
    "REPORT_PROCESSING_FINISHED": ("1.0", "2020-09-04"),
    "FEED_PROCESSING_FINISHED": ("1.0", "2020-09-04"),
    "ORDER_CHANGE": ("1.0",),
}
SQS_ARN = re.compile(r"^arn:aws:sqs:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,80}$")
CONFLICT_MESSAGE = "The resource specified conflicts with the current state."


@dataclass
class Destination:
    destination_id: str
    name: str
    resource: JSON  # {"sqs": {"arn"}} or {"eventBridge": {"name", "region", "accountId"}}

    def to_api(self) -> JSON:
        return {"destinationId": self.destination_id, "name": self.name, "resource": self.resource}


@dataclass
class Subscription:
    subscription_id: str
    notification_type: str
    payload_version: str
    destination_id: str
    processing_directive: JSON = None

    def to_api(self) -> JSON:
        out: JSON = {"subscriptionId": self.subscription_id, "payloadVersion": self.payload_version,
                     "destinationId": self.destination_id}
        if self.processing_directive:
            out["processingDirective"] = self.processing_directive
        return out


@dataclass
class NotificationsState:
    destinations: dict[str, Destination] = field(default_factory=dict)
    subscriptions: dict[str, Subscription] = field(default_factory=dict)

    def subscription_for(self, notification_type: str) -> Subscription | None:
        """The subscription notifications of this type are delivered under, if any."""
        return next((s for s in self.subscriptions.values() if s.notification_type == notification_type), None)


class _Error(ApiError):
    """An API error whose ``details`` carries what Amazon puts there (the conflicting resource...)."""

    def __init__(self, status: int, code: str, message: str, details: str = "") -> None:
        super().__init__(status, code, message)
        self.details = details

    def body(self) -> JSON:
        return {"errors": [{"code": self.code, "message": self.message, "details": self.details}]}


def _error(status: int, code: str, message: str, details: str = "") -> ApiError:
    return _Error(status, code, message, details)


def _not_found(what: str) -> ApiError:
    return _error(404, "NotFound", "The resource specified does not exist.", what)


class NotificationsApi:
    """The Notifications API routes of one :class:`SpApiSimulator` (one application, one seller)."""

    def __init__(self, sim: SpApiSimulator) -> None:
        self.sim = sim
        self.state = NotificationsState()

    def reset(self) -> None:
        self.state = NotificationsState()

    def seed(self, data: JSON) -> None:
        """``{"destinations": [{"name", "resource"}], "subscriptions": [{"notificationType", ...}]}``.

        A seeded subscription without ``destinationId`` goes to the first destination (one SQS
        destination ``arn:aws:sqs:eu-west-1:000000000000:sim-notifications`` is made if none is given).
        """
        self.reset()
        for d in data.get("destinations") or []:
            self._add_destination(d.get("name") or "sim", self._resource(d.get("resource") or {}, created=True))
        for s in data.get("subscriptions") or []:
            if not self.state.destinations:
                self._add_destination("sim", {"sqs": {"arn": "arn:aws:sqs:eu-west-1:000000000000:sim-notifications"}})
            destination = s.get("destinationId") or next(iter(self.state.destinations))
            self._subscribe(s["notificationType"], {"payloadVersion": s.get("payloadVersion", "1.0"),
                                                    "destinationId": destination})

    def register(self) -> None:
        n = "/notifications/v1"
        op = self.sim._op
        op("GET", n + r"/destinations", "getDestinations", self._get_destinations)
        op("POST", n + r"/destinations", "createDestination", self._create_destination)
        op("GET", n + r"/destinations/(?P<id>[^/]+)", "getDestination", self._get_destination)
        op("DELETE", n + r"/destinations/(?P<id>[^/]+)", "deleteDestination", self._delete_destination)
        op("GET", n + r"/subscriptions", "getSubscriptions", self._get_subscriptions)
        op("POST", n + r"/subscriptions/(?P<type>[^/]+)", "createSubscription", self._create_subscription)
        op("GET", n + r"/subscriptions/(?P<type>[^/]+)", "getSubscription", self._get_subscription)
        op("GET", n + r"/subscriptions/(?P<type>[^/]+)/(?P<id>[^/]+)", "getSubscriptionById",
           self._get_subscription_by_id)
        op("DELETE", n + r"/subscriptions/(?P<type>[^/]+)/(?P<id>[^/]+)", "deleteSubscriptionById",
           self._delete_subscription_by_id)

    # ------------------------------------------------------------------ destinations
    def _resource(self, spec: JSON, *, created: bool = False) -> JSON:
        """The stored resource of a createDestination ``resourceSpecification``."""
        if not isinstance(spec, dict):
            raise invalid("resourceSpecification must be an object.")
        if created and ("sqs" in spec or "eventBridge" in spec) and len(spec) == 1:
            kind = next(iter(spec))
            if kind == "eventBridge" and "name" in spec[kind]:
                return spec  # an already-built EventBridge resource (seed data)
        unknown = sorted(set(spec) - {"sqs", "eventBridge"})
        if unknown:
            raise invalid(f"resourceSpecification has unknown field(s): {', '.join(unknown)}.")
        if len(spec) != 1:
            raise invalid("resourceSpecification must name exactly one of sqs or eventBridge.")
        if "sqs" in spec:
            sqs = spec["sqs"]
            if not isinstance(sqs, dict) or set(sqs) != {"arn"} or not isinstance(sqs["arn"], str):
                raise invalid("resourceSpecification.sqs must be {\"arn\": \"arn:aws:sqs:...\"}.")
            if not SQS_ARN.match(sqs["arn"]) or len(sqs["arn"]) > 1000:
                raise invalid(f"resourceSpecification.sqs.arn {sqs['arn']!r} is not an SQS queue ARN.")
            return {"sqs": {"arn": sqs["arn"]}}
        eb = spec["eventBridge"]
        if not isinstance(eb, dict) or set(eb) != {"accountId", "region"} \
                or not all(isinstance(v, str) and v for v in eb.values()):
            raise invalid("resourceSpecification.eventBridge must be {\"accountId\": ..., \"region\": ...}.")
        if not re.fullmatch(r"\d{12}", eb["accountId"]):
            raise invalid(f"resourceSpecification.eventBridge.accountId {eb['accountId']!r} is not an AWS account id.")
        name = f"aws.partner/sellingpartnerapi.amazon.com/{eb['accountId']}/{self.sim.application_id}"
        return {"eventBridge": {"name": name, "region": eb["region"], "accountId": eb["accountId"]}}

    def _add_destination(self, name: str, resource: JSON) -> Destination:
        for d in self.state.destinations.values():
            if "sqs" in resource and d.resource.get("sqs") == resource["sqs"]:
                raise _error(409, "Conflict", "The requested resource conflict with a resource in the server.",
                             f"A destination with arn {resource['sqs']['arn']} already exists for the "
                             f"application {self.sim.application_id}")
            if "eventBridge" in resource and "eventBridge" in d.resource \
                    and d.resource["eventBridge"]["accountId"] == resource["eventBridge"]["accountId"]:
                raise _error(409, "Conflict", "The requested resource conflict with a resource in the server.",
                             f"An EventBridge destination already exists for AWS account "
                             f"{resource['eventBridge']['accountId']}")
        dest = Destination(str(uuid.uuid4()), name, resource)
        self.state.destinations[dest.destination_id] = dest
        return dest

    def _create_destination(self, req: Request) -> Response:
        # Other top-level fields are ignored, as Amazon does: python-amazon-sp-api sends marketplaceIds.
        body = self.sim._body(req)
        name = body.get("name")
        if not isinstance(name, str) or not name or len(name) > 256:
            raise invalid("name is required (a string of 1 to 256 characters).")
        if "resourceSpecification" not in body:
            raise invalid("resourceSpecification is required.")
        dest = self._add_destination(name, self._resource(body["resourceSpecification"]))
        return Response(200, {"payload": dest.to_api()})

    def _get_destinations(self, req: Request) -> Response:
        return Response(200, {"payload": [d.to_api() for d in self.state.destinations.values()]})

    def _destination(self, destination_id: str) -> Destination:
        dest = self.state.destinations.get(destination_id)
        if dest is None:
            raise _not_found(f"Destination {destination_id} not found.")
        return dest

    def _get_destination(self, req: Request) -> Response:
        return Response(200, {"payload": self._destination(req.params["id"]).to_api()})

    def _delete_destination(self, req: Request) -> Response:
        dest = self._destination(req.params["id"])
        if any(s.destination_id == dest.destination_id for s in self.state.subscriptions.values()):
            # selling-partner-api-docs#1800: refused while subscriptions point at it.
            raise _error(403, "Unauthorized", "The requested action is forbidden.", "Destination has subscriptions")
        del self.state.destinations[dest.destination_id]
        return Response(200, {})

    # ------------------------------------------------------------------ subscriptions
    @staticmethod
    def _check_type(notification_type: str) -> str:
        if notification_type not in SQS_TYPES | EVENTBRIDGE_TYPES:
            raise invalid(f"Invalid notificationType {notification_type}.")
        return notification_type

    def _subscribe(self, notification_type: str, body: JSON) -> Subscription:
        self._check_type(notification_type)
        version, destination_id = body.get("payloadVersion"), body.get("destinationId")
        if not isinstance(version, str) or not version:
            raise invalid("payloadVersion is required.")
        if not isinstance(destination_id, str) or not destination_id:
            raise invalid("destinationId is required.")
        allowed = PAYLOAD_VERSIONS.get(notification_type, ("1.0",))
        if version not in allowed:
            raise invalid(f"payloadVersion {version} is not supported for {notification_type} "
                          f"(supported: {', '.join(allowed)}).")
        directive = body.get("processingDirective")
        if directive is not None and not isinstance(directive, dict):
            raise invalid("processingDirective must be an object.")
        dest = self.state.destinations.get(destination_id)
        if dest is None:
            raise invalid(f"Invalid destinationId {destination_id}.")
        wanted = "eventBridge" if notification_type in EVENTBRIDGE_TYPES else "sqs"
        if wanted not in dest.resource:
            transport = "an EventBridge" if wanted == "eventBridge" else "an SQS"
            raise invalid(f"{notification_type} is delivered only to {transport} destination; "
                          f"destination {destination_id} is not one.")
        for s in self.state.subscriptions.values():
            if s.notification_type == notification_type and s.payload_version == version:
                raise _error(409, "StateConflict", CONFLICT_MESSAGE,
                             f"Subscription already exist for notification type {notification_type}")
        sub = Subscription(str(uuid.uuid4()), notification_type, version,
                           destination_id, directive)
        self.state.subscriptions[sub.subscription_id] = sub
        return sub

    def _create_subscription(self, req: Request) -> Response:
        sub = self._subscribe(req.params["type"], self.sim._body(req))
        return Response(200, {"payload": sub.to_api()})

    def _get_subscription(self, req: Request) -> Response:
        notification_type = self._check_type(req.params["type"])
        version = req.q("payloadVersion")
        matches = [s for s in self.state.subscriptions.values() if s.notification_type == notification_type
                   and (version is None or s.payload_version == version)]
        if not matches:
            raise _not_found(f"No subscription for notification type {notification_type}.")
        # Without payloadVersion: the latest payload version's subscription.
        latest = max(matches, key=lambda s: PAYLOAD_VERSIONS.get(notification_type, ("1.0",)).index(s.payload_version)
                     if s.payload_version in PAYLOAD_VERSIONS.get(notification_type, ("1.0",)) else -1)
        return Response(200, {"payload": latest.to_api()})

    def _get_subscriptions(self, req: Request) -> Response:
        types = [t for v in req.query.get("notificationTypes", []) for t in v.split(",") if t]
        token = req.q("nextToken")
        if token:
            rows, offset, size = self.sim._take_page_token(token)
        else:
            if len(types) != 1:
                raise invalid("notificationTypes is required and is limited to one notification type.")
            self._check_type(types[0])
            size = _page_size(req)
            version = req.q("payloadVersion")
            rows = [s.to_api() for s in self.state.subscriptions.values() if s.notification_type == types[0]
                    and (version is None or s.payload_version == version)]
            offset = 0
        payload: JSON = {"subscriptions": rows[offset:offset + size]}
        if offset + size < len(rows):
            payload["nextToken"] = self.sim._page_token((rows, offset + size, size))
        return Response(200, {"payload": payload})

    def _subscription(self, req: Request) -> Subscription:
        notification_type = self._check_type(req.params["type"])
        sub = self.state.subscriptions.get(req.params["id"])
        if sub is None or sub.notification_type != notification_type:
            raise _not_found(f"Subscription {req.params['id']} not found for notification type {notification_type}.")
        return sub

    def _get_subscription_by_id(self, req: Request) -> Response:
        return Response(200, {"payload": self._subscription(req).to_api()})

    def _delete_subscription_by_id(self, req: Request) -> Response:
        sub = self._subscription(req)
        del self.state.subscriptions[sub.subscription_id]
        return Response(200, {})


def _page_size(req: Request) -> int:
    raw = req.q("pageSize")
    if raw in (None, ""):
        return 30
    try:
        size = int(str(raw))
    except ValueError:
        raise invalid("pageSize must be an integer") from None
    if not 30 <= size <= 100:
        raise invalid("pageSize must be between 30 and 100")
    return size
