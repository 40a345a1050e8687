"""Operator commands, invoked directly (e.g. `sam remote invoke OperatorFunction --event '{...}'`)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from connector.config import MfnSyncEnv, load
from connector.observability import logger, metrics, tracer
from connector.usecases.operator import CommandError, Operator

ENV = load(MfnSyncEnv)


def _operator() -> Operator:
    from connector.adapters.brightpearl.factory import brightpearl_client
    from connector.adapters.repositories import LinkRepository, SettingsRepository
    from connector.wiring import mfn_sync

    sync = mfn_sync(ENV)
    return Operator(sync=sync, links=LinkRepository(), settings=SettingsRepository(), seller_id=ENV.amazon_seller_id,
                    brightpearl=brightpearl_client(ENV))


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    if not isinstance(event, dict):
        # `sam remote invoke --event '[...]'` or a bare string: refuse by name instead of crashing.
        return {"ok": False, "error": f"the event must be a JSON object with a \"command\" field, "
                                      f"got a JSON {type(event).__name__}"}
    try:
        result = _operator().run(event)
    except CommandError as exc:
        logger.warning("operator command refused", extra={"command": event.get("command"), "error": str(exc)})
        return {"ok": False, "error": str(exc)}
    logger.info("operator command done", extra={"command": event.get("command")})
    return {"ok": True, **result}
