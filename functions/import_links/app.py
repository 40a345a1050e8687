"""``import-links`` as a job (docs/cli.md): ``{"action": "start" | "resume" | "status", ...}`` invoked
directly answers at once with the job id; the chunks are worked off from the ImportLinksQueue, one at a
time (connector.usecases.import_job)."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from connector import wiring
from connector.config import ImportLinksEnv, load
from connector.observability import logger, metrics, tracer
from connector.usecases.import_job import ImportJobs, progress
from connector.usecases.operator import CommandError

ENV = load(ImportLinksEnv)
PARTS = wiring.Parts(ENV)


@cache
def jobs() -> ImportJobs:
    return wiring.import_jobs(PARTS)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    if isinstance(event, dict) and "Records" in event:
        failures = []
        for record in event["Records"]:
            try:
                message = json.loads(record["body"])
                logger.append_keys(import_job=message.get("job"), chunk=message.get("chunk"))
                jobs().work(message)
            except Exception:
                # Back to the queue: the chunk is redone (idempotent per SKU), after 3 tries the DLQ.
                logger.exception("import chunk failed; it returns to the queue", extra={"messageId":
                                                                                         record.get("messageId")})
                failures.append({"itemIdentifier": record["messageId"]})
        return {"batchItemFailures": failures}
    if not isinstance(event, dict):
        return {"ok": False, "error": f"the event must be a JSON object with an \"action\", got a JSON "
                                      f"{type(event).__name__}"}
    action = event.get("action")
    try:
        if action == "start":
            return {"ok": True, **jobs().start(event)}
        if action == "resume":
            return {"ok": True, **jobs().resume(event)}
        if action == "status":
            found = progress(jobs().values, str(event.get("job")))  # jobs(): the wiring binds the tables
            if found is None:
                raise CommandError(f"status: no import job {event.get('job')!r}")
            return {"ok": True, **found}
        raise CommandError(f"unknown action {action!r}; expected start, resume or status")
    except CommandError as exc:
        logger.warning("import-links refused", extra={"action": action, "error": str(exc)})
        return {"ok": False, "error": str(exc)}
