"""Operator commands on fakes: links land in the links store, bad input is refused naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from connector.domain.settings import ChannelSettings, GlobalSettings
from connector.usecases.mfn_sync import MfnSync
from connector.usecases.operator import CommandError, Operator
from tests.fakes import FakeBrightpearl, FakeLinks, FakeListings, FakeSettings

UK = "A1F83G8C2ARO7P"


def operator(fba: Any = None) -> tuple[Operator, FakeLinks, FakeListings, FakeSettings, FakeBrightpearl]:
    bp = FakeBrightpearl(products={1: "TEA-GREEN", 2: "TEA/BLACK & CO"})
    bp.stock(1, 1, 12)
    bp.stock(1, 2, 5)
    links, listings = FakeLinks(), FakeListings({(UK, "TEA-GREEN"): 0, (UK, "TEA/BLACK & CO"): 0})
    settings = FakeSettings(GlobalSettings(mfn_warehouses=[1]), {UK: ChannelSettings()})
    sync = MfnSync(catalog=bp, links=links, settings=settings, listings=listings, marketplace_ids=[UK])

    def no_fba() -> Any:
        raise AssertionError("FBA reconciliation is built only for its commands")

    op = Operator(sync=sync, links=links, settings=settings, seller_id="SELLER", directory=bp,
                  fba_reconciliation=fba or no_fba)
    return op, links, listings, settings, bp


def test_connect_by_sku_links_the_product_with_that_sku_and_pushes_its_quantity():
    op, links, listings, _, _ = operator()
    out = op.run({"command": "connect", "marketplaceId": UK, "sku": "TEA/BLACK & CO"})
    assert out["productId"] == 2 and out["onAmazon"] is True
    link = links.get(UK, "TEA/BLACK & CO")
    assert link is not None and link.product_id == 2
    assert listings.quantities[(UK, "TEA/BLACK & CO")] == 5


def test_disconnect_removes_the_link_and_says_whether_there_was_one():
    op, links, *_ = operator()
    op.run({"command": "connect", "marketplaceId": UK, "sku": "TEA-GREEN"})
    assert op.run({"command": "disconnect", "marketplaceId": UK, "sku": "TEA-GREEN"})["disconnected"] is True
    assert op.run({"command": "disconnect", "marketplaceId": UK, "sku": "TEA-GREEN"})["disconnected"] is False
    assert links.get(UK, "TEA-GREEN") is None


def test_import_links_links_what_matches_and_names_what_does_not():
    op, links, *_ = operator()
    out = op.run({"command": "import-links", "marketplaceId": UK,
                  "listings": [{"sku": "TEA-GREEN"}, {"sku": "NO-SUCH"}]})
    assert out["linked"] == 1 and out["unmatched"] == ["NO-SUCH"]
    assert {link.sku for link in links.all()} == {"TEA-GREEN"}


def test_a_warehouse_brightpearl_does_not_have_is_refused_and_nothing_changes():
    op, _, _, settings, _ = operator()
    with pytest.raises(CommandError, match=r"global.mfn_warehouses: warehouse 99 does not exist"):
        op.run({"command": "set-settings", "global": {"mfn_warehouses": [1, 99]}})
    assert settings.global_settings().mfn_warehouses == [1]


def test_an_unknown_field_is_refused_by_name():
    op, *_ = operator()
    with pytest.raises(CommandError, match="dry_run"):
        op.run({"command": "connect", "marketplaceId": UK, "sku": "TEA-GREEN", "dry_run": True})


def test_set_settings_moving_warehouses_repushes_the_channel_at_once():
    op, _, listings, _, bp = operator()
    op.run({"command": "connect", "marketplaceId": UK, "sku": "TEA-GREEN"})
    bp.stock(7, 1, 30)
    out = op.run({"command": "set-settings", "global": {"mfn_warehouses": [1, 7]}})
    assert out["resync"]["marketplaces"] == [UK]
    assert listings.quantities[(UK, "TEA-GREEN")] == 42


def test_the_fba_reconciliation_is_built_on_its_first_command_only_and_once():
    built: list[int] = []

    class Recon:
        def start(self, *, email: bool, trigger: str) -> dict[str, Any]:
            return {"id": "r1", "trigger": trigger}

    def factory() -> Recon:
        built.append(1)
        return Recon()

    op, *_ = operator(fba=factory)
    op.run({"command": "get-settings"})
    assert built == []
    assert op.run({"command": "reconcile-fba"})["trigger"] == "operator"
    op.run({"command": "reconcile-fba"})
    assert built == [1]
