"""The health check on a deployed stack follows each path in the functions' log groups (the consumers
take the messages off the queues at once): moto's CloudFormation and CloudWatch Logs on loopback."""

from __future__ import annotations

import json
import time

import pytest

from cli.transport import NOTIFICATION_PATH, STOCK_CHANGE_PATH, AwsTransport

GROUPS = ("BrightpearlWebhookFunctionLogs", "StockChangeFunctionLogs", "NotificationsFunctionLogs")
TEMPLATE = {"Resources": {g: {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": f"/trace-test/{g}"}}
                          for g in GROUPS}}


@pytest.fixture
def deployed(local_aws):
    cfn = local_aws.client("cloudformation")
    cfn.create_stack(StackName="trace-test", TemplateBody=json.dumps(TEMPLATE))
    yield local_aws
    cfn.delete_stack(StackName="trace-test")


def log(aws, group: str, **line: object) -> None:
    logs = aws.client("logs")
    stream = f"s{time.time_ns()}"
    logs.create_log_stream(logGroupName=f"/trace-test/{group}", logStreamName=stream)
    logs.put_log_events(logGroupName=f"/trace-test/{group}", logStreamName=stream,
                        logEvents=[{"timestamp": int(time.time() * 1000), "message": json.dumps(line)}])


def test_the_webhook_path_is_found_by_the_correlation_id_the_consumer_repeats(deployed):
    t = AwsTransport("trace-test", region="eu-west-1")
    since = time.time() - 1
    log(deployed, "BrightpearlWebhookFunctionLogs", message="webhook accepted", correlation_id="req-1")
    assert t.await_message(STOCK_CHANGE_PATH, since, lambda _b: True, timeout=0) is None  # not consumed yet
    log(deployed, "StockChangeFunctionLogs", message="stock change synced", correlation_ids=["req-1"])
    found = t.await_message(STOCK_CHANGE_PATH, since, lambda _b: True, timeout=0)
    assert found and found["correlationId"] == "req-1"


def test_the_notification_path_is_found_by_the_body_the_consumer_logs(deployed):
    t = AwsTransport("trace-test", region="eu-west-1")
    since = time.time() - 1
    log(deployed, "NotificationsFunctionLogs", message="notification received", body='{"reportId": "111"}')
    assert t.await_message(NOTIFICATION_PATH, since, lambda b: '"222"' in b, timeout=0) is None
    log(deployed, "NotificationsFunctionLogs", message="notification received", body='{"reportId": "222"}')
    assert t.await_message(NOTIFICATION_PATH, since, lambda b: '"222"' in b, timeout=0)
