"""The soak's oracle: the exact end state the documented rules give, computed without the product's code.

Rules (docs/mfn-sync.md): a product's MFN quantity is its on-hand summed over the marketplace's
warehouses, never below 0; a bundle can be made min(component quantity // quantity per bundle) times
(components may be bundles); the channel's buffer then applies (keep back N, then P % rounded down,
then at most M); in the EU one SKU has one quantity: the lowest its marketplaces' settings give.
FBA listings are never pushed. One EU-conflict email per distinct set of conflicting SKUs.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from bench.soak.generator import DE, DE_BUFFER, DE_WAREHOUSES, FBA_START, MFN_WAREHOUSES, MovementScenario, Scenario

EU = {"A1F83G8C2ARO7P", "A1PA6795UKMFR9", "A13V1IB3VIYZZH", "APJ6JRA9NG5V4", "A1RKKUPIHCS9HS"}


@dataclass(frozen=True)
class Expected:
    quantities: dict[str, int]  # Amazon SKU -> MFN quantity Amazon must show
    fba_skus: frozenset[str]  # never patched
    emails: dict[str, int]  # subject prefix -> how many such emails


def on_hand_after(scenario: Scenario) -> dict[tuple[int, int], int]:
    """The seed's on-hand plus every change, replayed from the scenario (not the generator's tally)."""
    on_hand: dict[tuple[int, int], int] = defaultdict(int, scenario.stock)
    for rnd in scenario.rounds:
        for pid, wid, delta in rnd.changes:
            on_hand[(pid, wid)] += delta
            assert on_hand[(pid, wid)] >= 0, f"generator made a negative on-hand for {pid}@{wid}"
    return dict(on_hand)


def _buffer(q: int, keep_back: int = 0, percent: int | None = None, max_quantity: int | None = None) -> int:
    q = max(0, q - keep_back)
    if percent is not None:
        q = q * percent // 100
    if max_quantity is not None:
        q = min(q, max_quantity)
    return q


def sellable(scenario: Scenario, on_hand: dict[tuple[int, int], int], pid: int, warehouses: tuple[int, ...]) -> int:
    product = scenario.products[pid]
    if not product.components:
        return max(0, sum(on_hand.get((pid, w), 0) for w in warehouses))
    return min(sellable(scenario, on_hand, c, warehouses) // q for c, q in product.components)


def _leaves(scenario: Scenario, pid: int) -> set[int]:
    product = scenario.products[pid]
    if not product.components:
        return {pid}
    return set().union(*(_leaves(scenario, c) for c, _ in product.components))


def expected(scenario: Scenario) -> Expected:
    """What Amazon must show: listings whose stock never changed keep their seeded quantity (only changes push)."""
    on_hand = on_hand_after(scenario)
    changed = {pid for rnd in scenario.rounds for pid, _, _ in rnd.changes}
    per_sku: dict[str, list[int]] = defaultdict(list)
    marketplaces: dict[str, set[str]] = defaultdict(set)
    fba = set()
    for link in scenario.links:
        if link.channel == "FBA":
            fba.add(link.sku)
            continue
        if link.marketplace_id == DE:
            q = _buffer(sellable(scenario, on_hand, link.product_id, DE_WAREHOUSES), **DE_BUFFER)
        else:
            q = sellable(scenario, on_hand, link.product_id, MFN_WAREHOUSES)
        if not _leaves(scenario, link.product_id) & changed:
            q = scenario.amazon_quantity[link.sku]  # never touched: never pushed
        per_sku[link.sku].append(q)
        marketplaces[link.sku].add(link.marketplace_id)
    quantities = {sku: min(qs) for sku, qs in per_sku.items()}
    # Non-EU listings would keep their own value; every marketplace here is in the EU.
    assert all(m in EU for ms in marketplaces.values() for m in ms)
    conflicting = [sku for sku, ms in marketplaces.items() if len(ms) > 1]
    touched = [sku for sku in conflicting
               if any(_leaves(scenario, lk.product_id) & changed for lk in scenario.links if lk.sku == sku)]
    # One SKU is linked in two marketplaces with different settings: the only set of conflicts there
    # can be is that SKU alone, so one warning email once its stock changed, never a second one.
    assert len(conflicting) <= 1, "the email rule below assumes one conflicting SKU"
    emails = {"Amazon EU: 1 SKU(s) fed from different settings": 1} if touched else {}
    return Expected(quantities, frozenset(fba), emails)


@dataclass(frozen=True)
class ExpectedMovements:
    fba_on_hand: dict[int, int]  # product id -> Brightpearl FBA warehouse on-hand
    credits: int  # sales credits (one per customer return)
    goods_in: int  # goods-in notes (restock on: one per sellable return)


def expected_movements(scenario: MovementScenario) -> ExpectedMovements:
    """docs/movements.md's stock rule: the FBA warehouse mirrors Amazon's sellable units, each movement once.

    Replacements, losses and damage from sellable take units out; finds and sellable returns bring them
    back (the credit's goods-in or the ledger row, never both); a cash reimbursement for a lost or
    damaged unit reduces only what no ledger loss already did (deemed matching): per SKU the losses
    ``L`` and reimbursed units ``R`` reduce stock by ``max(L, R)``, whatever order the reports come in.
    """
    by_sku = {sku: pid for pid, sku in scenario.products.items()}
    on_hand = {pid: FBA_START for pid in scenario.products}
    losses: dict[int, int] = defaultdict(int)
    reimbursed: dict[int, int] = defaultdict(int)
    credits = goods_in = 0
    for cycle in scenario.cycles:
        for m in cycle.movements:
            pid = by_sku[m.sku]
            if m.op == "replacement":
                on_hand[pid] -= m.quantity
            elif m.op in ("lose", "damage"):
                losses[pid] += m.quantity
            elif m.op == "reimburse":
                reimbursed[pid] += m.quantity
            elif m.op == "find":
                on_hand[pid] += m.quantity
            elif m.op == "customer_return":
                credits += 1
                if m.disposition == "SELLABLE":
                    on_hand[pid] += m.quantity
                    goods_in += 1 if scenario.restock_returns else 0
    for pid in on_hand:
        on_hand[pid] -= max(losses[pid], reimbursed[pid])
    return ExpectedMovements(on_hand, credits, goods_in)
