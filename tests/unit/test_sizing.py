"""The memory sizing rule (bench/sizing.py): >= 30 % headroom over the measured peak, and more memory only
where Lambda's CPU share (one vCPU at 1 769 MB) makes the invocation fit its timeout."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bench.sizing import FULL_VCPU_MB, MAX_MB, MIN_MB, STEP_MB, Need, choose


@given(peak=st.floats(1, 7000), cpu=st.floats(0, 2000), other=st.floats(0, 900),
       timeout=st.sampled_from([10, 60, 300, 900]))
def test_the_chosen_memory_has_the_headroom_and_is_the_smallest_that_does(peak, cpu, other, timeout):
    need = Need("F", peak, "job", "size", cpu_s=cpu, other_s=other)
    mb, why = choose(need, timeout)
    if mb == 0:  # the setting is kept: no memory holds the peak with its headroom, or fits the time
        assert why.startswith("job must change")
        assert peak / 0.7 > MAX_MB - STEP_MB or need.seconds_at(MAX_MB) > 0.7 * timeout
        return
    assert mb % STEP_MB == 0 and MIN_MB <= mb <= MAX_MB
    assert peak <= 0.7 * mb and need.seconds_at(mb) <= 0.7 * timeout
    smaller = mb - STEP_MB  # nothing smaller both holds the peak and fits the time
    assert smaller < MIN_MB or peak > 0.7 * smaller or need.seconds_at(smaller) > 0.7 * timeout
    if why.startswith("CPU"):
        assert mb > max(MIN_MB, -(-peak / 0.7 // STEP_MB) * STEP_MB) and mb <= FULL_VCPU_MB + STEP_MB


def test_more_memory_is_chosen_where_it_buys_time():
    # 20 s of CPU at 1 vCPU in a 60 s function: 0.29 vCPU at 512 MB would take 69 s
    mb, why = choose(Need("F", 100, "job", "size", cpu_s=20, other_s=0), 60)
    assert mb == 896 and why.startswith("CPU")  # 20 * 1769 / 896 = 39.5 s <= 42 s
    # a cold start's imports count too: 2 s of CPU more needs 960 MB (22 * 1769 / 960 = 40.5 s)
    assert choose(Need("F", 100, "job", "size", cpu_s=20, other_s=0, cold_cpu_s=2), 60)[0] == 960


def test_a_function_no_job_measures_keeps_its_setting():
    mb, why = choose(Need("F", 60, "no job", "", cold_cpu_s=0.3, unmeasured=True), 60)
    assert mb == 0 and why.startswith("kept")
