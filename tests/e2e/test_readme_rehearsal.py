"""README's deploy section, rehearsed as a fresh clone would: `connector --local-stack setup` in its own
process (a fresh local stack as after `sam deploy`: secrets empty) with the simulators' credentials
from local/credentials/, down to the health check."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def test_setup_on_a_fresh_local_stack_ends_with_a_passing_health_check():
    out = subprocess.run([sys.executable, "-m", "cli", "--local-stack", "--json", "setup",
                          "--brightpearl", "local/credentials/brightpearl.json",
                          "--amazon", "local/credentials/amazon.json", "--timeout", "60"],
                         cwd=ROOT, capture_output=True, text=True, timeout=240, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    steps = {s["step"]: s for s in json.loads(out.stdout)["steps"]}
    assert [steps[s]["status"] for s in ("secrets", "webhook", "notifications", "check")] == ["changed"] * 3 + ["ok"]
    assert steps["check"]["detail"]["webhook"]["correlationId"] and steps["check"]["detail"]["notification"]
