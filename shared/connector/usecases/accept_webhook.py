"""Use case: accept a Brightpearl webhook call and put its stock change on the queue.

Answer fast (Brightpearl waits on us): check the token, validate the body, enqueue, return.
Status codes steer Brightpearl's retries: 4xx stops them (bad token, bad body), 503 asks for a
retry (we could not queue the change, so nothing is lost).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from connector.domain.errors import Unavailable
from connector.domain.webhooks import WebhookBodyError, parse_webhook_body, token_matches

if TYPE_CHECKING:  # the webhook receiver's cold start does not build the ports' Protocol classes
    from connector.usecases.ports import Queue


@dataclass(frozen=True)
class WebhookResult:
    status: int
    body: dict[str, Any]


def accept_webhook(*, token: str | None, body: str | None, expected_token: str, account: str,
                   queue: Queue, correlation_id: str = "") -> WebhookResult:
    if not token_matches(token, expected_token):
        return WebhookResult(403, {"message": "forbidden: the webhook token is missing or does not match"})
    try:
        change = parse_webhook_body(body)
    except WebhookBodyError as exc:
        return WebhookResult(400, {"message": f"bad request: {exc}"})
    if change.account_code.lower() != account.lower():
        return WebhookResult(403, {"message": f"forbidden: unknown accountCode {change.account_code!r}"})
    try:
        # A big ID set becomes several bounded messages. If only some are queued we answer 503 and
        # Brightpearl sends the whole set again: a repeated product costs a read, never a wrong push.
        # The correlation id (the API request's id) travels with every message, so the push it causes
        # can be found in the logs from the webhook's.
        attributes = {"fullEvent": change.full_event, **({"correlationId": correlation_id} if correlation_id else {})}
        message_ids = queue.send_batch(change.to_messages(), attributes=attributes)
    except Unavailable:
        return WebhookResult(503, {"message": "stock change could not be queued; retry later"})
    return WebhookResult(200, {"accepted": len(change.product_ids), "event": change.full_event,
                               "messages": len(message_ids), "messageId": message_ids[0]})
