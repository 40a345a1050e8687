"""The connector's catalogue reads against the Brightpearl simulator when ids are unknown or deleted.

Evidence: real Brightpearl refuses a whole ID set with a 400 when one id in it is unknown (issue
"simulator fidelity", recorded traffic); a 404 occurs when nothing in the set exists. The catalogue
must isolate the bad ids, return the good ones, and spend few extra requests doing it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from connector.adapters.brightpearl.auth import PrivateAppAuth
from connector.adapters.brightpearl.catalog import (
    AVAILABILITY_IDS_PER_CALL,
    PRODUCT_IDS_PER_CALL,
    BrightpearlCatalog,
    iter_product_skus,
    search_rows,
)
from connector.adapters.brightpearl.client import BrightpearlClient, BrightpearlValidationError
from connector.domain.idsets import chunks
from simulators.brightpearl import BrightpearlSimulator
from tests.brightpearl import NoGovernor


@pytest.fixture(scope="module")
def sim() -> Iterator[BrightpearlSimulator]:
    s = BrightpearlSimulator(limit=1_000_000).start()
    yield s
    s.stop()


def catalog(sim: BrightpearlSimulator) -> BrightpearlCatalog:
    auth = PrivateAppAuth(app_ref="acme_connector", account_token="account-token")
    return BrightpearlCatalog(BrightpearlClient(base_url=sim.url, account="acme", auth=auth, governor=NoGovernor()))


def seed(sim: BrightpearlSimulator, ids: list[int], deleted: set[int]) -> None:
    sim.reset()
    sim.seed({"warehouses": [{"id": 2, "name": "Main DC"}],
              "products": [{"id": i, "sku": f"P/{i} & +é"} for i in ids],
              "stock": [{"productId": i, "warehouseId": 2, "onHand": i % 17} for i in ids]})
    if deleted:
        sim.delete_products(*sorted(deleted))


def bound(n_ids: int, n_bad: int, per_call: int) -> int:
    """Lower bound (one call per chunk) plus 2·log2(chunk) per bad id."""
    calls = math.ceil(n_ids / per_call)
    return calls + n_bad * 2 * math.ceil(math.log2(min(per_call, max(n_ids, 2))))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_availability_and_products_isolate_deleted_ids_within_the_bound(sim: BrightpearlSimulator,
                                                                         data: st.DataObject) -> None:
    ids = sorted(data.draw(st.sets(st.integers(1000, 1400), min_size=1, max_size=250)))
    deleted = data.draw(st.sets(st.sampled_from(ids), max_size=min(4, len(ids))))
    # Every ID set keeps one live product (a set where nothing exists is the 404 case, tested below).
    assume(all(set(c) - deleted for c in chunks(ids, AVAILABILITY_IDS_PER_CALL)))
    seed(sim, ids, deleted)
    good = set(ids) - deleted
    cat = catalog(sim)

    before = len(sim.requests(route="get-product-availability"))
    avail = cat.availability(ids)
    used = len(sim.requests(route="get-product-availability")) - before
    assert set(avail) == good
    assert all(avail[i]["warehouses"]["2"]["onHand"] == i % 17 for i in good)
    assert cat.missing == deleted
    assert used <= bound(len(ids), len(deleted), AVAILABILITY_IDS_PER_CALL)

    # A second read by the same catalogue does not ask for the known-missing ids again.
    again = len(sim.requests())
    assert set(cat.availability(ids)) == good
    assert len(sim.requests()) - again == math.ceil(len(good) / AVAILABILITY_IDS_PER_CALL)

    fresh = catalog(sim)
    before = len(sim.requests(route="get-product"))
    products = fresh.products(ids)
    used = len(sim.requests(route="get-product")) - before
    assert set(products) == good and fresh.missing == deleted
    assert used <= bound(len(ids), len(deleted), PRODUCT_IDS_PER_CALL)

    # The bundle look-up (404 = "in no bundle") isolates with product reads, then asks again.
    lookups = catalog(sim)
    before = len(sim.requests())
    assert lookups.bundles_containing(ids) == set() and lookups.missing == deleted
    chunks_n = math.ceil(len(ids) / PRODUCT_IDS_PER_CALL)
    assert len(sim.requests()) - before <= bound(len(ids), len(deleted), PRODUCT_IDS_PER_CALL) + chunks_n


def test_stock_inputs_and_bundle_lookup_survive_a_deleted_product(sim: BrightpearlSimulator) -> None:
    sim.reset()
    sim.seed({"warehouses": [{"id": 2, "name": "Main DC"}],
              "products": [{"id": 1, "sku": "A"}, {"id": 2, "sku": "B"}, {"id": 3, "sku": "C"},
                           {"id": 9, "sku": "KIT", "bundleComponents": [{"productId": 1, "productQuantity": 2}]}],
              "stock": [{"productId": p, "warehouseId": 2, "onHand": 10} for p in (1, 2, 3)]})
    sim.delete_products(2)
    cat = catalog(sim)
    assert cat.bundles_containing([1, 2, 3]) == {9}
    availability, compositions, known = cat.stock_inputs([1, 2, 3, 9])
    assert set(availability) == {1, 3} and set(compositions) == {9} and known == {1, 3, 9}
    assert cat.missing == {2}
    # Every product of a set deleted: 404, nothing returned, nothing raised; the product read marks them missing.
    sim.delete_products(3)
    cat = catalog(sim)
    assert cat.availability([2, 3]) == {} and cat.missing == set()
    assert cat.products([2, 3]) == {} and cat.missing == {2, 3}


def test_a_400_for_every_id_alone_is_an_error_not_a_catalogue_of_deleted_products() -> None:
    class Refusing:
        """Brightpearl refusing every read with a 400 (e.g. a broken request), whatever the ids."""

        def __init__(self) -> None:
            self.calls = 0

        def get(self, path: str, params: object = None) -> object:
            self.calls += 1
            raise BrightpearlValidationError("GET", path, 400, ["CMNC-400"], "refused")

    client = Refusing()
    cat = BrightpearlCatalog(client)  # type: ignore[arg-type]
    with pytest.raises(BrightpearlValidationError, match="not treating them all as deleted"):
        cat.availability([1, 2, 3, 4])
    assert cat.missing == set()
    assert BrightpearlCatalog(client).availability([7]) == {}  # a single id refused alone is that id  # type: ignore[arg-type]


def test_search_rows_read_both_reference_placements_and_empty_pages(sim: BrightpearlSimulator) -> None:
    sim.reset()
    sim.seed({"products": [{"id": i, "sku": f"S-{i}"} for i in range(1, 8)]})
    cat = catalog(sim)
    assert list(iter_product_skus(cat.client, page_size=3)) == [(i, f"S-{i}") for i in range(1, 8)]
    assert list(search_rows(cat.client, "product-service/product-search", {"SKU": "nope"})) == []

    class Canned:
        """Pages in the contract's shape: reference inside response, no lastResult on a page."""

        def __init__(self) -> None:
            self.pages = [
                {"results": [[1, "X"], [2, "Y"]], "reference": {"productCategoryMembership": {}},
                 "metaData": {"morePagesAvailable": True, "columns": [{"name": "productId"}, {"name": "SKU"}]}},
                {"results": [[3, "Z"]], "metaData": {"morePagesAvailable": False,
                                                     "columns": [{"name": "productId"}, {"name": "SKU"}]}}]
            self.asked: list[int] = []

        def get(self, path: str, params: dict[str, int]) -> dict[str, object]:
            self.asked.append(params["firstResult"])
            return self.pages.pop(0)

    canned = Canned()
    assert list(iter_product_skus(canned, page_size=2)) == [(1, "X"), (2, "Y"), (3, "Z")]  # type: ignore[arg-type]
    assert canned.asked == [1, 3]


def test_inbound_figures_survive_a_deleted_product(sim: BrightpearlSimulator) -> None:
    from connector.adapters.brightpearl.transfers import BrightpearlTransfers

    seed(sim, [11, 12, 13], {12})
    transfers = BrightpearlTransfers(catalog(sim).client)
    figures = transfers.figures([11, 12, 13], 2)
    assert figures[11]["onHand"] == 11 and figures[13]["onHand"] == 13
    assert figures[12] == {"onHand": 0, "inTransit": 0, "allocated": 0, "inStock": 0}
