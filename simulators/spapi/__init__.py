"""Amazon SP-API simulator (see docs/simulators-spapi.md)."""

from simulators.spapi.server import SpApiSimulator
from simulators.spapi.world import Timing, World

__all__ = ["SpApiSimulator", "Timing", "World"]
