import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.domain.idsets import format_id_set, parse_id_set
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


def test_deeply_nested_body_is_refused_by_name_not_by_crash():
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(WebhookBodyError, match="nested too deeply"):
        parse_webhook_body(deep)
    nested_value = json.dumps({"accountCode": "acme"})[:-1] + ', "x": ' + "{\"a\": " * 50_000 + "1" + "}" * 50_001
    with pytest.raises(WebhookBodyError, match="nested too deeply"):
        parse_webhook_body(nested_value)


@given(st.lists(st.tuples(st.integers(1, 5_000), st.integers(0, 400)), min_size=1, max_size=30),
       st.integers(1, 300))
def test_an_id_set_is_split_into_bounded_messages_losing_no_id(ranges, per_message):
    ids = sorted({i for lo, n in ranges for i in range(lo, lo + n + 1)})
    change = parse_webhook_body(body(id=format_id_set(ids)))
    messages = change.to_messages(per_message)
    got = [i for m in messages for i in parse_id_set(str(m["idSet"]))]
    assert sorted(got) == ids  # every id exactly once
    assert all(int(str(m["count"])) <= per_message for m in messages)
    assert len(messages) == -(-len(ids) // per_message)


class ListSink:
    def __init__(self):
        self.sent = []

    def send_batch(self, messages, *, attributes=None):
        self.sent.extend(messages)
        return [f"m{len(self.sent) - len(messages) + i + 1}" for i in range(len(messages))]


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
