"""The CLI's deployed-stack transport (``--stack``) against moto on loopback: physical names resolved from
CloudFormation, Lambda invoked with no client retry and a 900 s read timeout (``sam remote invoke``'s 60 s
and retries ran long commands twice), a function's error reported as the connector's (exit 1)."""

from __future__ import annotations

import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from botocore.stub import Stubber
from click.testing import CliRunner

from cli.main import cli
from cli.transport import AwsTransport, FunctionFailed, TransportError

TEMPLATE = {
    "Resources": {
        "StockChangeDLQ": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "cli-test-StockChangeDLQ"}},
        "StockChangeQueue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "cli-test-StockChangeQueue"}},
    }
}


@pytest.fixture
def deployed(local_aws):
    cfn = local_aws.client("cloudformation")
    cfn.create_stack(StackName="cli-test", TemplateBody=json.dumps(TEMPLATE))
    yield local_aws
    cfn.delete_stack(StackName="cli-test")


def test_dlq_replay_on_a_deployed_stack_uses_the_stacks_own_queues(deployed):
    sqs = deployed.client("sqs")
    dlq = sqs.get_queue_url(QueueName="cli-test-StockChangeDLQ")["QueueUrl"]
    source = sqs.get_queue_url(QueueName="cli-test-StockChangeQueue")["QueueUrl"]
    sqs.send_message(QueueUrl=dlq, MessageBody='{"idSet": "1007"}')
    out = CliRunner().invoke(cli, ["--stack", "cli-test", "--json", "dlq", "replay", "stock-change", "--yes"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["replayed"] == 1
    [moved] = sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10)["Messages"]
    assert moved["Body"] == '{"idSet": "1007"}'
    assert "Messages" not in sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10)
    # A resource the stack lacks is the transport's error (exit 3), named.
    missing = CliRunner().invoke(cli, ["--stack", "cli-test", "dlq", "list", "notifications"])
    assert missing.exit_code == 3 and "NotificationsDLQ" in missing.output


class _Flaky(BaseHTTPRequestHandler):
    """A Lambda endpoint that fails every invoke with a 502 (as a gateway dropping a long call would)."""

    calls = 0

    def do_POST(self):
        type(self).calls += 1
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(502)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_a_failed_invoke_is_not_retried_by_the_client(deployed, monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", f"http://127.0.0.1:{server.server_port}")
        t = AwsTransport("cli-test")
        assert t._lambda.meta.config.read_timeout == 900
        t.physical["OperatorFunction"] = "cli-test-OperatorFunction-abc"
        with pytest.raises(TransportError, match="OperatorFunction"):
            t.invoke("OperatorFunction", {"command": "import-links"})
        assert _Flaky.calls == 1  # botocore's default would have sent it again (and the import run twice)
    finally:
        server.shutdown()


def test_a_functions_error_is_the_connectors(deployed):
    t = AwsTransport("cli-test")
    t.physical["OperatorFunction"] = "cli-test-OperatorFunction-abc"
    t.physical["NightlyReconciliationFunction"] = "cli-test-Nightly-xyz"
    with Stubber(t._lambda) as stub:
        stub.add_response("invoke", {"StatusCode": 200, "Payload": io.BytesIO(b'{"ok": true, "sync": "on"}')},
                          {"FunctionName": "cli-test-OperatorFunction-abc", "Payload": b'{"command": "sync-on"}'})
        assert t.invoke("OperatorFunction", {"command": "sync-on"}) == {"ok": True, "sync": "on"}
        stub.add_response("invoke", {"StatusCode": 200, "FunctionError": "Unhandled", "Payload": io.BytesIO(
            b'{"errorType": "ValueError", "errorMessage": "unknown action \'x\'"}')})
        with pytest.raises(FunctionFailed, match="ValueError: unknown action 'x'"):
            t.invoke("OperatorFunction", {"command": "x"})
    assert t.function_id("arn:aws:lambda:eu-west-1:1:function:cli-test-Nightly-xyz:$LATEST") == \
        "NightlyReconciliationFunction"
