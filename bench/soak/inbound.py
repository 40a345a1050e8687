"""Soak part 3: FBA inbound shipments (Amazon → Brightpearl transfers) under faults, with its own oracle.

Generator (``build_inbound``): a seeded catalogue of FBA-linked products (awkward SKUs) with stock in
the source warehouse, and shipments that Amazon creates, ships, receives in parts (partial receipts,
over-receipts of a listed SKU, units of a linked SKU the shipment never listed) and closes, or cancels
before shipping (DELETED) or after (CANCELLED). A few shipments are open at once, their steps interleaved.

Oracle (``expected_inbound``): from docs/inbound-shipments.md only, not from the product's code:
- per shipment one Brightpearl transfer ``AMZ-IN-<id>`` whose goods-out note carries the planned
  quantities; a shipment deleted before shipping keeps the transfer but no note;
- per product, the source warehouse ends at its seed minus what closed shipments carried minus the
  units cancelled-after-shipping shipments had received (the rest is brought back), allocated 0;
- the FBA warehouse's on-hand is every unit Amazon received on any shipment (released from quarantine
  up to what the transfer carried, the rest added by correction), and its quarantine (``inTransit``)
  holds what closed shipments carried and Amazon did not receive;
- emails: a key per event as the doc's table gives it, the figures in the key (a new over-receipt
  figure is a new email); each Amazon state is seen by the connector (the driver runs the schedule
  until one run completes after each step), so the oracle knows every state the connector saw.

Driver (``run_inbound``): after each Amazon step the scheduled InboundShipmentsFunction is invoked at
least twice (EventBridge Scheduler delivers at least once) and again until a run completes (a failed run
is the next schedule's to redo), with ~20 % of Brightpearl and Amazon inbound/report calls failing; Amazon's
FBA_INVENTORY_AVAILABILITY_CHANGES notifications (the connector subscribes to none of them, so they must be
acknowledged and move nothing) are delivered 1-10 times each to the NotificationsFunction. Then the
SIGKILL cases (``kill_during_brightpearl_write``): the function runs in a child process that is killed
right after Brightpearl applied a quarantine release / stock correction and before it answered.
"""

from __future__ import annotations

import random
import signal
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.soak import generator
from bench.soak.driver import (
    AMAZON_FAULTS,
    BP_FAULTS,
    Report,
    VirtualTime,
    _title,
    add_faults,
    clear,
    count_messages,
    pump_all,
    tally_faults,
    virtual_time,
)

ROOT = Path(__file__).resolve().parents[2]
SOURCE, FBA = 2, 7
SOURCE_START = 100_000  # never short: the short-stock rules are the e2e tests' (docs/inbound-shipments.md)
EVENT = {"version": "0", "id": "soak-inbound", "detail-type": "Scheduled Event", "source": "aws.scheduler",
         "account": "123456789012", "time": "2024-05-01T02:00:00Z", "region": "eu-west-1",
         "resources": ["arn:aws:scheduler:eu-west-1:123456789012:schedule/default/"
                       "InboundShipmentsFunctionEvery30Minutes"], "detail": {}}
CANCELLED = ("DELETED", "CANCELLED")


@dataclass(frozen=True)
class InboundStep:
    """One thing Amazon does to one shipment (a world operation of the SP-API simulator)."""

    op: str  # create | ship | receive | close | cancel
    shipment_id: str
    items: tuple[tuple[str, int], ...] = ()  # create: planned units; receive: units received now
    notification_copies: int = 1  # each FBA inventory notification of this step delivered this many times


@dataclass
class InboundScenario:
    seed: int
    products: dict[int, str]  # product id -> SKU (linked FBA in the UK)
    steps: list[InboundStep] = field(default_factory=list)
    fba_start: int = 0  # units per product already in the FBA warehouse (on hand) at the start

    @property
    def events(self) -> int:
        return len(self.steps)

    @property
    def shipments(self) -> list[str]:
        return [s.shipment_id for s in self.steps if s.op == "create"]

    def bp_seed(self) -> dict[str, Any]:
        return {"warehouses": [{"id": SOURCE, "name": "Main DC", "defaultLocationId": 2, "quarantineLocationId": 9},
                               {"id": FBA, "name": "Amazon FBA", "defaultLocationId": 3, "quarantineLocationId": 10}],
                "products": [{"id": pid, "sku": f"BP-{pid}", "name": f"Product {pid}"} for pid in self.products],
                "stock": [{"productId": pid, "warehouseId": SOURCE, "onHand": SOURCE_START} for pid in self.products]
                + [{"productId": pid, "warehouseId": FBA, "onHand": self.fba_start} for pid in self.products
                   if self.fba_start]}

    def amazon_seed(self, credentials: dict[str, str]) -> dict[str, Any]:
        return {"credentials": credentials,
                "listings": {sku: {"channel": "FBA", "marketplaces": [generator.UK], "fba": {"SELLABLE": 0}}
                             for sku in self.products.values()}}


def _shipment_steps(rng: random.Random, sid: str, skus: list[str]) -> list[InboundStep]:
    def copies() -> int:
        return rng.randint(1, 10)

    planned = {sku: rng.randint(1, 20) for sku in rng.sample(skus, rng.randint(1, min(4, len(skus))))}
    steps = [InboundStep("create", sid, tuple(sorted(planned.items())), copies())]
    if rng.random() < 0.12:
        return [*steps, InboundStep("cancel", sid, (), copies())]  # deleted before it left: DELETED
    steps.append(InboundStep("ship", sid, (), copies()))
    received: Counter[str] = Counter()
    for _ in range(rng.choice([0, 1, 1, 2, 2, 3])):
        now: dict[str, int] = {}
        for sku, q in planned.items():
            left = q - received[sku]
            if rng.random() < 0.15:
                now[sku] = max(0, left) + rng.randint(1, 3)  # over-receipt
            elif left > 0:
                now[sku] = rng.randint(0, left)  # partial (or nothing yet)
        others = [s for s in skus if s not in planned]
        if others and rng.random() < 0.15:
            now[rng.choice(others)] = rng.randint(1, 5)  # a SKU the shipment never listed
        now = {k: v for k, v in now.items() if v > 0}
        if now:
            received.update(now)
            steps.append(InboundStep("receive", sid, tuple(sorted(now.items())), copies()))
    end = "cancel" if rng.random() < 0.15 else "close"  # cancelled after shipping: CANCELLED
    return [*steps, InboundStep(end, sid, (), copies())]


def build_inbound(seed: int, n_shipments: int, *, n_products: int = 12, open_at_once: int = 4) -> InboundScenario:
    """``n_shipments`` shipments, at most ``open_at_once`` in progress together, their steps interleaved."""
    rng = random.Random(seed + 15485863)
    products = {pid: generator._sku(rng, pid, True) for pid in range(4000, 4000 + n_products)}
    skus = sorted(products.values())
    scenario = InboundScenario(seed, products)
    pending = [_shipment_steps(rng, f"FBA{seed % 1000:03d}S{i:05d}", skus) for i in range(n_shipments)]
    active: list[list[InboundStep]] = []
    while pending or active:
        while pending and len(active) < open_at_once:
            active.append(pending.pop(0))
        current = rng.choice(active)
        scenario.steps.append(current.pop(0))
        if not current:
            active.remove(current)
    return scenario


# ----------------------------------------------------------------------------- the oracle
@dataclass(frozen=True)
class ExpectedInbound:
    figures: dict[tuple[int, int], dict[str, int]]  # (product, warehouse) -> onHand / allocated / inTransit
    transfers: dict[str, dict[int, int] | None]  # shipment -> goods-out note lines (None: note deleted)
    emails: dict[str, int]  # subject -> how many


def expected_inbound(scenario: InboundScenario) -> ExpectedInbound:
    by_sku = {sku: pid for pid, sku in scenario.products.items()}
    source_on_hand = dict.fromkeys(scenario.products, SOURCE_START)
    fba_on_hand = dict.fromkeys(scenario.products, scenario.fba_start)
    fba_in_transit = dict.fromkeys(scenario.products, 0)
    planned: dict[str, dict[str, int]] = {}
    received: dict[str, Counter[str]] = {}
    status: dict[str, str] = {}
    keys: dict[str, set[str]] = {}
    emails: Counter[str] = Counter()
    transfers: dict[str, dict[int, int] | None] = {}

    def mail(sid: str, key: str, subject: str) -> None:
        if key not in keys[sid]:
            keys[sid].add(key)
            emails[subject] += 1

    for step in scenario.steps:
        sid = step.shipment_id
        if step.op == "create":
            planned[sid], received[sid], status[sid], keys[sid] = dict(step.items), Counter(), "WORKING", set()
            transfers[sid] = {by_sku[s]: q for s, q in step.items}
        elif step.op == "ship":
            status[sid] = "SHIPPED"
        elif step.op == "receive":
            received[sid].update(dict(step.items))
            status[sid] = "RECEIVING"
        elif step.op == "close":
            status[sid] = "CLOSED"
        else:
            status[sid] = "DELETED" if status[sid] == "WORKING" else "CANCELLED"
        # The emails this state calls for (the table in docs/inbound-shipments.md, "Emails").
        st, plan, got = status[sid], planned[sid], received[sid]
        if st in CANCELLED:
            mail(sid, f"cancelled:{st}", f"Amazon inbound shipment {sid} was {st.lower()}")
            continue
        if (st == "RECEIVING" or any(got.values())) and st != "CLOSED":
            mail(sid, "receiving", f"Amazon started receiving inbound shipment {sid}")
        over = {s: got[s] - q for s, q in plan.items() if got[s] > q}
        if over:
            mail(sid, "over:" + ",".join(f"{k}={v}" for k, v in sorted(over.items())),
                 f"Amazon received more than expected on inbound shipment {sid}")
        extra = {s: n for s, n in got.items() if s not in plan and n > 0}
        if extra:
            mail(sid, "unexpected:" + ",".join(f"{k}={v}" for k, v in sorted(extra.items())),
                 f"Amazon received unexpected SKUs on inbound shipment {sid}")
        if st == "CLOSED":
            missing = sum(max(0, q - got[s]) for s, q in plan.items())
            mail(sid, "closed", f"Amazon closed inbound shipment {sid} short: {missing} unit(s) not received"
                 if missing else f"Amazon received inbound shipment {sid} in full")

    # Stock: the end state of each shipment (every shipment ends final).
    for sid, plan in planned.items():
        st, got = status[sid], received[sid]
        if st == "DELETED":
            transfers[sid] = None  # the note is deleted; its allocation is free again
            continue
        for sku, n in got.items():
            fba_on_hand[by_sku[sku]] += n  # released up to the transfer, the rest by correction
        for sku, q in plan.items():
            pid = by_sku[sku]
            kept = min(got[sku], q)  # what Amazon received of the transferred units
            if st == "CLOSED":
                source_on_hand[pid] -= q
                fba_in_transit[pid] += q - kept  # closed short: stays in quarantine
            else:  # CANCELLED after shipping: the units not received go back to the source
                source_on_hand[pid] -= kept
    figures = {}
    for pid in scenario.products:
        figures[(pid, SOURCE)] = {"onHand": source_on_hand[pid], "allocated": 0, "inTransit": 0}
        figures[(pid, FBA)] = {"onHand": fba_on_hand[pid], "allocated": 0, "inTransit": fba_in_transit[pid]}
    return ExpectedInbound(figures, transfers, dict(emails))


# ----------------------------------------------------------------------------- the driver
def run_inbound(n_shipments: int = 40, seed: int = 1, fault_rate: float = 0.2, *, aws: Any = None,
                scenario: InboundScenario | None = None, kill: bool = True,
                bp_faults: Sequence[dict[str, Any]] = (), progress: Callable[[str], None] | None = None) -> Report:
    """The inbound part under ``fault_rate`` (see the module doc); ``bp_faults``: more targeted rules."""
    with virtual_time() as vt:
        return _run_inbound(scenario or build_inbound(seed, n_shipments), fault_rate, aws, kill, list(bp_faults),
                            progress, vt)


def _schedule(stack: Any, report: Report, *, times: int = 2, limit: int = 30) -> None:
    """The schedule fires ``times`` times (at least once delivery), then until one run completes."""
    completed = False
    for attempt in range(limit):
        if attempt >= times and completed:
            return
        report.deliveries += 1
        try:
            stack.invoke("InboundShipmentsFunction", EVENT)
            completed = True
        except Exception:  # a failed run (RunIncomplete, a fault that outlasted the retries): the next redoes it
            report.retries += 1
    if not completed:
        raise RuntimeError(f"no inbound run completed in {limit} attempts")


def _run_inbound(scenario: InboundScenario, fault_rate: float, aws: Any, kill: bool, bp_faults: list[dict[str, Any]],
                 progress: Callable[[str], None] | None, vt: VirtualTime) -> Report:
    from connector.adapters.repositories import GlobalSettings, SettingsRepository
    from connector.adapters.store import InboundShipment, Setting
    from local.stack import QUIET, start_stack
    from simulators.spapi.demo import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN

    t0 = time.monotonic()
    want = expected_inbound(scenario)
    report = Report(seed=scenario.seed, part="inbound", events=scenario.events, rounds=len(scenario.shipments))
    with start_stack(aws=aws, bp_limit=1_000_000, amazon_rate_scale=1000, env=QUIET) as stack:
        bp, amazon = stack.bp, stack.amazon
        amazon.configure(notification_types=["FBA_INVENTORY_AVAILABILITY_CHANGES"])
        bp.seed(scenario.bp_seed())
        amazon.seed(scenario.amazon_seed({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                                          "refresh_token": REFRESH_TOKEN}))
        stack.clear(InboundShipment, Setting)
        stack.link((generator.UK, sku, pid, "FBA") for pid, sku in scenario.products.items())
        SettingsRepository().save_global(GlobalSettings(fba_warehouse_id=FBA, inbound_source_warehouse_id=SOURCE))
        before = clear(stack, ("NotificationsQueue", "NotificationsDLQ", "ScheduledFailuresDLQ"))
        emails_before = len(stack.emails())
        add_faults(bp, r"^(GET|POST|PUT|PATCH|DELETE) /public-api/", BP_FAULTS, fault_rate)
        add_faults(amazon, r"^(GET|POST|PUT|PATCH|DELETE) /(fba/inbound|inbound/fba|reports)/", AMAZON_FAULTS,
                   fault_rate)
        for rule in bp_faults:
            bp.add_fault(rule)
        notified = 0
        for i, step in enumerate(scenario.steps):
            amazon.notification_duplicates = step.notification_copies
            shown = len(amazon.notifications)
            if step.op == "create":
                amazon.world_op("create_inbound_shipment", items=dict(step.items), shipment_id=step.shipment_id)
            elif step.op == "ship":
                amazon.world_op("ship_inbound", shipment_id=step.shipment_id)
            elif step.op == "receive":
                amazon.world_op("receive_inbound", shipment_id=step.shipment_id, items=dict(step.items))
            elif step.op == "close":
                amazon.world_op("close_inbound", shipment_id=step.shipment_id)
            else:
                amazon.world_op("cancel_inbound", shipment_id=step.shipment_id)
            sent = len(amazon.notifications) - shown
            notified += sent
            report.notification_copies += sent * step.notification_copies
            _schedule(stack, report)
            pump_all(stack, "NotificationsFunction", report, vt)
            if progress and (i + 1) % 100 == 0:
                progress(f"  inbound step {i + 1}/{len(scenario.steps)}, {time.monotonic() - t0:.0f}s")

        bp.clear_faults()
        amazon.clear_faults()
        _schedule(stack, report, times=3)  # with the faults off nothing more may move
        pump_all(stack, "NotificationsFunction", report, vt)
        tally_faults(report, "brightpearl", bp)
        tally_faults(report, "amazon", amazon)
        report.client_retries = sum(1 for sim in (bp, amazon) for e in sim.requests() if e.fault)
        report.queue_messages = notified
        for q in ("NotificationsDLQ", "ScheduledFailuresDLQ"):
            report.dlq[q] = count_messages(stack, q) - before[q]
        left = count_messages(stack, "NotificationsQueue") - before["NotificationsQueue"]
        if left:
            report.lost.append(f"{left} message(s) still on NotificationsQueue after draining")
        check_inbound(stack, scenario, want, report, emails_before)
        if kill:
            report.kill = {}
            for route in ("post-quarantine-release", "post-stock-correction"):
                out = kill_during_brightpearl_write(stack, scenario, route)
                report.kill[route] = out
            report.kill["post-stock-transfer"] = kill_during_transfer_create(stack, scenario)
            report.kill["ok"] = all(v["ok"] for k, v in report.kill.items() if k != "ok")
    report.seconds = time.monotonic() - t0
    return report


def check_inbound(stack: Any, scenario: InboundScenario, want: ExpectedInbound, report: Report,
                  emails_before: int) -> None:
    """Brightpearl's figures, transfers and notes, and the emails SES accepted, against the oracle."""
    bp = stack.bp
    with bp.lock:
        world = bp.world
        for (pid, wid), figures in sorted(want.figures.items()):
            actual = world.inventory.warehouse_figures(pid, wid)
            got = {k: actual[k] for k in figures}
            if got != figures:
                diff = {k: (figures[k], got[k]) for k in figures if figures[k] != got[k]}
                report.wrong.append(f"{scenario.products[pid]!r} warehouse {wid}: expected/actual {diff}")
        by_ref = Counter(t.reference for t in world.transfers.values())
        notes = {g.stock_transfer_id: {a.product_id: a.quantity for a in g.lines}
                 for g in world.gons.values() if g.transfer}
        transfers = {t.reference: t for t in world.transfers.values()}
    for sid, lines in sorted(want.transfers.items()):
        ref = f"AMZ-IN-{sid}"
        if by_ref[ref] == 0:
            report.lost.append(f"{sid}: no Brightpearl transfer {ref}")
            continue
        if by_ref[ref] > 1:
            report.duplicated.append(f"{sid}: {by_ref[ref]} transfers {ref}")
        note = notes.get(transfers[ref].id)
        if note != lines:
            report.wrong.append(f"{sid}: goods-out note lines expected {lines}, Brightpearl has {note}")
    # the title, without the "[stack · stage] marketplaces: " every email now starts with
    subjects = Counter(_title(m["subject"]) for m in stack.emails(emails_before))
    report.emails = {"expected": sum(want.emails.values()), "sent": sum(subjects.values())}
    for subject in sorted(set(subjects) | set(want.emails)):
        sent, expected = subjects.get(subject, 0), want.emails.get(subject, 0)
        if sent > expected:
            report.duplicated.append(f"email {subject!r} sent {sent} times, expected {expected}")
        elif sent < expected:
            report.lost.append(f"email {subject!r} sent {sent} times, expected {expected}")


# ----------------------------------------------------------------------------- SIGKILL during a Brightpearl write
def _killed_run(bp: Any, route: str) -> tuple[int, bool]:
    """One InboundShipmentsFunction run in a child process, SIGKILLed once Brightpearl applied ``route``'s write
    (the simulator holds its answer): no ``finally``, no record of the write. Returns (exit code, write landed)."""
    from bench.soak.kill import kill_after_write

    return kill_after_write(bp, route, EVENT, "InboundShipmentsFunction")


def kill_during_transfer_create(stack: Any, scenario: InboundScenario) -> dict[str, Any]:
    """The child is killed after Brightpearl created the stock transfer, before the connector saved its id:
    the next run must find that transfer (not create a second) and give it its goods-out note once."""
    from connector.adapters.inbound_records import ShipmentRecords

    bp, amazon = stack.bp, stack.amazon
    bp.clear_faults()
    amazon.clear_faults()
    (pid_a, sku_a), (pid_b, sku_b) = sorted(scenario.products.items())[:2]
    sid = f"FBAKILL{len([s for s in amazon.world.shipments if s.startswith('FBAKILL')]) + 1:03d}"
    allocated = {pid: bp.figures(pid, SOURCE)["allocated"] for pid in (pid_a, pid_b)}
    amazon.world_op("create_inbound_shipment", items={sku_a: 5, sku_b: 2}, shipment_id=sid)
    exit_code, landed = _killed_run(bp, "post-stock-transfer")
    record = ShipmentRecords().get(sid)
    recorded = None if record is None else record.stock_transfer_id
    _schedule(stack, Report(seed=scenario.seed), times=2)
    with bp.lock:
        mine = [t for t in bp.world.transfers.values() if t.reference == f"AMZ-IN-{sid}"]
        notes = [{a.product_id: a.quantity for a in g.lines} for g in bp.world.gons.values()
                 if mine and g.stock_transfer_id == mine[0].id]
    now_allocated = {pid: bp.figures(pid, SOURCE)["allocated"] - allocated[pid] for pid in (pid_a, pid_b)}
    want = {pid_a: 5, pid_b: 2}
    out = {"route": "post-stock-transfer", "shipment": sid, "child_exit": exit_code,
           "write_landed_before_kill": landed, "recorded_after_kill": recorded, "transfers": len(mine),
           "notes": notes, "allocated": now_allocated, "expected": want}
    out["ok"] = bool(exit_code == -signal.SIGKILL and landed and recorded is None and len(mine) == 1
                     and notes == [want] and now_allocated == want)
    return out


def kill_during_brightpearl_write(stack: Any, scenario: InboundScenario, route: str) -> dict[str, Any]:
    """A child InboundShipmentsFunction killed (SIGKILL) after Brightpearl applied ``route``'s write, before it
    answered (so before the connector recorded it); the schedule then runs again in this process.

    ``post-quarantine-release``: a shipped shipment receives units (a release is due);
    ``post-stock-correction``: it receives units of a SKU beyond the transfer (a correction is due).
    """
    from connector.adapters.inbound_records import ShipmentRecords

    bp, amazon = stack.bp, stack.amazon
    bp.clear_faults()
    amazon.clear_faults()
    (pid_a, sku_a), (pid_b, sku_b) = sorted(scenario.products.items())[:2]
    sid = f"FBAKILL{len([s for s in amazon.world.shipments if s.startswith('FBAKILL')]) + 1:03d}"
    report = Report(seed=scenario.seed)
    amazon.world_op("create_inbound_shipment", items={sku_a: 6}, shipment_id=sid)
    amazon.world_op("ship_inbound", shipment_id=sid)
    _schedule(stack, report, times=1)
    start = {(pid, FBA): bp.figures(pid, FBA) for pid in (pid_a, pid_b)}
    if route == "post-quarantine-release":
        amazon.world_op("receive_inbound", shipment_id=sid, items={sku_a: 4})
        want = {pid_a: {"onHand": start[(pid_a, FBA)]["onHand"] + 4, "inTransit": start[(pid_a, FBA)]["inTransit"] - 4},
                pid_b: {k: start[(pid_b, FBA)][k] for k in ("onHand", "inTransit")}}
    else:
        amazon.world_op("receive_inbound", shipment_id=sid, items={sku_b: 3})  # never on the shipment: corrected
        want = {pid_a: {k: start[(pid_a, FBA)][k] for k in ("onHand", "inTransit")},
                pid_b: {"onHand": start[(pid_b, FBA)]["onHand"] + 3, "inTransit": start[(pid_b, FBA)]["inTransit"]}}
    writes_before = len(bp.requests(route=route, ok_only=False))
    exit_code, landed = _killed_run(bp, route)
    record = ShipmentRecords().get(sid)
    after_kill = {pid: {k: bp.figures(pid, FBA)[k] for k in ("onHand", "inTransit")} for pid in want}
    line = next((s for s in (record.skus if record else []) if s.sku == (sku_a if "release" in route else sku_b)),
                None)
    recorded = None if line is None else (line.released if "release" in route else line.corrected)
    pending = bool(record and record.pending)
    _schedule(stack, report, times=2)  # the next schedules (in this process)
    final = {pid: {k: bp.figures(pid, FBA)[k] for k in ("onHand", "inTransit")} for pid in want}
    writes = len(bp.requests(route=route, ok_only=False)) - writes_before
    out = {"route": route, "shipment": sid, "child_exit": exit_code, "write_landed_before_kill": landed,
           "recorded_after_kill": recorded, "pending_after_kill": pending, "after_kill": after_kill,
           "expected": want, "final": final, "writes": writes}
    out["ok"] = bool(exit_code == -signal.SIGKILL and landed and after_kill == want and not recorded
                     and final == want and writes == 1)
    return out
