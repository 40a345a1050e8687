"""How the CLI reaches a stack: a deployed one through boto3, or the local one in this process.

Deployed: the stack's physical names (functions, tables, queues) come from CloudFormation, and every
function is invoked with a 900 s read timeout and botocore's retries off. ``sam remote invoke`` keeps
botocore's defaults (60 s read timeout, retried), so a long command (an import, a reconciliation) timed
out on the client and ran a second time while the first was still running.

Local: handlers run in this process through ``local.runtime.invoke`` against a local stack whose
environment (moto endpoint, table names, simulators) this process already has, as the tests and the
demo set it up.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

# The stack's resources the CLI uses, by logical id (template.yaml).
TABLES = {"SettingsTable": "SETTINGS_TABLE", "ListingsTable": "LISTINGS_TABLE", "MovementsTable": "MOVEMENTS_TABLE",
          "ReportJobsTable": "REPORT_JOBS_TABLE", "GovernorTable": "GOVERNOR_TABLE"}
QUEUES = ("StockChangeQueue", "NotificationsQueue", "ImportLinksQueue")
# Each dead-letter queue and where its messages came from: a queue (redrive), or, for the scheduled
# functions' failed asynchronous invocations, the function named in the message itself.
DLQS = {"StockChangeDLQ": "StockChangeQueue", "NotificationsDLQ": "NotificationsQueue", "ScheduledFailuresDLQ": None,
        "ImportLinksDLQ": "ImportLinksQueue"}


@dataclass(frozen=True)
class Path_:
    """One path of the health check: what receives, which queue carries it, which function consumes it."""

    receiver: str  # the function that queues the message (its log says it accepted it)
    queue: str
    consumer: str
    accepted: str  # the receiver's log message for an accepted input ("" = the queue is written by Amazon)


STOCK_CHANGE_PATH = Path_("BrightpearlWebhookFunction", "StockChangeQueue", "StockChangeFunction", "webhook accepted")
NOTIFICATION_PATH = Path_("", "NotificationsQueue", "NotificationsFunction", "")
SP_API_ENDPOINTS = {"na": "https://sellingpartnerapi-na.amazon.com", "eu": "https://sellingpartnerapi-eu.amazon.com",
                    "fe": "https://sellingpartnerapi-fe.amazon.com"}
LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"


class TransportError(RuntimeError):
    """The stack could not be reached or did not answer (exit code 3)."""


class FunctionFailed(RuntimeError):
    """The function ran and raised (Lambda's FunctionError): the connector's own failure (exit code 1)."""


class Transport:
    name = "?"

    def invoke(self, function_id: str, event: dict[str, Any]) -> Any:
        raise NotImplementedError

    def invoke_async(self, function_id: str, event: dict[str, Any]) -> None:
        """As the schedule does (InvocationType Event); locally, run now."""
        raise NotImplementedError

    def client(self, service: str) -> Any:
        raise NotImplementedError

    def table(self, logical_id: str) -> str:
        raise NotImplementedError

    def queue_url(self, logical_id: str) -> str:
        raise NotImplementedError

    def function_id(self, physical_name: str) -> str | None:
        """The logical id of a function from its physical name or ARN (dead letters name the ARN)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ onboarding (cli/setup.py)
    def outputs(self) -> dict[str, str]:
        """The stack's outputs (template.yaml ``Outputs``) and the parameters setup needs, by name."""
        raise NotImplementedError

    def topic_arn(self, logical_id: str) -> str:
        raise NotImplementedError

    def drive(self, function_id: str, queue_id: str) -> bool | None:
        """Deliver one message of ``queue_id`` to ``function_id`` if nothing else does (locally); True if
        one was delivered, False if the queue was empty; None deployed, where Lambda's pollers do it."""
        return None

    def quiet(self) -> contextlib.AbstractContextManager[None]:
        """While the platforms call the stack (the health check): keep stdout for the CLI's output."""
        return contextlib.nullcontext()

    def endpoints(self) -> dict[str, str]:
        """``brightpearl`` (base URL), ``spapi`` and ``lwa``: where the stack's functions call the platforms."""
        raise NotImplementedError

    def await_message(self, path: Path_, since: float, match: Callable[[str], bool], timeout: float,
                      tick: Callable[[], None] | None = None) -> dict[str, Any] | None:
        """Wait until a message matching ``match`` (its body) went through ``path`` — its queue and the
        function consuming it — after ``since`` (epoch seconds); ``tick`` runs on every poll. None: timed out."""
        raise NotImplementedError


class AwsTransport(Transport):
    def __init__(self, stack: str, *, region: str | None = None, profile: str | None = None) -> None:
        self.name = stack
        try:
            self.session = boto3.session.Session(region_name=region, profile_name=profile)
            cfn = self.session.client("cloudformation")
            resources = cfn.describe_stack_resources(StackName=stack)["StackResources"]
        except (BotoCoreError, ClientError) as exc:
            raise TransportError(f"stack {stack!r}: {exc}") from None
        self.physical = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources}
        # A long command must never run twice: no client retry, and wait as long as the function may run.
        self._lambda = self.session.client("lambda", config=Config(read_timeout=900, connect_timeout=10,
                                                                   retries={"max_attempts": 0}))

    def _name(self, logical_id: str) -> str:
        try:
            return self.physical[logical_id]
        except KeyError:
            raise TransportError(f"stack {self.name!r} has no resource {logical_id}") from None

    def invoke(self, function_id: str, event: dict[str, Any]) -> Any:
        try:
            resp = self._lambda.invoke(FunctionName=self._name(function_id), Payload=json.dumps(event).encode())
        except (BotoCoreError, ClientError) as exc:
            raise TransportError(f"invoking {function_id}: {exc}") from None
        payload = resp["Payload"].read()
        body = json.loads(payload) if payload else None
        if resp.get("FunctionError"):
            if isinstance(body, dict):
                raise FunctionFailed(f"{function_id} failed: {body.get('errorType')}: {body.get('errorMessage')}")
            raise FunctionFailed(f"{function_id} failed: {body!r}")
        return body

    def invoke_async(self, function_id: str, event: dict[str, Any]) -> None:
        try:
            self._lambda.invoke(FunctionName=self._name(function_id), InvocationType="Event",
                                Payload=json.dumps(event).encode())
        except (BotoCoreError, ClientError) as exc:
            raise TransportError(f"invoking {function_id}: {exc}") from None

    def client(self, service: str) -> Any:
        return self.session.client(service)

    def table(self, logical_id: str) -> str:
        return self._name(logical_id)

    def queue_url(self, logical_id: str) -> str:
        return self._name(logical_id)  # a queue's physical id is its URL

    def function_id(self, physical_name: str) -> str | None:
        name = physical_name.split(":function:")[-1].split(":")[0]
        return next((k for k, v in self.physical.items() if v == name), None)

    def outputs(self) -> dict[str, str]:
        try:
            [stack] = self.session.client("cloudformation").describe_stacks(StackName=self.name)["Stacks"]
        except (BotoCoreError, ClientError) as exc:
            raise TransportError(f"stack {self.name!r}: {exc}") from None
        out = {p["ParameterKey"]: p.get("ResolvedValue", p.get("ParameterValue", ""))
               for p in stack.get("Parameters", [])}
        out.update({o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])})
        return out

    def topic_arn(self, logical_id: str) -> str:
        return self._name(logical_id)  # a topic's physical id is its ARN

    def endpoints(self) -> dict[str, str]:
        params = self.outputs()
        return {"brightpearl": params.get("BrightpearlBaseUrl", "https://euw1.brightpearlconnect.com"),
                "spapi": SP_API_ENDPOINTS[params.get("AmazonRegion", "eu")], "lwa": LWA_TOKEN_URL}

    def await_message(self, path: Path_, since: float, match: Callable[[str], bool], timeout: float,
                      tick: Callable[[], None] | None = None) -> dict[str, Any] | None:
        """Deployed, the consumer takes the message off the queue at once: follow it in the functions'
        logs instead (the receiver's "accepted" line carries the correlation id that the consumer's lines
        repeat; an SP-API notification's line carries its body)."""
        logs = self.client("logs")
        deadline = time.monotonic() + timeout
        start = int(since * 1000)
        while True:
            if tick:
                tick()
            found = self._trace(logs, path, start, match)
            if found or time.monotonic() > deadline:
                return found
            time.sleep(5)

    def _trace(self, logs: Any, path: Path_, start: int, match: Callable[[str], bool]) -> dict[str, Any] | None:
        def events(function_id: str, pattern: str) -> list[dict[str, Any]]:
            group = self._name(f"{function_id}Logs")
            return list(logs.filter_log_events(logGroupName=group, startTime=start,
                                               filterPattern=pattern).get("events", []))

        if path.accepted:
            for ev in events(path.receiver, f'"{path.accepted}"'):
                cid = _json_field(ev["message"], "correlation_id")
                if cid and events(path.consumer, f'"{cid}"'):
                    return {"correlationId": cid, "via": f"{path.receiver} → {path.queue} → {path.consumer} (logs)"}
            return None
        for ev in events(path.consumer, '"notification received"'):
            if match(str(_json_field(ev["message"], "body") or "")):
                return {"via": f"{path.queue} → {path.consumer} (logs)"}
        return None


class LocalTransport(Transport):
    name = "local"

    def __init__(self) -> None:
        missing = [v for v in ("AWS_ENDPOINT_URL", *TABLES.values()) if not os.environ.get(v)]
        if missing:
            raise TransportError("--local needs a local stack started in this process (local.stack.start_stack); "
                                 f"not set: {', '.join(missing)}")
        self.endpoint = os.environ["AWS_ENDPOINT_URL"]
        self.stage = os.environ.get("STAGE", "local")
        self._urls: dict[str, str] = {}

    def invoke(self, function_id: str, event: dict[str, Any]) -> Any:
        from local import runtime

        if function_id not in runtime.function_ids():
            raise TransportError(f"the template has no function {function_id}")
        try:
            # In-process handlers print their metrics (EMF) to stdout, where Lambda's would go to
            # CloudWatch: keep stdout for the CLI's own output (``--json`` must stay parseable).
            with contextlib.redirect_stdout(sys.stderr), _logs_to_stderr():
                return runtime.invoke(function_id, event)
        except Exception as exc:  # as Lambda reports a raised handler: FunctionError
            raise FunctionFailed(f"{function_id} failed: {type(exc).__name__}: {exc}") from None

    def invoke_async(self, function_id: str, event: dict[str, Any]) -> None:
        self.invoke(function_id, event)

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.endpoint, region_name=os.environ.get("AWS_REGION", "eu-west-1"))

    def table(self, logical_id: str) -> str:
        return os.environ[TABLES[logical_id]]

    def queue_url(self, logical_id: str) -> str:
        # Local queues are named as local/aws.py creates them: <stage>-<logical id>.
        if logical_id not in self._urls:
            try:
                self._urls[logical_id] = self.client("sqs").get_queue_url(
                    QueueName=f"{self.stage}-{logical_id}")["QueueUrl"]
            except (BotoCoreError, ClientError) as exc:
                raise TransportError(f"local queue {logical_id}: {exc}") from None
        return self._urls[logical_id]

    def function_id(self, physical_name: str) -> str | None:
        from local import runtime

        name = physical_name.split(":function:")[-1].split(":")[0]
        return name if name in runtime.function_ids() else None

    def outputs(self) -> dict[str, str]:
        sqs = self.client("sqs")
        arn = sqs.get_queue_attributes(QueueUrl=self.queue_url("NotificationsQueue"),
                                       AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        # What template.yaml's Outputs and Parameters are for a deployed stack, from the local stack's
        # environment (local.stack exports LOCAL_WEBHOOK_BASE_URL when it runs the API stand-in).
        out = {"NotificationsQueueArn": arn, "BrightpearlSecretArn": os.environ.get("BRIGHTPEARL_SECRET_NAME", ""),
               "WebhookSecretArn": os.environ.get("WEBHOOK_SECRET_NAME", ""),
               "AmazonSecretArn": os.environ.get("AMAZON_SECRET_NAME", ""),
               "BrightpearlAccount": os.environ.get("BRIGHTPEARL_ACCOUNT", ""),
               "AmazonMarketplaceIds": os.environ.get("AMAZON_MARKETPLACE_IDS", ""),
               "AmazonSellerId": os.environ.get("AMAZON_SELLER_ID", ""),
               "SesSender": os.environ.get("SES_SENDER", ""), "AlertRecipients": os.environ.get("ALERT_RECIPIENTS", "")}
        if os.environ.get("LOCAL_WEBHOOK_BASE_URL"):
            out["WebhookBaseUrl"] = os.environ["LOCAL_WEBHOOK_BASE_URL"]
        return out

    def drive(self, function_id: str, queue_id: str) -> bool | None:
        sqs = self.client("sqs")
        url = self.queue_url(queue_id)
        msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, AttributeNames=["All"],
                                   MessageAttributeNames=["All"]).get("Messages", [])
        if not msgs:
            return False
        m = msgs[0]
        result = self.invoke(function_id, {"Records": [{
            "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
            "attributes": m.get("Attributes", {}), "messageAttributes": {}, "eventSource": "aws:sqs",
            "awsRegion": os.environ.get("AWS_REGION", "eu-west-1")}]}) or {}
        if result.get("batchItemFailures"):  # stays on the queue, visible again at once (locally)
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
        else:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return True

    @contextlib.contextmanager
    def quiet(self) -> Iterator[None]:
        # The API stand-in runs the webhook function on its own thread, printing its metrics and logs.
        with contextlib.redirect_stdout(sys.stderr), _logs_to_stderr():
            yield

    def topic_arn(self, logical_id: str) -> str:
        # Local topics are named as local/aws.py creates them: <stage>-<logical id>.
        for topic in self.client("sns").list_topics().get("Topics", []):
            if topic["TopicArn"].endswith(f":{self.stage}-{logical_id}"):
                return str(topic["TopicArn"])
        raise TransportError(f"local topic {logical_id} not found")

    def endpoints(self) -> dict[str, str]:
        return {"brightpearl": os.environ.get("BRIGHTPEARL_BASE_URL", ""),
                "spapi": os.environ.get("SP_API_ENDPOINT", ""), "lwa": os.environ.get("LWA_TOKEN_URL", "")}

    def await_message(self, path: Path_, since: float, match: Callable[[str], bool], timeout: float,
                      tick: Callable[[], None] | None = None) -> dict[str, Any] | None:
        """Locally nothing consumes the queues on its own: find the message on the queue, then hand it
        to its consumer as Lambda's event source mapping would (deleted only if the consumer took it)."""
        sqs = self.client("sqs")
        url = self.queue_url(path.queue)
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        deadline = time.monotonic() + timeout
        while True:
            if tick:
                tick()
            msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"],
                                       MessageAttributeNames=["All"], WaitTimeSeconds=1).get("Messages", [])
            for m in msgs:
                sent = int(m.get("Attributes", {}).get("SentTimestamp", "0")) / 1000
                if sent < since - 1 or not match(m["Body"]):
                    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
                    continue
                cid = (m.get("MessageAttributes") or {}).get("correlationId", {}).get("StringValue")
                result = self.invoke(path.consumer, {"Records": [{
                    "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                    "attributes": m.get("Attributes", {}), "eventSource": "aws:sqs", "eventSourceARN": arn,
                    "messageAttributes": {k: {"stringValue": v.get("StringValue"), "dataType": v.get("DataType")}
                                          for k, v in (m.get("MessageAttributes") or {}).items()},
                    "awsRegion": os.environ.get("AWS_REGION", "eu-west-1")}]}) or {}
                if result.get("batchItemFailures"):
                    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
                    raise FunctionFailed(f"{path.consumer} did not accept the message: {result}")
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
                return {**({"correlationId": cid} if cid else {}), "messageId": m["MessageId"],
                        "via": f"{path.queue} → {path.consumer}"}
            if time.monotonic() > deadline:
                return None


def _json_field(message: str, key: str) -> Any:
    try:
        data = json.loads(message)
    except ValueError:
        return None
    return data.get(key) if isinstance(data, dict) else None


@contextlib.contextmanager
def _logs_to_stderr() -> Iterator[None]:
    """The functions' JSON log lines go to stdout (Lambda sends it to CloudWatch); in-process, send them
    to stderr while a handler runs, as the handlers' loggers hold the stream they were built with."""
    moved = []
    for logger in [logging.getLogger(), *(v for v in logging.Logger.manager.loggerDict.values()
                                          if isinstance(v, logging.Logger))]:
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream in (sys.stdout, sys.__stdout__):
                moved.append((handler, handler.setStream(sys.stderr)))
    try:
        yield
    finally:
        for handler, stream in moved:
            if stream is not None:
                handler.setStream(stream)
