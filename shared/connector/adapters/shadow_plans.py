"""Shadow mode's plan store in DynamoDB: one item per feature and SKU in the settings table.

Items ``shadow#<feature>#<key>`` (every function that could be in shadow already reads and writes the
settings table, so no new table or grant). Each item is one SKU's whole entry: ``put`` overwrites
(BatchWriteItem, 25 per call), ``add_moves`` merges by reference under the item's version (a conditional
write, re-read and re-merged when another writer got there first), so a run killed at any point leaves
every entry as one write left it. Reading a feature's plan is a Scan filtered on the key prefix: done by
the operator's ``shadow status|report|off`` only, never by the hot paths.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime

from pynamodb.exceptions import DoesNotExist, PutError

from connector.adapters.store import Setting, is_conditional
from connector.adapters.transactions import jittered_backoff
from connector.domain.shadow import PlanEntry, add_moves

PREFIX = "shadow#"
MERGE_TRIES = 8


def _key(feature: str, key: str) -> str:
    return f"{PREFIX}{feature}#{key}"


class DynamoShadowPlans:
    def put(self, entries: Iterable[PlanEntry]) -> None:
        now = datetime.now(UTC)
        with Setting.batch_write() as batch:
            for e in entries:
                batch.save(Setting(_key(e.feature, e.key), value=e.to_item(), updated_at=now))

    def add_moves(self, template: PlanEntry, moves: Mapping[str, int]) -> None:
        key = _key(template.feature, template.key)
        pause = jittered_backoff(base=0.02, cap=0.5)
        for attempt in range(MERGE_TRIES):
            if attempt:  # writers that collided come back at random times, not together again
                pause(attempt - 1)
            try:
                item = Setting.get(key, consistent_read=True)
                entry: PlanEntry | None = PlanEntry.from_item(item.value or {})
            except DoesNotExist:
                item, entry = Setting(key), None
            item.value = add_moves(entry, template, moves).to_item()
            item.updated_at = datetime.now(UTC)
            try:
                item.save()  # conditional on the version read (VersionAttribute)
                return
            except PutError as exc:
                if not is_conditional(exc):
                    raise
        raise RuntimeError(f"shadow plan {key!r}: changed by other writers {MERGE_TRIES} times in a row")

    def _items(self, feature: str) -> Iterator[Setting]:
        return Setting.scan(Setting.key.startswith(f"{PREFIX}{feature}#"))

    def entries(self, feature: str) -> Iterator[PlanEntry]:
        for item in self._items(feature):
            yield PlanEntry.from_item(item.value or {})

    def clear(self, feature: str) -> int:
        n = 0
        with Setting.batch_write() as batch:
            for item in self._items(feature):
                batch.delete(item)
                n += 1
        return n
