"""Shared fixtures: the stack's AWS resources on moto server (built from template.yaml).

Sockets are blocked except loopback (pytest-socket, see pyproject.toml): nothing here can reach a
real AWS, Brightpearl or Amazon endpoint.

Hypothesis profiles (docs/performance.md, "Running the tests and the benches"): ``ci`` (the default, `make test`)
and ``full`` (`make test-slow`, or ``HYPOTHESIS_PROFILE=full`` / ``--hypothesis-profile full``). A test's
own ``max_examples`` is its count in the full run; the ``ci`` profile scales every count by its share of
the full default (25 of 100: a quarter), never below ``CI_MIN_EXAMPLES`` (or the test's own count if
smaller). Examples stay random in both (never ``derandomize``): each run tries new ones, and the example
database replays a failure first.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator

import pytest
from hypothesis import settings

from local.aws import LocalAws, start_local_aws

FULL_EXAMPLES = 100  # Hypothesis' own default: the count a test without max_examples runs in the full profile
CI_MIN_EXAMPLES = 5
# No per-example deadline: Hypothesis' 200 ms measures the machine, not the property (seen failing at
# 258-290 ms on a loaded 2-core machine); pytest's own per-test timeout still catches a hang.
settings.register_profile("full", max_examples=FULL_EXAMPLES, deadline=None)
settings.register_profile("ci", max_examples=25, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Scale each property test's own ``max_examples`` to the loaded profile (see the module docstring).

    Hypothesis reads ``_hypothesis_internal_use_settings`` when the test runs, so a child of the test's
    settings with only ``max_examples`` changed keeps its deadline, phases and health checks.
    """
    share = settings().max_examples / FULL_EXAMPLES  # a fresh settings object: the loaded profile
    if share >= 1:
        return
    for item in items:
        fn = getattr(getattr(item, "obj", None), "__func__", getattr(item, "obj", None))
        own = getattr(fn, "_hypothesis_internal_use_settings", None)
        if own is None or getattr(fn, "_ci_scaled", False):  # parametrized tests share one function
            continue
        wanted = max(min(own.max_examples, CI_MIN_EXAMPLES), math.ceil(own.max_examples * share))
        fn._hypothesis_internal_use_settings = settings(own, max_examples=wanted)  # type: ignore[union-attr]
        fn._ci_scaled = True  # type: ignore[union-attr]


@pytest.fixture(scope="session")
def local_aws() -> Iterator[LocalAws]:
    saved = dict(os.environ)
    stack = start_local_aws()
    stack.apply_env()
    from connector.adapters import store

    store.bind()
    yield stack
    stack.stop()
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def sqs(local_aws: LocalAws):
    return local_aws.client("sqs")
