import json

import pytest

from connector.domain.webhooks import WebhookBodyError, parse_webhook_body, token_matches
from connector.usecases.accept_webhook import accept_webhook


def body(**over):
    data = {"accountCode": "acme", "resourceType": "product", "id": "1007,1532-1534",
            "lifecycleEvent": "modified", "fullEvent": "product.modified.on-hand-modified",
            "raisedOn": "2024-05-01T10:15:00Z", "brightpearlVersion": "4.23.1"}
    data.update(over)
    return json.dumps(data)


def test_contract_example_parses_into_product_ids():
    change = parse_webhook_body(body())
    assert change.product_ids == (1007, 1532, 1533, 1534)
    assert change.full_event == "product.modified.on-hand-modified"
    assert change.to_message()["idSet"] == "1007,1532-1534"
    assert change.to_message()["count"] == 4


def test_resource_type_casing_is_tolerated():
    assert parse_webhook_body(body(resourceType="Product")).resource_type == "product"


@pytest.mark.parametrize(("raw", "fragment"), [
    ("", "empty"),
    ("not json", "not JSON"),
    ("[1,2]", "JSON object"),
    (json.dumps({"accountCode": "acme"}), "resourceType, id"),
    (body(id="5-1"), "field id"),
    (body(id=7), "must be a string"),
])
def test_malformed_bodies_are_named(raw, fragment):
    with pytest.raises(WebhookBodyError, match=fragment):
        parse_webhook_body(raw)


def test_token_comparison():
    assert token_matches("s3cret", "s3cret")
    assert not token_matches("s3cre", "s3cret")
    assert not token_matches(None, "s3cret")
    assert not token_matches("", "")


class ListSink:
    def __init__(self):
        self.sent = []

    def send(self, message, *, attributes=None):
        self.sent.append(message)
        return f"m{len(self.sent)}"


def test_accept_webhook_outcomes():
    sink = ListSink()
    ok = accept_webhook(token="t", body=body(), expected_token="t", account="acme", queue=sink)
    assert ok.status == 200 and ok.body["accepted"] == 4
    assert sink.sent[0]["idSet"] == "1007,1532-1534"

    bad_token = accept_webhook(token="x", body=body(), expected_token="t", account="acme", queue=sink)
    assert bad_token.status == 403
    other_account = accept_webhook(token="t", body=body(accountCode="evil"), expected_token="t", account="acme",
                                   queue=sink)
    assert other_account.status == 403 and "evil" in other_account.body["message"]
    malformed = accept_webhook(token="t", body="{", expected_token="t", account="acme", queue=sink)
    assert malformed.status == 400 and "not JSON" in malformed.body["message"]
    assert len(sink.sent) == 1  # nothing queued for the refused calls
