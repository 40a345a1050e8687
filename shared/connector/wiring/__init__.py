"""The composition root (issue 12): where the real adapters are plugged into the use cases.

- ``parts.py``: :class:`Parts` (one container's clients and stores, built on first use, once, and the
  factory of every other adapter), :class:`RegionParts`, ``regions(parts)`` and the connector's clock:
  **the one module that constructs real adapters**;
- ``builders.py``: one builder per Lambda (``mfn_sync``, ``nightly``, ``report_jobs``, …), composing
  use cases from parts; a handler runs one per SP-API region through ``Container.per_region``.

A handler makes one :class:`Parts` from its environment at import (nothing is built yet) and caches its
use case over one builder (``connector.handlers.Container``), so a container builds each client once (on
first use) and each use case once. The webhook receiver never imports this package. The public names
are re-exported here: ``from connector import wiring; wiring.nightly(parts)``.
"""

from connector.wiring.builders import (
    FAILING,
    fba_reconciliation,
    finances,
    import_jobs,
    inbound_shipments,
    mfn_sync,
    movement_service,
    nightly,
    operator,
    pages,
    reconciliation_store,
    region_report_jobs,
    removals,
    report_jobs,
    routed_fba_reconciliation,
    shadow,
    shadow_plans,
)
from connector.wiring.parts import (
    Parts,
    RegionParts,
    clock,
    region_code,
    regions,
    signing_key,
    stock_change_queue,
    store_prefix,
)

__all__ = [
    "FAILING", "Parts", "RegionParts", "clock", "fba_reconciliation", "finances", "import_jobs",
    "inbound_shipments", "mfn_sync", "movement_service", "nightly", "operator", "pages", "reconciliation_store",
    "region_code", "region_report_jobs", "regions", "removals", "report_jobs", "routed_fba_reconciliation",
    "shadow", "shadow_plans", "signing_key", "stock_change_queue", "store_prefix",
]
