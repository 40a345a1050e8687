import json

import pytest

from connector.domain.notifications import NotificationError, parse_notification

REPORT = {"notificationVersion": "2020-09-04", "notificationType": "REPORT_PROCESSING_FINISHED",
          "payloadVersion": "2020-09-04", "eventTime": "2020-07-14T03:35:13.214Z",
          "payload": {"reportProcessingFinishedNotification": {"reportId": "5451", "processingStatus": "DONE"}},
          "notificationMetadata": {"notificationId": "n-1"}}
FBA = {"NotificationVersion": "1.0", "NotificationType": "FBA_INVENTORY_AVAILABILITY_CHANGES",
       "EventTime": "2020-07-13T19:42:04.284Z", "Payload": {"SKU": "S1"},
       "NotificationMetadata": {"NotificationId": "n-2"}}


def test_both_envelope_styles():
    r = parse_notification(json.dumps(REPORT))
    assert (r.type, r.notification_id) == ("REPORT_PROCESSING_FINISHED", "n-1")
    assert r.payload["reportProcessingFinishedNotification"]["reportId"] == "5451"
    f = parse_notification(json.dumps(FBA))
    assert (f.type, f.notification_id, f.payload) == ("FBA_INVENTORY_AVAILABILITY_CHANGES", "n-2", {"SKU": "S1"})


def test_eventbridge_wrapped_notification_is_unwrapped():
    mfn = {"NotificationType": "LISTINGS_ITEM_MFN_QUANTITY_CHANGE", "NotificationVersion": "1.0",
           "Payload": {"SellerId": "A1", "Sku": "S1", "Quantity": 3, "FulfillmentChannelCode": "DEFAULT"},
           "NotificationMetadata": {"NotificationId": "n-3"}}
    wrapped = {"version": "0", "id": "eb-1", "detail-type": "LISTINGS_ITEM_MFN_QUANTITY_CHANGE",
               "source": "aws.partner/sellingpartnerapi.amazon.com/123/app", "detail": mfn}
    n = parse_notification(json.dumps(wrapped))
    assert (n.type, n.notification_id, n.payload["Quantity"]) == ("LISTINGS_ITEM_MFN_QUANTITY_CHANGE", "n-3", 3)
    bare = {**wrapped, "detail": mfn["Payload"]}
    n2 = parse_notification(bare)
    assert (n2.type, n2.notification_id, n2.payload["Sku"]) == ("LISTINGS_ITEM_MFN_QUANTITY_CHANGE", "eb-1", "S1")


@pytest.mark.parametrize(("body", "fragment"), [("nope", "not JSON"), ("[]", "object"), ("{}", "notificationType")])
def test_bad_messages_are_named(body, fragment):
    with pytest.raises(NotificationError, match=fragment):
        parse_notification(body)
