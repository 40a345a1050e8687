"""The ``connector`` CLI against the local stack: each command through ``--local`` (the handlers as Lambda
runs them, moto, both simulators), asserting where the outcome lands (settings stored, the listing's
quantity at Amazon, Brightpearl's FBA stock, the DLQ emptied and its work done), exit codes and ``--json``."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from cli.main import cli
from connector.adapters.repositories import ChannelSettings, GlobalSettings, LinkRepository, SettingsRepository
from connector.adapters.store import InboundShipment, ReportJob, Setting, StockMovement
from local.stack import start_stack
from simulators.spapi.demo import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, UK

pytestmark = pytest.mark.e2e

MAIN, OVERFLOW, FBA = 2, 3, 7
BP_SEED = {
    "warehouses": [{"id": MAIN, "name": "Main DC"}, {"id": OVERFLOW, "name": "Overflow"}, {"id": FBA, "name": "FBA"}],
    "products": [{"id": 1007, "sku": "SHIRT-BL-M"}, {"id": 1008, "sku": "SHIRT/BL L&+é"},
                 {"id": 1020, "sku": "TEA-FBA"}],
    "stock": [{"productId": 1007, "warehouseId": MAIN, "onHand": 40},
              {"productId": 1007, "warehouseId": OVERFLOW, "onHand": 8},
              {"productId": 1008, "warehouseId": MAIN, "onHand": 12},
              {"productId": 1020, "warehouseId": FBA, "onHand": 50}],
}
AMAZON_SEED = {
    "credentials": {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "refresh_token": REFRESH_TOKEN},
    "listings": {
        "SHIRT-BL-M": {"channel": "MFN", "quantity": 0, "lead_time": 3, "marketplaces": [UK]},
        "SHIRT/BL L&+é": {"channel": "MFN", "quantity": 0, "marketplaces": [UK]},
        "TEA-FBA": {"channel": "FBA", "marketplaces": [UK], "fba": {"SELLABLE": 53}},
    },
}


@pytest.fixture
def stack(local_aws):
    with start_stack(aws=local_aws, marketplaces=(UK,), amazon_rate_scale=100, bp_limit=10_000) as s:
        s.bp.seed(BP_SEED)
        s.amazon.seed(AMAZON_SEED)
        s.clear(Setting, StockMovement, ReportJob, InboundShipment)  # another file's shipments (same process)
        settings = SettingsRepository()
        settings.save_global(GlobalSettings(mfn_warehouses=[MAIN], fba_warehouse_id=FBA))
        settings.save_channel(UK, ChannelSettings(sync_enabled=False))
        settings.set_value("fba_reconciliation", {})
        s.link([(UK, "SHIRT-BL-M", 1007, "MFN"), (UK, "TEA-FBA", 1020, "FBA")])
        for q in ("StockChangeQueue", "StockChangeDLQ", "NotificationsQueue", "NotificationsDLQ",
                  "ScheduledFailuresDLQ", "ImportLinksQueue", "ImportLinksDLQ"):
            s.purge(q)
        yield s


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(cli, ["--local", *args], input=input, catch_exceptions=False)


def run_json(*args: str):
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def qty(stack, sku):
    return stack.amazon.world.listings[sku].quantity


def test_settings_set_is_stored_and_a_bad_one_is_refused_by_name_changing_nothing(stack):
    out = run_json("settings", "set", "mfn_warehouses=[2,3]", "patch_threshold=7")
    assert out["global"]["mfn_warehouses"] == [MAIN, OVERFLOW]
    assert SettingsRepository().global_settings().mfn_warehouses == [MAIN, OVERFLOW]
    assert SettingsRepository().global_settings().patch_threshold == 7

    bad = run("settings", "set", "mfn_warehouse=[2]", "patch_threshold=1")
    assert bad.exit_code == 1 and "did you mean 'mfn_warehouses'" in bad.output
    unknown_wh = run("--json", "settings", "set", "mfn_warehouses=[99]")
    assert unknown_wh.exit_code == 1
    body = json.loads(unknown_wh.stdout)
    assert body["ok"] is False and "warehouse 99 does not exist" in body["error"]
    assert SettingsRepository().global_settings().patch_threshold == 7  # nothing changed
    assert SettingsRepository().global_settings().mfn_warehouses == [MAIN, OVERFLOW]

    assert run_json("settings", "get", "-m", UK) == {"channel": UK, "values": SettingsRepository().channel(UK)
                                                     .model_dump()}
    assert run("settings", "set", "no-equals-sign").exit_code == 2


def test_sync_on_pushes_the_listing_and_sync_off_switches_it_off(stack):
    assert qty(stack, "SHIRT-BL-M") == 0
    out = run_json("sync", "on", UK)
    assert out["sync"] == "on" and out["pushed"] == 1
    assert qty(stack, "SHIRT-BL-M") == 40  # Main DC only
    assert stack.amazon.world.listings["SHIRT-BL-M"].lead_time == 3
    off = run("sync", "off", UK)
    assert off.exit_code == 0 and SettingsRepository().channel(UK).sync_enabled is False
    # resync switches it on again and pushes every listing, whatever was last pushed.
    stack.bp.adjust_on_hand(1007, MAIN, -5)
    assert run_json("resync", UK)["pushed"] == 1 and qty(stack, "SHIRT-BL-M") == 35


def test_links_connect_import_list_show_disconnect(stack, tmp_path):
    run_json("sync", "on", UK)
    connected = run_json("links", "connect", "SHIRT/BL L&+é", "-m", UK)
    assert connected["productId"] == 1008 and connected["onAmazon"] is True
    assert qty(stack, "SHIRT/BL L&+é") == 12

    listing = tmp_path / "skus.txt"
    listing.write_text("# Amazon SKUs\nSHIRT-BL-M\nNO-SUCH-SKU\nTEA-FBA,FBA\n", encoding="utf-8")
    imported = run("links", "import", str(listing), "-m", UK, "--batch-size", "1", "--wait", "--json")
    assert imported.exit_code == 0, imported.output
    body = json.loads(imported.stdout)
    assert body["linked"] == 2 and body["unmatched"] == ["NO-SUCH-SKU"] and body["refused"] == []

    rows = run_json("links", "list", "-m", UK)
    assert {r["sku"]: r["channel"] for r in rows} == {"SHIRT-BL-M": "MFN", "SHIRT/BL L&+é": "MFN", "TEA-FBA": "FBA"}
    [shown] = run_json("links", "show", "SHIRT/BL L&+é")
    assert (shown["lastConfirmed"], shown["amazonStatus"]) == (12, "confirmed")
    assert run("links", "show", "NOPE").exit_code == 1

    assert run_json("links", "disconnect", "SHIRT/BL L&+é", "-m", UK)["disconnected"]
    assert LinkRepository().get(UK, "SHIRT/BL L&+é") is None
    again = run("links", "disconnect", "SHIRT/BL L&+é", "-m", UK)
    assert again.exit_code == 1 and "no link" in again.output


def test_status_explain_and_nightly(stack):
    run_json("sync", "on", UK)
    status = run_json("status")
    uk = status["marketplaces"][UK]
    assert (uk["sync"], uk["links"], uk["mfn"], uk["fba"]) == ("on", 2, 1, 1)
    assert uk["lastPushAt"] and uk["results"] == {"ACCEPTED": 1}
    assert set(status["queues"]) == {"StockChangeQueue", "NotificationsQueue", "StockChangeDLQ", "NotificationsDLQ",
                                     "ScheduledFailuresDLQ", "ImportLinksQueue", "ImportLinksDLQ"}
    assert status["queues"]["StockChangeDLQ"] == {"visible": 0, "inFlight": 0}
    assert set(status["movements"]) == {"byStatus", "awaitingRetry", "quarantined"}
    assert "Marketplaces" in run("status").output

    explained = run_json("explain", "SHIRT-BL-M")
    assert explained["sku"] == "SHIRT-BL-M" and explained["fromAmazon"] == []
    assert [(r["marketplace"], r["lastConfirmed"]) for r in explained["toAmazon"]] == [(UK, 40)]

    first = run_json("nightly", "run")
    assert list(first["requested"].values()) and run_json("status")["nightly"]
    assert run_json("nightly", "run") == {"requested": {}}  # once a night


def test_reconcile_show_and_approve_with_dry_run(stack, tmp_path):
    recon = run_json("reconcile", "--no-email")
    rid = recon["id"]
    csv_file = tmp_path / "recon.csv"
    shown = run_json("show", "--sku", "TEA-FBA", "--csv", str(csv_file))
    [line] = shown["lines"]
    assert (line["sku"], line["difference"], line["suggested"]) == ("TEA-FBA", 3, 3)
    assert "TEA-FBA" in csv_file.read_text(encoding="utf-8")

    dry = run_json("approve", rid, "--dry-run")
    assert [p["sku"] for p in dry["would_apply"]] == ["TEA-FBA"] and stack.bp.on_hand(1020, FBA) == 50
    assert run_json("approve", rid)["statuses"] == {"applied": 1}
    assert stack.bp.on_hand(1020, FBA) == 53
    assert run_json("approve", rid)["statuses"] == {"already_applied": 1} and stack.bp.on_hand(1020, FBA) == 53
    refused = run("approve", "no-such-reconciliation")
    assert refused.exit_code == 1 and "no-such-reconciliation" in refused.output


def test_dlq_list_and_replay_moves_the_message_back_and_its_work_is_done(stack):
    run_json("sync", "on", UK)
    stack.bp.adjust_on_hand(1007, MAIN, -10)  # 30 now; the webhook's message failed into the DLQ
    sqs = stack.aws.client("sqs")
    sqs.send_message(QueueUrl=stack.aws.queue_url("StockChangeDLQ"),
                     MessageBody=json.dumps({"idSet": "1007", "fullEvent": "product.modified.on-hand-modified"}))
    assert qty(stack, "SHIRT-BL-M") == 40

    listed = run_json("dlq", "list", "stock-change")
    [msg] = listed["StockChangeDLQ"]
    assert msg["ageSeconds"] is not None and msg["ageSeconds"] >= 0 and "1007" in msg["body"]
    # Listing hides nothing: the message is still there for the replay.
    again = run_json("dlq", "list")
    assert [m["messageId"] for m in again["StockChangeDLQ"]] == [msg["messageId"]]

    replayed = run_json("dlq", "replay", "stock-change", "--yes")
    assert (replayed["replayed"], replayed["messageIds"], replayed["failed"]) == (1, [msg["messageId"]], [])
    assert run_json("dlq", "list", "stock-change") == {"StockChangeDLQ": []}
    stack.pump("StockChangeFunction")
    assert qty(stack, "SHIRT-BL-M") == 30  # the replayed change reached Amazon
    assert run_json("dlq", "replay", "stock-change")["replayed"] == 0


def test_dlq_replay_of_a_failed_scheduled_run_invokes_it_again_and_keeps_what_it_cannot_replay(stack, local_aws):
    sqs = stack.aws.client("sqs")
    url = stack.aws.queue_url("ScheduledFailuresDLQ")
    arn = "arn:aws:lambda:eu-west-1:123456789012:function:NightlyReconciliationFunction"
    # What Lambda's OnFailure destination writes for a failed asynchronous invocation.
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({
        "version": "1.0", "timestamp": "2026-12-01T02:00:00Z",
        "requestContext": {"requestId": "r1", "functionArn": f"{arn}:$LATEST", "condition": "RetriesExhausted",
                           "approximateInvokeCount": 3},
        "requestPayload": {"action": "start"},
        "responsePayload": {"errorType": "ConnectionError", "errorMessage": "Brightpearl unreachable"}}))
    sqs.send_message(QueueUrl=url, MessageBody="not a failure record")
    listed = {m["body"][:10]: m for m in run_json("dlq", "list", "scheduled")["ScheduledFailuresDLQ"]}
    assert {m["reason"] for m in listed.values()} == {"ConnectionError: Brightpearl unreachable", None}

    out = run("dlq", "replay", "scheduled", "--json")
    assert out.exit_code == 1
    body = json.loads(out.stdout)
    assert body["replayed"] == 1 and len(body["failed"]) == 1 and "not a Lambda failure record" in body["failed"][0][
        "error"]
    assert Setting.get(f"nightly#{_scope()}") is not None  # the nightly run was started by the replay
    # The one it could not replay is visible again at once, still on the DLQ.
    assert [m["body"] for m in run_json("dlq", "list", "scheduled")["ScheduledFailuresDLQ"]] == ["not a failure record"]


def _scope() -> str:
    [item] = [i for i in Setting.scan() if i.key.startswith("nightly#")]
    return item.key.split("#", 1)[1]


def test_exit_codes_for_usage_and_transport_errors(stack):
    runner = CliRunner()
    assert runner.invoke(cli, ["status"]).exit_code == 2  # which stack?
    assert runner.invoke(cli, ["--local", "--stack", "x", "status"]).exit_code == 2
    bad_queue = runner.invoke(cli, ["--local", "dlq", "list", "nope"])
    assert bad_queue.exit_code == 2 and "stock-change" in bad_queue.output
    # A stack CloudFormation does not know (moto's, on loopback): the transport's error, exit 3.
    missing = runner.invoke(cli, ["--stack", "no-such-stack", "status"])
    assert missing.exit_code == 3 and "no-such-stack" in missing.output


def test_status_shows_the_last_inbound_run_and_its_outcome(stack):
    assert run_json("status")["inbound"] is None
    # No source warehouse chosen: the run fails, and status says why.
    with pytest.raises(Exception):  # noqa: B017 - the handler raises as Lambda would report it
        stack.invoke("InboundShipmentsFunction", {})
    failed = run_json("status")["inbound"]
    assert failed["outcome"] == "failed" and "inbound_source_warehouse_id" in failed["error"]
    SettingsRepository().save_global(GlobalSettings(mfn_warehouses=[MAIN], fba_warehouse_id=FBA,
                                                    inbound_source_warehouse_id=MAIN))
    stack.amazon.world_op("create_inbound_shipment", items={"TEA-FBA": 4}, shipment_id="FBA1CLI")
    stack.invoke("InboundShipmentsFunction", {})
    ok = run_json("status")["inbound"]
    assert (ok["outcome"], ok["seen"], ok["processed"]) == ("ok", 1, 1)
    assert ok["finished_at"] >= ok["started_at"] >= failed["finished_at"]
    assert "Last inbound run: ok" in run("status").output


def test_shadow_on_status_report_csv_and_off_applies_todays_quantity(stack, tmp_path):
    SettingsRepository().save_channel(UK, ChannelSettings(sync_enabled=True))
    assert run("shadow", "on", "mfn").exit_code == 0
    assert "SHIRT-BL-M" not in run("shadow", "report").output  # nothing planned yet
    assert run("resync", UK).exit_code == 0  # in shadow: computed and recorded, not sent
    assert stack.amazon.world.listings["SHIRT-BL-M"].quantity == 0
    status = run("shadow", "status").output
    assert "mfn             SHADOW  MFN push: 1 listing would change" in status
    out = run("shadow", "report", "mfn", "--csv", str(tmp_path / "plan.csv"))
    assert out.exit_code == 0 and "SHIRT-BL-M" in out.output
    rows = (tmp_path / "plan.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0].startswith("feature,marketplace,sku") and rows[1].startswith("mfn,A1F83G8C2ARO7P,SHIRT-BL-M,")
    bad = run("shadow", "off", "mfm")
    assert bad.exit_code == 1 and "unknown shadow feature 'mfm'" in bad.output
    stack.bp.adjust_on_hand(1007, MAIN, -4)  # weeks later
    off = run("--json", "shadow", "off", "mfn")
    assert off.exit_code == 0 and json.loads(off.output)["cleared"] == 1
    assert stack.amazon.world.listings["SHIRT-BL-M"].quantity == 36  # today's on-hand in Main DC
    assert "mfn             live" in run("shadow", "status").output
