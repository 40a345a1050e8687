"""The EU SKU warning (usecases/eu_conflicts.py) through the MFN sync on fakes: a SKU linked in several EU
marketplaces whose settings give different quantities gets the lowest everywhere (Amazon keeps one quantity
per SKU across the EU), and the merchant is emailed once per distinct set of conflicts."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from connector.domain.settings import ChannelSettings, GlobalSettings
from connector.usecases.eu_conflicts import EmailConflictNotifier
from connector.usecases.mfn_sync import MfnSync
from tests.fakes import FakeBrightpearl, FakeLinks, FakeListings, FakeSettings, Outbox, once

DE, FR, IT = "A1PA6795UKMFR9", "A13V1IB3VIYZZH", "APJ6JRA9NG5V4"
SKU = "SOCKS/GR & CO+ß"


def world(stock: dict[int, int], warehouses: dict[str, list[int]]) -> tuple[MfnSync, FakeListings, Outbox,
                                                                              FakeSettings]:
    bp = FakeBrightpearl(products={1: SKU}, names={1: "Socks, green"},
                         warehouse_names={w: f"Warehouse {w}" for w in stock})
    for warehouse, units in stock.items():
        bp.stock(warehouse, 1, units)
    links = FakeLinks()
    for m in warehouses:
        links.connect(seller_id="S", marketplace_id=m, sku=SKU, product_id=1)
    listings = FakeListings({(m, SKU): 0 for m in warehouses})
    store = FakeSettings(GlobalSettings(mfn_warehouses=[1]),
                         {m: ChannelSettings(mfn_warehouses=w) for m, w in warehouses.items()})
    outbox = Outbox()
    sync = MfnSync(catalog=bp, links=links, settings=store, listings=listings, marketplace_ids=list(warehouses),
                   notifier=EmailConflictNotifier(once(outbox), store, links=links, names=bp))
    return sync, listings, outbox, store


def pushed(listings: FakeListings) -> set[int]:
    """What Amazon was told for the SKU (one quantity per SKU across the EU: a push to one marketplace is
    the SKU's quantity in all of them)."""
    return {u.quantity for u in listings.pushes}


def test_the_lowest_quantity_is_pushed_and_the_warning_goes_once_per_set_of_settings() -> None:
    sync, listings, outbox, store = world({1: 10, 2: 4}, {DE: [1], FR: [2]})
    sync.products_changed([1])
    assert pushed(listings) == {4}
    assert len(outbox.sent) == 1 and "1 SKU(s) fed from different settings" in outbox.sent[0].subject
    assert SKU in outbox.sent[0].text and "Socks, green" in outbox.sent[0].text

    sync.products_changed([1])  # the same conflict again: no second email
    assert len(outbox.sent) == 1

    store.save_channel(FR, ChannelSettings(mfn_warehouses=[1, 2]))  # FR now 14, DE 10: other settings
    listings.pushes.clear()
    sync.products_changed([1])
    assert pushed(listings) == {10} and len(outbox.sent) == 2


@settings(max_examples=40, deadline=None)
@given(units=st.lists(st.integers(0, 30), min_size=3, max_size=3),
       chosen=st.lists(st.sampled_from([1, 2, 3]), min_size=3, max_size=3))
def test_a_sku_gets_its_lowest_eu_quantity_and_a_warning_only_when_its_settings_differ(
        units: list[int], chosen: list[int]) -> None:
    """Each of DE, FR, IT reads one warehouse; the warning is about settings (they would give different
    quantities some day), not about today's figures agreeing."""
    stock = {1: units[0], 2: units[1], 3: units[2]}
    sync, listings, outbox, _ = world(stock, {DE: [chosen[0]], FR: [chosen[1]], IT: [chosen[2]]})
    sync.products_changed([1])
    assert pushed(listings) == {min(stock[w] for w in chosen)}
    assert len(outbox.sent) == (0 if len(set(chosen)) == 1 else 1)
    sync.products_changed([1])
    assert len(outbox.sent) == (0 if len(set(chosen)) == 1 else 1)
