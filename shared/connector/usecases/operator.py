"""Operator commands (the OperatorFunction, invoked directly): links, sync switch, settings.

Each command validates its input and answers with what it did, or with an error naming the bad
field, so `sam remote invoke` shows the merchant's operator exactly what happened.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from connector.adapters.brightpearl.catalog import iter_product_skus
from connector.adapters.repositories import ChannelSettings, GlobalSettings, LinkRepository, SettingsRepository
from connector.usecases.mfn_sync import MfnSync


class CommandError(ValueError):
    pass


class Connect(BaseModel):
    marketplace_id: str = Field(alias="marketplaceId", min_length=1)
    sku: str = Field(min_length=1)
    product_id: int | None = Field(None, alias="productId", gt=0)
    channel: str = Field("MFN", pattern="^(MFN|FBA)$")


class Disconnect(BaseModel):
    marketplace_id: str = Field(alias="marketplaceId", min_length=1)
    sku: str = Field(min_length=1)


class ImportItem(BaseModel):
    sku: str = Field(min_length=1)
    channel: str = Field("MFN", pattern="^(MFN|FBA)$")


class ImportLinks(BaseModel):
    marketplace_id: str = Field(alias="marketplaceId", min_length=1)
    listings: list[ImportItem] = Field(min_length=1)


class SyncSwitch(BaseModel):
    marketplace_id: str = Field(alias="marketplaceId", min_length=1)


class SetSettings(BaseModel):
    global_settings: dict[str, Any] | None = Field(None, alias="global")
    channel: str | None = None
    values: dict[str, Any] | None = None


class ReconcileFba(BaseModel):
    email: bool = True
    settings: dict[str, Any] | None = None  # changes to the fba_reconciliation settings, saved first


class ShowReconciliation(BaseModel):
    id: str | None = None  # default: the latest
    skus: list[str] | None = None
    status: str | None = None
    limit: int = Field(100, ge=0, le=5000)
    csv: bool = False


class ApproveReconciliation(BaseModel):
    id: str = Field(min_length=1)
    skus: list[str] | None = Field(None, min_length=1)
    max_units: int | None = Field(None, alias="maxUnits", ge=1)
    dry_run: bool = Field(False, alias="dryRun")


class Operator:
    def __init__(self, *, sync: MfnSync, links: LinkRepository, settings: SettingsRepository, seller_id: str,
                 brightpearl: Any, fba_reconciliation: Callable[[], Any] | None = None) -> None:
        self.sync = sync
        self.links = links
        self.settings = settings
        self.seller_id = seller_id
        self.brightpearl = brightpearl
        self.commands: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "connect": self.connect, "disconnect": self.disconnect, "import-links": self.import_links,
            "sync-on": self.sync_on, "sync-off": self.sync_off, "get-settings": self.get_settings,
            "set-settings": self.set_settings, "reconcile-fba": self.reconcile_fba,
            "show-reconciliation": self.show_reconciliation, "approve-reconciliation": self.approve_reconciliation,
        }
        self._fba_factory = fba_reconciliation
        self._fba: Any = None

    def run(self, payload: dict[str, Any]) -> dict[str, Any]:
        command = payload.get("command")
        if command not in self.commands:
            raise CommandError(f"unknown command {command!r}; expected one of {sorted(self.commands)}")
        try:
            return self.commands[str(command)](payload)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise CommandError(f"{command}: {problems}") from None

    def _product_by_sku(self) -> dict[str, int]:
        return {sku: pid for pid, sku in iter_product_skus(self.brightpearl)}

    def connect(self, payload: dict[str, Any]) -> dict[str, Any]:
        cmd = Connect.model_validate(payload)
        product_id = cmd.product_id
        if product_id is None:
            product_id = self._product_by_sku().get(cmd.sku)
            if product_id is None:
                raise CommandError(f"connect: no Brightpearl product has SKU {cmd.sku!r}; pass productId")
        lead_time = self._lead_time(cmd.marketplace_id, cmd.sku) if cmd.channel == "MFN" else None
        self.links.connect(seller_id=self.seller_id, marketplace_id=cmd.marketplace_id, sku=cmd.sku,
                           product_id=product_id, channel=cmd.channel, lead_time_days=lead_time)
        report = self.sync.listing_connected(cmd.marketplace_id, cmd.sku) if cmd.channel == "MFN" else None
        return {"connected": cmd.sku, "productId": product_id, "channel": cmd.channel, "leadTimeDays": lead_time,
                "pushed": bool(report and report.patched), "plan": report.plan if report else None}

    def _lead_time(self, marketplace_id: str, sku: str) -> int | None:
        """The listing's handling time as Amazon holds it. Every quantity push replaces the whole
        fulfillment_availability element, so the lead time is read once here and sent with each push."""
        entry = self.sync.listings.current_availability(sku, marketplace_id)
        lead = (entry or {}).get("lead_time_to_ship_max_days")
        return int(lead) if lead is not None else None

    def disconnect(self, payload: dict[str, Any]) -> dict[str, Any]:
        cmd = Disconnect.model_validate(payload)
        return {"disconnected": self.links.disconnect(cmd.marketplace_id, cmd.sku), "sku": cmd.sku}

    def import_links(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Link each listed Amazon SKU to the Brightpearl product with the same SKU (exact match)."""
        cmd = ImportLinks.model_validate(payload)
        by_sku = self._product_by_sku()
        created, unmatched = [], []
        for item in cmd.listings:
            pid = by_sku.get(item.sku)
            if pid is None:
                unmatched.append(item.sku)
                continue
            # One getListingsItem per MFN SKU (paced at Amazon's 5/s): the lead time to keep on pushes.
            lead_time = self._lead_time(cmd.marketplace_id, item.sku) if item.channel == "MFN" else None
            self.links.connect(seller_id=self.seller_id, marketplace_id=cmd.marketplace_id, sku=item.sku,
                               product_id=pid, channel=item.channel, lead_time_days=lead_time)
            created.append(item.sku)
        links = [link for link in (self.links.get(cmd.marketplace_id, s) for s in created) if link is not None]
        report = self.sync.sync_links(links, trigger="links imported", force=True) if links else None
        return {"linked": len(created), "unmatched": unmatched,
                "pushed": len(report.patched) if report else 0, "feeds": report.feeds if report else []}

    def sync_on(self, payload: dict[str, Any]) -> dict[str, Any]:
        cmd = SyncSwitch.model_validate(payload)
        report = self.sync.set_sync(cmd.marketplace_id, True)
        return {"marketplaceId": cmd.marketplace_id, "sync": "on",
                "pushed": len(report.patched) if report else 0, "feeds": report.feeds if report else []}

    def sync_off(self, payload: dict[str, Any]) -> dict[str, Any]:
        cmd = SyncSwitch.model_validate(payload)
        self.sync.set_sync(cmd.marketplace_id, False)
        return {"marketplaceId": cmd.marketplace_id, "sync": "off"}

    def get_settings(self, payload: dict[str, Any]) -> dict[str, Any]:
        channels = {m: self.settings.channel(m).model_dump() for m in self.sync.marketplace_ids}
        return {"global": self.settings.global_settings().model_dump(), "channels": channels}

    def set_settings(self, payload: dict[str, Any]) -> dict[str, Any]:
        cmd = SetSettings.model_validate(payload)
        if cmd.global_settings is not None:
            merged = {**self.settings.global_settings().model_dump(), **cmd.global_settings}
            self.settings.save_global(GlobalSettings.model_validate(merged))
        if cmd.channel is not None:
            merged = {**self.settings.channel(cmd.channel).model_dump(), **(cmd.values or {})}
            self.settings.save_channel(cmd.channel, ChannelSettings.model_validate(merged))
        return self.get_settings({})

    # ------------------------------------------------------------------ FBA reconciliation (issue 7)
    def _reconciliation(self) -> Any:
        if self._fba is None:
            if self._fba_factory is None:
                from connector.wiring_fba_reconciliation import from_environment

                self._fba_factory = from_environment
            self._fba = self._fba_factory()
        return self._fba

    def _fba_call(self, fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        from connector.usecases.fba_reconciliation import ReconciliationError

        try:
            return fn()
        except ReconciliationError as exc:
            raise CommandError(str(exc)) from None

    def reconcile_fba(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Reconcile FBA stock now (or continue a requested MYI report); emails the report unless told not to."""
        cmd = ReconcileFba.model_validate(payload)
        recon = self._reconciliation()
        if cmd.settings:
            recon.save_settings(cmd.settings)
        return self._fba_call(lambda: recon.start(email=cmd.email, trigger="operator"))

    def show_reconciliation(self, payload: dict[str, Any]) -> dict[str, Any]:
        cmd = ShowReconciliation.model_validate(payload)
        recon = self._reconciliation()
        out = self._fba_call(lambda: recon.show(cmd.id, skus=cmd.skus, status=cmd.status, limit=cmd.limit,
                                                with_csv=cmd.csv))
        return {**out, "settings": recon.recon_settings().model_dump()}

    def approve_reconciliation(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Apply a reconciliation's suggested corrections: all, the listed SKUs, optionally only up to
        ``maxUnits`` units each; ``dryRun`` shows what would be written."""
        cmd = ApproveReconciliation.model_validate(payload)
        recon = self._reconciliation()
        return self._fba_call(lambda: recon.approve(cmd.id, skus=cmd.skus, max_units=cmd.max_units,
                                                    dry_run=cmd.dry_run))
