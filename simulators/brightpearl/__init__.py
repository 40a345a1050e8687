"""Brightpearl simulator: a stateful fake of the Brightpearl REST API on loopback."""

from simulators.brightpearl.server import BrightpearlSimulator

__all__ = ["BrightpearlSimulator"]
