"""The movement store in memory: unit tests and benchmarks (the same port as ``DynamoMovementStore``)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any

from connector.adapters.restock_markers import restock_marker
from connector.domain.movement_records import IndexUpdate, MovementRecord, merge_index, owes_release
from connector.domain.movements import DeemedClaims


class InMemoryMovementStore:
    def __init__(self) -> None:
        self.items: dict[str, MovementRecord] = {}
        self.claims: dict[str, DeemedClaims] = {}
        self._index: dict[str, Any] = {}
        self._hwm = 0
        self._owed: set[str] = set()  # keys of movements saved owing their claim's release

    def get(self, key: str) -> MovementRecord | None:
        rec = self.items.get(key)
        return copy.deepcopy(rec) if rec else None

    def create(self, rec: MovementRecord) -> bool:
        if rec.key in self.items:
            return False
        self.items[rec.key] = copy.deepcopy(rec)
        return True

    def save(self, rec: MovementRecord) -> None:
        self.items[rec.key] = copy.deepcopy(rec)
        if owes_release(rec):
            self._owed.add(rec.key)
        else:
            self._owed.discard(rec.key)

    def get_many(self, keys: Iterable[str]) -> dict[str, MovementRecord]:
        return {k: copy.deepcopy(self.items[k]) for k in set(keys) if k in self.items}

    def create_many(self, recs: Iterable[MovementRecord]) -> set[str]:
        return {r.key for r in recs if self.create(r)}

    def save_many(self, recs: Iterable[MovementRecord]) -> set[str]:
        for r in recs:
            self.save(r)
        return set()

    def by_sku(self, sku: str) -> list[MovementRecord]:
        return sorted((copy.deepcopy(r) for r in self.items.values() if r.sku == sku), key=lambda r: r.created_at)

    def restocked(self, pairs: Iterable[tuple[str, str]]) -> set[str]:
        wanted = {m for _sku, m in pairs}
        return {m for r in self.items.values() if (m := restock_marker(r)) is not None and m in wanted}

    def claim(self, sku: str, fn: Callable[[DeemedClaims], int], *, commit: bool = True) -> int:
        claims = copy.deepcopy(self.claims.get(sku) or DeemedClaims())
        out = fn(claims)
        if commit:
            self.claims[sku] = claims
        return out

    def claim_many(self, requests: list[tuple[str, Callable[[DeemedClaims], int]]]) -> list[int | None]:
        return [self.claim(sku, fn) for sku, fn in requests]

    def update_index(self, update: IndexUpdate) -> None:
        self._index = merge_index(self._index, update)

    def index(self) -> dict[str, Any]:
        out = copy.deepcopy(self._index)
        # As the DynamoDB store's retry index (kept by each save): a movement still owing its claim's
        # release is in it even when the run that saved it never wrote its index update (a fault).
        owed = {r.key: {"sku": r.sku, "kind": r.kind, "status": r.status, "why": r.reason or "", "source": r.source}
                for r in (self.items[k] for k in sorted(self._owed))}
        if owed:
            out["retry"] = {**owed, **(out.get("retry") or {})}
        return out

    def clear_quarantine_log(self, keys: set[str]) -> None:
        q = self._index.get("quarantined") or {}
        for k in keys:
            q.pop(k, None)
        self._index["quarantine_dropped"] = 0

    def hwm(self) -> int:
        return self._hwm

    def raise_hwm(self, goods_note_id: int) -> None:
        self._hwm = max(self._hwm, goods_note_id)
