"""Secrets Manager access through Powertools Parameters (cached across warm invocations)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools.utilities import parameters

if TYPE_CHECKING:  # the webhook receiver imports this module too: keep its cold start light
    from connector.adapters.brightpearl.auth import OAuthTokens

CACHE_SECONDS = 300


class SecretError(RuntimeError):
    pass


def _provide() -> None:
    """Powertools' default SecretsProvider makes its client from a new ``boto3.session.Session()``: a second
    botocore session whose loader parses botocore's endpoint rules and models again (~10 MB, ~0.15 s CPU
    per container). Its client is made from boto3's default session instead, which the container's other
    boto3 clients share. Kept where Powertools keeps its own, so ``parameters.clear_caches()`` drops it."""
    from aws_lambda_powertools.utilities.parameters import base

    if "secrets" not in base.DEFAULT_PROVIDERS:
        base.DEFAULT_PROVIDERS["secrets"] = parameters.SecretsProvider(boto3_client=boto3.client("secretsmanager"))


def get_json_secret(name: str, *, max_age: int = CACHE_SECONDS, force_fetch: bool = False) -> dict[str, Any]:
    """A JSON secret as a dict; the error names the secret and what is wrong, never its content."""
    _provide()
    try:
        value = parameters.get_secret(name, transform="json", max_age=max_age, force_fetch=force_fetch)
    except parameters.exceptions.TransformParameterError:
        raise SecretError(f"secret {name!r} is not a JSON object") from None
    except parameters.exceptions.GetParameterError as exc:
        raise SecretError(f"secret {name!r} could not be read: {exc}") from None
    if not isinstance(value, dict):
        raise SecretError(f"secret {name!r} is not a JSON object")
    return value


class SecretsManagerTokenStore:
    """Keeps the rotating Brightpearl OAuth tokens inside the Brightpearl secret itself."""

    def __init__(self, secret_name: str) -> None:
        self.secret_name = secret_name
        self._client = boto3.client("secretsmanager")

    def load(self) -> OAuthTokens:
        from connector.adapters.brightpearl.auth import OAuthTokens

        data = get_json_secret(self.secret_name, force_fetch=True)
        try:
            return OAuthTokens(access_token=data["access_token"], refresh_token=data["refresh_token"],
                               api_domain=data.get("api_domain"), expires_at=float(data.get("expires_at", 0)))
        except KeyError as exc:
            raise SecretError(f"secret {self.secret_name!r} lacks {exc.args[0]!r} for OAuth") from None

    def save(self, tokens: OAuthTokens) -> None:
        data = get_json_secret(self.secret_name, force_fetch=True)
        data.update(access_token=tokens.access_token, refresh_token=tokens.refresh_token,
                    api_domain=tokens.api_domain, expires_at=tokens.expires_at)
        self._client.put_secret_value(SecretId=self.secret_name, SecretString=json.dumps(data))
