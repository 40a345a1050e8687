"""Merchant settings in DynamoDB: the global and per-channel settings, free-form bookkeeping items, and
claims (create-if-absent). Re-exported from :mod:`connector.adapters.repositories`, where callers import it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError

from connector.adapters.store import Setting
from connector.domain.mfn_sync import ChannelRule
from connector.domain.settings import ChannelSettings, GlobalSettings, channel_rules


class SettingsRepository:
    GLOBAL = "global"

    @staticmethod
    def _load(key: str) -> dict[str, Any]:
        try:
            return dict(Setting.get(key).value or {})
        except DoesNotExist:
            return {}

    @staticmethod
    def _save(key: str, value: dict[str, Any]) -> None:
        # One UpdateItem, not a read then a put (issue 14: DynamoDB calls per item): the value is overwritten
        # whatever was stored, and the other attributes (a claim's lease, the TTL) are kept. version 0 makes
        # the update ADD 1 to the stored version (1 on a new item), so a reader's conditional save still
        # sees every change.
        item = Setting(key)
        item.version = 0
        item.update([Setting.value.set(value), Setting.updated_at.set(datetime.now(UTC))],
                    add_version_condition=False)

    def get_value(self, key: str) -> dict[str, Any]:
        """A free-form item of the settings table (bookkeeping such as "last emailed")."""
        return self._load(key)

    def set_value(self, key: str, value: dict[str, Any]) -> None:
        self._save(key, value)

    def claim(self, key: str, value: dict[str, Any]) -> bool:
        """Create ``key`` only if it does not exist yet; False when another run already claimed it."""
        item = Setting(key)
        item.value = value
        item.updated_at = datetime.now(UTC)
        try:
            item.save(condition=Setting.key.does_not_exist())
        except PutError as exc:
            if getattr(exc, "cause_response_code", None) != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def global_settings(self) -> GlobalSettings:
        return GlobalSettings.model_validate(self._load(self.GLOBAL))

    def save_global(self, settings: GlobalSettings) -> None:
        self._save(self.GLOBAL, settings.model_dump())

    def channel(self, marketplace_id: str) -> ChannelSettings:
        return ChannelSettings.model_validate(self._load(f"channel#{marketplace_id}"))

    def save_channel(self, marketplace_id: str, settings: ChannelSettings) -> None:
        self._save(f"channel#{marketplace_id}", settings.model_dump())

    def rules(self, marketplace_ids: Iterable[str]) -> dict[str, ChannelRule]:
        mids = list(marketplace_ids)
        # The global item and every channel's in one BatchGetItem (was 1 + one GetItem per marketplace).
        keys = [self.GLOBAL, *(f"channel#{mid}" for mid in mids)]
        found = {item.key: dict(item.value or {}) for item in Setting.batch_get(list(dict.fromkeys(keys)))}
        channels = {mid: ChannelSettings.model_validate(found.get(f"channel#{mid}", {})) for mid in mids}
        return channel_rules(GlobalSettings.model_validate(found.get(self.GLOBAL, {})), channels, mids)
