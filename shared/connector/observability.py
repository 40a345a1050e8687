"""One Logger, Tracer and Metrics for the whole stack (Powertools).

Service name and metrics namespace come from POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE,
set once in template.yaml's Globals, so every function logs and measures under the same names and
the dashboard can aggregate them.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

# The template sets both variables; the defaults (the same values) only matter when the code is
# imported elsewhere first (a script, a test module), so metrics never lose their namespace.
SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "brightpearl-amazon-connector")
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "BrightpearlAmazonConnector")

# Modules Tracer patches: the clients the connector uses (AWS, Brightpearl, SP-API), not patch_all's ~20.
TRACED_MODULES = ("botocore", "requests", "httpx")

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


@cache
def _tracer() -> Tracer:
    """The real Tracer, built on the first traced invocation. Issue 14: at import it cost ~0.95x
    ``import boto3`` of cold start (the X-Ray SDK, and importing requests and httpx only to patch them).
    Now nothing is patched up front: each of :data:`TRACED_MODULES` is patched when the container first
    imports it (at once if it already has), through wrapt's post-import hooks (wrapt is the X-Ray SDK's
    own patching library). A module is always patched before its first call, so a trace shows what it
    showed before: the ``## handler`` subsegment (ColdStart and Service annotations), and a subsegment per
    AWS call (DynamoDB, SQS, SES, Secrets Manager), Brightpearl request (requests) and SP-API call
    (httpx). Lambda's active tracing records the Init and Invoke phases as before."""
    from aws_lambda_powertools import Tracer

    real = Tracer(service=SERVICE, auto_patch=False)
    if not real.disabled:  # outside Lambda (tests, benches) Powertools disables tracing: nothing to patch
        import wrapt

        for name in TRACED_MODULES:
            wrapt.register_post_import_hook(_patcher(real, name), name)
    return real


def _patcher(real: Tracer, name: str) -> Callable[[Any], None]:
    def patch(_module: Any) -> None:
        real.patch([name])
    return patch


class LazyTracer:
    """Stands in for Powertools' ``Tracer`` at import: the decorators wrap now and build the real tracer
    (:func:`_tracer`) on the first call; anything else (``put_annotation``...) builds it when used."""

    def capture_lambda_handler(self, lambda_handler: Callable[..., Any] | None = None,
                               **options: Any) -> Callable[..., Any]:
        return self._lazy("capture_lambda_handler", lambda_handler, options)

    def capture_method(self, method: Callable[..., Any] | None = None, **options: Any) -> Callable[..., Any]:
        return self._lazy("capture_method", method, options)

    @staticmethod
    def _lazy(decorator: str, fn: Callable[..., Any] | None, options: dict[str, Any]) -> Callable[..., Any]:
        if fn is None:  # used as @tracer.capture_method(capture_response=False)
            return lambda f: LazyTracer._lazy(decorator, f, options)
        traced: list[Callable[..., Any]] = []

        @functools.wraps(fn)
        def call(*args: Any, **kwargs: Any) -> Any:
            if not traced:
                traced.append(getattr(_tracer(), decorator)(fn, **options))
            return traced[0](*args, **kwargs)
        return call

    def __getattr__(self, name: str) -> Any:
        return getattr(_tracer(), name)


tracer = LazyTracer()

__all__ = ["MetricUnit", "logger", "metrics", "tracer"]
