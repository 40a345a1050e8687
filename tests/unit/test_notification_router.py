"""The notification router (usecases/notifications.py): each SP-API notification to the first handler of its
type that accepts it; an unhandled type is acknowledged and counted, never clogging the queue; a handler's
failure reaches the caller (the message is retried)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.domain.notifications import Notification, NotificationError
from connector.usecases.notifications import NotificationRouter


def report_finished(report_type: str, report_id: str) -> str:
    return json.dumps({"notificationVersion": "2020-09-04", "notificationType": "REPORT_PROCESSING_FINISHED",
                       "payloadVersion": "2020-09-04", "eventTime": "2026-12-01T03:35:13Z",
                       "notificationMetadata": {"notificationId": f"n-{report_id}"},
                       "payload": {"reportProcessingFinishedNotification": {
                           "reportId": report_id, "reportType": report_type, "processingStatus": "DONE"}}})


def kind_of(n: Notification) -> str:
    return str(n.payload["reportProcessingFinishedNotification"]["reportType"])


def router() -> tuple[NotificationRouter, list[tuple[str, str]]]:
    seen: list[tuple[str, str]] = []
    r = NotificationRouter()
    r.register("REPORT_PROCESSING_FINISHED", lambda n: seen.append(("listings", n.notification_id)) or "L",
               when=lambda n: kind_of(n) == "GET_MERCHANT_LISTINGS_ALL_DATA")
    r.register("REPORT_PROCESSING_FINISHED", lambda n: seen.append(("any report", n.notification_id)) or "R")
    return r, seen


def test_the_first_handler_whose_condition_accepts_the_notification_runs_alone() -> None:
    r, seen = router()
    assert r.handle_body(report_finished("GET_MERCHANT_LISTINGS_ALL_DATA", "1")) == "L"
    assert r.handle_body(report_finished("GET_LEDGER_DETAIL_VIEW_DATA", "2")) == "R"
    assert seen == [("listings", "n-1"), ("any report", "n-2")] and r.ignored == {}


@settings(max_examples=50, deadline=None)
@given(types=st.lists(st.sampled_from(["ANY_OFFER_CHANGED", "FEED_PROCESSING_FINISHED", "ORDER_CHANGE"]),
                      max_size=12))
def test_a_type_with_no_handler_is_acknowledged_and_counted(types: list[str]) -> None:
    r, seen = router()
    for i, t in enumerate(types):
        body = {"NotificationType": t, "NotificationVersion": "1.0", "Payload": {},
                "NotificationMetadata": {"NotificationId": f"n-{i}"}}
        assert r.handle_body(body) is None
    assert seen == [] and r.ignored == {t: types.count(t) for t in set(types)}


def test_a_failing_handler_and_a_malformed_body_reach_the_caller_so_the_message_is_retried() -> None:
    r = NotificationRouter()

    def down(_: Notification) -> Any:
        raise ConnectionError("Brightpearl down")

    r.register("REPORT_PROCESSING_FINISHED", down)
    with pytest.raises(ConnectionError):
        r.handle_body(report_finished("GET_LEDGER_DETAIL_VIEW_DATA", "3"))
    with pytest.raises(NotificationError, match="not JSON"):
        r.handle_body("{not json")
    assert r.ignored == {}
