"""The secrets provider's client comes from boto3's default session, not a botocore session of its own."""

from __future__ import annotations

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters import base

from connector.adapters import secrets


def test_the_secret_reader_shares_boto3s_default_session(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"AWS_DEFAULT_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "none", "AWS_SECRET_ACCESS_KEY": "none",
                        "AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_MAX_ATTEMPTS": "1"}.items():
        monkeypatch.setenv(name, value)
    parameters.clear_caches()
    boto3.setup_default_session()
    with pytest.raises(secrets.SecretError):  # nothing listens on this endpoint: the read fails, named
        secrets.get_json_secret("absent-secret")
    provider = base.DEFAULT_PROVIDERS["secrets"]
    default = boto3.DEFAULT_SESSION
    assert default is not None
    assert provider.client._loader is default._session.get_component("data_loader")
    parameters.clear_caches()
