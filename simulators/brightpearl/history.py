"""Scenario control: an account that already has a long transfer history (ids with gaps).

``POST /_sim/brightpearl/transfer-history`` (or :func:`seed_transfer_history` on an in-process
simulator) adds ``count`` old, shipped stock transfers, each with its goods-out note, above every id
the account holds. Ids have gaps, as transfers deleted in Brightpearl's UI leave them: most steps are
1, some skip a few ids, and ``bigGapEvery`` transfers skip ``bigGap`` ids at once (longer than one
200-id read window). The history moves no stock (its notes carry no lines): it only occupies ids, so
a connector's lookups have to work in a busy account. 12 000 transfers seed in a few milliseconds.

Example::

    curl -X POST localhost:8081/_sim/brightpearl/transfer-history \\
         -d '{"count": 12000, "sourceWarehouseId": 2, "targetWarehouseId": 3, "seed": 7}'
    → {"count": 12000, "firstTransferId": 60, "lastTransferId": 14771, "gaps": 1811}
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from simulators.brightpearl.errors import BPError
from simulators.brightpearl.records import GoodsOutNote, StockTransfer
from simulators.brightpearl.world import World
from simulators.core import Request, Response

if TYPE_CHECKING:
    from simulators.brightpearl.server import BrightpearlSimulator

_FIELDS = {"count", "sourceWarehouseId", "targetWarehouseId", "seed", "gapChance", "maxGap", "bigGapEvery",
           "bigGap"}


def add_history(world: World, count: int, *, source: int, target: int, seed: int = 0, gap_chance: float = 0.1,
                max_gap: int = 8, big_gap_every: int = 4000, big_gap: int = 450) -> dict[str, int]:
    """Add ``count`` shipped transfers (and their goods-out notes) with id gaps; returns the id range."""
    if count < 0 or count > 1_000_000:
        raise ValueError(f"count must be 0..1000000, got {count}")
    world.inventory.warehouse(source)
    world.inventory.warehouse(target)
    rng = random.Random(seed)
    tid = world.shared.ids["transfer"]
    gid = world.shared.ids["goods_note"]
    first, gaps = tid, 0
    when = world.now()
    shipped = {"shipped": True, "packed": True, "picked": True, "printed": True, "shippedOn": when,
               "shippedById": world.shared.staff_id}
    for n in range(count):
        if n and big_gap_every and n % big_gap_every == 0:
            tid += big_gap
            gaps += 1
        elif n and rng.random() < gap_chance:
            tid += rng.randint(1, max_gap)
            gaps += 1
        world.transfers[tid] = StockTransfer(tid, source, target, f"HIST-{n + 1:06d}", when, world.shared.staff_id, gid)
        world.gons[gid] = GoodsOutNote(id=gid, warehouse_id=source, target_warehouse_id=target, stock_transfer_id=tid,
                                       shipping_method_id=0, release_date=when, created_on=when,
                                       created_by=world.shared.staff_id, lines=[], status=dict(shipped))
        last = tid
        tid += 1
        gid += 1 + (rng.random() < gap_chance)  # goods-out note ids are shared with sales notes: gaps too
    world.shared.ids["transfer"], world.shared.ids["goods_note"] = tid, gid
    return {"count": count, "firstTransferId": first, "lastTransferId": last if count else first - 1, "gaps": gaps}


def seed_transfer_history(sim: BrightpearlSimulator, count: int, **kwargs: Any) -> dict[str, int]:
    """The Python helper: :func:`add_history` on an in-process simulator, under its lock."""
    with sim.lock:
        return add_history(sim.world, count, **kwargs)


def register(sim: BrightpearlSimulator) -> None:
    def handler(req: Request) -> Response:
        body = req.json() or {}
        unknown = sorted(set(body) - _FIELDS)
        if unknown:
            return Response(400, {"errors": [{"code": "SIM-400", "message": f"unknown fields {unknown}"}]})
        try:
            result = seed_transfer_history(
                sim, int(body.get("count", 0)), source=int(body["sourceWarehouseId"]),
                target=int(body["targetWarehouseId"]), seed=int(body.get("seed", 0)),
                gap_chance=float(body.get("gapChance", 0.1)), max_gap=int(body.get("maxGap", 8)),
                big_gap_every=int(body.get("bigGapEvery", 4000)), big_gap=int(body.get("bigGap", 450)))
        except KeyError as e:
            return Response(400, {"errors": [{"code": "SIM-400", "message": f"{e.args[0]} is required"}]})
        except (ValueError, TypeError, BPError) as e:  # a control error is the caller's to read
            return Response(400, {"errors": [{"code": "SIM-400", "message": str(e)}]})
        return Response(200, result)

    sim.route("POST", r"/_sim/brightpearl/transfer-history", handler, write=False)
