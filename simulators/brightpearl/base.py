"""What every section of the Brightpearl world shares: the clock, the staff id, the id counters and
the events raised (stock changes fold into one ``product.modified.on-hand-modified`` per operation)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from simulators.brightpearl.records import Event

if TYPE_CHECKING:
    from simulators.brightpearl.world import World


class Shared:
    """The clock (``now()`` answers Brightpearl's timestamp text), ids and pending events."""

    def __init__(self, now: Callable[[], str], staff_id: int = 4) -> None:
        self.now = now
        self.staff_id = staff_id
        self.ids = {"location": 1000, "goods_note": 8796, "transfer": 60, "order": 1300, "row": 4400,
                    "webhook": 121, "release": 1, "internal": 48, "event_version": 3131069}
        self.dirty: set[int] = set()
        self.events: list[Event] = []

    def new_id(self, kind: str) -> int:
        n = self.ids[kind]
        self.ids[kind] = n + 1
        return n

    def bump(self, kind: str, seen: int) -> None:
        """Keep generated ids above seeded ones."""
        self.ids[kind] = max(self.ids[kind], seen + 1)

    def raise_event(self, full_event: str, ids: Iterable[int]) -> None:
        self.events.append(Event(full_event, sorted(set(ids))))

    def drain_events(self) -> list[Event]:
        """Events raised since the last drain; stock changes fold into one on-hand-modified event."""
        events = self.events
        if self.dirty:
            events.append(Event("product.modified.on-hand-modified", sorted(self.dirty)))
        self.events, self.dirty = [], set()
        return events


class Section:
    """One section of the API (catalog, inventory, goods out, sales, credits, webhooks): it reaches the
    others through the world (``self.w.inventory``) and shares their clock, ids and events (``shared``)."""

    def __init__(self, w: World) -> None:
        self.w = w
        self.shared = w.shared
