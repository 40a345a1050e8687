"""Cold start: how long importing each function's handler takes, against ``import boto3``.

Each sample is a fresh Python process (as a new Lambda container is), timing only the import inside
it (interpreter start-up is the same for both and is left out). The environment is the template's
Globals with placeholder values: nothing is called at import, so no AWS is needed. Printed per
function: median import time over the samples and its ratio to the median ``import boto3`` of the same
run (goals from the performance issue: webhook <= 1.3x, heaviest <= 2.5x).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = int(os.environ.get("COLD_START_SAMPLES", "7"))
GOALS = {"BrightpearlWebhookFunction": 1.3}
HEAVIEST_GOAL = 2.5

_CHILD = """
import importlib.util, sys, time
sys.path.insert(0, {shared!r})
t = time.perf_counter()
{body}
took = time.perf_counter() - t
hwm = [ln.split()[1] for ln in open("/proc/self/status") if ln.startswith("VmHWM:")]
print("rss_kb", hwm[0] if hwm else 0)
print(took)
"""


def _env() -> dict[str, str]:
    from local.aws import load_template

    env = dict(os.environ)
    for name, value in load_template()["Globals"]["Function"]["Environment"]["Variables"].items():
        env[name] = str(value) if isinstance(value, (str, int)) else "placeholder"
    env.update({"BRIGHTPEARL_ACCOUNT": "acme", "BRIGHTPEARL_BASE_URL": "https://euw1.brightpearlconnect.com",
                "BRIGHTPEARL_REQUESTS_PER_WINDOW": "200", "AMAZON_REGION": "eu",
                "AMAZON_MARKETPLACE_IDS": "A1F83G8C2ARO7P", "AMAZON_SELLER_ID": "A1SELLER",
                "SES_SENDER": "connector@example.com", "ALERT_RECIPIENTS": "ops@example.com",
                "STOCK_CHANGE_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/1/q",
                "NOTIFICATIONS_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/1/n",
                "AWS_DEFAULT_REGION": "eu-west-1", "AWS_REGION": "eu-west-1",
                "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "PYTHONDONTWRITEBYTECODE": "1"})
    return env


def _sample(body: str, env: dict[str, str]) -> float:
    code = _CHILD.format(shared=str(ROOT / "shared"), body=body)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, cwd=ROOT)
    return float(out.stdout.strip().splitlines()[-1])


def _sample_rss(body: str, env: dict[str, str]) -> tuple[float, float]:
    """Import seconds and the process's peak RSS in MB after the import."""
    code = _CHILD.format(shared=str(ROOT / "shared"), body=body)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, cwd=ROOT)
    lines = out.stdout.strip().splitlines()
    rss = next((float(ln.split()[1]) / 1024 for ln in lines if ln.startswith("rss_kb ")), 0.0)
    return float(lines[-1]), rss


def _handler_body(code_uri: str) -> str:
    path = ROOT / code_uri / "app.py"
    return (f"spec = importlib.util.spec_from_file_location('app', {str(path)!r})\n"
            "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)")


def main() -> None:
    from local.aws import load_template

    env = _env()
    functions = {k: v["Properties"]["CodeUri"] for k, v in load_template()["Resources"].items()
                 if v["Type"] == "AWS::Serverless::Function"}
    # Interleave the baseline with the handlers so machine load affects both alike.
    base: list[float] = []
    times: dict[str, list[float]] = {k: [] for k in functions}
    for _ in range(SAMPLES):
        base.append(_sample("import boto3", env))
        for name, uri in functions.items():
            times[name].append(_sample(_handler_body(uri), env))
    b = statistics.median(base)
    print(f"cold start ({SAMPLES} fresh processes each); import boto3: {b * 1000:.0f} ms median")
    print(f"{'function':32} {'import ms':>9} {'x boto3':>8}  goal")
    ratios = {}
    for name in functions:
        m = statistics.median(times[name])
        ratios[name] = m / b
        goal = GOALS.get(name)
        print(f"{name:32} {m * 1000:9.0f} {m / b:8.2f}  {'<= ' + str(goal) if goal else ''}")
    heaviest = max(ratios, key=lambda n: ratios[n])
    print(f"heaviest: {heaviest} {ratios[heaviest]:.2f}x (goal <= {HEAVIEST_GOAL}x)")
    print(json.dumps({"boto3_ms": round(b * 1000), "ratios": {k: round(v, 2) for k, v in ratios.items()}}))


if __name__ == "__main__":
    main()


def rows(samples: int | None = None, only: tuple[str, ...] | None = None) -> list:
    """The same measurement as ``main``, as table rows (webhook and heaviest against their goals);
    ``only``: these functions (the smoke test's shortcut), else every function of the template."""
    from bench.measure import Row
    from local.aws import load_template

    n = samples or SAMPLES
    env = _env()
    functions = {k: v["Properties"]["CodeUri"] for k, v in load_template()["Resources"].items()
                 if v["Type"] == "AWS::Serverless::Function" and (only is None or k in only)}
    base: list[float] = []
    times: dict[str, list[float]] = {k: [] for k in functions}
    rss: dict[str, float] = {}
    for _ in range(n):
        base.append(_sample("import boto3", env))
        for name, uri in functions.items():
            took, mb = _sample_rss(_handler_body(uri), env)
            times[name].append(took)
            rss[name] = max(rss.get(name, 0.0), mb)
    b = statistics.median(base)
    ratios = {name: statistics.median(t) / b for name, t in times.items()}
    heaviest = max(ratios, key=lambda k: ratios[k])
    size = f"{n} samples"
    out = [Row("cold start", size, "webhook import / import boto3", ratios["BrightpearlWebhookFunction"],
               GOALS["BrightpearlWebhookFunction"], "x", note=f"import boto3 {b * 1000:.0f} ms median")]
    out.append(Row("cold start", size, f"heaviest ({heaviest}) / boto3", ratios[heaviest], HEAVIEST_GOAL, "x",
                   note=", ".join(f"{k.removesuffix('Function')} {v:.2f}" for k, v in sorted(ratios.items()))))
    fattest = max(rss, key=lambda k: rss[k])
    out.append(Row("cold start", size, f"RSS after import, MB ({fattest})", rss[fattest],
                   note="the floor every invocation of that function starts from"))
    return out
