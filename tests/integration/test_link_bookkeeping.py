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


def test_feed_bookkeeping_in_batches_over_chunk_edges_never_resurrects_and_records_every_link(local_aws):
    """130 links (two BatchGetItem chunks of 100, six BatchWriteItem chunks of 25): a feed's send and its
    result land on every link still connected; the ones disconnected meanwhile stay gone; an operator's
    re-link to another product is kept."""
    repo = LinkRepository()
    skus = [f"B-{i:03d}{['', ' blue', '/XL', '&co', '+1', '-thé'][i % 6]}" for i in range(130)]
    links = [repo.connect(seller_id="S", marketplace_id="M1", sku=s, product_id=100 + i) for i, s in enumerate(skus)]
    repo.record_feed_sent((link, i, "F1", i + 1) for i, link in enumerate(links))
    gone = set(skus[::7])
    for s in gone:
        repo.disconnect("M1", s)
    repo.connect(seller_id="S", marketplace_id="M1", sku=skus[1], product_id=999)
    assert {link.listing_id for link in repo.pending_in_feed("F1")} == {
        link.listing_id for link in links if link.sku not in gone}

    repo.record_pushes((link, i, True, "ACCEPTED") for i, link in enumerate(links))

    for i, s in enumerate(skus):
        got = repo.get("M1", s)
        if s in gone:
            assert got is None
            continue
        assert (got.last_confirmed_quantity, got.last_result, got.pending_feed) == (i, "ACCEPTED", None)
        assert got.product_id == (999 if i == 1 else 100 + i)
    assert repo.pending_in_feed("F1") == []
    for s in set(skus) - gone:
        repo.disconnect("M1", s)


def test_an_operator_change_between_a_batch_read_and_its_write_is_kept(local_aws, monkeypatch):
    """The race the batch path must win: the operator disconnects one link, re-links another to another
    product and a single patch records a push on a third, all *after* the links were read (by the sync
    holding them, or by a batch read of the repository) and just before the batch writes. The write names
    only the bookkeeping fields and needs the link to exist (issue 14: no read before it; before, each
    link was written under the version it was read at and read again on a conflict): nothing is undone,
    nothing resurrected."""
    from pynamodb.transactions import TransactWrite

    from connector.adapters.store import ListingLink

    repo = LinkRepository()
    skus = ["R 1", "R/2", "R&3", "R+4", "R-é5"]
    links = [repo.connect(seller_id="S", marketplace_id="M9", sku=s, product_id=500 + i) for i, s in enumerate(skus)]
    original = ListingLink.batch_get.__func__
    raced = {"done": False}

    def racing_batch_get(cls, keys, *args, **kwargs):
        got = list(original(cls, keys, *args, **kwargs))
        if not raced["done"]:
            raced["done"] = True
            repo.disconnect("M9", skus[0])
            repo.connect(seller_id="S", marketplace_id="M9", sku=skus[1], product_id=777, channel="FBA")
            repo.record_push(links[2].listing_id, quantity=42, confirmed=True, result="PATCHED")
        return got

    commit = TransactWrite._commit

    def racing_commit(self):
        if not raced["done"]:
            racing_batch_get(ListingLink, [])  # the same race, just before the first write goes out
        return commit(self)

    monkeypatch.setattr(ListingLink, "batch_get", classmethod(racing_batch_get))
    monkeypatch.setattr(TransactWrite, "_commit", racing_commit)
    repo.record_feed_sent((link, 10 + i, "F9", i + 1) for i, link in enumerate(links))
    monkeypatch.undo()

    assert raced["done"]
    assert repo.get("M9", skus[0]) is None  # disconnected meanwhile: not brought back
    relinked = repo.get("M9", skus[1])
    assert (relinked.product_id, relinked.fulfillment_channel) == (777, "FBA")
    assert relinked.pending_feed["feed"] == "F9"
    patched = repo.get("M9", skus[2])
    assert patched.last_confirmed_quantity == 42  # the patch's confirmation is kept
    assert patched.last_pushed_quantity == 12 and patched.pending_feed["feed"] == "F9"
    for s in skus[1:]:
        assert repo.get("M9", s).pending_feed["q"] == 10 + skus.index(s)
        repo.disconnect("M9", s)
