"""The daily movements digest: what could not be applied and why (unknown SKUs, orders not yet in
Brightpearl, refused writes) and which report rows were quarantined since the last digest.

Sent by the first schedule of the day that has something to report, once per day through the one
send-once mechanism (key ``digest#<date>``): a crash between claim and send is sent by a run after the lease.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from connector.domain.messages import Column, Message, Table
from connector.usecases.ports import MovementStore, OnceMail, ReportJobStore


def build_digest(index: Mapping[str, Any], day: date) -> Message | None:
    retry = dict(index.get("retry") or {})
    quarantined = dict(index.get("quarantined") or {})
    dropped = int(index.get("quarantine_dropped", 0) or 0)
    if not retry and not quarantined:
        return None
    tables: list[Table] = []
    unmatched = sum(1 for v in retry.values() if v.get("status") == "unmatched")
    if retry:
        # Movements name the Amazon SKU only (no product until it is matched): no product name at hand.
        rows = sorted(([v.get("status", ""), v.get("sku", ""), v.get("kind", ""), v.get("why", ""), k]
                       for k, v in retry.items()), key=lambda r: (r[0], r[1]))
        tables.append(Table.of(f"Not applied yet ({len(retry)}; {unmatched} for SKUs with no Brightpearl product)",
                               ["status", "Amazon SKU", "movement", "why", "movement key"], rows))
    if quarantined:
        rows = sorted(([v.get("source", ""), v.get("line", ""), v.get("sku", ""), v.get("why", "")]
                       for v in quarantined.values()), key=lambda r: (str(r[0]), int(r[1] or 0)))
        more = f" (and {dropped} more not listed)" if dropped else ""
        tables.append(Table.of(f"Quarantined report rows{more} — not applied, not guessed",
                               ["report", Column("line", numeric=True), "Amazon SKU", "why"], rows))
    return Message(
        title=f"Amazon movements: {len(retry)} not applied, {len(quarantined) + dropped} quarantined",
        summary=f"Amazon → Brightpearl stock movements, {day.isoformat()}: what could not be applied yet and why.",
        meaning=("Brightpearl's stock does not include these movements yet; the connector retries them on every "
                 "run, and quarantined report rows are never guessed."),
        todo=("Link the SKUs with no Brightpearl product (they are applied on the next run); check the "
              "quarantined rows in the named reports." if unmatched or quarantined else
              "Nothing: the movements are retried on the next run."),
        tables=tuple(tables), cli="connector --stack {stack} explain SKU", cli_doc="explain-sku")


def send_daily_digest(store: MovementStore, jobs: ReportJobStore, mailer: OnceMail,
                      clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> bool:
    day = clock().date()
    marker = f"digest#{day.isoformat()}"
    if jobs.get(marker) is not None:
        return False  # sent by an older version, which kept a marker item per day
    index = store.index()
    email = build_digest(index, day)
    if email is None:
        return False  # nothing to say yet: a later run today may still have something
    if mailer.send_once(marker, email) is None:
        return False
    store.clear_quarantine_log(set(index.get("quarantined") or {}))
    return True
