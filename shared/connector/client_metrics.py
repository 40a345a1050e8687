"""The API clients' throttle, retry and wait counts as metrics (dashboard: "Clients: throttles, retries, waits").

A client may wait or retry thousands of times in one invocation: each is added to one value per metric
(summed) instead of appended, so Powertools does not flush a metric line every 100 values.
"""

from __future__ import annotations

from connector.observability import MetricUnit, metrics


def add_sum(name: str, value: float, unit: MetricUnit = MetricUnit.Count) -> None:
    entry = metrics.metric_set.get(name)
    if entry and entry.get("Value"):
        entry["Value"][-1] += float(value)
    else:
        metrics.add_metric(name=name, unit=unit, value=value)
