"""Shadow mode (issue 16 item 4): a feature computes everything and writes nothing to either platform.

The gate sits at the write ports, not in the use cases: each gate below wraps one port and, while its
feature is in shadow (``GlobalSettings.shadow``, read at every write, so switching takes effect at the
next write in every container), records the write in the plan store (``ShadowPlans``) per SKU instead of
making it, and answers as the platform would have, so the use case runs the very same code.

- ``ShadowListings`` (+ ``ShadowLinks``): MFN pushes (patch and JSON_LISTINGS_FEED) are recorded with what
  Amazon shows now; the links' push bookkeeping of a recorded push is dropped, so a listing still holds
  what Amazon really has and turning shadow off pushes today's quantity.
- ``ShadowMovements`` (+ ``ShadowMovementStore``): stock corrections, sales credits and their goods-in are
  recorded with Brightpearl's on-hand now; the gate answers with negative ids (no Brightpearl id is
  negative) and the store marks such a movement ``observed``: final, never written, never applied later.

``Shadow`` is the operator's side: status, the summary (CLI and email), and switching a feature off.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from connector.domain.errors import PortError
from connector.domain.listings import ListingLookup, PatchOutcome, QuantityUpdate
from connector.domain.movement_records import MovementRecord
from connector.domain.movements import APPLIED, OBSERVED, StockCorrection
from connector.domain.returns import CreditRow
from connector.domain.settings import GlobalSettings, listing_id
from connector.domain.shadow import (
    FEATURES,
    INBOUND,
    MFN,
    MOVEMENTS,
    RECONCILIATION,
    PlanEntry,
    check_feature,
    csv_text,
    fingerprint,
    ranked,
    signed,
    summarize,
)
from connector.observability import logger
from connector.usecases.ports import Links, Listings, Movements, MovementStore, OnceMail, Settings, ShadowPlans

Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


class ShadowSwitch:
    """Is ``feature`` in shadow right now? Read from the settings at each write (one GetItem per write
    call: a patch, a feed, a request of 100 corrections), never cached: a feature switched into shadow
    must not write once more from a container that read the settings earlier."""

    def __init__(self, settings: Callable[[], GlobalSettings], feature: str) -> None:
        self.settings = settings
        self.feature = check_feature(feature)

    def __call__(self) -> bool:
        return self.feature in self.settings().shadow


# ---------------------------------------------------------------------------------------------- MFN push


class ShadowListings:
    """The ``Listings`` port with MFN shadow: reads pass through, pushes are recorded while in shadow."""

    def __init__(self, inner: Listings, plans: ShadowPlans, on: Callable[[], bool], *, clock: Clock = _now) -> None:
        self.inner, self.plans, self.on, self.clock = inner, plans, on, clock
        # SKUs whose latest push this process recorded instead of sending (their bookkeeping is dropped)
        self.shadowed: set[str] = set()

    def lookup(self, sku: str, marketplace_id: str) -> ListingLookup:
        return self.inner.lookup(sku, marketplace_id)

    def current_availability(self, sku: str, marketplace_id: str) -> dict[str, Any] | None:
        return self.inner.current_availability(sku, marketplace_id)

    def feed_status(self, feed_id: str) -> dict[str, Any]:
        return self.inner.feed_status(feed_id)

    def feed_report(self, result_document_id: str) -> dict[str, Any]:
        return self.inner.feed_report(result_document_id)

    def patch(self, update: QuantityUpdate) -> PatchOutcome:
        if not self.on():
            self.shadowed.discard(update.sku)  # sent for real: its bookkeeping is written again
            return self.inner.patch(update)
        self._record([update])
        return PatchOutcome(update.sku, True)

    def submit_feed(self, marketplace_id: str, updates: list[QuantityUpdate]) -> tuple[str, dict[int, str]]:
        if not self.on():
            self.shadowed.difference_update(u.sku for u in updates)
            return self.inner.submit_feed(marketplace_id, updates)
        self._record(updates)
        return f"shadow-{fingerprint(self._entries(updates))}", {i: u.sku for i, u in enumerate(updates, start=1)}

    def _entries(self, updates: Sequence[QuantityUpdate]) -> list[PlanEntry]:
        at = self.clock().isoformat()
        return [PlanEntry(MFN, listing_id(u.marketplace_id, u.sku), u.sku, u.quantity, u.shown,
                          marketplace_id=u.marketplace_id, at=at) for u in updates]

    def _record(self, updates: Sequence[QuantityUpdate]) -> None:
        self.plans.put(self._entries(updates))
        self.shadowed.update(u.sku for u in updates)
        logger.info("shadow: listing pushes recorded, not sent", extra={"listings": len(updates)})


class ShadowLinks:
    """The ``Links`` port beside :class:`ShadowListings`: the bookkeeping of a push recorded in shadow is
    not written (a link keeps what Amazon really confirmed), everything else passes through. By SKU: an EU
    SKU's one push stands for its sibling listings too."""

    def __init__(self, inner: Links, listings: ShadowListings) -> None:
        self.inner, self.listings = inner, listings

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def _live(self, sku: str) -> bool:
        return sku not in self.listings.shadowed

    def record_push(self, link_id: str, *, quantity: int, confirmed: bool, result: str) -> None:
        if self._live(link_id.split("#", 1)[1]):
            self.inner.record_push(link_id, quantity=quantity, confirmed=confirmed, result=result)

    def record_pushes(self, outcomes: Iterable[tuple[Any, int, bool, str]]) -> None:
        self.inner.record_pushes(o for o in outcomes if self._live(o[0].sku))

    def record_feed_sent(self, sent: Iterable[tuple[Any, int, str, int]]) -> None:
        self.inner.record_feed_sent(s for s in sent if self._live(s[0].sku))


# ---------------------------------------------------------------------------------------------- movements

_REF = re.compile(r"\[([^\]]+)\]")
SkusOf = Callable[[Iterable[int]], dict[int, str]]


class ShadowMovements:
    """The ``Movements`` port with shadow (feature ``movements``, or ``reconciliation`` for the FBA
    reconciliation's corrections): reads pass through; corrections, credits and goods-in are recorded per
    SKU with the product's on-hand now, and answered with negative ids."""

    def __init__(self, inner: Movements, plans: ShadowPlans, on: Callable[[], bool], *, feature: str = MOVEMENTS,
                 skus_of: SkusOf | None = None, clock: Clock = _now) -> None:
        self.inner, self.plans, self.on, self.clock = inner, plans, on, clock
        self.feature = check_feature(feature)
        self.skus_of = skus_of

    def __getattr__(self, name: str) -> Any:  # the reads: default_location, find_*, on_hand, order, credit
        return getattr(self.inner, name)

    def post_corrections(self, warehouse_id: int, corrections: list[StockCorrection]) -> list[int]:
        if not self.on():
            return self.inner.post_corrections(warehouse_id, corrections)
        moves: dict[int, dict[str, int]] = {}
        for c in corrections:
            found = _REF.search(c.reason)
            moves.setdefault(c.product_id, {})[found.group(1) if found else c.reason] = c.quantity
        self._record(warehouse_id, moves)
        return [-1] * len(corrections)

    def create_credit(self, ref: str, order: dict[str, Any], rows: list[CreditRow], *, placed_on: datetime,
                      currency: str) -> int:
        if not self.on():
            return self.inner.create_credit(ref, order, rows, placed_on=placed_on, currency=currency)
        # A credit moves no stock: recorded as a write of 0 units on each product it credits.
        self._record(None, {r.product_id: {f"{ref}#credit": 0} for r in rows if r.product_id is not None})
        return -1

    def goods_in(self, credit_id: int, ref: str, warehouse_id: int, order: dict[str, Any], rows: list[CreditRow],
                 sellable: set[int], *, received_on: datetime, currency: str) -> int | None:
        if not self.on() and credit_id > 0:
            return self.inner.goods_in(credit_id, ref, warehouse_id, order, rows, sellable,
                                       received_on=received_on, currency=currency)
        moves: dict[int, dict[str, int]] = {}
        for r in rows:
            if r.product_id is not None and r.product_id in sellable and r.quantity:
                moves.setdefault(r.product_id, {})[f"{ref}#goods-in"] = abs(r.quantity)
        if not moves:
            return None
        self._record(warehouse_id, moves)
        return -1

    def find_goods_in(self, credit_id: int, batch_reference: str) -> int | None:
        return None if credit_id < 0 else self.inner.find_goods_in(credit_id, batch_reference)

    def credit(self, credit_id: int) -> dict[str, Any] | None:
        return None if credit_id < 0 else self.inner.credit(credit_id)

    def _record(self, warehouse_id: int | None, moves: Mapping[int, Mapping[str, int]]) -> None:
        pids = sorted(moves)
        shows: dict[int, int] = {}
        if warehouse_id is not None and pids:
            try:
                shows = self.inner.on_hand(warehouse_id, pids)  # what Brightpearl shows now (a read)
            except PortError:
                shows = {}
        skus = self.skus_of(pids) if self.skus_of is not None else {}
        at = self.clock().isoformat()
        for pid in pids:
            sku = skus.get(pid) or f"product {pid}"
            template = PlanEntry(self.feature, sku, sku, 0, shows.get(pid), product_id=pid, at=at)
            self.plans.add_moves(template, moves[pid])
        logger.info("shadow: Brightpearl writes recorded, not sent", extra={"feature": self.feature,
                                                                            "products": len(pids)})


def is_shadow(rec: MovementRecord) -> bool:
    """A movement the shadow gate answered (negative ids): nothing of it reached Brightpearl."""
    return any(int(i) < 0 for i in rec.brightpearl_ids or []) or int(rec.detail.get("credit_id") or 0) < 0


def _observed(rec: MovementRecord) -> MovementRecord:
    if is_shadow(rec) and rec.status != OBSERVED:
        done = rec.status == APPLIED
        rec.status = OBSERVED
        rec.reason = (f"{rec.reason or ''}; shadow mode: observed only, nothing written to Brightpearl"
                      + ("" if done else " (recorded before it finished)")).lstrip("; ")
    return rec


class ShadowMovementStore:
    """The ``MovementStore`` beside :class:`ShadowMovements`: a movement the gate answered is saved as
    ``observed`` (final) whatever status the use case gave it, so it is never written to Brightpearl, not
    later either (re-read rows, re-delivered messages, the hourly retry and shadow off all find it final)."""

    def __init__(self, inner: MovementStore) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def save(self, rec: MovementRecord) -> None:
        self.inner.save(_observed(rec))

    def save_many(self, recs: Iterable[MovementRecord]) -> set[str]:
        return self.inner.save_many([_observed(r) for r in recs])


# ---------------------------------------------------------------------------------------------- the operator


class Shadow:
    """Status, the summary (CLI and email, through the one design and send-once) and switching off.

    Switching off: MFN pushes every MFN listing of each channel whose sync is on, forced, from today's
    Brightpearl figures (not the quantities recorded weeks ago); the stock features apply nothing from the
    shadow period (docs/shadow-mode.md: the movements seen then are observed only; the FBA reconciliation
    brings Brightpearl to Amazon's count). The plan is cleared last, so an ``off`` killed half-way is run
    again and does the same."""

    def __init__(self, *, settings: Settings, plans: ShadowPlans, mailer: OnceMail | None = None,
                 sync: Any = None, marketplace_ids: Sequence[str] = (), clock: Clock = _now) -> None:
        self.settings, self.plans, self.mailer, self.sync = settings, plans, mailer, sync
        self.marketplace_ids = list(marketplace_ids)
        self.clock = clock

    def switch(self, feature: str, on: bool) -> list[str]:
        check_feature(feature)
        g = self.settings.global_settings()
        wanted = sorted((set(g.shadow) | {feature}) if on else (set(g.shadow) - {feature}))
        if wanted != g.shadow:
            self.settings.save_global(g.model_copy(update={"shadow": wanted}))
        return wanted

    def on(self, feature: str) -> dict[str, Any]:
        return {"feature": feature, "shadow": "on", "features": self.switch(feature, True)}

    def status(self) -> dict[str, Any]:
        on = set(self.settings.global_settings().shadow)
        out: dict[str, Any] = {}
        for f in FEATURES:
            s = summarize(f, self.plans.entries(f))
            out[f] = {"shadow": f in on, "entries": s.entries, "changing": s.changing, "toZero": s.to_zero,
                      "headline": s.headline}
        return {"features": out}

    def report(self, feature: str | None = None, *, csv: bool = False, email: bool = False,
               limit: int = 50) -> dict[str, Any]:
        features = [check_feature(feature)] if feature else list(FEATURES)
        out: dict[str, Any] = {"features": {}}
        sent = []
        for f in features:
            entries = ranked(self.plans.entries(f))
            s = summarize(f, entries)
            item: dict[str, Any] = {"headline": s.headline, "entries": s.entries, "changing": s.changing,
                                    "toZero": s.to_zero, "units": s.units,
                                    "rows": [_row(e) for e in entries[:limit]]}
            if csv:
                item["csv"] = csv_text(entries)
            if email and entries and self.mailer is not None:
                key = f"shadow-report#{f}#{fingerprint(entries)}"
                mid = self.mailer.send_once(key, lambda f=f, entries=entries, s=s: shadow_message(f, entries, s))
                item["emailed"] = mid is not None
                if mid is not None:
                    sent.append(f)
            out["features"][f] = item
        out["emailed"] = sent
        return out

    def off(self, feature: str) -> dict[str, Any]:
        check_feature(feature)
        features = self.switch(feature, False)  # first: from here on every write of the feature is real
        out: dict[str, Any] = {"feature": feature, "shadow": "off", "features": features}
        if feature == MFN:
            out["applied"] = self._push_today()
        else:
            observed = sum(1 for _ in self.plans.entries(feature))
            out["applied"] = {"observedOnly": observed, "note": OFF_NOTES[feature]}
        out["cleared"] = self.plans.clear(feature)
        return out

    def _push_today(self) -> dict[str, Any]:
        if self.sync is None:
            return {"pushed": 0}
        pushed, feeds, confirming = 0, [], []
        for mid in self.marketplace_ids:
            if not self.settings.channel(mid).sync_enabled:
                continue  # a channel switched off stays off; its listings are pushed when it is switched on
            report = self.sync.set_sync(mid, True)  # every MFN listing, forced, from today's figures
            if report is None:
                continue
            pushed += len(report.patched)
            feeds += report.feeds
            if report.confirming:
                confirming.append(report.confirming)
        return {"pushed": pushed, "feeds": feeds, **({"confirmingReports": confirming} if confirming else {})}


OFF_NOTES = {
    MOVEMENTS: ("movements seen in shadow are observed only, never applied (docs/shadow-mode.md); run the FBA "
                "reconciliation to bring Brightpearl to Amazon's count"),
    INBOUND: ("the next inbound run creates the transfers of the shipments still open from today's figures; "
              "shipments that finished in shadow are not booked"),
    RECONCILIATION: "corrections approved in shadow are not applied; the next reconciliation computes today's",
}


def _row(e: PlanEntry) -> dict[str, Any]:
    return {"sku": e.sku, "marketplace": e.marketplace_id, "productId": e.product_id, "now": e.shows,
            "wouldBe": e.after, "change": e.change, "writes": len(e.moves)}


def shadow_message(feature: str, entries: Sequence[PlanEntry], s: Any) -> Any:
    """The summary email of one feature's plan (entries largest change first), in the one design."""
    from connector.domain.email import Attachment
    from connector.domain.messages import MAX_ROWS_IN_BODY, Column, Message, Table, marketplace_label

    rows = [[e.sku, marketplace_label(e.marketplace_id) if e.marketplace_id else "—", e.shows, e.after,
             "?" if e.change is None else signed(e.change) if e.change else "0"] for e in entries]
    return Message(
        title=f"Shadow mode: {s.headline}",
        summary=(f"In shadow mode the connector computed everything for {s.headline.split(':')[0]} and wrote "
                 "nothing to Brightpearl or Amazon. This is what it would have done, per SKU, against what the "
                 "platform shows now."),
        meaning=("Nothing has changed on either platform yet. Check the largest changes and any listing going "
                 "to 0: a wrong warehouse setting shows here as many zeros."),
        todo=("If the plan is right, switch the feature live with the command below: it applies today's plan. "
              "If not, fix the settings and wait for the next run's plan (shadow report shows it any time)."),
        facts=(("would change", str(s.changing)), ("would go to 0", str(s.to_zero)),
               ("units in all", str(s.units))),
        tables=(Table.of("Largest changes", ["SKU", "marketplace", Column("now", numeric=True),
                                             Column("would be", numeric=True), Column("change", numeric=True)],
                         rows[:MAX_ROWS_IN_BODY]),),  # every SKU: the attached CSV
        notes=(f"Every SKU of the plan is in the attached shadow-{feature}.csv.",),
        attachments=(Attachment(f"shadow-{feature}.csv", csv_text(entries).encode()),),
        cli="connector --stack {stack} shadow off " + feature, cli_doc="shadow-mode")


class ShadowSummaryMail:
    """The nightly check's mailer while MFN is in shadow: instead of "N corrected" (nothing was pushed), the
    night sends the shadow summary (once per distinct plan); live, the nightly email as always."""

    def __init__(self, inner: OnceMail, on: Callable[[], bool], summary: Callable[[], Any]) -> None:
        self.inner, self.on, self.summary = inner, on, summary

    def send(self, email: Any) -> str:
        return self.inner.send(email)

    def send_once(self, key: str, email: Any, **kw: Any) -> str | None:
        if not self.on():
            return self.inner.send_once(key, email, **kw)
        out = self.summary()
        return "shadow" if out.get("emailed") else None

