"""The one send-once mechanism (issue 12 item 4) on the in-memory ``SentMail``: random triggers, duplicated,
concurrent, refused by SES or killed between claim and send — each key leaves exactly once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.domain.email import Email
from connector.usecases.send_once import LEASE, SendOnce, mail_key
from tests.fakes import FakeClock, FakeSentMail, Outbox
from tests.send_once_triggers import trigger_all


class FlakyOutbox(Outbox):
    def __init__(self) -> None:
        super().__init__()
        self.refuse: set[int] = set()  # the n-th send attempts SES refuses
        self.attempts = 0

    def send(self, email):  # type: ignore[no-untyped-def]
        self.attempts += 1
        if self.attempts in self.refuse:
            raise RuntimeError("SES: throttled")
        return super().send(email)


def email(key: str) -> Email:
    return Email(subject=f"about {key}", text=key, html=key)


triggers = st.lists(st.tuples(st.sampled_from(["a", "b", "c/ä & +", "d" * 500]),
                              st.sampled_from(["send", "send", "refused", "killed"])), min_size=1, max_size=30)


@settings(max_examples=60, deadline=None)
@given(triggers, st.booleans())
def test_every_key_leaves_once_whatever_the_duplicates_crashes_and_concurrency(plan, concurrent):
    clock, outbox, store = FakeClock(), FlakyOutbox(), FakeSentMail()
    mailer = SendOnce(outbox, store, now=clock)

    trigger_all(mailer, store, clock, plan, concurrent=concurrent,
                refuse=lambda _key: outbox.refuse.add(outbox.attempts + 1), forgive=outbox.refuse.clear,
                email=email)
    assert sorted(outbox.subjects) == sorted(f"about {k}" for k in {k for k, _ in plan})


def test_a_claim_still_within_its_lease_is_not_taken_over():
    clock, outbox, store = FakeClock(), Outbox(), FakeSentMail()
    mailer = SendOnce(outbox, store, now=clock)
    store.claim("k", now=clock(), lease_until=clock() + LEASE)  # a live sender, still working
    clock.advance(seconds=LEASE.total_seconds() - 1)
    assert mailer.send_once("k", email("k")) is None and outbox.sent == []
    clock.advance(seconds=2)
    assert mailer.send_once("k", email("k")) == "msg-1"


def test_a_sent_key_is_sent_again_only_after_it_is_no_longer_kept():
    clock, outbox = FakeClock(), Outbox()
    mailer = SendOnce(outbox, FakeSentMail(), now=clock)
    assert mailer.send_once("k", email("k"), keep=timedelta(days=7)) == "msg-1"
    clock.advance(days=6)
    assert mailer.send_once("k", email("k")) is None
    clock.advance(days=2)
    assert mailer.send_once("k", email("k")) == "msg-2"  # e.g. the same EU conflicts a week later


def test_an_email_that_cannot_be_built_releases_its_claim():
    outbox = Outbox()
    mailer = SendOnce(outbox, FakeSentMail())

    def broken() -> Email:
        raise ValueError("no rows")

    with pytest.raises(ValueError, match="no rows"):
        mailer.send_once("k", broken)
    assert mailer.send_once("k", lambda: email("k")) == "msg-1"


def test_long_keys_are_digested_and_stay_apart():
    a, b = "x" * 600 + "a", "x" * 600 + "b"
    assert mail_key(a) != mail_key(b) and len(mail_key(a)) < 200 and mail_key("short") == "short"
