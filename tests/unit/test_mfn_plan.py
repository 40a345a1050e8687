"""The MFN push plan: only confirmed listings, one feed message in flight per listing."""

from hypothesis import given
from hypothesis import strategies as st

from connector.domain.mfn_sync import ChannelRule, LinkView, plan_mfn_push

UK = "A1F83G8C2ARO7P"
RULES = {UK: ChannelRule(UK, True, (2,))}
AVAILABILITY = {1: {"warehouses": {"2": {"onHand": 7}}}}


def view(**kw):
    base = {"listing_id": f"{UK}#S", "sku": "S", "marketplace_id": UK, "product_id": 1, "channel": "MFN",
            "amazon_status": "confirmed"}
    return LinkView(**{**base, **kw})


def plan(v, force=False):
    return plan_mfn_push([v], RULES, {}, AVAILABILITY, {1}, force=force)


def test_a_listing_amazon_does_not_hold_is_never_pushed_even_forced():
    for status in ("not-found", None):
        p = plan(view(amazon_status=status), force=True)
        assert p.pushes == [] and p.not_on_amazon == [f"{UK}#S"]


@given(confirmed=st.one_of(st.none(), st.integers(0, 20)), pending=st.one_of(st.none(), st.integers(0, 20)),
       force=st.booleans())
def test_push_decision(confirmed, pending, force):
    p = plan(view(last_confirmed=confirmed, pending=pending), force=force)
    if pending is not None:
        # In flight: never a second message; a different plan waits for the result (then re-planned).
        assert p.pushes == []
        assert p.deferred == ([] if pending == 7 else [f"{UK}#S"])
    else:
        pushed = force or confirmed != 7
        assert [x.quantity for x in p.pushes] == ([7] if pushed else [])
