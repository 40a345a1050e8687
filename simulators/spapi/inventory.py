"""FBA Inventory of the SP-API simulator: one Pan-EU stock pool per SKU, the inventory ledger, and the
"Amazon did something" operations that move it (customer orders and shipments, returns,
replacements, losses and finds, damage, disposals, transfers, removals, reimbursements, MFN returns);
getInventorySummaries and the FBA_INVENTORY_AVAILABILITY_CHANGES payload.

Every operation first runs the jobs due by now (``shared.advance``), so a report is rendered against
the world as it was when the report finished.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from simulators.core import Request, Response
from simulators.spapi.common import EU_MARKETPLACES, JSON, Shared, invalid, iso_ms, parse_time
from simulators.spapi.http import Routes, qlist
from simulators.spapi.inventory_records import (
    DAMAGE_CODE_FROM,
    DISPOSITIONS,
    RETURN_DISPOSITIONS,
    CustomerReturn,
    FbaStock,
    LedgerEvent,
    MfnReturn,
    Reimbursement,
    Replacement,
)
from simulators.spapi.listings import ListingsItems


class FbaInventory:
    """The seller's FBA stock and its ledger."""

    def __init__(self, shared: Shared, catalog: ListingsItems) -> None:
        self.shared = shared
        self.catalog = catalog
        self.fba: dict[str, FbaStock] = {}
        self.opening: dict[tuple[str, str], int] = {}  # (sku, disposition) → units before the ledger starts
        self.ledger: list[LedgerEvent] = []
        self.returns: list[CustomerReturn] = []
        self.replacements: list[Replacement] = []
        self.reimbursements: list[Reimbursement] = []
        self.mfn_returns: list[MfnReturn] = []
        # (working, shipped, receiving) inbound units of a SKU; the world plugs in the inbound part's figures.
        self.inbound_quantities: Callable[[str], tuple[int, int, int]] = lambda sku: (0, 0, 0)
        # The server hooks this to send FBA_INVENTORY_AVAILABILITY_CHANGES.
        self.on_inventory_changed: Callable[[str], None] | None = None

    def set_fba_stock(self, sku: str, spec: JSON) -> None:
        """Seed FBA stock: ``{"SELLABLE": 10, "CUSTOMER_DAMAGED": 1, "pending_customer_order": 2, ...}``.

        Seeded units are the ledger's opening balance: they have no ledger rows of their own.
        """
        self.catalog.get(sku)
        stock = FbaStock(updated=self.shared.now())
        for key, value in spec.items():
            if key.upper() in DISPOSITIONS:
                stock.on_hand[key.upper()] = int(value)
            elif key in ("pending_customer_order", "pending_transshipment", "fc_processing", "researching"):
                setattr(stock, key, int(value))
            else:
                raise ValueError(f"unknown FBA stock field {key!r}")
        self.fba[sku] = stock
        for disp in DISPOSITIONS:
            self.opening[(sku, disp)] = stock.on_hand[disp]

    def stock(self, sku: str) -> FbaStock:
        self.catalog.get(sku)
        if sku not in self.fba:
            self.fba[sku] = FbaStock(updated=self.shared.now())
            for disp in DISPOSITIONS:
                self.opening.setdefault((sku, disp), 0)
        return self.fba[sku]

    def sellable(self, sku: str) -> int | None:
        stock = self.fba.get(sku)
        return None if stock is None else stock.on_hand["SELLABLE"]

    # ------------------------------------------------------------------ stock movements
    def move(self, sku: str, disposition: str, delta: int) -> None:
        stock = self.stock(sku)
        if disposition not in DISPOSITIONS:
            raise ValueError(f"unknown disposition {disposition!r}; expected one of {DISPOSITIONS}")
        if stock.on_hand[disposition] + delta < 0:
            raise ValueError(f"{sku}: only {stock.on_hand[disposition]} {disposition} units, cannot remove {-delta}")
        stock.on_hand[disposition] += delta
        stock.updated = self.shared.now()

    def record(self, sku: str, event_type: str, reference_id: str, quantity: int, disposition: str, *,
                reason: str = "", fc: str | None = None, at: datetime | None = None,
                reconciled: int | None = None, unreconciled: int | None = None) -> LedgerEvent:
        event = LedgerEvent(at=at or self.shared.now(), sku=sku, event_type=event_type, reference_id=reference_id,
                            quantity=quantity, fc=fc or self.shared.default_fc, disposition=disposition, reason=reason,
                            country=self.shared.country, reconciled=reconciled, unreconciled=unreconciled)
        self.ledger.append(event)
        return event

    def changed(self, *skus: str) -> None:
        for sku in dict.fromkeys(skus):
            if sku in self.fba:
                self.fba[sku].updated = self.shared.now()
            if self.on_inventory_changed:
                self.on_inventory_changed(sku)

    # ------------------------------------------------------------------ world operations
    def customer_order(self, sku: str, quantity: int) -> None:
        """A customer ordered: units move from fulfillable to reserved (pending customer order)."""
        self.shared.advance()
        self.move(sku, "SELLABLE", -quantity)
        self.stock(sku).pending_customer_order += quantity
        self.changed(sku)

    def customer_shipment(self, sku: str, quantity: int, *, order_id: str | None = None, fc: str | None = None,
                          at: datetime | None = None) -> LedgerEvent:
        """Amazon shipped a customer order: Shipments row (-qty); reserved units are used first."""
        self.shared.advance()
        stock = self.stock(sku)
        from_reserved = min(stock.pending_customer_order, quantity)
        if quantity - from_reserved:
            self.move(sku, "SELLABLE", -(quantity - from_reserved))
        stock.pending_customer_order -= from_reserved
        event = self.record(sku, "Shipments", order_id or self.shared.order_id(), -quantity, "SELLABLE", fc=fc, at=at)
        self.changed(sku)
        return event

    def customer_return(self, sku: str, quantity: int = 1, *, order_id: str | None = None,
                        disposition: str = "SELLABLE", reason: str = "UNWANTED_ITEM", status: str | None = None,
                        license_plate_number: str | None = None, comments: str = "", fc: str | None = None,
                        at: datetime | None = None) -> CustomerReturn:
        """The FC processed a customer return: returns-report row plus a CustomerReturns ledger row.

        ``disposition`` is the returns report's ``detailed-disposition``; ``DAMAGED`` (Amazon's
        fault) lands as WAREHOUSE_DAMAGED stock.
        """
        self.shared.advance()
        disposition = disposition.upper()
        if disposition not in RETURN_DISPOSITIONS:
            raise ValueError(f"unknown return disposition {disposition!r}; expected one of {list(RETURN_DISPOSITIONS)}")
        ledger_disp = RETURN_DISPOSITIONS[disposition]
        order_id = order_id or self.shared.order_id()
        when = at or self.shared.now()
        self.move(sku, ledger_disp, quantity)
        self.record(sku, "CustomerReturns", order_id, quantity, ledger_disp, fc=fc, at=when)
        ret = CustomerReturn(
            at=when, order_id=order_id, sku=sku, quantity=quantity, fc=fc or self.shared.default_fc,
            detailed_disposition=disposition, reason=reason,
            # Units Amazon damaged or the carrier broke are reimbursed rather than restocked for the seller.
            status=status or ("Reimbursed" if disposition in ("DAMAGED", "CARRIER_DAMAGED")
                              else "Unit returned to inventory"),
            license_plate_number=license_plate_number or f"LPN{self.shared.alnum(9)}", customer_comments=comments)
        self.returns.append(ret)
        self.changed(sku)
        return ret

    def replacement(self, sku: str, quantity: int = 1, *, original_order_id: str,
                    replacement_order_id: str | None = None, reason_code: str = "3", fc: str | None = None,
                    original_fc: str | None = None, at: datetime | None = None) -> Replacement:
        """Amazon sent a free replacement: replacement-report row and a Shipments ledger row."""
        self.shared.advance()
        when = at or self.shared.now()
        rep = Replacement(at=when, sku=sku, quantity=quantity, fc=fc or self.shared.default_fc,
                          original_fc=original_fc or fc or self.shared.default_fc, reason_code=str(reason_code),
                          replacement_order_id=replacement_order_id or self.shared.order_id(),
                          original_order_id=original_order_id)
        self.move(sku, "SELLABLE", -quantity)
        self.record(sku, "Shipments", rep.replacement_order_id, -quantity, "SELLABLE", fc=rep.fc, at=when)
        self.replacements.append(rep)
        self.changed(sku)
        return rep

    def _adjustment_ref(self) -> str:
        return str(self.shared.rng.randint(10**9, 10**10 - 1))

    def lose(self, sku: str, quantity: int = 1, *, reason: str = "M", disposition: str = "SELLABLE",
             fc: str | None = None, at: datetime | None = None) -> LedgerEvent:
        """Units misplaced in the FC (M or 5): -qty, unreconciled, and under research until found/reimbursed."""
        self.shared.advance()
        if reason not in ("M", "5"):
            raise ValueError("loss reason must be M or 5")
        self.move(sku, disposition, -quantity)
        self.stock(sku).researching += quantity
        event = self.record(sku, "Adjustments", self.shared.adjustment_ref(), -quantity, disposition, reason=reason,
                             fc=fc, at=at, reconciled=0, unreconciled=quantity)
        self.changed(sku)
        return event

    def find(self, sku: str, quantity: int = 1, *, reason: str = "F", disposition: str = "SELLABLE",
             fc: str | None = None, at: datetime | None = None) -> LedgerEvent:
        """Units found (F) or transferred to the seller (N): +qty."""
        self.shared.advance()
        if reason not in ("F", "N"):
            raise ValueError("found reason must be F or N")
        stock = self.stock(sku)
        self.move(sku, disposition, quantity)
        reconciled = min(quantity, stock.researching)
        stock.researching -= reconciled
        event = self.record(sku, "Adjustments", self.shared.adjustment_ref(), quantity, disposition, reason=reason,
                             fc=fc, at=at, reconciled=reconciled, unreconciled=quantity - reconciled)
        self.changed(sku)
        return event

    def damage(self, sku: str, quantity: int = 1, *, from_disposition: str = "SELLABLE",
               to_disposition: str = "WAREHOUSE_DAMAGED", fc: str | None = None,
               at: datetime | None = None) -> tuple[LedgerEvent, LedgerEvent]:
        """Damaged in the FC: a paired E(…U)/P adjustment moving units between dispositions."""
        self.shared.advance()
        code = DAMAGE_CODE_FROM.get(from_disposition)
        if code is None:
            raise ValueError(f"no damage code for units leaving {from_disposition!r}")
        self.move(sku, from_disposition, -quantity)
        self.move(sku, to_disposition, quantity)
        ref = self.shared.adjustment_ref()
        out = self.record(sku, "Adjustments", ref, -quantity, from_disposition, reason=code, fc=fc, at=at,
                           reconciled=0, unreconciled=quantity)
        into = self.record(sku, "Adjustments", ref, quantity, to_disposition, reason="P", fc=fc, at=at)
        self.changed(sku)
        return out, into

    def dispose(self, sku: str, quantity: int = 1, *, disposition: str = "WAREHOUSE_DAMAGED", reason: str = "D",
                fc: str | None = None, at: datetime | None = None) -> LedgerEvent:
        """Units disposed of (D) or donated (G)."""
        self.shared.advance()
        if reason not in ("D", "G"):
            raise ValueError("disposal reason must be D or G")
        self.move(sku, disposition, -quantity)
        event = self.record(sku, "Adjustments", self.shared.adjustment_ref(), -quantity, disposition, reason=reason,
                             fc=fc, at=at)
        self.changed(sku)
        return event

    def adjust(self, sku: str, quantity: int, *, reason: str, disposition: str = "SELLABLE",
               fc: str | None = None, at: datetime | None = None) -> LedgerEvent:
        """Any other adjustment code (O, Q, 3, 4, or an unknown code) with a signed quantity."""
        self.shared.advance()
        self.move(sku, disposition, quantity)
        event = self.record(sku, "Adjustments", self.shared.adjustment_ref(), quantity, disposition, reason=reason,
                             fc=fc, at=at)
        self.changed(sku)
        return event

    def warehouse_transfer(self, sku: str, quantity: int, *, from_fc: str, to_fc: str,
                           at: datetime | None = None) -> tuple[LedgerEvent, LedgerEvent]:
        """Units moved between FCs: a -qty and a +qty WhseTransfers row (net zero)."""
        self.shared.advance()
        self.stock(sku)
        ref = self.shared.adjustment_ref()
        return (self.record(sku, "WhseTransfers", ref, -quantity, "SELLABLE", fc=from_fc, at=at),
                self.record(sku, "WhseTransfers", ref, quantity, "SELLABLE", fc=to_fc, at=at))

    def vendor_return(self, sku: str, quantity: int, *, disposition: str = "SELLABLE", order_id: str | None = None,
                      fc: str | None = None, at: datetime | None = None) -> LedgerEvent:
        """A removal order shipped units back to the seller: VendorReturns row (-qty)."""
        self.shared.advance()
        self.move(sku, disposition, -quantity)
        event = self.record(sku, "VendorReturns", order_id or f"RMV{self.shared.alnum(8)}", -quantity, disposition,
                             fc=fc, at=at)
        self.changed(sku)
        return event

    def reimburse(self, sku: str, *, quantity_cash: int = 0, quantity_inventory: int = 0,
                  amount_per_unit: str | float = "0.00", currency: str = "GBP", reason: str = "Lost_Warehouse",
                  order_id: str = "", case_id: str = "", original_reimbursement_id: str = "",
                  original_reimbursement_type: str = "", at: datetime | None = None) -> Reimbursement:
        """Amazon reimbursed the seller. Inventory reimbursement adds units with an N adjustment."""
        self.shared.advance()
        listing = self.catalog.get(sku)
        total = quantity_cash + quantity_inventory
        per_unit = f"{float(amount_per_unit):.2f}"
        when = at or self.shared.now()
        rmb = Reimbursement(
            at=when, reimbursement_id=self.shared.adjustment_ref(), case_id=case_id, order_id=order_id,
            reason=reason, sku=sku, condition="NewItem" if listing.condition == "new_new" else listing.condition,
            currency=currency, amount_per_unit=per_unit, amount_total=f"{float(amount_per_unit) * quantity_cash:.2f}",
            quantity_cash=quantity_cash, quantity_inventory=quantity_inventory,
            original_reimbursement_id=original_reimbursement_id,
            original_reimbursement_type=original_reimbursement_type)
        self.reimbursements.append(rmb)
        stock = self.stock(sku)
        if reason in ("Lost_Warehouse", "Damaged_Warehouse"):
            # A reimbursed loss is settled: it is no longer under research.
            stock.researching -= min(stock.researching, total)
        if quantity_inventory:
            self.move(sku, "SELLABLE", quantity_inventory)
            self.record(sku, "Adjustments", rmb.reimbursement_id, quantity_inventory, "SELLABLE", reason="N",
                         at=when, reconciled=0, unreconciled=quantity_inventory)
        self.changed(sku)
        return rmb

    def mfn_return(self, sku: str, quantity: int = 1, *, order_id: str | None = None,
                   reason: str = "UNWANTED_ITEM", status: str = "Approved", resolution: str = "StandardRefund",
                   order_amount: str = "0.00", refunded_amount: str = "0.00", currency: str = "GBP",
                   order_date: datetime | None = None, at: datetime | None = None) -> MfnReturn:
        """A customer requested a return of a seller-fulfilled order (MFN returns report row)."""
        self.shared.advance()
        self.catalog.get(sku)
        when = at or self.shared.now()
        ret = MfnReturn(at=when, order_id=order_id or self.shared.order_id(),
                        order_date=order_date or when - timedelta(days=3),
                        sku=sku, quantity=quantity, reason=reason, status=status, rma_id=f"D{self.shared.alnum(9)}RRMA",
                        resolution=resolution, order_amount=order_amount, currency=currency,
                        refunded_amount=refunded_amount)
        self.mfn_returns.append(ret)
        return ret

    # ------------------------------------------------------------------ FBA inventory shapes
    def summary(self, sku: str, details: bool) -> JSON:
        listing = self.catalog.listings[sku]
        stock = self.fba[sku]
        working, shipped, receiving = self.inbound_quantities(sku)
        on = stock.on_hand
        summary: dict[str, JSON] = {
            "asin": listing.asin, "fnSku": listing.fnsku, "sellerSku": sku,
            "condition": "NewItem" if listing.condition == "new_new" else listing.condition,
            "lastUpdatedTime": iso_ms(stock.updated), "productName": listing.title,
            "totalQuantity": on["SELLABLE"] + stock.unfulfillable + stock.reserved + stock.researching
            + working + shipped + receiving,
            "stores": [],
        }
        if details:
            summary["inventoryDetails"] = {
                "fulfillableQuantity": on["SELLABLE"],
                "inboundWorkingQuantity": working, "inboundShippedQuantity": shipped,
                "inboundReceivingQuantity": receiving,
                "reservedQuantity": {"totalReservedQuantity": stock.reserved,
                                     "pendingCustomerOrderQuantity": stock.pending_customer_order,
                                     "pendingTransshipmentQuantity": stock.pending_transshipment,
                                     "fcProcessingQuantity": stock.fc_processing},
                "researchingQuantity": {"totalResearchingQuantity": stock.researching,
                                        "researchingQuantityBreakdown": [
                                            {"name": "researchingQuantityInShortTerm", "quantity": stock.researching},
                                            {"name": "researchingQuantityInMidTerm", "quantity": 0},
                                            {"name": "researchingQuantityInLongTerm", "quantity": 0}]},
                "unfulfillableQuantity": {"totalUnfulfillableQuantity": stock.unfulfillable,
                                          "customerDamagedQuantity": on["CUSTOMER_DAMAGED"],
                                          "warehouseDamagedQuantity": on["WAREHOUSE_DAMAGED"],
                                          "distributorDamagedQuantity": on["DISTRIBUTOR_DAMAGED"],
                                          "carrierDamagedQuantity": on["CARRIER_DAMAGED"],
                                          "defectiveQuantity": on["DEFECTIVE"],
                                          "expiredQuantity": on["EXPIRED"]},
            }
        return summary

    def availability_notification_payload(self, sku: str) -> JSON:
        """``Payload`` of FBA_INVENTORY_AVAILABILITY_CHANGES for ``sku`` (same pool in every EU marketplace)."""
        listing = self.catalog.listings[sku]
        stock = self.stock(sku)
        working, shipped, receiving = self.inbound_quantities(sku)
        inventory = {
            "InboundQuantityBreakdown": {"Working": working, "Shipped": shipped, "Receiving": receiving},
            "Fulfillable": stock.on_hand["SELLABLE"], "Unfulfillable": stock.unfulfillable,
            "Researching": stock.researching,
            "ReservedQuantityBreakdown": {"WarehouseProcessing": stock.fc_processing,
                                          "WarehouseTransfer": stock.pending_transshipment,
                                          "PendingCustomerOrder": stock.pending_customer_order},
            "FutureSupplyBuyable": 0, "PendingCustomerOrderInTransit": 0,
        }
        return {"SellerId": self.shared.seller_id, "FNSKU": listing.fnsku, "ASIN": listing.asin, "SKU": sku,
                "FulfillmentInventoryByMarketplace": [
                    {"MarketplaceId": m, "ItemName": listing.title, "FulfillmentInventory": inventory}
                    for m in listing.marketplace_ids]}


    def state(self) -> JSON:
        return {
        "fba_inventory": {sku: {**st.on_hand, "pending_customer_order": st.pending_customer_order,
                                "pending_transshipment": st.pending_transshipment,
                                "fc_processing": st.fc_processing, "researching": st.researching,
                                "inbound": dict(zip(("working", "shipped", "receiving"),
                                                    self.inbound_quantities(sku), strict=True))}
                          for sku, st in self.fba.items()},
        "ledger": [{"at": iso_ms(e.at), "sku": e.sku, "event_type": e.event_type, "reference_id": e.reference_id,
                    "quantity": e.quantity, "fc": e.fc, "disposition": e.disposition, "reason": e.reason}
                   for e in self.ledger],
        }

    def counts(self) -> JSON:
        return {"returns": len(self.returns), "replacements": len(self.replacements),
                "reimbursements": len(self.reimbursements), "mfn_returns": len(self.mfn_returns)}


INVENTORY_TOKEN_TTL = 30  # getInventorySummaries nextToken lifetime


class InventoryRoutes(Routes):
    def register(self) -> None:
        self.host._op("GET", r"/fba/inventory/v1/summaries", "getInventorySummaries", self._get_inventory_summaries)

    def _get_inventory_summaries(self, req: Request) -> Response:
        if req.q("granularityType") != "Marketplace":
            raise invalid("granularityType must be Marketplace.")
        granularity_id = req.q("granularityId") or ""
        self._check_marketplaces([granularity_id], "granularityId")
        mkts = self._check_marketplaces(qlist(req, "marketplaceIds"))
        if len(mkts) != 1:
            raise invalid("marketplaceIds must contain exactly one marketplace.")
        details = (req.q("details") or "false").lower() == "true"
        token = req.q("nextToken")
        if token:
            skus, offset = self._take_page_token(token, INVENTORY_TOKEN_TTL)
        else:
            wanted = qlist(req, "sellerSkus")
            if len(wanted) > 50:
                raise invalid("sellerSkus accepts at most 50 SKUs.")
            single = req.q("sellerSku")
            since = parse_time(req.q("startDateTime"), "startDateTime")
            # Pan-EU: one pool for the region, so every EU marketplace sees the same SKUs and quantities.
            # Elsewhere (NA, FE) each marketplace is its own pool: a SKU counts only where it is listed.
            listed = self.world.listings_items.listings
            pan_eu = mkts[0] in EU_MARKETPLACES
            skus = sorted(s for s in self.world.inventory.fba if s in listed
                          and (pan_eu or mkts[0] in listed[s].marketplace_ids)
                          and (not wanted or s in wanted) and (not single or s == single)
                          and (since is None or self.world.inventory.fba[s].updated >= since))
            offset = 0
        page = skus[offset:offset + self.host.inventory_page_size]
        out: JSON = {"payload": {"granularity": {"granularityType": "Marketplace", "granularityId": granularity_id},
                                 "inventorySummaries": [self.world.inventory.summary(s, details) for s in page]}}
        if offset + self.host.inventory_page_size < len(skus):
            out["pagination"] = {"nextToken": self._page_token((skus, offset + self.host.inventory_page_size))}
        return Response(200, out)

