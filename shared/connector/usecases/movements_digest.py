"""The daily movements digest: what could not be applied and why (unknown SKUs, orders not yet in
Brightpearl, refused writes) and which report rows were quarantined since the last digest.

Sent by the first schedule of the day that has something to report, at most once per day (a marker
item per date in the report jobs table, written after sending:
a crash in between can repeat that day's digest, which is harmless; losing it silently is not).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from connector.domain.email import Email, table
from connector.usecases.ports import Mail, MovementStore, ReportJobStore


def build_digest(index: Mapping[str, Any], day: date) -> Email | None:
    retry = dict(index.get("retry") or {})
    quarantined = dict(index.get("quarantined") or {})
    dropped = int(index.get("quarantine_dropped", 0) or 0)
    if not retry and not quarantined:
        return None
    parts_text: list[str] = [f"Amazon → Brightpearl stock movements, {day.isoformat()}"]
    parts_html: list[str] = [f"<h2>Amazon → Brightpearl stock movements, {day.isoformat()}</h2>"]
    if retry:
        rows = sorted(([v.get("status", ""), v.get("sku", ""), v.get("kind", ""), v.get("why", ""), k]
                       for k, v in retry.items()), key=lambda r: (r[0], r[1]))
        t, h = table(["status", "Amazon SKU", "movement", "why", "movement key"], rows)
        unmatched = sum(1 for v in retry.values() if v.get("status") == "unmatched")
        parts_text += [f"\nNot applied yet ({len(retry)}; {unmatched} for SKUs with no Brightpearl product — "
                       "link them and they are applied on the next run):", t]
        parts_html += [f"<h3>Not applied yet ({len(retry)})</h3>", h]
    if quarantined:
        rows = sorted(([v.get("source", ""), v.get("line", ""), v.get("sku", ""), v.get("why", "")]
                       for v in quarantined.values()), key=lambda r: (str(r[0]), int(r[1] or 0)))
        t, h = table(["report", "line", "Amazon SKU", "why"], rows)
        more = f" (and {dropped} more not listed)" if dropped else ""
        parts_text += [f"\nQuarantined report rows{more} — not applied, not guessed:", t]
        parts_html += [f"<h3>Quarantined report rows{more}</h3>", h]
    subject = f"Amazon movements: {len(retry)} not applied, {len(quarantined) + dropped} quarantined"
    return Email(subject=subject, text="\n".join(parts_text), html="".join(parts_html))


def send_daily_digest(store: MovementStore, jobs: ReportJobStore, mailer: Mail,
                      clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> bool:
    day = clock().date()
    marker = f"digest#{day.isoformat()}"
    if jobs.get(marker) is not None:
        return False
    index = store.index()
    email = build_digest(index, day)
    if email is None:
        return False  # nothing to say yet: a later run today may still have something
    mailer.send(email)
    store.clear_quarantine_log(set(index.get("quarantined") or {}))
    jobs.save(jobs.new(marker, report_type="-", status="sent", updated_at=clock()))
    return True
