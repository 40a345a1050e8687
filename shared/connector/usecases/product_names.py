"""Product names for the emails (issue 17): read for the products an email shows, once per invocation, and
never in the way of the email — a failed read leaves the products as SKU and id (and says so in the log)."""

from __future__ import annotations

from collections.abc import Iterable

from connector.observability import logger
from connector.usecases.ports import ProductNames


class Names:
    """One invocation's names: each product read at most once; after a failed read, none are asked for."""

    def __init__(self, source: ProductNames | None) -> None:
        self.source = source
        self.known: dict[int, str] = {}
        self.failed = False

    def __call__(self, product_ids: Iterable[int | None]) -> dict[int, str]:
        ids = {int(p) for p in product_ids if p is not None}
        missing = sorted(ids - set(self.known))
        if missing and self.source is not None and not self.failed:
            try:
                got = self.source.product_names(missing)
            except Exception as exc:  # the email goes without names rather than not at all
                logger.warning("product names could not be read: the email shows SKUs and product ids only",
                               extra={"products": len(missing), "error": f"{type(exc).__name__}: {exc}"})
                self.failed = True
                got = {}
            self.known.update({p: str(got.get(p) or "") for p in missing})
        return {p: n for p in ids if (n := self.known.get(p))}
