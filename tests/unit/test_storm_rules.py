"""Issue 14 item 2, the pure rules: a huge ID set split into bounded messages (ranges kept), SendMessageBatch
calls within SQS's limits, and a batch of records cut at the consumer's product budget — none lost."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from connector.adapters.queues import BATCH_ENTRIES, MESSAGE_BYTES, _groups, message_bytes
from connector.domain.idsets import _runs, parse_id_set
from connector.domain.webhooks import ID_SET_CHARS_PER_MESSAGE, IDS_PER_MESSAGE, parse_webhook_body, within_budget

ATTRS = {"fullEvent": "product.modified.on-hand-modified", "correlationId": "c" * 36}


def body(id_set: str) -> str:
    return json.dumps({"accountCode": "acme", "resourceType": "product", "id": id_set,
                       "fullEvent": "product.modified.on-hand-modified"})


@st.composite
def id_set_text(draw: st.DrawFn) -> str:
    """Brightpearl ID-set text: ranges, gaps, single ids, repeats and overlaps, ids of any size."""
    parts = []
    for _ in range(draw(st.integers(1, 25))):
        lo = draw(st.one_of(st.integers(1, 200_000), st.integers(10**12, 10**15), st.integers(1, 10**40)))
        kind = draw(st.sampled_from(["one", "range", "repeat"]))
        if kind == "range":
            parts.append(f"{lo}-{lo + draw(st.integers(0, 1_500))}")
        else:
            parts.append(str(lo))
            if kind == "repeat":
                parts.append(str(lo))
    return ",".join(draw(st.permutations(parts)))


@settings(deadline=None, max_examples=60)
@given(id_set_text(), st.integers(20, 400), st.sampled_from([64, 1_000, ID_SET_CHARS_PER_MESSAGE]))
def test_the_messages_of_an_id_set_are_exactly_the_set_bounded_with_ranges_kept(text, per_message, max_chars):
    change = parse_webhook_body(body(text))
    messages = change.to_messages(per_message, max_chars)
    sets = [parse_id_set(str(m["idSet"])) for m in messages]
    got = [i for s in sets for i in s]
    assert sorted(got) == sorted(set(parse_id_set(text)))  # the union, each id exactly once
    for m, ids in zip(messages, sets, strict=True):
        assert int(str(m["count"])) == len(ids) <= per_message
        assert len(ids) == 1 or len(str(m["idSet"])) <= max_chars
        assert message_bytes(json.dumps(m, separators=(",", ":")), ATTRS) < MESSAGE_BYTES
    # Ranges stay ranges: a run of consecutive ids is cut only where a message ends.
    runs_in_messages = sum(len(list(_runs(s))) for s in sets)
    assert runs_in_messages <= len(list(_runs(sorted(set(got))))) + len(messages) - 1


def test_a_bulk_set_of_100000_ids_is_400_small_messages():
    change = parse_webhook_body(body("1-60000," + ",".join(str(10**9 + 7 * i) for i in range(40_000))))
    messages = change.to_messages()
    assert len(messages) == 100_000 // IDS_PER_MESSAGE
    assert messages[0]["idSet"] == "1-250"  # a range stays one element
    assert max(message_bytes(json.dumps(m), ATTRS) for m in messages) < 4 * 1024


@given(st.lists(st.integers(1, 200_000), min_size=1, max_size=120))
def test_send_message_batch_calls_stay_within_10_entries_and_256_kib(sizes):
    messages = [("x" * n, ATTRS) for n in sizes]
    groups = _groups(messages)
    assert [i for g in groups for i in g] == list(range(len(messages)))
    for g in groups:
        assert 1 <= len(g) <= BATCH_ENTRIES
        assert sum(message_bytes(*messages[i]) for i in g) <= MESSAGE_BYTES


@given(st.lists(st.sets(st.integers(1, 60), max_size=25), max_size=40), st.integers(1, 80))
def test_a_batch_is_cut_at_the_product_budget_and_every_record_is_worked_or_handed_back(records, budget):
    keyed = [(f"m{i}", ids) for i, ids in enumerate(records)]
    taken, union, overflow = within_budget(keyed, budget)
    assert sorted(taken + overflow) == sorted(k for k, _ in keyed)  # a partition: none lost, none twice
    assert not set(taken) & set(overflow)
    ids = dict(keyed)
    assert union == set().union(*(ids[k] for k in taken))
    assert len(union) <= budget or any(ids[k] == union for k in taken)  # only a record alone beyond it
    # Nothing is handed back that the batch covers already (a storm of repeats costs one read).
    assert all(not ids[k] <= union for k in overflow)


@settings(max_examples=60, deadline=None)
@given(records=st.lists(st.tuples(st.sampled_from(["c1", "c2"]), st.sets(st.integers(1, 10**12), max_size=300)),
                        min_size=1, max_size=12),
       per_message=st.integers(1, 500), max_chars=st.integers(30, 4_000))
def test_handed_back_records_are_repacked_with_every_id_once_within_the_bounds(records, per_message, max_chars):
    from connector.domain.webhooks import repacked

    asked = [({"accountCode": "acme", "resourceType": "product", "fullEvent": ATTRS["fullEvent"],
               "idSet": "-", "count": len(ids)}, {**ATTRS, "correlationId": cid}, ids) for cid, ids in records]
    out = repacked(asked, per_message, max_chars)
    for cid in ("c1", "c2"):  # merged only with records of the same attributes (the webhook they came from)
        got = [i for b, a in out if a["correlationId"] == cid for i in parse_id_set(str(b["idSet"]))]
        want = set().union(*(ids for c, ids in records if c == cid))
        assert len(got) == len(set(got)) and set(got) == want
    for b, _a in out:
        ids = parse_id_set(str(b["idSet"]))
        assert b["count"] == len(ids) <= per_message and b["accountCode"] == "acme"
        assert len(ids) == 1 or len(str(b["idSet"])) <= max_chars
