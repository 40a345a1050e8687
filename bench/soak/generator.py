"""Scenario generator for the soak: a seeded catalogue and a stream of stock-change rounds.

Everything is drawn from one ``random.Random(seed)``, so a seed names a scenario exactly (a failing
run is replayed with ``python -m bench soak --seed S --n N``). The generator keeps its own tally of
on-hand per (product, warehouse) only to choose changes Brightpearl would accept (never below 0);
the oracle recomputes the end state from the seed and the changes, without this tally.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

UK, DE = "A1F83G8C2ARO7P", "A1PA6795UKMFR9"
MFN_WAREHOUSES = (2, 3)  # the global setting (UK uses it)
DE_WAREHOUSES = (2,)  # Germany counts only the main DC: the EU SKU linked in both conflicts
DE_BUFFER = {"keep_back": 1, "percent": 90, "max_quantity": 60}
WAREHOUSES = {2: "Main DC", 3: "Overflow", 4: "Returns bay", 7: "Amazon FBA"}
FIRST_ID = 2000
# SKUs with the characters that break naive URL building and CSVs.
_AWKWARD = ["", " ", "/", "&", "+", "é", "ü", "#", "%", "ß"]


@dataclass(frozen=True)
class Product:
    id: int
    sku: str
    components: tuple[tuple[int, int], ...] = ()  # (component id, quantity per bundle); empty: stock-tracked


@dataclass(frozen=True)
class Link:
    marketplace_id: str
    sku: str
    product_id: int
    channel: str  # "MFN" or "FBA"


@dataclass
class Scenario:
    seed: int
    products: dict[int, Product]
    stock: dict[tuple[int, int], int]  # seeded on-hand per (product, warehouse)
    links: list[Link]
    eu_conflict_sku: str
    amazon_quantity: dict[str, int] = field(default_factory=dict)  # MFN quantity Amazon shows at the start
    rounds: list[Round] = field(default_factory=list)

    @property
    def events(self) -> int:
        return sum(len(r.changes) for r in self.rounds)

    def bp_seed(self) -> dict[str, Any]:
        products = []
        for p in self.products.values():
            entry: dict[str, Any] = {"id": p.id, "sku": p.sku}
            if p.components:
                entry["bundleComponents"] = [{"productId": c, "productQuantity": q} for c, q in p.components]
            products.append(entry)
        return {"warehouses": [{"id": w, "name": n} for w, n in WAREHOUSES.items()], "products": products,
                "stock": [{"productId": pid, "warehouseId": wid, "onHand": q} for (pid, wid), q in self.stock.items()]}

    def amazon_seed(self, credentials: dict[str, str]) -> dict[str, Any]:
        listings: dict[str, Any] = {}
        for link in self.links:
            entry = listings.setdefault(link.sku, {"channel": link.channel, "marketplaces": []})
            entry["marketplaces"].append(link.marketplace_id)
            if link.channel == "MFN":
                entry["quantity"] = self.amazon_quantity[link.sku]
            else:
                entry["fba"] = {"SELLABLE": 17}
        return {"credentials": credentials, "listings": listings}


@dataclass(frozen=True)
class Round:
    """Changes Brightpearl applies in one go (one on-hand-modified event: an ID set), then what the driver does."""

    changes: tuple[tuple[int, int, int], ...]  # (product id, warehouse id, delta)
    held_back: float  # share of this round's queue messages delivered only in a later round (reordering)
    finish_amazon: bool  # Amazon's clock moves on: feeds finish, their notifications are delivered
    notification_copies: int  # each Amazon notification is delivered this many times (1..10)


def _sku(rng: random.Random, pid: int, awkward: bool) -> str:
    chars = _AWKWARD if awkward else ["", "_", ".", "~"]  # unreserved in URLs: never percent-encoded
    return f"SK{pid}{rng.choice(chars)}{rng.choice(['A', 'b', 'Z'])}{rng.choice(chars)}-{pid % 7}"


def build(seed: int, n_events: int, *, awkward_skus: bool = True, feed_share: float = 0.07, n_products: int = 48,
          n_bundles: int = 6) -> Scenario:
    """The scenario of ``seed``.

    ``awkward_skus``: SKUs with spaces, ``/ & + # %`` and non-ASCII letters; ``feed_share``: the share of
    rounds that change more listings than the patch threshold (they go to Amazon in a feed).
    """
    rng = random.Random(seed)
    plain = list(range(FIRST_ID, FIRST_ID + n_products))
    products = {pid: Product(pid, _sku(rng, pid, awkward_skus)) for pid in plain}
    bundle_ids = list(range(FIRST_ID + n_products, FIRST_ID + n_products + n_bundles))
    for i, bid in enumerate(bundle_ids):
        # The last bundle holds another bundle (nested), the others 2-3 stock-tracked products.
        comps = [(c, rng.randint(1, 3)) for c in rng.sample(plain, rng.randint(2, 3))]
        if i == len(bundle_ids) - 1 and i > 0:
            comps = [(bundle_ids[0], 1), comps[0]]
        products[bid] = Product(bid, _sku(rng, bid, awkward_skus), tuple(comps))
    stock = {}
    for pid in plain:
        for wid in rng.sample(sorted(WAREHOUSES), rng.randint(1, 3)):
            stock[(pid, wid)] = rng.randint(0, 60)
    # Links: most products and every bundle MFN in the UK; some in Germany only; a few FBA; one SKU in both
    # (the EU rule: one quantity per SKU across the region, the lowest of what each marketplace's settings give).
    links: list[Link] = []
    fba = set(rng.sample(plain, 3))
    de_only = set(rng.sample([p for p in plain if p not in fba], 5))
    unlinked = set(rng.sample([p for p in plain if p not in fba | de_only], 3))  # changes nobody linked
    for pid in [*plain, *bundle_ids]:
        if pid in unlinked:
            continue
        if pid in fba:
            links.append(Link(UK, products[pid].sku, pid, "FBA"))
        elif pid in de_only:
            links.append(Link(DE, products[pid].sku, pid, "MFN"))
        else:
            links.append(Link(UK, products[pid].sku, pid, "MFN"))
    both = next(p for p in plain if p not in fba | de_only | unlinked)
    links.append(Link(DE, products[both].sku, both, "MFN"))
    amazon_quantity = {lk.sku: rng.randint(0, 30) for lk in links if lk.channel == "MFN"}
    scenario = Scenario(seed, products, stock, links, products[both].sku, amazon_quantity)
    scenario.rounds = list(_rounds(rng, n_events, plain, dict(stock), first=both, feed_share=feed_share))
    return scenario


def _rounds(rng: random.Random, n_events: int, plain: list[int], tally: dict[tuple[int, int], int],
            first: int, feed_share: float) -> Any:
    made = 0
    while made < n_events:
        kind = rng.random()
        if made == 0:
            size = 1  # the EU SKU first: its conflict email is then certain
        elif kind < feed_share:
            size = rng.randint(21, 40)  # more listings than patch_threshold: they go in one feed
        elif kind < 0.55:
            size = 1
        else:
            size = rng.randint(2, 12)  # a bulk ID set (often ranges: ids are consecutive)
        size = min(size, n_events - made)
        pids = [first] if made == 0 else rng.sample(plain, min(size, len(plain)))
        yield Round(changes_for(rng, pids, tally), held_back=rng.choice([0.0, 0.0, 0.3, 0.6]),
                    finish_amazon=rng.random() < 0.25, notification_copies=rng.randint(1, 10))
        made += len(pids)


def changes_for(rng: random.Random, pids: list[int],
                tally: dict[tuple[int, int], int]) -> tuple[tuple[int, int, int], ...]:
    """A random on-hand change for each product, in a random warehouse, never taking on-hand below 0."""
    changes = []
    for pid in pids:
        wid = rng.choice(sorted(WAREHOUSES))
        have = tally.get((pid, wid), 0)
        delta = rng.randint(-min(have, 15), 15) or 1
        tally[(pid, wid)] = have + delta
        changes.append((pid, wid, delta))
    return tuple(changes)


# ----------------------------------------------------------------------------- FBA movements (part 2)
FBA_WAREHOUSE, RETURNS_WAREHOUSE = 7, 9
FBA_START = 300  # units per product, in Brightpearl's FBA warehouse and SELLABLE at Amazon
MOVEMENT_OPS = ("lose", "find", "damage", "replacement", "customer_return", "reimburse")


@dataclass(frozen=True)
class Movement:
    """One thing Amazon does to the seller's FBA stock (a world operation of the SP-API simulator)."""

    op: str
    sku: str
    quantity: int
    order_id: str = ""  # customer_return: the original order; replacement: the original order
    disposition: str = "SELLABLE"  # customer_return only


@dataclass
class MovementScenario:
    seed: int
    products: dict[int, str]  # product id -> SKU (each linked FBA in the UK)
    orders: dict[str, tuple[int, int]]  # Amazon order id -> (product id, quantity): Brightpearl sales orders
    restock_returns: bool
    cycles: list[MovementCycle] = field(default_factory=list)

    @property
    def events(self) -> int:
        return sum(len(c.movements) for c in self.cycles)

    def bp_seed(self) -> dict[str, Any]:
        rows = [{"id": 1300 + i, "orderTypeCode": "SO", "externalRef": oid, "contactId": 200,
                 "warehouseId": FBA_WAREHOUSE, "channelId": 3, "installedIntegrationInstanceId": 13, "currency": "GBP",
                 "rows": [{"productId": pid, "quantity": q, "net": 10.0 * q, "tax": 2.0 * q, "itemCost": 4.0,
                           "taxCode": "T20", "nominalCode": "4000"}]}
                for i, (oid, (pid, q)) in enumerate(sorted(self.orders.items()))]
        return {"warehouses": [{"id": 2, "name": "Main DC"}, {"id": FBA_WAREHOUSE, "name": "Amazon FBA"},
                               {"id": RETURNS_WAREHOUSE, "name": "Returns"}],
                "products": [{"id": pid, "sku": sku} for pid, sku in self.products.items()],
                "stock": [{"productId": pid, "warehouseId": FBA_WAREHOUSE, "onHand": FBA_START}
                          for pid in self.products],
                "orders": rows}

    def amazon_seed(self, credentials: dict[str, str]) -> dict[str, Any]:
        return {"credentials": credentials,
                "listings": {sku: {"channel": "FBA", "marketplaces": [UK], "fba": {"SELLABLE": FBA_START}}
                             for sku in self.products.values()}}


@dataclass(frozen=True)
class MovementCycle:
    """Movements Amazon makes, then one report schedule (hours pass, reports requested and delivered)."""

    movements: tuple[Movement, ...]
    hours: float
    notification_copies: int  # each REPORT_PROCESSING_FINISHED delivered this many times (1..10)


def build_movements(seed: int, n_events: int, *, n_products: int | None = None) -> MovementScenario:
    """Random losses, finds, damage, replacements, customer returns and reimbursements in cycles."""
    rng = random.Random(seed + 104729)
    n_products = n_products or max(12, n_events // 60)  # ~60 movements per product: stock stays positive
    products = {pid: _sku(rng, pid, True) for pid in range(3000, 3000 + n_products)}
    scenario = MovementScenario(seed, products, {}, restock_returns=rng.random() < 0.5)
    made = 0
    while made < n_events:
        batch = []
        for _ in range(min(n_events - made, rng.randint(1, 8))):
            op = rng.choice(MOVEMENT_OPS)
            pid = rng.choice(sorted(products))
            sku = products[pid]
            if op == "customer_return":
                order_id = f"202-{rng.randint(10**6, 10**7 - 1)}-{len(scenario.orders):07d}"
                q = rng.randint(1, 2)
                scenario.orders[order_id] = (pid, q + rng.randint(0, 1))  # the order had at least as many
                disposition = rng.choice(["SELLABLE", "SELLABLE", "CUSTOMER_DAMAGED"])
                batch.append(Movement(op, sku, q, order_id, disposition))
            elif op == "replacement":
                batch.append(Movement(op, sku, rng.randint(1, 2), f"203-{rng.randint(10**6, 10**7 - 1)}-0000001"))
            else:
                batch.append(Movement(op, sku, rng.randint(1, 3)))
        made += len(batch)
        scenario.cycles.append(MovementCycle(tuple(batch), hours=rng.choice([1.0, 5.0, 5.0, 13.0]),
                                             notification_copies=rng.randint(1, 10)))
    return scenario
