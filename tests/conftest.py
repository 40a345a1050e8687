"""Shared fixtures: the stack's AWS resources on moto server (built from template.yaml).

Sockets are blocked except loopback (pytest-socket, see pyproject.toml): nothing here can reach a
real AWS, Brightpearl or Amazon endpoint.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from local.aws import LocalAws, start_local_aws


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
