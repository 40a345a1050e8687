"""FBA removal orders in the settings table: ``removal#<order-id>`` (the ``Removal`` as a dict),
``removals#open`` (the ids not finished yet) and ``removal-cursor#<report type>``.

The settings table's free-form items (as the import-links jobs use) rather than a table of their own: a
merchant has a few removal orders a month, each one item, and the removals function is the only writer
(scheduled hourly, plus the operator's ``receive``); every Brightpearl write is protected by its own
reference look-up or by the figures saved before it (usecases/removals.py), not by this item's version.
"""

from __future__ import annotations

from typing import Any

from connector.domain.removals import Removal
from connector.usecases.ports import Settings

OPEN = "removals#open"


class SettingsRemovalStore:
    def __init__(self, settings: Settings, prefix: str = "") -> None:
        self.settings = settings
        # Issue 16: a region other than the home one keeps its open list and report cursors apart
        # (``na#removals#open``); removal order ids are Amazon's, so the orders' own items are shared.
        self.prefix = prefix
        self.open_key = f"{prefix}{OPEN}"

    def get(self, order_id: str) -> Removal | None:
        data = self.settings.get_value(f"removal#{order_id}")
        return Removal.from_dict(data) if data else None

    def save(self, removal: Removal) -> None:
        self.settings.set_value(f"removal#{removal.order_id}", removal.to_dict())
        ids = list(self.settings.get_value(self.open_key).get("ids", []))
        if removal.finished and removal.order_id in ids:
            ids.remove(removal.order_id)
        elif not removal.finished and removal.order_id not in ids:
            ids.append(removal.order_id)
        else:
            return
        self.settings.set_value(self.open_key, {"ids": ids})

    def open(self) -> list[Removal]:
        out = []
        for oid in self.settings.get_value(self.open_key).get("ids", []):
            r = self.get(oid)
            if r is not None:
                out.append(r)
        return out

    def cursor(self, report_type: str) -> dict[str, Any]:
        return self.settings.get_value(f"{self.prefix}removal-cursor#{report_type}")

    def save_cursor(self, report_type: str, cursor: dict[str, Any]) -> None:
        self.settings.set_value(f"{self.prefix}removal-cursor#{report_type}", cursor)
