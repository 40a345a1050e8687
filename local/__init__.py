"""Runs the stack on this machine. Puts the layer (shared/) on sys.path, as Lambda does with /opt/python."""

import sys
from pathlib import Path

_SHARED = str(Path(__file__).resolve().parent.parent / "shared")
if _SHARED not in sys.path:
    sys.path.insert(0, _SHARED)
