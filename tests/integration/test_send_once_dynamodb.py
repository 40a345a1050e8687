"""The one send-once mechanism on DynamoDB and SES (moto): random triggers of the same emails — duplicated,
concurrent, refused by SES, killed between claim and send — and every email leaves SES exactly once."""

from __future__ import annotations

import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector.adapters.email import Email, Mailer
from connector.adapters.sent_mail import DynamoSentMail
from connector.usecases.send_once import SendOnce
from local.aws import sent_emails
from tests.fakes import FakeClock
from tests.send_once_triggers import trigger_all


class FlakySes:
    def __init__(self, mailer: Mailer) -> None:
        self.mailer = mailer
        self.refuse_subjects: set[str] = set()

    def send(self, email: Email) -> str:
        if email.subject in self.refuse_subjects:
            self.refuse_subjects.discard(email.subject)
            raise RuntimeError("SES: throttled")
        return self.mailer.send(email)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 3), st.sampled_from(["send", "send", "refused", "killed"])),
                min_size=1, max_size=16), st.booleans())
def test_each_email_leaves_ses_once_under_duplicate_concurrent_and_crashed_triggers(local_aws, plan, concurrent):
    run = uuid.uuid4().hex[:8]  # the table and SES outlive an example: this example's keys and subjects
    clock, store = FakeClock(), DynamoSentMail()
    ses = FlakySes(Mailer("connector@example.com", ["ops@example.com"], client=local_aws.client("ses")))
    mailer = SendOnce(ses, store, now=clock)
    before = len(sent_emails(local_aws))

    def subject(k: int) -> str:
        return f"{run} email {k} / ä & +"

    def email(key: str) -> Email:
        return Email(subject=subject(int(key.rpartition("#")[2])), text="t", html="<p>t</p>")

    trigger_all(mailer, store, clock, [(f"test#{run}#{k}", fault) for k, fault in plan], concurrent=concurrent,
                refuse=lambda key: ses.refuse_subjects.add(email(key).subject), forgive=ses.refuse_subjects.clear,
                email=email)
    subjects = [m["subject"] for m in sent_emails(local_aws)[before:]]
    assert sorted(subjects) == sorted(subject(k) for k in {k for k, _ in plan})


def test_sent_keys_and_page_nonces_carry_the_tables_ttl_attribute(local_aws):
    from datetime import UTC, datetime, timedelta

    from connector.adapters.page_nonces import MARGIN, PageNonces
    from connector.adapters.store import ReportJob, Setting

    run = uuid.uuid4().hex[:8]
    clock = FakeClock()
    outbox: list[Email] = []

    class Box:
        def send(self, email: Email) -> str:
            outbox.append(email)
            return f"m-{len(outbox)}"

    SendOnce(Box(), DynamoSentMail(), now=clock).send_once(f"ttl#{run}", Email("s", "t", "h"),
                                                           keep=timedelta(days=7))
    assert Setting.get(f"mail#ttl#{run}").expires_at == clock() + timedelta(days=7)
    expires = int(datetime(2026, 12, 4, tzinfo=UTC).timestamp())
    assert PageNonces().claim(f"{expires}~{run}", {"id": "r"}, expires=expires)
    assert not PageNonces().claim(f"{expires}~{run}", {"id": "r"}, expires=expires)
    assert ReportJob.get(f"page-nonce#{expires}~{run}").expires_at == datetime(2026, 12, 4, tzinfo=UTC) + MARGIN
    for model in (ReportJob, Setting):
        ttl = local_aws.client("dynamodb").describe_time_to_live(TableName=model.Meta.table_name)
        assert ttl["TimeToLiveDescription"]["AttributeName"] == "expires_at"
