"""`make demo`: the connector running on this machine against the simulators, narrating what it does.

What runs (all on 127.0.0.1): moto server with the stack's tables, queues and secrets built from
template.yaml; the Brightpearl and Amazon SP-API simulators; an API Gateway stand-in in front of the
webhook function (all started by ``local.stack``). Handlers run in this process exactly as Lambda
would run them, and queued work is delivered to them the way SQS event sources do. Every figure
printed is read back from where it landed: the simulators' state and the SES mailbox.

The story: merchant-fulfilled quantities (links, webhook → queue → Amazon, nightly correction), then
FBA (an inbound shipment as a Brightpearl transfer, Amazon's returns / losses / finds / replacements
through reports, and the FBA reconciliation with its approval).
"""

from __future__ import annotations

import json
import logging
import secrets
import sys
import time
from typing import Any

from local.stack import QUIET, SELLER, LocalStack, start_stack

UK = "A1F83G8C2ARO7P"
DE = "A1PA6795UKMFR9"
MAIN, OVERFLOW, FBA = 2, 3, 7
TEA, MUG = 1020, 1021
ORDER = "202-1111111-1111111"  # an Amazon order of two TEA-FBA, imported into Brightpearl as order 1201
SHIPMENT = "FBA15DEMO01"


def say(text: str = "") -> None:
    print(text, flush=True)


def step(n: int, text: str) -> None:
    say(f"\n[{n}] {text}")


BRIGHTPEARL: dict[str, Any] = {
    "warehouses": [
        {"id": MAIN, "name": "Main DC", "defaultLocationId": 2, "quarantineLocationId": 9},
        {"id": OVERFLOW, "name": "Overflow", "defaultLocationId": 30, "quarantineLocationId": 39},
        {"id": FBA, "name": "Amazon FBA UK", "defaultLocationId": 70, "quarantineLocationId": 79},
    ],
    "products": [
        {"id": 1007, "sku": "SHIRT-BL-M", "name": "Linen shirt blue M", "productGroupId": 212,
         "options": [{"optionId": 1, "optionName": "Size", "optionValueId": 3, "optionValue": "M"}]},
        {"id": 1008, "sku": "SHIRT-BL-L", "name": "Linen shirt blue L", "productGroupId": 212,
         "options": [{"optionId": 1, "optionName": "Size", "optionValueId": 4, "optionValue": "L"}]},
        {"id": 1011, "sku": "SOCKS-GR", "name": "Wool socks grey"},
        {"id": 1013, "sku": "GIFT-SET", "name": "Shirt and socks gift set",
         "bundleComponents": [{"productId": 1007, "productQuantity": 1}, {"productId": 1011, "productQuantity": 2}]},
        {"id": TEA, "sku": "TEA-FBA", "name": "Green tea (FBA)"},
        {"id": MUG, "sku": "MUG-FBA", "name": "Tea mug (FBA)"},
    ],
    "stock": [{"productId": pid, "warehouseId": wid, "onHand": qty} for pid, wid, qty in (
        (1007, MAIN, 40), (1007, OVERFLOW, 8), (1008, MAIN, 12), (1011, MAIN, 30), (1011, OVERFLOW, 6),
        (TEA, FBA, 50), (TEA, MAIN, 60), (MUG, FBA, 12), (MUG, MAIN, 30))],
    "orders": [
        {"id": 1201, "orderTypeCode": "SO", "externalRef": ORDER, "contactId": 200, "warehouseId": FBA,
         "channelId": 3, "installedIntegrationInstanceId": 13, "currency": "GBP",
         "rows": [{"productId": TEA, "quantity": 2, "net": 12.0, "tax": 2.4, "itemCost": 2.5, "taxCode": "T20",
                   "nominalCode": "4000"}]},
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
            # FBA: Amazon holds what the Brightpearl FBA warehouse mirrors (50 and 12 units).
            "TEA-FBA": {"title": "Green tea", "channel": "FBA", "marketplaces": [UK], "fba": {"SELLABLE": 50}},
            "MUG-FBA": {"title": "Tea mug", "channel": "FBA", "marketplaces": [UK], "fba": {"SELLABLE": 12}},
        },
    }


def main(argv: list[str] | None = None) -> int:
    """The demo. ``--pause-for-review``: wait (for a line on stdin) once the reconciliation email's approval
    link is printed, before the operator approves it — a person or the browser test clicks Apply on it."""
    pause = "--pause-for-review" in (argv or [])
    import warnings

    warnings.filterwarnings("ignore", message="No application metrics to publish")
    from simulators.spapi.demo import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN

    t0 = time.monotonic()
    say("Brightpearl ⇄ Amazon connector — local run (moto server + simulators, all on 127.0.0.1)")

    step(1, "Starting the AWS emulator (resources from template.yaml) and the two platform simulators")
    # The movements' clock follows Amazon's simulated one, so report windows line up when time is advanced.
    stack = start_stack(marketplaces=(UK, DE), api=True, movements_clock=True,
                        webhook_token=secrets.token_urlsafe(32), env=QUIET)
    aws, bp, amazon, api = stack.aws, stack.bp, stack.amazon, stack.api
    assert api is not None
    bp.seed(BRIGHTPEARL)
    amazon.seed(amazon_seed(CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN))
    tables = [v for k, v in aws.env.items() if k.endswith("_TABLE")]
    say(f"    moto server {aws.endpoint}: {len(tables)} tables, "
        f"{sum(1 for r in aws.template['Resources'].values() if r['Type'] == 'AWS::SQS::Queue')} queues, 2 secrets")
    say(f"    Brightpearl simulator {bp.url}: account 'acme', warehouses Main DC (2), Overflow (3), FBA (7)")
    say(f"    Amazon SP-API simulator {amazon.url}: seller {SELLER}, UK and DE")
    say(f"    API Gateway stand-in {api.url} (routes from template.yaml)")

    def show(skus: list[str]) -> None:
        for sku in skus:
            li = amazon.world.listings[sku]
            qty = "(FBA: Amazon's)" if li.channel == "FBA" else li.quantity
            say(f"      {sku:<11} {qty}")

    step(2, "The operator sets up: warehouses for merchant-fulfilled stock, links, sync on")
    stack.operator("set-settings", **{"global": {"mfn_warehouses": [MAIN, OVERFLOW]}})
    say("    settings: merchant-fulfilled quantity = on-hand in Main DC + Overflow")
    imported = stack.operator("import-links", marketplaceId=UK, listings=[
        {"sku": s} for s in ("SHIRT-BL-M", "SHIRT-BL-L", "GIFT-SET", "SOCKS-GR", "NOT-IN-BRIGHTPEARL")] + [
        {"sku": "TEA-FBA", "channel": "FBA"}, {"sku": "MUG-FBA", "channel": "FBA"}])
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
        "uriTemplate": f"{api.url}/brightpearl/webhook/{stack.webhook_token}",
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
    bp.adjust_on_hand(1011, MAIN, -26)
    say("    -26 SOCKS-GR sold from Main DC")
    bp.wait_webhooks_idle(10)
    for d in bp.webhook_deliveries():
        say(f"    Brightpearl → webhook: product ids {json.loads(d['body'])['id']:<6} HTTP {d['status']}")
    # The function logs the rejection as a warning; the line below tells it without the JSON.
    connector_log = logging.getLogger("brightpearl-amazon-connector")
    connector_log.disabled = True
    forged = stack.invoke("BrightpearlWebhookFunction", {
        "version": "2.0", "routeKey": "POST /brightpearl/webhook/{token}", "rawPath": "/brightpearl/webhook/guess",
        "pathParameters": {"token": "guess"}, "body": "{}", "isBase64Encoded": False, "headers": {},
        "requestContext": {"http": {"method": "POST"}}})
    connector_log.disabled = False
    say(f"    a forged call without the secret token: HTTP {forged['statusCode']}, nothing queued")

    step(5, "The stock-change function takes the queued changes and updates Amazon")
    for result in stack.pump("StockChangeFunction"):
        say(f"    batch handled, records returned to the queue: {len(result['batchItemFailures'])}")
    say("    Amazon now shows (SOCKS-GR 10 left → the gift set can be made 5 times):")
    show(["SHIRT-BL-M", "SHIRT-BL-L", "GIFT-SET", "SOCKS-GR", "TEA-FBA"])

    step(6, "Someone edits SHIRT-BL-M on Amazon by hand; the nightly reconciliation puts it right")
    amazon.world.listings["SHIRT-BL-M"].quantity = 99
    before = len(stack.emails())
    started = stack.invoke("NightlyReconciliationFunction", {"action": "start"})
    say(f"    02:00 — report requested: {started['requested']}")
    stack.amazon_finishes()
    say("    report ready → compared with what Amazon shows → correction pushed:")
    show(["SHIRT-BL-M"])
    for mail in stack.emails(before):
        say(f"    email to {', '.join(mail['to'])}: {mail['subject']}")

    fba_demo(stack, pause_for_review=pause)
    shadow_demo(stack)

    bp_requests = len([e for e in bp.requests() if e.path.startswith("/public-api/")])
    throttled = len([e for e in bp.requests() if e.status == 503])
    sp_calls = len([e for e in amazon.requests() if not e.path.startswith("/_sim")])
    # Issue 16: a second region, after the figures above were taken (they stay the one-region story's).
    from local.demo_regions import regions_demo

    regions_demo(stack, say, step)
    say(f"\nDone in {time.monotonic() - t0:.1f}s. Brightpearl requests: {bp_requests} (throttled {throttled}); "
        f"Amazon SP-API calls: {sp_calls}.")
    stack.stop()
    return 0


def fba_demo(stack: LocalStack, *, pause_for_review: bool = False) -> None:
    """Steps 7-9: what Amazon's fulfilment centres do, mirrored in the Brightpearl FBA warehouse."""
    bp, amazon = stack.bp, stack.amazon

    def fba_stock(label: str = "Brightpearl FBA warehouse") -> None:
        figures = ", ".join(f"{sku} {bp.on_hand(pid, FBA)}" for sku, pid in (("TEA-FBA", TEA), ("MUG-FBA", MUG)))
        say(f"    {label}: {figures}")

    def inbound_run() -> None:
        stack.invoke("InboundShipmentsFunction", {})

    def new_emails(since: int) -> int:
        mails = stack.emails(since)
        for mail in mails:
            say(f"    email: {mail['subject']}")
        return since + len(mails)

    step(7, "FBA inbound shipment: Amazon's shipment becomes a Brightpearl transfer, released as Amazon receives")
    stack.operator("set-settings", **{"global": {"fba_warehouse_id": FBA, "inbound_source_warehouse_id": MAIN,
                                                 "restock_returns": True}})
    say("    settings: FBA warehouse Amazon FBA UK (7), shipments leave from Main DC (2), returns restocked")
    mails = len(stack.emails())
    amazon.world_op("create_inbound_shipment", items={"TEA-FBA": 20, "MUG-FBA": 10}, shipment_id=SHIPMENT)
    inbound_run()
    (transfer,) = bp.world.transfers.values()
    note = bp.world.gons[transfer.goods_out_note_id]
    lines = ", ".join(f"{bp.world.products[a.product_id].sku} {a.quantity}" for a in note.lines)
    say(f"    created on Amazon ({SHIPMENT}: TEA-FBA 20, MUG-FBA 10) → InboundShipmentsFunction →")
    say(f"    Brightpearl transfer #{transfer.id} '{transfer.reference}' Main DC → Amazon FBA UK: {lines}")
    say(f"    Main DC TEA-FBA: on hand {bp.on_hand(TEA, MAIN)}, allocated {bp.allocated(TEA, MAIN)}")
    amazon.world_op("ship_inbound", shipment_id=SHIPMENT)
    inbound_run()
    say(f"    shipped → Main DC TEA-FBA in stock {bp.figures(TEA, MAIN)['inStock']}; waiting in FBA quarantine: "
        f"TEA-FBA {bp.in_transit(TEA, FBA)}, MUG-FBA {bp.in_transit(MUG, FBA)}")
    amazon.world_op("receive_inbound", shipment_id=SHIPMENT, items={"TEA-FBA": 12})
    inbound_run()
    say(f"    Amazon received 12 TEA-FBA → released: FBA TEA-FBA on hand {bp.on_hand(TEA, FBA)}, "
        f"still in quarantine {bp.in_transit(TEA, FBA)}")
    mails = new_emails(mails)
    amazon.world_op("receive_inbound", shipment_id=SHIPMENT, items={"TEA-FBA": 8, "MUG-FBA": 12})
    amazon.world_op("close_inbound", shipment_id=SHIPMENT)
    inbound_run()
    say("    the rest received (MUG-FBA 12 of 10: 2 over) and the shipment closed →")
    say(f"    FBA on hand TEA-FBA {bp.on_hand(TEA, FBA)}, MUG-FBA {bp.on_hand(MUG, FBA)}; "
        f"in quarantine TEA-FBA {bp.in_transit(TEA, FBA)}, MUG-FBA {bp.in_transit(MUG, FBA)}")
    new_emails(mails)

    step(8, "Amazon moves FBA stock: a return, a lost and a found unit, a replacement — read from its reports")
    amazon.world_op("customer_return", sku="TEA-FBA", quantity=1, order_id=ORDER)
    # Amazon refunds the buyer (Finances): the unit's price and tax, less a £1.00 restocking fee.
    refund = amazon.world_op("refund", order_id=ORDER, items=[{"sku": "TEA-FBA", "quantity": 1, "charges": {
        "Principal": "-6.00", "Tax": "-1.20", "RestockingFee": "1.00"}}])
    amazon.world_op("lose", sku="MUG-FBA", quantity=1)
    amazon.world_op("find", sku="TEA-FBA", quantity=1)
    amazon.world_op("replacement", sku="TEA-FBA", quantity=1, original_order_id=ORDER)
    say(f"    at Amazon: TEA-FBA returned (order {ORDER}) and refunded £6.00 + £1.20 tax less a £1.00 restocking "
        f"fee, 1 MUG-FBA lost, 1 TEA-FBA found, 1 TEA-FBA replaced")
    fba_stock("Brightpearl FBA warehouse before")
    amazon.clock.advance(5 * 3600)  # the reports are due every 4 hours
    requested = stack.invoke("ReportRequestFunction", {})
    say(f"    hourly schedule → ReportRequestFunction: {len(requested.get('requested') or [])} reports requested")
    stack.amazon_finishes()
    say("    Amazon finishes them → REPORT_PROCESSING_FINISHED → queue → NotificationsFunction applies them:")
    fba_stock("Brightpearl FBA warehouse after ")
    for credit in (o for o in bp.world.orders.values() if o.order_type_code == "SC"):
        rows = ", ".join(f"{r.quantity} x {r.sku or r.name} £{r.net:.2f} (nominal {r.nominal_code})"
                         for r in credit.rows.values())
        restocked = sum(m["quantity"] for g in bp.world.goods_in_notes.values() if g.order_id == credit.id
                        for m in g.goods_moved)
        say(f"    sales credit #{credit.id} '{credit.external_ref}' (Amazon refund "
            f"{refund['ShipmentItemAdjustmentList'][0]['OrderAdjustmentItemId']}) on order "
            f"#{credit.parent_order_id}: {rows}; restocked into FBA by goods-in: {restocked}")
    explained = stack.invoke("ReportRequestFunction", {"action": "explain", "sku": "TEA-FBA"})["movements"]
    say("    explain TEA-FBA (every movement of the SKU, and why):")
    for m in explained:
        why = str(m.get("why") or "")
        say(f"      {m['kind']:<15} {m['quantity']:>+3}  {m['status']:<8} {why[:80]}{'…' if len(why) > 80 else ''}")

    step(9, "FBA reconciliation: Amazon's sellable units against the Brightpearl FBA warehouse")
    tea_amazon = amazon.world.fba["TEA-FBA"].on_hand["SELLABLE"]
    amazon.world_op("set_fba_stock", sku="TEA-FBA", spec={"SELLABLE": tea_amazon + 2})
    bp.adjust_on_hand(MUG, FBA, -3)
    say("    drift: Amazon counts 2 more TEA-FBA (no event), someone takes 3 MUG-FBA off in Brightpearl by hand")
    # In flight, not drift: a second shipment Amazon has received that the inbound function has not released yet.
    amazon.world_op("create_inbound_shipment", items={"MUG-FBA": 5}, shipment_id="FBA15DEMO02")
    inbound_run()
    amazon.world_op("ship_inbound", shipment_id="FBA15DEMO02")
    inbound_run()
    amazon.world_op("receive_inbound", shipment_id="FBA15DEMO02", items={"MUG-FBA": 5})
    say("    in flight: shipment FBA15DEMO02 (5 MUG-FBA) received by Amazon, not yet released in Brightpearl")
    mails = len(stack.emails())
    recon = stack.operator("reconcile-fba")
    rid = recon["id"]
    shown = stack.operator("show-reconciliation", id=rid)["lines"]
    say(f"    reconcile-fba → reconciliation {rid}:")
    for line in sorted(shown, key=lambda ln: ln["sku"]):
        why = ", ".join(f"{e['quantity']:+d} {e['kind']}" for e in line.get("explained") or []) or "nothing"
        say(f"      {line['sku']:<8} Amazon {line['amazon']}, Brightpearl {line['brightpearl']}: difference "
            f"{line['difference']:+d}, explained {why}, suggested correction {line['suggested']:+d}")
    for mail in stack.emails(mails):
        if rid in mail["subject"]:
            say(f"    email: {mail['subject']} (attached: {', '.join(mail['attachments'])})")
            _review_page(mail["text"])
            if pause_for_review:
                fba_stock("Brightpearl FBA warehouse before the review")
                say("    paused for the review: open the link, apply, then press Enter")
                sys.stdout.flush()
                sys.stdin.readline()
    approved = stack.operator("approve-reconciliation", id=rid)["statuses"]
    say(f"    approve-reconciliation: {_counts(approved)}")
    fba_stock()
    again = stack.operator("approve-reconciliation", id=rid)["statuses"]
    say(f"    approve-reconciliation again: {_counts(again)}")
    fba_stock()
    inbound_run()
    say("    the next inbound run releases the 5 MUG-FBA received on FBA15DEMO02:")
    fba_stock()
    tea_now = amazon.world.fba["TEA-FBA"].on_hand["SELLABLE"]
    mug_now = amazon.world.fba["MUG-FBA"].on_hand["SELLABLE"]
    say(f"    Amazon sellable: TEA-FBA {tea_now}, MUG-FBA {mug_now}")


def shadow_demo(stack: LocalStack) -> None:
    """Issue 16 item 4: a feature onboarded in shadow mode (docs/shadow-mode.md): it computes everything and
    writes nothing; the summary says what it would do; switching it off applies today's plan."""
    bp, amazon = stack.bp, stack.amazon
    skus = ["SHIRT-BL-M", "GIFT-SET", "SOCKS-GR"]

    def amazon_shows(label: str) -> None:
        say(f"    {label}: " + ", ".join(f"{s} {amazon.world.listings[s].quantity}" for s in skus))

    def stock_moves(moves: list[tuple[int, int, int]], text: str) -> None:
        for product_id, warehouse_id, delta in moves:
            bp.adjust_on_hand(product_id, warehouse_id, delta)
        bp.wait_webhooks_idle(10)
        say(f"    {text}")
        stack.pump("StockChangeFunction")

    step(10, "Onboarding in shadow mode: the MFN push computes everything, writes nothing, then goes live")
    on = stack.operator("shadow-on", feature="mfn")
    say(f"    connector shadow on mfn → in shadow: {', '.join(on['features'])}")
    stock_moves([(1011, MAIN, -4), (1011, OVERFLOW, -6)], "-10 SOCKS-GR sold (the gift set can no longer be made)")
    stock_moves([(1007, MAIN, -8)], "-8 SHIRT-BL-M sold from Main DC")
    amazon_shows("Amazon still shows (nothing written)")
    before = len(stack.emails())
    report = stack.operator("shadow-report", feature="mfn", email=True)["features"]["mfn"]
    say(f"    connector shadow report mfn: {report['headline']}")
    for r in report["rows"]:
        say(f"      {r['sku']:<11} now {r['now']}, would be {r['wouldBe']}")
    for mail in stack.emails(before):
        say(f"    email: {mail['subject']}")
    stock_moves([(1007, MAIN, 3)], "+3 SHIRT-BL-M returned to Main DC while still in shadow")
    off = stack.operator("shadow-off", feature="mfn")
    say(f"    connector shadow off mfn → live; pushed {off['applied']['pushed']} listing(s) at today's quantities, "
        f"plan entries cleared: {off['cleared']}")
    amazon_shows("Amazon now shows")


def _review_page(text: str) -> None:
    """The email's signed link to the review page, opened through the API stand-in as a browser would (GET:
    shows, applies nothing; tests/browser clicks Apply on it)."""
    import re
    import urllib.request

    found = re.search(r"Review and apply the corrections: (\S+)", text)
    if not found:
        say("    review page: no link in the email")
        return
    say(f"    approval link (open it in a browser to review and apply): {found.group(1)}")
    with urllib.request.urlopen(found.group(1), timeout=30) as resp:  # noqa: S310 - loopback
        page = resp.read().decode("utf-8")
        status = resp.status
    boxes = len(re.findall(r'<input type="checkbox" name="sku"', page))
    say(f"    review page (signed link, {found.group(1).split('?')[0]}): HTTP {status}, "
        f"{boxes} correction(s) to choose from; opening it applied nothing")


def _counts(statuses: dict[str, int]) -> str:
    return ", ".join(f"{n} {status.replace('_', ' ')}" for status, n in sorted(statuses.items()))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
