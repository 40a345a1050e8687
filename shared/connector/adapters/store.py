"""DynamoDB tables through pynamodb: one table per aggregate (see docs/architecture.md for why).

Table names are not known at import time (CloudFormation names them; tests and the local run
create their own), so :func:`bind` sets each model's table name, region and endpoint from the
environment before first use. The key schemas here must match template.yaml; a test compares them.

The models are declarative: runs of ``name = XAttribute(null=True)`` look alike across models, but each
names a different field of a different table, so they stay spelled out per table (pynamodb would take
attributes from a mixin, at the price of a table's schema no longer being readable in one place).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.exceptions import PutError, UpdateError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from connector.adapters import pynamodb_session
from connector.domain.errors import Conflict

pynamodb_session.install()


class _Meta:
    table_name = "unbound"
    region = "eu-west-1"
    host: str | None = None


class Setting(Model):
    """Merchant settings: one item per scope (``global``, ``channel#<marketplaceId>``)."""

    class Meta(_Meta):
        env_var = "SETTINGS_TABLE"

    key = UnicodeAttribute(hash_key=True)
    value = JSONAttribute(default=dict)
    updated_at = UTCDateTimeAttribute(null=True)
    # Send-once email keys (``mail#…``, issue 12): a claim's lease and the table's TTL attribute. Every
    # function that emails already reads and writes this table.
    lease_until = NumberAttribute(null=True)
    expires_at = TTLAttribute(null=True)
    version = VersionAttribute()


class ListingsByChannelProduct(GlobalSecondaryIndex["ListingLink"]):
    """Keys only, one partition per channel, sorted by product: a batch of stock changes finds its links
    with one Query per id range instead of one per product (``LinkRepository.by_products``)."""

    class Meta:
        index_name = "by_channel_product"
        projection = KeysOnlyProjection()

    fulfillment_channel = UnicodeAttribute(hash_key=True)
    product_id = NumberAttribute(range_key=True)


class ListingsByPendingFeed(GlobalSecondaryIndex["ListingLink"]):
    """Sparse: only links with a feed message in flight carry ``pending_feed_id``, so a feed's result
    finds its listings with one query instead of a scan of every link."""

    class Meta:
        index_name = "by_pending_feed"
        projection = AllProjection()

    pending_feed_id = UnicodeAttribute(hash_key=True)


class ListingLink(Model):
    """A connected Amazon listing (seller, marketplace, SKU, channel) ⇄ one Brightpearl product."""

    class Meta(_Meta):
        env_var = "LISTINGS_TABLE"

    listing_id = UnicodeAttribute(hash_key=True)  # "<marketplaceId>#<sku>"
    seller_id = UnicodeAttribute()
    marketplace_id = UnicodeAttribute()
    sku = UnicodeAttribute()
    product_id = NumberAttribute()
    fulfillment_channel = UnicodeAttribute(default="MFN")  # MFN or FBA; FBA is never pushed
    last_pushed_quantity = NumberAttribute(null=True)
    last_confirmed_quantity = NumberAttribute(null=True)
    last_push_at = UTCDateTimeAttribute(null=True)
    last_result = UnicodeAttribute(null=True)
    buffer = JSONAttribute(null=True)
    # "confirmed": Amazon holds this SKU for the seller; "not-found": it does not (never pushed, flagged);
    # absent: not checked yet (checked before the first push).
    amazon_status = UnicodeAttribute(null=True)
    # The feed message in flight: {"feed": id, "msg": n, "q": quantity, "at": ISO time}.
    pending_feed = JSONAttribute(null=True)
    pending_feed_id = UnicodeAttribute(null=True)  # the same feed id, as the by_pending_feed index key
    by_channel_product = ListingsByChannelProduct()
    by_pending_feed = ListingsByPendingFeed()
    version = VersionAttribute()


class ShipmentSku(MapAttribute[str, Any]):
    sku = UnicodeAttribute()
    product_id = NumberAttribute(null=True)
    expected = NumberAttribute(default=0)
    transferred = NumberAttribute(default=0)
    received = NumberAttribute(default=0)
    released = NumberAttribute(default=0)
    short = NumberAttribute(default=0)  # expected units the source warehouse lacked at transfer time
    corrected = NumberAttribute(default=0)  # received beyond the transfer, added to the FBA warehouse by correction
    source = UnicodeAttribute(null=True)  # where `received` came from: v0, ledger or v0+ledger


class ShipmentsByPhase(GlobalSecondaryIndex["InboundShipment"]):
    """Sparse: only unfinished shipments ("open", by id) and finished ones of settled plans ("plan_done", by
    when they finished) carry ``phase``, so a run's reads do not grow with the shipments finished long ago."""

    class Meta:
        index_name = "by_phase"
        projection = AllProjection()

    phase = UnicodeAttribute(hash_key=True)
    phase_at = UnicodeAttribute(range_key=True)


class ShipmentsByTransfer(GlobalSecondaryIndex["InboundShipment"]):
    """Sparse: shipments with a stock transfer, by its id (the highest one is one Query of one key)."""

    class Meta:
        index_name = "by_transfer"
        projection = KeysOnlyProjection()

    transfer_key = UnicodeAttribute(hash_key=True)
    stock_transfer_id = NumberAttribute(range_key=True)


class InboundShipment(Model):
    """An Amazon FBA inbound shipment and its Brightpearl transfer, per SKU."""

    class Meta(_Meta):
        env_var = "SHIPMENTS_TABLE"

    shipment_id = UnicodeAttribute(hash_key=True)
    status = UnicodeAttribute()
    status_history = ListAttribute[Any](default=list)
    skus = ListAttribute(of=ShipmentSku, default=list)
    stock_transfer_id = NumberAttribute(null=True)
    goods_out_note_id = NumberAttribute(null=True)
    emails_sent = ListAttribute[Any](default=list)
    updated_at = UTCDateTimeAttribute(null=True)
    version = VersionAttribute()
    # Issue 5 (see docs/inbound-shipments.md): where the Brightpearl side of the shipment is.
    name = UnicodeAttribute(null=True)
    plan_id = UnicodeAttribute(null=True)  # 2024-03-20 inboundPlanId, when seen through a plan
    reference = UnicodeAttribute(null=True)  # the stock transfer's reference, AMZ-IN-<shipment id>
    source_warehouse_id = NumberAttribute(null=True)
    target_warehouse_id = NumberAttribute(null=True)
    transfer_attempted = BooleanAttribute(default=False)  # a create was sent: look it up before sending again
    transfer_hwm = NumberAttribute(null=True)  # highest transfer id in Brightpearl just before the create
    undo = JSONAttribute(null=True)  # cancelled shipment: what was undone in Brightpearl (note deleted, units back)
    plan_shipment_id = UnicodeAttribute(null=True)  # 2024-03-20 shipmentId (sh…), for listShipmentItems
    plan_shipments = JSONAttribute(null=True)  # the settled plan's shipments {shipmentId: v0 id}: not re-read
    receipts = JSONAttribute(null=True)  # ledger Receipts rows of this shipment: {"rows": {key: [sku, qty]}, ...}
    bp_shipped = BooleanAttribute(default=False)
    pending = JSONAttribute(null=True)  # a release/correction sent but not yet confirmed
    finished = BooleanAttribute(default=False)  # final status handled; polled no more
    phase = UnicodeAttribute(null=True)  # by_phase's keys, set from the record on each save (inbound_records)
    phase_at = UnicodeAttribute(null=True)
    transfer_key = UnicodeAttribute(null=True)  # "t" once stock_transfer_id is set (by_transfer)
    by_phase = ShipmentsByPhase()
    by_transfer = ShipmentsByTransfer()


class MovementsBySku(GlobalSecondaryIndex["StockMovement"]):
    class Meta:
        index_name = "by_sku"
        projection = AllProjection()

    sku = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class MovementsAwaitingRetry(GlobalSecondaryIndex["StockMovement"]):
    """Sparse: only movements the hourly retry must drive again carry ``awaiting_retry``, so the retry
    index is a query, not one item that grows with every pending movement (400 KB at ~1 500)."""

    class Meta:
        index_name = "by_retry"
        projection = AllProjection()

    awaiting_retry = UnicodeAttribute(hash_key=True)


class StockMovement(Model):
    """The audit and de-duplication ledger: one item per movement, keyed deterministically by its source."""

    class Meta(_Meta):
        env_var = "MOVEMENTS_TABLE"

    movement_key = UnicodeAttribute(hash_key=True)  # e.g. "ledger#<report natural key>"
    source = UnicodeAttribute()
    sku = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    product_id = NumberAttribute(null=True)
    warehouse_id = NumberAttribute(null=True)
    quantity = NumberAttribute(default=0)
    status = UnicodeAttribute(default="pending")  # pending / applied / failed / skipped / unmatched
    reason = UnicodeAttribute(null=True)
    brightpearl_ids = ListAttribute[Any](default=list)
    error = UnicodeAttribute(null=True)
    # Issue 6: what the movement is and where it came from (the audit trail; see docs/movements.md).
    kind = UnicodeAttribute(null=True)  # lost / found / damaged / customer_return / fba_return / deemed ...
    ref = UnicodeAttribute(null=True)  # the short reference Brightpearl carries (reason / externalRef)
    match_key = UnicodeAttribute(null=True)  # links rows describing the same units (double-count rules)
    line = NumberAttribute(null=True)  # line of the source report where the row was first read
    report_id = UnicodeAttribute(null=True)
    updated_at = UTCDateTimeAttribute(null=True)
    detail = JSONAttribute(null=True)  # the plan, enough to re-drive the movement without its report
    awaiting_retry = UnicodeAttribute(null=True)  # "retry" while in a RETRY state, absent otherwise
    by_sku = MovementsBySku()
    by_retry = MovementsAwaitingRetry()
    version = VersionAttribute()


class ReportJobsByReportId(GlobalSecondaryIndex["ReportJob"]):
    class Meta:
        index_name = "by_report_id"
        projection = AllProjection()

    report_id = UnicodeAttribute(hash_key=True)


class ReportJob(Model):
    """One Amazon report request and where it is: requested → … → applied. Cursors live here too."""

    class Meta(_Meta):
        env_var = "REPORT_JOBS_TABLE"

    job_id = UnicodeAttribute(hash_key=True)
    report_type = UnicodeAttribute()
    status = UnicodeAttribute(default="requested")
    report_id = UnicodeAttribute(null=True)
    document_id = UnicodeAttribute(null=True)
    data_start = UTCDateTimeAttribute(null=True)
    data_end = UTCDateTimeAttribute(null=True)
    detail = JSONAttribute(null=True)
    requested_at = UTCDateTimeAttribute(null=True)
    updated_at = UTCDateTimeAttribute(null=True)
    error = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)  # page nonces (issue 17): the table's TTL attribute
    by_report_id = ReportJobsByReportId()
    version = VersionAttribute()


class GovernorItem(Model):
    """Shared rate budgets (token buckets) and short leases (locks), per key."""

    class Meta(_Meta):
        env_var = "GOVERNOR_TABLE"

    key = UnicodeAttribute(hash_key=True)
    tokens = NumberAttribute(default=0)
    refilled_at = NumberAttribute(default=0)
    owner = UnicodeAttribute(null=True)
    lease_until = NumberAttribute(null=True)
    expires_at = TTLAttribute(null=True)
    version = VersionAttribute()


MODELS: tuple[type[Model], ...] = (Setting, ListingLink, InboundShipment, StockMovement, ReportJob, GovernorItem)


def bind(environ: Mapping[str, str] | None = None, *, models: tuple[type[Model], ...] = MODELS) -> None:
    """Point each model at its table (name from its env var), region and optional local endpoint."""
    env = os.environ if environ is None else environ
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "eu-west-1"
    host = env.get("AWS_ENDPOINT_URL_DYNAMODB") or env.get("AWS_ENDPOINT_URL")
    missing = [m.Meta.env_var for m in models if not env.get(m.Meta.env_var)]  # type: ignore[attr-defined]
    if missing:
        # Fail here, naming the variables, rather than later against a table called "unbound".
        from connector.config import ConfigError

        raise ConfigError("table variables not set: " + ", ".join(missing))
    for model in models:
        meta: Any = model.Meta
        name = env[meta.env_var]
        meta.table_name = name
        meta.region = region
        meta.host = host
        # pynamodb caches its connection per model; drop it so the new endpoint takes effect.
        model._connection = None


CONDITIONAL = "ConditionalCheckFailedException"


class ItemConflict(Conflict):
    """A conditional write lost (the item changed since it was read, or already exists): the port-level
    ``Conflict`` that the stores raise instead of pynamodb's ``PutError``/``UpdateError``."""


def is_conditional(exc: Exception) -> bool:
    """A pynamodb put/update/delete failed on its condition (not on a throttle or an outage)."""
    return getattr(exc, "cause_response_code", None) == CONDITIONAL


def create_if_absent(item: Any, key_attribute: Any) -> bool:
    """Save ``item`` only if no item has its key: True if it was created, False if one already existed
    (the first writer wins; a retry or a replay finds it taken). Other failures pass as they are."""
    try:
        item.save(condition=key_attribute.does_not_exist())
    except PutError as exc:
        if is_conditional(exc):
            return False
        raise
    return True


@contextmanager
def conflict_as(what: str) -> Iterator[None]:
    """Translate a conditional write's failure into ``ItemConflict`` naming ``what``; others pass as they are."""
    try:
        yield
    except (PutError, UpdateError) as exc:
        if is_conditional(exc):
            raise ItemConflict(f"{what} changed since it was read") from exc
        raise
