"""The ``ShadowPlans`` port in memory: what the DynamoDB plan store does, per feature and key."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from connector.domain.shadow import PlanEntry, add_moves


class InMemoryShadowPlans:
    """The plan store in memory: what the DynamoDB store (adapters/shadow_plans.py) does, per key."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], PlanEntry] = {}

    def put(self, entries: Iterable[PlanEntry]) -> None:
        for e in entries:
            self.items[(e.feature, e.key)] = e

    def add_moves(self, template: PlanEntry, moves: Mapping[str, int]) -> None:
        k = (template.feature, template.key)
        self.items[k] = add_moves(self.items.get(k), template, moves)

    def entries(self, feature: str) -> Iterator[PlanEntry]:
        return iter([e for (f, _k), e in sorted(self.items.items()) if f == feature])

    def clear(self, feature: str) -> int:
        gone = [k for k in self.items if k[0] == feature]
        for k in gone:
            del self.items[k]
        return len(gone)
