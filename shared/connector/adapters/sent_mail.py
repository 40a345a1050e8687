"""The keys of emails that must leave once, in the ``ReportJobs`` table as ``mail#<key>`` (``SentMail``).

``claim`` is a conditional create; an unconfirmed claim whose lease ran out (its sender died between claim
and send) is taken over with the item's version as the condition, so of two runs taking it over one wins.
A sent key carries ``expires_at`` (the table's TTL attribute) so the table does not grow for ever.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pynamodb.exceptions import DeleteError, DoesNotExist, PutError

from connector.adapters.store import ReportJob, create_if_absent, is_conditional

KIND = "SENT_MAIL"
CLAIMED, SENT = "claimed", "sent"


def _id(key: str) -> str:
    return f"mail#{key}"


class DynamoSentMail:
    def claim(self, key: str, *, now: datetime, lease_until: datetime) -> bool:
        item = ReportJob(_id(key), report_type=KIND, status=CLAIMED, lease_until=lease_until.timestamp(),
                         updated_at=now.astimezone(UTC))
        if create_if_absent(item, ReportJob.job_id):
            return True
        try:
            held = ReportJob.get(_id(key), consistent_read=True)
        except DoesNotExist:  # released meanwhile: try once more from scratch
            return create_if_absent(item, ReportJob.job_id)
        # An unconfirmed claim past its lease (its sender died) or a sent key past its keep (DynamoDB's TTL
        # deletes lazily, up to days late) is taken over; the item's version decides between two takers.
        if held.status == CLAIMED:
            if (held.lease_until or 0) >= now.timestamp():
                return False
        elif held.expires_at is None or held.expires_at >= now.astimezone(UTC):
            return False
        held.status, held.detail, held.expires_at = CLAIMED, None, None
        held.lease_until = lease_until.timestamp()
        held.updated_at = now.astimezone(UTC)
        try:
            held.save()
        except PutError as exc:
            if is_conditional(exc):
                return False
            raise
        return True

    def confirm(self, key: str, message_id: str, *, keep_until: datetime) -> None:
        item = ReportJob(_id(key), report_type=KIND, status=SENT, detail={"message_id": message_id},
                         expires_at=keep_until.astimezone(UTC), updated_at=datetime.now(UTC))
        item.save(add_version_condition=False)  # ours since the claim; a confirm never loses to anything

    def release(self, key: str) -> None:
        try:
            ReportJob(_id(key)).delete(condition=ReportJob.status == CLAIMED, add_version_condition=False)
        except DeleteError as exc:
            if not is_conditional(exc):
                raise
