"""MovementService with an in-memory store and a fake Brightpearl: batching, refusals, dry run, explain."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from connector.domain.errors import Refused
from connector.domain.movements import StockChange, StockCorrection
from connector.domain.settings import GlobalSettings
from connector.usecases.movements import MovementService
from tests.fakes import InMemoryMovementStore


class FakeBrightpearl:
    """Stock corrections only: all or nothing per request, refuses to go below zero (as Brightpearl does)."""

    def __init__(self, stock: dict[int, int]) -> None:
        self.stock = dict(stock)
        self.requests = 0
        self.notes: dict[int, dict[str, Any]] = {}

    def default_location(self, warehouse_id: int) -> int:
        return 1

    def post_corrections(self, warehouse_id: int, corrections: list[StockCorrection]) -> list[int]:
        self.requests += 1
        after = dict(self.stock)
        for c in corrections:
            after[c.product_id] = after.get(c.product_id, 0) + c.quantity
            if after[c.product_id] < 0:
                raise Refused("fake Brightpearl: stock-correction → 400 [WHSB-023]: not available")
        self.stock = after
        ids = []
        for c in corrections:
            nid = 8000 + len(self.notes)
            self.notes[nid] = c
            ids.append(nid)
        return ids

    def find_corrections(self, warehouse_id, refs, after_id, before_id=None):
        return {r: i for i, c in self.notes.items() for r in refs if f"[{r}]" in c.reason}

    def on_hand(self, warehouse_id, product_ids):
        return {p: self.stock.get(p, 0) for p in product_ids}


def service(bp, *, dry_run=False, links=None):
    links = {"SKU-1": 1, "SKU-2": 2} if links is None else links
    settings = GlobalSettings(fba_warehouse_id=7, dry_run=dry_run)
    return MovementService(InMemoryMovementStore(), bp, links.get, lambda: settings,  # type: ignore[arg-type]
                           clock=lambda: datetime(2026, 7, 1, tzinfo=UTC))


def clocked(bp):
    """A service on the fake Brightpearl whose clock the test moves: (service, now, start)."""
    start = datetime(2026, 7, 1, tzinfo=UTC)
    now = [start]
    settings = GlobalSettings(fba_warehouse_id=7)
    svc = MovementService(InMemoryMovementStore(), bp, {"SKU-1": 1}.get, lambda: settings,  # type: ignore[arg-type]
                          clock=lambda: now[0])
    return svc, now, start


def change(i, qty=-1, sku="SKU-1", kind="lost"):
    return StockChange(f"ledger|{i}", "GET_LEDGER_DETAIL_VIEW_DATA", kind, sku, qty, f"row {i}", line=i + 2)


def test_ten_thousand_adjustments_take_the_batching_lower_bound_of_requests():
    bp = FakeBrightpearl({1: 100_000})
    svc = service(bp)
    summary = svc.ingest(change(i) for i in range(10_000))
    assert bp.requests == 100  # ceil(10 000 / 100 corrections per request)
    assert bp.stock[1] == 90_000
    assert summary.recorded == 10_000
    again = svc.ingest(change(i) for i in range(10_000))  # the same report read again
    assert again.seen_before == 10_000 and bp.requests == 100 and bp.stock[1] == 90_000


def test_a_refused_correction_fails_alone_and_the_rest_of_its_batch_applies():
    bp = FakeBrightpearl({1: 10, 2: 0})
    svc = service(bp)
    svc.ingest([change(1), change(2, sku="SKU-2"), change(3)])
    assert bp.stock == {1: 8, 2: 0}
    by_sku = {m["sku"]: m for m in svc.explain("SKU-2")}
    assert by_sku["SKU-2"]["status"] == "failed" and "WHSB-023" in by_sku["SKU-2"]["error"]
    assert "ledger|2" in svc.store.index()["retry"]


def test_unknown_sku_waits_for_its_link_then_applies_once():
    bp = FakeBrightpearl({1: 10, 3: 10})
    links = {"SKU-1": 1}
    svc = service(bp, links=links)
    svc.ingest([change(1, sku="SKU-3")])
    assert svc.explain("SKU-3")[0]["status"] == "unmatched" and bp.requests == 0
    links["SKU-3"] = 3
    svc.retry_pending()
    svc.retry_pending()
    assert bp.stock[3] == 9 and bp.requests == 1
    assert svc.explain("SKU-3")[0]["status"] == "applied"


def test_dry_run_computes_and_records_but_writes_nothing_then_applies_when_live():
    bp = FakeBrightpearl({1: 10})
    dry = service(bp, dry_run=True)
    dry.ingest([change(1, qty=-2), change(2, qty=3, kind="found")])
    assert bp.requests == 0
    assert [m["status"] for m in dry.explain("SKU-1")] == ["dry_run", "dry_run"]
    assert "would correct -2" in dry.explain("SKU-1")[0]["why"]
    live = MovementService(dry.store, bp, {"SKU-1": 1}.get, lambda: GlobalSettings(fba_warehouse_id=7))
    live.ingest([change(1, qty=-2), change(2, qty=3, kind="found")])
    assert bp.stock[1] == 11


def test_lost_and_found_in_one_report_are_netted_without_a_request():
    bp = FakeBrightpearl({1: 10})
    svc = service(bp)
    svc.ingest([change(1, qty=-2), change(2, qty=2, kind="found")])
    assert bp.requests == 0
    assert {m["status"] for m in svc.explain("SKU-1")} == {"skipped"}
    assert all("netted against" in m["why"] for m in svc.explain("SKU-1"))


def test_a_movement_another_worker_has_in_flight_is_left_alone_until_its_lease_ends():
    """Worker A marked the correction in flight and waits on the governor; worker B's retry must not
    look it up now (it is not in Brightpearl yet) and post it a second time."""
    from datetime import timedelta

    from connector.adapters.movement_store import IndexUpdate
    from connector.usecases.movements import IN_FLIGHT_LEASE

    bp = FakeBrightpearl({1: 10})
    svc, now, start = clocked(bp)
    svc.ingest([change(1, qty=-2)])
    assert bp.stock[1] == 8 and bp.requests == 1
    rec = svc.store.get("ledger|1")
    # Rewind it to "in flight, just now, not yet posted" as worker A would have left it.
    bp.stock[1], bp.notes = 10, {}
    rec.status, rec.updated_at = "in_flight", start
    svc.store.save(rec)
    index = IndexUpdate()
    index.add_retry(rec)
    svc.store.update_index(index)

    now[0] = start + timedelta(minutes=1)
    svc.retry_pending()
    assert bp.requests == 1 and svc.explain("SKU-1")[0]["status"] == "in_flight"  # left to worker A

    now[0] = start + IN_FLIGHT_LEASE + timedelta(minutes=1)
    svc.retry_pending()  # A never posted (crashed): not found by reference, so it is posted once now
    assert bp.stock[1] == 8 and bp.requests == 2
    assert svc.explain("SKU-1")[0]["status"] == "applied"


def _deemed(i, qty, sku="SKU-1"):
    return StockChange(f"reimbursement|{i}|{sku}", "GET_FBA_REIMBURSEMENTS_DATA", "deemed", sku, -qty,
                       f"reimbursement {i}", line=i + 2, claim="deemed")


def test_a_loss_netted_against_a_find_leaves_no_open_claim_for_a_later_reimbursement():
    """Correctness item 10: the netted loss never reached Brightpearl, so a later cash reimbursement
    (Amazon deeming a unit lost) must reduce the stock instead of being matched against it."""
    bp = FakeBrightpearl({1: 10})
    svc = service(bp)
    loss = StockChange("ledger|l", "GET_LEDGER_DETAIL_VIEW_DATA", "lost", "SKU-1", -1, "M", line=2, claim="loss")
    svc.ingest([loss, change(2, qty=1, kind="found")])
    assert bp.stock[1] == 10 and bp.requests == 0  # netted
    svc.ingest([_deemed(1, 1)])
    assert bp.stock[1] == 9  # Amazon's sellable stock: 10 - 1 + 1 - 1
    assert svc.store.claims["SKU-1"].losses == 0
    svc.ingest([_deemed(1, 1)])  # re-read: nothing more
    assert bp.stock[1] == 9


def test_a_loss_that_is_not_netted_still_matches_its_reimbursement():
    bp = FakeBrightpearl({1: 10})
    svc = service(bp)
    loss = StockChange("ledger|l", "GET_LEDGER_DETAIL_VIEW_DATA", "lost", "SKU-1", -2, "M", line=2, claim="loss")
    svc.ingest([loss, change(2, qty=1, kind="found")])  # different size: not netted
    assert bp.stock[1] == 9
    svc.ingest([_deemed(1, 2)])
    assert bp.stock[1] == 9  # the reimbursement is the same two units the ledger already reduced


class CountingStore(InMemoryMovementStore):
    """The in-memory store, counting the store operations a run makes (each one is a DynamoDB call or
    batch of calls in the stack: single get/create/save one each, the *_many ones one per 100 keys)."""

    def __init__(self) -> None:
        super().__init__()
        self.ops: dict[str, int] = {}
        self.keys: dict[str, int] = {}

    def _count(self, op: str, n: int = 1) -> None:
        self.ops[op] = self.ops.get(op, 0) + 1
        self.keys[op] = self.keys.get(op, 0) + n

    def get(self, key):
        self._count("get")
        return super().get(key)

    def create(self, rec):
        self._count("create")
        return super().create(rec)

    def save(self, rec):
        self._count("save")
        super().save(rec)

    def get_many(self, keys):
        keys = list(keys)
        self._count("get_many", len(keys))
        return super().get_many(keys)

    def create_many(self, recs):
        recs = list(recs)
        self._count("create_many", len(recs))
        return {r.key for r in recs if InMemoryMovementStore.create(self, r)}

    def save_many(self, recs):
        recs = list(recs)
        self._count("save_many", len(recs))
        for r in recs:
            InMemoryMovementStore.save(self, r)
        return set()


def _calls(store: CountingStore) -> int:
    """DynamoDB calls the operations stand for: 100 keys per batch call."""
    singles = sum(store.ops.get(op, 0) for op in ("get", "create", "save"))
    return singles + sum(-(-store.keys.get(op, 0) // 100) for op in ("get_many", "create_many", "save_many"))


def test_movements_are_recorded_and_driven_in_batches_and_a_re_read_costs_almost_nothing():
    bp = FakeBrightpearl({1: 100_000, 2: 100_000})
    store = CountingStore()
    settings = GlobalSettings(fba_warehouse_id=7)
    links = {"SKU-1": 1, "SKU-2": 2}
    svc = MovementService(store, bp, links.get, lambda: settings,  # type: ignore[arg-type]
                          clock=lambda: datetime(2026, 7, 1, tzinfo=UTC))
    rows = [change(i, qty=-1 - i % 3, sku="SKU-1" if i % 2 else "SKU-2") for i in range(5_000)]
    rows += [change(5_000 + i, sku="UNLINKED") for i in range(100)]  # unmatched: saved in the chunk's batch
    svc.ingest(iter(rows))
    assert store.ops.get("get", 0) == store.ops.get("create", 0) == store.ops.get("save", 0) == 0
    assert _calls(store) <= 0.1 * len(rows)  # pending → in flight → applied, all in batches of 100
    assert bp.stock[1] == 100_000 - sum(1 + i % 3 for i in range(5_000) if i % 2)
    store.ops.clear()
    store.keys.clear()
    svc.ingest(iter(rows))  # the 3-day overlap reads it again
    assert _calls(store) <= 0.02 * len(rows) and set(store.ops) == {"get_many"}  # unmatched as before: no write
    assert bp.stock[1] == 100_000 - sum(1 + i % 3 for i in range(5_000) if i % 2)


def test_a_key_twice_in_one_report_moves_stock_once():
    bp = FakeBrightpearl({1: 100})
    svc = service(bp)
    svc.ingest(iter([change(1, qty=-3), change(2, qty=-1), change(1, qty=-3)]))
    assert bp.stock[1] == 96


def test_a_stopped_ingest_continues_where_it_stopped_and_moves_each_row_once():
    bp = FakeBrightpearl({1: 100_000})
    settings = GlobalSettings(fba_warehouse_id=7)
    store = CountingStore()
    svc = MovementService(store, bp, {"SKU-1": 1}.get, lambda: settings,  # type: ignore[arg-type]
                          clock=lambda: datetime(2026, 7, 1, tzinfo=UTC), chunk_size=100)
    rows = [change(i) for i in range(1_050)]
    first = svc.ingest(iter(rows), stop=lambda: True)  # out of time after the first chunk
    assert first.stopped_at == 100 and first.rows == 100 and bp.stock[1] == 99_900
    store.ops.clear()
    rest = svc.ingest(iter(rows), skip=first.stopped_at)  # the next invocation: rows before it not looked up
    assert rest.stopped_at is None and rest.rows == 950 and rest.seen_before == 0
    assert bp.stock[1] == 100_000 - 1_050


def test_a_long_report_keeps_no_key_per_movement_until_its_end(monkeypatch):
    """Issue 14 item 5: the index changes are written as they gather (INDEX_FLUSH), not held for the whole
    report, and the index ends the same as one write at the end would leave it."""
    import connector.usecases.movements as mv

    monkeypatch.setattr(mv, "INDEX_FLUSH", 50)
    bp = FakeBrightpearl({1: 100_000})
    svc = service(bp)
    svc.chunk_size = 10
    sizes: list[int] = []
    real = svc.store.update_index

    def update_index(update):
        sizes.append(len(update.resolved) + len(update.retry))
        real(update)

    monkeypatch.setattr(svc.store, "update_index", update_index)
    summary = svc.ingest(change(i) for i in range(1_000))
    assert summary.recorded == 1_000 and bp.stock[1] == 100_000 - 1_000
    assert max(sizes) <= 50 + 10  # one chunk past the flush point at most
    assert sum(sizes) >= 1_000  # every movement's resolution was written
    assert svc.store.index().get("retry", {}) == {}


class FirstAnswerLost(FakeBrightpearl):
    """A young account whose goods-note ids lie beyond a look-up from id 0, and whose answer to the
    connector's first correction ever is lost after the request landed."""

    def post_corrections(self, warehouse_id, corrections):
        from connector.domain.errors import UncertainWrite

        ids = super().post_corrections(warehouse_id, corrections)
        if self.requests == 1:
            raise UncertainWrite("fake Brightpearl: read timed out after the request was sent")
        return ids

    def find_corrections(self, warehouse_id, refs, after_id, before_id=None):
        return {} if before_id is None else super().find_corrections(warehouse_id, refs, after_id, before_id)


def test_a_lost_first_correction_with_two_movements_of_one_product_is_settled_by_their_sum():
    """The first correction ever carries two losses of one product and its answer is lost: the figure
    moved by both together (-5), not by either alone, so each is settled as landed and none is sent again."""
    from datetime import timedelta

    from connector.usecases.movements import IN_FLIGHT_LEASE

    bp = FirstAnswerLost({1: 100})
    svc, now, start = clocked(bp)
    svc.ingest([change(1, qty=-2), change(2, qty=-3)])
    assert bp.stock[1] == 95 and bp.requests == 1
    now[0] = start + IN_FLIGHT_LEASE + timedelta(minutes=1)
    svc.retry_pending()
    svc.retry_pending()
    assert bp.stock[1] == 95 and bp.requests == 1
    assert [m["status"] for m in svc.explain("SKU-1")] == ["applied", "applied"]
