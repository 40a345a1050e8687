"""Builds the stack's pages (issue 17) with their real adapters from the page function's environment."""

from __future__ import annotations

from typing import Any

from connector.adapters import store
from connector.adapters.page_nonces import PageNonces
from connector.config import ConfigError, load
from connector.emails.sending import sender_from_env, signing_key
from connector.usecases.approval_page import Pages
from connector.wiring_fba_reconciliation import FbaReconciliationEnv, fba_reconciliation

FAILING = ("rejected", "error", "not on Amazon")  # the nightly check's "failing" (usecases/nightly.py)


def failing_listings(marketplaces: list[str]) -> list[dict[str, Any]]:
    from connector.adapters.repositories import LinkRepository

    return sorted(({"sku": link.sku, "marketplace": link.marketplace_id, "result": link.last_result}
                   for link in LinkRepository().all()
                   if link.marketplace_id in marketplaces and (link.last_result or "").startswith(FAILING)),
                  key=lambda r: (r["marketplace"], r["sku"]))


def pages(env: FbaReconciliationEnv) -> Pages:
    if not env.page_link_secret_name:
        raise ConfigError("FbaReconciliationEnv: PAGE_LINK_SECRET_NAME is not set")
    store.bind()
    recon: list[Any] = []

    def reconciliation() -> Any:  # built on first use: the nightly page needs no Brightpearl or Amazon client
        if not recon:
            recon.append(fba_reconciliation(env))
        return recon[0]

    return Pages(key=signing_key(env.page_link_secret_name), reconciliation=reconciliation, nonces=PageNonces(),
                 failing=lambda: failing_listings(env.amazon_marketplace_ids), sender=sender_from_env(env))


def from_environment() -> Pages:
    return pages(load(FbaReconciliationEnv))
