"""`make demo`: the connector running on this machine against the simulators, narrating what it does.

What runs (all on 127.0.0.1): moto server with the stack's tables, queues and secrets built from
template.yaml; the Brightpearl simulator; an API Gateway stand-in in front of the webhook function.
The flow shown grows with each feature; today: Brightpearl on-hand changes → webhook → the stack's
webhook function → the stock-change queue, and the connector reading availability back through the
shared rate governor.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
from typing import Any

from local.apigw import LocalHttpApi
from local.aws import put_secret, start_local_aws


def say(text: str = "") -> None:
    print(text, flush=True)


def step(n: int, text: str) -> None:
    say(f"\n[{n}] {text}")


SEED: dict[str, Any] = {
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
    ],
    "stock": [
        {"productId": 1007, "warehouseId": 2, "onHand": 48},
        {"productId": 1008, "warehouseId": 2, "onHand": 12},
        {"productId": 1011, "warehouseId": 2, "onHand": 30},
        {"productId": 1011, "warehouseId": 3, "onHand": 6},
    ],
}


def main() -> int:
    from simulators.brightpearl import BrightpearlSimulator

    t0 = time.monotonic()
    say("Brightpearl ⇄ Amazon connector — local run (moto server + simulators, all on 127.0.0.1)")

    step(1, "Starting the AWS emulator and creating the stack's resources from template.yaml")
    aws = start_local_aws()
    bp = BrightpearlSimulator(account="acme").start()
    bp.seed(SEED)
    aws.parameters["BrightpearlBaseUrl"] = bp.url
    aws.env["BRIGHTPEARL_BASE_URL"] = bp.url
    aws.apply_env()
    # The functions' JSON logs stay visible (warnings and up); their EMF metric lines would only be noise here.
    os.environ.update(POWERTOOLS_LOG_LEVEL="WARNING", POWERTOOLS_METRICS_DISABLED="true")
    tables = [v for k, v in aws.env.items() if k.endswith("_TABLE")]
    say(f"    moto server at {aws.endpoint}: {len(tables)} tables, "
        f"{sum(1 for r in aws.template['Resources'].values() if r['Type'] == 'AWS::SQS::Queue')} queues, "
        f"2 secrets")
    say(f"    Brightpearl simulator at {bp.url} (account 'acme', 3 warehouses, 4 products incl. a bundle)")

    webhook_token = secrets.token_urlsafe(32)
    put_secret(aws, "BrightpearlSecret", {"auth": "private", "app_ref": "acme_connector",
                                          "account_token": "account-token", "webhook_token": webhook_token})
    api = LocalHttpApi().start()
    say(f"    API Gateway stand-in at {api.url} (routes from template.yaml)")

    from connector.adapters.brightpearl.factory import brightpearl_client
    from connector.config import BrightpearlEnv, load

    client = brightpearl_client(load(BrightpearlEnv))

    step(2, "Registering the on-hand webhook in Brightpearl, as an operator would after deploying")
    hook_id = client.post("integration-service/webhook", {
        "subscribeTo": "product.modified.on-hand-modified", "httpMethod": "POST",
        "uriTemplate": f"{api.url}/brightpearl/webhook/{webhook_token}",
        "bodyTemplate": ('{"accountCode":"${account-code}","resourceType":"${resource-type}",'
                         '"id":"${resource-id}","lifecycleEvent":"${lifecycle-event}",'
                         '"fullEvent":"${full-event}","raisedOn":"${raised-on}",'
                         '"brightpearlVersion":"${brightpearl-version}"}'),
        "contentType": "application/json", "idSetAccepted": True, "qualityOfService": 1}, idempotent=False)
    say(f"    webhook {hook_id} → {api.url}/brightpearl/webhook/<token>")

    step(3, "Stock moves in Brightpearl: a stock correction and a sale")
    client.post("warehouse-service/warehouse/2/stock-correction", {"corrections": [
        {"quantity": 24, "productId": 1008, "reason": "Purchase order received", "locationId": 2,
         "cost": {"currency": "GBP", "value": 8.5}}]})
    say("    +24 SHIRT-BL-L into Main DC (stock correction through the connector's client)")
    bp.adjust_on_hand(1011, 2, -4)
    say("    -4 SOCKS-GR in Main DC (a sale shipped in Brightpearl)")
    bp.wait_webhooks_idle(10)
    for d in bp.webhook_deliveries():
        say(f"    Brightpearl → webhook: ids {json.loads(d['body'])['id']:<10} HTTP {d['status']}")

    step(4, "A forged webhook without the secret token is refused")
    import requests

    forged = requests.post(f"{api.url}/brightpearl/webhook/guess", json={"accountCode": "acme"}, timeout=10)
    say(f"    HTTP {forged.status_code}: {forged.json()['message']}")

    step(5, "What reached the stock-change queue")
    sqs = aws.client("sqs")
    changed: set[int] = set()
    from connector.domain.idsets import parse_id_set

    while True:
        msgs = sqs.receive_message(QueueUrl=aws.queue_url("StockChangeQueue"), MaxNumberOfMessages=10)
        if not msgs.get("Messages"):
            break
        for m in msgs["Messages"]:
            body = json.loads(m["Body"])
            changed.update(parse_id_set(body["idSet"]))
            say(f"    message {m['MessageId'][:8]}: {body['fullEvent']} products {body['idSet']}")
            sqs.delete_message(QueueUrl=aws.queue_url("StockChangeQueue"), ReceiptHandle=m["ReceiptHandle"])

    step(6, "The connector reads current availability for those products (one ID-set call, shared budget)")
    from connector.domain.idsets import format_id_set

    avail = client.get(f"warehouse-service/product-availability/{format_id_set(changed)}")
    say(f"    {'product':<8} {'warehouse':<10} {'onHand':>6}")
    for pid, data in sorted(avail.items()):
        for wid, figures in sorted(data.get("warehouses", {}).items()):
            say(f"    {pid:<8} {wid:<10} {figures['onHand']:>6}")

    gov: Any = client.governor
    say(f"\nDone in {time.monotonic() - t0:.1f}s. Brightpearl requests: {client.stats['requests']}, "
        f"throttled: {client.stats['throttled']}, governor tokens taken: {gov.stats['acquired']}.")
    say("Next in the connector's roadmap (see README): pushing these quantities to Amazon listings, "
        "FBA inbound shipments, returns and stock movements, FBA reconciliation.")
    api.stop()
    bp.stop()
    aws.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
