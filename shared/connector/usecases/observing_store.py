"""A movement store that remembers what this run did to each movement (FBA reconciliation's approvals)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from connector.domain.movement_records import IndexUpdate, MovementRecord
from connector.domain.movements import DeemedClaims
from connector.usecases.ports import MovementStore


class ObservingStore:
    """Wraps the movement store to see each movement's last status in this run (what an approval did),
    without reading every record back."""

    def __init__(self, inner: MovementStore) -> None:
        self.inner = inner
        self.status: dict[str, MovementRecord] = {}
        self.saved: set[str] = set()

    def reset(self) -> None:
        self.status.clear()
        self.saved.clear()

    def get(self, key: str) -> MovementRecord | None:
        rec = self.inner.get(key)
        if rec is not None:
            self.status[key] = rec
        return rec

    def create(self, rec: MovementRecord) -> bool:
        ok = self.inner.create(rec)
        if ok:
            self.saved.add(rec.key)
            self.status[rec.key] = rec
        return ok

    def save(self, rec: MovementRecord) -> None:
        self.inner.save(rec)
        self.saved.add(rec.key)
        self.status[rec.key] = rec

    def get_many(self, keys: Iterable[str]) -> dict[str, MovementRecord]:
        found = self.inner.get_many(keys)
        self.status.update(found)
        return found

    def create_many(self, recs: Iterable[MovementRecord]) -> set[str]:
        recs = list(recs)
        created = self.inner.create_many(recs)
        for r in recs:
            if r.key in created:
                self.saved.add(r.key)
                self.status[r.key] = r
        return created

    def save_many(self, recs: Iterable[MovementRecord]) -> set[str]:
        recs = list(recs)
        lost = self.inner.save_many(recs)
        for r in recs:
            if r.key not in lost:
                self.saved.add(r.key)
                self.status[r.key] = r
        return lost

    # The rest is passed through unchanged.
    def by_sku(self, sku: str) -> list[MovementRecord]:
        return self.inner.by_sku(sku)

    def restocked(self, pairs: Iterable[tuple[str, str]]) -> set[str]:
        return self.inner.restocked(pairs)

    def claim(self, sku: str, fn: Callable[[DeemedClaims], int], *, commit: bool = True) -> int:
        return self.inner.claim(sku, fn, commit=commit)

    def claim_many(self, requests: list[tuple[str, Callable[[DeemedClaims], int]]]) -> list[int | None]:
        return self.inner.claim_many(requests)

    def update_index(self, update: IndexUpdate) -> None:
        self.inner.update_index(update)

    def index(self) -> dict[str, dict[str, dict[str, Any]]]:
        return self.inner.index()

    def clear_quarantine_log(self, keys: set[str]) -> None:
        self.inner.clear_quarantine_log(keys)

    def hwm(self) -> int:
        return self.inner.hwm()

    def raise_hwm(self, goods_note_id: int) -> None:
        self.inner.raise_hwm(goods_note_id)
