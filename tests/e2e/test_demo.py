"""The README's demo command must keep working: run it as a user would and check what it reports."""

import subprocess
import sys

import pytest

pytestmark = pytest.mark.e2e


def test_demo_runs_end_to_end():
    out = subprocess.run([sys.executable, "-m", "local.demo"], capture_output=True, text=True, timeout=120,
                         check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    text = out.stdout
    assert "Brightpearl → webhook: ids 1008       HTTP 200" in text
    assert "HTTP 403: forbidden" in text
    assert "products 1008" in text and "products 1011" in text
    # 12 on hand + 24 received through the stock correction; 30 - 4 sold.
    assert "1008     2              36" in text
    assert "1011     2              26" in text
    assert "throttled: 0" in text
