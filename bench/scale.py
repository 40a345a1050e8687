"""Each job's cost at merchant sizes: 2 000 / 20 000 / 100 000 SKUs (ledger: 100 k / 1 M / 5 M rows;
inbound: 10 / 100 / 500 open shipments of 200 SKUs).

Every job is measured for real at two sizes that fit a bench run (``MEASURED``; smaller with ``--quick``)
and the merchant sizes are extrapolated linearly from those two points, figure by figure (platform requests
per operation, DynamoDB calls per operation, CPU, peak RSS, invocations): the size label says
``measured`` or ``extrap.``. The simulated time per invocation (requests at the documented rates + 5 ms
per DynamoDB call + CPU) is set against each function's timeout from template.yaml, the peak RSS against
its configured memory, both with the 30 % headroom of issue 14.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

from bench.measure import ContainerRun, JobCost, Phase, Row

SKU_SIZES = (2_000, 20_000, 100_000)
LEDGER_SIZES = (100_000, 1_000_000, 5_000_000)
# job -> (full-run sizes, quick-run sizes) measured for real
MEASURED: dict[str, tuple[tuple[int, int], tuple[int, int]]] = {
    # Memory from small runs shows the allocator's pools filling, not the slope: at 200 -> 600 SKUs the
    # nightly's peak grew 5 KB per SKU, at 600 -> 2 000 14 KB. The full sizes are the largest a 10-minute
    # `make bench` allows on 2 cores (moto, not the connector, sets that); --quick is for a look, its
    # memory lines under-read the slope. Both sizes must also be above one link Scan page
    # (link_slices.SCAN_PAGE_LINKS, 1 000 links): a page still filling between them reads as growth (the
    # 11.7 KB per SKU of DynamoDB's 1 MB pages, docs/performance.md). 600 x 3 EU = 1 800 links; --quick's 200 is not.
    "mfn_nightly": ((600, 2_000), (200, 600)),
    # sync-on and import-links confirm by one All Listings report now: no getListingsItem per SKU to wait for
    "sync_on": ((200, 600), (60, 180)),  # both above patch_threshold (20): the feed path
    "fba_reconciliation": ((1_000, 3_000), (300, 900)),
    "import_links": ((200, 600), (60, 180)),
    # Above one ingest chunk (1 000 rows) and one index flush (2 000) at both full sizes.
    "ledger_ingest": ((3_000, 9_000), (1_500, 4_500)),
    "inbound_receipt": ((1, 3), (1, 2)),  # open shipments of 200 SKUs
}
SHIPMENT_SIZES = (10, 100, 500)


def _lin(x1: float, x2: float, n1: int, n2: int, n: int) -> float:
    return max(0.0, x1 + (x2 - x1) * (n - n1) / (n2 - n1))


def _lin_map(a: dict[str, int], b: dict[str, int], n1: int, n2: int, n: int) -> dict[str, int]:
    return {k: math.ceil(_lin(a.get(k, 0), b.get(k, 0), n1, n2, n)) for k in sorted(set(a) | set(b))}


def extrapolate(c1: JobCost, c2: JobCost, n: int) -> JobCost:
    """The job at size ``n``, each figure on the straight line through the two measured runs."""
    n1, n2 = c1.size, c2.size

    def lin(x1: float, x2: float) -> float:
        return _lin(x1, x2, n1, n2, n)

    phases = []
    for p1, p2 in zip(c1.phases, c2.phases, strict=True):
        r1, r2 = p1.run, p2.run
        run = ContainerRun(results=[], cpu_s=lin(r1.cpu_s, r2.cpu_s), wall_s=lin(r1.wall_s, r2.wall_s),
                           peak_rss_mb=lin(r1.peak_rss_mb, r2.peak_rss_mb),
                           baseline_rss_mb=min(r1.baseline_rss_mb, r2.baseline_rss_mb),
                           aws_calls=_lin_map(r1.aws_calls, r2.aws_calls, n1, n2, n),
                           invocations=max(1, math.ceil(lin(r1.invocations, r2.invocations))),
                           redelivered=math.ceil(lin(r1.redelivered, r2.redelivered)),
                           amazon_paced_s=lin(r1.amazon_paced_s, r2.amazon_paced_s),
                           warnings=sorted(set(r1.warnings) | set(r2.warnings)))
        # A continuing job keeps its budget and per-item re-read cost; its item count grows with the size.
        cont = p2.continues and replace(p2.continues, items=math.ceil(lin(p1.continues.items if p1.continues
                                                                          else 0, p2.continues.items)))
        phases.append(Phase(p1.function_id, run, _lin_map(p1.bp, p2.bp, n1, n2, n), _lin_map(p1.sp, p2.sp, n1, n2, n),
                            math.ceil(lin(p1.throttled, p2.throttled)), cont or None))
    # Counts grow along the line; ratios (per item, against a bound) keep the larger measured size's value.
    extra = [e2 if e1.scales == "ratio" else replace(e1, value=lin(e1.value, e2.value))
             for e1, e2 in zip(c1.extra, c2.extra, strict=True)]
    return JobCost(c1.job, n, math.ceil(lin(c1.items, c2.items)), c1.item_name, phases,
                   math.ceil(lin(c1.bp_bound, c2.bp_bound)), math.ceil(lin(c1.sp_bound, c2.sp_bound)), extra=extra)


# The MFN jobs that plan and push in slices (issue 14 item 5), with their links per SKU in the bench's world.
SLICED = {"mfn_nightly": 3, "sync_on": 3, "import_links": 1}
PRODUCTION_SLICE_LINKS = 25_000  # domain/slices.py: MAX_LINKS (MFN_SLICE_LINKS's default)


@dataclass
class Sliced:
    """What slicing changes. In production a run holds at most one slice (25 000 links) and one feed's sends
    (25 000) at a time; at the bench's sizes both hold the whole run, so ``small_a`` / ``small_b`` run the
    job again in slices of 250 links and feeds of about a quarter of ``b``'s sends: their slope is what still
    grows beyond a slice and a feed.

    - peak RSS at n: the production line up to one feed of SKUs (``FEED_SKUS``: what one slice and one feed
      hold, an upper bound), then the small runs' slope beyond it;
    - Brightpearl requests, DynamoDB calls, CPU: each extra slice's cost ((small_b - whole_b) / its extra
      slices), once per production slice beyond the first; Amazon's are the production line's (feeds are
      carried over from slice to slice, never split by them).
    """

    name: str
    a: int
    b: int
    whole: JobCost
    small_a: JobCost
    small_b: JobCost

    def slices_at(self, n: int, slice_links: int) -> int:
        return max(1, math.ceil(n * SLICED[self.name] / slice_links))

    def beyond_mb_per_sku(self) -> list[float]:
        """Per phase (a function can have several: the report's pass and the feed's result)."""
        return [max(0.0, (p2.run.peak_rss_mb - p1.run.peak_rss_mb) / (self.b - self.a))
                for p1, p2 in zip(self.small_a.phases, self.small_b.phases, strict=True)]

    def at(self, c1: JobCost, c2: JobCost, n: int) -> JobCost:
        """The job at merchant size ``n`` in production slices (``c1``, ``c2``: the production runs at a, b)."""
        from bench.jobs import BENCH_SLICE_LINKS

        line = extrapolate(c1, c2, n)
        if n <= FEED_SKUS:
            return line
        one = extrapolate(c1, c2, FEED_SKUS)
        extra = self.slices_at(n, PRODUCTION_SLICE_LINKS) - 1
        bench_extra = max(1, self.slices_at(self.b, BENCH_SLICE_LINKS) - 1)
        beyond = self.beyond_mb_per_sku()
        phases = []
        for ph, p1, p0, ps, slope in zip(line.phases, one.phases, self.whole.phases, self.small_b.phases, beyond,
                                         strict=True):
            def more(m0: dict[str, int], ms: dict[str, int], into: dict[str, int]) -> dict[str, int]:
                return {k: into.get(k, 0) + math.ceil(max(0, ms.get(k, 0) - m0.get(k, 0)) / bench_extra * extra)
                        for k in sorted(set(into) | set(ms))}

            calls = {k: v for k, v in ps.run.aws_calls.items() if k.startswith("dynamodb:")}
            run = replace(ph.run, peak_rss_mb=p1.run.peak_rss_mb + slope * (n - FEED_SKUS),
                          cpu_s=ph.run.cpu_s + max(0.0, ps.run.cpu_s - p0.run.cpu_s) / bench_extra * extra,
                          aws_calls=more(p0.run.aws_calls, calls, ph.run.aws_calls))
            phases.append(replace(ph, run=run, bp=more(p0.bp, ps.bp, ph.bp)))
        return replace(line, phases=phases)


FEED_SKUS = 25_000  # one JSON_LISTINGS_FEED's messages: one send per SKU (EU: one for all its marketplaces)


def sliced(name: str, run: Callable[..., JobCost], a: int, b: int, whole: JobCost) -> Sliced | None:
    if name not in SLICED:
        return None
    from bench.jobs import BENCH_SLICE_LINKS

    feed = max(1, math.ceil(b / 4))  # a few feeds at b: under JSON_LISTINGS_FEED's 5 per 5 minutes
    return Sliced(name, a, b, whole, run(a, slice_links=BENCH_SLICE_LINKS, feed_max=feed),
                  run(b, slice_links=BENCH_SLICE_LINKS, feed_max=feed))


def scale_rows(name: str, run: Callable[..., JobCost], quick: bool, sizes: tuple[int, ...] = SKU_SIZES,
               unit: str = "SKUs") -> list[Row]:
    (a, b) = MEASURED[name][1 if quick else 0]
    c1, c2 = run(a), run(b)
    cut = sliced(name, run, a, b, c2)
    out: list[Row] = []
    out += c1.rows(f"{a:,} {unit} measured")
    out += c2.rows(f"{b:,} {unit} measured")
    if cut is not None:
        from bench.jobs import BENCH_SLICE_LINKS

        for small, whole, size in ((cut.small_a, c1, a), (cut.small_b, c2, b)):
            ph = max(small.phases, key=lambda p: p.run.peak_rss_mb)
            full = max(whole.phases, key=lambda p: p.run.peak_rss_mb)
            out.append(Row(c1.job, f"{size:,} {unit} measured", f"peak RSS in slices of {BENCH_SLICE_LINKS} links (MB)",
                           ph.run.peak_rss_mb, note=f"{ph.function_id}; {full.run.peak_rss_mb:.0f} MB in one slice "
                           "and one feed (the production run at this size)"))
        slope = max(cut.beyond_mb_per_sku(), default=0.0)
        out.append(Row(c1.job, f"{a:,}-{b:,} {unit}", "peak RSS growth beyond a slice and a feed (KB per SKU)",
                       slope * 1024, note=f"the production line's up to {FEED_SKUS:,} SKUs, this beyond"))
    for n in sizes:
        label = f"{n:,} {unit} extrap."
        if n in (a, b):
            continue
        cost = extrapolate(c1, c2, n) if cut is None else cut.at(c1, c2, n)
        out += _scale_summary(cost, label)
    return out


def _scale_summary(c: JobCost, label: str) -> list[Row]:
    """The merchant-size figures: the same rows as a measured run (the table keeps one shape)."""
    return c.rows(label)
