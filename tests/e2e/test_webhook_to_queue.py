"""Brightpearl webhook over real HTTP → local API Gateway → handler → the stock-change queue in moto."""

import json

import pytest
import requests

from local.apigw import LocalHttpApi
from local.aws import put_secret
from local.queues import drain

pytestmark = pytest.mark.e2e

TOKEN = "x" * 40


@pytest.fixture(scope="module")
def api(local_aws):
    put_secret(local_aws, "WebhookSecret", {"webhook_token": TOKEN})
    server = LocalHttpApi().start()
    yield server
    server.stop()


@pytest.fixture
def queue_url(local_aws, sqs):
    url = local_aws.queue_url("StockChangeQueue")
    drain(sqs, url)
    return url


def payload(ids="1007,1532-1534", account="acme"):
    return {"accountCode": account, "resourceType": "product", "id": ids, "lifecycleEvent": "modified",
            "fullEvent": "product.modified.on-hand-modified", "raisedOn": "2024-05-01T10:15:00Z",
            "brightpearlVersion": "4.23.1"}


def test_webhook_lands_on_the_stock_change_queue(api, sqs, queue_url):
    resp = requests.post(f"{api.url}/brightpearl/webhook/{TOKEN}", json=payload(), timeout=10)
    assert resp.status_code == 200, resp.text
    assert resp.json()["accepted"] == 4

    messages = drain(sqs, queue_url)
    assert len(messages) == 1
    body = json.loads(messages[0]["Body"])
    assert body["idSet"] == "1007,1532-1534"
    assert body["count"] == 4
    assert body["fullEvent"] == "product.modified.on-hand-modified"
    assert messages[0]["MessageAttributes"]["fullEvent"]["StringValue"] == "product.modified.on-hand-modified"


@pytest.mark.parametrize("path_token", ["wrong-token", "x" * 39])
def test_wrong_token_is_403_and_nothing_is_queued(api, sqs, queue_url, path_token):
    resp = requests.post(f"{api.url}/brightpearl/webhook/{path_token}", json=payload(), timeout=10)
    assert resp.status_code == 403
    assert "token" in resp.json()["message"]
    assert drain(sqs, queue_url) == []


def test_unknown_account_is_403(api, sqs, queue_url):
    resp = requests.post(f"{api.url}/brightpearl/webhook/{TOKEN}", json=payload(account="other"), timeout=10)
    assert resp.status_code == 403
    assert "other" in resp.json()["message"]
    assert drain(sqs, queue_url) == []


@pytest.mark.parametrize(("raw", "fragment"), [
    ("{not json", "not JSON"),
    (json.dumps({"accountCode": "acme", "resourceType": "product"}), "missing field(s): id"),
    (json.dumps(payload(ids="9-3")), "field id"),
])
def test_malformed_body_is_400_naming_the_problem(api, sqs, queue_url, raw, fragment):
    resp = requests.post(f"{api.url}/brightpearl/webhook/{TOKEN}", data=raw,
                         headers={"Content-Type": "application/json"}, timeout=10)
    assert resp.status_code == 400
    assert fragment in resp.json()["message"]
    assert drain(sqs, queue_url) == []


def test_huge_id_set_is_split_into_bounded_messages_and_nothing_is_dropped(api, sqs, queue_url):
    """``1-100000`` used to be one message the consumer could not finish in its timeout."""
    from connector.domain.idsets import parse_id_set

    resp = requests.post(f"{api.url}/brightpearl/webhook/{TOKEN}", json=payload(ids="1-99999,250007"),
                         timeout=30)
    assert resp.status_code == 200, resp.text
    assert resp.json()["accepted"] == 100_000
    bodies = [json.loads(m["Body"]) for m in drain(sqs, queue_url, max_messages=1000)]
    ids = [i for b in bodies for i in parse_id_set(b["idSet"])]
    assert sorted(ids) == [*range(1, 100_000), 250007]
    assert max(b["count"] for b in bodies) <= 250
    assert len(bodies) == resp.json()["messages"] == 400


def test_deeply_nested_body_is_400(api, sqs, queue_url):
    resp = requests.post(f"{api.url}/brightpearl/webhook/{TOKEN}", data="[" * 50_000 + "]" * 50_000,
                         headers={"Content-Type": "application/json"}, timeout=10)
    assert resp.status_code == 400
    assert "nested too deeply" in resp.json()["message"]
    assert drain(sqs, queue_url) == []


def test_token_never_reaches_the_logs_even_with_event_logging_on(api, sqs, queue_url, monkeypatch, caplog, capfd):
    from local.runtime import forget_loaded, invoke

    with open("events/brightpearl_webhook.json", encoding="utf-8") as fh:
        event = json.load(fh)
    monkeypatch.setenv("POWERTOOLS_LOGGER_LOG_EVENT", "true")
    forget_loaded()  # a cold start with event logging switched on
    try:
        for token, body in ((TOKEN, payload()), (TOKEN, {"broken": True}), (TOKEN[:-1] + "Z", payload())):
            event["pathParameters"]["token"] = token
            event["rawPath"] = f"/local/brightpearl/webhook/{token}"
            event["body"] = json.dumps(body)
            invoke("BrightpearlWebhookFunction", event)
    finally:
        monkeypatch.delenv("POWERTOOLS_LOGGER_LOG_EVENT")
        forget_loaded()
    logged = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records) + str(capfd.readouterr())
    assert "webhook rejected" in logged  # the handler did log: what it logged is checked next
    assert TOKEN[:-1] not in logged
    drain(sqs, queue_url)


def test_missing_webhook_token_is_503_naming_the_secret(local_aws, api, sqs, queue_url, caplog):
    put_secret(local_aws, "WebhookSecret", {})
    try:
        resp = requests.post(f"{api.url}/brightpearl/webhook/{TOKEN}", json=payload(), timeout=10)
        assert resp.status_code == 503  # Brightpearl retries; nothing is lost while it is fixed
        # the log says which secret to fill
        assert any("WebhookSecret" in str(getattr(r, "secret", "")) for r in caplog.records)
        assert drain(sqs, queue_url) == []
    finally:
        put_secret(local_aws, "WebhookSecret", {"webhook_token": TOKEN})


def test_sample_event_from_events_folder_is_accepted(api, sqs, queue_url):
    """events/brightpearl_webhook.json is what `sam local invoke` would send; it must work as shipped."""
    from local.runtime import invoke

    with open("events/brightpearl_webhook.json", encoding="utf-8") as fh:
        event = json.load(fh)
    event["pathParameters"]["token"] = TOKEN
    result = invoke("BrightpearlWebhookFunction", event)
    assert result["statusCode"] == 200, result
    assert len(drain(sqs, queue_url)) == 1
