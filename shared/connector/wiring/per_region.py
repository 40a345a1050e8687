"""The per-region builders (issue 16 item 1): each Lambda's use case once per SP-API region, home first.

A one-region stack's ``regions(parts)`` is ``[parts]`` itself, so these run exactly the one-region
builders of ``builders.py`` there. Like every builder, they import no adapter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from connector.wiring.builders import (
    fba_reconciliation,
    inbound_shipments,
    mfn_sync,
    movement_service,
    nightly,
    report_jobs,
)
from connector.wiring.parts import Parts, RegionParts, clock, region_code, regions

if TYPE_CHECKING:
    from connector.usecases.fba_reconciliation import FbaReconciliation
    from connector.usecases.inbound_shipments import InboundShipments
    from connector.usecases.mfn_sync import MfnSync
    from connector.usecases.nightly import NightlyReconciliation
    from connector.usecases.report_jobs import ReportJobs


def mfn_syncs(parts: Parts) -> list[MfnSync]:
    """The merchant-fulfilled sync per region: each pushes its own marketplaces with its own client, so the
    EU SKU rule (one quantity per SKU across EU marketplaces) never reaches a .com or .co.jp listing."""
    return [mfn_sync(p) for p in regions(parts)]


def report_jobs_by_region(parts: Parts) -> dict[str, ReportJobs]:
    """Report jobs per region (ledger, returns, inventory reports from each region's endpoint), home first."""
    return {region_code(p): region_report_jobs(p) for p in regions(parts)}


def region_report_jobs(p: Parts) -> ReportJobs:
    """One region's report jobs, keyed under its prefix in the one ReportJobs table (the home region's
    keys are unchanged); its movements go through the one Brightpearl governor like every other write."""
    from connector.usecases.report_jobs import ReportJobs

    if not isinstance(p, RegionParts):
        return report_jobs(p)
    return ReportJobs(p.amazon_reports(p.env.amazon_marketplace_ids, on_clock=True), movement_service(p),
                      p.report_jobs_store, clock=clock, job_prefix=p.region.job_prefix)


def inbound_shipments_by_region(parts: Parts) -> dict[str, InboundShipments]:
    """Inbound shipments per region, each into its region's FBA warehouse (``regions.<code>.fba_warehouse_id``)."""
    return {region_code(p): inbound_shipments(p) for p in regions(parts)}


def fba_reconciliations(parts: Parts) -> dict[str, FbaReconciliation]:
    """FBA reconciliation per region: its FBA pool (Pan-EU read once for the EU) against its warehouse."""
    return {region_code(p): fba_reconciliation(p) for p in regions(parts)}


def nightlies(parts: Parts) -> dict[str, NightlyReconciliation]:
    return {region_code(p): nightly(p) for p in regions(parts)}
