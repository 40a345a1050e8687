"""The composition root is a package (issue 12) whose public names are the builders themselves: a
submodule named like a re-exported function would shadow it (``wiring.regions`` the module, not the
function), which only the first handler call would show."""

from __future__ import annotations

import types

from connector import wiring

# What handlers, local/, bench/ and the tests call as ``wiring.<name>`` (the module's names before the split).
USED_NAMES = ("Parts", "RegionParts", "clock", "regions", "region_code", "mfn_sync", "nightly", "report_jobs",
              "region_report_jobs", "movement_service", "fba_reconciliation", "inbound_shipments", "removals",
              "operator", "import_jobs", "pages", "reconciliation_store", "stock_change_queue", "shadow",
              "shadow_plans", "finances", "routed_fba_reconciliation", "mfn_syncs", "report_jobs_by_region",
              "inbound_shipments_by_region", "fba_reconciliations", "nightlies", "FAILING")


def test_every_public_name_is_a_builder_or_value_not_a_submodule() -> None:
    shadowed = [n for n in wiring.__all__ if isinstance(getattr(wiring, n), types.ModuleType)]
    assert shadowed == []


def test_every_name_the_callers_use_is_exported() -> None:
    assert [n for n in USED_NAMES if n not in wiring.__all__ or not hasattr(wiring, n)] == []
    assert all(callable(getattr(wiring, n)) for n in USED_NAMES if n != "FAILING")
