"""What the connector records about each stock movement (``MovementRecord``) and the bookkeeping
index of the movements still to retry or quarantined (``IndexUpdate``). Stored by
``adapters/movement_store``; owned by the movements use cases.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from connector.domain.movements import RETRY


@dataclass
class MovementRecord:
    key: str
    source: str
    kind: str
    sku: str
    created_at: datetime
    status: str
    quantity: int = 0
    reason: str | None = None
    error: str | None = None
    product_id: int | None = None
    warehouse_id: int | None = None
    brightpearl_ids: list[Any] = field(default_factory=list)
    ref: str | None = None
    match_key: str | None = None
    line: int | None = None
    report_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    updated_at: datetime | None = None

    def explain(self) -> dict[str, Any]:
        return {"key": self.key, "source": self.source, "line": self.line, "kind": self.kind, "sku": self.sku,
                "product_id": self.product_id, "warehouse_id": self.warehouse_id, "quantity": self.quantity,
                "status": self.status, "why": self.reason, "error": self.error,
                "brightpearl_ids": list(self.brightpearl_ids), "ref": self.ref,
                "created_at": self.created_at.isoformat(),
                "updated_at": self.updated_at.isoformat() if self.updated_at else None}


# On a movement netted in its batch (skipped, final) whose deemed-matching claim is not yet released on its
# SKU's claims item: the claim ("loss" / "deemed"). Saved with the movement, so a release lost to a crash or
# a throttled write after the save is found again (the movement stays in the retry index) and done then.
RELEASE_OWED = "release_owed"


def owes_release(rec: MovementRecord) -> bool:
    return bool(rec.detail.get(RELEASE_OWED))


def awaits_retry(rec: MovementRecord) -> bool:
    """Driven again by the hourly retry: not finished, or finished with its claim's release still owed."""
    return rec.status in RETRY or owes_release(rec)


@dataclass
class IndexUpdate:
    retry: dict[str, dict[str, Any]] = field(default_factory=dict)
    resolved: set[str] = field(default_factory=set)
    quarantined: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add_retry(self, rec: MovementRecord) -> None:
        self.resolved.discard(rec.key)
        self.retry[rec.key] = {"sku": rec.sku, "kind": rec.kind, "status": rec.status,
                               "why": rec.error or rec.reason or "", "source": rec.source}

    def resolve(self, key: str) -> None:
        self.retry.pop(key, None)
        self.resolved.add(key)

    def __bool__(self) -> bool:
        return bool(self.retry or self.resolved or self.quarantined)


# The quarantine log keeps this many rows; the digest counts the rest.
QUARANTINE_LOG_CAP = 500


def merge_index(current: dict[str, Any], update: IndexUpdate) -> dict[str, Any]:
    """The ``index#movements`` item after ``update``: resolved keys leave the retry set, quarantined rows join
    the log up to its cap."""
    retry = dict(current.get("retry") or {})
    for k in update.resolved:
        retry.pop(k, None)
    retry.update(update.retry)
    quarantined = dict(current.get("quarantined") or {})
    dropped = int(current.get("quarantine_dropped", 0))
    for k, v in update.quarantined.items():
        if len(quarantined) < QUARANTINE_LOG_CAP or k in quarantined:
            quarantined[k] = v
        else:
            dropped += 1  # the digest says how many more there were
    return {"retry": retry, "quarantined": quarantined, "quarantine_dropped": dropped}
