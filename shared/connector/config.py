"""Settings from the environment, parsed once per cold start.

Each Lambda declares the variables it needs as a pydantic model; :func:`load` parses
``os.environ`` into it and, when something is missing or malformed, fails at cold start with an
error naming every bad variable (so a broken deploy shows up in the first log line, not halfway
through a stock movement). Secrets never come from here: only the *names* of secrets do.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Annotated

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError


class ConfigError(RuntimeError):
    """A required environment variable is missing or malformed."""


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return value


CsvList = Annotated[list[str], BeforeValidator(_split_csv)]
CsvInts = Annotated[list[int], BeforeValidator(_split_csv)]


class EnvModel(BaseModel):
    """Base for environment models: field aliases are the variable names."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=False)


class CommonEnv(EnvModel):
    stage: str = Field("dev", alias="STAGE")
    aws_region: str = Field("eu-west-1", validation_alias=AliasChoices("AWS_REGION", "AWS_DEFAULT_REGION"))
    # Only set locally and in tests: points boto3 and pynamodb at the moto server.
    aws_endpoint_url: str | None = Field(None, alias="AWS_ENDPOINT_URL")


class BrightpearlEnv(CommonEnv):
    brightpearl_account: str = Field(alias="BRIGHTPEARL_ACCOUNT", pattern=r"^[A-Za-z0-9_-]+$")
    brightpearl_base_url: str = Field(alias="BRIGHTPEARL_BASE_URL", pattern=r"^https?://[^/]+$")
    brightpearl_secret_name: str = Field(alias="BRIGHTPEARL_SECRET_NAME", min_length=1)
    brightpearl_oauth_token_url: str | None = Field(None, alias="BRIGHTPEARL_OAUTH_TOKEN_URL",
                                                    pattern=r"^https?://[^/\s]+/\S*$")
    # The account's shared request budget and its window (Brightpearl: 200 per rolling 60 s).
    brightpearl_requests_per_window: int = Field(200, alias="BRIGHTPEARL_REQUESTS_PER_WINDOW", gt=0)
    brightpearl_window_seconds: float = Field(60.0, alias="BRIGHTPEARL_WINDOW_SECONDS", gt=0)
    governor_table: str = Field(alias="GOVERNOR_TABLE", min_length=1)


class AmazonEnv(CommonEnv):
    amazon_region: str = Field("eu", alias="AMAZON_REGION", pattern=r"^(na|eu|fe)$")
    amazon_marketplace_ids: CsvList = Field(alias="AMAZON_MARKETPLACE_IDS", min_length=1)
    amazon_seller_id: str = Field(alias="AMAZON_SELLER_ID", min_length=1)
    amazon_secret_name: str = Field(alias="AMAZON_SECRET_NAME", min_length=1)
    sp_api_endpoint: str | None = Field(None, alias="SP_API_ENDPOINT", pattern=r"^https?://[^/\s]+/?$")
    lwa_token_url: str = Field("https://api.amazon.com/auth/o2/token", alias="LWA_TOKEN_URL",
                               pattern=r"^https?://[^/\s]+/\S*$")


class WebhookEnv(CommonEnv):
    """The Brightpearl webhook receiver: checks the token, enqueues, answers fast."""

    brightpearl_account: str = Field(alias="BRIGHTPEARL_ACCOUNT", pattern=r"^[A-Za-z0-9_-]+$")
    # Its own secret: the internet-facing function cannot read the Brightpearl credentials.
    webhook_secret_name: str = Field(alias="WEBHOOK_SECRET_NAME", min_length=1)
    stock_change_queue_url: str = Field(alias="STOCK_CHANGE_QUEUE_URL", pattern=r"^https?://")


class EmailEnv(CommonEnv):
    ses_sender: str = Field(alias="SES_SENDER", pattern=r"^[^@\s]+@[^@\s]+$")
    alert_recipients: CsvList = Field(alias="ALERT_RECIPIENTS", min_length=1)
    # Issue 17: every email names the stack and stage that sent it; page links are signed with the key in
    # PAGE_LINK_SECRET_NAME and point at PAGE_BASE_URL (no base URL or secret: the emails carry no link).
    stack_name: str = Field("connector", alias="STACK_NAME", min_length=1)
    docs_base_url: str = Field("", alias="DOCS_BASE_URL", pattern=r"^(https?://\S+)?$")
    page_base_url: str | None = Field(None, alias="PAGE_BASE_URL", pattern=r"^https?://[^\s?#]+$")
    page_link_secret_name: str | None = Field(None, alias="PAGE_LINK_SECRET_NAME", min_length=1)
    page_link_hours: float = Field(72, alias="PAGE_LINK_HOURS", gt=0, le=24 * 30)


def load[M: EnvModel](model: type[M], environ: Mapping[str, str] | None = None) -> M:
    """Parse the environment into ``model``; raise :class:`ConfigError` naming each bad variable."""
    env = dict(os.environ if environ is None else environ)
    try:
        return model.model_validate(env)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = str(err["loc"][0]) if err["loc"] else "?"
            if err["type"] == "missing":
                problems.append(f"{name} is not set")
            else:
                problems.append(f"{name}={env.get(name, '')!r}: {err['msg']}")
        raise ConfigError(f"{model.__name__}: " + "; ".join(problems)) from None


class ConnectorEnv(BrightpearlEnv, AmazonEnv, EmailEnv):
    """Brightpearl, Amazon and email together: what every function but the webhook receiver reads."""


class MfnSyncEnv(ConnectorEnv):
    """Merchant-fulfilled sync: reads Brightpearl, pushes to Amazon, emails warnings."""


class StockChangeEnv(MfnSyncEnv):
    """The stock-change consumer: a batch beyond its product budget puts the rest back on its queue."""

    stock_change_queue_url: str = Field(alias="STOCK_CHANGE_QUEUE_URL", pattern=r"^https?://")


class InboundShipmentsEnv(ConnectorEnv):
    """FBA inbound shipments: polls Amazon, writes Brightpearl transfers, emails discrepancies."""


class MovementsEnv(ConnectorEnv):
    """Report requests and REPORT_PROCESSING_FINISHED: Amazon reports in, Brightpearl movements out."""


class FbaReconciliationEnv(ConnectorEnv):
    """Reads Amazon FBA inventory and the Brightpearl FBA warehouse, writes corrections, emails the report."""


class ImportLinksEnv(MfnSyncEnv):
    """The import-links job: the operator's import run chunk by chunk from its own queue."""

    import_links_queue_url: str = Field(alias="IMPORT_LINKS_QUEUE_URL", pattern=r"^https?://")
