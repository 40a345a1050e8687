"""Feeds API 2021-06-30 of the SP-API simulator: feed documents, feed jobs (queued, processed on the
simulated clock, forced outcomes, reordered completions) and the JSON_LISTINGS_FEED they apply to the
listings; createFeedDocument / createFeed / getFeeds / getFeed / cancelFeed / getFeedDocument.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import unquote

import jsonschema

from simulators.core import Request, Response
from simulators.spapi.common import (
    ISSUE_SCHEMA,
    ISSUE_UNKNOWN_SKU,
    JSON,
    ApiError,
    Shared,
    invalid,
    iso_ms,
    load_schema,
    parse_time,
)
from simulators.spapi.documents import Document, Documents
from simulators.spapi.http import DOC_ID, JOB_ID, QUOTA_EXCEEDED, Routes, int_param, operations, qlist, well_formed
from simulators.spapi.listings import ListingsItems

FEED_STATUSES = frozenset({"CANCELLED", "DONE", "FATAL", "IN_PROGRESS", "IN_QUEUE"})
# Legacy flat-file listing feeds stopped working on 2025-07-31.
RETIRED_FEEDS = ("POST_INVENTORY_AVAILABILITY_DATA", "POST_FLAT_FILE_INVLOADER_DATA", "POST_PRODUCT_DATA",
                 "POST_FLAT_FILE_LISTINGS_DATA")
LISTINGS_FEED_MAX_MESSAGES = 25_000


@dataclass
class Feed:
    feed_id: str
    feed_type: str
    marketplace_ids: list[str]
    input_document_id: str
    options: dict[str, str]
    created: datetime
    status: str = "IN_QUEUE"
    processing_start: datetime | None = None
    processing_end: datetime | None = None
    result_document_id: str | None = None
    forced: str | None = None
    extra_delay: float = 0.0  # seconds beyond Timing.feed_processing (reorders completions)

    def to_api(self) -> JSON:
        out: dict[str, JSON] = {
            "feedId": self.feed_id, "feedType": self.feed_type, "marketplaceIds": self.marketplace_ids,
            "createdTime": iso_ms(self.created), "processingStatus": self.status,
        }
        if self.processing_start:
            out["processingStartTime"] = iso_ms(self.processing_start)
        if self.processing_end:
            out["processingEndTime"] = iso_ms(self.processing_end)
        if self.result_document_id:
            out["resultFeedDocumentId"] = self.result_document_id
        return out


class FeedJobs:
    """The seller's feeds and their processing."""

    def __init__(self, shared: Shared, documents: Documents, catalog: ListingsItems) -> None:
        self.shared = shared
        self.documents = documents
        self.catalog = catalog
        self.feeds: dict[str, Feed] = {}
        self.forced_feed_outcomes: dict[str, list[str]] = {}
        self.feed_delays: list[float] = []  # extra processing seconds for the next feeds, in order
        # The server hooks this to send FEED_PROCESSING_FINISHED.
        self.on_feed_finished: Callable[[Feed], None] | None = None

    def create_feed_document(self, content_type: str) -> Document:
        self.shared.advance()
        return self.documents.add(None, content_type, self.shared.now())

    def create_feed(self, feed_type: str, marketplace_ids: list[str], input_document_id: str,
                    options: dict[str, str] | None = None) -> Feed:
        self.shared.advance()
        if feed_type in RETIRED_FEEDS:
            raise invalid(f"Feed type {feed_type} is no longer supported; use JSON_LISTINGS_FEED.")
        doc = self.documents.get(input_document_id)
        if doc is None:
            raise invalid(f"Invalid inputFeedDocumentId {input_document_id}")
        feed = Feed(feed_id=str(60_000_000_000 + self.shared.next()), feed_type=feed_type,
                    marketplace_ids=list(marketplace_ids), input_document_id=input_document_id,
                    options=dict(options or {}), created=self.shared.now())
        queue = self.forced_feed_outcomes.get(feed_type)
        if queue:
            feed.forced = queue.pop(0)
        if self.feed_delays:
            feed.extra_delay = self.feed_delays.pop(0)
        self.feeds[feed.feed_id] = feed
        return feed

    def force_feed_outcome(self, feed_type: str, outcome: str, count: int = 1) -> None:
        if outcome not in ("FATAL", "CANCELLED"):
            raise ValueError("outcome must be FATAL or CANCELLED")
        self.forced_feed_outcomes.setdefault(feed_type, []).extend([outcome] * count)

    def delay_next_feeds(self, delays: list[float]) -> None:
        """Give the next feeds extra processing seconds (in creation order), so they finish, are applied
        and notify in another order than they were created, as Amazon's feeds may."""
        self.feed_delays.extend(float(d) for d in delays)

    def cancel_feed(self, feed_id: str) -> Feed:
        self.shared.advance()
        feed = self.feeds.get(feed_id)
        if feed is None:
            raise ApiError(404, "NotFound", f"Feed {feed_id} not found")
        if feed.status != "IN_QUEUE":
            raise invalid(f"Feed {feed_id} is {feed.status}; only IN_QUEUE feeds can be cancelled")
        feed.status = "CANCELLED"
        feed.processing_end = self.shared.now()
        if self.on_feed_finished:
            self.on_feed_finished(feed)
        return feed

    def due(self) -> list[tuple[datetime, int, Feed]]:
        """(when, stage, job) of every pending transition: stage 0 starts processing, 1 finishes."""
        timing = self.shared.timing
        due: list[tuple[datetime, int, Feed]] = []
        for f in self.feeds.values():
            if f.status == "IN_QUEUE":
                due.append((f.created + timedelta(seconds=timing.feed_queue), 0, f))
            elif f.status == "IN_PROGRESS":
                assert f.processing_start is not None
                due.append((f.processing_start + timedelta(seconds=timing.feed_processing + f.extra_delay), 1, f))
        return due

    def finish(self, feed: Feed, at: datetime) -> None:
        feed.processing_end = at
        if feed.forced == "CANCELLED":
            feed.status = "CANCELLED"
        elif feed.forced == "FATAL":  # aborted: nothing in the document is applied
            feed.status = "FATAL"
            self._result(feed, {"header": {"sellerId": self.shared.seller_id, "version": "2.0", "feedId": feed.feed_id},
                                     "issues": [{"code": ISSUE_SCHEMA, "severity": "ERROR",
                                                 "message": "The feed was aborted because of an internal error."}],
                                     "summary": _summary(1, 0, 0, 0, 0)})
        elif feed.feed_type != "JSON_LISTINGS_FEED":
            feed.status = "FATAL"
            self._result(feed, {"header": {"sellerId": self.shared.seller_id, "version": "2.0", "feedId": feed.feed_id},
                                     "issues": [{"code": ISSUE_SCHEMA, "severity": "ERROR",
                                                 "message": f"Feed type {feed.feed_type} is not supported "
                                                            "by the simulator."}],
                                     "summary": _summary(0, 0, 0, 1, 0)})
        else:
            feed.status, report = self.process_listings_feed(feed)
            self._result(feed, report)
        if self.on_feed_finished:
            self.on_feed_finished(feed)

    def _result(self, feed: Feed, report: JSON) -> None:
        doc = self.documents.add(json.dumps(report).encode("utf-8"), "application/json;charset=UTF-8",
                                 self.shared.now())
        feed.result_document_id = doc.document_id

    def process_listings_feed(self, feed: Feed) -> tuple[str, JSON]:
        """Validate and apply a JSON_LISTINGS_FEED; returns (processingStatus, processing report)."""
        header = {"sellerId": self.shared.seller_id, "version": "2.0", "feedId": feed.feed_id}
        doc = self.documents.documents[feed.input_document_id]

        def fatal(message: str) -> tuple[str, JSON]:
            return "FATAL", {"header": header, "issues": [{"code": ISSUE_SCHEMA, "severity": "ERROR",
                                                           "message": message}],
                             "summary": _summary(1, 0, 0, 0, 0)}

        if doc.content is None:
            return fatal("The feed document was never uploaded.")
        try:
            data = json.loads(doc.content.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            return fatal(f"The feed document is not valid UTF-8 JSON: {exc}")
        schema = load_schema("listings-feed-schema-v2.json")
        if not isinstance(data, dict):
            return fatal("The feed document must be a JSON object.")
        header_errors = _schema_errors(schema["properties"]["header"], data.get("header"))
        if "header" not in data or header_errors:
            return fatal("Invalid header: " + "; ".join(header_errors or ["header is required"]))
        if data["header"]["sellerId"] != self.shared.seller_id:
            return fatal(f"sellerId {data['header']['sellerId']} does not match the submitting seller.")
        messages = data.get("messages")
        if not isinstance(messages, list) or not messages:
            return fatal("messages must be a non-empty array.")
        if len(messages) > LISTINGS_FEED_MAX_MESSAGES:
            return fatal(f"The feed has {len(messages)} messages; the maximum is {LISTINGS_FEED_MAX_MESSAGES}.")
        message_schema = schema["properties"]["messages"]["items"]
        issues: list[JSON] = []
        accepted = invalid_count = 0
        touched: list[str] = []
        for msg in messages:
            msg_id = msg.get("messageId") if isinstance(msg, dict) else None
            sku = msg.get("sku") if isinstance(msg, dict) else None
            base: dict[str, JSON] = {}
            if isinstance(msg_id, int) and msg_id >= 1:
                base["messageId"] = msg_id
            if isinstance(sku, str) and sku:
                base["sku"] = sku
            errors = _schema_errors(message_schema, msg)
            if errors:
                invalid_count += 1
                issues.extend({**base, "code": ISSUE_SCHEMA, "severity": "ERROR", "message": e} for e in errors)
                continue
            if msg["operationType"] != "PATCH":
                # Only MFN quantity patches are modelled; other operations are accepted untouched.
                if msg["sku"] not in self.catalog.listings:
                    invalid_count += 1
                    issues.append({**base, "code": ISSUE_UNKNOWN_SKU, "severity": "ERROR",
                                   "message": f"SKU '{msg['sku']}' does not exist for this seller."})
                else:
                    accepted += 1
                continue
            problems = self.catalog.patch_listing(msg["sku"], msg["patches"])
            if problems:
                invalid_count += 1
                for p in problems:
                    entry = {**base, "code": p["code"], "severity": p["severity"], "message": p["message"]}
                    if p.get("attributeNames"):
                        entry["attributeName"] = p["attributeNames"][0]
                    issues.append(entry)
            else:
                accepted += 1
                if msg["sku"] in self.catalog.listings:  # an offer-only SKU has no item to report
                    touched.append(msg["sku"])
        report: JSON = {"header": header, "issues": issues,
                        "summary": _summary(len(issues), 0, len(messages), accepted, invalid_count)}
        wanted = (data["header"].get("report") or {}).get("includedData")
        if wanted:
            report["header"]["report"] = {"includedData": wanted, "apiVersion": "2021-08-01"}
            report["items"] = [self.catalog.listing_item(sku, feed.marketplace_ids, wanted)
                               for sku in dict.fromkeys(touched)]
        return "DONE", report


class FeedRoutes(Routes):
    def register(self) -> None:
        operations(self.host, "/feeds/2021-06-30", [
            ("POST", r"/documents", "createFeedDocument", self._create_feed_document),
            ("POST", r"/feeds", "createFeed", self._create_feed),
            ("GET", r"/feeds", "getFeeds", self._get_feeds),
            ("GET", r"/feeds/(?P<id>[^/]+)", "getFeed", self._get_feed),
            ("DELETE", r"/feeds/(?P<id>[^/]+)", "cancelFeed", self._cancel_feed),
            ("GET", r"/documents/(?P<id>[^/]+)", "getFeedDocument", self._get_feed_document),
        ])

    def _create_feed_document(self, req: Request) -> Response:
        body = self._body(req)
        content_type = body.get("contentType")
        if not isinstance(content_type, str) or not content_type:
            raise invalid("contentType is required.")
        doc = self.world.feed_jobs.create_feed_document(content_type)
        return Response(201, {"feedDocumentId": doc.document_id,
                              "url": self.host.presigned_url(doc.document_id, "PUT")})

    def _create_feed(self, req: Request) -> Response:
        body = self._body(req)
        feed_type, doc_id, mkts = body.get("feedType"), body.get("inputFeedDocumentId"), body.get("marketplaceIds")
        if not isinstance(feed_type, str) or not feed_type:
            raise invalid("feedType is required.")
        if not isinstance(doc_id, str) or not doc_id:
            raise invalid("inputFeedDocumentId is required.")
        if not isinstance(mkts, list) or not 1 <= len(mkts) <= 25:
            raise invalid("marketplaceIds must be a list of 1 to 25 marketplace ids.")
        self._check_marketplaces(mkts)
        options = body.get("feedOptions") or {}
        limiter = self.host._listings_feed_limiter
        if feed_type == "JSON_LISTINGS_FEED" and self.host.rate_limits and not limiter.try_hit():
            # JSON_LISTINGS_FEED has its own cap (5 per 5 minutes) on top of createFeed's bucket.
            return Response(429, QUOTA_EXCEEDED)
        feed = self.world.feed_jobs.create_feed(feed_type, mkts, doc_id, options)
        return Response(202, {"feedId": feed.feed_id})

    def _get_feeds(self, req: Request) -> Response:
        token = req.q("nextToken")
        if token:
            if any(k in req.query for k in ("feedTypes", "processingStatuses", "marketplaceIds", "createdSince",
                                            "createdUntil", "pageSize")):
                raise invalid("nextToken must be the only parameter.")
            ids, offset, size = self._take_page_token(token)
        else:
            types = qlist(req, "feedTypes")
            if not 1 <= len(types) <= 10:
                raise invalid("Either feedTypes (1 to 10 feed types) or nextToken is required.")
            statuses = set(qlist(req, "processingStatuses"))
            bad = sorted(statuses - FEED_STATUSES)
            if bad:
                raise invalid(f"Invalid processingStatuses value(s): {', '.join(bad)}.")
            mkts = qlist(req, "marketplaceIds")
            if len(mkts) > 10:
                raise invalid("marketplaceIds accepts at most 10 marketplace ids.")
            if mkts:
                self._check_marketplaces(mkts)
            now = self.host.clock.now()
            # Defaults from the model: createdSince 90 days ago, createdUntil now.
            since = parse_time(req.q("createdSince"), "createdSince") or now - timedelta(days=90)
            until = parse_time(req.q("createdUntil"), "createdUntil") or now
            size = int_param(req, "pageSize", 10, 1, 100)
            matches = [f for f in self.world.feed_jobs.feeds.values()
                       if f.feed_type in types and (not statuses or f.status in statuses)
                       and (not mkts or set(mkts) & set(f.marketplace_ids)) and since <= f.created <= until]
            ids = [f.feed_id for f in sorted(matches, key=lambda f: f.created, reverse=True)]
            offset = 0
        out: JSON = {"feeds": [self.world.feed_jobs.feeds[i].to_api() for i in ids[offset:offset + size]]}
        if offset + size < len(ids):
            out["nextToken"] = self._page_token((ids, offset + size, size))
        return Response(200, out)

    def _get_feed(self, req: Request) -> Response:
        feed = self.world.feed_jobs.feeds.get(well_formed(req.params["id"], JOB_ID, "feedId"))
        if feed is None:
            raise ApiError(404, "NotFound", f"Feed {req.params['id']} not found.")
        return Response(200, feed.to_api())

    def _cancel_feed(self, req: Request) -> Response:
        self.world.feed_jobs.cancel_feed(well_formed(req.params["id"], JOB_ID, "feedId"))
        return Response(200, None)

    def _get_feed_document(self, req: Request) -> Response:
        doc_id = well_formed(unquote(req.params["id"]), DOC_ID, "feedDocumentId")
        doc = self.world.documents.get(doc_id)
        if doc is None or doc.content is None:
            raise ApiError(404, "NotFound", f"Feed document {doc_id} not found.")
        out: JSON = {"feedDocumentId": doc_id, "url": self.host.presigned_url(doc_id, "GET")}
        if doc.compression:
            out["compressionAlgorithm"] = doc.compression
        return Response(200, out)



def _summary(errors: int, warnings: int, processed: int, accepted: int, invalid_count: int) -> JSON:
    return {"errors": errors, "warnings": warnings, "messagesProcessed": processed,
            "messagesAccepted": accepted, "messagesInvalid": invalid_count}


def _schema_errors(schema: JSON, instance: JSON) -> list[str]:
    validator = jsonschema.Draft7Validator(schema)
    return [f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}"
            for e in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))]
