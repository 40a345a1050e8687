"""The last run of a scheduled job and its outcome, for the operator's ``status``.

Stored as one free-form item of the settings table (``run#<job>``), overwritten by every run. Recording
is best effort: a run that did its work must not fail (and be retried) because its bookkeeping could
not be written.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from connector.observability import logger

PREFIX = "run#"


def record_run(job: str, started: datetime, *, outcome: str, **detail: Any) -> None:
    from connector.adapters.repositories import SettingsRepository

    value = {"started_at": started.isoformat(), "finished_at": datetime.now(UTC).isoformat(),
             "outcome": outcome, **detail}
    try:
        SettingsRepository().set_value(PREFIX + job, value)
    except Exception:  # bookkeeping only: the run's own result stands
        logger.exception("could not record the run", extra={"job": job, "outcome": outcome})
