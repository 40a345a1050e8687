"""Functions whose feature has not shipped yet.

The stack is deployed whole (queues, schedules, alarms), but a feature's logic arrives with its
issue. Until then a scheduled function only says so in its log and metrics, and a queue consumer
hands every record back as failed: SQS redelivers it and, after three tries, parks it in the
dead-letter queue (alarmed), from where it can be redriven once the feature ships. Nothing is
silently dropped.
"""

from __future__ import annotations

from typing import Any

from connector.observability import MetricUnit, logger, metrics


def scheduled_feature_pending(feature: str) -> dict[str, Any]:
    logger.warning("feature not available in this version; nothing done", extra={"feature": feature})
    metrics.add_metric(name="FeaturePending", unit=MetricUnit.Count, value=1)
    return {"feature": feature, "done": False, "reason": "not available in this version"}


def queued_feature_pending(feature: str, event: dict[str, Any]) -> dict[str, Any]:
    records = event.get("Records") or []
    logger.warning("feature not available in this version; records returned to the queue",
                   extra={"feature": feature, "records": len(records)})
    metrics.add_metric(name="FeaturePending", unit=MetricUnit.Count, value=1)
    return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in records if "messageId" in r]}
