"""Brightpearl webhook receiver (API Gateway HTTP API): token check → stock-change queue."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from connector.adapters.aws_clients import LazyClient
from connector.adapters.queues import Queue
from connector.adapters.secrets import SecretError, get_json_secret
from connector.config import WebhookEnv, load
from connector.domain.webhooks import token_matches
from connector.handlers import entry
from connector.observability import MetricUnit, logger, metrics
from connector.usecases.accept_webhook import accept_webhook

ENV = load(WebhookEnv)  # fails the cold start naming any missing variable
QUEUE = Queue(ENV.stock_change_queue_url, client=LazyClient("sqs"))  # made on the first accepted webhook


def _token(event: dict[str, Any]) -> str | None:
    """The secret may sit in the path (/brightpearl/webhook/{token}), a ?token= query or a header."""
    return ((event.get("pathParameters") or {}).get("token")
            or (event.get("queryStringParameters") or {}).get("token")
            or {k.lower(): v for k, v in (event.get("headers") or {}).items()}.get("x-webhook-token"))


def _body(event: dict[str, Any]) -> str | None:
    """The body as text; raises ValueError when API Gateway marked it base64 and it is not."""
    body = event.get("body")
    if body and event.get("isBase64Encoded"):
        import base64
        import binascii

        try:
            body = base64.b64decode(body, validate=True).decode("utf-8", "replace")
        except binascii.Error as exc:
            raise ValueError(f"body is marked isBase64Encoded but is not base64: {exc}") from None
    return body


def _answer(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}


# log_event=False whatever POWERTOOLS_LOGGER_LOG_EVENT says: the event carries the webhook token in
# its path, and a logged token lets anyone who can read the logs push stock changes.
@entry(traced=False, log_event=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        expected = str(get_json_secret(ENV.webhook_secret_name).get("webhook_token") or "")
    except SecretError as exc:
        # Not JSON, or unreadable: misconfigured like a missing token below (503, Brightpearl retries),
        # not a crash that reads as the receiver being broken.
        logger.error("the webhook secret cannot be read; every webhook is refused until it can",
                     extra={"secret": ENV.webhook_secret_name, "error": str(exc)})
        expected = ""
    if not expected:
        # Misconfigured, not a bad caller: say where to look, and answer 503 so Brightpearl retries
        # (nothing is lost) instead of a 403 that looks like a wrong URL.
        logger.error("the webhook secret holds no webhook_token; every webhook is refused until it does",
                     extra={"secret": ENV.webhook_secret_name})
        metrics.add_metric(name="WebhookMisconfigured", unit=MetricUnit.Count, value=1)
        return {"statusCode": 503, "headers": {"Content-Type": "application/json"},
                "body": json.dumps({"message": "webhook receiver is not configured; retry later"})}
    correlation_id = str((event.get("requestContext") or {}).get("requestId") or context.aws_request_id)
    logger.set_correlation_id(correlation_id)
    try:
        body = _body(event)
    except ValueError as exc:
        if token_matches(_token(event), expected):  # a stranger learns nothing but 403 (below)
            metrics.add_metric(name="WebhookRejected400", unit=MetricUnit.Count, value=1)
            logger.warning("webhook rejected", extra={"status": 400, "reason": str(exc)})
            return _answer(400, {"message": f"bad request: {exc}"})
        body = None
    result = accept_webhook(token=_token(event), body=body, expected_token=expected,
                            account=ENV.brightpearl_account, queue=QUEUE, correlation_id=correlation_id)
    if result.status == 200:
        metrics.add_metric(name="WebhookProductsAccepted", unit=MetricUnit.Count, value=result.body["accepted"])
        logger.info("webhook accepted", extra={"products": result.body["accepted"], "messages": result.body["messages"],
                                               "event": result.body["event"]})
    else:
        metrics.add_metric(name=f"WebhookRejected{result.status}", unit=MetricUnit.Count, value=1)
        logger.warning("webhook rejected", extra={"status": result.status, "reason": result.body["message"]})
    return {"statusCode": result.status, "headers": {"Content-Type": "application/json"},
            "body": json.dumps(result.body)}
