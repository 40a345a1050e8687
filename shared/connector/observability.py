"""One Logger, Tracer and Metrics for the whole stack (Powertools).

Service name and metrics namespace come from POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE,
set once in template.yaml's Globals, so every function logs and measures under the same names and
the dashboard can aggregate them.
"""

from __future__ import annotations

import os
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

# Modules Tracer patches: the clients the connector uses, not patch_all's ~20 (each costs import time).
TRACED_MODULES = ("botocore", "requests", "httpx")

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


@cache
def _tracer() -> Tracer:
    from aws_lambda_powertools import Tracer

    return Tracer(service=SERVICE, patch_modules=TRACED_MODULES)


def __getattr__(name: str) -> Any:
    # ``tracer`` is built on first import by name: the X-Ray SDK costs ~1x ``import boto3`` at cold
    # start, and the webhook receiver (which answers Brightpearl within seconds) does not trace; Lambda's
    # active tracing still records its invocation.
    if name == "tracer":
        return _tracer()
    raise AttributeError(name)

__all__ = ["MetricUnit", "logger", "metrics"]  # and ``tracer``, built on first use (below)
