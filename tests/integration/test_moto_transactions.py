"""The local moto's TransactWriteItems (local/moto_transactions.py): rolled back item by item, with the same
all-or-nothing outcome as DynamoDB, and without copying the table once per action."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from local.aws import LocalAws


@pytest.fixture(scope="module")
def table(local_aws: LocalAws) -> tuple[Any, str]:
    ddb = local_aws.client("dynamodb")
    name = f"tx-test-{uuid.uuid4().hex[:8]}"
    ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                           {"AttributeName": "sk", "AttributeType": "N"}],
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                {"AttributeName": "sk", "KeyType": "RANGE"}])
    return ddb, name


def _state(ddb: Any, name: str) -> dict[tuple[str, str], dict[str, Any]]:
    items = ddb.scan(TableName=name, ConsistentRead=True)["Items"]
    return {(i["pk"]["S"], i["sk"]["N"]): i for i in items}


KEYS = [(p, s) for p in ("a", "b/ü &") for s in (1, 2, 3)]
action = st.tuples(st.sampled_from(["put", "update", "delete", "check"]), st.sampled_from(KEYS),
                   st.booleans(),  # the action's condition holds (attribute_exists / not_exists as chosen)
                   st.integers(0, 9))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.lists(st.sampled_from(KEYS), unique=True), actions=st.lists(action, min_size=1, max_size=6))
def test_a_transaction_applies_whole_or_not_at_all(table: tuple[Any, str], seed: list[tuple[str, int]],
                                                   actions: list[tuple[str, tuple[str, int], bool, int]]) -> None:
    ddb, name = table
    for k in _state(ddb, name):
        ddb.delete_item(TableName=name, Key={"pk": {"S": k[0]}, "sk": {"N": k[1]}})
    for p, s in seed:
        ddb.put_item(TableName=name, Item={"pk": {"S": p}, "sk": {"N": str(s)}, "v": {"N": "100"}})
    before = _state(ddb, name)
    expected = copy.deepcopy(before)
    ok, items, seen = True, [], set()
    for kind, (p, s), holds, v in actions:
        if (p, s) in seen:
            continue  # DynamoDB refuses two actions on one key (a validation error, tested below)
        seen.add((p, s))
        key = {"pk": {"S": p}, "sk": {"N": str(s)}}
        exists = (p, str(s)) in expected
        cond = "attribute_exists(pk)" if exists == holds else "attribute_not_exists(pk)"
        ok = ok and holds
        if kind == "put":
            items.append({"Put": {"TableName": name, "Item": {**key, "v": {"N": str(v)}}, "ConditionExpression": cond}})
            expected[(p, str(s))] = {**key, "v": {"N": str(v)}}
        elif kind == "update":
            items.append({"Update": {"TableName": name, "Key": key, "UpdateExpression": "SET v = :v",
                                     "ExpressionAttributeValues": {":v": {"N": str(v)}}, "ConditionExpression": cond}})
            expected[(p, str(s))] = {**expected.get((p, str(s)), key), "v": {"N": str(v)}}
        elif kind == "delete":
            items.append({"Delete": {"TableName": name, "Key": key, "ConditionExpression": cond}})
            expected.pop((p, str(s)), None)
        else:
            items.append({"ConditionCheck": {"TableName": name, "Key": key, "ConditionExpression": cond}})
    try:
        ddb.transact_write_items(TransactItems=items)
        applied = True
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "TransactionCanceledException"
        applied = False
    assert applied == ok
    assert _state(ddb, name) == (expected if ok else before)


def test_two_actions_on_one_key_change_nothing(table: tuple[Any, str]) -> None:
    ddb, name = table
    ddb.put_item(TableName=name, Item={"pk": {"S": "dup"}, "sk": {"N": "1"}, "v": {"N": "1"}})
    before = _state(ddb, name)
    key = {"pk": {"S": "dup"}, "sk": {"N": "1"}}
    with pytest.raises(ClientError):
        ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": name, "Item": {"pk": {"S": "new"}, "sk": {"N": "1"}}}},
            {"Update": {"TableName": name, "Key": key, "UpdateExpression": "SET v = :v",
                        "ExpressionAttributeValues": {":v": {"N": "2"}}}},
            {"Delete": {"TableName": name, "Key": key}}])
    assert _state(ddb, name) == before


def test_a_transaction_does_not_copy_the_table() -> None:
    """The whole-table copy is what made the benches' moto grow to 10 GB: inside a transaction a table is
    handed back as is (and copied as usual outside one)."""
    from moto.dynamodb import models
    from moto.dynamodb.models.table import Table

    from local import moto_transactions

    assert getattr(models.DynamoDBBackend.transact_write_items, "_item_rollback", False)
    t = Table("x", account_id="123456789012", region="eu-west-1",
              schema=[{"AttributeName": "pk", "KeyType": "HASH"}],
              attr=[{"AttributeName": "pk", "AttributeType": "S"}])
    assert models.copy.deepcopy(t) is not t
    moto_transactions._state.in_transaction = True
    try:
        assert models.copy.deepcopy(t) is t
    finally:
        moto_transactions._state.in_transaction = False
