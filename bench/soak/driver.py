"""The soak's driver: runs the real handlers on the local stack under faults, then checks the oracle.

One run (``run``):
1. builds the scenario (generator) and a fresh local stack (moto, both simulators, the API stand-in);
2. injects faults at ``fault_rate`` of the platforms' API calls through the simulators' fault controls
   (Brightpearl: 5xx, throttling 503, resets, timeouts, write-then-fail; Amazon: 5xx, 429, 503, resets,
   timeouts, write-then-fail);
3. per round: Brightpearl applies the round's changes in one go (one on-hand-modified event, an ID
   set), delivers its webhook over HTTP to the webhook function, which queues it; the driver takes the
   queued messages off the StockChangeQueue and puts each back two or three times, shuffled, some held
   back to a later round (at-least-once, out of order); the StockChangeFunction drains the queue (failed
   records come back at once, as after their visibility timeout, and move to the DLQ after
   maxReceiveCount); now and then Amazon finishes its feeds and each notification is delivered 1-10 times;
4. stops the faults and drains every queue — no nightly run — then compares Amazon's MFN quantities,
   the FBA listings and the emails with the oracle;
5. the SIGKILL case (``kill_case``): the StockChangeFunction runs in a child process that is killed
   (SIGKILL) right after Amazon applied its write and before it answered; the work is then redelivered.

Time is virtual for the connector (``VirtualTime``): its waits return at once but move its clocks on, and
a record handed back to its queue moves them on by the visibility timeout. The soak checks outcomes, not timing.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from bench.soak import generator, oracle
from simulators.core import parse_id_set

TOKEN = "s" * 40
_REAL_SLEEP = time.sleep


@dataclass
class Report:
    seed: int
    part: str = "MFN"  # "MFN" (stock changes in rounds), "FBA movements" (in schedule cycles) or "inbound"
    events: int = 0
    rounds: int = 0
    queue_messages: int = 0  # messages the webhook function queued
    deliveries: int = 0  # messages delivered to the StockChangeFunction (copies included)
    notification_copies: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    retries: int = 0  # records handed back by a handler (batchItemFailures) and redelivered
    client_retries: int = 0  # requests repeated inside a handler after a fault
    dlq: dict[str, int] = field(default_factory=dict)
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    emails: dict[str, int] = field(default_factory=dict)
    kill: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # per-part figures printed as they are
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.wrong or any(self.dlq.values())) and \
            self.kill.get("ok", True)

    def lines(self) -> list[str]:
        faults = ", ".join(f"{k} {v}" for k, v in sorted(self.faults.items())) or "none"
        events, rounds = _UNITS.get(self.part, ("events", "rounds"))
        if self.part == "inbound":
            traffic = (f"  scheduled invocations {self.deliveries} ({self.deliveries / max(1, self.events):.2f} per "
                       f"Amazon step), FBA inventory notifications {self.queue_messages} -> "
                       f"{self.notification_copies} copies delivered")
        else:
            traffic = (f"  queue messages {self.queue_messages}, deliveries {self.deliveries} "
                       f"({self.deliveries / max(1, self.queue_messages):.2f} per message), "
                       f"Amazon notification copies {self.notification_copies}")
        out = [
            f"soak {self.part} seed={self.seed}: {self.events} {events} in {self.rounds} {rounds}, {self.seconds:.0f}s",
            traffic,
            *(f"  {k}: {v}" for k, v in self.extra.items()),
            f"  faults injected {sum(self.faults.values())}: {faults}",
            f"  retries: {self.retries} redelivered records / failed runs, {self.client_retries} repeated requests",
            f"  DLQ'd: {sum(self.dlq.values())} {dict(self.dlq) if any(self.dlq.values()) else ''}".rstrip(),
            f"  lost: {len(self.lost)}", *(f"    {x}" for x in self.lost[:20]),
            f"  duplicated: {len(self.duplicated)}", *(f"    {x}" for x in self.duplicated[:20]),
            f"  wrong end values: {len(self.wrong)}", *(f"    {x}" for x in self.wrong[:50]),
            f"  emails: {self.emails or 'none'}",
        ]
        if self.kill:
            out.append(f"  SIGKILL case: {self.kill}")
        out.append("  RESULT: " + ("OK" if self.ok else "FAILED"))
        return out


_UNITS = {"MFN": ("stock changes", "rounds"), "FBA movements": ("movements", "schedule cycles"),
          "inbound": ("Amazon steps", "shipments")}


# ----------------------------------------------------------------------------- helpers
class VirtualTime:
    """The connector's clocks in the soak: real time plus every wait it asked for, plus queue timeouts.

    A sleep returns at once (at most 2 ms) but moves this clock on by what was asked, so the
    connector's own pacers (Amazon's token buckets, the Brightpearl governor) see the time pass; a
    record handed back to its queue moves it on by the queue's visibility timeout, as SQS would wait.
    """

    def __init__(self) -> None:
        self.offset = 0.0
        self.slept = 0.0
        self._lock = threading.Lock()

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.offset += max(0.0, seconds)

    def sleep(self, seconds: Any) -> None:
        wait = max(0.0, float(seconds))
        with self._lock:
            self.offset += wait
            self.slept += wait
        _REAL_SLEEP(min(wait, 0.002))

    def monotonic(self) -> float:
        return _REAL_MONOTONIC() + self.offset

    def time(self) -> float:
        return _REAL_TIME() + self.offset


_REAL_MONOTONIC, _REAL_TIME = time.monotonic, time.time
VISIBILITY_TIMEOUT = {"StockChangeFunction": 360.0, "NotificationsFunction": 5400.0}  # template.yaml


@contextmanager
def virtual_time() -> Iterator[VirtualTime]:
    """Run with :class:`VirtualTime`: ``time.sleep`` and the connector's default clocks and sleeps swapped.

    The Brightpearl client and governor and the Amazon client took ``time.sleep`` / ``time.monotonic``
    / ``time.time`` as default arguments when they were defined, so those defaults are swapped too.
    """
    from connector.adapters.amazon import client as amazon_client
    from connector.adapters.brightpearl import client as bp_client
    from connector.adapters.brightpearl import governor

    vt = VirtualTime()
    swap = {_REAL_SLEEP: vt.sleep, _REAL_MONOTONIC: vt.monotonic, _REAL_TIME: vt.time}
    targets: list[Any] = [bp_client.BrightpearlClient.__dict__["__init__"],
                          amazon_client.AmazonClients.__dict__["__init__"]]
    targets += [c.__dict__["__init__"] for c in vars(governor).values()
                if isinstance(c, type) and c.__module__ == governor.__name__ and "__init__" in c.__dict__]
    saved = [(f, dict(f.__kwdefaults__ or {})) for f in targets]
    for f, defaults in saved:
        f.__kwdefaults__ = {k: swap.get(v, v) if callable(v) else v for k, v in defaults.items()}
    time.sleep = vt.sleep
    try:
        yield vt
    finally:
        time.sleep = _REAL_SLEEP
        for f, defaults in saved:
            f.__kwdefaults__ = defaults


def add_faults(sim: Any, match: str, kinds: list[dict[str, Any]], rate: float) -> None:
    """Faults of several kinds on ``match`` whose union fires on ``rate`` of the requests.

    The simulator tries the rules in order, each with its own probability, so the i-th rule gets the
    conditional rate that makes every kind equally likely overall.
    """
    share = rate / len(kinds)
    left = 1.0
    for kind in kinds:
        sim.add_fault({"match": match, "rate": min(1.0, share / left), **kind})
        left -= share


BP_FAULTS: list[dict[str, Any]] = [{"kind": "status", "status": 500}, {"kind": "status", "status": 503},
             {"kind": "reset"}, {"kind": "timeout", "seconds": 0.01},
             {"kind": "write_then_fail", "status": 0}]
AMAZON_FAULTS: list[dict[str, Any]] = [{"kind": "status", "status": 500}, {"kind": "status", "status": 503},
                 {"kind": "status", "status": 429}, {"kind": "reset"}, {"kind": "timeout", "seconds": 0.01},
                 {"kind": "write_then_fail", "status": 500}, {"kind": "write_then_fail", "status": 0}]


def pump_all(stack: Any, function_id: str, report: Report, vt: VirtualTime, *, limit: int = 200) -> None:
    """Deliver the function's queue until it is empty.

    A failed record comes back after the queue's visibility timeout: the connector's clocks and
    Amazon's move on by that much (the driver does not wait it out), then it is delivered again, and
    after maxReceiveCount deliveries SQS moves it to the DLQ.
    """
    for _ in range(limit):
        results = stack.pump(function_id, expire_visibility=True)
        if not results:
            return
        failed = sum(len(r.get("batchItemFailures") or []) for r in results)
        if failed:
            report.retries += failed
            vt.advance(VISIBILITY_TIMEOUT[function_id])
            stack.amazon.clock.advance(VISIBILITY_TIMEOUT[function_id])
    raise RuntimeError(f"{function_id}: queue not empty after {limit} pumps")


def settle_webhooks(stack: Any) -> None:
    """Wait until Brightpearl has no webhook to deliver and the webhook function no call in progress.

    Brightpearl gives up on a slow answer and sends the webhook again, while the first call may still
    be queueing its message: waiting for the API stand-in's invocation lock lets it finish.
    """
    for _ in range(3):
        if not stack.bp.wait_webhooks_idle(30):
            raise RuntimeError("Brightpearl's webhooks did not finish")
        calls = len(stack.api.calls)
        with stack.api._invoke_lock:
            pass
        if len(stack.api.calls) == calls and stack.bp.wait_webhooks_idle(0):
            return


def queued(stack: Any) -> list[str]:
    """Take every message off the StockChangeQueue (what the webhook function wrote)."""
    from local.queues import drain

    return [m["Body"] for m in drain(stack.aws.client("sqs"), stack.aws.queue_url("StockChangeQueue"),
                                     max_messages=100_000)]


def send(stack: Any, queue_id: str, bodies: list[str]) -> None:
    sqs = stack.aws.client("sqs")
    url = stack.aws.queue_url(queue_id)
    for i in range(0, len(bodies), 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(j), "MessageBody": b}
                                                      for j, b in enumerate(bodies[i:i + 10])])


def clear(stack: Any, queues: tuple[str, ...]) -> dict[str, int]:
    """Drain the queues; returns what is still on each, in flight (another test's record waiting out its
    visibility timeout, which SQS allows no purge to remove within 60 s): the end counts are net of it."""
    for q in queues:
        stack.drain(q)
    return {q: count_messages(stack, q) for q in queues}


def count_messages(stack: Any, queue_id: str) -> int:
    sqs = stack.aws.client("sqs")
    attrs = sqs.get_queue_attributes(QueueUrl=stack.aws.queue_url(queue_id), AttributeNames=["All"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


def _quantity(body: Any) -> int | None:
    """The quantity in a patchListingsItem body (fulfillment_availability's DEFAULT element)."""
    if isinstance(body, dict):
        if "quantity" in body and isinstance(body["quantity"], int):
            return int(body["quantity"])
        values: Any = body.values()
    elif isinstance(body, list):
        values = body
    else:
        return None
    for v in values:
        q = _quantity(v)
        if q is not None:
            return q
    return None


def redundant_writes(amazon: Any) -> list[str]:
    """Patches that sent a listing the quantity Amazon had already acknowledged to the connector.

    A write answered with a fault (write-then-fail, a drop) may legitimately be sent again: the
    connector could not know it landed. A feed in between resets what is known (its outcome is async).
    """
    acked: dict[tuple[str, str], int] = {}
    out = []
    for e in amazon.requests():
        if e.route == "createFeed" and 200 <= e.status < 300:
            acked.clear()
        if e.route != "patchListingsItem" or not (200 <= e.status < 300) or e.fault in ("timeout", "reset"):
            continue
        key = (e.path.rsplit("/", 1)[-1], ",".join(e.query.get("marketplaceIds", [])))
        q = _quantity(e.body)
        if q is None or unquote(key[0]) not in amazon.world.listings:
            continue  # Amazon refused it (no such SKU, see SOAK-D1): nothing was acknowledged
        if e.fault is None and acked.get(key) == q:
            out.append(f"patch #{e.seq} {key[0]!r} ({key[1]}) sent {q} again after Amazon acknowledged it")
        if e.fault is None:
            acked[key] = q
        else:
            acked.pop(key, None)
    return out


def tally_faults(report: Report, name: str, sim: Any) -> None:
    for e in sim.requests():
        if e.fault:
            label = f"status {e.status}" if e.fault == "status" else e.fault
            report.faults[f"{name} {label}"] += 1


# ----------------------------------------------------------------------------- the run
def run(n: int = 1000, seed: int = 1, fault_rate: float = 0.2, *, awkward_skus: bool = True,
        scenario: generator.Scenario | None = None, aws: Any = None, kill: bool = True,
        progress: Callable[[str], None] | None = None) -> Report:
    """One soak run: the scenario of ``seed`` (or the one given) under ``fault_rate``; see the module doc."""
    with virtual_time() as vt:
        return _run(scenario or generator.build(seed, n, awkward_skus=awkward_skus), fault_rate, aws, kill, progress,
                    vt)


def _run(scenario: generator.Scenario, fault_rate: float, aws: Any, kill: bool,
         progress: Callable[[str], None] | None, vt: VirtualTime) -> Report:
    from connector.adapters.repositories import ChannelSettings, GlobalSettings, SettingsRepository
    from connector.adapters.store import Setting
    from local.aws import sent_emails
    from local.stack import QUIET, start_stack
    from simulators.spapi.demo import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN

    t0 = time.monotonic()
    want = oracle.expected(scenario)
    report = Report(seed=scenario.seed, events=scenario.events, rounds=len(scenario.rounds))
    rng = random.Random(scenario.seed * 7919 + 1)  # the driver's own choices: copies, order, what is held back
    with start_stack(aws=aws, marketplaces=(generator.UK, generator.DE), amazon_rate_scale=100, api=True,
                     bp_limit=1_000_000, webhook_token=TOKEN, env=QUIET) as stack:
        bp, amazon = stack.bp, stack.amazon
        bp.seed(scenario.bp_seed())
        amazon.seed(scenario.amazon_seed({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                                          "refresh_token": REFRESH_TOKEN}))
        stack.clear(Setting)
        settings = SettingsRepository()
        settings.save_global(GlobalSettings(mfn_warehouses=list(generator.MFN_WAREHOUSES)))
        settings.save_channel(generator.UK, ChannelSettings(sync_enabled=True))
        settings.save_channel(generator.DE, ChannelSettings(
            sync_enabled=True, mfn_warehouses=list(generator.DE_WAREHOUSES), buffer=dict(generator.DE_BUFFER)))
        stack.link((lk.marketplace_id, lk.sku, lk.product_id, lk.channel) for lk in scenario.links)
        assert stack.api
        bp.world.hooks.register_webhook({
            "subscribeTo": "product.modified.on-hand-modified", "httpMethod": "POST",
            "uriTemplate": f"{stack.api.url}/brightpearl/webhook/{TOKEN}", "contentType": "application/json",
            "bodyTemplate": '{"accountCode":"${account-code}","resourceType":"${resource-type}",'
                            '"id":"${resource-id}","fullEvent":"${full-event}","raisedOn":"${raised-on}"}',
            "idSetAccepted": True, "qualityOfService": 1})
        before = clear(stack, ("StockChangeQueue", "NotificationsQueue", "StockChangeDLQ", "NotificationsDLQ"))
        emails_before = len(sent_emails(stack.aws))

        add_faults(bp, r"^(GET|POST|PUT|PATCH|DELETE) /public-api/", BP_FAULTS, fault_rate)
        add_faults(amazon, r"^(GET|POST|PUT|PATCH|DELETE) /(listings|feeds)/", AMAZON_FAULTS, fault_rate)

        held: list[str] = []
        for i, rnd in enumerate(scenario.rounds):
            with bp.lock:  # one Brightpearl call's worth of changes: one event, one ID set
                for pid, wid, delta in rnd.changes:
                    bp.world.inventory.adjust_on_hand(pid, wid, delta=delta)
                bp._flush_events()
            settle_webhooks(stack)
            bodies = queued(stack)
            report.queue_messages += len(bodies)
            got = {pid for b in bodies for pid in parse_id_set(str(json.loads(b)["idSet"]))}
            report.lost += [f"round {i}: product {pid} changed, never queued"
                            for pid in sorted({c[0] for c in rnd.changes} - got)]
            copies = [b for b in bodies for _ in range(rng.randint(2, 3))]
            rng.shuffle(copies)
            keep = int(len(copies) * rnd.held_back)
            deliver, later = copies[keep:] + held, copies[:keep]
            rng.shuffle(deliver)
            held = later
            report.deliveries += len(deliver)
            send(stack, "StockChangeQueue", deliver)
            pump_all(stack, "StockChangeFunction", report, vt)
            if rnd.finish_amazon:
                amazon.notification_duplicates = rnd.notification_copies
                report.notification_copies += rnd.notification_copies
                amazon.clock.advance(120)
                amazon.tick()
                pump_all(stack, "NotificationsFunction", report, vt)
            if progress and (i + 1) % 200 == 0:
                progress(f"  round {i + 1}/{len(scenario.rounds)}, {time.monotonic() - t0:.0f}s")

        # Drain everything with the faults off: held-back copies, feeds still in Amazon's hands.
        bp.clear_faults()
        amazon.clear_faults()
        settle_webhooks(stack)
        report.deliveries += len(held)
        send(stack, "StockChangeQueue", held)
        pump_all(stack, "StockChangeFunction", report, vt)
        amazon.notification_duplicates = 2
        for _ in range(10):
            amazon.clock.advance(300)
            amazon.tick()
            pump_all(stack, "NotificationsFunction", report, vt)
            pump_all(stack, "StockChangeFunction", report, vt)
            if all(f.status in ("DONE", "CANCELLED", "FATAL") for f in amazon.world.feeds.values()):
                break

        tally_faults(report, "brightpearl", bp)
        tally_faults(report, "amazon", amazon)
        report.client_retries = sum(1 for sim in (bp, amazon) for e in sim.requests() if e.fault)
        for q in ("StockChangeDLQ", "NotificationsDLQ"):
            report.dlq[q] = count_messages(stack, q) - before[q]
        for q in ("StockChangeQueue", "NotificationsQueue"):
            left = count_messages(stack, q) - before[q]
            if left:
                report.lost.append(f"{left} message(s) still on {q} after draining")
        for attempt in bp.webhook_deliveries():
            if attempt["attempt"] > bp.webhooks.retries and not (attempt["status"] and attempt["status"] < 300):
                report.lost.append(f"webhook {attempt['body']} never accepted: {attempt['status'] or attempt['error']}")

        # The oracle's end state against Amazon's.
        from connector.adapters.repositories import LinkRepository

        known = {lk.sku: lk for lk in LinkRepository().all() if lk.fulfillment_channel == "MFN"}
        for sku, quantity in sorted(want.quantities.items()):
            listing = amazon.world.listings.get(sku)
            actual = None if listing is None else listing.quantity
            if actual != quantity:
                link = known.get(sku)
                believed = f"; the connector's link: confirmed {link.last_confirmed_quantity}, " \
                           f"{(link.last_result or '')[:90]}" if link else ""
                report.wrong.append(f"{sku!r}: expected {quantity}, Amazon shows {actual}{believed}")
        fba_patches = [e for e in amazon.requests(route="patchListingsItem")
                       if unquote(e.path.rsplit("/", 1)[-1]) in want.fba_skus]
        report.wrong += [f"FBA listing patched: {e.path}" for e in fba_patches]
        report.duplicated += redundant_writes(amazon)
        subjects = Counter(_title(m["subject"]) for m in sent_emails(stack.aws)[emails_before:])
        report.emails = dict(subjects)
        for prefix, count in want.emails.items():
            sent = sum(v for subject, v in subjects.items() if subject.startswith(prefix))
            if sent > count:
                report.duplicated.append(f"email {prefix!r} sent {sent} times, expected {count}")
            elif sent < count:
                report.lost.append(f"email {prefix!r} sent {sent} times, expected {count}")
        unexpected = [s for s in subjects if not any(s.startswith(p) for p in want.emails)]
        report.duplicated += [f"unexpected email {s!r} x{subjects[s]}" for s in unexpected]

        if kill:
            from bench.soak.kill import kill_case

            report.kill = kill_case(stack, scenario)
    report.seconds = time.monotonic() - t0
    return report


# ----------------------------------------------------------------------------- FBA movements (part 2)
def run_movements(n: int = 500, seed: int = 1, fault_rate: float = 0.2, *, aws: Any = None,
                  scenario: generator.MovementScenario | None = None, bp_faults: Sequence[dict[str, Any]] = (),
                  bp_faults_from: int = 0, drain_schedules: int = 14,
                  progress: Callable[[str], None] | None = None) -> Report:
    """Amazon's FBA movements → Brightpearl under faults; reports re-pulled (overlapping windows) and
    each notification delivered 1-10 times; checked against :func:`oracle.expected_movements`.

    ``bp_faults``: more Brightpearl fault rules (a test's targeted schedule), added before cycle
    ``bp_faults_from``. ``drain_schedules``: 13-hour schedules run with the faults off at the end.
    """
    with virtual_time() as vt:
        return _run_movements(scenario or generator.build_movements(seed, n), fault_rate, aws, progress, vt,
                              list(bp_faults), bp_faults_from, drain_schedules)


def _run_movements(scenario: generator.MovementScenario, fault_rate: float, aws: Any,
                   progress: Callable[[str], None] | None, vt: VirtualTime,
                   bp_faults: list[dict[str, Any]], bp_faults_from: int, drain_schedules: int) -> Report:
    from connector.adapters.repositories import GlobalSettings, SettingsRepository
    from connector.adapters.store import ReportJob, Setting, StockMovement
    from local.stack import QUIET, start_stack
    from simulators.core import SimClock
    from simulators.spapi.demo import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN

    t0 = time.monotonic()
    want = oracle.expected_movements(scenario)
    report = Report(seed=scenario.seed, part="FBA movements", events=scenario.events, rounds=len(scenario.cycles))
    with start_stack(aws=aws, clock=SimClock(speed=0), bp_limit=1_000_000, amazon_rate_scale=1000,
                     movements_clock=True, env=QUIET) as stack:
        bp, amazon = stack.bp, stack.amazon
        # FBA_INVENTORY_AVAILABILITY_CHANGES too: every movement changes Amazon's FBA stock, so Amazon sends
        # them in the mix; the connector subscribes to none, so each must be acknowledged and move nothing.
        amazon.configure(notification_types=["REPORT_PROCESSING_FINISHED", *INVENTORY_TYPES])
        bp.seed(scenario.bp_seed())
        amazon.seed(scenario.amazon_seed({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                                          "refresh_token": REFRESH_TOKEN}))
        stack.clear(StockMovement, ReportJob, Setting)
        stack.link((generator.UK, sku, pid, "FBA") for pid, sku in scenario.products.items())
        SettingsRepository().save_global(GlobalSettings(
            fba_warehouse_id=generator.FBA_WAREHOUSE, returns_warehouse_id=generator.RETURNS_WAREHOUSE,
            restock_returns=scenario.restock_returns,
            credit_amounts="unit_price"))  # the soak posts no Finances refunds: credits at the unit price
        before = clear(stack, ("NotificationsQueue", "NotificationsDLQ", "ScheduledFailuresDLQ"))
        emails_before = len(stack.emails())
        add_faults(bp, r"^(GET|POST|PUT|PATCH|DELETE) /public-api/", BP_FAULTS, fault_rate)
        add_faults(amazon, r"^(GET|POST|PUT|PATCH|DELETE) /reports/", AMAZON_FAULTS, fault_rate)

        def schedule(hours: float, copies: int) -> None:
            """Hours pass; the schedule runs (a failed run is the next schedule's to redo); Amazon finishes."""
            amazon.clock.advance(hours * 3600)
            vt.advance(hours * 3600)
            try:
                stack.invoke("ReportRequestFunction", {})
            except Exception:  # a failed run is the next schedule's to redo; counted as a retry
                report.retries += 1
            amazon.notification_duplicates = copies
            report.notification_copies += copies
            amazon.clock.advance(120)
            amazon.tick()
            pump_all(stack, "NotificationsFunction", report, vt)

        for i, cycle in enumerate(scenario.cycles):
            if i == bp_faults_from:
                for rule in bp_faults:
                    bp.add_fault(rule)
            amazon.notification_duplicates = cycle.notification_copies
            # Amazon's FBA inventory notifications in one cycle in four (each copy costs a delivery to the
            # NotificationsFunction: in every cycle they would double part 2's time at N = 10 000).
            inventory_types = INVENTORY_TYPES if i % 4 == 0 else ()
            amazon.configure(notification_types=["REPORT_PROCESSING_FINISHED", *inventory_types])
            shown = len(amazon.notifications)
            for m in cycle.movements:
                if m.op == "customer_return":
                    amazon.world_op("customer_return", sku=m.sku, quantity=m.quantity, order_id=m.order_id,
                                    disposition=m.disposition)
                elif m.op == "replacement":
                    amazon.world_op("replacement", sku=m.sku, quantity=m.quantity, original_order_id=m.order_id)
                elif m.op == "reimburse":
                    amazon.world_op("reimburse", sku=m.sku, quantity_cash=m.quantity, amount_per_unit="4.00")
                else:
                    amazon.world_op(m.op, sku=m.sku, quantity=m.quantity)
            inventory = sum(1 for n in amazon.notifications[shown:]
                            if n.get("NotificationType") == "FBA_INVENTORY_AVAILABILITY_CHANGES")
            report.extra["FBA inventory notifications"] = report.extra.get("FBA inventory notifications", 0) + inventory
            report.extra["FBA inventory notification copies"] = \
                report.extra.get("FBA inventory notification copies", 0) + inventory * cycle.notification_copies
            schedule(cycle.hours, cycle.notification_copies)
            if progress and (i + 1) % 100 == 0:
                progress(f"  movements cycle {i + 1}/{len(scenario.cycles)}, {time.monotonic() - t0:.0f}s")

        # Faults off; schedules for a week more (by default): every window re-read (overlaps), pending
        # movements retried, late rows pulled.
        bp.clear_faults()
        amazon.clear_faults()
        for _ in range(drain_schedules):
            schedule(13, 2)

        tally_faults(report, "brightpearl", bp)
        tally_faults(report, "amazon", amazon)
        report.client_retries = sum(1 for sim in (bp, amazon) for e in sim.requests() if e.fault)
        for q in ("NotificationsDLQ", "ScheduledFailuresDLQ"):
            report.dlq[q] = count_messages(stack, q) - before[q]
        left = count_messages(stack, "NotificationsQueue") - before["NotificationsQueue"]
        if left:
            report.lost.append(f"{left} message(s) still on NotificationsQueue after draining")

        with bp.lock:
            world = bp.world
            for pid, quantity in sorted(want.fba_on_hand.items()):
                actual = world.inventory.on_hand(pid, generator.FBA_WAREHOUSE)
                if actual != quantity:
                    report.wrong.append(f"{scenario.products[pid]!r} FBA warehouse: expected {quantity}, "
                                        f"Brightpearl has {actual}")
            credits = [o for o in world.orders.values() if o.order_type_code == "SC"]
            notes = list(world.goods_in_notes.values())
            reasons = Counter(_reference(c.reason) for c in world.corrections.values())
        if len(credits) != want.credits:
            (report.duplicated if len(credits) > want.credits else report.lost).append(
                f"sales credits: {len(credits)}, expected {want.credits}")
        if len(notes) != want.goods_in:
            (report.duplicated if len(notes) > want.goods_in else report.lost).append(
                f"goods-in notes: {len(notes)}, expected {want.goods_in}")
        refs = Counter(str(c.external_ref) for c in credits)
        report.duplicated += [f"credit {ref} created {k} times" for ref, k in refs.items() if k > 1]
        report.duplicated += [f"stock correction {ref} written {k} times" for ref, k in reasons.items()
                              if ref and k > 1]
        report.emails = dict(Counter(_title(m["subject"]).split(":")[0] for m in stack.emails(emails_before)))
    report.seconds = time.monotonic() - t0
    return report


INVENTORY_TYPES = ("FBA_INVENTORY_AVAILABILITY_CHANGES",)


def _reference(reason: Any) -> str:
    """The ``AMZ-…`` reference in a correction's reason (one per movement)."""
    text = str(reason or "")
    start = text.find("[AMZ-")
    return text[start:text.find("]", start) + 1] if start >= 0 else ""


_SENDER_PREFIX = re.compile(r"^\[[^\]]+\] [^:]+: ")


def _title(subject: str) -> str:
    """An email's subject without the "[stack · stage] marketplaces: " every email starts with (issue 17)."""
    return _SENDER_PREFIX.sub("", subject, count=1)
