"""Brightpearl webhook payloads: what Brightpearl sends and what the connector accepts.

Brightpearl does not sign webhooks; the receiver is protected by a long random token in the URL
(checked elsewhere). This module only validates the body and turns it into a stock-change message.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from connector.domain.idsets import IdSetError, chunks, format_id_set, parse_id_set


class WebhookBodyError(ValueError):
    """The body is not a Brightpearl webhook payload; the message says what is wrong."""


REQUIRED_FIELDS = ("accountCode", "resourceType", "id")

# One queue message names at most this many products: the stock-change consumer unions the messages
# of a batch up to its product budget (functions/stock_change/app.py), so a huge ID set such as
# ``1-100000`` is split into many bounded messages (400 here) instead of one that times out or
# exceeds SQS's 256 KiB message limit.
IDS_PER_MESSAGE = 250


# ... and its ID set at most this many characters: 250 ids of Brightpearl's size take ~2 KB, but ids
# have no documented size, and a message must stay well under SQS's 256 KiB (attributes included).
ID_SET_CHARS_PER_MESSAGE = 16 * 1024


def _within_chars(ids: list[int], max_chars: int) -> list[list[int]]:
    """``ids`` halved until each part's ID set fits ``max_chars`` (a single id always stands alone)."""
    if len(ids) <= 1 or len(format_id_set(ids)) <= max_chars:
        return [ids]
    mid = len(ids) // 2
    return _within_chars(ids[:mid], max_chars) + _within_chars(ids[mid:], max_chars)


@dataclass(frozen=True)
class StockChange:
    """What the stock-change queue carries: which products changed, from which event."""

    account_code: str
    resource_type: str
    full_event: str
    product_ids: tuple[int, ...]
    raised_on: str

    def to_message(self) -> dict[str, object]:
        return self._message(self.product_ids)

    def to_messages(self, per_message: int = IDS_PER_MESSAGE,
                    max_chars: int = ID_SET_CHARS_PER_MESSAGE) -> list[dict[str, object]]:
        """The change as queue messages of at most ``per_message`` products and an ID set of at most
        ``max_chars`` each (runs stay ranges), none lost."""
        return [self._message(part) for whole in chunks(self.product_ids, per_message)
                for part in _within_chars(whole, max_chars)]

    def _message(self, ids: tuple[int, ...] | list[int]) -> dict[str, object]:
        return {
            "accountCode": self.account_code,
            "resourceType": self.resource_type,
            "fullEvent": self.full_event,
            "idSet": format_id_set(ids),
            "count": len(ids),
            "raisedOn": self.raised_on,
        }


# A message the stock-change consumer puts back holds at most its product budget's worth of ids (one message
# is then exactly one invocation's work) in an ID set of at most this many characters: 2 000 ten-digit ids
# take ~22 KB, so ten such messages fill one SendMessageBatch call's 256 KiB (the SQS quota).
REQUEUE_CHARS_PER_MESSAGE = 25 * 1024


def repacked(records: Sequence[tuple[dict[str, object], dict[str, str], Collection[int]]], per_message: int,
             max_chars: int = REQUEUE_CHARS_PER_MESSAGE) -> list[tuple[dict[str, object], dict[str, str]]]:
    """Records a consumer hands back, as few messages as hold their ids: (body, attributes, product ids)
    of the same body fields (all but the ID set) and attributes are merged, their union cut into messages
    of at most ``per_message`` ids and ``max_chars`` of ID set. A bulk split of 400 records of 250 ids
    goes back as 50 messages of 2 000, not 400: a tenth of the SendMessageBatch calls on every hand-back.
    Every id is in exactly one message of its group."""
    groups: dict[str, tuple[dict[str, object], dict[str, str], set[int]]] = {}
    for body, attributes, ids in records:
        rest = {k: v for k, v in body.items() if k not in ("idSet", "count")}
        key = json.dumps([rest, attributes], sort_keys=True, default=str)
        groups.setdefault(key, (rest, attributes, set()))[2].update(ids)
    out: list[tuple[dict[str, object], dict[str, str]]] = []
    for rest, attributes, ids in groups.values():
        for whole in chunks(ids, per_message):
            for part in _within_chars(whole, max_chars):
                out.append(({**rest, "idSet": format_id_set(part), "count": len(part)}, attributes))
    return out


def within_budget(records: Sequence[tuple[str, Collection[int]]], budget: int) -> tuple[list[str], set[int], list[str]]:
    """Split a batch of (message id, product ids) into what one invocation works (``taken``, and the
    union of their ids, at most ``budget`` unless the first record alone is bigger) and what it puts
    back on the queue (``overflow``). A record whose ids are all taken already costs nothing and is
    always taken: a storm of repeats of the same products coalesces whatever its size."""
    if budget <= 0:
        raise ValueError("the product budget must be positive")
    taken: list[str] = []
    overflow: list[str] = []
    union: set[int] = set()
    for key, ids in records:
        new = set(ids) - union
        if union and new and len(union) + len(new) > budget:
            overflow.append(key)
            continue
        union |= new
        taken.append(key)
    return taken, union, overflow


def parse_webhook_body(body: str | bytes | None) -> StockChange:
    """Validate a webhook body; raise :class:`WebhookBodyError` naming the problem."""
    if body is None or (isinstance(body, (str, bytes)) and not body.strip()):
        raise WebhookBodyError("body is empty; expected Brightpearl's webhook JSON")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise WebhookBodyError(f"body is not JSON: {exc}") from None
    except RecursionError:
        # json.loads recurses per nesting level; a hostile body must get a 400, not kill the call.
        raise WebhookBodyError("body is nested too deeply to be Brightpearl's webhook JSON") from None
    if not isinstance(data, dict):
        raise WebhookBodyError(f"body must be a JSON object, got {type(data).__name__}")
    missing = [f for f in REQUIRED_FIELDS if not data.get(f)]
    if missing:
        raise WebhookBodyError(f"missing field(s): {', '.join(missing)}")
    for name in ("accountCode", "resourceType", "id", "fullEvent", "lifecycleEvent", "raisedOn"):
        if name in data and not isinstance(data[name], str):
            raise WebhookBodyError(f"field {name} must be a string (Brightpearl sends every value as a string)")
    try:
        ids = parse_id_set(data["id"])
    except IdSetError as exc:
        raise WebhookBodyError(f"field id: {exc}") from None
    resource = data["resourceType"].lower()  # casing is unconfirmed: compare case-insensitively
    full_event = data.get("fullEvent") or f"{resource}.{data.get('lifecycleEvent', 'modified')}"
    return StockChange(
        account_code=data["accountCode"],
        resource_type=resource,
        full_event=full_event.lower(),
        product_ids=tuple(ids),
        raised_on=data.get("raisedOn", ""),
    )


def token_matches(given: str | None, expected: str) -> bool:
    """Constant-time comparison, so the token cannot be guessed byte by byte from timings."""
    import hmac

    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))
