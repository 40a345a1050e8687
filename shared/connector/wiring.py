"""Builds use cases with their real adapters from a Lambda's environment (once per cold start)."""

from __future__ import annotations

from connector.adapters import store
from connector.adapters.amazon.factory import amazon_clients
from connector.adapters.amazon.listings import AmazonListings
from connector.adapters.brightpearl.catalog import BrightpearlCatalog
from connector.adapters.brightpearl.factory import brightpearl_client
from connector.adapters.repositories import LinkRepository, SettingsRepository
from connector.config import MfnSyncEnv
from connector.emails.sending import mailer_from_env
from connector.usecases.mfn_sync import EmailConflictNotifier, MfnSync
from connector.usecases.nightly import NightlyReconciliation


def mfn_sync(env: MfnSyncEnv) -> MfnSync:
    store.bind()
    settings = SettingsRepository()
    return MfnSync(
        catalog=BrightpearlCatalog(brightpearl_client(env)),
        links=LinkRepository(),
        settings=settings,
        listings=AmazonListings(amazon_clients(env), env.amazon_seller_id),
        marketplace_ids=env.amazon_marketplace_ids,
        notifier=EmailConflictNotifier(mailer_from_env(env), settings),
    )


def nightly(env: MfnSyncEnv) -> NightlyReconciliation:
    from connector.adapters.amazon.reports import AmazonReports

    sync = mfn_sync(env)
    amazon = amazon_clients(env)
    return NightlyReconciliation(
        sync=sync, reports_for=lambda marketplaces: AmazonReports(amazon, marketplaces), links=LinkRepository(),
        settings=SettingsRepository(), mailer=mailer_from_env(env),
        marketplace_ids=env.amazon_marketplace_ids)
