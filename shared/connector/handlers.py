"""What every handler in ``functions/*/app.py`` shares, said once, so each ``app.py`` says only its own part.

- :class:`Container`: the function's environment model parsed at import (a bad variable fails the cold
  start by name), one :class:`connector.wiring.Parts` for the container's life, and :meth:`Container.once`:
  a use case built by its ``wiring`` builder on the first call and kept for the container's life.
- :func:`entry`: Powertools' decorators in the one order (log context, tracing, metrics flushed last).
- :func:`each_record`: an SQS batch worked record by record, a failing record handed back alone.

The module imports only Powertools (through ``observability``) and ``config``; ``wiring`` is imported
when a container first builds its parts, so the webhook receiver (no wiring) pays nothing for it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, cached_property
from typing import TYPE_CHECKING, Any

from connector.config import ConnectorEnv, load
from connector.observability import logger, metrics, tracer

if TYPE_CHECKING:
    from connector.wiring import Parts

type Handler = Callable[[Any, Any], Any]


class Container[E: ConnectorEnv]:
    """One Lambda container's environment and shared parts.

    ``at_import=False`` leaves the environment to the first call (the approval page: its variables are
    read when a page is first asked for)."""

    def __init__(self, model: type[E], *, at_import: bool = True) -> None:
        self._model = model
        if at_import:
            _ = self.env  # fails the cold start naming any missing variable

    @cached_property
    def env(self) -> E:
        return load(self._model)

    @cached_property
    def parts(self) -> Parts:
        from connector import wiring

        return wiring.Parts(self.env)

    def once[T](self, builder: Callable[[Parts], T]) -> Callable[[], T]:
        """``builder(parts)`` on the first call, the same object after (once per container)."""

        @cache
        def built() -> T:
            return builder(self.parts)

        return built

    def per_region[T](self, builder: Callable[[Parts], T]) -> Callable[[], dict[str, T]]:
        """``builder`` once per Amazon region (code → use case, home first) when the stack has several
        (issue 16, docs/regions.md); empty for a one-region stack, whose handler uses its ``once`` builder."""

        @cache
        def built() -> dict[str, T]:
            from connector import wiring

            regional = wiring.regions(self.parts)
            return {wiring.region_code(p): builder(p) for p in regional} if len(regional) > 1 else {}

        return built

    def per_call[T](self, builder: Callable[[Parts], T]) -> Callable[[], T]:
        """``builder`` over fresh parts on every call: nothing (clients, pacing) carries from one run to
        the next."""
        from connector import wiring

        return lambda: builder(wiring.Parts(self.env))


def entry(*, traced: bool = True, log_event: bool | None = None) -> Callable[[Handler], Handler]:
    """The Lambda entry point's decorators: a fresh log context per invocation (``log_event=False`` whatever
    ``POWERTOOLS_LOGGER_LOG_EVENT`` says, for events that carry a secret), X-Ray tracing when ``traced``,
    metrics flushed at the end."""

    def wrap(fn: Handler) -> Handler:
        inner = metrics.log_metrics(fn)
        if traced:
            inner = tracer.capture_lambda_handler(inner)
        options: dict[str, Any] = {"clear_state": True}
        if log_event is not None:
            options["log_event"] = log_event
        wrapped: Handler = logger.inject_lambda_context(**options)(inner)
        return wrapped

    return wrap


def each_record(event: dict[str, Any], work: Callable[[dict[str, Any]], object], *, failed: str) -> dict[str, Any]:
    """Works each SQS record of ``event``; a record whose work raises is logged (``failed`` says what
    that means) and returned to the queue alone (``batchItemFailures``; after its retries, the DLQ)."""
    failures = []
    for record in event["Records"]:
        try:
            work(record)
        except Exception:
            logger.exception(failed, extra={"messageId": record.get("messageId")})
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
