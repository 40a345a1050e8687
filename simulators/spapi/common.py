"""What every part of the SP-API simulator shares: the error answer, time formats, the job timing
and :class:`Shared` (the simulated clock, the seeded ids and the seller the world belongs to).

Nothing here knows any API; each API module (``listings``, ``inventory``, ``inbound``, ``documents``,
``report_jobs``, ``feeds``, ``notifications_api``, ``auth``) builds on it.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from simulators.core import SimClock

JSON = Any

# The EU marketplaces (developer-docs.amazon.com/sp-api/docs/marketplace-ids): one Pan-EU FBA pool.
EU_MARKETPLACES = ("A1F83G8C2ARO7P", "A1PA6795UKMFR9", "A13V1IB3VIYZZH", "APJ6JRA9NG5V4", "A1RKKUPIHCS9HS",
                   "A1805IZSGTT6HS", "A2NODRKZP88ZB9", "A1C3SOZRARQ6R3")

FINAL_STATUSES = ("DONE", "CANCELLED", "FATAL")
SCHEMA_DIR = Path(__file__).parent / "schemas"

# Issue codes the simulator uses where Amazon publishes none (documented in docs/simulators-spapi.md).
ISSUE_UNKNOWN_SKU = "4000003"
ISSUE_INVALID_VALUE = "90000900"
ISSUE_SCHEMA = "99001"


class ApiError(Exception):
    """An SP-API error answer (``errors`` list with one entry)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> JSON:
        return {"errors": [{"code": self.code, "message": self.message, "details": ""}]}


def invalid(message: str) -> ApiError:
    return ApiError(400, "InvalidInput", message)


def iso_ms(dt: datetime) -> str:
    """``2026-07-14T03:35:13.214Z`` — the format SP-API JSON uses."""
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def iso_s(dt: datetime) -> str:
    """``2026-07-14T03:35:13Z`` — the 2024-03-20 inbound API's format."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str | None, name: str = "date-time") -> datetime | None:
    """ISO-8601 from a request; naive times are UTC. Raises 400 on garbage."""
    if value in (None, ""):
        return None
    assert value is not None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise invalid(f"{name} {value!r} is not an ISO-8601 date-time") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


@cache
def load_schema(name: str) -> JSON:
    return json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))


@dataclass
class Timing:
    """How long jobs take on the simulated clock (seconds)."""

    report_queue: float = 5.0
    report_processing: float = 25.0
    feed_queue: float = 5.0
    feed_processing: float = 25.0


class Shared:
    """The clock, the seeded id source and the seller every part of one world uses."""

    def __init__(self, *, clock: SimClock, seller_id: str, marketplace_ids: Iterable[str], rng: random.Random,
                 timing: Timing, default_fc: str, country: str, seq_start: int = 0, region: str = "eu") -> None:
        self.clock = clock
        self.seller_id = seller_id
        self.marketplace_ids = list(marketplace_ids)
        self.rng = rng
        self.timing = timing
        self.default_fc = default_fc
        self.country = country
        # Report and feed ids count from here: each region's world numbers its own (issue 16), as Amazon's
        # regions do, so one stack's two regions never hand out the same report id.
        self._seq = seq_start
        self.region = region
        # Every world operation first runs the jobs due by now (World.advance), so reports and feeds
        # are processed against the world exactly as it was when they finished.
        self.advance: Callable[[], None] = lambda: None

    def now(self) -> datetime:
        return self.clock.now()

    def next(self) -> int:
        self._seq += 1
        return self._seq

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def alnum(self, n: int) -> str:
        return "".join(self.rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(n))

    def new_document_id(self) -> str:
        return f"amzn1.tortuga.4.eu.{self.uuid()}.T{self.alnum(12)}"

    def order_id(self) -> str:
        return f"{self.rng.randint(200, 299)}-{self.rng.randint(1000000, 9999999)}-{self.rng.randint(1000000, 9999999)}"

    def adjustment_ref(self) -> str:
        return str(self.rng.randint(10**9, 10**10 - 1))
