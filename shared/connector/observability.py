"""One Logger, Tracer and Metrics for the whole stack (Powertools).

Service name and metrics namespace come from POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE,
set once in template.yaml's Globals, so every function logs and measures under the same names and
the dashboard can aggregate them.
"""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

# The template sets both variables; the defaults (the same values) only matter when the code is
# imported elsewhere first (a script, a test module), so metrics never lose their namespace.
SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "brightpearl-amazon-connector")
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "BrightpearlAmazonConnector")

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)

__all__ = ["MetricUnit", "logger", "metrics", "tracer"]
