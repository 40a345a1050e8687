"""Helpers for tests that drive the Brightpearl simulator with the production client."""

from __future__ import annotations


class NoGovernor:
    """The shared DynamoDB budget left out: a test's simulator has a budget of its own."""

    def acquire(self) -> None:
        return None
