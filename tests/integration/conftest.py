"""Fixtures the integration tests share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from simulators.brightpearl import BrightpearlSimulator


@pytest.fixture(scope="module")
def unmetered_bp() -> Iterator[BrightpearlSimulator]:
    """A Brightpearl simulator whose request budget never runs out (for property tests of many examples)."""
    sim = BrightpearlSimulator(account="acme", limit=1_000_000).start()
    yield sim
    sim.stop()
