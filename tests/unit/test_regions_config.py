"""Several Amazon regions in one stack (issue 16 item 1): AMAZON_OTHER_REGIONS and the per-region settings
are parsed at cold start / when set, and anything unknown is refused by name."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from connector.config import AmazonEnv, ConfigError, amazon_regions, load
from connector.domain.region_settings import settings_for_region
from connector.domain.regions import REGION_FIELDS, REGION_MARKETPLACES, SP_API_ENDPOINTS, refresh_token_for
from connector.domain.settings import GlobalSettings

UK, DE, US, CA, JP = "A1F83G8C2ARO7P", "A1PA6795UKMFR9", "ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1VC38T7YXB528"
BASE = {"AMAZON_MARKETPLACE_IDS": f"{UK},{DE}", "AMAZON_SELLER_ID": "S1", "AMAZON_SECRET_NAME": "amazon",
        "SP_API_ENDPOINT": "https://sellingpartnerapi-eu.amazon.com"}


def env(other: object | None = None, **more: str) -> AmazonEnv:
    extra = {} if other is None else {"AMAZON_OTHER_REGIONS": other if isinstance(other, str) else json.dumps(other)}
    return load(AmazonEnv, {**BASE, **extra, **more})


def test_one_region_needs_nothing_new_and_is_the_home_region_as_configured():
    (home,) = amazon_regions(env())
    assert (home.code, home.marketplace_ids, home.seller_id, home.home) == ("eu", (UK, DE), "S1", True)
    assert home.job_prefix == ""  # the report jobs' keys are what they were before regions
    # Not checked against Amazon's table when alone: a stack that worked before keeps working.
    (alone,) = amazon_regions(load(AmazonEnv, {**BASE, "AMAZON_MARKETPLACE_IDS": "A"}))
    assert alone.marketplace_ids == ("A",)


def test_other_regions_get_their_endpoint_seller_and_marketplaces():
    home, na, fe = amazon_regions(env({"na": {"marketplace_ids": [US, CA], "seller_id": "S2"},
                                       "fe": {"marketplace_ids": [JP], "endpoint": "http://127.0.0.1:9/"}}))
    assert home.code == "eu" and home.home
    assert (na.code, na.marketplace_ids, na.seller_id, na.endpoint) == ("na", (US, CA), "S2", SP_API_ENDPOINTS["na"])
    assert (fe.seller_id, fe.endpoint, fe.job_prefix) == ("S1", "http://127.0.0.1:9", "fe#")
    assert na.lwa_token_url == home.lwa_token_url  # Login with Amazon is one service for every region


@pytest.mark.parametrize(("other", "named"), [
    ({"us": {"marketplace_ids": [US]}}, "unknown region 'us'"),
    ({"na": {"marketplace_ids": [US], "refresh_token": "Atzr|x"}}, "unknown field(s) 'refresh_token'"),
    ({"na": {"marketplace_ids": [UK]}}, "'A1F83G8C2ARO7P' is a marketplace of region 'eu', not of 'na'"),
    ({"na": {"marketplace_ids": ["NOPE"]}}, "'NOPE' is not an Amazon marketplace id"),
    ({"na": {"marketplace_ids": []}}, "AMAZON_OTHER_REGIONS.na.marketplace_ids"),
    ({"na": {}}, "AMAZON_OTHER_REGIONS.na.marketplace_ids"),
    ({"eu": {"marketplace_ids": [DE]}}, "'eu' is the stack's AMAZON_REGION"),
    ({"na": {"marketplace_ids": [US], "endpoint": "sellingpartnerapi-na.amazon.com"}}, "na.endpoint"),
    ({"na": ["ATVPDKIKX0DER"]}, "AMAZON_OTHER_REGIONS.na: a JSON object"),
    ("[1]", "must be a JSON object keyed by region"),
    ("{na:", "AMAZON_OTHER_REGIONS is not JSON"),
])
def test_a_bad_region_is_refused_at_cold_start_by_name(other, named):
    with pytest.raises(ConfigError) as err:
        env(other)
    assert named in str(err.value) and "AmazonEnv" in str(err.value)


def test_with_other_regions_the_home_marketplaces_must_be_the_home_regions():
    with pytest.raises(ConfigError, match="AMAZON_MARKETPLACE_IDS: 'ATVPDKIKX0DER' is a marketplace of region 'na'"):
        env({"fe": {"marketplace_ids": [JP]}}, AMAZON_MARKETPLACE_IDS=f"{UK},{US}")


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=20)
       .filter(lambda f: f not in REGION_FIELDS))
def test_any_unknown_field_is_named(field):
    with pytest.raises(ConfigError) as err:
        env({"na": {"marketplace_ids": [US], field: "x"}})
    assert repr(field) in str(err.value)


def test_a_refresh_token_per_region_or_one_for_all():
    one = {"refresh_token": "Atzr|all", "lwa_app_id": "a", "lwa_client_secret": "s"}
    assert refresh_token_for(one, "na") == "Atzr|all"
    per = {**one, "region_refresh_tokens": {"na": "Atzr|na"}}
    assert (refresh_token_for(per, "na"), refresh_token_for(per, "eu")) == ("Atzr|na", "Atzr|all")
    assert refresh_token_for({"region_refresh_tokens": {"na": "Atzr|na"}}, "fe") is None


def test_region_settings_lay_over_the_global_ones_and_refuse_unknowns_by_name():
    gs = GlobalSettings.model_validate({"mfn_warehouses": [2], "fba_warehouse_id": 7, "account_currency": "GBP",
                                        "regions": {"na": {"fba_warehouse_id": 8, "mfn_warehouses": [4],
                                                           "account_currency": "USD"}}})
    na, eu = settings_for_region(gs, "na"), settings_for_region(gs, "eu")
    assert (na.fba_warehouse_id, na.mfn_warehouses, na.account_currency) == (8, [4], "USD")
    assert (eu.fba_warehouse_id, eu.mfn_warehouses, eu.account_currency) == (7, [2], "GBP")
    assert na.inbound_source_warehouse_id is None and na.patch_threshold == gs.patch_threshold
    with pytest.raises(ValidationError, match="unknown region"):
        GlobalSettings.model_validate({"regions": {"us": {"fba_warehouse_id": 8}}})
    with pytest.raises(ValidationError, match=r"regions\.na\.fba_warehouse"):
        GlobalSettings.model_validate({"regions": {"na": {"fba_warehouse": 8}}})
    with pytest.raises(ValidationError, match=r"regions\.na\.fba_warehouse_id"):
        GlobalSettings.model_validate({"regions": {"na": {"fba_warehouse_id": 0}}})


def test_every_marketplace_belongs_to_exactly_one_region():
    seen = [m for mids in REGION_MARKETPLACES.values() for m in mids]
    assert len(seen) == len(set(seen))
