"""The daily movements digest on fakes: what waits and why, emailed at most once a day."""

from __future__ import annotations

from connector.domain.movements import StockChange
from connector.domain.settings import GlobalSettings
from connector.usecases.movements import MovementService
from connector.usecases.movements_digest import send_daily_digest
from tests.fakes import FakeBrightpearl, FakeClock, FakeReportJobs, InMemoryMovementStore, Outbox, once


def setup(links: dict[str, int]) -> tuple[MovementService, FakeReportJobs, Outbox, FakeClock]:
    clock, bp = FakeClock(), FakeBrightpearl(products={1: "TEA"})
    bp.stock(7, 1, 50)
    svc = MovementService(InMemoryMovementStore(), bp, links.get, lambda: GlobalSettings(fba_warehouse_id=7),
                          clock=clock)
    return svc, FakeReportJobs(), Outbox(), clock


def lost(i: int, sku: str) -> StockChange:
    return StockChange(f"ledger|{i}", "GET_LEDGER_DETAIL_VIEW_DATA", "damaged", sku, -1, f"row {i}", line=i + 2)


def test_nothing_waiting_sends_no_digest():
    svc, jobs, outbox, clock = setup({"TEA": 1})
    svc.ingest([lost(1, "TEA")])
    assert send_daily_digest(svc.store, jobs, once(outbox, clock), clock) is False
    assert outbox.sent == []


def test_a_movement_of_an_unlinked_sku_is_in_the_digest_once_a_day_naming_the_sku():
    svc, jobs, outbox, clock = setup({})
    svc.ingest([lost(1, "MYSTERY-TEA & CO/1")])
    assert send_daily_digest(svc.store, jobs, once(outbox, clock), clock) is True
    assert send_daily_digest(svc.store, jobs, once(outbox, clock), clock) is False  # same day: not again
    (email,) = outbox.sent
    assert "MYSTERY-TEA &amp; CO/1" in email.html and "MYSTERY-TEA & CO/1" in email.text
    assert email.subject.startswith("[test · unit] all marketplaces: Amazon movements: 1 not applied")
    clock.advance(days=1)
    assert send_daily_digest(svc.store, jobs, once(outbox, clock), clock) is True  # still waiting: said again tomorrow
    assert len(outbox.sent) == 2
