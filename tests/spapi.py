"""Helpers for tests that drive the SP-API simulator with the production client factory."""

from __future__ import annotations

from typing import Any

from sp_api.auth import access_token_client

from connector.adapters.amazon.client import AmazonClients, LwaCredentials
from simulators.spapi import SpApiSimulator
from simulators.spapi.demo import CLIENT_ID, CLIENT_SECRET, DEMO_SEED, REFRESH_TOKEN, UK


def fresh_spapi(server: SpApiSimulator, seed: dict[str, Any] | None = None, *,
                speed: float | None = None) -> SpApiSimulator:
    """A module's simulator back to a clean world (and the library's token cache emptied)."""
    access_token_client.cache.clear()
    server.reset()
    server.seed(DEMO_SEED if seed is None else seed)
    if speed is not None:
        server.clock.set_speed(speed)
    return server


def amazon_for(sim: SpApiSimulator, *, secret: str = CLIENT_SECRET, simulated_sleep: bool = True,
               **kwargs: Any) -> AmazonClients:
    """The production factory pointed at the simulator; back-off waits pass on its simulated clock."""
    if simulated_sleep:
        kwargs.setdefault("sleep", sim.clock.advance)
    kwargs.setdefault("marketplace_id", UK)
    return AmazonClients(LwaCredentials(REFRESH_TOKEN, CLIENT_ID, secret), endpoint=sim.url,
                         lwa_url=f"{sim.url}/auth/o2/token", **kwargs)
