"""Builds the FBA reconciliation use case with its real adapters from a Lambda's environment (issue 7)."""

from __future__ import annotations

from connector import wiring_movements
from connector.adapters import store
from connector.adapters.amazon.factory import amazon_clients
from connector.adapters.amazon.inbound import AmazonInbound
from connector.adapters.amazon.inventory import AmazonFbaInventory
from connector.adapters.amazon.reports import AmazonReports
from connector.adapters.brightpearl.catalog import BrightpearlCatalog
from connector.adapters.brightpearl.factory import brightpearl_client
from connector.adapters.brightpearl.movements import BrightpearlMovements
from connector.adapters.inbound_records import ShipmentRecords
from connector.adapters.movement_store import DynamoMovementStore
from connector.adapters.reconciliation_store import ReconciliationStore
from connector.adapters.repositories import LinkRepository, SettingsRepository
from connector.config import AmazonEnv, BrightpearlEnv, EmailEnv, load
from connector.emails.sending import mailer_from_env
from connector.usecases.fba_reconciliation import FbaReconciliation, ObservingStore
from connector.usecases.movements import MovementService


class FbaReconciliationEnv(BrightpearlEnv, AmazonEnv, EmailEnv):
    """Reads Amazon FBA inventory and the Brightpearl FBA warehouse, writes corrections, emails the report."""


def fba_reconciliation(env: FbaReconciliationEnv) -> FbaReconciliation:
    store.bind()
    settings = SettingsRepository()
    links = LinkRepository()
    bp = brightpearl_client(env)
    amazon = amazon_clients(env)
    observed = ObservingStore(DynamoMovementStore())
    # Corrections go through the movements service: same keys, batching, governor, recovery and audit.
    movements = MovementService(observed, BrightpearlMovements(bp),
                                wiring_movements.sku_resolver(env.amazon_marketplace_ids),
                                settings.global_settings, clock=wiring_movements.clock)
    return FbaReconciliation(
        links=links.all, marketplace_ids=env.amazon_marketplace_ids, inventory=AmazonFbaInventory(amazon),
        reports_for=lambda marketplaces: AmazonReports(amazon, marketplaces), catalog=BrightpearlCatalog(bp),
        shipments=ShipmentRecords().open, inbound=AmazonInbound(amazon), movements=movements, observed=observed,
        settings=settings, store=ReconciliationStore(), mailer=mailer_from_env(env),
        clock=wiring_movements.clock)


def from_environment() -> FbaReconciliation:
    return fba_reconciliation(load(FbaReconciliationEnv))
