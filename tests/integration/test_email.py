"""Emails go out through SES (moto) as HTML + plain text, with attachments, and read back intact."""

from connector.adapters.email import Attachment, Email, Mailer, table
from local.aws import sent_emails


def test_email_with_table_and_csv_arrives_in_ses(local_aws):
    before = len(sent_emails(local_aws))
    text, html = table(["SKU", "expected", "received"], [["CAFÉ-1", 10, 12], ["<b>", 1, 0]])
    mailer = Mailer(local_aws.parameters["SesSender"], ["ops@example.com", "buyer@example.com"])
    mailer.send(Email("Inbound FBA15ABC: 2 SKUs differ", text, html,
                      (Attachment("skus.csv", "sku,qty\nCAFÉ-1,12\n".encode()),)))
    sent = sent_emails(local_aws)[before:]
    assert len(sent) == 1
    mail = sent[0]
    assert mail["subject"] == "Inbound FBA15ABC: 2 SKUs differ"
    assert mail["to"] == ["ops@example.com", "buyer@example.com"]
    assert "CAFÉ-1  10        12" in mail["text"]
    assert "<td>CAFÉ-1</td><td>10</td><td>12</td>" in mail["html"]
    assert "<td>&lt;b&gt;</td>" in mail["html"]  # cell text is escaped
    assert mail["attachments"]["skus.csv"] == "sku,qty\nCAFÉ-1,12\n".encode()
