"""The settings store on moto: a save is one write that keeps what it does not set; channel rules are one read."""

from collections.abc import Iterator
from typing import Any

import botocore.client
import pytest
from pynamodb.exceptions import PutError

from connector.adapters.repositories import SettingsRepository
from connector.adapters.store import Setting
from connector.domain.settings import ChannelSettings, GlobalSettings, channel_rules


@pytest.fixture
def dynamodb_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    seen: list[str] = []
    original = botocore.client.BaseClient._make_api_call

    def counting(self: Any, operation: str, params: Any) -> Any:
        if self.meta.service_model.service_name == "dynamodb":
            seen.append(operation)
        return original(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", counting)
    yield seen


def test_a_save_is_one_write_and_keeps_the_lease_ttl_and_version_count(local_aws, dynamodb_calls):
    repo = SettingsRepository()
    repo.set_value("mail#k", {"a": 1})
    leased = Setting.get("mail#k")
    leased.lease_until = 123
    leased.save()  # conditional on the version read: version 2
    dynamodb_calls.clear()

    repo.set_value("mail#k", {"a": 2})

    assert dynamodb_calls == ["UpdateItem"]
    item = Setting.get("mail#k")
    assert (item.value, item.lease_until, item.version) == ({"a": 2}, 123, 3)
    # A writer holding the version before this save now loses its conditional save instead of undoing it.
    with pytest.raises(PutError):
        leased.save()
    assert Setting.get("mail#k").value == {"a": 2}


def test_channel_rules_are_read_in_one_call_with_defaults_for_missing_items(local_aws, dynamodb_calls):
    repo = SettingsRepository()
    repo.save_global(GlobalSettings(mfn_warehouses=[1, 2]))
    repo.save_channel("M1", ChannelSettings(sync_enabled=False))
    dynamodb_calls.clear()

    rules = repo.rules(["M1", "M2", "M3"])

    assert dynamodb_calls == ["BatchGetItem"]
    assert rules == channel_rules(GlobalSettings(mfn_warehouses=[1, 2]),
                                  {"M1": ChannelSettings(sync_enabled=False), "M2": ChannelSettings(),
                                   "M3": ChannelSettings()}, ["M1", "M2", "M3"])
