"""Shadow mode's plan store on DynamoDB (moto): entries whole per SKU, writes merged by reference under
concurrent writers (none lost, none counted twice), a feature's plan read and cleared alone."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector.adapters.shadow_plans import DynamoShadowPlans
from connector.domain.shadow import INBOUND, MFN, MOVEMENTS, PlanEntry

SKU = st.text(st.sampled_from("ab Z/&+é#-1"), min_size=1, max_size=10)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(writes=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 8), st.integers(-5, 5)), min_size=1, max_size=30),
       skus=st.lists(SKU, min_size=3, max_size=3, unique=True))
def test_concurrent_writes_merge_once_per_reference(local_aws, writes, skus):
    run = uuid.uuid4().hex[:8]  # the table outlives an example: this example's keys
    plans = DynamoShadowPlans()
    keys = [f"{run}-{s}" for s in skus]

    def add(w: tuple[int, int, int]) -> None:
        s, ref, units = w
        plans.add_moves(PlanEntry(MOVEMENTS, keys[s], keys[s], 0, 40), {f"ref{ref}": units})

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(add, writes + writes))  # every write delivered twice, concurrently
    last: dict[tuple[int, int], int] = {}
    for s, ref, units in writes:
        last[(s, ref)] = units  # the same reference again replaces itself
    got = {e.key: e for e in plans.entries(MOVEMENTS) if e.key.startswith(run)}
    for i, key in enumerate(keys):
        refs = {f"ref{r}": u for (s, r), u in last.items() if s == i}
        if not refs:
            assert key not in got
            continue
        # Concurrent duplicates may land in either order; each reference is counted once.
        assert set(got[key].moves) == set(refs) and got[key].shows == 40
        assert got[key].would == sum(got[key].moves.values())


def test_put_replaces_whole_entries_and_clear_removes_one_feature_only(local_aws):
    run = uuid.uuid4().hex[:8]
    plans = DynamoShadowPlans()
    plans.clear(MFN)
    plans.put([PlanEntry(MFN, f"UK#{run}-{i}", f"{run}-{i}", i, 5, marketplace_id="UK") for i in range(60)])
    plans.put([PlanEntry(MFN, f"UK#{run}-0", f"{run}-0", 9, 5, marketplace_id="UK")])
    plans.add_moves(PlanEntry(INBOUND, f"{run}-x", f"{run}-x", 0, 3), {"AMZ-IN-1#transfer": -2})
    entries = {e.key: e for e in plans.entries(MFN)}
    assert len(entries) == 60 and entries[f"UK#{run}-0"].would == 9 and entries[f"UK#{run}-7"].change == 2
    assert plans.clear(MFN) == 60 and list(plans.entries(MFN)) == []
    assert [e.would for e in plans.entries(INBOUND) if e.key == f"{run}-x"] == [-2]
