"""The keys of emails that must leave once (the ``SentMail`` port), in the ``Settings`` table as ``mail#<key>``:
every function that sends email already reads and writes that table.

``claim`` is a conditional create; an unconfirmed claim whose lease ran out (its sender died between claim
and send), or a sent key past its keep, is taken over with the item's version as the condition, so of two
runs taking it over exactly one wins. A sent key carries ``expires_at`` (the table's TTL attribute); DynamoDB
deletes lazily, so the code checks the expiry itself.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pynamodb.exceptions import DeleteError, DoesNotExist, PutError

from connector.adapters.store import Setting, create_if_absent, is_conditional

CLAIMED, SENT = "claimed", "sent"


def _id(key: str) -> str:
    return f"mail#{key}"


class DynamoSentMail:
    def claim(self, key: str, *, now: datetime, lease_until: datetime) -> bool:
        item = Setting(_id(key), value={"state": CLAIMED}, lease_until=lease_until.timestamp(),
                       updated_at=now.astimezone(UTC))
        if create_if_absent(item, Setting.key):
            return True
        try:
            held = Setting.get(_id(key), consistent_read=True)
        except DoesNotExist:  # released meanwhile: try once more from scratch
            return create_if_absent(item, Setting.key)
        if (held.value or {}).get("state") == CLAIMED:
            if (held.lease_until or 0) >= now.timestamp():
                return False
        elif held.expires_at is None or held.expires_at >= now.astimezone(UTC):
            return False
        held.value, held.expires_at = {"state": CLAIMED}, None
        held.lease_until = lease_until.timestamp()
        held.updated_at = now.astimezone(UTC)
        try:
            held.save()  # the version condition: of two takers, one wins
        except PutError as exc:
            if is_conditional(exc):
                return False
            raise
        return True

    def confirm(self, key: str, message_id: str, *, keep_until: datetime) -> None:
        item = Setting(_id(key), value={"state": SENT, "message_id": message_id}, lease_until=None,
                       expires_at=keep_until.astimezone(UTC), updated_at=datetime.now(UTC))
        item.save(add_version_condition=False)  # ours since the claim: a confirm never loses to anything

    def release(self, key: str) -> None:
        try:
            held = Setting.get(_id(key), consistent_read=True)
        except DoesNotExist:
            return
        if (held.value or {}).get("state") != CLAIMED:
            return
        try:
            held.delete()  # only the claim as read (version condition), never a newer one
        except DeleteError as exc:
            if not is_conditional(exc):
                raise
