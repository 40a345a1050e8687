"""Inbound shipments: a run that dies between a Brightpearl write and saving the record, or whose
email fails, is completed by the next run without repeating the write or the email.

The use case runs with its real adapters against the simulators (DynamoDB and SES in moto); only a
"crash" is added around one Brightpearl call, as a Lambda timeout would cut it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from connector.adapters.amazon.client import AmazonClients, LwaCredentials
from connector.adapters.amazon.inbound import AmazonInbound
from connector.adapters.brightpearl.auth import PrivateAppAuth
from connector.adapters.brightpearl.client import BrightpearlClient
from connector.adapters.brightpearl.transfers import BrightpearlTransfers
from connector.adapters.email import Email, Mailer
from connector.adapters.inbound_records import ShipmentRecords
from connector.adapters.repositories import GlobalSettings, SettingsRepository
from connector.adapters.sent_mail import DynamoSentMail
from connector.adapters.store import InboundShipment
from connector.emails.design import Message, Sender
from connector.emails.sending import DesignMailer
from connector.usecases.inbound_shipments import InboundShipments, RunIncomplete
from connector.usecases.send_once import SendOnce
from local.aws import sent_emails
from local.stack import start_stack
from simulators.spapi.demo import CLIENT_ID, CLIENT_SECRET, DEMO_SEED, REFRESH_TOKEN, UK
from tests.brightpearl import NoGovernor
from tests.e2e.test_inbound_shipments import BP_SEED, FBA, SOURCE, TEA
from tests.emails import title


class Crash(Exception):
    """The Lambda died here (timeout, out of memory): nothing after this line ran."""


class CrashingTransfers(BrightpearlTransfers):
    def __init__(self, client: BrightpearlClient) -> None:
        super().__init__(client)
        self.crash_release: str | None = None  # "before" or "after" the POST

    def release(self, warehouse_id: int, product_id: int, quantity: int) -> None:
        when, self.crash_release = self.crash_release, None
        if when == "before":
            raise Crash
        super().release(warehouse_id, product_id, quantity)
        if when == "after":
            raise Crash


class CrashingUndo(CrashingTransfers):
    """Also cuts the writes that undo a cancelled shipment: ``crash = (method, "before" | "after")``."""

    def __init__(self, client: BrightpearlClient) -> None:
        super().__init__(client)
        self.crash: tuple[str, str] | None = None

    def _cut(self, name: str, call: Callable[[], Any]) -> Any:
        when = None
        if self.crash and self.crash[0] == name:
            when, self.crash = self.crash[1], None
        if when == "before":
            raise Crash
        out = call()
        if when == "after":
            raise Crash
        return out

    def release(self, warehouse_id: int, product_id: int, quantity: int) -> None:
        self._cut("release", lambda: super(CrashingUndo, self).release(warehouse_id, product_id, quantity))

    def remove_stock(self, warehouse_id: int, product_id: int, quantity: int, *, reason: str) -> int:
        return self._cut("remove_stock", lambda: super(CrashingUndo, self).remove_stock(
            warehouse_id, product_id, quantity, reason=reason))

    def add_stock(self, warehouse_id: int, product_id: int, quantity: int, *, reason: str,
                  cost: Mapping[str, Any]) -> int:
        return self._cut("add_stock", lambda: super(CrashingUndo, self).add_stock(
            warehouse_id, product_id, quantity, reason=reason, cost=cost))

    def delete_goods_out(self, note_id: int) -> None:
        self._cut("delete_goods_out", lambda: super(CrashingUndo, self).delete_goods_out(note_id))


class FlakyMail:
    def __init__(self, mailer: DesignMailer) -> None:
        self.mailer = mailer
        self.fail_next = False

    def send(self, email: Email | Message) -> str:
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("SES: throttled")
        return self.mailer.send(email)


@pytest.fixture(scope="module")
def stack(local_aws):
    with start_stack(aws=local_aws, bp_limit=100_000, amazon_rate_scale=1000, notifications=False) as stack:
        yield stack


@pytest.fixture
def setup(stack, local_aws):
    bp, amazon = stack.bp, stack.amazon
    stack.reset(BP_SEED, DEMO_SEED)
    stack.clear(InboundShipment)
    SettingsRepository().save_global(GlobalSettings(fba_warehouse_id=FBA, inbound_source_warehouse_id=SOURCE))
    client = BrightpearlClient(base_url=bp.url, account="acme", governor=NoGovernor(),
                               auth=PrivateAppAuth(app_ref="acme_connector", account_token="account-token"))
    transfers = CrashingUndo(client)
    mail = FlakyMail(DesignMailer(Mailer("connector@example.com", ["ops@example.com"], client=local_aws.client("ses")),
                                  Sender("connector-local", "local", ("A1F83G8C2ARO7P",))))
    amazon_clients = AmazonClients(LwaCredentials(REFRESH_TOKEN, CLIENT_ID, CLIENT_SECRET), marketplace_id=UK,
                                   endpoint=amazon.url, lwa_url=f"{amazon.url}/auth/o2/token")
    usecase = InboundShipments(amazon=AmazonInbound(amazon_clients), transfers=transfers, records=ShipmentRecords(),
                               settings=SettingsRepository().global_settings,
                               product_for={"FBA-TEA": TEA}.get, mail=SendOnce(mail, DynamoSentMail()))
    return bp, amazon, usecase, transfers, mail


def shipped_and_received(amazon, usecase, shipment_id, received):
    amazon.world_op("create_inbound_shipment", items={"FBA-TEA": 6}, shipment_id=shipment_id)
    amazon.world_op("ship_inbound", shipment_id=shipment_id)
    usecase.run()
    amazon.world_op("receive_inbound", shipment_id=shipment_id, items={"FBA-TEA": received})


@pytest.mark.parametrize("when", ["after", "before"])
def test_a_release_cut_short_is_settled_by_the_next_run_and_sent_once(setup, when):
    bp, amazon, usecase, transfers, _ = setup
    shipped_and_received(amazon, usecase, f"FBA9{when.upper()}", 4)
    transfers.crash_release = when
    with pytest.raises(RunIncomplete):
        usecase.run()
    pending = ShipmentRecords().get(f"FBA9{when.upper()}").pending
    assert pending["of"] == "release" and [(w[0], w[1]) for w in pending["writes"]] == [(TEA, 4)]
    usecase.run()
    assert (bp.on_hand(TEA, FBA), bp.in_transit(TEA, FBA)) == (4, 2)
    assert len(bp.requests(route="post-quarantine-release", ok_only=True)) == 1
    record = ShipmentRecords().get(f"FBA9{when.upper()}")
    assert record.pending is None and record.skus[0].released == 4


def test_an_email_ses_refused_is_sent_by_the_next_run_once(setup, local_aws):
    _, amazon, usecase, _, mail = setup
    mails0 = len(sent_emails(local_aws))
    shipped_and_received(amazon, usecase, "FBA9MAIL", 2)
    mail.fail_next = True
    with pytest.raises(RunIncomplete):
        usecase.run()
    assert sent_emails(local_aws)[mails0:] == []
    usecase.run()
    usecase.run()
    assert [title(m["subject"]) for m in sent_emails(local_aws)[mails0:]] == [
        "Amazon started receiving inbound shipment FBA9MAIL"]
    (entry,) = ShipmentRecords().get("FBA9MAIL").emails_sent
    assert entry["state"] == "sent" and entry["message_id"]


@pytest.mark.parametrize("crash", [("release", "after"), ("remove_stock", "before"), ("remove_stock", "after"),
                                   ("add_stock", "before"), ("add_stock", "after")])
def test_undoing_a_cancelled_shipment_cut_short_is_finished_once_by_the_next_run(setup, local_aws, crash):
    """Issue item 11 under a killed run: each undo write is settled from the figures, never repeated."""
    bp, amazon, usecase, transfers, _ = setup
    sid = f"FBA9U{crash[0][:3].upper()}{crash[1][0].upper()}"
    shipped_and_received(amazon, usecase, sid, 2)
    usecase.run()  # 2 of 6 released
    amazon.world_op("cancel_inbound", shipment_id=sid)
    mails0 = len(sent_emails(local_aws))
    transfers.crash = crash
    with pytest.raises(RunIncomplete):
        usecase.run()
    assert not ShipmentRecords().get(sid).finished
    usecase.run()
    usecase.run()
    assert bp.figures(TEA, FBA) == {"inStock": 2, "onHand": 2, "allocated": 0, "inTransit": 0}
    assert bp.on_hand(TEA, SOURCE) == 50 - 6 + 4 and bp.quarantine(TEA, FBA) == 0
    corrections = [e.body["corrections"][0]["quantity"] for e in bp.requests(route="post-stock-correction")
                   if e.status == 200]
    assert sorted(corrections) == [-4, 4]
    assert [title(m["subject"]) for m in sent_emails(local_aws)[mails0:]] == [
        f"Amazon inbound shipment {sid} was cancelled"]
    assert ShipmentRecords().get(sid).finished


def test_a_goods_out_note_delete_cut_short_is_not_sent_again(setup, local_aws):
    bp, amazon, usecase, transfers, _ = setup
    amazon.world_op("create_inbound_shipment", items={"FBA-TEA": 6}, shipment_id="FBA9UDEL")
    usecase.run()
    amazon.world_op("cancel_inbound", shipment_id="FBA9UDEL")
    transfers.crash = ("delete_goods_out", "after")
    with pytest.raises(RunIncomplete):
        usecase.run()
    usecase.run()
    assert bp.figures(TEA, SOURCE) == {"inStock": 50, "onHand": 50, "allocated": 0, "inTransit": 0}
    assert len(bp.requests(route="delete-goods-out-note")) == 1
    assert ShipmentRecords().get("FBA9UDEL").finished
