"""Every metric the code emits is on the dashboard, and every connector metric the dashboard or an alarm
names is one the code emits (a renamed metric would otherwise leave an empty graph or a silent alarm)."""

import json
import re
from pathlib import Path

from local.aws import load_template

NAMESPACE = "BrightpearlAmazonConnector"
# metrics.add_metric(name="X", ...) and connector.client_metrics.add_sum("X", ...)
EMIT = re.compile(r'(?:add_metric\(\s*name=|add_sum\(\s*)(f?)"([^"]+)"')
# f-string metric names and the values their placeholder takes
EXPANSIONS = {"WebhookRejected{result.status}": ["WebhookRejected400", "WebhookRejected403"]}


def emitted() -> set[str]:
    names: set[str] = set()
    for path in [*Path("shared").rglob("*.py"), *Path("functions").rglob("*.py")]:
        for is_f, name in EMIT.findall(path.read_text(encoding="utf-8")):
            names.update(EXPANSIONS[name] if is_f else [name])
    return names


def _template():
    return load_template()["Resources"]


def on_dashboard() -> set[str]:
    body = _template()["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    widgets = json.loads(body)["widgets"]
    return {m[1] for w in widgets for m in w["properties"]["metrics"] if m[0] == NAMESPACE}


def in_alarms() -> set[str]:
    names = set()
    for res in _template().values():
        if res["Type"] != "AWS::CloudWatch::Alarm":
            continue
        props = res["Properties"]
        if props.get("Namespace") == NAMESPACE:
            names.add(props["MetricName"])
        for q in props.get("Metrics", []):
            metric = (q.get("MetricStat") or {}).get("Metric") or {}
            if metric.get("Namespace") == NAMESPACE:
                names.add(metric["MetricName"])
    return names


def test_every_emitted_metric_is_on_the_dashboard():
    missing = emitted() - on_dashboard()
    assert not missing, f"emitted but not on the dashboard: {sorted(missing)}"


def test_the_dashboard_and_alarms_name_only_metrics_the_code_emits():
    unknown = (on_dashboard() | in_alarms()) - emitted()
    assert not unknown, f"on the dashboard or an alarm but never emitted: {sorted(unknown)}"


def test_the_failure_metrics_are_alarmed():
    failures = {n for n in emitted() if n.endswith(("Failed", "Failures", "Unaccounted", "Misconfigured"))}
    assert failures, "the scan found no failure metric: the regex is broken"
    assert failures <= in_alarms(), f"failure metrics nobody is alarmed on: {sorted(failures - in_alarms())}"
