"""The whole connector on this machine: AWS (moto), both platform simulators, and the wiring between them.

``start_stack()`` does what every local run needs, in one place: the stack's AWS resources (moto server
from template.yaml, or a session's existing one), the Brightpearl and SP-API simulators (Amazon's
notifications go to the NotificationsQueue in moto), the functions' environment pointed at them, both
secrets stored, and this process as cold as a new Lambda container. ``stop()`` (or leaving the ``with``
block) stops what it started and puts the environment back, so tests can build one per test.

    with start_stack(marketplaces=(UK, DE), api=True) as stack:
        stack.bp.seed({...}); stack.amazon.seed({...})
        stack.link([(UK, "SHIRT-BL-M", 1007, "MFN")])
        stack.operator("set-settings", **{"global": {"mfn_warehouses": [2]}})
        stack.pump("StockChangeFunction")
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from contextlib import ExitStack
from types import TracebackType
from typing import Any, Self

from local import queues, runtime
from local.apigw import LocalHttpApi
from local.aws import LocalAws, put_secret, sent_emails, start_local_aws
from simulators.brightpearl import BrightpearlSimulator
from simulators.core import SimClock
from simulators.spapi import SpApiSimulator
from simulators.spapi.demo import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, UK
from simulators.spapi.server import EU_MARKETPLACES

_STRICT_PURGE = "MOTO_SQS_ENFORCE_STRICT_QUEUE_PURGE_BEHAVIOUR"  # moto's setting, read at each PurgeQueue

SELLER = "A1SELLER"
PAGE_SIGNING_KEY = "k" * 64  # the page links' HMAC key (CloudFormation generates the deployed one)
# For the demo and benchmarks: the functions log from warnings up, and their EMF metric lines (which
# CloudWatch would read) stay off, so the story or the figures are not buried. Set before the layer is
# first imported: Powertools reads them when it builds its logger.
QUIET = {"POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_METRICS_DISABLED": "true"}
# (marketplace id, Amazon SKU, Brightpearl product id, "MFN" or "FBA")
Link = tuple[str, str, int, str]


class OperatorError(RuntimeError):
    """The OperatorFunction answered ``ok: false``."""


class LocalStack:
    """A running local connector. Attributes: ``aws``, ``bp``, ``amazon``, ``api`` (or None)."""

    def __init__(self, aws: LocalAws, bp: BrightpearlSimulator, amazon: SpApiSimulator, api: LocalHttpApi | None,
                 webhook_token: str, cleanup: ExitStack) -> None:
        self.aws, self.bp, self.amazon, self.api = aws, bp, amazon, api
        # Issue 16: the stack's other SP-API regions, each its own simulator (own port, data, refresh token).
        self.regions: dict[str, SpApiSimulator] = {}
        self.webhook_token = webhook_token
        self._cleanup = cleanup

    def add_region(self, code: str, marketplaces: tuple[str, ...], *, rate_scale: float = 1.0,
                   inventory_page_size: int = 50) -> SpApiSimulator:
        """One more SP-API region (issue 16): its own simulator (own port and data, the home simulator's clock
        and notification queue), its own refresh token in the Amazon secret's ``region_refresh_tokens``,
        AMAZON_OTHER_REGIONS naming it; then this process is as cold as a new container."""
        queue = self.amazon.sqs.queue_url if self.amazon.sqs else None
        sim = SpApiSimulator(seller_id=SELLER, clock=self.amazon.clock, rate_scale=rate_scale, region=code,
                             marketplace_ids=marketplaces, refresh_token=f"{REFRESH_TOKEN}-{code}",
                             inventory_page_size=inventory_page_size, sqs_queue_url=queue,
                             sqs_endpoint_url=self.aws.endpoint if queue else None).start()
        self._cleanup.callback(sim.stop)
        self.regions[code] = sim
        _export(self._cleanup, {"AMAZON_OTHER_REGIONS": json.dumps({
            c: {"marketplace_ids": list(s.marketplace_ids), "endpoint": s.url,
                "lwa_token_url": f"{s.url}/auth/o2/token"} for c, s in self.regions.items()})})
        put_secret(self.aws, "AmazonSecret", {
            "refresh_token": REFRESH_TOKEN, "lwa_app_id": CLIENT_ID, "lwa_client_secret": CLIENT_SECRET,
            "region_refresh_tokens": {c: f"{REFRESH_TOKEN}-{c}" for c in self.regions}})
        self.cold_start()
        return sim

    # ------------------------------------------------------------------ running the functions
    def invoke(self, function_id: str, event: Mapping[str, Any] | None = None) -> Any:
        """Run one function's handler as Lambda would (logical id from template.yaml)."""
        return runtime.invoke(function_id, dict(event or {}))

    def pump(self, function_id: str, *, expire_visibility: bool = False) -> list[dict[str, Any]]:
        """Deliver what is on an SQS-triggered function's queue until it is empty."""
        return queues.pump(self.aws, function_id, expire_visibility=expire_visibility)

    def operator(self, command: str, **fields: Any) -> dict[str, Any]:
        """An OperatorFunction command; raises OperatorError when it answers ``ok: false``."""
        out = dict(runtime.invoke("OperatorFunction", {"command": command, **fields}))
        if out.get("ok") is False:
            raise OperatorError(f"{command}: {out}")
        return out

    def amazon_finishes(self, seconds: float = 120) -> None:
        """Amazon's simulated time passes: reports and feeds finish, and their notifications are delivered."""
        self.amazon.clock.advance(seconds)
        self.amazon.tick()
        for other in self.regions.values():  # they share the home simulator's clock
            other.tick()
        self.pump("NotificationsFunction")

    def report_cycle(self, hours: float = 5) -> None:
        """One report schedule: hours pass, the due reports are requested, Amazon finishes them, they apply."""
        self.amazon.clock.advance(hours * 3600)
        self.invoke("ReportRequestFunction", {})
        self.amazon_finishes()

    # ------------------------------------------------------------------ reading outcomes
    def emails(self, since: int = 0) -> list[dict[str, Any]]:
        """Emails SES has accepted (the whole moto session's), from index ``since``."""
        return sent_emails(self.aws)[since:]

    def register_stock_webhook(self) -> int:
        """Brightpearl's on-hand webhook pointed at the API stand-in with the stack's token (README step 3),
        registered in the simulator's world directly (the demo goes through the API instead)."""
        assert self.api, "start_stack(api=True) first"
        return int(self.bp.world.hooks.register_webhook({
            "subscribeTo": "product.modified.on-hand-modified", "httpMethod": "POST",
            "uriTemplate": f"{self.api.url}/brightpearl/webhook/{self.webhook_token}",
            "contentType": "application/json",
            "bodyTemplate": '{"accountCode":"${account-code}","resourceType":"${resource-type}",'
                            '"id":"${resource-id}","fullEvent":"${full-event}","raisedOn":"${raised-on}"}',
            "idSetAccepted": True, "qualityOfService": 1}))

    def drain(self, queue_id: str) -> list[dict[str, Any]]:
        """Receive and delete whatever is on a queue (logical id), e.g. another test's leftovers."""
        return queues.drain(self.aws.client("sqs"), self.aws.queue_url(queue_id))

    def purge(self, *queue_ids: str) -> None:
        """Forget every message on these queues, in flight too: another test's failed record waits out its
        visibility timeout invisible to ``drain`` and would arrive in the middle of the next test."""
        sqs = self.aws.client("sqs")
        # SQS allows one purge a minute per queue (moto too); tests purge between fixtures more often. The
        # connector never purges, so lifting the rule for the in-process moto server hides nothing of it.
        before = os.environ.get(_STRICT_PURGE)
        os.environ[_STRICT_PURGE] = "false"
        try:
            for queue_id in queue_ids:
                sqs.purge_queue(QueueUrl=self.aws.queue_url(queue_id))
        finally:
            if before is None:
                os.environ.pop(_STRICT_PURGE, None)
            else:
                os.environ[_STRICT_PURGE] = before

    # ------------------------------------------------------------------ seeding
    def reset(self, bp_seed: Mapping[str, Any], amazon_seed: Mapping[str, Any]) -> None:
        """Both simulators back to a fresh seeded world (between tests sharing one stack).

        The simulators forget the access tokens they issued, so this process forgets them too.
        """
        self.bp.reset()
        self.bp.seed(dict(bp_seed))
        self.amazon.reset()
        self.amazon.seed(dict(amazon_seed))
        _forget_credentials()

    def link(self, links: Iterable[Link], *, replace: bool = True) -> None:
        """Store listing links, as the operator's ``connect`` does (``replace``: instead of every other link).

        Replacing writes in batches (no link to read first), so tens of thousands are quick (benchmarks).
        """
        from connector.adapters.repositories import LinkRepository, listing_id
        from connector.adapters.store import ListingLink

        seller = self.amazon.seller_id
        if not replace:
            for marketplace_id, sku, product_id, channel in links:
                LinkRepository().connect(seller_id=seller, marketplace_id=marketplace_id, sku=sku,
                                         product_id=product_id, channel=channel)
            return
        self.clear(ListingLink)
        with ListingLink.batch_write() as batch:
            for marketplace_id, sku, product_id, channel in links:
                batch.save(ListingLink(listing_id(marketplace_id, sku), seller_id=seller, marketplace_id=marketplace_id,
                                       sku=sku, product_id=product_id, fulfillment_channel=channel))

    @staticmethod
    def clear(*models: Any) -> None:
        """Delete every item of these pynamodb models' tables (state another test or run left behind)."""
        for model in models:
            with model.batch_write() as batch:
                for item in model.scan():
                    batch.delete(item)

    def cold_start(self) -> None:
        """Forget what a warm Lambda would keep: imported handlers, cached secrets and tokens, memoised wiring.

        The layer's modules stay imported across ``forget_loaded()`` (they are shared), so their own
        caches are emptied here too.
        """
        _forget_credentials()
        runtime.forget_loaded()  # each handler module holds its Parts and cached use cases

    # ------------------------------------------------------------------ lifetime
    def stop(self) -> None:
        self._cleanup.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def start_stack(*, aws: LocalAws | None = None, marketplaces: tuple[str, ...] = (UK,),
                clock: SimClock | None = None, bp_limit: int = 200, bp_window_seconds: float = 60.0,
                amazon_rate_scale: float = 1.0, amazon_marketplaces: tuple[str, ...] | None = None,
                inventory_page_size: int = 50, notifications: bool = True, api: bool = False,
                movements_clock: bool = False, webhook_token: str = "w" * 40,
                env: Mapping[str, str] | None = None,
                other_regions: Mapping[str, tuple[str, ...]] | None = None) -> LocalStack:
    """Start the simulators (and moto, unless ``aws`` is given) and point the connector at them.

    - ``clock``: one simulated clock for both simulators (e.g. ``SimClock(speed=0)``: time moves only when
      advanced); by default each keeps its own, running in real time.
    - ``marketplaces``: the stack's AMAZON_MARKETPLACE_IDS; ``amazon_marketplaces`` the simulator's own
      (default: every EU marketplace).
    - ``bp_limit`` / ``bp_window_seconds``: Brightpearl's request budget, given to the simulator and to the
      connector's governor alike (they must agree, or the connector would be throttled or slowed).
    - ``notifications``: Amazon sends its notifications to the NotificationsQueue.
    - ``movements_clock``: the movements' clock (report windows, cadences) reads the simulated clock.
    - ``api``: an API Gateway stand-in in front of the webhook function.
    - ``env``: more variables for the functions (e.g. log level).
    - ``other_regions``: the stack's other SP-API regions (issue 16), region → its marketplaces: one more
      SP-API simulator each (own port and data, the home simulator's clock, its own refresh token in the
      Amazon secret's ``region_refresh_tokens``), named in AMAZON_OTHER_REGIONS; ``stack.regions[code]``.
    """
    cleanup = ExitStack()
    try:
        own_aws = aws is None
        if aws is None:
            aws = start_local_aws()
            cleanup.callback(aws.stop)
            aws.apply_env()
        # Before the layer is first imported: Powertools reads e.g. its log level when it builds the logger.
        _export(cleanup, env or {})
        if own_aws:  # (a given ``aws`` is already bound, e.g. by the tests' session fixture)
            from connector.adapters import store

            store.bind()
        bp = BrightpearlSimulator(account=aws.parameters["BrightpearlAccount"], clock=clock, limit=bp_limit,
                                  window_seconds=bp_window_seconds).start()
        cleanup.callback(bp.stop)
        queue = aws.queue_url("NotificationsQueue") if notifications else None
        amazon = SpApiSimulator(seller_id=SELLER, clock=clock, rate_scale=amazon_rate_scale,
                                inventory_page_size=inventory_page_size, sqs_queue_url=queue,
                                sqs_endpoint_url=aws.endpoint if queue else None,
                                marketplace_ids=amazon_marketplaces or EU_MARKETPLACES).start()
        cleanup.callback(amazon.stop)
        api_server = LocalHttpApi().start() if api else None
        if api_server:
            cleanup.callback(api_server.stop)
            # The stack output WebhookBaseUrl, locally (the CLI's `setup --local` registers the webhook there).
            _export(cleanup, {"LOCAL_WEBHOOK_BASE_URL": f"{api_server.url}/brightpearl/webhook"})
        _export(cleanup, {
            "BRIGHTPEARL_BASE_URL": bp.url, "BRIGHTPEARL_REQUESTS_PER_WINDOW": str(bp_limit),
            "BRIGHTPEARL_WINDOW_SECONDS": _number(bp_window_seconds),
            "SP_API_ENDPOINT": amazon.url, "LWA_TOKEN_URL": f"{amazon.url}/auth/o2/token",
            "AMAZON_SELLER_ID": SELLER, "AMAZON_MARKETPLACE_IDS": ",".join(marketplaces)})
        if api_server:  # the emails' page links point at the API stand-in (PAGE_BASE_URL is per function)
            _export(cleanup, {"PAGE_BASE_URL": api_server.url})
        if movements_clock:
            _patch_movements_clock(cleanup, amazon.clock.now)
        put_secret(aws, "BrightpearlSecret", {"auth": "private", "app_ref": "acme_connector",
                                              "account_token": "account-token"})
        put_secret(aws, "WebhookSecret", {"webhook_token": webhook_token})
        put_secret(aws, "PageLinkSecret", {"signing_key": PAGE_SIGNING_KEY})
        put_secret(aws, "AmazonSecret", {"refresh_token": REFRESH_TOKEN, "lwa_app_id": CLIENT_ID,
                                         "lwa_client_secret": CLIENT_SECRET})
        stack = LocalStack(aws, bp, amazon, api_server, webhook_token, cleanup)
        for code, mids in (other_regions or {}).items():
            stack.add_region(code, mids, rate_scale=amazon_rate_scale, inventory_page_size=inventory_page_size)
        stack.cold_start()
        # Leave nothing warm behind for whoever runs next in this process (another test module).
        cleanup.callback(stack.cold_start)
        return stack
    except BaseException:
        cleanup.close()
        raise


def _forget_credentials() -> None:
    """Drop Powertools' cached secrets and the SP-API access tokens held in this process."""
    from aws_lambda_powertools.utilities import parameters
    from sp_api.auth import access_token_client

    parameters.clear_caches()
    access_token_client.cache.clear()


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _export(cleanup: ExitStack, values: Mapping[str, str]) -> None:
    """Set environment variables until ``cleanup`` closes, then put back what was there."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)

    def restore() -> None:
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old

    cleanup.callback(restore)


def _patch_movements_clock(cleanup: ExitStack, now: Callable[[], Any]) -> None:
    from connector.wiring import parts

    saved = parts.CLOCK
    parts.CLOCK = now
    cleanup.callback(setattr, parts, "CLOCK", saved)
