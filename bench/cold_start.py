"""Cold start: the CPU each function's handler import costs, against ``import boto3``, in the same run.

Each sample is a fresh Python process (as a new Lambda container is), timing only the import inside it
(interpreter start-up is the same for both and is left out) as CPU time (``time.process_time``: the
import is single-threaded, and CPU is what a loaded machine disturbs least). The environment is what
Lambda gives the function: the template's Globals plus the function's own variables, resolved with the
local parameters (nothing is called at import, so no AWS is needed), and ``LAMBDA_TASK_ROOT`` set with
``POWERTOOLS_TRACE_DISABLED`` unset, so Powertools' Tracer patches what it patches in Lambda (outside
Lambda it disables itself and the X-Ray cost would go unseen).

Rounds are interleaved: each round samples ``import boto3`` once and every handler once, in a shuffled
order, so machine load drifting during the run affects the baseline and the handlers alike. Printed per
function: the median import CPU over the rounds, its ratio to the run's median ``import boto3``, and the
spread (the ratios of the 25th and 75th percentile samples). Goals from issue 14: webhook <= 1.3x,
heaviest <= 2.5x.

    python -m bench.cold_start            # COLD_START_SAMPLES rounds (default 15)
    python -m bench cold_start            # the same as table rows
"""

from __future__ import annotations

import ast
import json
import os
import random
import re
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = int(os.environ.get("COLD_START_SAMPLES", "15"))
WEBHOOK = "BrightpearlWebhookFunction"
GOALS = {WEBHOOK: 1.3}
HEAVIEST_GOAL = 2.5

_CHILD = """
import importlib, importlib.abc, importlib.util, sys, time
sys.path.insert(0, {shared!r})
BLOCKED = frozenset({blocked!r})


class NotInLayer(importlib.abc.MetaPathFinder):
    # Only the layer's distributions are importable, as in Lambda: e.g. httpx imports click and pygments
    # for its command line when they happen to be installed (here: by the dev tools), not in the layer.
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}} (not in the layer)", name=name)
        return None


sys.meta_path.insert(0, NotInLayer())
t = time.process_time()
{body}
took = time.process_time() - t
hwm = [ln.split()[1] for ln in open("/proc/self/status") if ln.startswith("VmHWM:")]
print("rss_kb", hwm[0] if hwm else 0)
print(took)
"""

# What the template's !Ref / !Sub values resolve to here: a plausible value of the right shape per
# resource type (queues are URLs, tables and secrets are names), so every env model parses.
_REF_BY_TYPE = {"AWS::SQS::Queue": "https://sqs.eu-west-1.amazonaws.com/123456789012/{}",
                "AWS::DynamoDB::Table": "connector-{}", "AWS::SecretsManager::Secret": "connector/{}"}


def _resolve(value: Any, parameters: dict[str, str], resources: dict[str, Any]) -> str:
    if isinstance(value, dict) and len(value) == 1:
        (key, arg), = value.items()
        if key == "Ref" and arg in parameters:
            return parameters[arg]
        if key == "Ref" and arg in resources:
            return _REF_BY_TYPE.get(resources[arg]["Type"], "{}").format(arg)
        if key == "Fn::Sub":
            return "https://pages.execute-api.eu-west-1.amazonaws.com/local"  # the only !Sub: PAGE_BASE_URL
        raise ValueError(f"cannot resolve {value!r} for the cold-start environment")
    return str(value)


def function_envs() -> dict[str, tuple[str, dict[str, str]]]:
    """Each function of the template: its CodeUri and the environment Lambda gives it at cold start."""
    from local.aws import LOCAL_PARAMETERS, load_template

    template = load_template()
    parameters = {**LOCAL_PARAMETERS, "BrightpearlBaseUrl": "https://euw1.brightpearlconnect.com"}
    resources = template["Resources"]
    base = {k: v for k, v in os.environ.items()
            if k not in ("POWERTOOLS_TRACE_DISABLED", "AWS_ENDPOINT_URL") and not k.startswith("AWS_SAM")}
    base.update({"AWS_DEFAULT_REGION": "eu-west-1", "AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "x",
                 "AWS_SECRET_ACCESS_KEY": "x", "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
                 "PYTHONDONTWRITEBYTECODE": "1", "POWERTOOLS_METRICS_DISABLED": "true"})
    glob = template["Globals"]["Function"]["Environment"]["Variables"]
    out: dict[str, tuple[str, dict[str, str]]] = {}
    for name, res in resources.items():
        if res["Type"] != "AWS::Serverless::Function":
            continue
        props = res["Properties"]
        own = props.get("Environment", {}).get("Variables", {})
        env = dict(base)
        env.update({k: _resolve(v, parameters, resources) for k, v in {**glob, **own}.items()})
        env.update({"LAMBDA_TASK_ROOT": str(ROOT / props["CodeUri"]), "AWS_LAMBDA_FUNCTION_NAME": name,
                    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(props.get("MemorySize", 512))})
        out[name] = (props["CodeUri"], env)
    return out


@cache
def not_in_layer() -> tuple[str, ...]:
    """Top-level modules installed here whose distribution is not in the Lambda layer: the layer is
    ``shared/requirements.txt`` (with its extras) and everything those require, transitively."""
    import importlib.metadata as md

    wanted: set[str] = set()

    def norm(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    def walk(name: str, extras: tuple[str, ...] = ()) -> None:
        if norm(name) in wanted:
            return
        wanted.add(norm(name))
        try:
            requires = md.distribution(name).requires or []
        except md.PackageNotFoundError:
            return  # a marker-only dependency of another Python version
        for req in requires:
            dep, _, marker = req.partition(";")
            needs = re.findall(r"extra\s*==\s*[\"']([^\"']+)[\"']", marker)
            if needs and not set(needs) & set(extras):
                continue
            walk(re.match(r"[A-Za-z0-9_.\-]+", dep.strip()).group(0))  # type: ignore[union-attr]

    for line in (ROOT / "shared" / "requirements.txt").read_text(encoding="utf-8").splitlines():
        m = re.match(r"([A-Za-z0-9_.\-]+)(?:\[([^\]]*)\])?", line.strip())
        if m and not line.lstrip().startswith("#"):
            walk(m.group(1), tuple(e.strip() for e in (m.group(2) or "").split(",")))
    return tuple(sorted(top for top, dists in md.packages_distributions().items()
                        if not any(norm(d) in wanted for d in dists)))


def _run(body: str, env: dict[str, str]) -> tuple[float, float]:
    """CPU seconds of ``body`` in a fresh process, and the process's peak RSS in MB after it."""
    code = _CHILD.format(shared=str(ROOT / "shared"), blocked=not_in_layer(), body=body)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False,
                         cwd=ROOT)
    if out.returncode:
        raise RuntimeError(f"cold-start sample failed: {body.splitlines()[0]}\n{out.stderr[-3000:]}")
    lines = out.stdout.strip().splitlines()
    rss = next((float(ln.split()[1]) / 1024 for ln in lines if ln.startswith("rss_kb ")), 0.0)
    return float(lines[-1]), rss


def handler_body(code_uri: str) -> str:
    """Load ``app.py`` of ``code_uri`` as Lambda's runtime does (module ``app`` from the code directory)."""
    path = ROOT / code_uri / "app.py"
    return (f"spec = importlib.util.spec_from_file_location('app', {str(path)!r})\n"
            "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)")


def first_use_modules(code_uri: str) -> list[str]:
    """What the function's first invocation imports on top of its handler's import: the imports inside
    the handler module's functions, and those of the ``wiring`` builders it calls, followed through the
    builders and ``Parts`` properties they use (read from the source, so the list follows the code)."""
    app = ast.parse((ROOT / code_uri / "app.py").read_text(encoding="utf-8"))
    # the composition root's package (connector/wiring/: parts, builders, regions) read as one module
    wiring = [n for f in sorted((ROOT / "shared" / "connector" / "wiring").glob("*.py"))
              for n in ast.parse(f.read_text(encoding="utf-8")).body]
    builders = {n.name: n for n in wiring if isinstance(n, ast.FunctionDef)}
    parts = next(n for n in wiring if isinstance(n, ast.ClassDef) and n.name == "Parts")
    props = {n.name: n for n in parts.body if isinstance(n, ast.FunctionDef)}
    modules: list[str] = []
    seen: set[str] = set()

    def visit(node: ast.AST) -> None:
        for n in ast.walk(node):
            if isinstance(n, ast.ImportFrom) and n.module and n.level == 0:
                # ``from connector.adapters import store``: the names may be submodules
                modules.extend(m for m in (n.module, *(f"{n.module}.{a.name}" for a in n.names)) if m not in modules)
            elif isinstance(n, ast.Import):
                modules.extend(a.name for a in n.names if a.name not in modules)
            elif isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in builders:
                if n.func.id not in seen:
                    seen.add(n.func.id)
                    visit(builders[n.func.id])
            elif (isinstance(n, ast.Attribute) and n.attr in props and f"Parts.{n.attr}" not in seen
                  and ((isinstance(n.value, ast.Name) and n.value.id in ("parts", "self"))
                       or (isinstance(n.value, ast.Attribute) and n.value.attr == "parts"))):  # CONTAINER.parts.x
                seen.add(f"Parts.{n.attr}")
                visit(props[n.attr])

    for fn in (n for n in app.body if isinstance(n, ast.FunctionDef)):
        visit(fn)
    # The builders the handler names (``CONTAINER.once(wiring.nightly)`` at module level, or in a function):
    # each is called on the first invocation.
    for n in ast.walk(app):
        if (isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "wiring"
                and n.attr in builders and n.attr not in seen):
            seen.add(n.attr)
            visit(builders[n.attr])
    return [m for m in modules if m != "__future__" and not m.startswith("typing")]


def traced(code_uri: str) -> bool:
    """Whether the handler is traced: ``@entry()`` (connector.handlers) unless ``traced=False``, or a
    ``tracer.`` decorator of its own."""
    source = (ROOT / code_uri / "app.py").read_text(encoding="utf-8")
    return "tracer." in source or re.search(r"@entry\((?![^)]*traced=False)", source) is not None


def first_use_body(code_uri: str) -> str:
    """The handler's import, then its first invocation's imports and (traced functions) the Tracer."""
    body = handler_body(code_uri) + f"\nfor name in {first_use_modules(code_uri)!r}:\n"
    body += "    try:\n        importlib.import_module(name)\n"
    body += "    except ModuleNotFoundError as exc:  # a name imported from a module, not a submodule\n"
    body += "        if exc.name != name:\n            raise\n"
    if traced(code_uri):
        body += "from connector.observability import _tracer\n_tracer()\n"
    return body


@dataclass
class ColdStart:
    rounds: int
    boto3_s: list[float]
    times: dict[str, list[float]]
    rss_mb: dict[str, float]
    first_use: dict[str, list[float]]  # the import + the first invocation's imports and Tracer
    first_rss_mb: dict[str, float] = field(default_factory=dict)  # peak RSS after those

    def first_use_ratio(self, name: str) -> float:
        return statistics.median(self.first_use[name]) / self.baseline

    @property
    def baseline(self) -> float:
        return statistics.median(self.boto3_s)

    def ratio(self, name: str) -> float:
        return statistics.median(self.times[name]) / self.baseline

    def spread(self, name: str) -> tuple[float, float]:
        """The ratios of the 25th and 75th percentile samples (the middle half of the rounds)."""
        if len(self.times[name]) < 4:
            return min(self.times[name]) / self.baseline, max(self.times[name]) / self.baseline
        q = statistics.quantiles(self.times[name], n=4)
        return q[0] / self.baseline, q[2] / self.baseline

    def baseline_spread(self) -> float:
        """The middle half of the ``import boto3`` samples, relative to their median (0.05 = +-2.5 %)."""
        if len(self.boto3_s) < 4:
            return (max(self.boto3_s) - min(self.boto3_s)) / self.baseline
        q = statistics.quantiles(self.boto3_s, n=4)
        return (q[2] - q[0]) / self.baseline

    def heaviest(self) -> str:
        return max(self.times, key=self.ratio)


def measure(rounds: int = SAMPLES, only: tuple[str, ...] | None = None, seed: int = 0) -> ColdStart:
    import compileall

    # The children write no bytecode: compile the connector's code once, so a module edited since the
    # last run is not compiled again in every sample (the layer's dependencies are compiled by pip).
    compileall.compile_dir(str(ROOT / "shared" / "connector"), quiet=1)
    compileall.compile_dir(str(ROOT / "functions"), quiet=1)
    functions = {k: v for k, v in function_envs().items() if only is None or k in only}
    boto3_env = next(iter(functions.values()))[1]
    rng = random.Random(seed)
    result = ColdStart(rounds, [], {k: [] for k in functions}, {}, {k: [] for k in functions})
    for _ in range(rounds):
        order: list[tuple[str, bool] | None] = [None, *((k, False) for k in functions), *((k, True) for k in functions)]
        rng.shuffle(order)
        for item in order:
            if item is None:
                result.boto3_s.append(_run("import boto3", boto3_env)[0])
                continue
            name, first = item
            uri, env = functions[name]
            if first:
                took, mb = _run(first_use_body(uri), env)
                result.first_use[name].append(took)
                result.first_rss_mb[name] = max(result.first_rss_mb.get(name, 0.0), mb)
                continue
            took, mb = _run(handler_body(uri), env)
            result.times[name].append(took)
            result.rss_mb[name] = max(result.rss_mb.get(name, 0.0), mb)
    return result


def main() -> None:
    r = measure()
    print(f"cold start: {r.rounds} interleaved rounds of fresh processes (import boto3 + every handler, shuffled); "
          f"import boto3 {r.baseline * 1000:.0f} ms CPU median, middle half +-{r.baseline_spread() / 2:.0%}")
    print(f"{'function':32} {'CPU ms':>7} {'x boto3':>8} {'p25-p75':>11} {'RSS MB':>7} {'1st call x':>10}  goal")
    for name in sorted(r.times, key=r.ratio):
        lo, hi = r.spread(name)
        goal = GOALS.get(name, HEAVIEST_GOAL if name == r.heaviest() else None)
        print(f"{name:32} {statistics.median(r.times[name]) * 1000:7.0f} {r.ratio(name):8.2f} "
              f"{lo:5.2f}-{hi:<5.2f} {r.rss_mb[name]:7.1f} {r.first_use_ratio(name):10.2f}  "
              f"{'<= ' + str(goal) if goal else ''}")
    print("1st call: the import plus what the first invocation imports (its wiring builders' adapters and use "
          "cases) and the Tracer it builds, x import boto3; no goal (what moved out of the init phase)")
    heaviest = r.heaviest()
    print(f"webhook: {r.ratio(WEBHOOK):.2f}x (goal <= {GOALS[WEBHOOK]}x); "
          f"heaviest: {heaviest} {r.ratio(heaviest):.2f}x (goal <= {HEAVIEST_GOAL}x)")
    print(json.dumps({"boto3_ms": round(r.baseline * 1000), "ratios": {k: round(r.ratio(k), 2) for k in r.times}}))


def rows(samples: int | None = None, only: tuple[str, ...] | None = None) -> list:
    """The same measurement as ``main``, as table rows (webhook and heaviest against their goals);
    ``only``: these functions (the smoke test's shortcut), else every function of the template."""
    from bench.measure import Row

    r = measure(samples or SAMPLES, only)
    size = f"{r.rounds} rounds"
    lo, hi = r.spread(WEBHOOK)
    out = [Row("cold start", size, "webhook import CPU / import boto3", r.ratio(WEBHOOK), GOALS[WEBHOOK], "x",
               note=f"import boto3 {r.baseline * 1000:.0f} ms CPU median (+-{r.baseline_spread() / 2:.0%}); "
                    f"webhook p25-p75 {lo:.2f}-{hi:.2f}")]
    heaviest = r.heaviest()
    lo, hi = r.spread(heaviest)
    out.append(Row("cold start", size, f"heaviest ({heaviest}) / boto3", r.ratio(heaviest), HEAVIEST_GOAL, "x",
                   note=f"p25-p75 {lo:.2f}-{hi:.2f}; "
                        + ", ".join(f"{k.removesuffix('Function')} {r.ratio(k):.2f}" for k in sorted(r.times))))
    first = max(r.first_use, key=r.first_use_ratio)
    out.append(Row("cold start", size, f"import + 1st call's imports ({first}) / boto3", r.first_use_ratio(first),
                   note="what a cold request pays before its own work (no goal); " + ", ".join(
                       f"{k.removesuffix('Function')} {r.first_use_ratio(k):.2f}" for k in sorted(r.times))))
    fattest = max(r.rss_mb, key=lambda k: r.rss_mb[k])
    out.append(Row("cold start", size, f"RSS after import, MB ({fattest})", r.rss_mb[fattest],
                   note="the floor every invocation of that function starts from"))
    return out


if __name__ == "__main__":
    main()
