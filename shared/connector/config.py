"""Settings from the environment, parsed once per cold start.

Each Lambda declares the variables it needs as an env model (a class of typed fields, each a
:func:`Field` naming its variable); :func:`load` parses ``os.environ`` into it and, when something is
missing or malformed, fails at cold start with an error naming every bad variable (so a broken deploy
shows up in the first log line, not halfway through a stock movement). Secrets never come from here:
only the *names* of secrets do.

The models read like pydantic's (``Field(default, alias=..., pattern=..., gt=...)``) but are parsed by
the few lines below: importing pydantic and building its validators cost ~0.45x ``import boto3`` at every
cold start (issue 14), for a dozen strings and numbers. Supported field types: ``str``, ``int``,
``float``, ``bool``, :data:`CsvList` / :data:`CsvInts` (comma-separated), ``Literal[...]`` and any of them
``| None``; constraints ``pattern`` (full ``re.search``, as pydantic), ``min_length`` / ``max_length``
(characters, or items of a list), ``gt`` / ``ge`` / ``lt`` / ``le``. Anything else is refused when the
model is first loaded (``TypeError`` naming the field), never silently passed through.
"""

from __future__ import annotations

import os
import re
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Union, get_args, get_origin

if TYPE_CHECKING:
    from connector.domain.regions import Region


class ConfigError(RuntimeError):
    """A required environment variable is missing or malformed."""


class AliasChoices:
    """Several variable names for one field: the first one set wins (e.g. AWS_REGION, AWS_DEFAULT_REGION)."""

    def __init__(self, *choices: str) -> None:
        self.choices = choices


_REQUIRED: Any = ...  # pydantic's spelling of "no default"


@dataclass(frozen=True)
class _Spec:
    default: Any
    names: tuple[str, ...]
    pattern: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None


def Field(default: Any = _REQUIRED, *, alias: str | None = None,
          validation_alias: str | AliasChoices | None = None, pattern: str | None = None,
          min_length: int | None = None, max_length: int | None = None, gt: float | None = None,
          ge: float | None = None, lt: float | None = None, le: float | None = None,
          description: str | None = None) -> Any:
    """One environment variable: its name (``alias``, or ``validation_alias`` for several), default
    (none: the variable is required) and constraints."""
    source = validation_alias if validation_alias is not None else alias
    if source is None:
        raise TypeError("an env field needs alias= (the variable's name) or validation_alias=")
    names = source.choices if isinstance(source, AliasChoices) else (source,)
    return _Spec(default, tuple(names), pattern, min_length, max_length, gt, ge, lt, le)


class _Csv:
    """Marks a list field read from one comma-separated variable (blanks around items dropped)."""


CsvList = Annotated[list[str], _Csv]
CsvInts = Annotated[list[int], _Csv]

_TRUE = frozenset({"1", "true", "t", "yes", "y", "on"})
_FALSE = frozenset({"0", "false", "f", "no", "n", "off"})


# As pydantic parses an int from a string: ASCII digits (``_`` between them), an optional all-zero fraction
# ("1.0"), Unicode White_Space around; Python's int() also takes "٣" and strips "\x1c"-"\x1f", which
# pydantic refuses (found by tests/unit/test_config_parsing.py).
_INT = re.compile(r"[+-]?[0-9](?:_?[0-9])*(?:\.0+)?")
_INT_SPACE = "".join(c for c in map(chr, range(0x3001)) if c.isspace() and c not in "\x1c\x1d\x1e\x1f")


def _to_int(raw: str) -> int:
    text = raw.strip(_INT_SPACE)
    if not _INT.fullmatch(text):
        raise ValueError("Input should be a valid integer, unable to parse string as an integer")
    return int(text.split(".", 1)[0])


def _to_float(raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise ValueError("Input should be a valid number, unable to parse string as a number") from None


def _to_bool(raw: str) -> bool:
    low = raw.strip().lower()
    if low in _TRUE or low in _FALSE:
        return low in _TRUE
    raise ValueError("Input should be a valid boolean, unable to interpret input")


_SCALARS: dict[Any, Callable[[str], Any]] = {str: str, int: _to_int, float: _to_float, bool: _to_bool}


def _parser(owner: str, name: str, hint: Any) -> Callable[[str], Any]:
    """A function parsing one variable's text into the field's type (``| None`` only allows the default)."""
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            return _parser(owner, name, rest[0])
    if origin is Annotated and args[1:] == (_Csv,) and get_origin(args[0]) is list:
        item = _parser(owner, name, get_args(args[0])[0])
        return lambda raw: [item(v) for v in (p.strip() for p in raw.split(",")) if v]
    if origin is Literal:
        allowed = {str(a): a for a in args}

        def literal(raw: str) -> Any:
            if raw not in allowed:
                raise ValueError("Input should be " + " or ".join(repr(a) for a in allowed))
            return allowed[raw]
        return literal
    if hint in _SCALARS:
        return _SCALARS[hint]
    raise TypeError(f"{owner}.{name}: env fields cannot be of type {hint!r}")


def _check(spec: _Spec, value: Any) -> None:
    """The field's constraints, with pydantic's wording (the error names the variable and its value)."""
    if spec.pattern is not None and isinstance(value, str) and not re.search(spec.pattern, value):
        raise ValueError(f"String should match pattern {spec.pattern!r}")
    if spec.min_length is not None and len(value) < spec.min_length:
        what = "item" if isinstance(value, list) else "character"
        raise ValueError(f"Value should have at least {spec.min_length} {what}{'s' * (spec.min_length != 1)}")
    if spec.max_length is not None and len(value) > spec.max_length:
        what = "item" if isinstance(value, list) else "character"
        raise ValueError(f"Value should have at most {spec.max_length} {what}{'s' * (spec.max_length != 1)}")
    for bound, ok, word in ((spec.gt, lambda b: value > b, "greater than"),
                            (spec.ge, lambda b: value >= b, "greater than or equal to"),
                            (spec.lt, lambda b: value < b, "less than"),
                            (spec.le, lambda b: value <= b, "less than or equal to")):
        if bound is not None and not ok(bound):
            raise ValueError(f"Input should be {word} {bound:g}")


class EnvModel:
    """Base for environment models: each field's ``Field(alias=...)`` is the variable's name. Instances
    are frozen; other variables in the environment are ignored."""

    _fields: ClassVar[dict[str, tuple[_Spec, Callable[[str], Any]]] | None] = None

    def __init__(self, **values: Any) -> None:
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen: {name} cannot be set")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in vars(self).items())})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and vars(other) == vars(self)

    def __hash__(self) -> int:
        return hash((type(self), *((k, tuple(v) if isinstance(v, list) else v) for k, v in vars(self).items())))

    @classmethod
    def env_fields(cls) -> dict[str, tuple[_Spec, Callable[[str], Any]]]:
        """Field name -> (its spec, its parser), from the class and its bases; built once per class."""
        if cls.__dict__.get("_fields") is None:
            hints = typing.get_type_hints(cls, include_extras=True)  # each base in its own module's names
            fields: dict[str, tuple[_Spec, Callable[[str], Any]]] = {}
            for name, hint in hints.items():  # the bases' fields first, as they were declared
                spec = getattr(cls, name, None)
                if isinstance(spec, _Spec):
                    fields[name] = (spec, _parser(cls.__name__, name, hint))
            cls._fields = fields
        assert cls._fields is not None
        return cls._fields


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
    # Issue 16: the stack's other SP-API regions (JSON, domain/regions.py; unset: one region, as before).
    amazon_other_regions: str | None = Field(None, alias="AMAZON_OTHER_REGIONS")

    def problems(self) -> list[str]:
        """AMAZON_OTHER_REGIONS parsed at cold start: a bad region, field or marketplace is named at once."""
        from connector.domain.regions import RegionConfigError

        try:
            amazon_regions(self)
        except RegionConfigError as exc:
            return [str(exc)]
        return []


def amazon_regions(env: AmazonEnv) -> tuple[Region, ...]:
    """The stack's SP-API regions, home (AMAZON_REGION) first."""
    from connector.domain.regions import parse_regions

    return parse_regions(env.amazon_other_regions, home_code=env.amazon_region,
                         home_marketplaces=env.amazon_marketplace_ids, seller_id=env.amazon_seller_id,
                         endpoint=env.sp_api_endpoint, lwa_token_url=env.lwa_token_url)


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
    # Issue 14 item 5: attachments too large for an email are stored here and linked (none: attached anyway).
    exports_bucket: str | None = Field(None, alias="EXPORTS_BUCKET", min_length=3)


def load[M: EnvModel](model: type[M], environ: Mapping[str, str] | None = None) -> M:
    """Parse the environment into ``model``; raise :class:`ConfigError` naming each bad variable."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    problems = []
    for field, (spec, parse) in model.env_fields().items():
        name = next((n for n in spec.names if n in env), None)
        if name is None:
            if spec.default is _REQUIRED:
                problems.append(f"{spec.names[0]} is not set")
            else:
                values[field] = spec.default
            continue
        raw = env[name]
        try:
            value = parse(raw)
            _check(spec, value)
        except ValueError as exc:
            problems.append(f"{name}={raw!r}: {exc}")
            continue
        values[field] = value
    if not problems:
        loaded = model(**values)
        check = getattr(loaded, "problems", None)  # a model's own cross-field checks (AmazonEnv's regions)
        problems = check() if callable(check) else []
        if not problems:
            return loaded
    raise ConfigError(f"{model.__name__}: " + "; ".join(problems))


class ConnectorEnv(BrightpearlEnv, AmazonEnv, EmailEnv):
    """Brightpearl, Amazon and email together: what every function but the webhook receiver reads."""

    # The MFN nightly, sync-on and import-links plan and push this many links at a time (domain/slices.py:
    # MAX_LINKS, issue 14 item 5); the benches scale it down with Brightpearl's window.
    mfn_slice_links: int = Field(25_000, alias="MFN_SLICE_LINKS", gt=0)
    # JSON_LISTINGS_FEED's 25 000 messages per feed (the documented maximum; bench/limits.py): fewer only for
    # the benches, which scale it with the slice to measure memory beyond one feed.
    mfn_feed_max_messages: int = Field(25_000, alias="MFN_FEED_MAX_MESSAGES", gt=0, le=25_000)


class MfnSyncEnv(ConnectorEnv):
    """Merchant-fulfilled sync: reads Brightpearl, pushes to Amazon, emails warnings."""


class StockChangeEnv(MfnSyncEnv):
    """The stock-change consumer: a batch beyond its product budget puts the rest back on its queue."""

    stock_change_queue_url: str = Field(alias="STOCK_CHANGE_QUEUE_URL", pattern=r"^https?://")


class InboundShipmentsEnv(ConnectorEnv):
    """FBA inbound shipments: polls Amazon, writes Brightpearl transfers, emails discrepancies."""

    # The function's own queue: a run stopped for time asks for the next at once (unset: wait for the schedule).
    inbound_continue_queue_url: str | None = Field(default=None, alias="INBOUND_CONTINUE_QUEUE_URL",
                                                   pattern=r"^https?://")


class MovementsEnv(ConnectorEnv):
    """Report requests and REPORT_PROCESSING_FINISHED: Amazon reports in, Brightpearl movements out."""


class FbaReconciliationEnv(ConnectorEnv):
    """Reads Amazon FBA inventory and the Brightpearl FBA warehouse, writes corrections, emails the report."""


class RemovalsEnv(ConnectorEnv):
    """FBA removal orders: Amazon's removal reports in, Brightpearl transfers and disposals out, emails."""


class ImportLinksEnv(MfnSyncEnv):
    """The import-links job: the operator's import run chunk by chunk from its own queue."""

    import_links_queue_url: str = Field(alias="IMPORT_LINKS_QUEUE_URL", pattern=r"^https?://")
