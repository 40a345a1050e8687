"""The composition root (issue 12): where the real adapters are plugged into the use cases.

- ``parts.py``: :class:`Parts` (one container's clients and stores, built on first use, once, and the
  factory of every other adapter), :class:`RegionParts`, ``regions(parts)`` and the connector's clock:
  **the one module that constructs real adapters**;
- ``builders.py``: one builder per Lambda (``mfn_sync``, ``nightly``, ``report_jobs``, …), composing
  use cases from parts;
- ``per_region.py``: the per-region builders (``mfn_syncs``, ``report_jobs_by_region``, …).

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
from connector.wiring.per_region import (
    fba_reconciliations,
    inbound_shipments_by_region,
    mfn_syncs,
    nightlies,
    region_report_jobs,
    report_jobs_by_region,
)

__all__ = [
    "FAILING", "Parts", "RegionParts", "clock", "fba_reconciliation", "fba_reconciliations", "finances",
    "import_jobs", "inbound_shipments", "inbound_shipments_by_region", "mfn_sync", "mfn_syncs",
    "movement_service", "nightlies", "nightly", "operator", "pages", "reconciliation_store", "region_code",
    "region_report_jobs", "regions", "removals", "report_jobs", "report_jobs_by_region",
    "routed_fba_reconciliation", "shadow", "shadow_plans", "signing_key", "stock_change_queue", "store_prefix",
]
