"""The connector's jobs, each at a given size, through the real handlers in containers of their own.

Every job starts its own local stack (moto + both simulators), seeds it with realistic data (non-contiguous
Brightpearl ids, bundles whose components are linked to nothing, SKUs with spaces, ``/``, ``&``, ``+`` and
non-ASCII, several EU marketplaces, GZIP report documents as Amazon serves them), runs the functions as Lambda
would (``bench.measure.in_container``) and returns a ``JobCost``: platform requests against the lower bound
from the documented limits (``bench.limits``), DynamoDB calls, peak RSS, CPU and the simulated time.

Brightpearl's window is scaled 1:100 (200 requests per 0.6 s, governor and simulator alike) and Amazon's
rates x100 so runs take seconds; the simulated time is computed from the *documented* rates, never from
the scaled ones.
"""

from __future__ import annotations

import json
import math
import os
import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bench import limits
from bench.measure import Continuation, JobCost, Phase, Row, in_container, platform_calls, throttled
from local.stack import QUIET, LocalStack, start_stack

BP_LIMIT, BP_WINDOW = 200, 0.6  # Brightpearl's 200 per 60 s, scaled 1:100
AMAZON_SCALE = 100.0
AWKWARD = ["", " blue", "/XL", "&co", "+1", "-thé", " Größe/M&+"]


def sku(prefix: str, i: int) -> str:
    """SKUs with the characters that break naive URL and CSV handling."""
    return f"{prefix}-{i:06d}{AWKWARD[i % len(AWKWARD)]}"


def product_ids(n: int, rng: random.Random, start: int = 1000) -> list[int]:
    """``n`` increasing ids with gaps (deleted products, other ranges), as a long-lived account has."""
    out, pid = [], start
    for _ in range(n):
        pid += 1 + (rng.randrange(40) if rng.random() < 0.05 else 0)
        out.append(pid)
    return out


class Bench:
    """A started stack plus the bookkeeping of phases (one container each)."""

    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self.phases: list[Phase] = []

    def phase(self, function_id: str, steps: list[dict[str, Any]]) -> Phase:
        bp, amazon = self.stack.bp, self.stack.amazon
        b0, a0 = len(bp.requests()), len(amazon.requests())
        run = in_container(steps)
        ph = Phase(function_id, run, platform_calls(bp, b0), platform_calls(amazon, a0),
                   throttled(bp, b0) + throttled(amazon, a0))
        self.phases.append(ph)
        return ph

    def pump_step(self, function_id: str) -> dict[str, Any]:
        from local.queues import consumers

        queue_id, batch = consumers()[function_id]
        aws = self.stack.aws
        return {"pump": function_id, "queue_url": aws.queue_url(queue_id), "arn": aws.attributes[(queue_id, "Arn")],
                "batch": batch}

    def amazon_finishes(self, seconds: float = 120) -> Phase:
        """Amazon's time passes, its notifications reach the queue; the notifications function takes them."""
        self.stack.amazon.clock.advance(seconds)
        self.stack.amazon.tick()
        return self.phase("NotificationsFunction", [self.pump_step("NotificationsFunction")])


# A running moto to build the stacks on (the tests' session one); None: each job starts and stops its own.
SHARED_AWS: Any = None


@contextmanager
def bench_stack(marketplaces: tuple[str, ...], **kwargs: Any) -> Iterator[Bench]:
    os.environ.update(QUIET)
    with start_stack(aws=SHARED_AWS, bp_limit=BP_LIMIT, bp_window_seconds=BP_WINDOW, amazon_rate_scale=AMAZON_SCALE,
                     marketplaces=marketplaces, amazon_marketplaces=marketplaces, **kwargs) as stack:
        stack.amazon.clock.set_speed(0)  # reports and feeds finish when the bench advances the clock
        if SHARED_AWS is not None:  # another world's state would meet this one's simulators
            from connector.adapters.store import InboundShipment, Setting, StockMovement

            stack.clear(InboundShipment, StockMovement, Setting)
        yield Bench(stack)


def _eu() -> tuple[str, ...]:
    from simulators.spapi.server import EU_MARKETPLACES

    return tuple(EU_MARKETPLACES[:3])  # UK, DE, FR: one Pan-EU quantity per SKU


def _mfn_world(n: int, rng: random.Random, marketplaces: tuple[str, ...]) -> tuple[dict, dict, list, int, int]:
    """n MFN listings (2.5 % bundles of two components linked to nothing) in every given marketplace."""
    n_bundles = max(1, n // 40)
    pids = product_ids(n + 2 * n_bundles, rng)
    listed, components = pids[:n], pids[n:]
    warehouses = [1, 2, 3, 4, 5]
    products: list[dict[str, Any]] = []
    stock = []
    for i, pid in enumerate(listed):
        if i < n_bundles:
            products.append({"id": pid, "sku": sku("MFN", i), "bundleComponents": [
                {"productId": components[2 * i], "productQuantity": 1},
                {"productId": components[2 * i + 1], "productQuantity": rng.randint(1, 3)}]})
            continue
        products.append({"id": pid, "sku": sku("MFN", i)})
        stock += [{"productId": pid, "warehouseId": w, "onHand": rng.randint(0, 40)} for w in rng.sample(warehouses, 2)]
    for j, pid in enumerate(components):
        products.append({"id": pid, "sku": sku("COMP", j)})
        stock.append({"productId": pid, "warehouseId": 1, "onHand": rng.randint(0, 90)})
    bp_seed = {"warehouses": [{"id": w, "name": f"Warehouse {w}"} for w in warehouses], "products": products,
               "stock": stock}
    amazon_seed = {"listings": {sku("MFN", i): {"channel": "MFN", "quantity": rng.randint(0, 60),
                                                "marketplaces": list(marketplaces)} for i in range(n)}}
    links = [(m, sku("MFN", i), pid, "MFN") for m in marketplaces for i, pid in enumerate(listed)]
    return bp_seed, amazon_seed, links, n_bundles, len(components)


def _changed_skus(stack: LocalStack, before: dict[str, int]) -> int:
    return sum(1 for s, q in before.items() if stack.amazon.world.listings[s].quantity != q)


# The MFN jobs plan and push a slice of links at a time (domain/slices.py: 25 000 in production, one slice at
# the benches' sizes). bench/scale.py measures the larger size once more in slices of BENCH_SLICE_LINKS (1:100,
# as Brightpearl's window) to see what a slice holds and what each extra slice costs (``Sliced``).
BENCH_SLICE_LINKS = 250
PRODUCTION_SLICE_LINKS = 25_000


def _slice_env(slice_links: int, feed_max: int | None) -> dict[str, str]:
    return {"MFN_SLICE_LINKS": str(slice_links),
            "MFN_FEED_MAX_MESSAGES": str(feed_max or limits.LISTINGS_FEED_MESSAGES)}


def mfn_nightly(n: int, *, force: bool = False, slice_links: int = PRODUCTION_SLICE_LINKS,
                feed_max: int | None = None) -> JobCost:
    """Nightly reconciliation (or, ``force``, the operator's sync-on pushing every listing) over n SKUs
    listed in 3 EU marketplaces."""
    from connector.adapters.repositories import GlobalSettings, SettingsRepository

    marketplaces = _eu()
    rng = random.Random(42)
    with bench_stack(marketplaces, env=_slice_env(slice_links, feed_max)) as b:
        bp_seed, amazon_seed, links, n_bundles, n_components = _mfn_world(n, rng, marketplaces)
        b.stack.bp.seed(bp_seed)
        b.stack.amazon.seed(amazon_seed)
        SettingsRepository().save_global(GlobalSettings(mfn_warehouses=[1, 2, 3]))
        b.stack.link(links)
        before = {s: lst.quantity for s, lst in b.stack.amazon.world.listings.items()}
        if force:
            b.phase("OperatorFunction", [{"invoke": "OperatorFunction",
                                          "event": {"command": "sync-on", "marketplaceId": marketplaces[0]}}])
            b.amazon_finishes()  # the All Listings report confirms the unchecked links: push them all
        else:
            b.phase("NightlyReconciliationFunction", [{"invoke": "NightlyReconciliationFunction",
                                                        "event": {"action": "start"}}])
            b.amazon_finishes()  # the report: compare, push the differences
        b.amazon_finishes()  # the feed's processing report confirms what was pushed
        changed = _changed_skus(b.stack, before)
        # Availability in ID sets of 100 (contract §4a, unconfirmed), bundle GETs in sets of 200 (documented).
        reads = limits.availability_reads(n + n_components) + limits.bp_reads(n_bundles)
        if not force:  # the summary email names the products of the rows its body shows: one ID-set GET for 50
            from connector.usecases.nightly_summary import MAX_ROWS_IN_BODY

            reads += limits.bp_reads(min(changed, MAX_ROWS_IN_BODY))
        # sync-on too: one All Listings report confirms the links instead of one getListingsItem per SKU.
        sp_bound = limits.REPORT_CALLS + limits.FEED_CALLS * limits.feeds_for(changed)
        job = "sync-on (force)" if force else "MFN nightly, 3 EU"
        return JobCost(job, n, changed, "changed SKU", b.phases, reads, sp_bound, extra=[
            Row(job, f"{n:,}", "feeds submitted / bound", sum(ph.sp.get("createFeed", 0) for ph in b.phases)
                / max(1, limits.feeds_for(changed)), limits.PLATFORM_RATIO_GOAL, "x",
                scales="ratio", note=f"bound ceil(changed / {limits.LISTINGS_FEED_MESSAGES}) for all EU marketplaces")])


def sync_on(n: int, *, slice_links: int = PRODUCTION_SLICE_LINKS, feed_max: int | None = None) -> JobCost:
    return mfn_nightly(n, force=True, slice_links=slice_links, feed_max=feed_max)


def webhook_storm(n: int) -> JobCost:
    """n separate on-hand webhooks (one product each, as Brightpearl sends them without idSetAccepted
    batching), through the webhook function and the stock-change queue to Amazon."""

    from connector.adapters.repositories import GlobalSettings, SettingsRepository
    from simulators.spapi.demo import UK

    rng = random.Random(5)
    with bench_stack((UK,), api=False) as b:
        bp_seed, amazon_seed, links, _nb, _nc = _mfn_world(n, rng, (UK,))
        bp_seed["products"] = [p for p in bp_seed["products"] if "bundleComponents" not in p]
        listed = [p["id"] for p in bp_seed["products"] if p["sku"].startswith("MFN")]
        b.stack.bp.seed(bp_seed)
        b.stack.amazon.seed(amazon_seed)
        SettingsRepository().save_global(GlobalSettings(mfn_warehouses=[1, 2, 3]))
        b.stack.link([lk for lk in links if lk[2] in set(listed)])
        _as_confirmed(b.stack)  # connected earlier: confirmed on Amazon at what Amazon shows
        before = {s: lst.quantity for s, lst in b.stack.amazon.world.listings.items()}
        template = json.loads((limits_root() / "events" / "brightpearl_webhook.json").read_text())
        token = b.stack.webhook_token
        events = []
        for i, pid in enumerate(listed):
            ev = json.loads(json.dumps(template).replace("REPLACE_WITH_WEBHOOK_TOKEN", token))
            ev["body"] = json.dumps({"accountCode": "acme", "resourceType": "product", "id": str(pid),
                                     "lifecycleEvent": "modified", "fullEvent": "product.modified.on-hand-modified",
                                     "raisedOn": f"2026-12-01T10:{i // 60 % 60:02d}:{i % 60:02d}Z"})
            events.append(ev)
        b.phase("BrightpearlWebhookFunction", [{"invoke": "BrightpearlWebhookFunction", "events": events}])
        b.phase("StockChangeFunction", [b.pump_step("StockChangeFunction")])
        if any(ph.sp.get("createFeed") for ph in b.phases):
            b.amazon_finishes()
        changed = _changed_skus(b.stack, before)
        # Lower bound: the n products' availability in ID sets of 100 (contract §8a: "keep <= 100", the
        # limit unconfirmed), their bundle look-up in ID sets of 200 (documented for product GETs), one
        # feed for the changed SKUs.
        sp_bound = limits.FEED_CALLS * limits.feeds_for(changed)
        bp_bound = math.ceil(len(listed) / AVAILABILITY_IDS) + limits.bp_reads(len(listed))
        sizes = _storm_message_sizes(b.stack)
        largest = max(sizes[0], sizes[2])
        return JobCost("webhook storm", len(listed), changed, "changed SKU", b.phases, bp_bound, sp_bound, extra=[
            Row("webhook storm", f"{len(listed):,}", "largest SQS message / 256 KiB",
                largest / limits.SQS_MESSAGE_BYTES, 1 - limits.HEADROOM, "%", scales="ratio",
                note=f"one-product webhook {sizes[0]:,} B; a 100 000-id bulk set: {sizes[1]} messages, "
                f"largest {sizes[2]:,} B (domain/webhooks.py splitting)")])


# Product Availability: the contract's "keep <= 100 (limit unconfirmed)" (/work/shared/contracts/brightpearl.md
# §8a), which the simulator enforces; Brightpearl documents no cap for it.
AVAILABILITY_IDS = 100


def _as_confirmed(stack: LocalStack) -> None:
    """Links as a storm meets them: connected (and so checked on Amazon) earlier, last confirmed at what
    Amazon shows now — only real differences are pushed."""
    from connector.adapters.store import ListingLink

    shown = {s: lst.quantity for s, lst in stack.amazon.world.listings.items()}
    with ListingLink.batch_write() as batch:
        for link in ListingLink.scan():
            link.amazon_status, link.last_confirmed_quantity = "confirmed", shown.get(link.sku)
            batch.save(link)


def _storm_message_sizes(stack: LocalStack) -> tuple[int, int, int]:
    """The largest stock-change message the storm's webhooks queued, and how a 100 000-id bulk set (ranges,
    gaps and scattered ids) is split: (largest storm message, messages for the bulk set, largest of them)."""
    from connector.adapters.queues import message_bytes
    from connector.domain.webhooks import parse_webhook_body

    rng = random.Random(7)
    ids = sorted(set(range(1, 60_001)) | set(rng.sample(range(100_000, 10**9), 40_000)))
    bulk = parse_webhook_body(json.dumps({"accountCode": "acme", "resourceType": "product",
                                          "id": ",".join(map(str, ids)), "fullEvent": "product.modified"}))
    attrs = {"fullEvent": "product.modified.on-hand-modified", "correlationId": "x" * 36}
    bulk_sizes = [message_bytes(json.dumps(m, separators=(",", ":")), attrs) for m in bulk.to_messages()]
    single = parse_webhook_body(json.dumps({"accountCode": "acme", "resourceType": "product", "id": "1234567",
                                            "fullEvent": "product.modified.on-hand-modified",
                                            "raisedOn": "2026-12-01T10:00:00Z"}))
    storm = max(message_bytes(json.dumps(m, separators=(",", ":")), attrs) for m in single.to_messages())
    return storm, len(bulk_sizes), max(bulk_sizes)


def limits_root() -> Any:
    from bench.measure import ROOT

    return ROOT


def fba_reconciliation(n: int) -> JobCost:
    """FBA reconciliation over n linked FBA SKUs (5 % drifted) with the MYI report (GZIP) and its email."""
    from connector.adapters.repositories import GlobalSettings, SettingsRepository
    from simulators.spapi.demo import UK

    fba, main = 7, 2
    rng = random.Random(7)
    with bench_stack((UK,)) as b:
        pids = product_ids(n, rng)
        amazon_stock = {pid: rng.randint(0, 60) for pid in pids}
        drifted = set(rng.sample(pids, max(1, n // 20)))
        bp_stock = {pid: max(0, q + (rng.choice([-3, -1, 1, 2, 4]) if pid in drifted else 0))
                    for pid, q in amazon_stock.items()}
        b.stack.bp.seed({"warehouses": [{"id": main, "name": "Main"}, {"id": fba, "name": "Amazon FBA"}],
                         "products": [{"id": pid, "sku": sku("FBA", i)} for i, pid in enumerate(pids)],
                         "stock": [{"productId": pid, "warehouseId": fba, "onHand": q} for pid, q in bp_stock.items()]})
        b.stack.amazon.seed({"listings": {sku("FBA", i): {"channel": "FBA", "marketplaces": [UK],
                                                          "fba": {"SELLABLE": amazon_stock[pid]}}
                                          for i, pid in enumerate(pids)}})
        SettingsRepository().save_global(GlobalSettings(fba_warehouse_id=fba))
        # The MYI report, as 'auto' chooses above api_max_skus (2 500): the path a merchant-size catalogue
        # takes, so the small measured sizes extrapolate along it (the paged API is another regime).
        from connector.usecases.fba_reconciliation import SETTINGS_KEY

        SettingsRepository().set_value(SETTINGS_KEY, {"source": "report"})
        b.stack.link((UK, sku("FBA", i), pid, "FBA") for i, pid in enumerate(pids))
        m0 = len(b.stack.emails())
        b.phase("FbaReconciliationFunction", [{"invoke": "FbaReconciliationFunction", "event": {"action": "start"}}])
        b.amazon_finishes()  # REPORT_PROCESSING_FINISHED is recorded: the poll needs no getReport
        b.phase("FbaReconciliationFunction", [{"invoke": "FbaReconciliationFunction", "event": {"action": "poll"}}])
        mails = b.stack.emails(m0)
        size = max((len(str(m.get("raw") or m)) for m in mails), default=0)
        # Bound: read the FBA warehouse by availability ID sets (100, contract §8a) and name the differing
        # lines the email shows (product GET, 200 per ID set); Amazon's figures from one report (2 calls).
        extra = [Row("FBA reconciliation", f"{n:,}", "email size / SES 10 MB", size / limits.SES_MESSAGE_BYTES,
                     1 - limits.HEADROOM, "%", note=f"{len(mails)} email(s)")]
        sp_bound = limits.REPORT_CALLS
        bp_bound = limits.availability_reads(n) + limits.bp_reads(len(drifted))
        return JobCost("FBA reconciliation", n, n, "SKU", b.phases, bp_bound, sp_bound, extra=extra)


def import_links(n: int, *, slice_links: int = PRODUCTION_SLICE_LINKS, feed_max: int | None = None) -> JobCost:
    """The operator's import-links for n SKUs that exist on Amazon and in Brightpearl (same SKU)."""
    from connector.adapters.repositories import GlobalSettings, SettingsRepository
    from simulators.spapi.demo import UK

    rng = random.Random(3)
    with bench_stack((UK,), env=_slice_env(slice_links, feed_max)) as b:
        pids = product_ids(n, rng)
        b.stack.bp.seed({"warehouses": [{"id": 1, "name": "Main"}],
                         "products": [{"id": pid, "sku": sku("IMP", i)} for i, pid in enumerate(pids)],
                         "stock": [{"productId": pid, "warehouseId": 1, "onHand": 5} for pid in pids]})
        b.stack.amazon.seed({"listings": {sku("IMP", i): {"channel": "MFN", "quantity": 5, "marketplaces": [UK]}
                                          for i in range(n)}})
        SettingsRepository().save_global(GlobalSettings(mfn_warehouses=[1]))
        b.stack.link([])
        b.phase("OperatorFunction", [{"invoke": "OperatorFunction", "event": {
            "command": "import-links", "marketplaceId": UK,
            "listings": [{"sku": sku("IMP", i), "channel": "MFN"} for i in range(n)]}}])
        b.amazon_finishes()  # the All Listings report confirms the new links: the first push, one feed
        b.amazon_finishes()  # the feed's processing report confirms what was pushed
        # Bound: the catalogue by product-search pages of 500 and the linked products' availability by ID
        # set; each SKU's existence on Amazon from one All Listings report instead of one getListingsItem
        # per SKU at 5/s; the first push in feeds of 25 000.
        bp_bound = -(-n // limits.BP_SEARCH_PAGE) + limits.availability_reads(n)
        sp_bound = limits.REPORT_CALLS + limits.FEED_CALLS * limits.feeds_for(n)
        return JobCost("import-links", n, n, "link", b.phases, bp_bound, sp_bound)


def inbound_receipt(shipments: int, skus_per_shipment: int = 200) -> JobCost:
    """``shipments`` open inbound shipments of 200 SKUs each, created, shipped and then received in full
    while the connector runs: the run that releases the received units from quarantine is measured."""
    from connector.adapters.repositories import GlobalSettings, SettingsRepository
    from connector.domain.inbound import MAX_HOPS
    from simulators.spapi.demo import UK

    source, fba = 1, 7
    rng = random.Random(9)
    n = shipments * skus_per_shipment
    event = {"detail-type": "Scheduled Event", "source": "aws.scheduler", "detail": {}}
    with bench_stack((UK,), notifications=False) as b:
        pids = product_ids(n, rng)
        b.stack.bp.seed({"warehouses": [
            {"id": source, "name": "Main DC", "defaultLocationId": 2, "quarantineLocationId": 9},
            {"id": fba, "name": "Amazon FBA", "defaultLocationId": 3, "quarantineLocationId": 10}],
            "products": [{"id": pid, "sku": sku("INB", i)} for i, pid in enumerate(pids)],
            "stock": [{"productId": pid, "warehouseId": source, "onHand": 50} for pid in pids]})
        b.stack.amazon.seed({"listings": {sku("INB", i): {"channel": "FBA", "marketplaces": [UK],
                                                          "fba": {"SELLABLE": 0}} for i in range(n)}})
        SettingsRepository().save_global(GlobalSettings(fba_warehouse_id=fba, inbound_source_warehouse_id=source))
        b.stack.link((UK, sku("INB", i), pid, "FBA") for i, pid in enumerate(pids))
        ids = []
        for s in range(shipments):
            items = {sku("INB", s * skus_per_shipment + k): 5 for k in range(skus_per_shipment)}
            ids.append((b.stack.amazon.world_op("create_inbound_shipment", items=items).shipment_id, items))
        from bench.measure import in_container

        in_container([{"invoke": "InboundShipmentsFunction", "event": event}])  # transfers created (not measured)
        for shipment_id, _items in ids:
            b.stack.amazon.world_op("ship_inbound", shipment_id=shipment_id)
        in_container([{"invoke": "InboundShipmentsFunction", "event": event}])  # shipped: in transit
        for shipment_id, items in ids:
            b.stack.amazon.world_op("receive_inbound", shipment_id=shipment_id, items=items)
        ph = b.phase("InboundShipmentsFunction", [{"invoke": "InboundShipmentsFunction", "event": event}])
        released = sum(1 for e in b.stack.bp.requests(route="post-quarantine-release", ok_only=True))
        # Bound per shipment per run: the figures of its products read once by ID set (100 per call, contract
        # §8a), one release per product: Quarantine Release POST takes one productId, quantity and toLocationId
        # (https://api-docs.brightpearl.com/warehouse/quarantine-release/post.html); no multi-product release is
        # documented. Amazon (bench/limits.py, inbound_calls): each open shipment's items once, the open list, the
        # newest ledger report and the plans updated lately (every shipment here has its own plan, all updated).
        bp_bound = shipments * (limits.availability_reads(skus_per_shipment) + skus_per_shipment)
        sp_bound = limits.inbound_calls(shipments, shipments)
        by_op = ph.run.dynamodb_by_operation()
        ops = ", ".join(f"{k} {v}" for k, v in by_op.items())
        # The Brightpearl governor's token bucket (counted in the DynamoDB row above), counted by its table: a
        # conditional write per block of requests (issue 14 item 1; was one per request, most of the calls).
        governor = sum(v for k, v in ph.run.aws_calls.items() if k.startswith("governor:"))
        shipment_calls = max(0, ph.run.dynamodb_calls - governor)
        # The bench container does the whole backlog at once (its wall clock never reaches the budget), but in
        # production a run sends no Brightpearl write once 1 - WRITE_RESERVE (67 %) of its timeout has passed
        # and queues the next at once (issue 14 item 4, InboundContinueQueue): the measured cost is split into
        # runs of that budget, a release at a time (one write is the unit a run stops at), so "simulated time /
        # timeout" is per run.
        # Not modelled: each run's own re-read of the open shipments and the open list (skip_s 0), and peak RSS
        # is still this one container's, which held the whole backlog (an upper bound on a run's).
        from connector.usecases.inbound_shipments import WRITE_RESERVE

        # The connector's own stop (not the goal): the row then compares where a run really ends with 70 %.
        usable = (1 - WRITE_RESERVE) * limits.lambda_limits("InboundShipmentsFunction").timeout_s
        total_s = ph.total_seconds()
        ph.continues = Continuation(budget_s=usable, items=max(1, released), skip_s=0.0, chunk=1)
        return JobCost("inbound receipt", shipments, n, "received SKU", [ph], bp_bound, sp_bound, extra=[
            Row("inbound receipt", "", "runs back to back (continuations)", total_s / usable,
                note=f"a run stops sending at {1 - WRITE_RESERVE:.0%} of its timeout ({usable:.0f} s); then the next"),
            Row("inbound receipt", "", "backlog time, runs back to back (h)", total_s / 3600,
                note=f"one chain of up to {MAX_HOPS} runs; before: one 300 s run per 30-minute schedule"),
            Row("inbound receipt", "", "backlog floor at Brightpearl's 200/min (h)",
                bp_bound / limits.BP_REQUESTS_PER_MINUTE / 60,
                note="the bound's Brightpearl requests at the documented 200 a minute, nothing else running"),
            Row("inbound receipt", "", "quarantine releases (one per product)", released, note="all units received"),
            Row("inbound receipt", "", "DynamoDB calls per SKU, governor excluded", shipment_calls / n,
                limits.DDB_PER_ITEM_GOAL, scales="ratio",
                note=f"{shipment_calls} calls for {n} received SKUs beside {governor} of the governor ({ops})")])


JOBS = {"mfn_nightly": mfn_nightly, "sync_on": sync_on, "webhook_storm": webhook_storm,
        "fba_reconciliation": fba_reconciliation, "import_links": import_links,
        "inbound_receipt": inbound_receipt}
