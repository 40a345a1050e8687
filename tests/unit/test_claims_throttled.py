"""``claim_many`` under throttling: a fake DynamoDB connection cancels the claims transaction N times.

DynamoDB cancels a TransactWriteItems with a ``ThrottlingError`` reason per throttled item (API reference,
TransactWriteItems, "CancellationReasons"). The store sends it again after a jittered pause that doubles,
at most ``CLAIM_TRIES`` times in all, then raises ``Throttled`` naming the SKUs and movements it did not
write. No socket: the claims items are read through a patched ``batch_get`` (none exist yet) and the
transactions reach the fake below, which keeps what a committed transaction wrote.
"""

from __future__ import annotations

import random
from functools import partial
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pynamodb.connection.base import VerboseClientError
from pynamodb.exceptions import CancellationReason, TransactWriteError

from connector.adapters.movement_store import CLAIM_TRIES, DynamoMovementStore
from connector.adapters.store import ReportJob
from connector.adapters.transactions import jittered_backoff
from connector.domain.errors import Throttled
from connector.domain.movements import DeemedClaims

UNBOUNDED = 50  # the fake gives up (fails the test) after this many attempts: the old loop never stopped


class ThrottlingConnection:
    """Cancels the first ``throttled`` transactions (or those of ``batches``) with ThrottlingError, then
    commits: ``written`` maps each claims item's key to the detail last written."""

    def __init__(self, throttled: int, *, always_from_batch: int | None = None) -> None:
        self.throttled = throttled
        self.always_from_batch = always_from_batch
        self.attempts = 0
        self.commits = 0
        self.written: dict[str, dict[str, Any]] = {}

    def transact_write_items(self, *, put_items: list[dict[str, Any]], **_: Any) -> dict[str, Any]:
        self.attempts += 1
        assert self.attempts <= UNBOUNDED, "the throttled transaction is sent again without limit"
        if self.throttled > 0 or (self.always_from_batch is not None and self.commits >= self.always_from_batch):
            self.throttled -= 1
            reasons = [CancellationReason(code="ThrottlingError", message="Throughput exceeds the current capacity")
                       for _ in put_items]
            raise TransactWriteError("Failed to write transaction items",
                                     VerboseClientError({"Error": {"Code": "TransactionCanceledException"}},
                                                        "TransactWriteItems", cancellation_reasons=reasons))
        for put in put_items:
            item = ReportJob.from_raw_data(put["Item"])
            self.written[item.job_id] = dict(item.detail or {})
        self.commits += 1
        return {}


def _store(monkeypatch: pytest.MonkeyPatch, conn: ThrottlingConnection, pauses: list[float],
           seed: int = 0) -> DynamoMovementStore:
    monkeypatch.setattr(ReportJob, "batch_get", classmethod(lambda cls, keys, **kw: iter([])))
    store = DynamoMovementStore(pause=jittered_backoff(sleep=pauses.append, rng=random.Random(seed)))
    monkeypatch.setattr(store, "_claims_connection", lambda: conn)
    return store


def _loss(key: str, units: int, claims: DeemedClaims) -> int:
    return claims.apply_loss(key, units)


def test_a_claims_transaction_throttled_a_few_times_is_written_once_after_doubling_jittered_pauses(monkeypatch):
    conn, pauses = ThrottlingConnection(3), []
    store = _store(monkeypatch, conn, pauses)
    out = store.claim_many([("SKU A", partial(_loss, "m1", 3)), ("SKU A", partial(_loss, "m2", 2)),
                            ("SKU/B", partial(_loss, "m3", 1))])
    assert out == [3, 2, 1]
    assert (conn.attempts, conn.commits) == (4, 1)
    a = conn.written[DynamoMovementStore.CLAIMS + "SKU A"]
    assert (a["losses"], a["counted"]) == (5, {"m1": 3, "m2": 2})
    assert conn.written[DynamoMovementStore.CLAIMS + "SKU/B"]["counted"] == {"m3": 1}
    assert len(pauses) == 3
    assert all(0 <= p <= min(1.0, 0.05 * 2 ** n) for n, p in enumerate(pauses)), pauses
    assert len(set(pauses)) == 3  # jittered, not a fixed schedule every worker would share


def test_a_claims_transaction_still_throttled_after_its_tries_is_refused_naming_skus_and_movements(monkeypatch):
    conn, pauses = ThrottlingConnection(10 ** 6), []
    store = _store(monkeypatch, conn, pauses)
    with pytest.raises(Throttled) as exc:
        store.claim_many([("SKU Ä", partial(_loss, "mov-1", 3)), ("SKU&+", partial(_loss, "mov-2", 1))])
    assert conn.attempts == CLAIM_TRIES and conn.written == {}
    message = str(exc.value)
    assert "SKU Ä" in message and "SKU&+" in message and "mov-1" in message and "mov-2" in message
    assert len(pauses) == CLAIM_TRIES - 1  # none after the last try
    assert sum(pauses) <= sum(min(1.0, 0.05 * 2 ** n) for n in range(CLAIM_TRIES - 1))  # bounded: ~1.5 s at most


def test_the_refusal_names_the_later_batches_too_and_the_written_batch_is_kept(monkeypatch):
    # 150 SKUs: two transactions of 100 and 50. The first commits; the second stays throttled.
    conn, pauses = ThrottlingConnection(0, always_from_batch=1), []
    store = _store(monkeypatch, conn, pauses)
    skus = [f"SKU {i:03d}" for i in range(150)]
    with pytest.raises(Throttled) as exc:
        store.claim_many([(sku, partial(_loss, f"m-{sku}", 1)) for sku in skus])
    assert len(conn.written) == 100 and conn.attempts == 1 + CLAIM_TRIES
    assert "50 SKU(s)" in str(exc.value) and "50 movement(s)" in str(exc.value)


_SKU = st.text(st.sampled_from("AZaz09 /&+-_.ÄéØ漢"), min_size=1, max_size=12)


@settings(max_examples=60, deadline=None)
@given(requests=st.lists(st.tuples(_SKU, st.integers(1, 9)), min_size=1, max_size=12),
       throttled=st.integers(0, 2 * CLAIM_TRIES), seed=st.integers(0, 2 ** 16))
def test_whatever_the_throttling_claims_are_written_once_or_refused_with_nothing_written(requests, throttled, seed):
    with pytest.MonkeyPatch.context() as mp:
        conn, pauses = ThrottlingConnection(throttled), []
        store = _store(mp, conn, pauses, seed)
        asked = [(sku, partial(_loss, f"m{i}", units)) for i, (sku, units) in enumerate(requests)]
        if throttled < CLAIM_TRIES:
            out = store.claim_many(asked)
            assert out == [units for _sku, units in requests]  # nothing deemed: every loss still to reduce
            assert conn.commits == 1 and conn.attempts == throttled + 1
            for sku in {s for s, _ in requests}:
                counted = conn.written[DynamoMovementStore.CLAIMS + sku]["counted"]
                assert counted == {f"m{i}": u for i, (s, u) in enumerate(requests) if s == sku}
        else:
            with pytest.raises(Throttled) as exc:
                store.claim_many(asked)
            assert conn.written == {} and conn.attempts == CLAIM_TRIES
            named = str(exc.value)
            assert all(repr(sku) in named for sku in sorted({s for s, _ in requests})[:10]), named
            assert all(repr(f"m{i}") in named for i in range(min(10, len(requests)))), named
        assert len(pauses) == (throttled if throttled < CLAIM_TRIES else CLAIM_TRIES - 1)  # none after the last
