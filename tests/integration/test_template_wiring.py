"""template.yaml is the single source of truth: the store, the functions and events/ must agree with it."""

import json
from pathlib import Path

import pytest

from connector.adapters import store
from local.aws import load_template
from local.runtime import function_ids, invoke

TEMPLATE = load_template()
RESOURCES = TEMPLATE["Resources"]
ENV = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]


def _table_logical_id(env_var: str) -> str:
    return ENV[env_var]["Ref"]


@pytest.mark.parametrize("model", store.MODELS, ids=lambda m: m.__name__)
def test_pynamodb_models_match_the_template_tables(model):
    table = RESOURCES[_table_logical_id(model.Meta.env_var)]["Properties"]
    hash_key = next(k["AttributeName"] for k in table["KeySchema"] if k["KeyType"] == "HASH")
    assert model._hash_keyname == hash_key
    declared_gsis = {g["IndexName"]: g for g in table.get("GlobalSecondaryIndexes", [])}
    model_gsis = {idx.Meta.index_name: idx for idx in model._indexes.values()}
    assert set(declared_gsis) == set(model_gsis)
    attr_types = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
    for name, gsi in declared_gsis.items():
        for key in gsi["KeySchema"]:
            attr = model.get_attributes()[key["AttributeName"]]
            assert attr.attr_type == attr_types[key["AttributeName"]], (name, key)


def test_every_table_has_pitr_encryption_and_on_demand_billing():
    for logical, res in RESOURCES.items():
        if res["Type"] == "AWS::DynamoDB::Table":
            props = res["Properties"]
            assert props["BillingMode"] == "PAY_PER_REQUEST", logical
            assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"], logical
            assert props["SSESpecification"]["SSEEnabled"], logical


def test_queue_visibility_is_six_times_the_consumer_timeout_and_dlq_after_three():
    for logical, res in RESOURCES.items():
        if res["Type"] != "AWS::Serverless::Function":
            continue
        for ev in (res["Properties"].get("Events") or {}).values():
            if ev["Type"] != "SQS":
                continue
            queue = RESOURCES[ev["Properties"]["Queue"]["Fn::GetAtt"][0]]["Properties"]
            timeout = res["Properties"].get("Timeout", TEMPLATE["Globals"]["Function"]["Timeout"])
            assert queue["VisibilityTimeout"] == 6 * timeout, logical
            # 3 receives before the DLQ; a consumer with reserved concurrency 1 gets a little more
            # room, because deliveries Lambda throttles count as receives.
            limit = 5 if res["Properties"].get("ReservedConcurrentExecutions") == 1 else 3
            assert queue["RedrivePolicy"]["maxReceiveCount"] == limit
            assert ev["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


@pytest.mark.parametrize("logical_id", function_ids())
def test_each_function_has_a_sample_event_and_a_handler_file(logical_id):
    code_uri = RESOURCES[logical_id]["Properties"]["CodeUri"]
    folder = Path(code_uri).name
    assert Path(code_uri, "app.py").is_file()
    assert Path("events", f"{folder}.json").is_file(), f"events/{folder}.json missing for {logical_id}"


def test_notifications_of_types_nobody_handles_are_acknowledged(local_aws):
    event = json.loads(Path("events/notifications.json").read_text())
    result = invoke("NotificationsFunction", event)
    assert result == {"batchItemFailures": []}


def test_malformed_notifications_go_back_to_the_queue(local_aws):
    event = json.loads(Path("events/notifications.json").read_text())
    event["Records"][0]["body"] = "not json"
    result = invoke("NotificationsFunction", event)
    assert result == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}


def _policy_refs(function: str) -> list:
    return RESOURCES[function]["Properties"].get("Policies", [])


def test_the_internet_facing_webhook_function_cannot_read_the_brightpearl_credentials():
    refs = json.dumps(_policy_refs("BrightpearlWebhookFunction"))
    assert "WebhookSecret" in refs
    assert "BrightpearlSecret" not in refs and "AmazonSecret" not in refs


def test_no_function_may_manage_ses_identities():
    for logical in function_ids():
        refs = json.dumps(_policy_refs(logical))
        assert "SESCrudPolicy" not in refs, logical
    actions = RESOURCES["SendEmailPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]["Action"]
    assert set(actions) == {"ses:SendRawEmail", "ses:SendEmail"}


def test_eventbridge_may_send_to_the_notifications_queue_only_from_this_stacks_rule():
    statements = RESOURCES["NotificationsQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    for st in statements:
        body = st["Fn::If"][1] if isinstance(st, dict) and "Fn::If" in st else st
        if body.get("Principal", {}).get("Service") == "events.amazonaws.com":
            rule_arn = {"Fn::GetAtt": ["ListingsNotificationsRule", "Arn"]}
            assert body["Condition"]["ArnEquals"]["aws:SourceArn"] == rule_arn
            break
    else:
        raise AssertionError("no EventBridge statement")


def test_secrets_and_dead_letter_queues_survive_a_stack_deletion():
    for logical, res in RESOURCES.items():
        if res["Type"] == "AWS::SecretsManager::Secret" or logical.endswith("DLQ"):
            assert res.get("DeletionPolicy") == "Retain", logical
            assert res.get("UpdateReplacePolicy") == "Retain", logical


def test_api_access_log_never_contains_the_token():
    settings = RESOURCES["WebhookApi"]["Properties"]["AccessLogSettings"]
    assert "$context.routeKey" in settings["Format"]
    assert "$context.path" not in settings["Format"] and "rawPath" not in settings["Format"]


def test_every_scheduled_function_has_a_failure_destination():
    for logical in function_ids():
        props = RESOURCES[logical]["Properties"]
        if any(ev["Type"] == "ScheduleV2" for ev in (props.get("Events") or {}).values()):
            dest = props["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
            assert dest["Destination"] == {"Fn::GetAtt": ["ScheduledFailuresDLQ", "Arn"]}, logical


@pytest.mark.parametrize(("event", "kind"), [([{"command": "get-settings"}], "list"), ("get-settings", "str"),
                                             (None, "NoneType")])
def test_an_operator_event_that_is_not_an_object_is_refused_by_name(local_aws, event, kind):
    result = invoke("OperatorFunction", event)
    assert result["ok"] is False
    assert f"got a JSON {kind}" in result["error"]
