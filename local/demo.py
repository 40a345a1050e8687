"""`make demo`: the connector running on this machine against the simulators, narrating what it does.

What runs (all on 127.0.0.1): moto server with the stack's tables, queues and secrets built from
template.yaml; the Brightpearl and Amazon SP-API simulators; an API Gateway stand-in in front of the
webhook function. Handlers run in this process exactly as Lambda would run them, and queued work
is delivered to them the way SQS event sources do. The flow grows with each feature.
"""

from __future__ import annotations

import json
import secrets
import sys
import time
from typing import Any

from local.apigw import LocalHttpApi
from local.aws import put_secret, sent_emails, start_local_aws
from local.queues import pump
from local.runtime import invoke

UK = "A1F83G8C2ARO7P"
DE = "A1PA6795UKMFR9"
SELLER = "A1SELLER"


def say(text: str = "") -> None:
    print(text, flush=True)


def step(n: int, text: str) -> None:
    say(f"\n[{n}] {text}")


BRIGHTPEARL: dict[str, Any] = {
    "warehouses": [
        {"id": 2, "name": "Main DC", "defaultLocationId": 2, "quarantineLocationId": 9},
        {"id": 3, "name": "Overflow", "defaultLocationId": 30, "quarantineLocationId": 39},
        {"id": 7, "name": "Amazon FBA UK", "defaultLocationId": 70, "quarantineLocationId": 79},
    ],
    "products": [
        {"id": 1007, "sku": "SHIRT-BL-M", "name": "Linen shirt blue M", "productGroupId": 212,
         "options": [{"optionId": 1, "optionName": "Size", "optionValueId": 3, "optionValue": "M"}]},
        {"id": 1008, "sku": "SHIRT-BL-L", "name": "Linen shirt blue L", "productGroupId": 212,
         "options": [{"optionId": 1, "optionName": "Size", "optionValueId": 4, "optionValue": "L"}]},
        {"id": 1011, "sku": "SOCKS-GR", "name": "Wool socks grey"},
        {"id": 1013, "sku": "GIFT-SET", "name": "Shirt and socks gift set",
         "bundleComponents": [{"productId": 1007, "productQuantity": 1}, {"productId": 1011, "productQuantity": 2}]},
        {"id": 1020, "sku": "TEA-FBA", "name": "Green tea (FBA)"},
    ],
    "stock": [
        {"productId": 1007, "warehouseId": 2, "onHand": 40}, {"productId": 1007, "warehouseId": 3, "onHand": 8},
        {"productId": 1008, "warehouseId": 2, "onHand": 12},
        {"productId": 1011, "warehouseId": 2, "onHand": 30}, {"productId": 1011, "warehouseId": 3, "onHand": 6},
        {"productId": 1020, "warehouseId": 7, "onHand": 50},
    ],
}


def amazon_seed(client_id: str, client_secret: str, refresh_token: str) -> dict[str, Any]:
    return {
        "credentials": {"client_id": client_id, "client_secret": client_secret, "refresh_token": refresh_token},
        "listings": {
            "SHIRT-BL-M": {"title": "Linen shirt blue M", "channel": "MFN", "quantity": 5, "lead_time": 2,
                           "marketplaces": [UK, DE]},
            "SHIRT-BL-L": {"title": "Linen shirt blue L", "channel": "MFN", "quantity": 5, "marketplaces": [UK]},
            "GIFT-SET": {"title": "Gift set", "channel": "MFN", "quantity": 0, "marketplaces": [UK]},
            "SOCKS-GR": {"title": "Wool socks", "channel": "MFN", "quantity": 0, "marketplaces": [UK]},
            "TEA-FBA": {"title": "Green tea", "channel": "FBA", "marketplaces": [UK], "fba": {"SELLABLE": 33}},
        },
    }


def main() -> int:
    import warnings

    warnings.filterwarnings("ignore", message="No application metrics to publish")
    from simulators.brightpearl import BrightpearlSimulator
    from simulators.spapi import SpApiSimulator
    from simulators.spapi.demo import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN

    t0 = time.monotonic()
    say("Brightpearl ⇄ Amazon connector — local run (moto server + simulators, all on 127.0.0.1)")

    step(1, "Starting the AWS emulator (resources from template.yaml) and the two platform simulators")
    aws = start_local_aws()
    bp = BrightpearlSimulator(account="acme").start()
    bp.seed(BRIGHTPEARL)
    amazon = SpApiSimulator(seller_id=SELLER, sqs_queue_url=aws.queue_url("NotificationsQueue"),
                            sqs_endpoint_url=aws.endpoint).start()
    amazon.seed(amazon_seed(CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN))
    aws.env.update({"BRIGHTPEARL_BASE_URL": bp.url, "SP_API_ENDPOINT": amazon.url, "AMAZON_SELLER_ID": SELLER,
                    "LWA_TOKEN_URL": f"{amazon.url}/auth/o2/token", "AMAZON_MARKETPLACE_IDS": f"{UK},{DE}",
                    # The functions' JSON logs stay visible from warnings up; their EMF metric lines
                    # (which CloudWatch would read) would only be noise here.
                    "POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_METRICS_DISABLED": "true"})
    aws.apply_env()
    tables = [v for k, v in aws.env.items() if k.endswith("_TABLE")]
    say(f"    moto server {aws.endpoint}: {len(tables)} tables, "
        f"{sum(1 for r in aws.template['Resources'].values() if r['Type'] == 'AWS::SQS::Queue')} queues, 2 secrets")
    say(f"    Brightpearl simulator {bp.url}: account 'acme', warehouses Main DC (2), Overflow (3), FBA (7)")
    say(f"    Amazon SP-API simulator {amazon.url}: seller {SELLER}, UK and DE")

    webhook_token = secrets.token_urlsafe(32)
    put_secret(aws, "BrightpearlSecret", {"auth": "private", "app_ref": "acme_connector",
                                          "account_token": "account-token", "webhook_token": webhook_token})
    put_secret(aws, "AmazonSecret", {"refresh_token": REFRESH_TOKEN, "lwa_app_id": CLIENT_ID,
                                     "lwa_client_secret": CLIENT_SECRET})
    api = LocalHttpApi().start()
    say(f"    API Gateway stand-in {api.url} (routes from template.yaml)")

    def operator(command: str, **fields: Any) -> dict[str, Any]:
        return dict(invoke("OperatorFunction", {"command": command, **fields}))

    def show(skus: list[str]) -> None:
        for sku in skus:
            li = amazon.world.listings[sku]
            qty = "(FBA: Amazon's)" if li.channel == "FBA" else li.quantity
            say(f"      {sku:<11} {qty}")

    step(2, "The operator sets up: warehouses for merchant-fulfilled stock, links, sync on")
    operator("set-settings", **{"global": {"mfn_warehouses": [2, 3]}})
    say("    settings: merchant-fulfilled quantity = on-hand in Main DC + Overflow")
    imported = operator("import-links", marketplaceId=UK, listings=[
        {"sku": s} for s in ("SHIRT-BL-M", "SHIRT-BL-L", "GIFT-SET", "SOCKS-GR", "NOT-IN-BRIGHTPEARL")] + [
        {"sku": "TEA-FBA", "channel": "FBA"}])
    say(f"    import-links (UK): linked {imported['linked']} by SKU, unmatched {imported['unmatched']}, "
        f"pushed {imported['pushed']}")
    say("    Amazon now shows:")
    show(["SHIRT-BL-M", "SHIRT-BL-L", "GIFT-SET", "SOCKS-GR", "TEA-FBA"])

    step(3, "Registering the on-hand webhook in Brightpearl (what an operator does after deploying)")
    from connector.adapters.brightpearl.factory import brightpearl_client
    from connector.config import BrightpearlEnv, load

    client = brightpearl_client(load(BrightpearlEnv))
    hook_id = client.post("integration-service/webhook", {
        "subscribeTo": "product.modified.on-hand-modified", "httpMethod": "POST",
        "uriTemplate": f"{api.url}/brightpearl/webhook/{webhook_token}",
        "bodyTemplate": ('{"accountCode":"${account-code}","resourceType":"${resource-type}",'
                         '"id":"${resource-id}","lifecycleEvent":"${lifecycle-event}",'
                         '"fullEvent":"${full-event}","raisedOn":"${raised-on}",'
                         '"brightpearlVersion":"${brightpearl-version}"}'),
        "contentType": "application/json", "idSetAccepted": True, "qualityOfService": 1})
    say(f"    webhook {hook_id} → {api.url}/brightpearl/webhook/<token>")

    step(4, "Stock moves in Brightpearl")
    client.post("warehouse-service/warehouse/2/stock-correction", {"corrections": [
        {"quantity": 24, "productId": 1008, "reason": "Purchase order received", "locationId": 2,
         "cost": {"currency": "GBP", "value": 8.5}}]})
    say("    +24 SHIRT-BL-L received into Main DC (a stock correction)")
    bp.adjust_on_hand(1011, 2, -26)
    say("    -26 SOCKS-GR sold from Main DC")
    bp.wait_webhooks_idle(10)
    for d in bp.webhook_deliveries():
        say(f"    Brightpearl → webhook: product ids {json.loads(d['body'])['id']:<6} HTTP {d['status']}")
    forged = invoke("BrightpearlWebhookFunction", {
        "version": "2.0", "routeKey": "POST /brightpearl/webhook/{token}", "rawPath": "/brightpearl/webhook/guess",
        "pathParameters": {"token": "guess"}, "body": "{}", "isBase64Encoded": False, "headers": {},
        "requestContext": {"http": {"method": "POST"}}})
    say(f"    a forged call without the secret token: HTTP {forged['statusCode']}, nothing queued")

    step(5, "The stock-change function takes the queued changes and updates Amazon")
    for result in pump(aws, "StockChangeFunction"):
        say(f"    batch handled, records returned to the queue: {len(result['batchItemFailures'])}")
    say("    Amazon now shows (SOCKS-GR 10 left → the gift set can be made 5 times):")
    show(["SHIRT-BL-M", "SHIRT-BL-L", "GIFT-SET", "SOCKS-GR", "TEA-FBA"])

    step(6, "Someone edits SHIRT-BL-M on Amazon by hand; the nightly reconciliation puts it right")
    amazon.world.listings["SHIRT-BL-M"].quantity = 99
    before = len(sent_emails(aws))
    started = invoke("NightlyReconciliationFunction", {"action": "start"})
    say(f"    02:00 — report requested: {started['requested']}")
    amazon.clock.advance(120)
    amazon.tick()
    pump(aws, "NotificationsFunction")
    say("    report ready → compared with what Amazon shows → correction pushed:")
    show(["SHIRT-BL-M"])
    for mail in sent_emails(aws)[before:]:
        say(f"    email to {', '.join(mail['to'])}: {mail['subject']}")

    bp_requests = len([e for e in bp.requests() if e.path.startswith("/public-api/")])
    throttled = len([e for e in bp.requests() if e.status == 503])
    sp_calls = len([e for e in amazon.requests() if not e.path.startswith("/_sim")])
    say(f"\nDone in {time.monotonic() - t0:.1f}s. Brightpearl requests: {bp_requests} (throttled {throttled}); "
        f"Amazon SP-API calls: {sp_calls}.")
    api.stop()
    bp.stop()
    amazon.stop()
    aws.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
