"""The shape every handler shares (connector/handlers.py): the environment read at cold start, a use case
built once per container (or per call), an SQS batch whose failing records go back alone."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.config import ConfigError, MfnSyncEnv
from connector.handlers import Container, each_record


@given(st.lists(st.tuples(st.text(min_size=1), st.booleans()), unique_by=lambda r: r[0], max_size=20))
def test_an_sqs_batch_hands_back_exactly_the_records_whose_work_failed_in_their_order(records):
    worked: list[str] = []

    def work(record: dict) -> None:
        if record["fails"]:
            raise ValueError(f"cannot work {record['messageId']}")
        worked.append(record["messageId"])

    event = {"Records": [{"messageId": m, "body": "{}", "fails": fails} for m, fails in records]}
    out = each_record(event, work, failed="record failed")
    assert out == {"batchItemFailures": [{"itemIdentifier": m} for m, fails in records if fails]}
    assert worked == [m for m, fails in records if not fails]


def test_a_missing_variable_fails_the_cold_start_by_name(monkeypatch):
    monkeypatch.delenv("BRIGHTPEARL_ACCOUNT", raising=False)
    with pytest.raises(ConfigError, match="BRIGHTPEARL_ACCOUNT"):
        Container(MfnSyncEnv)
    Container(MfnSyncEnv, at_import=False)  # left to the first call: nothing is read yet


def test_once_builds_on_the_first_call_and_keeps_it_while_per_call_builds_every_time(monkeypatch):
    container = Container(MfnSyncEnv, at_import=False)
    container.parts = parts = object()  # type: ignore[assignment]  # the container's shared parts
    built: list[object] = []

    def builder(p: object) -> object:
        built.append(p)
        return object()

    once = container.once(builder)
    assert built == []  # nothing is built at import
    first = once()
    assert once() is first and built == [parts]

    from connector import wiring

    container.env = env = object()  # type: ignore[assignment]
    fresh: list[object] = []
    monkeypatch.setattr(wiring, "Parts", lambda e: fresh.append(e) or object())  # new parts each run
    per_call = container.per_call(builder)
    one, two = per_call(), per_call()
    assert one is not two and fresh == [env, env] and len(built) == 3 and parts not in built[1:]
