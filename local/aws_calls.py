"""Counting the AWS calls this process makes (tests and benches that hold a cost in calls)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def aws_calls(service: str = "dynamodb") -> Iterator[Counter[str]]:
    """The calls to ``service`` made while the block runs, by operation (``GetItem``: 3), counted at
    botocore's one entry point for API calls (every client, every thread), which is restored after."""
    import botocore.client

    seen: Counter[str] = Counter()
    lock = threading.Lock()
    original = botocore.client.BaseClient._make_api_call

    def counting(self: Any, operation_name: str, api_params: Any) -> Any:
        if self.meta.service_model.service_name == service:
            with lock:
                seen[operation_name] += 1
        return original(self, operation_name, api_params)

    botocore.client.BaseClient._make_api_call = counting
    try:
        yield seen
    finally:
        botocore.client.BaseClient._make_api_call = original
