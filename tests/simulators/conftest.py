"""The SP-API simulator fixtures the simulator tests share.

``server`` is one simulator per test module (rate limits scaled 1000 times, so only tests about the
buckets meet them); a module passes constructor options with ``SPAPI_OPTIONS = {...}``. ``sim`` is
that server back to a clean world (``SPAPI_SEED``, default the demo seed) before every test, its
clock at ``SPAPI_SPEED`` (default: as the server's clock runs). ``amazon`` is the production client
factory pointed at it. A module that needs something else defines its own fixture of the same name.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from simulators.spapi import SpApiSimulator
from tests.spapi import amazon_for, fresh_spapi


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest) -> Iterator[SpApiSimulator]:
    options: dict[str, Any] = {"rate_scale": 1000, **getattr(request.module, "SPAPI_OPTIONS", {})}
    s = SpApiSimulator(**options).start()
    yield s
    s.stop()


@pytest.fixture
def sim(server: SpApiSimulator, request: pytest.FixtureRequest) -> SpApiSimulator:
    return fresh_spapi(server, getattr(request.module, "SPAPI_SEED", None),
                       speed=getattr(request.module, "SPAPI_SPEED", None))


@pytest.fixture
def amazon(sim: SpApiSimulator) -> Any:  # AmazonClients (tests.spapi owns the import)
    return amazon_for(sim)
