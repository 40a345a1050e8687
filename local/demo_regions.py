"""`make demo`, step 11 (issue 16): a second Amazon region in the same stack. Amazon.com (NA) next to the
EU: its own SP-API simulator (own port, data and refresh token), its own Brightpearl warehouses, one
Brightpearl and one request budget. Every figure is read back from the simulators."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from local.stack import LocalStack

US = "ATVPDKIKX0DER"
UK = "A1F83G8C2ARO7P"
MAIN, OVERFLOW = 2, 3
US_DC, FBA_US = 12, 17
SHIRT, TEA = 1007, 1020
SHIPMENT = "FBA15DEMOUS1"


def regions_demo(stack: LocalStack, say: object, step: object) -> None:
    assert callable(say) and callable(step)
    bp = stack.bp
    step(11, "A second Amazon region: Amazon.com (NA) next to the EU, in the same stack")
    na = stack.add_region("na", (US,))
    say(f"    Amazon SP-API simulator for NA {na.url}: seller {na.seller_id}, US; its own refresh token "
        "(region_refresh_tokens in the Amazon secret), AMAZON_OTHER_REGIONS naming it")
    bp.seed({"warehouses": [{"id": US_DC, "name": "US DC", "defaultLocationId": 120, "quarantineLocationId": 129},
                            {"id": FBA_US, "name": "Amazon FBA US", "defaultLocationId": 170,
                             "quarantineLocationId": 179}],
             "stock": [{"productId": SHIRT, "warehouseId": US_DC, "onHand": 15},
                       {"productId": TEA, "warehouseId": US_DC, "onHand": 25}]})
    na.seed({"listings": {
        "SHIRT-BL-M": {"title": "Linen shirt blue M", "channel": "MFN", "quantity": 0, "marketplaces": [US]},
        "TEA-FBA": {"title": "Green tea", "channel": "FBA", "marketplaces": [US], "fba": {"SELLABLE": 0}}}})
    stack.operator("set-settings", **{"global": {"regions": {"na": {
        "mfn_warehouses": [US_DC], "fba_warehouse_id": FBA_US, "inbound_source_warehouse_id": US_DC}}}})
    say("    settings: regions.na = merchant-fulfilled from US DC (12), FBA warehouse Amazon FBA US (17), "
        "inbound shipments leave from US DC")
    stack.link([(US, "SHIRT-BL-M", SHIRT, "MFN"), (US, "TEA-FBA", TEA, "FBA")], replace=False)
    say("    linked on Amazon.com: SHIRT-BL-M (merchant-fulfilled), TEA-FBA (FBA)")

    bp.adjust_on_hand(SHIRT, MAIN, -2)
    assert bp.wait_webhooks_idle(10)
    stack.pump("StockChangeFunction")
    mails = len(stack.emails())
    say("    -2 SHIRT-BL-M sold from Main DC → one webhook → each region pushes its own marketplaces:")
    say(f"      .co.uk SHIRT-BL-M {stack.amazon.world.listings['SHIRT-BL-M'].quantity} (Main DC + Overflow, "
        "EU simulator)")
    say(f"      .com   SHIRT-BL-M {na.world.listings['SHIRT-BL-M'].quantity} (US DC, NA simulator)")
    eu_warnings = [m for m in stack.emails(mails) if "EU" in m["subject"]]
    say(f"    EU SKU rule: applied inside the EU only; warnings for the .com listing: {len(eu_warnings)}")

    fba_eu_before = bp.on_hand(TEA, 7)
    na.world_op("create_inbound_shipment", items={"TEA-FBA": 6}, shipment_id=SHIPMENT)
    stack.invoke("InboundShipmentsFunction", {})
    na.world_op("ship_inbound", shipment_id=SHIPMENT)
    stack.invoke("InboundShipmentsFunction", {})
    na.world_op("receive_inbound", shipment_id=SHIPMENT, items={"TEA-FBA": 6})
    na.world_op("close_inbound", shipment_id=SHIPMENT)
    stack.invoke("InboundShipmentsFunction", {})
    (transfer,) = [t for t in bp.world.transfers.values() if t.reference == f"AMZ-IN-{SHIPMENT}"]
    say(f"    NA inbound shipment {SHIPMENT} (TEA-FBA 6) → transfer #{transfer.id} '{transfer.reference}' "
        "US DC → Amazon FBA US")
    say(f"    received in full → Amazon FBA US TEA-FBA on hand {bp.on_hand(TEA, FBA_US)}; US DC TEA-FBA on hand "
        f"{bp.on_hand(TEA, US_DC)}; Amazon FBA UK TEA-FBA {bp.on_hand(TEA, 7)} (was {fba_eu_before}: untouched)")
    for mail in stack.emails(mails):
        say(f"    email: {mail['subject']}")
    calls = len([e for e in na.requests() if not e.path.startswith("/_sim")])
    say(f"    NA SP-API calls: {calls}, all at the NA endpoint; Brightpearl: the same account and budget")
