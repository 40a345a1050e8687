"""FBA removal orders end to end on the local stack.

Amazon's simulator ships a return removal in two packages (a unit it cannot find is cancelled) and
disposes of a disposal order → RemovalsFunction requests the removal reports on its schedule, the
simulator finishes them → the Brightpearl simulator shows a transfer per package out of the FBA warehouse
into the removal warehouse's quarantine, the disposal reduced → the operator confirms the receipt
through the CLI (`connector --local removals receive`), one unit short → the units are on hand in the
removal warehouse and the short-arrival email is in SES. The ledger's report (its VendorReturns rows
for the same removals) and repeated schedules move nothing more.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from cli.main import cli
from connector.adapters.repositories import GlobalSettings, SettingsRepository
from connector.adapters.store import ReportJob, Setting, StockMovement
from simulators.spapi.demo import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, UK
from tests.e2e.report_flows import reports_stack

pytestmark = pytest.mark.e2e

MAIN, FBA, BACK = 2, 7, 9
TEA, MUG = 1020, 1021
TEA_SKU, MUG_SKU = "TEA/ü & +1", "MUG-FBA"

BP_SEED = {
    "warehouses": [{"id": MAIN, "name": "Main DC"}, {"id": FBA, "name": "Amazon FBA"},
                   {"id": BACK, "name": "Amazon removals"}],
    "products": [{"id": TEA, "sku": "TEA"}, {"id": MUG, "sku": "MUG"}],
    "stock": [{"productId": TEA, "warehouseId": FBA, "onHand": 50},
              {"productId": MUG, "warehouseId": FBA, "onHand": 20},
              {"productId": TEA, "warehouseId": BACK, "onHand": 0},
              {"productId": MUG, "warehouseId": BACK, "onHand": 0}],
}
AMAZON_SEED = {
    "credentials": {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "refresh_token": REFRESH_TOKEN},
    "listings": {TEA_SKU: {"channel": "FBA", "marketplaces": [UK], "fba": {"SELLABLE": 50}},
                 MUG_SKU: {"channel": "FBA", "marketplaces": [UK], "fba": {"SELLABLE": 20}}},
}


@pytest.fixture
def stack(local_aws):
    with reports_stack(local_aws, bp_seed=BP_SEED, amazon_seed=AMAZON_SEED, clear=(StockMovement, ReportJob, Setting),
                       links=[(UK, TEA_SKU, TEA, "FBA"), (UK, MUG_SKU, MUG, "FBA")]) as s:
        SettingsRepository().save_global(GlobalSettings(fba_warehouse_id=FBA, removal_warehouse_id=BACK))
        yield s


def removals_cycle(s, hours: float = 5) -> dict:
    """One schedule requests the removal reports; Amazon finishes them; the next schedule applies them."""
    s.amazon.clock.advance(hours * 3600)
    s.invoke("RemovalsFunction", {})
    s.amazon_finishes()
    return s.invoke("RemovalsFunction", {})


def snapshot(s) -> tuple:
    figures = tuple(tuple(sorted(s.bp.figures(p, w).items())) for p in (TEA, MUG) for w in (FBA, BACK))
    return figures, len(s.bp.requests(writes_only=True, ok_only=True))


def test_return_in_two_packages_and_a_disposal_move_stock_once_and_the_short_receipt_is_mailed(stack):
    s = stack
    op = s.amazon.world_op
    op("create_removal", items={TEA_SKU: 6, MUG_SKU: 2}, order_id="RMV-R1")
    op("ship_removal", order_id="RMV-R1", items={TEA_SKU: 3, MUG_SKU: 2}, tracking="1ZFIRST")
    out = removals_cycle(s)
    assert out["writes"] == {"stock-transfer": 1, "external-transfer": 1, "goods-out-shipped": 1}
    assert s.bp.on_hand(TEA, FBA) == 47 and s.bp.in_transit(TEA, BACK) == 3
    assert s.bp.on_hand(MUG, FBA) == 18 and s.bp.in_transit(MUG, BACK) == 2

    # The second package, a unit Amazon could not find, and a disposal order.
    op("ship_removal", order_id="RMV-R1", items={TEA_SKU: 2}, tracking="1ZSECOND", carrier="DPD")
    op("cancel_removal", order_id="RMV-R1", items={TEA_SKU: 1})
    op("create_removal", items={MUG_SKU: 3}, order_type="Disposal", order_id="RMV-D1")
    op("dispose_removal", order_id="RMV-D1", items={MUG_SKU: 3})
    removals_cycle(s)
    assert s.bp.on_hand(TEA, FBA) == 45 and s.bp.in_transit(TEA, BACK) == 5  # the cancelled unit stays
    assert s.bp.on_hand(MUG, FBA) == 15
    transfers = sorted(t.reference for t in s.bp.world.goods_out.transfers.values())
    assert len(transfers) == 2 and all(r.startswith("AMZ-RMV-RMV-R1-") for r in transfers)

    # The ledger reads the same removals (VendorReturns rows): its owner is the removal reports.
    s.report_cycle()
    assert s.bp.on_hand(TEA, FBA) == 45 and s.bp.on_hand(MUG, FBA) == 15

    # The operator counts what arrived: one TEA short.
    emails_before = len(s.emails())
    result = CliRunner().invoke(cli, ["--local", "--json", "removals", "receive", "RMV-R1", "--count",
                                      f"{TEA_SKU}=4", "--count", f"{MUG_SKU}=2"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["emails"] == 1
    assert s.bp.on_hand(TEA, BACK) == 4 and s.bp.in_transit(TEA, BACK) == 1
    assert s.bp.on_hand(MUG, BACK) == 2 and s.bp.in_transit(MUG, BACK) == 0
    (mail,) = s.emails(emails_before)
    assert "RMV-R1 arrived short: 1 unit(s) missing" in mail["subject"]
    assert TEA_SKU in mail["text"]

    # Confirming again is refused by name; later schedules, re-read reports and the ledger move nothing.
    again = CliRunner().invoke(cli, ["--local", "removals", "receive", "RMV-R1"], catch_exceptions=False)
    assert again.exit_code == 1 and "no shipped package waiting" in again.output
    before = snapshot(s)
    for _ in range(2):
        removals_cycle(s, hours=5)
        s.report_cycle()
    assert snapshot(s) == before
    shown = CliRunner().invoke(cli, ["--local", "removals", "show", "RMV-R1"], catch_exceptions=False)
    assert shown.exit_code == 0 and "1ZSECOND" in shown.output and "received" in shown.output
