import pytest

from connector.config import AmazonEnv, BrightpearlEnv, ConfigError, WebhookEnv, load


def test_missing_and_malformed_variables_are_all_named():
    with pytest.raises(ConfigError) as err:
        load(WebhookEnv, {"BRIGHTPEARL_ACCOUNT": "has space", "STOCK_CHANGE_QUEUE_URL": "ftp://x"})
    text = str(err.value)
    assert "BRIGHTPEARL_ACCOUNT='has space'" in text
    assert "WEBHOOK_SECRET_NAME is not set" in text
    assert "STOCK_CHANGE_QUEUE_URL='ftp://x'" in text


def test_lists_and_defaults():
    env = load(AmazonEnv, {"AMAZON_MARKETPLACE_IDS": "A1F83G8C2ARO7P, A1PA6795UKMFR9",
                           "AMAZON_SELLER_ID": "S1", "AMAZON_SECRET_NAME": "amazon"})
    assert env.amazon_marketplace_ids == ["A1F83G8C2ARO7P", "A1PA6795UKMFR9"]
    assert env.amazon_region == "eu"
    with pytest.raises(ConfigError, match="AMAZON_REGION='us'"):
        load(AmazonEnv, {"AMAZON_MARKETPLACE_IDS": "A", "AMAZON_SELLER_ID": "S", "AMAZON_SECRET_NAME": "a",
                         "AMAZON_REGION": "us"})


def test_brightpearl_budget_must_be_positive():
    base = {"BRIGHTPEARL_ACCOUNT": "acme", "BRIGHTPEARL_BASE_URL": "https://euw1.brightpearlconnect.com",
            "BRIGHTPEARL_SECRET_NAME": "bp", "GOVERNOR_TABLE": "gov"}
    assert load(BrightpearlEnv, base).brightpearl_requests_per_window == 200
    with pytest.raises(ConfigError, match="BRIGHTPEARL_REQUESTS_PER_WINDOW"):
        load(BrightpearlEnv, {**base, "BRIGHTPEARL_REQUESTS_PER_WINDOW": "0"})
    with pytest.raises(ConfigError, match="BRIGHTPEARL_BASE_URL"):
        load(BrightpearlEnv, {**base, "BRIGHTPEARL_BASE_URL": "https://host/with/path"})


@pytest.mark.parametrize(("name", "value"), [("SP_API_ENDPOINT", "sellingpartnerapi-eu.amazon.com"),
                                             ("LWA_TOKEN_URL", "api.amazon.com/auth/o2/token"),
                                             ("LWA_TOKEN_URL", "https://api.amazon.com /auth")])
def test_amazon_endpoints_are_checked_at_cold_start(name, value):
    base = {"AMAZON_MARKETPLACE_IDS": "A", "AMAZON_SELLER_ID": "S", "AMAZON_SECRET_NAME": "a"}
    assert load(AmazonEnv, {**base, "SP_API_ENDPOINT": "http://127.0.0.1:8080",
                            "LWA_TOKEN_URL": "http://127.0.0.1:8080/auth/o2/token"})
    with pytest.raises(ConfigError, match=name):
        load(AmazonEnv, {**base, name: value})


def test_a_missing_table_variable_is_named_instead_of_a_table_called_unbound():
    from connector.adapters import store

    env = {m.Meta.env_var: f"t-{m.__name__}" for m in store.MODELS}
    del env["LISTINGS_TABLE"]
    with pytest.raises(ConfigError, match="LISTINGS_TABLE"):
        store.bind(env)
