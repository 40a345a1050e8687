"""The EU SKU warning: one SKU linked in several EU marketplaces whose settings give different quantities
(Amazon keeps one quantity per SKU across the EU, so the MFN sync pushes the lowest), emailed once per
distinct set of conflicts. Told by :class:`connector.usecases.mfn_sync.MfnSync` through its notifier.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from connector.domain.quantities import EuConflict
from connector.usecases.ports import Links, OnceMail, ProductNames, Settings


def conflict_fingerprint(conflicts: Sequence[EuConflict]) -> str:
    """Stable id of a set of conflicts, so the same warning is emailed once, not on every sync."""
    text = "|".join(f"{c.sku}:{sorted(c.settings.items())}" for c in sorted(conflicts, key=lambda c: c.sku))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class EmailConflictNotifier:
    """Emails the EU SKU warning once per distinct set of conflicts (not on every sync), through the one
    send-once mechanism keyed by the set's fingerprint; the same set again after ``KEEP`` is told again."""

    KEEP = timedelta(days=7)

    def __init__(self, mailer: OnceMail, settings: Settings, *, links: Links | None = None,
                 names: ProductNames | None = None) -> None:
        self.mailer = mailer
        self.settings = settings  # kept for the builders' signature; the sent keys live in SentMail
        self.links = links  # SKU → product, for the Brightpearl names in the email
        self.names = names

    def eu_conflicts(self, conflicts: Sequence[EuConflict]) -> None:
        fingerprint = conflict_fingerprint(conflicts)
        self.mailer.send_once(f"eu-conflicts#{fingerprint}", lambda: self._message(conflicts), keep=self.KEEP)

    def _message(self, conflicts: Sequence[EuConflict]) -> Any:
        from connector.domain.messages import Column, Message, Table, product_label
        from connector.usecases.product_names import Names

        products: dict[str, int | None] = {}
        for c in conflicts:  # the conflicts carry SKUs; the link names the product (few SKUs, read once)
            link = next((lk for m in sorted(c.quantities) if self.links and (lk := self.links.get(m, c.sku))), None)
            products[c.sku] = None if link is None else int(link.product_id)
        known = Names(self.names)(products.values()) if self.links else {}
        rows = [[c.sku, product_label(products.get(c.sku), known) if self.links else "—",
                 ", ".join(f"{m}: {q}" for m, q in sorted(c.quantities.items())),
                 ", ".join(f"{m}: {s}" for m, s in sorted(c.settings.items())), c.pushed] for c in conflicts]
        markets = tuple(sorted({m for c in conflicts for m in c.quantities}))
        return Message(
            title=f"Amazon EU: {len(conflicts)} SKU(s) fed from different settings",
            summary=("These SKUs are linked in several EU marketplaces whose settings give different quantities. "
                     "In the EU, Amazon keeps one quantity per SKU across all marketplaces, so the connector "
                     "pushes the lowest value."),
            meaning="No marketplace oversells, but the higher marketplaces show less stock than their settings give.",
            todo="Align the warehouse settings of these marketplaces, or link each SKU once.",
            tables=(Table.of("SKUs with different quantities", [
                "SKU", "Product", "quantity per marketplace", "settings per marketplace",
                Column("pushed", numeric=True)],
                rows),),
            marketplaces=markets, cli="connector --stack {stack} settings get -m MARKETPLACE",
            cli_doc="settings-get--m-marketplace--settings-set--m-marketplace-keyvalue")
