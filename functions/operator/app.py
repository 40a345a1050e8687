"""Operator commands, invoked directly (e.g. `sam remote invoke OperatorFunction --event '{...}'`)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from connector import wiring
from connector.config import MfnSyncEnv
from connector.handlers import Container, entry
from connector.observability import logger
from connector.usecases.operator import CommandError

CONTAINER = Container(MfnSyncEnv)
build = CONTAINER.once(wiring.operator)


@entry()
def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    if not isinstance(event, dict):
        # `sam remote invoke --event '[...]'` or a bare string: refuse by name instead of crashing.
        return {"ok": False, "error": f"the event must be a JSON object with a \"command\" field, "
                                      f"got a JSON {type(event).__name__}"}
    try:
        result = build().run(event)
    except CommandError as exc:
        logger.warning("operator command refused", extra={"command": event.get("command"), "error": str(exc)})
        return {"ok": False, "error": str(exc)}
    logger.info("operator command done", extra={"command": event.get("command")})
    return {"ok": True, **result}
