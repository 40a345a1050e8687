import pytest

from connector.domain.quantities import (
    BufferRule,
    BundleCycleError,
    Composition,
    ListingTarget,
    apply_buffer,
    on_hand_over,
    resolve_eu_skus,
    sellable_quantity,
)

AVAIL = {"total": {"onHand": 53}, "warehouses": {"2": {"onHand": 48, "allocated": 12}, "3": {"onHand": 5}}}


@pytest.mark.parametrize(("warehouses", "expected"), [([2], 48), ([2, 3], 53), ([3, 9], 5), ([], 0), ([9], 0)])
def test_on_hand_sums_only_the_chosen_warehouses(warehouses, expected):
    assert on_hand_over(AVAIL, warehouses) == expected


def test_on_hand_is_never_negative_and_missing_entries_are_zero():
    assert on_hand_over({"warehouses": {"2": {"onHand": -4}}}, [2]) == 0
    assert on_hand_over(None, [2]) == 0
    assert on_hand_over({}, [2]) == 0


def test_bundle_is_limited_by_its_scarcest_component():
    comps = {13: Composition(13, ((7, 1), (11, 2)))}
    assert sellable_quantity(13, comps, {7: 48, 11: 30}) == 15
    assert sellable_quantity(13, comps, {7: 4, 11: 30}) == 4
    assert sellable_quantity(13, comps, {7: 4, 11: 1}) == 0
    assert sellable_quantity(13, comps, {7: 4}) == 0  # a component with no stock record


def test_nested_bundles_and_cycles():
    comps = {20: Composition(20, ((13, 2), (7, 1))), 13: Composition(13, ((7, 1), (11, 2)))}
    # bundle 13 can be made 15 times from (7: 48, 11: 30); bundle 20 needs two 13s: 7 of them.
    assert sellable_quantity(20, comps, {7: 48, 11: 30}) == 7
    cyclic = {1: Composition(1, ((2, 1),)), 2: Composition(2, ((1, 1),))}
    with pytest.raises(BundleCycleError, match="contains itself"):
        sellable_quantity(1, cyclic, {})


def test_plain_product_uses_its_own_on_hand():
    assert sellable_quantity(7, {}, {7: 12}) == 12
    assert sellable_quantity(7, {7: Composition(7)}, {7: -3}) == 0


@pytest.mark.parametrize(("quantity", "rule", "expected"), [
    (10, BufferRule(), 10),
    (10, BufferRule(keep_back=3), 7),
    (2, BufferRule(keep_back=3), 0),
    (10, BufferRule(percent=50), 5),
    (9, BufferRule(percent=50), 4),
    (10, BufferRule(max_quantity=4), 4),
    (10, BufferRule(keep_back=2, percent=50, max_quantity=3), 3),
    (10, BufferRule(keep_back=2, percent=50, max_quantity=9), 4),
])
def test_buffer_rules(quantity, rule, expected):
    assert apply_buffer(quantity, rule) == expected


def test_buffer_rule_validation():
    assert BufferRule().is_off
    with pytest.raises(ValueError, match="percent"):
        BufferRule(percent=120)
    with pytest.raises(ValueError, match="keep_back"):
        BufferRule(keep_back=-1)


def test_eu_sku_fed_from_different_settings_gets_the_lowest_value_and_a_conflict():
    uk = ListingTarget("UK#S1", "S1", "A1F83G8C2ARO7P", 12, "wh:2")
    de = ListingTarget("DE#S1", "S1", "A1PA6795UKMFR9", 20, "wh:2,3")
    us = ListingTarget("US#S1", "S1", "ATVPDKIKX0DER", 50, "wh:4")
    res = resolve_eu_skus([uk, de, us])
    assert res.quantities == {"UK#S1": 12, "DE#S1": 12, "US#S1": 50}
    assert len(res.conflicts) == 1
    c = res.conflicts[0]
    assert c.sku == "S1" and c.pushed == 12
    assert c.quantities == {"A1F83G8C2ARO7P": 12, "A1PA6795UKMFR9": 20}


def test_eu_sku_with_identical_settings_is_no_conflict():
    a = ListingTarget("UK#S2", "S2", "A1F83G8C2ARO7P", 5, "wh:2")
    b = ListingTarget("FR#S2", "S2", "A13V1IB3VIYZZH", 5, "wh:2")
    res = resolve_eu_skus([a, b])
    assert res.conflicts == []
    assert res.quantities == {"UK#S2": 5, "FR#S2": 5}


def test_eu_conflict_is_reported_even_when_todays_values_agree():
    a = ListingTarget("UK#S3", "S3", "A1F83G8C2ARO7P", 0, "wh:2")
    b = ListingTarget("DE#S3", "S3", "A1PA6795UKMFR9", 0, "wh:3")
    assert [c.sku for c in resolve_eu_skus([a, b]).conflicts] == ["S3"]
