"""Amazon work per SP-API region as metrics with a ``Region`` dimension (issue 16; the dashboard's "Amazon by
region" graph finds every region by a SEARCH expression, so a new region needs no template change).

Emitted only by a stack with several regions (``AMAZON_OTHER_REGIONS``): a one-region stack's metrics and
logs stay what they were. Each value is its own EMF line (``single_metric``): the Powertools ``metrics``
object carries one dimension set for the whole invocation, and its metrics keep theirs.
"""

from __future__ import annotations

import os

from aws_lambda_powertools.metrics import single_metric

from connector.observability import NAMESPACE, SERVICE, MetricUnit


def region_metric(name: str, value: float, region: str) -> None:
    if os.environ.get("POWERTOOLS_METRICS_DISABLED", "").lower() in ("1", "true"):
        return  # as the Metrics object does (the demo and benchmarks switch metrics off)
    with single_metric(name=name, unit=MetricUnit.Count, value=value, namespace=NAMESPACE,
                       default_dimensions={"service": SERVICE}) as metric:
        metric.add_dimension(name="Region", value=region)
