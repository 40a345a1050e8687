"""The SIGKILL case: a handler process killed between Amazon's write and its own record of it.

An exception is not enough (a ``finally`` would still run); the StockChangeFunction runs here in a
child process (``python -m bench.soak.kill``, the moto endpoint and simulator URLs in its environment)
and gets SIGKILL right after the SP-API simulator applied its patchListingsItem and before it answered:
the listing changed at Amazon, the link in DynamoDB does not know. The same message is then delivered
again (SQS would, after the visibility timeout) and the end state must be exact, with one write more at
most (quantities are absolute, so a repeated write cannot count stock twice).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from bench.soak import generator

ROOT = Path(__file__).resolve().parents[2]


def _hold_after_write(sim: Any, route_name: str) -> tuple[threading.Event, threading.Event, Any]:
    """Make ``route_name`` apply its change, signal ``written``, then wait for ``release`` before answering."""
    route = next(r for r in sim._routes if r.name == route_name)
    original = route.handler
    written, release = threading.Event(), threading.Event()

    def held(req: Any) -> Any:
        resp = original(req)
        written.set()
        release.wait(60)
        return resp

    route.handler = held

    def restore() -> None:
        route.handler = original

    return written, release, restore


def kill_after_write(sim: Any, route_name: str, event: dict[str, Any], *function: str) -> tuple[int, bool]:
    """Run one handler on ``event`` in a child process (``function``: which one, default the stock-change
    consumer) and SIGKILL it once ``sim`` applied ``route_name``'s write while holding its answer: no
    ``finally`` runs, nothing of the write is recorded. Returns (exit code, whether the write landed)."""
    written, release, restore = _hold_after_write(sim, route_name)
    child = subprocess.Popen([sys.executable, "-m", "bench.soak.kill", *function], cwd=ROOT, stdin=subprocess.PIPE,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ))
    try:
        assert child.stdin
        child.stdin.write(json.dumps(event).encode())
        child.stdin.close()
        landed = written.wait(120)
        child.send_signal(signal.SIGKILL)
        exit_code = child.wait(30)
    finally:
        release.set()
        restore()
    return exit_code, landed


def kill_case(stack: Any, scenario: generator.Scenario) -> dict[str, Any]:
    from bench.soak.driver import queued, settle_webhooks
    from connector.adapters.repositories import LinkRepository, listing_id

    bp, amazon = stack.bp, stack.amazon
    bundled = {c for p in scenario.products.values() for c, _ in p.components}
    from urllib.parse import quote

    candidates = [lk for lk in scenario.links if lk.channel == "MFN" and lk.marketplace_id == generator.UK
                  and not scenario.products[lk.product_id].components and lk.product_id not in bundled
                  and lk.sku != scenario.eu_conflict_sku]
    # A URL-safe SKU when there is one: the case is about the kill, not about SKU encoding.
    link = next((lk for lk in candidates if quote(lk.sku, safe="") == lk.sku), candidates[0])
    bp.clear_faults()
    amazon.clear_faults()
    bp.adjust_on_hand(link.product_id, generator.MFN_WAREHOUSES[0], 7)
    settle_webhooks(stack)
    bodies = queued(stack)
    expected = sum(bp.on_hand(link.product_id, w) for w in generator.MFN_WAREHOUSES)
    before = _link(LinkRepository(), link.sku)
    patches_before = len(_patches(amazon, link.sku))
    event = {"Records": [{"messageId": f"kill-{i}", "receiptHandle": f"kill-{i}", "body": b,
                          "attributes": {}, "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
                          "eventSourceARN": stack.aws.attributes[("StockChangeQueue", "Arn")],
                          "awsRegion": "eu-west-1"} for i, b in enumerate(bodies)]}
    exit_code, landed = kill_after_write(amazon, "patchListingsItem", event)
    after_kill = _link(LinkRepository(), link.sku)
    amazon_after_kill = amazon.world.listings[link.sku].quantity
    # The redelivery, in this process.
    from bench.soak.driver import send

    send(stack, "StockChangeQueue", bodies)
    stack.pump("StockChangeFunction", expire_visibility=True)
    final = _link(LinkRepository(), link.sku)
    out = {
        "sku": link.sku, "child_exit": exit_code, "write_landed_before_kill": landed,
        "amazon_after_kill": amazon_after_kill,
        "link_after_kill": after_kill.last_confirmed_quantity,
        "link_before": before.last_confirmed_quantity,
        "expected": expected, "amazon_final": amazon.world.listings[link.sku].quantity,
        "link_final": final.last_confirmed_quantity,
        "writes": len(_patches(amazon, link.sku)) - patches_before,
    }
    out["ok"] = bool(
        exit_code == -signal.SIGKILL and landed and amazon_after_kill == expected
        and after_kill.last_confirmed_quantity == before.last_confirmed_quantity  # killed before its record
        and out["amazon_final"] == expected and out["link_final"] == expected and out["writes"] <= 2
        and listing_id(generator.UK, link.sku) == final.listing_id)
    return out


def _link(links: Any, sku: str) -> Any:
    link = links.get(generator.UK, sku)
    if link is None:
        raise RuntimeError(f"the link of {sku!r} disappeared")
    return link


def _patches(amazon: Any, sku: str) -> list[Any]:
    from urllib.parse import unquote

    return [e for e in amazon.requests(route="patchListingsItem", ok_only=True)
            if unquote(unquote(e.path.rsplit("/", 1)[-1])) == sku]


def _child() -> None:
    """The child: one invocation of the function named in argv (default StockChangeFunction) on the event
    read from stdin (until it is killed)."""
    import local  # noqa: F401 - puts the layer (shared/) on sys.path
    from local.runtime import invoke

    invoke(sys.argv[1] if len(sys.argv) > 1 else "StockChangeFunction", json.loads(sys.stdin.read()))


if __name__ == "__main__":
    _child()
