"""FBA reconciliation: handler arrives with its feature; until then the schedule only logs."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from connector.observability import logger, metrics
from connector.usecases.pending import scheduled_feature_pending


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return scheduled_feature_pending("FBA reconciliation")
