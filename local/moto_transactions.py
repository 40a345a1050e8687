"""moto's TransactWriteItems, rolled back item by item instead of table by table.

moto 5 backs a transaction up by deep-copying every table it touches, once per action: a TransactWriteItems
of 100 actions on a 300 000-item Listings table copies the table 100 times. The benches' moto server spent
most of its time (and up to 10 GB) there once the connector wrote links and movements in transactions, so
bench sizes, not the connector, set how long `make bench` took. DynamoDB itself does no such thing.

Here each action's own item is copied before the transaction and put back if it is cancelled: the same
all-or-nothing outcome (an action only ever writes its own key, and a transaction names each key once),
at the cost of the items it names. The original still runs every check and write; only its whole-table
copy is skipped (``copy.deepcopy`` of a ``Table`` inside a transaction returns the table itself, so its
own rollback is a no-op and ours restores the items).
"""

from __future__ import annotations

import copy
import threading
from typing import Any

_state = threading.local()


class _Copy:
    """``copy`` as moto's DynamoDB backend module sees it: a table inside a transaction is not copied."""

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @staticmethod
    def deepcopy(x: Any, memo: Any = None) -> Any:
        from moto.dynamodb.models.table import Table

        if getattr(_state, "in_transaction", False) and isinstance(x, Table):
            return x
        return copy.deepcopy(x, memo)


def _item_backups(backend: Any, transact_items: list[dict[str, Any]]) -> list[tuple[Any, Any, Any, Any]]:
    from moto.dynamodb.models.dynamo_type import DynamoType

    out = []
    for entry in transact_items:
        try:
            _, op = next(iter(entry.items()))
            table = backend.tables.get(op.get("TableName"))
            if table is None:
                continue
            key = op.get("Key") or op["Item"]
            hash_value = DynamoType(key[table.hash_key_attr])
            range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
            out.append((table, hash_value, range_value, copy.deepcopy(table.get_item(hash_value, range_value))))
        except Exception:  # noqa: S112 - a malformed action: the original's own validation refuses it
            continue
    return out


def _restore(backups: list[tuple[Any, Any, Any, Any]]) -> None:
    for table, hash_value, range_value, old in reversed(backups):  # the first copy of a key wins
        if old is None:
            if range_value is None:
                table.items.pop(hash_value, None)
            else:
                table.items.get(hash_value, {}).pop(range_value, None)
        elif range_value is None:
            table.items[hash_value] = old
        else:
            table.items[hash_value][range_value] = old


def install() -> None:
    """Patch moto's DynamoDB backend in this process (idempotent)."""
    from moto.dynamodb import models

    backend_cls = models.DynamoDBBackend
    if getattr(backend_cls.transact_write_items, "_item_rollback", False):
        return
    original = backend_cls.transact_write_items
    models.copy = _Copy()  # type: ignore[assignment]

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        backups = _item_backups(self, transact_items) if len(transact_items) <= 100 else []
        _state.in_transaction = True
        try:
            original(self, transact_items)
        except BaseException:
            _restore(backups)
            raise
        finally:
            _state.in_transaction = False

    transact_write_items._item_rollback = True  # type: ignore[attr-defined]
    backend_cls.transact_write_items = transact_write_items  # type: ignore[method-assign]
