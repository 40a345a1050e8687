"""Builds the SP-API access a Lambda uses, from its environment and the Amazon secret."""

from __future__ import annotations

from connector.adapters.amazon.client import DEFAULT_LWA_URL, AmazonClients, LwaCredentials
from connector.adapters.secrets import SecretError, get_json_secret
from connector.config import AmazonEnv
from connector.domain.regions import refresh_token_for


def amazon_clients(env: AmazonEnv) -> AmazonClients:
    secret = get_json_secret(env.amazon_secret_name)
    # One refresh token per regional authorisation (region_refresh_tokens), else the one for all regions.
    refresh_token = refresh_token_for(secret, env.amazon_region)
    missing = [k for k in ("refresh_token", "lwa_app_id", "lwa_client_secret")
               if not (refresh_token if k == "refresh_token" else secret.get(k))]
    if missing:
        raise SecretError(f"secret {env.amazon_secret_name!r} lacks {', '.join(missing)}")
    return AmazonClients(
        LwaCredentials(str(refresh_token), secret["lwa_app_id"], secret["lwa_client_secret"]),
        marketplace_id=env.amazon_marketplace_ids[0],
        region=env.amazon_region,
        endpoint=env.sp_api_endpoint,
        lwa_url=env.lwa_token_url or DEFAULT_LWA_URL,
    )
