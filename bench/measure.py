"""What every benchmark measures, and how: each job runs in a fresh process of its own (a Lambda container),
so its CPU time and peak RSS are the job's alone, not the simulators' or moto's, which serve from the
benchmark's process. The container counts every AWS call it makes by service and operation (an event hook
on botocore, so pynamodb's and boto3's calls alike) and reports them as one JSON line.

    out = in_container([{"invoke": "NightlyReconciliationFunction", "event": {"action": "start"}}])
    out.cpu_s, out.peak_rss_mb, out.dynamodb_calls

Platform requests are read from the simulators' journals (``platform_calls``), which see what reached them
(retries and throttled calls included).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bench import limits

ROOT = Path(__file__).resolve().parent.parent
RESULT_TAG = "BENCH-CONTAINER "
MAX_REDELIVERIES = 5  # then the record would be on its way to the DLQ (maxReceiveCount): the bench stops


@dataclass
class ContainerRun:
    results: list[Any]
    cpu_s: float
    wall_s: float
    peak_rss_mb: float
    baseline_rss_mb: float  # at container start (botocore imported), before the handler's imports
    aws_calls: dict[str, int]  # "dynamodb:UpdateItem" -> n
    invocations: int
    redelivered: int = 0  # SQS records a handler reported failed, delivered again
    amazon_paced_s: float = 0.0  # seconds the connector's SP-API pacing would have slept (virtual clock)
    warnings: list[str] = field(default_factory=list)  # the first distinct WARNING/ERROR log messages

    @property
    def dynamodb_calls(self) -> int:
        return sum(n for k, n in self.aws_calls.items() if k.startswith("dynamodb:"))

    def dynamodb_by_operation(self) -> dict[str, int]:
        return {k.split(":", 1)[1]: n for k, n in sorted(self.aws_calls.items()) if k.startswith("dynamodb:")}


def in_container(steps: list[dict[str, Any]], *, env: dict[str, str] | None = None,
                 timeout: float = 3600) -> ContainerRun:
    """Run ``steps`` in a fresh Python process with this process's environment (the stack's endpoints).

    Steps: ``{"invoke": FunctionId, "event": {...}}`` (the handler, as Lambda calls it),
    ``{"invoke": FunctionId, "events": [...]}`` (the same warm container, one event after another),
    ``{"pump": FunctionId, "queue_url": ..., "arn": ..., "batch": 10}`` (its SQS queue until empty),
    ``{"call": "module:function", "kwargs": {...}}`` (a bench-side driver of a use case).
    """
    proc = subprocess.run([sys.executable, "-m", "bench.measure"], input=json.dumps(steps), text=True,
                          capture_output=True, env={**os.environ, **(env or {})}, cwd=ROOT, timeout=timeout,
                          check=False)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT_TAG)]
    for knob, tag in (("BENCH_TRACEMALLOC", "tracemalloc:"), ("BENCH_RSS_PEAK", "rss-peaks:")):
        if os.environ.get(knob) and tag in proc.stderr:
            sys.stderr.write(proc.stderr[proc.stderr.index(tag):])
    if proc.returncode or not lines:
        raise RuntimeError(f"container failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    data = json.loads(lines[-1][len(RESULT_TAG):])
    warnings: list[str] = []
    for ln in proc.stdout.splitlines():  # Powertools logs JSON lines to stdout
        if not ln.startswith("{"):
            continue
        try:
            record = json.loads(ln)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("level") in ("WARNING", "ERROR"):
            msg = str(record.get("message", ""))[:160]
            if msg not in warnings and len(warnings) < 5:
                warnings.append(msg)
    return ContainerRun(**data, warnings=warnings)


def platform_calls(sim: Any, since: int = 0) -> dict[str, int]:
    """Requests a simulator received (from journal index ``since``), by route; control routes left out."""
    out: dict[str, int] = {}
    for e in sim.requests()[since:]:
        if e.path.startswith("/_sim") or e.route in (None, "lwaToken", "oauth-token", "uploadDocument",
                                                      "downloadDocument", "downloadDocumentMirror"):
            continue  # LWA tokens and presigned S3 document transfers have no SP-API quota
        out[e.route] = out.get(e.route, 0) + 1
    return out


def throttled(sim: Any, since: int = 0) -> int:
    return sum(1 for e in sim.requests()[since:] if e.status in (429, 503) and not e.path.startswith("/_sim"))


# ------------------------------------------------------------------ the table
@dataclass
class Row:
    """One figure beside its goal. ``goal`` is the bound the value must not pass (``higher`` flips it);
    ``None`` prints the figure without a verdict (context, e.g. a count with no documented bound)."""

    job: str
    size: str
    metric: str
    value: float
    goal: float | None = None
    unit: str = ""
    higher: bool = False
    note: str = ""
    scales: str = "linear"  # how the scale bench carries it to other sizes: "linear" in the size, or a "ratio"

    @property
    def verdict(self) -> str:
        if self.goal is None:
            return ""
        ok = self.value >= self.goal if self.higher else self.value <= self.goal
        return "PASS" if ok else "FAIL"


def fmt(v: float, unit: str = "") -> str:
    if unit == "x":
        return f"{v:.2f}x"
    if unit == "%":
        return f"{v:.1%}"
    if isinstance(v, float) and not v.is_integer():
        return f"{v:,.2f}{unit}" if abs(v) < 100 else f"{v:,.0f}{unit}"
    return f"{int(v):,}{unit}"


def print_table(rows: Iterable[Row], file: Any = None) -> None:
    rows = list(rows)
    out = file or sys.stdout
    widths = (20, 24, 44, 10, 10)
    head = ("job", "size", "figure", "measured", "goal")
    print("  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)) + "  verdict  note", file=out)
    print("-" * 140, file=out)
    for r in rows:
        goal = "" if r.goal is None else (">= " if r.higher else "<= ") + fmt(r.goal, r.unit)
        cells = (r.job, r.size, r.metric, fmt(r.value, r.unit), goal)
        print("  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + f"  {r.verdict:<7}  {r.note}",
              file=out)
    fails = sum(1 for r in rows if r.verdict == "FAIL")
    passes = sum(1 for r in rows if r.verdict == "PASS")
    print(f"{passes} PASS, {fails} FAIL", file=out)


def rows_json(rows: Iterable[Row]) -> str:
    return json.dumps([{**r.__dict__, "verdict": r.verdict} for r in rows])


@dataclass
class Phase:
    """One container: a function's invocation(s), with the platform calls made while it ran."""

    function_id: str
    run: ContainerRun
    bp: dict[str, int]
    sp: dict[str, int]
    throttled: int = 0
    # Work that stops at a time budget and goes on in the next invocation from where it stopped (a report
    # job's cursor): measured as one pass, counted as the invocations it takes (``Continuation``).
    continues: Continuation | None = None

    def total_seconds(self) -> float:
        """Platform pacing at the documented rates + DynamoDB round trips + the container's measured CPU."""
        feeds = self.sp.get("createFeed", 0)
        return (limits.bp_seconds(sum(self.bp.values())) + limits.sp_seconds(self.sp, feeds)
                + self.run.dynamodb_calls * limits.DYNAMODB_CALL_SECONDS + self.run.cpu_s)

    def invocation_seconds(self) -> list[float]:
        """The simulated time of each invocation (each one has the whole timeout)."""
        total = self.total_seconds()
        if self.continues is not None:
            return self.continues.invocations(total)
        n = max(1, self.run.invocations)
        return [total / n] * n

    def simulated_seconds(self) -> float:
        """The longest invocation's simulated time."""
        return max(self.invocation_seconds())


@dataclass(frozen=True)
class Continuation:
    """How a job that continues where it stopped spends its invocations.

    Each invocation first re-reads the items an earlier one finished (``skip_s`` each: the document is
    downloaded again and read from its start, its rows parsed but not looked up), then works on until
    ``budget_s`` has passed and stops at the end of the chunk it is in (``chunk`` items), as
    ``ReportJobs`` does with ``APPLY_BUDGET_S``. A budget eaten by the re-reading alone never finishes:
    that invocation is counted at the budget and the list ends with ``inf``."""

    budget_s: float
    items: int
    skip_s: float  # re-reading one item already done
    chunk: int

    def invocations(self, total_s: float) -> list[float]:
        if self.items <= 0 or total_s <= 0:
            return [total_s]
        per_item = total_s / self.items
        out: list[float] = []
        done = 0
        while done < self.items:
            skip = done * self.skip_s
            if skip >= self.budget_s or len(out) > 10_000:
                return [*out, math.inf]
            chunks = max(1, math.ceil((self.budget_s - skip) / (per_item * self.chunk)))
            m = min(self.items - done, chunks * self.chunk)
            out.append(skip + m * per_item)
            done += m
        return out


@dataclass
class JobCost:
    """One job at one size: what it cost (its containers) and what it should have cost at least."""

    job: str
    size: int
    items: int  # changed listings / movements / SKUs: what DynamoDB calls are divided by
    item_name: str
    phases: list[Phase]
    bp_bound: int
    sp_bound: int
    extra: list[Row] = field(default_factory=list)

    def total(self, attr: str) -> dict[str, int]:
        out: dict[str, int] = {}
        for ph in self.phases:
            for k, v in getattr(ph, attr).items():
                out[k] = out.get(k, 0) + v
        return out

    @property
    def bp_total(self) -> int:
        return sum(self.total("bp").values())

    @property
    def sp_total(self) -> int:
        return sum(self.total("sp").values())

    @property
    def dynamodb_calls(self) -> int:
        return sum(ph.run.dynamodb_calls for ph in self.phases)

    @property
    def cpu_s(self) -> float:
        return sum(ph.run.cpu_s for ph in self.phases)

    def dynamodb_by_operation(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for ph in self.phases:
            for k, v in ph.run.dynamodb_by_operation().items():
                out[k] = out.get(k, 0) + v
        return out

    def worst(self, key: str) -> tuple[Phase, float]:
        """The phase closest to its Lambda's limit: ``memory`` (peak RSS / MemorySize) or ``time``."""
        def share(ph: Phase) -> float:
            lim = limits.lambda_limits(ph.function_id)
            return ph.run.peak_rss_mb / lim.memory_mb if key == "memory" else ph.simulated_seconds() / lim.timeout_s
        ph = max(self.phases, key=share)
        return ph, share(ph)

    def rows(self, size_label: str | None = None) -> list[Row]:
        size = size_label or f"{self.size:,}"
        out = []
        bp, sp = self.total("bp"), self.total("sp")
        if self.bp_bound:
            out.append(Row(self.job, size, f"Brightpearl requests / bound {self.bp_bound}",
                           self.bp_total / self.bp_bound, limits.PLATFORM_RATIO_GOAL, "x",
                           note=", ".join(f"{k} {v}" for k, v in sorted(bp.items()))))
        elif self.bp_total:
            out.append(Row(self.job, size, "Brightpearl requests (no documented bound)", self.bp_total,
                           note=", ".join(f"{k} {v}" for k, v in sorted(bp.items()))))
        if self.sp_bound:
            out.append(Row(self.job, size, f"Amazon calls / bound {self.sp_bound}", self.sp_total / self.sp_bound,
                           limits.PLATFORM_RATIO_GOAL, "x", note=", ".join(f"{k} {v}" for k, v in sorted(sp.items()))))
        if self.items:
            ops = ", ".join(f"{k} {v}" for k, v in self.dynamodb_by_operation().items())
            out.append(Row(self.job, size, f"DynamoDB calls per {self.item_name}", self.dynamodb_calls / self.items,
                           limits.DDB_PER_ITEM_GOAL,
                           note=f"{self.dynamodb_calls} calls for {self.items} {self.item_name}s: {ops}"))
        out.append(Row(self.job, size, "throttled responses", sum(ph.throttled for ph in self.phases), 0))
        redelivered = sum(ph.run.redelivered for ph in self.phases)
        if redelivered or any(ph.run.warnings for ph in self.phases):
            seen = sorted({w for ph in self.phases for w in ph.run.warnings})
            out.append(Row(self.job, size, "SQS records failed and redelivered", redelivered, 0,
                           note="; ".join(seen)[:300]))
        ph, share = self.worst("memory")
        lim = limits.lambda_limits(ph.function_id)
        out.append(Row(self.job, size, "peak RSS / configured memory", share, 1 - limits.HEADROOM, "%",
                       note=f"{ph.run.peak_rss_mb:.0f} of {lim.memory_mb} MB ({ph.function_id}; "
                            f"{ph.run.baseline_rss_mb:.0f} MB at container start)"))
        ph, share = self.worst("time")
        lim = limits.lambda_limits(ph.function_id)
        times = ph.invocation_seconds()
        runs = f", {len(times)} invocations continuing where the last stopped" if ph.continues else ""
        out.append(Row(self.job, size, "simulated time / timeout", share, 1 - limits.HEADROOM, "%",
                       note=f"{ph.simulated_seconds():.1f} of {lim.timeout_s} s per invocation "
                            f"({ph.function_id}{runs}); "
                            f"CPU {self.cpu_s:.1f} s in all; the connector's SP-API pacing waited "
                            f"{sum(p.run.amazon_paced_s for p in self.phases):.0f} s"))
        out.extend(replace(e, size=size) for e in self.extra)
        return out


# ------------------------------------------------------------------ the container side
def _container_main() -> None:
    import resource
    import threading
    import time

    steps = json.loads(sys.stdin.read())
    if os.environ.get("BENCH_TRACE"):  # where a slow container spends its time: stacks to stderr
        import faulthandler

        faulthandler.dump_traceback_later(float(os.environ["BENCH_TRACE"]), repeat=True)
    shared = str(ROOT / "shared")
    if shared not in sys.path:
        sys.path.insert(0, shared)
    if os.environ.get("BENCH_TRACEMALLOC"):  # where a container's peak is: the top allocation sites, to stderr
        knob = os.environ["BENCH_TRACEMALLOC"]
        _trace_peak(int(knob) if knob.isdigit() else 8)  # "frames" (or any word): 8 frames deep
    if os.environ.get("BENCH_RSS_PEAK"):  # where RSS rises: the main thread's stack at each new high, to stderr
        _rss_peaks(float(os.environ["BENCH_RSS_PEAK"]))
    import botocore.client

    calls: dict[str, int] = {}
    lock = threading.Lock()
    original = botocore.client.BaseClient._make_api_call

    def counting(self: Any, operation_name: str, api_params: Any) -> Any:
        key = f"{self.meta.service_model.service_name}:{operation_name}"
        with lock:
            calls[key] = calls.get(key, 0) + 1
            if key.startswith("dynamodb:") and api_params.get("TableName") == os.environ.get("GOVERNOR_TABLE"):
                # Also counted apart (not in "dynamodb:" sums): the Brightpearl governor's share of the calls.
                calls[f"governor:{operation_name}"] = calls.get(f"governor:{operation_name}", 0) + 1
        return original(self, operation_name, api_params)

    botocore.client.BaseClient._make_api_call = counting
    runtime = _Handlers()  # not local.runtime: it imports moto, which no Lambda container holds
    paced = _virtual_amazon_pacing()

    def rss_mb() -> float:
        # VmHWM: the peak RSS of this process's own memory map. Not ru_maxrss: Linux carries that across
        # exec from the forked parent (the bench process, with the simulators' data), inflating it.
        try:
            with open("/proc/self/status", encoding="ascii") as fh:
                for line in fh:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            pass
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux

    baseline = rss_mb()
    harness_calls: dict[str, int] = {}
    results: list[Any] = []
    invocations = 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for step in steps:
        if "invoke" in step:
            for event in step.get("events") or [step.get("event") or {}]:
                results.append(_summary(runtime.invoke(step["invoke"], event)))
                invocations += 1
        elif "pump" in step:
            invocations += _pump(runtime, step, results, calls, harness_calls, lock)
        else:
            import importlib

            module, _, fn = step["call"].partition(":")
            results.append(_summary(getattr(importlib.import_module(module), fn)(**step.get("kwargs", {}))))
            invocations += 1
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    for k, n in harness_calls.items():  # the event source mapping's SQS calls are Lambda's, not the job's
        calls[k] -= n
    print(RESULT_TAG + json.dumps({"results": results, "cpu_s": cpu, "wall_s": wall, "peak_rss_mb": rss_mb(),
                                   "baseline_rss_mb": baseline, "aws_calls": {k: v for k, v in calls.items() if v},
                                   "invocations": invocations,
                                   "redelivered": sum(int(st.get("redelivered", 0)) for st in steps),
                                   "amazon_paced_s": paced.slept}, default=str))


def _trace_peak(frames: int) -> None:
    """Diagnosis only (slow): samples tracemalloc every 20 ms and keeps a snapshot of the largest moment; at
    exit prints its top 25 allocation sites (``frames`` deep) to stderr."""
    import atexit
    import threading
    import time
    import tracemalloc

    tracemalloc.start(frames)
    best: dict[str, Any] = {"size": 0, "snap": None}

    def sample() -> None:
        while True:
            current, _peak = tracemalloc.get_traced_memory()
            if current > best["size"] * 1.05:
                best["size"], best["snap"] = current, tracemalloc.take_snapshot()
            time.sleep(0.02)

    threading.Thread(target=sample, daemon=True).start()

    def report() -> None:
        if best["snap"] is None:
            return
        print(f"tracemalloc: largest sampled moment {best['size'] / 1e6:.1f} MB", file=sys.stderr)
        for stat in best["snap"].statistics("traceback")[:25]:
            print(f"{stat.size / 1e6:8.2f} MB {stat.count:9,}  " + " <- ".join(
                f"{f.filename.rsplit('/', 2)[-1]}:{f.lineno}" for f in stat.traceback), file=sys.stderr)

    atexit.register(report)


def _rss_peaks(step_mb: float) -> None:
    """Diagnosis only: samples VmRSS every 5 ms; each time it passes the last high by ``step_mb`` MB records
    the main thread's innermost frames, and at exit prints them (the RSS a job reaches, and in what code;
    tracemalloc's own bookkeeping would multiply the RSS it is meant to explain)."""
    import atexit
    import threading
    import time
    import traceback

    main = threading.main_thread().ident
    highs: list[tuple[float, float, str]] = []
    t0 = time.monotonic()

    def rss() -> float:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    def sample() -> None:
        top = 0.0
        while True:
            now = rss()
            if now > top + step_mb:
                top = now
                frame = sys._current_frames().get(main or 0)
                where = " <- ".join(f"{f.filename.rsplit('/', 2)[-1]}:{f.lineno}:{f.name}" for f in
                                    reversed(traceback.extract_stack(frame)[-14:])) if frame else "?"
                highs.append((time.monotonic() - t0, now, where))
            time.sleep(0.005)

    threading.Thread(target=sample, daemon=True).start()

    def report() -> None:
        print(f"rss-peaks: {len(highs)} highs", file=sys.stderr)
        for t, mb, where in highs:
            print(f"{t:8.2f} s {mb:8.1f} MB  {where}", file=sys.stderr)

    atexit.register(report)


class _VirtualTime:
    """A monotonic clock that runs with real time plus every second "slept", which returns at once."""

    def __init__(self) -> None:
        import time

        self._real = time.monotonic
        self.slept = 0.0

    def monotonic(self) -> float:
        return self._real() + self.slept

    def sleep(self, seconds: float) -> None:
        self.slept += max(0.0, seconds)


def _virtual_amazon_pacing() -> _VirtualTime:
    """The connector paces SP-API calls client-side at the documented rates (``AmazonClients``'s ``clock``
    and ``sleep``). In a container those waits pass on a virtual clock: the same decisions (a wait over
    ``max_wait`` still hands the work back), none of the waiting, and the seconds it would have slept are
    reported. The simulated time charges the documented rates anyway (``limits.sp_seconds``)."""
    from connector.adapters.amazon.client import AmazonClients

    vt = _VirtualTime()
    defaults = AmazonClients.__init__.__kwdefaults__
    assert defaults is not None and "clock" in defaults and "sleep" in defaults
    defaults["clock"], defaults["sleep"] = vt.monotonic, vt.sleep
    return vt


class _Handlers:
    """The template's handlers loaded from their CodeUri, once per container (warm after the first call)."""

    def __init__(self) -> None:
        import yaml

        class Loader(yaml.SafeLoader):
            pass

        Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
        with (ROOT / "template.yaml").open(encoding="utf-8") as fh:
            self.resources = yaml.load(fh, Loader=Loader)["Resources"]
        self.loaded: dict[str, Any] = {}

    def invoke(self, function_id: str, event: dict[str, Any]) -> Any:
        import importlib.util
        import uuid
        from types import SimpleNamespace

        props = self.resources[function_id]["Properties"]
        module_name, _, attr = props["Handler"].rpartition(".")
        if function_id not in self.loaded:
            path = ROOT / props["CodeUri"] / f"{module_name.replace('.', '/')}.py"
            spec = importlib.util.spec_from_file_location(f"lambda_{function_id}", path)
            assert spec and spec.loader
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            self.loaded[function_id] = module
        context = SimpleNamespace(function_name=function_id, memory_limit_in_mb=512, aws_request_id=str(uuid.uuid4()),
                                  invoked_function_arn=f"arn:aws:lambda:eu-west-1:123456789012:function:{function_id}",
                                  get_remaining_time_in_millis=lambda: 60_000)
        return getattr(self.loaded[function_id], attr)(event, context)


def _summary(result: Any) -> Any:
    text = json.dumps(result, default=str)
    return result if len(text) < 20_000 else {"truncated": len(text)}


def _pump(runtime: Any, step: dict[str, Any], results: list[Any], calls: dict[str, int],
          harness: dict[str, int], lock: Any) -> int:
    """Lambda's SQS event source mapping: receive up to ``batch``, invoke, delete what succeeded."""
    import boto3

    from local.queues import receive_batch

    sqs = boto3.client("sqs")
    n = 0
    redeliveries: dict[str, int] = {}

    def own(op: str, k: int = 1) -> None:
        with lock:
            harness[f"sqs:{op}"] = harness.get(f"sqs:{op}", 0) + k

    while True:
        msgs = receive_batch(sqs, step["queue_url"], step.get("batch", 10), lambda: own("ReceiveMessage"))
        if not msgs:
            return n
        event = {"Records": [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                              "attributes": m.get("Attributes", {}), "messageAttributes": {
                                  k: {"stringValue": a.get("StringValue"), "dataType": a.get("DataType", "String"),
                                      "stringListValues": [], "binaryListValues": []}
                                  for k, a in (m.get("MessageAttributes") or {}).items()},
                              "md5OfBody": m.get("MD5OfBody", ""), "eventSource": "aws:sqs",
                              "eventSourceARN": step["arn"], "awsRegion": "eu-west-1"} for m in msgs]}
        out = runtime.invoke(step["pump"], event) or {}
        n += 1
        results.append(_summary(out))
        failed = {f["itemIdentifier"] for f in out.get("batchItemFailures", [])}
        for m in msgs:
            if m["MessageId"] not in failed:
                own("DeleteMessage")
                sqs.delete_message(QueueUrl=step["queue_url"], ReceiptHandle=m["ReceiptHandle"])
            else:  # back on the queue, as Lambda leaves it; visible at once (its visibility timeout "passed")
                redeliveries[m["MessageId"]] = redeliveries.get(m["MessageId"], 0) + 1
                if redeliveries[m["MessageId"]] > MAX_REDELIVERIES:
                    raise RuntimeError(f"{step['pump']}: a record failed {MAX_REDELIVERIES + 1} times: {out}")
                own("ChangeMessageVisibility")
                sqs.change_message_visibility(QueueUrl=step["queue_url"], ReceiptHandle=m["ReceiptHandle"],
                                              VisibilityTimeout=0)
        step["redelivered"] = sum(redeliveries.values())


if __name__ == "__main__":
    _container_main()
