"""The Amazon-side world behind the SP-API simulator: a thin container of the shared clock and ids
(:class:`~simulators.spapi.common.Shared`), the scenario state and one part per API:

- ``listings_items`` (:mod:`simulators.spapi.listings`): listings, MFN quantity, offer-only SKUs;
- ``inventory`` (:mod:`simulators.spapi.inventory`): the Pan-EU FBA stock pool, its ledger and the
  "Amazon did something" operations (``customer_shipment``, ``lose``, ``reimburse``…);
- ``inbound`` (:mod:`simulators.spapi.inbound`): inbound shipments (``receive_inbound``…);
- ``document_store`` (:mod:`simulators.spapi.documents`), ``report_jobs``
  (:mod:`simulators.spapi.report_jobs`) and ``feed_jobs`` (:mod:`simulators.spapi.feeds`).

Pure Python with no HTTP: each API module's routes call its part, and tests call the same operations
directly (``sim.world.inventory.lose(...)``). Every operation first runs the jobs due by now
(:meth:`World.advance`), so reports and feeds are processed against the world as it was when they
finished. ``listings``, ``offer_only``, ``fba``, ``ledger``, ``shipments``, ``documents``,
``reports`` and ``feeds`` are the parts' own collections, reachable from the world for tests.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from simulators.core import SimClock
from simulators.spapi.common import JSON, Shared, Timing, iso_ms
from simulators.spapi.documents import Documents
from simulators.spapi.feeds import Feed, FeedJobs
from simulators.spapi.finances import Finances
from simulators.spapi.inbound import V0_STATUSES, FulfillmentInbound
from simulators.spapi.inventory import FbaInventory
from simulators.spapi.listings import Listing, ListingsItems
from simulators.spapi.removals import REMOVAL_OPERATIONS, Removals
from simulators.spapi.report_jobs import ReportJobs
from simulators.spapi.reports import Report, ReportSources
from simulators.spapi.scenario import ScenarioState

# What ``POST /_sim/spapi/ops/<name>`` may run, by the part that runs it.
INVENTORY_OPERATIONS = ("customer_order", "customer_shipment", "customer_return", "replacement", "lose", "find",
                        "damage", "dispose", "adjust", "warehouse_transfer", "vendor_return", "reimburse",
                        "mfn_return", "set_fba_stock")
INBOUND_OPERATIONS = ("create_inbound_shipment", "ship_inbound", "receive_inbound", "close_inbound",
                      "cancel_inbound", "set_inbound_status", "stale_inbound_v0", "confirm_inbound_plan")
FINANCES_OPERATIONS = ("refund",)
WORLD_OPERATIONS = (INVENTORY_OPERATIONS + INBOUND_OPERATIONS + FINANCES_OPERATIONS + REMOVAL_OPERATIONS
                    + ("add_listing",))


class World:
    """All Amazon-side state for one seller in one region."""

    def __init__(self, *, clock: SimClock, seller_id: str, marketplace_ids: Iterable[str], rng: random.Random,
                 timing: Timing | None = None, default_fc: str = "LTN1", country: str = "GB",
                 seq_start: int = 0, region: str = "eu") -> None:
        self.shared = shared = Shared(clock=clock, seller_id=seller_id, marketplace_ids=marketplace_ids, rng=rng,
                                      timing=timing or Timing(), default_fc=default_fc, country=country,
                                      seq_start=seq_start, region=region)
        self.clock = clock
        self.timing = shared.timing
        self.scenario = ScenarioState()  # odd documents, host faults, token expiry (simulators/spapi/scenario.py)
        self.listings_items = ListingsItems(shared)
        self.inventory = FbaInventory(shared, self.listings_items)
        self.inbound = FulfillmentInbound(shared, self.inventory)
        self.listings_items.fba_sellable = self.inventory.sellable
        self.inventory.inbound_quantities = self.inbound.inbound_quantities
        self.document_store = Documents(shared)
        self.removals = Removals(shared, self.inventory)  # FBA removal orders (simulators/spapi/removals.py)
        self.report_jobs = ReportJobs(shared, self.document_store,
                                      ReportSources(shared, self.listings_items, self.inventory, self.inbound,
                                                    removals=self.removals),
                                      self.scenario)
        self.feed_jobs = FeedJobs(shared, self.document_store, self.listings_items)
        self.finances = Finances(shared)  # refund financial events (simulators/spapi/finances.py)
        shared.advance = self.advance
        # The parts' collections (the same objects), for tests and the demo.
        self.listings = self.listings_items.listings
        self.offer_only = self.listings_items.offer_only
        self.fba = self.inventory.fba
        self.ledger = self.inventory.ledger
        self.shipments = self.inbound.shipments
        self.documents = self.document_store.documents
        self.reports = self.report_jobs.reports
        self.feeds = self.feed_jobs.feeds

    def now(self) -> datetime:
        return self.shared.now()

    # ------------------------------------------------------------------ across the parts
    def add_listing(self, sku: str, spec: JSON) -> Listing:
        """A listing; an FBA one (or one with ``fba`` figures) gets its FBA stock too."""
        listing = self.listings_items.add_listing(sku, spec)
        fba = spec.get("fba")
        if fba is not None or listing.channel == "FBA":
            self.inventory.set_fba_stock(sku, fba or {})
        return listing

    def seed(self, data: JSON) -> None:
        if "ship_from" in data:
            self.inbound.ship_from = dict(data["ship_from"])
        for sku, spec in (data.get("listings") or {}).items():
            self.add_listing(sku, spec)
        for sku, spec in (data.get("fba_inventory") or {}).items():
            self.inventory.set_fba_stock(sku, spec)
        for spec in data.get("refunds") or []:  # Finances refund events: {order_id, items, currency, ...}
            self.finances.refund(**spec)
        for spec in data.get("inbound_shipments") or []:
            shp = self.inbound.create_inbound_shipment(spec["items"], shipment_id=spec.get("shipment_id"),
                                                       name=spec.get("name"), fc=spec.get("fc"))
            status = spec.get("status", "WORKING")
            if status != "WORKING":
                if status not in V0_STATUSES:
                    raise ValueError(f"unknown inbound status {status!r}")
                shp.status = status
        for spec in data.get("removals") or []:
            self.removals.seed(spec)

    def operation(self, name: str) -> Callable[..., Any]:
        """The world operation ``name`` (one of :data:`WORLD_OPERATIONS`)."""
        if name not in WORLD_OPERATIONS:
            raise ValueError(f"unknown world operation {name!r}; expected one of {WORLD_OPERATIONS}")
        part: object = self.inventory if name in INVENTORY_OPERATIONS else \
            self.inbound if name in INBOUND_OPERATIONS else \
            self.finances if name in FINANCES_OPERATIONS else \
            self.removals if name in REMOVAL_OPERATIONS else self
        fn: Callable[..., Any] = getattr(part, name)
        return fn

    def advance(self) -> None:
        """Run every job transition due by now (reports and feeds), oldest first."""
        now = self.shared.now()
        while True:
            due: list[tuple[datetime, int, Report | Feed]] = [*self.report_jobs.due(), *self.feed_jobs.due()]
            ready = [d for d in due if d[0] <= now]
            if not ready:
                return
            at, stage, job = min(ready, key=lambda d: (d[0], d[1]))
            if stage == 0:
                job.status = "IN_PROGRESS"
                job.processing_start = at
            elif isinstance(job, Report):
                self.report_jobs.finish(job, at)
            else:
                self.feed_jobs.finish(job, at)

    def state(self) -> JSON:
        return {
            "seller_id": self.shared.seller_id,
            "marketplace_ids": self.shared.marketplace_ids,
            "now": iso_ms(self.now()),
            **self.listings_items.state(),
            **self.inventory.state(),
            **self.inbound.state(),
            **self.finances.state(),
            **self.removals.state(),
            "reports": {rid: r.to_api() for rid, r in self.reports.items()},
            "feeds": {fid: f.to_api() for fid, f in self.feeds.items()},
            "counts": self.inventory.counts(),
        }
