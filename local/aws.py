"""The stack's AWS resources on this machine: moto server on loopback, built from template.yaml.

Tables, queues (with their dead-letter redrive), secrets and topics are created from the
template's own resource definitions, and each function's environment is resolved from the
template's Globals, so the local schema and wiring cannot drift from what ``sam deploy`` creates.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import yaml
from moto.server import ThreadedMotoServer

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"

LOCAL_PARAMETERS = {
    "Stage": "local",
    "BrightpearlAccount": "acme",
    "BrightpearlBaseUrl": "http://127.0.0.1:0",
    "BrightpearlRequestsPerWindow": "200",
    "AmazonRegion": "eu",
    "AmazonMarketplaceIds": "A1F83G8C2ARO7P",
    "AmazonSellerId": "A1SELLER",
    "AmazonOtherRegions": "",  # one region (issue 16: the local stack's other_regions sets AMAZON_OTHER_REGIONS)
    "SpApiEventBusName": "",
    "SesSender": "connector@example.com",
    "AlertRecipients": "ops@example.com",
    "OperatorEmail": "ops@example.com",
    "PageLinkHours": "72",
    "DocsBaseUrl": "",
    "AWS::StackName": "connector-local",  # pseudo parameter (!Ref AWS::StackName)
}

DUMMY_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_REGION": "eu-west-1",
    # Powertools: no X-Ray daemon here, and metrics go to stdout as EMF either way.
    "POWERTOOLS_TRACE_DISABLED": "true",
}


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation short-form tags (!Ref, !GetAtt, !Sub, ...) as their long form."""


def _cfn_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> Any:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _cfn_tag)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    with path.open(encoding="utf-8") as fh:
        data = yaml.load(fh, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    assert isinstance(data, dict)
    return data


@dataclass
class LocalAws:
    """A running moto server with the stack's resources; ``env`` is what every function sees."""

    server: ThreadedMotoServer
    endpoint: str
    template: dict[str, Any]
    parameters: dict[str, str]
    physical: dict[str, str] = field(default_factory=dict)  # logical id -> !Ref value
    attributes: dict[tuple[str, str], str] = field(default_factory=dict)  # (logical id, attr) -> value
    env: dict[str, str] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.endpoint, region_name="eu-west-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def apply_env(self, environ: dict[str, str] | None = None) -> None:
        """Export the stack's environment (and moto's endpoint) into ``environ`` (os.environ by default)."""
        target = os.environ if environ is None else environ
        target.update(self.env)

    def stop(self) -> None:
        # moto keeps its state in this process, not in the server: empty it, or the next server started
        # here (the next benchmark of `make bench`) finds the tables already there and fails to create them.
        reset = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")  # noqa: S310 - http, loopback
        urllib.request.urlopen(reset, timeout=10).close()  # noqa: S310 - likewise
        self.server.stop()

    # ------------------------------------------------------------ resolving template values
    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref":
                if arg in self.parameters:
                    return self.parameters[arg]
                if arg in self.physical:
                    return self.physical[arg]
                raise KeyError(f"cannot resolve !Ref {arg} locally")
            if key == "Fn::GetAtt":
                return self.attributes[(arg[0], arg[1])]
        if isinstance(value, (str, int, float)):
            return str(value)
        raise ValueError(f"cannot resolve {value!r} locally")

    def queue_url(self, logical_id: str) -> str:
        return self.physical[logical_id]


def start_local_aws(parameters: Mapping[str, str] | None = None, *, template_path: Path = TEMPLATE) -> LocalAws:
    """Start moto server on 127.0.0.1 (a free port) and create the template's resources in it."""
    os.environ.update(DUMMY_AWS_ENV)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request access log
    from local.moto_transactions import install

    install()  # moto's transactions copy whole tables: item-level rollback instead (local/moto_transactions.py)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    params = {**LOCAL_PARAMETERS, **(parameters or {})}
    local = LocalAws(server=server, endpoint=endpoint, template=load_template(template_path), parameters=params)
    _create_resources(local)
    env = {k: str(local.resolve(v))
           for k, v in local.template["Globals"]["Function"]["Environment"]["Variables"].items()}
    env.update(DUMMY_AWS_ENV)
    env["AWS_ENDPOINT_URL"] = endpoint
    local.env = env
    return local


def _create_resources(local: LocalAws) -> None:
    resources: dict[str, Any] = local.template["Resources"]
    stage = local.parameters["Stage"]
    ddb, sqs = local.client("dynamodb"), local.client("sqs")
    secrets, sns, ses = local.client("secretsmanager"), local.client("sns"), local.client("ses")

    for logical, res in resources.items():
        props = res.get("Properties", {})
        if res["Type"] == "AWS::DynamoDB::Table":
            name = f"{stage}-{logical}"
            kwargs: dict[str, Any] = {
                "TableName": name,
                "AttributeDefinitions": props["AttributeDefinitions"],
                "KeySchema": props["KeySchema"],
                "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
            }
            if props.get("GlobalSecondaryIndexes"):
                kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
            ddb.create_table(**kwargs)
            if props.get("TimeToLiveSpecification"):
                ddb.update_time_to_live(TableName=name, TimeToLiveSpecification=props["TimeToLiveSpecification"])
            local.physical[logical] = name

    # Queues: dead-letter queues first, so redrive policies can point at them.
    queues = {k: v for k, v in resources.items() if v["Type"] == "AWS::SQS::Queue"}
    ordered = sorted(queues, key=lambda k: "RedrivePolicy" in queues[k].get("Properties", {}))
    for logical in ordered:
        props = queues[logical].get("Properties", {})
        attrs: dict[str, str] = {}
        for key in ("VisibilityTimeout", "MessageRetentionPeriod"):
            if key in props:
                attrs[key] = str(props[key])
        if "RedrivePolicy" in props:
            rp = props["RedrivePolicy"]
            attrs["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": local.resolve(rp["deadLetterTargetArn"]),
                                                 "maxReceiveCount": str(rp["maxReceiveCount"])})
        name = f"{stage}-{logical}"
        url = sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        local.physical[logical] = url
        local.attributes[(logical, "Arn")] = arn
        local.attributes[(logical, "QueueName")] = name

    for logical, res in resources.items():
        if res["Type"] == "AWS::SecretsManager::Secret":
            name = f"{stage}/{logical}"
            template = res["Properties"].get("GenerateSecretString", {}).get("SecretStringTemplate", "{}")
            arn = secrets.create_secret(Name=name, SecretString=template)["ARN"]
            local.physical[logical] = arn
        elif res["Type"] == "AWS::SNS::Topic":
            local.physical[logical] = sns.create_topic(Name=f"{stage}-{logical}")["TopicArn"]
        elif res["Type"] == "AWS::S3::Bucket":  # the email exports (issue 14 item 5)
            name = f"{stage}-{logical}".lower()
            local.client("s3").create_bucket(Bucket=name, CreateBucketConfiguration={
                "LocationConstraint": local.parameters.get("Region", "eu-west-1")})
            local.physical[logical] = name

    # SES refuses to send from an unverified sender; verifying it is a deploy step, done here for local use.
    ses.verify_email_identity(EmailAddress=local.parameters["SesSender"])


def put_secret(local: LocalAws, logical_id: str, value: dict[str, Any]) -> None:
    """Store a secret's value and drop Powertools' cached copy, so handlers in this process see it now
    (deployed Lambdas would see it within the cache's max age)."""
    from aws_lambda_powertools.utilities import parameters

    local.client("secretsmanager").put_secret_value(SecretId=local.physical[logical_id], SecretString=json.dumps(value))
    parameters.clear_caches()


def sent_emails(local: LocalAws) -> list[dict[str, Any]]:
    """Emails SES (moto) has accepted, oldest first, parsed: subject, to, text, html, attachments.

    moto server runs in this process, so its SES backend can be read directly.
    """
    from email import message_from_string, policy

    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    out = []
    for m in ses_backends[DEFAULT_ACCOUNT_ID][local.parameters.get("Region", "eu-west-1")].sent_messages:
        raw = getattr(m, "raw_data", None)
        if raw is None:  # a simple (non-raw) send
            out.append({"subject": m.subject, "to": list(m.destinations.get("ToAddresses", [])),
                        "text": m.body, "html": m.body, "attachments": {}})
            continue
        msg = message_from_string(raw, policy=policy.default)
        text = msg.get_body(preferencelist=("plain",))
        html = msg.get_body(preferencelist=("html",))
        attachments = {a.get_filename(): a.get_content() for a in msg.iter_attachments()
                       if a.get_filename()}
        out.append({"subject": str(msg["Subject"]), "to": [a.strip() for a in str(msg["To"]).split(",")],
                    "text": text.get_content() if text else "", "html": html.get_content() if html else "",
                    "attachments": attachments})
    return out
