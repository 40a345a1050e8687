"""``import-links`` as a job (usecases/import_job.py) on fakes: the operator's real import runs chunk by
chunk over a fake links store, Brightpearl and Amazon; a re-delivered chunk message, a chain broken
between chunks and a refused chunk each end with every matching SKU linked once at its stock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.domain.settings import ChannelSettings, GlobalSettings
from connector.usecases.import_job import DONE, REFUSED, ImportJobs, chunk_key, progress
from connector.usecases.mfn_sync import MfnSync
from connector.usecases.operator import CommandError, Operator
from tests.fakes import FakeBrightpearl, FakeLinks, FakeListings, FakeSettings

UK = "A1F83G8C2ARO7P"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
# SKUs as merchants write them: spaces, '/', '&', '+', non-ASCII
SKU = st.text(st.sampled_from("AB7-_ /&+éß中"), min_size=1, max_size=10).map(str.strip).filter(bool)


class World:
    """Brightpearl products (SKU → stock), Amazon listings, and the job's queue as a list of messages."""

    def __init__(self, in_brightpearl: dict[str, int], on_amazon: set[str]) -> None:
        ids = {sku: 100 + i for i, sku in enumerate(sorted(in_brightpearl))}
        self.bp = FakeBrightpearl(products={pid: sku for sku, pid in ids.items()})
        for sku, units in in_brightpearl.items():
            self.bp.stock(1, ids[sku], units)
        self.product = ids
        self.links = FakeLinks()
        self.listings = FakeListings({(UK, sku): 0 for sku in on_amazon})
        self.settings = FakeSettings(GlobalSettings(mfn_warehouses=[1]), {UK: ChannelSettings()})
        sync = MfnSync(catalog=self.bp, links=self.links, settings=self.settings, listings=self.listings,
                       marketplace_ids=[UK])
        self.operator = Operator(sync=sync, links=self.links, settings=self.settings, seller_id="SELLER",
                                 directory=self.bp, fba_reconciliation=lambda: None)
        self.queue: list[dict[str, Any]] = []
        self.jobs = ImportJobs(self.settings, self.queue.append, self.operator.run, [UK], now=lambda: NOW)

    def drain(self, *, redeliver_every: int = 0) -> None:
        """Work the queue in order; every ``redeliver_every``-th message is delivered twice (SQS at least once)."""
        n = 0
        while self.queue:
            message = self.queue.pop(0)
            self.jobs.work(message)
            n += 1
            if redeliver_every and n % redeliver_every == 0:
                self.jobs.work(message)


@settings(max_examples=60, deadline=None)
@given(skus=st.lists(SKU, min_size=1, max_size=14, unique=True), data=st.data())
def test_a_job_links_every_matching_sku_once_at_its_stock_whatever_the_chunks_and_redeliveries(
        skus: list[str], data: st.DataObject) -> None:
    in_bp = {s: data.draw(st.integers(0, 40)) for s in skus if data.draw(st.booleans())}
    on_amazon = {s for s in in_bp if data.draw(st.booleans())}
    world = World(in_bp, on_amazon)
    size = data.draw(st.integers(1, 5))
    started = world.jobs.start({"action": "start", "marketplaceId": UK, "chunkSize": size,
                                "listings": [{"sku": s} for s in skus]})
    assert started["chunks"] == -(-len(skus) // size) and started["total"] == len(skus)
    world.drain(redeliver_every=data.draw(st.integers(0, 3)))

    state = progress(world.settings, started["job"])
    assert state is not None and state["state"] == "done" and state["processed"] == len(skus)
    assert sorted(state["unmatched"]) == sorted(s for s in skus if s not in in_bp)
    assert {(link.sku, link.product_id) for link in world.links.all()} == {(s, world.product[s]) for s in in_bp}
    # what Amazon holds: each listed, matching SKU at its Brightpearl stock
    assert {s: q for (_, s), q in world.listings.quantities.items() if q} == {s: in_bp[s] for s in on_amazon
                                                                            if in_bp[s]}


def test_a_chain_broken_between_chunks_is_resumed_at_the_first_unfinished_chunk() -> None:
    world = World({"TEA GREEN": 3, "TEA/BLACK & CO": 4, "TÉ+ROJO": 5}, {"TEA GREEN", "TEA/BLACK & CO", "TÉ+ROJO"})
    job = world.jobs.start({"action": "start", "marketplaceId": UK, "chunkSize": 1,
                            "listings": [{"sku": "TEA GREEN"}, {"sku": "TEA/BLACK & CO"}, {"sku": "TÉ+ROJO"}]})["job"]
    world.jobs.work(world.queue.pop(0))
    world.queue.clear()  # the process died after chunk 0 was done, before chunk 1 was queued
    assert world.jobs.resume({"action": "resume", "job": job}) == {"job": job, "resumedAt": 1}
    world.drain()
    assert world.jobs.resume({"action": "resume", "job": job}) == {"job": job, "resumedAt": None}
    assert world.listings.quantities == {(UK, "TEA GREEN"): 3, (UK, "TEA/BLACK & CO"): 4, (UK, "TÉ+ROJO"): 5}


def test_a_refused_chunk_is_recorded_and_the_chain_goes_on() -> None:
    world = World({"A": 1, "B": 2}, {"A", "B"})
    refused_once = [True]

    def run(command: dict[str, Any]) -> dict[str, Any]:
        if refused_once.pop() if refused_once else False:
            raise CommandError("import-links: listings.0.sku: refused")
        return world.operator.run(command)

    world.jobs.run_import = run
    job = world.jobs.start({"action": "start", "marketplaceId": UK, "chunkSize": 1,
                            "listings": [{"sku": "A"}, {"sku": "B"}]})["job"]
    world.drain()
    assert world.settings.get_value(chunk_key(job, 0))["status"] == REFUSED
    assert world.settings.get_value(chunk_key(job, 1))["status"] == DONE
    state = progress(world.settings, job)
    assert state is not None and state["refused"][0]["skus"] == ["A"] and state["state"] == "done"
    assert world.listings.quantities == {(UK, "A"): 0, (UK, "B"): 2}


@pytest.mark.parametrize(("event", "field"), [
    ({"marketplaceId": "A13V1IB3VIYZZH", "listings": [{"sku": "A"}]}, "marketplaceId 'A13V1IB3VIYZZH'"),
    ({"marketplaceId": UK, "listings": [{"sku": "A"}], "chunkSize": 0}, "chunkSize"),
    ({"marketplaceId": UK, "listings": [{"sku": "A"}], "chunkSize": True}, "chunkSize"),
    ({"marketplaceId": UK, "listings": []}, "listings"),
    ({"marketplaceId": UK, "listings": [{"sku": "A"}], "dryRun": True}, "dryRun"),
])
def test_a_bad_start_is_refused_naming_the_field_and_nothing_is_queued(event: dict[str, Any], field: str) -> None:
    world = World({"A": 1}, {"A"})
    with pytest.raises(CommandError, match=field):
        world.jobs.start({"action": "start", **event})
    assert world.queue == [] and list(world.links.all()) == []


def test_resume_of_an_unknown_job_or_with_an_unknown_field_is_refused_by_name() -> None:
    world = World({"A": 1}, {"A"})
    with pytest.raises(CommandError, match="no import job 'nope'"):
        world.jobs.resume({"action": "resume", "job": "nope"})
    with pytest.raises(CommandError, match="unknown field"):
        world.jobs.resume({"action": "resume", "job": "nope", "force": True})
