"""In-memory fakes of the ports (``connector.usecases.ports``) with real behaviour: stock that moves,
conditional writes that lose races, an outbox that holds the emails. Unit tests assert on their state."""

from tests.fakes.amazon import FakeFbaInventory, FakeInbound, FakeListings, FakeReports
from tests.fakes.brightpearl import FakeBrightpearl
from tests.fakes.clock import FakeClock
from tests.fakes.continuations import FakeContinuations
from tests.fakes.finances import FakeCreditsBrightpearl, FakeFinances
from tests.fakes.mail import FakeExports, FakeSentMail, Outbox, once
from tests.fakes.stores import (
    FakeLink,
    FakeLinks,
    FakePageNonces,
    FakeReconciliations,
    FakeReportJobs,
    FakeSettings,
    FakeShipments,
    InMemoryMovementStore,
)

__all__ = [
    "FakeBrightpearl",
    "FakeClock",
    "FakeContinuations",
    "FakeCreditsBrightpearl",
    "FakeExports",
    "FakeFbaInventory",
    "FakeFinances",
    "FakeInbound",
    "FakeLink",
    "FakeLinks",
    "FakeListings",
    "FakePageNonces",
    "FakeReconciliations",
    "FakeReportJobs",
    "FakeReports",
    "FakeSentMail",
    "FakeSettings",
    "FakeShipments",
    "InMemoryMovementStore",
    "Outbox",
    "once",
]
