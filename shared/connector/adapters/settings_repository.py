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
        try:
            item = Setting.get(key)
        except DoesNotExist:
            item = Setting(key)
        item.value = value
        item.updated_at = datetime.now(UTC)
        item.save()

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
        return channel_rules(self.global_settings(), {mid: self.channel(mid) for mid in mids}, mids)
