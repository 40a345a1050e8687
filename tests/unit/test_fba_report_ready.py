"""The MYI report's notification recorded for the FBA reconciliation's poll (usecases/fba_report_ready.py)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from connector.usecases.fba_report_ready import JOB_KEY, record_ready, recorded
from tests.fakes.stores import FakeReconciliations

ids = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=12)


@given(mine=st.dictionaries(st.sampled_from(["UK", "DE", "US"]), ids, min_size=1), other=ids,
       status=st.sampled_from(["DONE", "CANCELLED", "FATAL"]), doc=st.none() | ids)
def test_only_the_open_reconciliations_reports_are_recorded(mine: dict[str, str], other: str, status: str,
                                                            doc: str | None) -> None:
    store = FakeReconciliations()
    store.set_item(JOB_KEY, {"status": "requested", "reports": mine})
    rid = next(iter(mine.values()))
    assert record_ready(store, rid, status, doc)
    assert recorded(store, rid) == (status, doc)
    assert record_ready(store, other, status, doc) == (other in mine.values())
    if other not in mine.values():
        assert recorded(store, other) is None


def test_nothing_is_recorded_without_an_open_job() -> None:
    store = FakeReconciliations()
    assert not record_ready(store, "r1", "DONE", "d1")
    store.set_item(JOB_KEY, {"status": "done", "reports": {"UK": "r1"}})
    assert not record_ready(store, "r1", "DONE", "d1")
    assert recorded(store, "r1") is None
