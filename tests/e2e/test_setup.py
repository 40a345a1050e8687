"""``connector setup`` against the local stack: the secrets merged (the generated webhook token kept, an
unknown key refused by name), the Brightpearl webhook and the SP-API destination and subscriptions as
the simulators hold them (nothing duplicated on a re-run, a pre-existing subscription reused), SES and
the alarm email checked, and the health check following a Brightpearl test call and an SP-API report
notification through their queues and consumers."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from cli.main import cli
from cli.setup import SUBSCRIPTIONS, WEBHOOK_EVENT
from local.aws import put_secret
from local.stack import start_stack
from simulators.spapi.demo import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, UK

pytestmark = pytest.mark.e2e

BP_SEED = {"warehouses": [{"id": 2, "name": "Main DC"}], "products": [{"id": 1007, "sku": "SHIRT-BL-M"}],
           "stock": [{"productId": 1007, "warehouseId": 2, "onHand": 5}]}
AMAZON_SEED = {"credentials": {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "refresh_token": REFRESH_TOKEN},
               "listings": {"SHIRT-BL-M": {"channel": "MFN", "quantity": 0, "marketplaces": [UK]}}}
BP_CREDS = {"auth": "private", "app_ref": "acme_connector", "account_token": "account-token"}
AMAZON_CREDS = {"refresh_token": REFRESH_TOKEN, "lwa_app_id": CLIENT_ID, "lwa_client_secret": CLIENT_SECRET}


@pytest.fixture
def stack(local_aws, tmp_path):
    with start_stack(aws=local_aws, marketplaces=(UK,), amazon_rate_scale=100, bp_limit=10_000, api=True) as s:
        s.bp.seed(BP_SEED)
        s.amazon.seed(AMAZON_SEED)
        # Amazon notifies only what is subscribed, and reports finish in a second.
        s.amazon.configure(strict_subscriptions=True, timing={"report_queue": 0.2, "report_processing": 0.3})
        s.purge("StockChangeQueue", "NotificationsQueue")
        # As after `sam deploy`: credentials empty, the generated token in the webhook secret.
        put_secret(s.aws, "BrightpearlSecret", {})
        put_secret(s.aws, "AmazonSecret", {})
        (tmp_path / "bp.json").write_text(json.dumps(BP_CREDS), encoding="utf-8")
        (tmp_path / "amazon.json").write_text(json.dumps(AMAZON_CREDS), encoding="utf-8")
        yield s


def setup(tmp_path, *args: str):
    result = CliRunner().invoke(cli, ["--local", "--json", "setup", *args, "--timeout", "20"],
                                catch_exceptions=False)
    body = json.loads(result.stdout)
    return result.exit_code, {s["step"]: s for s in body["steps"]}


def creds(tmp_path) -> list[str]:
    return ["--brightpearl", str(tmp_path / "bp.json"), "--amazon", str(tmp_path / "amazon.json")]


def secret(stack, logical_id):
    return json.loads(stack.aws.client("secretsmanager").get_secret_value(
        SecretId=stack.aws.physical[logical_id])["SecretString"])


def our_hooks(stack):
    return [h for h in stack.bp.world.hooks.list_webhooks(None) if h["subscribeTo"] == WEBHOOK_EVENT]


def subscriptions(stack):
    return {s.notification_type: (s.subscription_id, s.destination_id)
            for s in stack.amazon.notifications_api.state.subscriptions.values()}


def test_full_setup_then_a_rerun_changes_and_duplicates_nothing(stack, tmp_path):
    code, steps = setup(tmp_path, *creds(tmp_path))
    assert code == 0, steps
    assert [steps[s]["status"] for s in ("secrets", "webhook", "notifications")] == ["changed"] * 3
    assert secret(stack, "BrightpearlSecret") == BP_CREDS and secret(stack, "AmazonSecret") == AMAZON_CREDS
    assert secret(stack, "WebhookSecret") == {"webhook_token": stack.webhook_token}
    [hook] = our_hooks(stack)
    assert hook["uriTemplate"] == f"{stack.api.url}/brightpearl/webhook/{stack.webhook_token}"
    assert (hook["idSetAccepted"], hook["qualityOfService"]) == (True, 1)
    assert stack.webhook_token not in json.dumps(steps)  # never printed
    [dest] = stack.amazon.notifications_api.state.destinations.values()
    arn = stack.aws.attributes[("NotificationsQueue", "Arn")]
    assert dest.to_api()["resource"]["sqs"]["arn"] == arn
    subs = subscriptions(stack)
    assert set(subs) == {t for t, _ in SUBSCRIPTIONS} and {d for _, d in subs.values()} == {dest.destination_id}

    # The health check followed both paths through their queues and consumers.
    check = steps["check"]
    assert check["status"] == "ok", check
    assert check["detail"]["webhook"]["correlationId"]
    assert check["detail"]["notification"]["via"] == "NotificationsQueue → NotificationsFunction"
    assert any(d["status"] == 200 and d["url"].endswith(stack.webhook_token) for d in stack.bp.webhook_deliveries())
    # The sandbox and the unconfirmed alarm email are warnings with what to do, not failures.
    assert steps["ses"]["status"] == "warning"
    assert any("ops@example.com" in t for t in steps["ses"]["todo"])

    code, again = setup(tmp_path, *creds(tmp_path))
    assert code == 0
    assert [again[s]["status"] for s in ("secrets", "webhook", "notifications")] == ["ok"] * 3
    assert [h["id"] for h in our_hooks(stack)] == [hook["id"]]
    assert len(stack.amazon.notifications_api.state.destinations) == 1 and subscriptions(stack) == subs


def test_secrets_are_merged_and_an_unknown_key_is_refused_by_name_changing_nothing(stack, tmp_path):
    put_secret(stack.aws, "BrightpearlSecret", {"auth": "private", "app_ref": "acme_connector"})
    (tmp_path / "typo.json").write_text(json.dumps({"acount_token": "t"}), encoding="utf-8")
    code, steps = setup(tmp_path, "secrets", "--brightpearl", str(tmp_path / "typo.json"))
    assert code == 1 and "'acount_token'" in steps["secrets"]["summary"]
    assert "did you mean 'account_token'" in steps["secrets"]["summary"]
    assert secret(stack, "BrightpearlSecret") == {"auth": "private", "app_ref": "acme_connector"}

    (tmp_path / "token.json").write_text(json.dumps({"account_token": "account-token"}), encoding="utf-8")
    code, steps = setup(tmp_path, "secrets", "--brightpearl", str(tmp_path / "token.json"),
                        "--amazon", str(tmp_path / "amazon.json"))
    assert code == 0, steps
    assert secret(stack, "BrightpearlSecret") == BP_CREDS  # app_ref kept, the token added
    assert secret(stack, "WebhookSecret") == {"webhook_token": stack.webhook_token}

    (tmp_path / "wt.json").write_text(json.dumps({"webhook_token": "x"}), encoding="utf-8")
    code, steps = setup(tmp_path, "secrets", "--amazon", str(tmp_path / "wt.json"))
    assert code == 1 and "webhook secret" in steps["secrets"]["summary"]
    assert secret(stack, "AmazonSecret") == AMAZON_CREDS


def test_an_existing_subscription_is_reused_a_foreign_one_kept_unless_replaced_and_stale_webhooks_removed(
        stack, tmp_path):
    arn = stack.aws.attributes[("NotificationsQueue", "Arn")]
    stack.amazon.notifications_api.seed({
        "destinations": [{"name": "ours", "resource": {"sqs": {"arn": arn}}},
                         {"name": "other", "resource": {"sqs": {"arn": "arn:aws:sqs:eu-west-1:123456789012:other"}}}],
        "subscriptions": [{"notificationType": "REPORT_PROCESSING_FINISHED", "payloadVersion": "2020-09-04"}]})
    dests = {d.name: d.destination_id for d in stack.amazon.notifications_api.state.destinations.values()}
    stack.amazon.notifications_api._subscribe("FEED_PROCESSING_FINISHED", {"payloadVersion": "2020-09-04",
                                                                           "destinationId": dests["other"]})
    before = subscriptions(stack)
    old = stack.bp.world.hooks.register_webhook({
        "subscribeTo": WEBHOOK_EVENT, "httpMethod": "POST", "uriTemplate": f"{stack.api.url}/brightpearl/webhook/old",
        "bodyTemplate": "{}", "contentType": "application/json", "idSetAccepted": True, "qualityOfService": 1})

    code, steps = setup(tmp_path, *creds(tmp_path), "secrets", "webhook", "notifications")
    assert code == 0, steps
    assert old in steps["webhook"]["detail"]["removed"] and [h["id"] for h in our_hooks(stack)] == [
        steps["webhook"]["detail"]["webhookId"]]
    assert steps["notifications"]["status"] == "warning"
    assert any("FEED_PROCESSING_FINISHED" in t and "--replace-subscriptions" in t
               for t in steps["notifications"]["todo"])
    subs = subscriptions(stack)
    assert subs["REPORT_PROCESSING_FINISHED"] == before["REPORT_PROCESSING_FINISHED"]  # reused, not re-made
    assert subs["FEED_PROCESSING_FINISHED"] == before["FEED_PROCESSING_FINISHED"]  # another's: left alone
    assert len(stack.amazon.notifications_api.state.destinations) == 2

    code, steps = setup(tmp_path, "notifications", "--replace-subscriptions")
    assert code == 0 and steps["notifications"]["status"] == "changed"
    assert {d for _, d in subscriptions(stack).values()} == {dests["ours"]}
    assert subscriptions(stack)["REPORT_PROCESSING_FINISHED"] == before["REPORT_PROCESSING_FINISHED"]


def test_the_health_check_fails_naming_the_path_that_does_not_work(stack, tmp_path):
    code, steps = setup(tmp_path, *creds(tmp_path), "secrets", "webhook")
    assert code == 0, steps
    # No SP-API subscription: Amazon sends nothing, and the check says which path failed.
    result = CliRunner().invoke(cli, ["--local", "--json", "setup", "check", "--timeout", "3"])
    assert result.exit_code == 1
    [check] = json.loads(result.stdout)["steps"]
    assert check["status"] == "failed" and "notifications path" in check["summary"]
    assert "webhook path" not in check["summary"] and check["detail"]["webhook"]["correlationId"]
    # The webhook gone from Brightpearl: the webhook path fails too.
    for h in our_hooks(stack):
        stack.bp.world.hooks.delete_webhook(int(h["id"]))
    result = CliRunner().invoke(cli, ["--local", "--json", "setup", "check", "--timeout", "3"])
    assert result.exit_code == 1 and "setup webhook" in json.loads(result.stdout)["steps"][0]["summary"]
