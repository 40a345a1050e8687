"""Merchant-fulfilled stock sync: handler arrives with its feature; until then records go back to the queue."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from connector.observability import logger, metrics
from connector.usecases.pending import queued_feature_pending


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return queued_feature_pending("merchant-fulfilled stock sync", event)
