"""FBA removal orders (hourly schedule, and the operator's `connector removals …`): Amazon's removal
reports → Brightpearl disposals and transfers FBA → removal warehouse; receipts; short-arrival emails.

Events: ``{}`` (the schedule) runs; ``{"action": "receive", "order_id": "…", "counts": {"SKU": n}}``
confirms what arrived (no counts: everything shipped); ``{"action": "show", "order_id": "…"}`` and
``{"action": "list"}`` answer what the connector knows.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from connector import wiring
from connector.config import RemovalsEnv
from connector.handlers import Container, entry
from connector.observability import logger

if TYPE_CHECKING:
    from connector.usecases.removals import Removals

CONTAINER = Container(RemovalsEnv)
build = CONTAINER.once(wiring.removals)


@cache
def regional() -> list[Removals]:
    """Every region's removals when the stack has several (issue 16), home first; else none."""
    parts = wiring.regions(CONTAINER.parts)
    return [wiring.removals(p) for p in parts] if len(parts) > 1 else []


def _region_of_order(event: dict[str, Any]) -> Removals:
    """A command naming a removal order goes to the region whose open orders hold it (else the home's)."""
    oid = event.get("order_id")
    for usecase in regional():
        if any(r.order_id == oid for r in usecase.store.open()):
            return usecase
    return regional()[0]


def _command(usecase: Removals, event: dict[str, Any]) -> dict[str, Any]:
    from connector.usecases.removals import CommandError

    action = event.get("action")
    unknown = set(event) - {"action", "order_id", "counts"}
    try:
        if unknown:
            raise CommandError(f"removals: unknown field(s) {', '.join(sorted(unknown))}")
        if action == "list":
            return {"ok": True, "removals": [r.summary() for r in usecase.store.open()]}
        order_id = event.get("order_id")
        if not isinstance(order_id, str) or not order_id:
            raise CommandError(f"removals {action}: order_id is required")
        if action == "show":
            removal = usecase.store.get(order_id)
            if removal is None:
                raise CommandError(f"removals show: no removal order {order_id!r} known to the connector")
            return {"ok": True, **removal.summary()}
        if action == "receive":
            counts = event.get("counts")
            if counts is not None and (not isinstance(counts, dict) or not all(
                    isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) for k, v in counts.items())):
                raise CommandError("removals receive: counts must map SKUs to whole numbers of units")
            return {"ok": True, **usecase.receive(order_id, counts)}
        raise CommandError(f"removals: unknown action {action!r} (list, show, receive)")
    except CommandError as exc:
        logger.warning("removals command refused", extra={"action": action, "error": str(exc)})
        return {"ok": False, "error": str(exc)}


@entry(traced=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if regional():
        return _regions_handler(event)
    usecase = build()
    if isinstance(event, dict) and event.get("action"):
        return _command(usecase, event)
    started = datetime.now(UTC)
    try:
        report = usecase.run()
    except Exception as exc:
        CONTAINER.parts.record_run("removals", started, outcome="failed", error=f"{type(exc).__name__}: {exc}"[:500])
        raise
    out = report.as_dict()
    CONTAINER.parts.record_run("removals", started, outcome="ok", writes=report.writes, emails=report.emails)
    logger.info("removals ran", extra=out)
    return out


def _regions_handler(event: dict[str, Any]) -> dict[str, Any]:
    """Several regions: each region's removal reports and transfers from its own FBA warehouse."""
    if isinstance(event, dict) and event.get("action"):
        if event.get("action") == "list":
            return {"ok": True, "removals": [r.summary() for u in regional() for r in u.store.open()]}
        return _command(_region_of_order(event), event)
    started = datetime.now(UTC)
    out: dict[str, Any] = {}
    try:
        regions = wiring.regions(CONTAINER.parts)
        reports = [(wiring.region_code(p), u.run()) for p, u in zip(regions, regional(), strict=True)]
    except Exception as exc:
        CONTAINER.parts.record_run("removals", started, outcome="failed", error=f"{type(exc).__name__}: {exc}"[:500])
        raise
    for code, report in reports:
        out[f"region {code}"] = report.as_dict()
    writes: dict[str, int] = {}
    for _, report in reports:
        for kind, n in report.writes.items():
            writes[kind] = writes.get(kind, 0) + n
    CONTAINER.parts.record_run("removals", started, outcome="ok", writes=writes,
                               emails=sum(r.emails for _, r in reports))
    logger.info("removals ran", extra=out)
    return out
