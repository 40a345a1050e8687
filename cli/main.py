"""``connector``: the operator's commands against a deployed stack (``--stack NAME``) or the local one
(``--local``). See docs/cli.md.

Exit codes: 0 done; 1 refused or failed by the connector (its error is printed); 2 usage error;
3 the stack could not be reached (transport).
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from botocore.exceptions import BotoCoreError, ClientError

from cli import dlq as dlqs
from cli import setup as setup_steps
from cli import state
from cli.output import dump_json, pairs, table
from cli.transport import AwsTransport, FunctionFailed, LocalTransport, Transport, TransportError

OK, REFUSED, USAGE, TRANSPORT = 0, 1, 2, 3


class Refused(click.ClickException):
    """The connector answered ``ok: false`` (or its function raised): exit 1 with its error."""

    exit_code = REFUSED


class Unreachable(click.ClickException):
    exit_code = TRANSPORT


class Ctx:
    def __init__(self, stack: str | None, local: bool, region: str | None, profile: str | None, as_json: bool) -> None:
        self.stack, self.local, self.region, self.profile, self.json = stack, local, region, profile, as_json
        self._transport: Transport | None = None

    @property
    def t(self) -> Transport:
        if self._transport is None:
            if self.local and self.stack:
                raise click.UsageError("give either --stack or --local, not both")
            if not self.local and not self.stack:
                raise click.UsageError("which stack? give --stack NAME (or set CONNECTOR_STACK), or --local")
            self._transport = LocalTransport() if self.local else AwsTransport(
                str(self.stack), region=self.region, profile=self.profile)
        return self._transport

    def operator(self, command: str, **fields: Any) -> dict[str, Any]:
        return self.call("OperatorFunction", {"command": command, **{k: v for k, v in fields.items()
                                                                      if v is not None}})

    def call(self, function_id: str, event: dict[str, Any]) -> Any:
        out = self.t.invoke(function_id, event)
        if isinstance(out, dict) and out.get("ok") is False:
            raise Refused(str(out.get("error")))
        return out


def command(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Every command: ``--json``, and the connector's and the transport's errors as exit codes 1 and 3."""

    @click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
    @click.pass_obj
    @functools.wraps(fn)
    def wrapper(ctx: Ctx, *args: Any, as_json: bool, **kwargs: Any) -> Any:
        ctx.json = ctx.json or as_json
        try:
            try:
                return fn(ctx, *args, **kwargs)
            except FunctionFailed as exc:
                raise Refused(str(exc)) from None
        except TransportError as exc:
            raise Unreachable(str(exc)) from None
        except (BotoCoreError, ClientError) as exc:  # reading the stack's tables or queues
            raise Unreachable(f"{ctx.t.name}: {exc}") from None
        except Refused as exc:
            if ctx.json:
                dump_json({"ok": False, "error": exc.message})
            raise

    return wrapper


def show(ctx: Ctx, data: Any, human: Callable[[], str] | str | None = None) -> None:
    if ctx.json:
        dump_json(data)
    elif human is None:
        click.echo(pairs(data) if isinstance(data, dict) else str(data))
    else:
        click.echo(human() if callable(human) else human)


def _strip_ok(out: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in out.items() if k != "ok"}


def _assignments(values: tuple[str, ...]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs; each VALUE read as JSON (``[2,3]``, ``true``, ``5``), else as text."""
    out: dict[str, Any] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r}: expected KEY=VALUE", param_hint="SETTINGS")
        try:
            out[key] = json.loads(raw)
        except ValueError:
            out[key] = raw
    return out


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--stack", envvar="CONNECTOR_STACK", help="The deployed CloudFormation stack's name.")
@click.option("--local", is_flag=True, help="The local stack running in this process (tests, demo).")
@click.option("--local-stack", is_flag=True,
              help="Start a fresh local stack (moto, simulators) for this command, as after `sam deploy`.")
@click.option("--region", envvar="AWS_REGION", help="The stack's AWS region.")
@click.option("--profile", envvar="AWS_PROFILE", help="The AWS profile to use.")
@click.option("--json", "as_json", is_flag=True, help="Print results as JSON (every command).")
@click.pass_context
def cli(click_ctx: click.Context, stack: str | None, local: bool, local_stack: bool, region: str | None,
        profile: str | None, as_json: bool) -> None:
    """Operate the Brightpearl ⇄ Amazon connector."""
    click_ctx.obj = Ctx(stack, local or local_stack, region, profile, as_json)
    if local_stack and not stack and click_ctx.invoked_subcommand:
        from cli.localstack import start

        click_ctx.call_on_close(start().stop)


# ---------------------------------------------------------------------------------------------- status
@cli.command("status")
@command
def status(ctx: Ctx) -> None:
    """Per marketplace: sync, links and their last results; queues, DLQs, report jobs, nightly, movements."""
    settings = _strip_ok(ctx.operator("get-settings"))
    data = state.status(ctx.t, settings)

    def human() -> str:
        out = [f"stack: {ctx.t.name}", "", "Marketplaces"]
        out.append(table([[m, v["sync"], v["links"], v["mfn"], v["fba"], v["notOnAmazon"], v["pendingFeeds"],
                           v["lastPushAt"], ", ".join(f"{k} {n}" for k, n in sorted(v["results"].items()))]
                          for m, v in data["marketplaces"].items()],
                         ["marketplace", "sync", "links", "MFN", "FBA", "not on Amazon", "feeds pending",
                          "last push", "last results"]))
        out += ["", "Nightly reconciliation"]
        out.append(table([[s, j.get("night"), j.get("status"), j.get("report_id")] for s, j in data["nightly"].items()],
                         ["scope", "night", "status", "report"]))
        out += ["", "Report jobs"]
        out.append(table([[k, v["count"], ", ".join(f"{s} {n}" for s, n in sorted(v["states"].items())),
                           (v["last"] or {}).get("status"), (v["last"] or {}).get("at"), (v["last"] or {}).get("error")]
                          for k, v in data["reportJobs"].items()],
                         ["report type", "jobs", "states", "last", "at", "error"]))
        inbound = data.get("inbound")
        out += ["", "Last inbound run: " + (_run_line(inbound) if inbound else "none recorded")]
        mv = data["movements"]
        out += ["", "Movements: " + (", ".join(f"{s} {n}" for s, n in sorted(mv["byStatus"].items())) or "none")
                + f"; awaiting retry {mv['awaitingRetry']}; quarantined rows {mv['quarantined']}", "", "Queues"]
        out.append(table([[q, d["visible"], d["inFlight"]] for q, d in data["queues"].items()],
                         ["queue", "waiting", "in flight"]))
        out += ["", "Brightpearl request budget"]
        out.append(table([[k, v.get("tokens"), v.get("refilled_at"), v.get("owner")]
                          for k, v in data["brightpearlBudget"].items()], ["bucket", "tokens left", "refilled at",
                                                                            "lease owner"]))
        return "\n".join(out)

    show(ctx, data, human)


def _run_line(run: dict[str, Any]) -> str:
    detail = (f"error {run.get('error')}" if run.get("outcome") != "ok" else
              f"seen {run.get('seen')}, processed {run.get('processed')}, emails {run.get('emails')}")
    return f"{run.get('outcome')} at {run.get('finished_at')} ({detail})"


# ---------------------------------------------------------------------------------------------- settings
@cli.group("settings")
def settings() -> None:
    """Read or change the connector's settings (validated by the connector; a bad value changes nothing)."""


@settings.command("get")
@click.option("--channel", "-m", help="Only this marketplace's settings.")
@command
def settings_get(ctx: Ctx, channel: str | None) -> None:
    out = _strip_ok(ctx.operator("get-settings"))
    if channel is not None:
        if channel not in out["channels"]:
            raise Refused(f"marketplace {channel!r} is not one of the stack's: {', '.join(out['channels'])}")
        out = {"channel": channel, "values": out["channels"][channel]}
    show(ctx, out)


@settings.command("set")
@click.option("--channel", "-m", help="Set these values for this marketplace (default: the global settings).")
@click.argument("assignments", nargs=-1, required=True, metavar="KEY=VALUE...")
@command
def settings_set(ctx: Ctx, channel: str | None, assignments: tuple[str, ...]) -> None:
    """Set settings, e.g. ``mfn_warehouses=[2,3]`` or ``-m A1F83G8C2ARO7P sync_enabled=true``."""
    values = _assignments(assignments)
    fields = {"channel": channel, "values": values} if channel else {"global": values}
    out = _strip_ok(ctx.operator("set-settings", **fields))
    resync = out.get("resync") or {}
    show(ctx, out, lambda: "saved." + (f" Re-synced {', '.join(resync['marketplaces'])}: pushed "
                                       f"{resync.get('pushed', 0)}" if resync.get("marketplaces") else ""))


# ---------------------------------------------------------------------------------------------- links
@cli.group("links")
def links() -> None:
    """Listing links: which Amazon SKU (per marketplace) follows which Brightpearl product."""


_LINK_HEADERS = ["marketplace", "sku", "product", "channel", "on Amazon", "pushed", "confirmed", "last push",
                 "last result"]


def _link_row(r: dict[str, Any]) -> list[Any]:
    return [r["marketplace"], r["sku"], r["productId"], r["channel"], r["amazonStatus"], r["lastPushed"],
            r["lastConfirmed"], r["lastPushAt"], r["lastResult"]]


@links.command("list")
@click.option("--marketplace", "-m", help="Only this marketplace.")
@command
def links_list(ctx: Ctx, marketplace: str | None) -> None:
    rows = state.links(ctx.t, marketplace)
    show(ctx, rows, lambda: table([_link_row(r) for r in rows], _LINK_HEADERS) + f"\n{len(rows)} link(s)")


@links.command("show")
@click.argument("sku")
@click.option("--marketplace", "-m", help="Only this marketplace.")
@command
def links_show(ctx: Ctx, sku: str, marketplace: str | None) -> None:
    rows = state.links(ctx.t, marketplace, sku=sku)
    if not rows:
        raise Refused(f"no link for SKU {sku!r}" + (f" in {marketplace}" if marketplace else ""))
    show(ctx, rows, lambda: "\n\n".join(pairs(r) for r in rows))


@links.command("connect")
@click.argument("sku")
@click.option("--marketplace", "-m", required=True)
@click.option("--product-id", type=click.IntRange(min=1), help="Default: the Brightpearl product with this SKU.")
@click.option("--channel", type=click.Choice(["MFN", "FBA"]), default="MFN", show_default=True)
@command
def links_connect(ctx: Ctx, sku: str, marketplace: str, product_id: int | None, channel: str) -> None:
    out = _strip_ok(ctx.operator("connect", marketplaceId=marketplace, sku=sku, productId=product_id, channel=channel))
    show(ctx, out)


@links.command("disconnect")
@click.argument("sku")
@click.option("--marketplace", "-m", required=True)
@command
def links_disconnect(ctx: Ctx, sku: str, marketplace: str) -> None:
    out = _strip_ok(ctx.operator("disconnect", marketplaceId=marketplace, sku=sku))
    if not out.get("disconnected"):
        raise Refused(f"no link for SKU {sku!r} in {marketplace}")
    show(ctx, out)


def _read_skus(file: Path | None, skus: tuple[str, ...], channel: str) -> list[dict[str, str]]:
    """SKUs from --sku and/or a file: one a line, optionally ``SKU,CHANNEL`` (``#`` comments, blank lines skipped)."""
    items = [{"sku": s, "channel": channel} for s in skus]
    if file is not None:
        text = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            sku, sep, ch = line.rstrip("\r").rpartition(",") if "," in line else (line.strip(), "", "")
            if sep and ch.strip() not in ("MFN", "FBA"):
                raise click.BadParameter(f"line {n}: channel {ch.strip()!r} is not MFN or FBA", param_hint="FILE")
            items.append({"sku": sku.strip() if sep else line.strip(), "channel": ch.strip() if sep else channel})
    if not items:
        raise click.UsageError("no SKUs: give a FILE or --sku")
    return items


@links.command("import")
@click.argument("file", required=False, type=click.Path(path_type=Path, dir_okay=False, allow_dash=True))
@click.option("--marketplace", "-m", required=True)
@click.option("--sku", "skus", multiple=True, help="A SKU to link (repeatable), besides the FILE's.")
@click.option("--channel", type=click.Choice(["MFN", "FBA"]), default="MFN", show_default=True)
@click.option("--batch-size", type=click.IntRange(1, 500), default=50, show_default=True,
              help="SKUs per chunk (each one checked on Amazon at 5/s, so a chunk takes ~size/5 s).")
@click.option("--wait", is_flag=True, help="Wait for the job, with a progress bar, and print its result.")
@command
def links_import(ctx: Ctx, file: Path | None, marketplace: str, skus: tuple[str, ...], channel: str,
                 batch_size: int, wait: bool) -> None:
    """Start a job linking each SKU to the Brightpearl product with the same SKU; prints its id at once.

    The job runs in the stack (ImportLinksFunction, one chunk after the other); follow it with
    `links import-status JOB --wait`. A refused chunk does not stop the others."""
    items = _read_skus(file, skus, channel)
    out = _strip_ok(ctx.call("ImportLinksFunction", {"action": "start", "marketplaceId": marketplace,
                                                      "listings": items, "chunkSize": batch_size}))
    if not wait:
        show(ctx, out, lambda: f"import job {out['job']} started: {out['total']} SKU(s) in {out['chunks']} "
                               f"chunk(s)\nfollow it: connector links import-status {out['job']} --wait")
        return
    _follow_import(ctx, str(out["job"]))


@links.command("import-status")
@click.argument("job")
@click.option("--wait", is_flag=True, help="Wait until the job is done, with a progress bar.")
@click.option("--resume", is_flag=True, help="Queue the first unfinished chunk again (a stalled job).")
@click.option("--stall", type=click.FloatRange(min=1), default=900, show_default=True,
              help="With --wait: give up after this many seconds without progress.")
@command
def links_import_status(ctx: Ctx, job: str, wait: bool, resume: bool, stall: float) -> None:
    """An import job's progress: chunks done, SKUs processed, linked, pushed, unmatched, refused."""
    if resume:
        ctx.call("ImportLinksFunction", {"action": "resume", "job": job})
    if wait:
        _follow_import(ctx, job, stall=stall)
        return
    out = _strip_ok(ctx.call("ImportLinksFunction", {"action": "status", "job": job}))
    show(ctx, out, lambda: _import_summary(out))


def _follow_import(ctx: Ctx, job: str, *, stall: float = 900) -> None:
    import time

    status = _strip_ok(ctx.call("ImportLinksFunction", {"action": "status", "job": job}))
    last, last_change = status["processed"], time.monotonic()
    with click.progressbar(length=int(status["total"]), label=f"import {job}", file=sys.stderr,
                           show_pos=True) as bar:
        bar.update(status["processed"])
        while status["state"] != "done":
            delivered = ctx.t.drive("ImportLinksFunction", "ImportLinksQueue")
            if delivered is None:
                time.sleep(3)
            status = _strip_ok(ctx.call("ImportLinksFunction", {"action": "status", "job": job}))
            bar.update(status["processed"] - last)
            if status["processed"] != last:
                last, last_change = status["processed"], time.monotonic()
            stalled = delivered is False or time.monotonic() - last_change > stall
            if status["state"] != "done" and stalled:
                raise Refused(f"import job {job} stalled after {status['chunksDone']}/{status['chunks']} chunk(s): "
                              f"connector links import-status {job} --resume --wait")
    show(ctx, status, lambda: _import_summary(status))
    if status["refused"]:
        raise click.exceptions.Exit(REFUSED)


def _import_summary(st: dict[str, Any]) -> str:
    return "\n".join([
        f"import job {st['job']}: {st['state']}, {st['processed']}/{st['total']} SKU(s), "
        f"chunks {st['chunksDone']}/{st['chunks']}; linked {st['linked']}, pushed {st['pushed']}",
        *([f"no Brightpearl product: {', '.join(st['unmatched'])}"] if st["unmatched"] else []),
        *([f"not on Amazon: {', '.join(st['notOnAmazon'])}"] if st["notOnAmazon"] else []),
        *[f"refused chunk {r['chunk']} ({', '.join(r['skus'])}…): {r['error']}" for r in st["refused"]]])


# ---------------------------------------------------------------------------------------------- sync
@cli.group("sync")
def sync() -> None:
    """Switch a marketplace's MFN quantity sync on (pushes every listing) or off."""


@sync.command("on")
@click.argument("marketplace")
@command
def sync_on(ctx: Ctx, marketplace: str) -> None:
    out = _strip_ok(ctx.operator("sync-on", marketplaceId=marketplace))
    show(ctx, out, lambda: f"sync on for {marketplace}; pushed {out.get('pushed', 0)} listing(s)")


@sync.command("off")
@click.argument("marketplace")
@command
def sync_off(ctx: Ctx, marketplace: str) -> None:
    out = _strip_ok(ctx.operator("sync-off", marketplaceId=marketplace))
    show(ctx, out, lambda: f"sync off for {marketplace}")


@cli.command("resync")
@click.argument("marketplace")
@command
def resync(ctx: Ctx, marketplace: str) -> None:
    """Push every MFN listing of a marketplace now (switches its sync on if it was off)."""
    out = _strip_ok(ctx.operator("sync-on", marketplaceId=marketplace))
    show(ctx, out, lambda: f"re-synced {marketplace}; pushed {out.get('pushed', 0)} listing(s)")


# ---------------------------------------------------------------------------------------------- nightly
@cli.group("nightly")
def nightly() -> None:
    """The nightly MFN reconciliation (Amazon's All Listings report against Brightpearl)."""


@nightly.command("run")
@command
def nightly_run(ctx: Ctx) -> None:
    """Request tonight's report now (once per night; its notification finishes the run)."""
    out = ctx.call("NightlyReconciliationFunction", {"action": "start"})
    show(ctx, out, lambda: "requested: " + (", ".join(f"{s} {r}" for s, r in out["requested"].items())
                                            or "nothing (tonight's report is already requested or applied)"))


@nightly.command("poll")
@command
def nightly_poll(ctx: Ctx) -> None:
    """Finish reports that are ready (when their notification was lost)."""
    show(ctx, ctx.call("NightlyReconciliationFunction", {"action": "poll"}))


# ---------------------------------------------------------------------------------------------- FBA
@cli.command("reconcile")
@click.option("--no-email", is_flag=True, help="Do not email the report.")
@click.option("--set", "changes", multiple=True, metavar="KEY=VALUE",
              help="Change an FBA reconciliation setting first (saved), e.g. --set tolerance=2.")
@command
def reconcile(ctx: Ctx, no_email: bool, changes: tuple[str, ...]) -> None:
    """Reconcile FBA stock (Amazon against the Brightpearl FBA warehouse) now."""
    out = _strip_ok(ctx.operator("reconcile-fba", email=not no_email, settings=_assignments(changes) or None))
    show(ctx, out)


@cli.command("show")
@click.option("--id", "recon_id", help="A reconciliation's id (default: the latest).")
@click.option("--sku", "skus", multiple=True, help="Only these SKUs (repeatable).")
@click.option("--status", help="Only lines with this status (e.g. correct, explained, match).")
@click.option("--limit", type=click.IntRange(0, 5000), default=100, show_default=True)
@click.option("--csv", "csv_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Also write the full CSV to this file.")
@command
def show_reconciliation(ctx: Ctx, recon_id: str | None, skus: tuple[str, ...], status: str | None, limit: int,
                        csv_file: Path | None) -> None:
    """Show an FBA reconciliation and its lines."""
    out = _strip_ok(ctx.operator("show-reconciliation", id=recon_id, skus=list(skus) or None, status=status,
                                 limit=limit, csv=bool(csv_file)))
    if csv_file is not None:
        csv_file.write_text(str(out.pop("csv", "")), encoding="utf-8")
    show(ctx, out)


@cli.command("approve")
@click.argument("recon_id", metavar="ID")
@click.option("--sku", "skus", multiple=True, help="Only these SKUs' corrections (repeatable).")
@click.option("--max-units", type=click.IntRange(min=1), help="At most this many units per SKU.")
@click.option("--dry-run", is_flag=True, help="Show what would be written; write nothing.")
@command
def approve(ctx: Ctx, recon_id: str, skus: tuple[str, ...], max_units: int | None, dry_run: bool) -> None:
    """Apply a reconciliation's suggested corrections to Brightpearl."""
    out = _strip_ok(ctx.operator("approve-reconciliation", id=recon_id, skus=list(skus) or None,
                                 maxUnits=max_units, dryRun=dry_run))
    show(ctx, out)


# ---------------------------------------------------------------------------------------------- explain
@cli.command("explain")
@click.argument("sku")
@command
def explain(ctx: Ctx, sku: str) -> None:
    """Both directions for one SKU: what was pushed to Amazon (links) and every Amazon movement booked
    into Brightpearl, and why."""
    movements = ctx.call("ReportRequestFunction", {"action": "explain", "sku": sku}).get("movements") or []
    rows = state.links(ctx.t, sku=sku)
    data = {"sku": sku, "toAmazon": rows, "fromAmazon": movements}

    def human() -> str:
        out = [f"{sku}", "", "Brightpearl → Amazon (links)", table([_link_row(r) for r in rows], _LINK_HEADERS),
               "", "Amazon → Brightpearl (movements)"]
        keys = sorted({k for m in movements for k in m})
        preferred = [k for k in ("created_at", "source", "kind", "quantity", "status", "reason", "error") if k in keys]
        out.append(table([[m.get(k) for k in preferred] for m in movements], preferred or ["movements"]))
        return "\n".join(out)

    show(ctx, data, human)


# ---------------------------------------------------------------------------------------------- removals
@cli.group("removals")
def removals() -> None:
    """FBA removal orders: units Amazon ships back (a transfer FBA → removal warehouse) or disposes of."""


def _removal_human(r: dict[str, Any]) -> str:
    out = [f"{r['order_id']}  {r['order_type']}  {r.get('status') or '?'}"
           f"{'  (finished)' if r.get('finished') else ''}"]
    rows = [[p.get("tracking") or p["package"], p.get("shipped_at"), p.get("transfer_id"),
             ", ".join(f"{s} {q}" for s, q in sorted((p.get("transferred") or {}).items())),
             ", ".join(f"{s} {q}" for s, q in sorted((p.get("received") or {}).items())),
             "received" if p.get("closed") else ("in transit" if p.get("shipped_in_brightpearl") else "waiting")]
            for p in r.get("packages") or []]
    if rows:
        out.append(table(rows, ["package", "shipped", "transfer", "transferred", "received", "state"]))
    if r.get("disposed_applied"):
        out.append("disposed (reduced in Brightpearl): " + ", ".join(
            f"{s} {q}" for s, q in sorted(r["disposed_applied"].items())))
    for what, why in sorted((r.get("errors") or {}).items()):
        out.append(f"waiting ({what}): {why}")
    return "\n".join(out)


@removals.command("list")
@command
def removals_list(ctx: Ctx) -> None:
    """The removal orders not finished yet."""
    out = ctx.call("RemovalsFunction", {"action": "list"}).get("removals") or []
    show(ctx, out, lambda: "\n\n".join(_removal_human(r) for r in out) or "no open removal order")


@removals.command("show")
@click.argument("order_id")
@command
def removals_show(ctx: Ctx, order_id: str) -> None:
    """One removal order: its packages, transfers, receipts, disposals and what waits."""
    out = _strip_ok(ctx.call("RemovalsFunction", {"action": "show", "order_id": order_id}))
    show(ctx, out, lambda: _removal_human(out))


@removals.command("receive")
@click.argument("order_id")
@click.option("--count", "counts", multiple=True, metavar="SKU=N",
              help="Units of SKU that arrived (repeatable); without any, everything shipped arrived.")
@command
def removals_receive(ctx: Ctx, order_id: str, counts: tuple[str, ...]) -> None:
    """Confirm what arrived of ORDER_ID's shipped packages: released from the removal warehouse's
    quarantine in Brightpearl; what arrived short is emailed."""
    parsed: dict[str, int] = {}
    for item in counts:
        sku, sep, n = item.rpartition("=")
        if not sep or not sku or not n.strip().isdigit():
            raise click.BadParameter(f"{item!r}: expected SKU=N (a whole number of units)", param_hint="--count")
        parsed[sku] = int(n)
    event: dict[str, Any] = {"action": "receive", "order_id": order_id}
    if counts:
        event["counts"] = parsed
    out = _strip_ok(ctx.call("RemovalsFunction", event))
    show(ctx, out, lambda: _removal_human(out) + (f"\nemailed: {out['emails']} short-arrival email(s)"
                                                  if out.get("emails") else ""))


# ---------------------------------------------------------------------------------------------- DLQs
@cli.group("dlq")
def dlq() -> None:
    """Dead-letter queues: stock-change, notifications, scheduled (failed scheduled runs)."""


def _dlq_name(name: str) -> str:
    try:
        return dlqs.resolve(name)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="QUEUE") from None


@dlq.command("list")
@click.argument("queue", required=False)
@click.option("--max", "limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@command
def dlq_list(ctx: Ctx, queue: str | None, limit: int) -> None:
    """Messages on one DLQ (default: all three): id, age, receives, and the reason if the message says."""
    names = [_dlq_name(queue)] if queue else list(dlqs.DLQS)
    data = {n: dlqs.list_messages(ctx.t, n, limit) for n in names}
    show(ctx, data, lambda: "\n\n".join(
        f"{n}\n" + table([[m["messageId"], _age(m["ageSeconds"]), m["receiveCount"], m["reason"] or "(see the log)"]
                          for m in msgs], ["message id", "age", "receives", "reason"]) for n, msgs in data.items()))


@dlq.command("replay")
@click.argument("queue")
@click.option("--max", "limit", type=click.IntRange(1, 10000), default=1000, show_default=True)
@click.option("--yes", is_flag=True, help="Do not ask first.")
@command
def dlq_replay(ctx: Ctx, queue: str, limit: int, yes: bool) -> None:
    """Move a DLQ's messages back to their queue (after the fix): the work is idempotent."""
    name = _dlq_name(queue)
    if not yes and not ctx.json and sys.stdin.isatty():
        click.confirm(f"Replay up to {limit} message(s) from {name}?", abort=True)
    out = dlqs.replay(ctx.t, name, limit)
    show(ctx, out, lambda: f"replayed {out['replayed']} message(s) from {name} to {out['to']}"
         + "".join(f"\n  not replayed {f['messageId']}: {f['error']}" for f in out["failed"]))
    if out["failed"]:
        raise click.exceptions.Exit(REFUSED)


def _age(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


# ---------------------------------------------------------------------------------------------- setup
_MARK = {"ok": "✔", "changed": "✔", "warning": "!", "failed": "✘", "skipped": "-"}


@cli.command("setup")
@click.argument("steps", nargs=-1, type=click.Choice(setup_steps.STEPS))
@click.option("--brightpearl", "brightpearl_file", type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
              help="Brightpearl credentials to merge into its secret (a JSON object).")
@click.option("--amazon", "amazon_file", type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
              help="Amazon LWA credentials to merge into its secret (a JSON object).")
@click.option("--replace-subscriptions", is_flag=True,
              help="Move SP-API subscriptions that point at another destination to this stack's.")
@click.option("--probe-product", type=click.IntRange(min=1),
              help="Brightpearl product id the health check's webhook test names (default 1).")
@click.option("--timeout", type=click.FloatRange(min=1), default=300, show_default=True,
              help="Seconds the health check waits for each path.")
@command
def setup(ctx: Ctx, steps: tuple[str, ...], brightpearl_file: Path | None, amazon_file: Path | None,
          replace_subscriptions: bool, probe_product: int | None, timeout: float) -> None:
    """Onboarding after `sam deploy`: secrets, Brightpearl webhook, SP-API notifications, SES, health check.

    Every step is idempotent; give step names to run only those (e.g. `setup check`). Exit 1 if a step
    failed; warnings (SES sandbox, an unconfirmed alarm email) say what to do and exit 0."""
    runner = setup_steps.Setup(ctx.t, brightpearl_file=brightpearl_file, amazon_file=amazon_file,
                               replace_subscriptions=replace_subscriptions, probe_product=probe_product,
                               timeout=timeout, progress=lambda m: click.echo(m, err=True))
    done = runner.run(steps or setup_steps.STEPS)
    ok = all(s.status != setup_steps.FAILED for s in done)
    data = {"ok": ok, "steps": [s.as_dict() for s in done]}
    show(ctx, data, lambda: "\n".join(
        f"{_MARK[s.status]} {s.step:<13} {s.status:<8} {s.summary}" + "".join(f"\n    todo: {t}" for t in s.todo)
        for s in done))
    if not ok:
        raise click.exceptions.Exit(REFUSED)


# ---------------------------------------------------------------------------------------------- shadow mode
@cli.group("shadow")
def shadow() -> None:
    """Shadow mode (onboarding): a feature computes everything, writes nothing, and records per SKU what
    it would have done. Features: mfn, movements, inbound, reconciliation. See docs/shadow-mode.md."""


@shadow.command("status")
@command
def shadow_status(ctx: Ctx) -> None:
    """Which features are in shadow, and each one's summary line."""
    out = _strip_ok(ctx.operator("shadow-status"))
    show(ctx, out, lambda: "\n".join(f"{f:<15} {'SHADOW' if v['shadow'] else 'live':<7} {v['headline']}"
                                      for f, v in out["features"].items()))


@shadow.command("report")
@click.argument("feature", required=False)
@click.option("--csv", "csv_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the per-SKU plan (every row) to this CSV file.")
@click.option("--email", is_flag=True, help="Also email the summary (once per distinct plan).")
@click.option("--limit", type=click.IntRange(0, 5000), default=20, show_default=True, help="Rows shown per feature.")
@command
def shadow_report(ctx: Ctx, feature: str | None, csv_file: Path | None, email: bool, limit: int) -> None:
    """What each feature (or FEATURE) would have done: the summary and the largest changes."""
    out = _strip_ok(ctx.operator("shadow-report", feature=feature, csv=bool(csv_file), email=email, limit=limit))
    if csv_file is not None:
        csv_file.write_text("".join(str(v.pop("csv", "")) if i == 0 else
                                    "".join(str(v.pop("csv", "")).splitlines(keepends=True)[1:])
                                    for i, v in enumerate(out["features"].values())), encoding="utf-8")

    def human() -> str:
        lines = []
        for v in out["features"].values():
            lines.append(v["headline"])
            if v["rows"]:
                lines.append(table([[r["sku"], r["marketplace"] or "", r["now"], r["wouldBe"], r["change"]]
                                    for r in v["rows"]], ["sku", "marketplace", "now", "would be", "change"]))
        if out.get("emailed"):
            lines.append("emailed: " + ", ".join(out["emailed"]))
        return "\n".join(lines)

    show(ctx, out, human)


@shadow.command("on")
@click.argument("feature")
@command
def shadow_on(ctx: Ctx, feature: str) -> None:
    """Put FEATURE in shadow: from its next write on, nothing is written to Brightpearl or Amazon."""
    out = _strip_ok(ctx.operator("shadow-on", feature=feature))
    show(ctx, out, lambda: f"{feature}: shadow on (in shadow: {', '.join(out['features'])})")


@shadow.command("off")
@click.argument("feature")
@command
def shadow_off(ctx: Ctx, feature: str) -> None:
    """Switch FEATURE live and apply today's plan (MFN: push every listing's current quantity)."""
    out = _strip_ok(ctx.operator("shadow-off", feature=feature))
    show(ctx, out, lambda: f"{feature}: live; applied {out['applied']}; plan entries cleared: {out['cleared']}")


def main() -> None:
    # Quiet the functions' own log lines when run in-process (--local); a deployed stack logs to CloudWatch.
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    cli(prog_name="connector")
