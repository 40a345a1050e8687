"""boto3 clients made on first use.

Creating a client loads its service model and endpoint rules (~0.35x ``import boto3`` of CPU for SQS):
a handler that builds one at import pays it in the init phase even when the invocation never sends
(a refused webhook). Built on the first call instead, the cost moves to the first request that uses it,
once per container, as the Secrets Manager client of Powertools' parameters already is.
"""

from __future__ import annotations

from typing import Any


class LazyClient:
    """Stands in for ``boto3.client(service)``: the real client is made on the first attribute read."""

    def __init__(self, service: str, **kwargs: Any) -> None:
        self._service = service
        self._kwargs = kwargs
        self._client: Any = None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if self._client is None:
            import boto3

            self._client = boto3.client(self._service, **self._kwargs)
        return getattr(self._client, name)
