"""Builds the Brightpearl client a Lambda uses, from its environment and the Brightpearl secret."""

from __future__ import annotations

from connector.adapters import store
from connector.adapters.brightpearl.auth import Auth, OAuthAuth, PrivateAppAuth
from connector.adapters.brightpearl.client import BrightpearlClient
from connector.adapters.brightpearl.governor import BucketShape, DynamoGovernor, DynamoLease
from connector.adapters.secrets import SecretError, SecretsManagerTokenStore, get_json_secret
from connector.config import BrightpearlEnv

DEFAULT_TOKEN_URL = "https://oauth.brightpearlapp.com/token/{account}"


def brightpearl_auth(env: BrightpearlEnv) -> Auth:
    secret = get_json_secret(env.brightpearl_secret_name)
    kind = secret.get("auth", "private")
    if kind == "private":
        if not secret.get("app_ref") or not (secret.get("account_token") or secret.get("staff_token")):
            raise SecretError(f"secret {env.brightpearl_secret_name!r}: a private app needs app_ref and "
                              "account_token (or staff_token)")
        return PrivateAppAuth(app_ref=secret["app_ref"], account_token=secret.get("account_token") or None,
                              staff_token=secret.get("staff_token") or None)
    if kind == "oauth":
        missing = [k for k in ("app_ref", "dev_ref", "client_id", "refresh_token") if not secret.get(k)]
        if missing:
            raise SecretError(f"secret {env.brightpearl_secret_name!r}: OAuth needs {', '.join(missing)}")
        token_url = env.brightpearl_oauth_token_url or DEFAULT_TOKEN_URL.format(account=env.brightpearl_account)
        return OAuthAuth(app_ref=secret["app_ref"], dev_ref=secret["dev_ref"], client_id=secret["client_id"],
                         client_secret=secret.get("client_secret") or None, token_url=token_url,
                         store=SecretsManagerTokenStore(env.brightpearl_secret_name),
                         lease=lambda: DynamoLease(f"brightpearl-oauth#{env.brightpearl_account}"))
    raise SecretError(f"secret {env.brightpearl_secret_name!r}: auth must be 'private' or 'oauth', got {kind!r}")


def brightpearl_client(env: BrightpearlEnv) -> BrightpearlClient:
    store.bind()  # the governor and the OAuth lease live in the governor table
    shape = BucketShape.for_limit(env.brightpearl_requests_per_window, env.brightpearl_window_seconds)
    return BrightpearlClient(
        base_url=env.brightpearl_base_url,
        account=env.brightpearl_account,
        auth=brightpearl_auth(env),
        governor=DynamoGovernor(f"brightpearl#{env.brightpearl_account}", shape),
    )
