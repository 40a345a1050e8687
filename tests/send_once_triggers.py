"""The trigger schedule both send-once property tests drive (on the in-memory store and on DynamoDB + SES)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from connector.domain.email import Email
from connector.usecases.send_once import LEASE, SendOnce, mail_key
from tests.fakes import FakeClock


def trigger_all(mailer: SendOnce, store: object, clock: FakeClock, plan: Sequence[tuple[str, str]], *,
                concurrent: bool, refuse: Callable[[str], None], forgive: Callable[[], None],
                email: Callable[[str], Email]) -> None:
    """Triggers each ``(key, fault)`` of ``plan``, in order or four at a time: ``send``; ``refused`` (SES
    refuses that send: ``refuse(key)`` arranges it); ``killed`` (the process died after its claim, before
    SES: only the claim is left). Then the next scheduled run, SES refusing nothing more (``forgive()``)
    and any dead claim's lease run out: every key triggered twice more. What must hold after: each key's
    email left exactly once."""

    def trigger(step: tuple[str, str]) -> None:
        key, fault = step
        if fault == "killed":
            now: datetime = clock()
            store.claim(mail_key(key), now=now, lease_until=now + LEASE)  # type: ignore[attr-defined]
            return
        if fault == "refused":
            refuse(key)
        with contextlib.suppress(RuntimeError):  # SES refused: the claim is released, a later trigger sends
            mailer.send_once(key, email(key))

    if concurrent:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(trigger, plan))
    else:
        for step in plan:
            trigger(step)
    forgive()
    clock.advance(seconds=LEASE.total_seconds() + 1)
    for key in dict.fromkeys(k for k, _ in plan):
        mailer.send_once(key, email(key))
        mailer.send_once(key, email(key))
