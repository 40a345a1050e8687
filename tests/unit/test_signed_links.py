"""Signed page links and form tokens (issue 17): bound to the page and id, expiring, unforgeable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.domain.signed_links import LinkError, check_form_token, form_token, sign, verify

KEY = b"k" * 32
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
IDS = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="|"), min_size=1, max_size=30)
KINDS = st.sampled_from(["reconciliation", "nightly"])


def reason(fn) -> str:
    with pytest.raises(LinkError) as exc:
        fn()
    return exc.value.reason


@settings(max_examples=80, deadline=None)
@given(KINDS, IDS, st.integers(1, 72 * 3600))
def test_a_link_opens_its_own_page_until_it_expires(kind, id_, seconds):
    exp = int((NOW + timedelta(seconds=seconds)).timestamp())
    token = sign(KEY, kind, id_, exp)
    assert verify(KEY, token, kind=kind, id_=id_, now=NOW).id == id_
    assert reason(lambda: verify(KEY, token, kind=kind, id_=id_, now=NOW + timedelta(seconds=seconds))) == "expired"


@settings(max_examples=80, deadline=None)
@given(IDS, IDS)
def test_a_link_is_for_one_id_only(a, b):
    token = sign(KEY, "reconciliation", a, int(NOW.timestamp()) + 60)
    if a != b:
        assert reason(lambda: verify(KEY, token, kind="reconciliation", id_=b, now=NOW)) == "wrong-id"
    assert reason(lambda: verify(KEY, token, kind="nightly", id_=a, now=NOW)) == "wrong-id"


@settings(max_examples=150, deadline=None)
@given(IDS, st.data())
def test_any_change_to_a_link_is_refused(id_, data):
    token = sign(KEY, "reconciliation", id_, int(NOW.timestamp()) + 3600)
    i = data.draw(st.integers(0, len(token) - 1))
    ch = data.draw(st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."))
    altered = token[:i] + ch + token[i + 1:]
    if altered == token:
        return
    try:
        claims = verify(KEY, altered, kind="reconciliation", id_=id_, now=NOW)
    except LinkError as exc:
        assert exc.reason in ("tampered", "malformed", "wrong-id")
    else:
        # Base64 padding bits: a different last character can decode to the same bytes — same claims then.
        assert claims.id == id_ and claims.expires == int(NOW.timestamp()) + 3600


def test_an_extended_expiry_or_another_key_is_tampering():
    import base64

    token = sign(KEY, "reconciliation", "R1", int(NOW.timestamp()) - 1)
    _head, mac = token.split(".")
    later = base64.urlsafe_b64encode(f"reconciliation|R1|{int(NOW.timestamp()) + 9999}".encode()).rstrip(b"=")
    assert reason(lambda: verify(KEY, f"{later.decode()}.{mac}", kind="reconciliation", id_="R1", now=NOW)) \
        == "tampered"
    good = sign(KEY, "reconciliation", "R1", int(NOW.timestamp()) + 60)
    assert reason(lambda: verify(b"x" * 32, good, kind="reconciliation", id_="R1", now=NOW)) == "tampered"
    for junk in ("", "no-dot", ".", "a.b", "%%%.%%%"):
        assert reason(lambda junk=junk: verify(KEY, junk, kind="reconciliation", id_="R1", now=NOW)) in (
            "malformed", "tampered")


@settings(max_examples=60, deadline=None)
@given(IDS, st.text(min_size=1, max_size=30), st.text(min_size=1, max_size=30))
def test_a_form_token_is_bound_to_its_id_and_nonce(id_, nonce, other):
    token = form_token(KEY, id_, nonce)
    check_form_token(KEY, token, id_=id_, nonce=nonce)
    if other != nonce:
        assert reason(lambda: check_form_token(KEY, token, id_=id_, nonce=other)) == "tampered"
    assert reason(lambda: check_form_token(KEY, token, id_=id_ + "x", nonce=nonce)) == "tampered"
    assert reason(lambda: check_form_token(KEY, "", id_=id_, nonce=nonce)) == "tampered"


def test_a_short_key_or_an_unknown_kind_is_refused_by_name():
    with pytest.raises(ValueError, match="16 bytes"):
        sign(b"short", "reconciliation", "R1", 1)
    with pytest.raises(ValueError, match="unknown page kind 'admin'"):
        sign(KEY, "admin", "R1", 1)
    with pytest.raises(ValueError, match="may not contain"):
        sign(KEY, "nightly", "a|b", 1)
