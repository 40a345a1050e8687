"""Push bookkeeping on listing links (DynamoDB on moto): it must never undo what the operator changed."""

from connector.adapters.repositories import LinkRepository


def test_bookkeeping_from_a_stale_link_does_not_resurrect_or_revert_it(local_aws):
    repo = LinkRepository()
    stale_a = repo.connect(seller_id="S", marketplace_id="M1", sku="A-1", product_id=11, channel="MFN")
    stale_b = repo.connect(seller_id="S", marketplace_id="M1", sku="B-1", product_id=12, channel="MFN")
    # While a long sync holds these objects, the operator disconnects one and switches the other to FBA.
    repo.disconnect("M1", "A-1")
    repo.connect(seller_id="S", marketplace_id="M1", sku="B-1", product_id=99, channel="FBA")

    repo.record_pushes([(stale_a, 5, True, "ACCEPTED"), (stale_b, 7, True, "ACCEPTED")])

    assert repo.get("M1", "A-1") is None
    b = repo.get("M1", "B-1")
    assert (b.product_id, b.fulfillment_channel) == (99, "FBA")
    assert (b.last_pushed_quantity, b.last_confirmed_quantity, b.last_result) == (7, 7, "ACCEPTED")
    repo.disconnect("M1", "B-1")
