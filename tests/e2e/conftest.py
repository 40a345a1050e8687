"""Fixtures the end-to-end tests share (the stacks themselves: ``tests/e2e/report_flows.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connector.adapters.store import ReportJob, StockMovement
from simulators.spapi.demo import UK
from tests.e2e.report_flows import AMAZON_SEED, BP_SEED, LINKS, World, reports_stack


@pytest.fixture
def movements_world(local_aws) -> Iterator[World]:
    """The movements shop (report_flows' seeds and links) on a fresh stack, returns credited at the unit
    price (``World.settings`` changes that)."""
    with reports_stack(local_aws, bp_seed=BP_SEED, amazon_seed=AMAZON_SEED, clear=(StockMovement, ReportJob),
                       links=[(UK, sku, pid, channel) for sku, pid, channel in LINKS]) as stack:
        w = World(stack)
        w.settings()
        yield w
