"""``import-links`` as a job (docs/cli.md): ``{"action": "start" | "resume" | "status", ...}`` invoked
directly answers at once with the job id; the chunks are worked off from the ImportLinksQueue, one at a
time (connector.usecases.import_job)."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from connector import wiring
from connector.config import ImportLinksEnv
from connector.handlers import Container, each_record, entry
from connector.observability import logger
from connector.usecases.import_job import progress
from connector.usecases.operator import CommandError

CONTAINER = Container(ImportLinksEnv)
jobs = CONTAINER.once(wiring.import_jobs)


def _chunk(record: dict[str, Any]) -> None:
    message = json.loads(record["body"])
    logger.append_keys(import_job=message.get("job"), chunk=message.get("chunk"))
    jobs().work(message)


@entry()
def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    if isinstance(event, dict) and "Records" in event:
        # A failed chunk goes back to the queue: it is redone (idempotent per SKU), after 3 tries the DLQ.
        return each_record(event, _chunk, failed="import chunk failed; it returns to the queue")
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
