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
from collections.abc import Iterator
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

# The stack's resources the CLI uses, by logical id (template.yaml).
TABLES = {"SettingsTable": "SETTINGS_TABLE", "ListingsTable": "LISTINGS_TABLE", "MovementsTable": "MOVEMENTS_TABLE",
          "ReportJobsTable": "REPORT_JOBS_TABLE", "GovernorTable": "GOVERNOR_TABLE"}
QUEUES = ("StockChangeQueue", "NotificationsQueue")
# Each dead-letter queue and where its messages came from: a queue (redrive), or, for the scheduled
# functions' failed asynchronous invocations, the function named in the message itself.
DLQS = {"StockChangeDLQ": "StockChangeQueue", "NotificationsDLQ": "NotificationsQueue", "ScheduledFailuresDLQ": None}


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
