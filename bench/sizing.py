"""Lambda memory per function, chosen from each function's measured peak RSS at its merchant work size.

    python -m bench.sizing --quick      # the scale jobs at their quick sizes (what docs/performance.md shows)
    python -m bench.sizing              # the scale jobs at their full measured sizes

Every scale job (``bench/scale.py``: MFN nightly, sync-on, FBA reconciliation, import-links, ledger
ingest, inbound receipt) runs for real at its two measured sizes, each in a fresh process of its own, and
is extrapolated along the same straight line as the scale bench to its largest merchant size (100 000
SKUs, 5 M ledger rows, 500 open shipments); the webhook storm runs at its measured size (a stock-change
batch is bounded by the queue's BatchSize, not by the catalogue). Per function the largest peak RSS over
every job it takes part in is its need. A function no job runs keeps its setting: only its first call's
peak RSS is known (``bench/cold_start.py``: its import and the imports its first invocation adds), not
what its work needs, and the table says so.

The chosen ``MemorySize`` is the smallest multiple of 64 MB (128 at least) that

- leaves >= 30 % headroom over that peak (issue 14), and
- lets the invocation's simulated time fit its ``Timeout`` with the same headroom once its CPU is
  stretched by the CPU share Lambda gives that memory: a function has the equivalent of one vCPU at
  1 769 MB and a proportional share below (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html),
  so measured CPU seconds (the work's, and a cold start's imports) take ``1769 / MemorySize`` times as
  long below 1 769 MB. Where this second rule sets the size, more memory buys time and the table says so.

Where no memory gives both (the peak needs more than Lambda's 10 240 MB, or the work does not fit 70 % of
the timeout even at a full vCPU) the setting is kept and the line says ``job must change``: memory cannot
fix a job whose memory or time grows with the work.

It prints the table docs/performance.md records, and the template lines to paste (one ``MemorySize:``
per function). Linear extrapolation from small runs is optimistic where a cost grows faster than the work,
so read the peaks as "at least".
"""

from __future__ import annotations

import dataclasses
import json
import math
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

from bench import limits

TAG = "SIZING-PHASES "
FULL_VCPU_MB = 1769  # https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html
STEP_MB, MIN_MB, MAX_MB = 64, 128, 10240


@dataclass(frozen=True)
class JobSpec:
    name: str  # bench/jobs.py function
    unit: str
    target: int  # the merchant size the peak is read at


JOBS = (JobSpec("mfn_nightly", "SKUs", 100_000), JobSpec("sync_on", "SKUs", 100_000),
        JobSpec("fba_reconciliation", "SKUs", 100_000), JobSpec("import_links", "SKUs", 100_000),
        JobSpec("ledger_ingest", "rows", 5_000_000), JobSpec("inbound_receipt", "shipments", 500),
        JobSpec("webhook_storm", "webhooks", 0))


@dataclass
class Need:
    """One function's largest need over the jobs: peak RSS and the time it would take at a memory size."""

    function_id: str
    peak_mb: float
    job: str
    size: str
    cpu_s: float = 0.0  # per invocation, measured on this machine (one full core)
    other_s: float = 0.0  # per invocation: platform pacing and DynamoDB round trips (not CPU)
    cold_cpu_s: float = 0.0  # a cold invocation's imports on top (bench/cold_start.py: the first call)
    unmeasured: bool = False  # no job runs it: ``peak_mb`` is its first call's RSS only
    # A job that continues where it stopped (bench.measure.Continuation's fields): ``cpu_s`` and ``other_s``
    # are then the whole job's, and each invocation stops at its budget, however slow the CPU.
    continues: dict[str, Any] | None = None

    def seconds_at(self, memory_mb: int) -> float:
        """A cold invocation at ``memory_mb``: its CPU (imports and work) stretched by Lambda's CPU share."""
        stretch = max(1.0, FULL_VCPU_MB / memory_mb)
        if self.continues is not None:
            from bench.measure import Continuation

            cont = Continuation(**{**self.continues, "skip_s": self.continues["skip_s"] * stretch})
            return max(cont.invocations(self.other_s + self.cpu_s * stretch)) + self.cold_cpu_s * stretch
        return self.other_s + (self.cpu_s + self.cold_cpu_s) * stretch


def _run_job(spec: JobSpec, quick: bool) -> list[dict]:
    """The job's phases at its target size (extrapolated) as plain dicts; runs in a process of its own."""
    from bench import jobs
    from bench.ledger_stream import run_ingest
    from bench.scale import MEASURED, extrapolate, sliced

    if spec.name == "webhook_storm":
        cost = jobs.webhook_storm(100 if quick else 1_000)
        label = f"{cost.size:,} {spec.unit} measured"
    else:
        run = run_ingest if spec.name == "ledger_ingest" else getattr(jobs, spec.name)
        a, b = MEASURED[spec.name][1 if quick else 0]
        c1, c2 = run(a), run(b)
        # A sliced MFN job (issue 14 item 5): in production slices at the merchant size (bench/scale.py).
        cut = sliced(spec.name, run, a, b, c2)
        cost = extrapolate(c1, c2, spec.target) if cut is None else cut.at(c1, c2, spec.target)
        label = f"{spec.target:,} {spec.unit} extrap. from {a:,}/{b:,}"
    out = []
    for ph in cost.phases:
        if ph.continues is not None:  # the whole job's figures; Need.seconds_at splits it into invocations
            out.append({"function_id": ph.function_id, "peak_mb": ph.run.peak_rss_mb, "cpu_s": ph.run.cpu_s,
                        "other_s": ph.total_seconds() - ph.run.cpu_s, "job": cost.job, "size": label,
                        "continues": dataclasses.asdict(ph.continues)})
            continue
        cpu = ph.run.cpu_s / max(1, ph.run.invocations)
        out.append({"function_id": ph.function_id, "peak_mb": ph.run.peak_rss_mb, "cpu_s": cpu,
                    "other_s": ph.simulated_seconds() - cpu, "job": cost.job, "size": label})
    return out


def choose(need: Need, timeout_s: int) -> tuple[int, str]:
    """The smallest memory with 30 % headroom over the peak and over the timeout; 0 (keep the setting) when
    no memory can give both: then the job must change, not the setting."""
    goal = 1 - limits.HEADROOM
    if need.unmeasured:
        return 0, (f"kept: no job measures its work (its first call alone peaks at {need.peak_mb:.0f} MB and "
                   f"would take {need.seconds_at(MIN_MB):.1f} s of CPU at {MIN_MB} MB)")
    for_rss = max(MIN_MB, math.ceil(need.peak_mb / goal / STEP_MB) * STEP_MB)
    if for_rss > MAX_MB:
        return 0, (f"job must change: needs {for_rss} MB for its peak, over Lambda's {MAX_MB} MB (its memory "
                   "grows with the work)")
    if need.seconds_at(for_rss) <= goal * timeout_s:
        return for_rss, "memory (peak RSS + 30 %)"
    for mb in range(for_rss, MAX_MB + 1, STEP_MB):
        if need.seconds_at(mb) <= goal * timeout_s:
            return mb, f"CPU: at {for_rss} MB it would take {need.seconds_at(for_rss):.0f} s of {timeout_s} s"
    return 0, (f"job must change: {need.seconds_at(FULL_VCPU_MB):.0f} s at one vCPU or more, over 70 % of its "
               f"{timeout_s} s timeout at any memory (its peak alone would need {for_rss} MB)")


def needs(quick: bool) -> dict[str, Need]:
    from bench.cold_start import measure

    out: dict[str, Need] = {}
    for spec in JOBS:
        t0 = time.monotonic()
        cmd = [sys.executable, "-m", "bench.sizing", "--job", spec.name] + (["--quick"] if quick else [])
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        got = [ln for ln in proc.stdout.splitlines() if ln.startswith(TAG)]
        if proc.returncode or not got:
            raise RuntimeError(f"{spec.name}: failed (exit {proc.returncode})\n{proc.stderr[-3000:]}")
        for ph in json.loads(got[-1][len(TAG):]):
            seen = out.setdefault(ph["function_id"], Need(ph["function_id"], 0.0, "", ""))
            if ph["peak_mb"] > seen.peak_mb:  # the largest peak, and apart from it the longest invocation
                seen.peak_mb, seen.job, seen.size = ph["peak_mb"], ph["job"], ph["size"]
            probe = Need(ph["function_id"], 0.0, "", "", ph["cpu_s"], ph["other_s"], continues=ph.get("continues"))
            if probe.seconds_at(FULL_VCPU_MB) > seen.seconds_at(FULL_VCPU_MB):
                seen.cpu_s, seen.other_s, seen.continues = ph["cpu_s"], ph["other_s"], ph.get("continues")
        print(f"  ({spec.name}: {time.monotonic() - t0:.0f} s)", file=sys.stderr)
    cold = measure(3)
    for fid, mb in cold.first_rss_mb.items():
        if fid not in out:  # no job runs it: only what its first call loads is known
            out[fid] = Need(fid, mb, "no job: its first call's RSS", "", unmeasured=True)
        out[fid].cold_cpu_s = statistics.median(cold.first_use[fid])
    return out


def main(argv: list[str]) -> int:
    import local  # noqa: F401 - puts the layer (shared/) on sys.path

    quick = "--quick" in argv
    if "--job" in argv:
        import os

        from local.stack import QUIET

        os.environ.update(QUIET)
        spec = next(s for s in JOBS if s.name == argv[argv.index("--job") + 1])
        print(TAG + json.dumps(_run_job(spec, quick)))
        return 0
    t0 = time.monotonic()
    found = needs(quick)
    print(f"bench.sizing{' --quick' if quick else ''} in {time.monotonic() - t0:.0f} s: MemorySize per function "
          f"from its peak RSS at the merchant size (>= 30 % headroom) and its CPU-stretched time (1 vCPU at "
          f"{FULL_VCPU_MB} MB)")
    head = f"{'function':31} {'peak MB':>8} {'from':40} {'now MB':>6} {'chosen':>6}  why"
    print(head + "\n" + "-" * len(head))
    lines = []
    for fid in sorted(found):
        need, lim = found[fid], limits.lambda_limits(fid)
        mb, why = choose(need, lim.timeout_s)
        at = mb or lim.memory_mb
        print(f"{fid:31} {need.peak_mb:8.0f} {(need.job + ', ' + need.size)[:40]:40} {lim.memory_mb:6} "
              f"{mb or '-':>6}  {why}; {need.seconds_at(at):.0f} of {lim.timeout_s} s per invocation at {at} MB")
        lines.append(f"  {fid}: MemorySize: {mb}" if mb else f"  {fid}: keep {lim.memory_mb} (job must change)")
    print("template.yaml:\n" + "\n".join(lines))
    print(TAG + json.dumps({fid: n.__dict__ for fid, n in sorted(found.items())}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
