"""SP-API simulator: Notifications API v1 (destinations, subscriptions), grantless tokens, and
strict-subscription delivery. Every answer is checked against Amazon's notifications model."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulators.conformance import load_models, validate
from simulators.spapi import SpApiSimulator
from simulators.spapi import notifications_api as napi
from simulators.spapi.demo import CLIENT_ID, CLIENT_SECRET, DEMO_SEED, REFRESH_TOKEN, UK

MODELS = load_models()
N = "/notifications/v1"
ARN = "arn:aws:sqs:eu-west-1:123456789012:spapi-notifications"
SPAPI_SPEED = 0  # the shared sim fixture (conftest.py): a frozen clock


def token(sim: SpApiSimulator, scope: str | None = None) -> str:
    form = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    form.update({"grant_type": "client_credentials", "scope": scope} if scope else
                {"grant_type": "refresh_token", "refresh_token": REFRESH_TOKEN})
    res = httpx.post(f"{sim.url}/auth/o2/token", data=form)
    assert res.status_code == 200, res.text
    return str(res.json()["access_token"])


class Api:
    """Calls one operation and checks the answer against the model for the status it came with."""

    def __init__(self, sim: SpApiSimulator) -> None:
        self.sim = sim
        self.http = httpx.Client(base_url=sim.url)
        self.seller = token(sim)
        self.grantless = token(sim, napi.NOTIFICATIONS_SCOPE)

    def call(self, operation: str, method: str, path: str, *, tok: str | None = None, **kw: Any) -> httpx.Response:
        if tok is None:
            tok = self.grantless if operation in napi.GRANTLESS_OPERATIONS else self.seller
        res = self.http.request(method, path, headers={"x-amz-access-token": tok}, **kw)
        body = res.json() if res.content else None
        assert validate(MODELS[operation], res.status_code, body) == [], (res.status_code, body)
        return res

    def destination(self, arn: str = ARN, name: str = "bridge") -> str:
        res = self.call("createDestination", "POST", f"{N}/destinations",
                        json={"name": name, "resourceSpecification": {"sqs": {"arn": arn}}})
        assert res.status_code == 200, res.text
        return str(res.json()["payload"]["destinationId"])

    def subscribe(self, notification_type: str, destination_id: str, version: str = "1.0") -> httpx.Response:
        return self.call("createSubscription", "POST", f"{N}/subscriptions/{notification_type}",
                         json={"payloadVersion": version, "destinationId": destination_id})


@pytest.fixture
def api(sim):
    return Api(sim)


def error_code(res: httpx.Response) -> str:
    return str(res.json()["errors"][0]["code"])


# ----------------------------------------------------------------------------- grantless
def test_destination_operations_need_a_grantless_token(api, sim):
    rotation = token(sim, "sellingpartnerapi::client_credential:rotation")
    for tok in (api.seller, rotation):
        res = api.call("getDestinations", "GET", f"{N}/destinations", tok=tok)
        assert res.status_code == 403 and error_code(res) == "Unauthorized"
        res = api.call("createDestination", "POST", f"{N}/destinations", tok=tok,
                       json={"name": "x", "resourceSpecification": {"sqs": {"arn": ARN}}})
        assert res.status_code == 403
    assert sim.notifications_api.state.destinations == {}  # nothing was created by a refused call
    dest = api.destination()
    for op, method in (("getDestination", "GET"), ("deleteDestination", "DELETE")):
        assert api.call(op, method, f"{N}/destinations/{dest}", tok=api.seller).status_code == 403
    assert api.call("getDestination", "GET", f"{N}/destinations/{dest}").json()["payload"]["destinationId"] == dest


def test_seller_subscription_operations_refuse_a_grantless_token(api):
    dest = api.destination()
    res = api.call("createSubscription", "POST", f"{N}/subscriptions/REPORT_PROCESSING_FINISHED", tok=api.grantless,
                   json={"payloadVersion": "1.0", "destinationId": dest})
    assert res.status_code == 403
    sub = api.subscribe("REPORT_PROCESSING_FINISHED", dest).json()["payload"]
    assert api.call("getSubscription", "GET", f"{N}/subscriptions/REPORT_PROCESSING_FINISHED",
                    tok=api.grantless).status_code == 403
    # By id: the model says grantless, python-amazon-sp-api sends the seller's token; both work.
    for tok in (api.grantless, api.seller):
        got = api.call("getSubscriptionById", "GET", f"{N}/subscriptions/REPORT_PROCESSING_FINISHED/"
                       f"{sub['subscriptionId']}", tok=tok)
        assert got.json()["payload"] == sub


def test_lwa_client_credentials_scopes(sim):
    base = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "grant_type": "client_credentials"}
    res = httpx.post(f"{sim.url}/auth/o2/token", data={**base, "scope": "sellingpartnerapi::everything"})
    assert res.status_code == 400 and res.json()["error"] == "invalid_scope"
    res = httpx.post(f"{sim.url}/auth/o2/token", data={**base, "scope": napi.NOTIFICATIONS_SCOPE})
    assert res.status_code == 200 and res.json()["scope"] == napi.NOTIFICATIONS_SCOPE
    assert "refresh_token" not in res.json()


# ----------------------------------------------------------------------------- conflicts
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(notification_type=st.sampled_from(sorted(napi.SQS_TYPES - set(napi.PAYLOAD_VERSIONS))))
def test_a_second_subscription_to_a_type_is_a_conflict(server, notification_type):
    server.reset()
    server.seed(DEMO_SEED)
    api = Api(server)
    first, second = api.destination(), api.destination("arn:aws:sqs:eu-west-1:123456789012:other")
    created = api.subscribe(notification_type, first)
    assert created.status_code == 200
    for dest in (first, second):  # another destination does not make it a second subscription
        again = api.subscribe(notification_type, dest)
        assert again.status_code == 409
        assert again.json()["errors"] == [{"code": "StateConflict", "message": napi.CONFLICT_MESSAGE,
                                           "details": f"Subscription already exist for notification type "
                                                      f"{notification_type}"}]
    got = api.call("getSubscription", "GET", f"{N}/subscriptions/{notification_type}")
    assert got.json()["payload"] == created.json()["payload"]


def test_another_payload_version_is_its_own_subscription(api):
    dest = api.destination()
    old = api.subscribe("REPORT_PROCESSING_FINISHED", dest, "1.0").json()["payload"]
    new = api.subscribe("REPORT_PROCESSING_FINISHED", dest, "2020-09-04").json()["payload"]
    assert old["subscriptionId"] != new["subscriptionId"]
    assert api.subscribe("REPORT_PROCESSING_FINISHED", dest, "2020-09-04").status_code == 409
    listed = api.call("getSubscriptions", "GET", f"{N}/subscriptions",
                      params={"notificationTypes": "REPORT_PROCESSING_FINISHED"}).json()["payload"]["subscriptions"]
    assert sorted(s["subscriptionId"] for s in listed) == sorted([old["subscriptionId"], new["subscriptionId"]])
    only = api.call("getSubscription", "GET", f"{N}/subscriptions/REPORT_PROCESSING_FINISHED",
                    params={"payloadVersion": "1.0"}).json()["payload"]
    assert only == old


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.tuples(st.sampled_from(["create", "delete"]),
                                st.sampled_from(["REPORT_PROCESSING_FINISHED", "FEED_PROCESSING_FINISHED",
                                                 "FBA_INVENTORY_AVAILABILITY_CHANGES"])), max_size=12))
def test_subscriptions_follow_a_model(server, steps):
    """Random creates/deletes: at most one subscription per type; 409 and 404 exactly when the model says."""
    server.reset()
    server.seed(DEMO_SEED)
    api = Api(server)
    dest = api.destination()
    model: dict[str, str] = {}
    for action, kind in steps:
        if action == "create":
            res = api.subscribe(kind, dest)
            assert res.status_code == (409 if kind in model else 200)
            if res.status_code == 200:
                model[kind] = res.json()["payload"]["subscriptionId"]
        else:
            sub_id = model.pop(kind, None)
            res = api.call("deleteSubscriptionById", "DELETE",
                           f"{N}/subscriptions/{kind}/{sub_id or '00000000-0000-0000-0000-000000000000'}")
            assert res.status_code == (200 if sub_id else 404)
    for kind in ("REPORT_PROCESSING_FINISHED", "FEED_PROCESSING_FINISHED", "FBA_INVENTORY_AVAILABILITY_CHANGES"):
        res = api.call("getSubscription", "GET", f"{N}/subscriptions/{kind}")
        if kind in model:
            assert res.json()["payload"]["subscriptionId"] == model[kind]
        else:
            assert res.status_code == 404 and error_code(res) == "NotFound"


# ----------------------------------------------------------------------------- destinations
def test_destinations_lifecycle_and_conflicts(api, sim):
    dest = api.destination()
    dup = api.call("createDestination", "POST", f"{N}/destinations",
                   json={"name": "again", "resourceSpecification": {"sqs": {"arn": ARN}}})
    assert dup.status_code == 409 and error_code(dup) == "Conflict" and ARN in dup.json()["errors"][0]["details"]
    eb = api.call("createDestination", "POST", f"{N}/destinations", json={
        "name": "eb", "resourceSpecification": {"eventBridge": {"accountId": "123456789012", "region": "eu-west-1"}}})
    assert eb.status_code == 200
    assert eb.json()["payload"]["resource"]["eventBridge"] == {
        "name": f"aws.partner/sellingpartnerapi.amazon.com/123456789012/{sim.application_id}",
        "region": "eu-west-1", "accountId": "123456789012"}
    eb_again = api.call("createDestination", "POST", f"{N}/destinations", json={
        "name": "eb2", "resourceSpecification": {"eventBridge": {"accountId": "123456789012", "region": "eu-west-1"}}})
    assert eb_again.status_code == 409
    listed = api.call("getDestinations", "GET", f"{N}/destinations").json()["payload"]
    assert sorted(d["name"] for d in listed) == ["bridge", "eb"]
    sub = api.subscribe("FEED_PROCESSING_FINISHED", dest).json()["payload"]
    refused = api.call("deleteDestination", "DELETE", f"{N}/destinations/{dest}")
    assert refused.status_code == 403 and refused.json()["errors"][0]["details"] == "Destination has subscriptions"
    api.call("deleteSubscriptionById", "DELETE", f"{N}/subscriptions/FEED_PROCESSING_FINISHED/{sub['subscriptionId']}")
    assert api.call("deleteDestination", "DELETE", f"{N}/destinations/{dest}").status_code == 200
    gone = api.call("getDestination", "GET", f"{N}/destinations/{dest}")
    assert gone.status_code == 404 and error_code(gone) == "NotFound"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=256),
       queue=st.from_regex(r"[A-Za-z0-9_-]{1,80}", fullmatch=True))
def test_any_destination_name_round_trips(server, name, queue):
    server.reset()
    server.seed(DEMO_SEED)
    api = Api(server)
    arn = f"arn:aws:sqs:eu-west-1:123456789012:{queue}"
    dest = api.destination(arn, name)
    got = api.call("getDestination", "GET", f"{N}/destinations/{dest}").json()["payload"]
    assert got == {"destinationId": dest, "name": name, "resource": {"sqs": {"arn": arn}}}
    too_long = api.call("createDestination", "POST", f"{N}/destinations",
                        json={"name": name + "x" * 257, "resourceSpecification": {"sqs": {"arn": arn + "2"}}})
    assert too_long.status_code == 400 and "name" in too_long.json()["errors"][0]["message"]


@pytest.mark.parametrize(("body", "field"), [
    ({"resourceSpecification": {"sqs": {"arn": ARN}}}, "name"),
    ({"name": "x"}, "resourceSpecification"),
    ({"name": "x", "resourceSpecification": {"sqs": {"arn": "arn:aws:sns:eu-west-1:123456789012:t"}}}, "arn"),
    ({"name": "x", "resourceSpecification": {"sqs": {"arn": ARN}, "eventBridge": {}}}, "exactly one"),
    ({"name": "x", "resourceSpecification": {"kinesis": {}}}, "kinesis"),
    ({"name": "x", "resourceSpecification": {"eventBridge": {"accountId": "me", "region": "eu-west-1"}}}, "accountId"),
])
def test_create_destination_names_the_bad_field(api, body, field):
    res = api.call("createDestination", "POST", f"{N}/destinations", json=body)
    assert res.status_code == 400 and error_code(res) == "InvalidInput"
    assert field in res.json()["errors"][0]["message"]


def test_create_subscription_validation(api):
    sqs = api.destination()
    eb = api.call("createDestination", "POST", f"{N}/destinations", json={
        "name": "eb", "resourceSpecification": {"eventBridge": {"accountId": "123456789012", "region": "eu-west-1"}}}
    ).json()["payload"]["destinationId"]
    cases = [("NOT_A_TYPE", sqs, "1.0", "notificationType"),
             ("FEED_PROCESSING_FINISHED", "nope", "1.0", "destinationId"),
             ("LISTINGS_ITEM_MFN_QUANTITY_CHANGE", sqs, "1.0", "EventBridge"),
             ("REPORT_PROCESSING_FINISHED", eb, "1.0", "SQS"),
             ("LISTINGS_ITEM_ISSUES_CHANGE", eb, "1.0", "2023-12-13"),
             ("FEED_PROCESSING_FINISHED", sqs, "", "payloadVersion")]
    for kind, dest, version, field in cases:
        res = api.subscribe(kind, dest, version)
        assert res.status_code == 400, (kind, res.text)
        assert field in res.json()["errors"][0]["message"]
    assert api.subscribe("LISTINGS_ITEM_MFN_QUANTITY_CHANGE", eb).status_code == 200


def test_notifications_api_rate_limit():
    with SpApiSimulator(rate_scale=1.0) as s:
        s.clock.set_speed(0)
        api = Api(s)
        codes = [api.call("getDestinations", "GET", f"{N}/destinations").status_code for _ in range(6)]
        assert codes == [200] * 5 + [429]
        s.clock.advance(1)
        assert api.call("getDestinations", "GET", f"{N}/destinations").status_code == 200


# ----------------------------------------------------------------------------- delivery
def _finish_report(sim: SpApiSimulator) -> None:
    sim.world.report_jobs.create_report("GET_LEDGER_DETAIL_VIEW_DATA", [UK])
    sim.clock.advance(120)  # well within the access tokens' hour
    sim.tick()


def test_strict_subscriptions_deliver_only_subscribed_types(api, sim):
    sim.configure(strict_subscriptions=True)
    _finish_report(sim)
    sim.world.inventory.customer_shipment("FBA-TEA", 1)
    assert sim.notifications == []  # nobody subscribed: Amazon sends nothing
    dest = api.destination()
    sub = api.subscribe("REPORT_PROCESSING_FINISHED", dest).json()["payload"]
    _finish_report(sim)
    sim.world.inventory.customer_shipment("FBA-TEA", 1)
    assert [n["notificationType"] for n in sim.notifications] == ["REPORT_PROCESSING_FINISHED"]
    assert sim.notifications[0]["notificationMetadata"]["subscriptionId"] == sub["subscriptionId"]
    inv = api.subscribe("FBA_INVENTORY_AVAILABILITY_CHANGES", dest).json()["payload"]
    sim.world.inventory.customer_shipment("FBA-TEA", 1)
    assert sim.notifications[-1]["NotificationMetadata"]["SubscriptionId"] == inv["subscriptionId"]
    api.call("deleteSubscriptionById", "DELETE",
             f"{N}/subscriptions/REPORT_PROCESSING_FINISHED/{sub['subscriptionId']}")
    before = len(sim.notifications)
    _finish_report(sim)
    assert len(sim.notifications) == before


def test_default_mode_delivers_without_subscriptions(sim):
    assert not sim.strict_subscriptions
    _finish_report(sim)
    assert [n["notificationType"] for n in sim.notifications] == ["REPORT_PROCESSING_FINISHED"]


def test_seeded_subscriptions(server):
    server.reset()
    server.seed({**DEMO_SEED, "notifications": {"subscriptions": [{"notificationType": "REPORT_PROCESSING_FINISHED"}]}})
    server.configure(strict_subscriptions=True)
    server.clock.set_speed(0)
    _finish_report(server)
    assert [n["notificationType"] for n in server.notifications] == ["REPORT_PROCESSING_FINISHED"]
    api = Api(server)
    (dest,) = api.call("getDestinations", "GET", f"{N}/destinations").json()["payload"]
    assert dest["resource"]["sqs"]["arn"].startswith("arn:aws:sqs:")
    server.reset()
    assert server.strict_subscriptions is False and server.notifications_api.state.subscriptions == {}
