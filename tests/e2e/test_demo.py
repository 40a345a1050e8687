"""The README's demo command must keep working: run it as a user would and check what it reports."""

import re
import subprocess
import sys

import pytest

pytestmark = pytest.mark.e2e


def test_demo_runs_end_to_end():
    out = subprocess.run([sys.executable, "-m", "local.demo"], capture_output=True, text=True, timeout=180,
                         check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    text = out.stdout

    def shown(step: str) -> dict[str, str]:
        block = text.split(step, 1)[1].split("\n[", 1)[0]
        return dict(re.findall(r"^      (\S+)\s+(.+)$", block, flags=re.MULTILINE))

    # Linked by SKU and pushed: on-hand over Main DC + Overflow; the bundle from its components.
    assert shown("[2]") == {"SHIRT-BL-M": "48", "SHIRT-BL-L": "12", "GIFT-SET": "18", "SOCKS-GR": "36",
                            "TEA-FBA": "(FBA: Amazon's)"}
    assert "unmatched ['NOT-IN-BRIGHTPEARL']" in text
    assert "product ids 1008   HTTP 200" in text and "product ids 1011   HTTP 200" in text
    assert "without the secret token: HTTP 403" in text
    # After the stock moves: 12 + 24 received; socks 36 - 26 = 10, so 5 gift sets.
    assert shown("[5]") == {"SHIRT-BL-M": "48", "SHIRT-BL-L": "36", "GIFT-SET": "5", "SOCKS-GR": "10",
                            "TEA-FBA": "(FBA: Amazon's)"}
    assert shown("[6]") == {"SHIRT-BL-M": "48"}
    assert "Amazon stock nightly check: 1 corrected, 0 failing" in text
    assert "(throttled 0)" in text
    assert '"level":"INFO"' not in text  # the demo shows the story, not the functions' info logs
