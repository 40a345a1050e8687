"""Brightpearl warehouse transfers (contract §5), stock corrections and availability for inbound shipments.

Every method is one Brightpearl call (or a read loop). Which write is safe to repeat is decided by
the use case, which looks Brightpearl up before writing again; here POSTs are never retried blindly
(the client raises ``BrightpearlUncertainWrite`` when an answer is lost).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from connector.adapters.brightpearl.client import BrightpearlClient, BrightpearlNotFound
from connector.domain.idsets import chunks, format_id_set
from connector.domain.shipments import GoodsOutNote, Transfer

TRANSFER_SCAN_WINDOW = 200  # ids per Stock Transfer GET (an ID-set range; the documented GET maxima are 200-500)
TRANSFER_SCAN_MAX_WINDOWS = 50  # 10 000 ids above the high-water mark taken before the create
TRANSFER_GALLOP_MAX = 40  # doubling steps: far beyond any account's id range


class BrightpearlTransfers:
    def __init__(self, client: BrightpearlClient) -> None:
        self.client = client
        self._locations: dict[int, int] = {}

    # ------------------------------------------------------------------ stock transfer
    def create_transfer(self, source_id: int, target_id: int, reference: str) -> int:
        return int(self.client.post(f"warehouse-service/warehouse/{source_id}/stock-transfer",
                                    {"targetWarehouseId": target_id, "reference": reference}))

    def transfers(self, ids: Iterable[int]) -> list[Transfer]:
        out: list[Transfer] = []
        for chunk in chunks(ids, TRANSFER_SCAN_WINDOW):
            try:
                rows = self.client.get(f"warehouse-service/stock-transfer/{format_id_set(chunk)}") or []
            except BrightpearlNotFound:
                continue
            out += [Transfer(int(r["stockTransferId"]), str(r.get("reference") or ""),
                             int(r.get("goodsOutNoteId") or 0)) for r in rows]
        return out

    def transfer(self, transfer_id: int) -> Transfer | None:
        found = self.transfers([transfer_id])
        return found[0] if found else None

    def _window(self, start: int) -> list[Transfer]:
        """The transfers with ids in ``[start, start + TRANSFER_SCAN_WINDOW)``: one GET (an ID-set range)."""
        start = max(1, start)
        return self.transfers(range(start, start + TRANSFER_SCAN_WINDOW))

    def highest_transfer_id(self, hint: int = 0) -> int:
        """The highest stock transfer id in the account (``hint`` if none is above it), in O(log n) reads.

        Brightpearl has no transfer search (contract §5; the public docs only offer Stock Transfer GET by
        ID set), so the top is found by galloping upwards in 200-id windows from ``hint`` (an id known to
        exist or 0), then bisecting between the last window with a transfer and the first empty one. Gaps
        (deleted transfers) shorter than a window never mislead it; a longer gap exactly under a probe can
        make the answer low, which callers only use as a lower bound (never as proof of absence).
        """
        top = max(0, hint)
        found = self._window(top + 1)
        if found:
            top = max(t.transfer_id for t in found)
        step = TRANSFER_SCAN_WINDOW
        for _ in range(TRANSFER_GALLOP_MAX):
            probe = top + step
            found = self._window(probe)
            if not found:
                break
            top = max(t.transfer_id for t in found)
            step *= 2
        else:
            return top
        lo, hi = top, probe  # nothing in [hi, hi + window); lo is a transfer (or the hint)
        while hi - lo > TRANSFER_SCAN_WINDOW:
            mid = (lo + hi) // 2
            found = self._window(mid)
            if found:
                lo = max(t.transfer_id for t in found)
            else:
                hi = mid
        found = self.transfers(range(lo + 1, hi)) if hi > lo + 1 else []  # the rest below the empty window
        return max([lo, *(t.transfer_id for t in found)])

    def find_transfer(self, reference: str, *, above: int) -> Transfer | None:
        """The transfer with ``reference`` among ids above ``above`` (a high-water mark taken before the POST).

        Ids only grow, so a transfer created after the mark has a higher id; reading upwards stops after two
        empty windows in a row past everything seen (gaps of deleted transfers up to 200 ids are crossed)
        or after ``TRANSFER_SCAN_MAX_WINDOWS`` windows. Not found is not proof of absence: Brightpearl's
        unique reference refuses a second create, so the caller may POST again safely.
        """
        start, empty = max(1, above + 1), 0
        for _ in range(TRANSFER_SCAN_MAX_WINDOWS):
            found = self._window(start)
            for t in found:
                if t.reference == reference:
                    return t
            empty = 0 if found else empty + 1
            if empty >= 2:
                return None
            start += TRANSFER_SCAN_WINDOW
        return None

    # ------------------------------------------------------------------ goods-out note (external transfer)
    def create_goods_out(self, source_id: int, target_id: int, transfer_id: int, quantities: Mapping[int, int], *,
                         shipping_method_id: int | None, release_date: datetime) -> int:
        body: dict[str, Any] = {
            "targetWarehouseId": target_id, "stockTransferId": transfer_id,
            "releaseDate": release_date.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "transferredProducts": [{"productId": pid, "quantity": q} for pid, q in sorted(quantities.items())],
        }
        if shipping_method_id:
            body["shippingMethodId"] = shipping_method_id
        res = self.client.post(f"warehouse-service/warehouse/{source_id}/external-transfer", body)
        return int(res[0] if isinstance(res, list) else res)

    def goods_out(self, note_id: int) -> GoodsOutNote | None:
        try:
            notes = self.client.get(f"warehouse-service/order/*/goods-note/goods-out/{note_id}") or {}
        except BrightpearlNotFound:
            return None
        note = notes.get(str(note_id))
        if not note:
            return None
        quantities: dict[int, int] = {}
        for rows in (note.get("orderRows") or {}).values():
            for r in rows:
                quantities[int(r["productId"])] = quantities.get(int(r["productId"]), 0) + int(r["quantity"])
        status = note.get("status") or {}
        return GoodsOutNote(note_id, bool(status.get("shipped")), int(note.get("lastEventVersion") or 0), quantities,
                            tuple(flag for flag in ("printed", "picked", "packed") if status.get(flag)))

    def ship(self, note_id: int, *, version: int, staff_id: int, at: datetime) -> None:
        """SHW with If-Match: a second SHW for the same version is refused (412), never applied twice."""
        event = {"eventCode": "SHW", "occured": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "eventOwnerId": staff_id}
        body = {"events": [event]}
        self.client.post(f"warehouse-service/goods-note/goods-out/{note_id}/event", body,
                         headers={"If-Match": str(version)})

    def undo_steps(self, note_id: int, steps: Iterable[str], *, version: int, staff_id: int, at: datetime) -> None:
        """Unpack, unpick, unprint (UPA, UPI, UPR; contract §5c) so the note can be deleted; If-Match as for SHW."""
        codes = [code for flag, code in (("packed", "UPA"), ("picked", "UPI"), ("printed", "UPR")) if flag in steps]
        when = at.strftime("%Y-%m-%dT%H:%M:%SZ")
        self.client.post(f"warehouse-service/goods-note/goods-out/{note_id}/event",
                         {"events": [{"eventCode": c, "occured": when, "eventOwnerId": staff_id} for c in codes]},
                         headers={"If-Match": str(version)})

    def delete_goods_out(self, note_id: int) -> None:
        """Goods-Out Note DELETE (https://api-docs.brightpearl.com/warehouse/goods-out-note/delete.html): frees
        the allocation of an unshipped note. Transfer notes belong to no order: order id 0."""
        self.client.delete(f"warehouse-service/order/0/goods-note/goods-out/{note_id}")

    # ------------------------------------------------------------------ receiving
    def default_location(self, warehouse_id: int) -> int:
        if warehouse_id not in self._locations:
            self._locations[warehouse_id] = int(
                self.client.get(f"warehouse-service/warehouse/{warehouse_id}/location/default"))
        return self._locations[warehouse_id]

    def release(self, warehouse_id: int, product_id: int, quantity: int) -> None:
        self.client.post(f"warehouse-service/warehouse/{warehouse_id}/quarantine/release",
                         {"productId": product_id, "quantity": quantity,
                          "toLocationId": self.default_location(warehouse_id)})

    def add_stock(self, warehouse_id: int, product_id: int, quantity: int, *, reason: str,
                  cost: Mapping[str, Any]) -> int:
        res = self.client.post(f"warehouse-service/warehouse/{warehouse_id}/stock-correction", {"corrections": [
            {"quantity": quantity, "productId": product_id, "reason": reason,
             "locationId": self.default_location(warehouse_id), "cost": dict(cost)}]})
        return int(res[0] if isinstance(res, list) else res)

    def remove_stock(self, warehouse_id: int, product_id: int, quantity: int, *, reason: str) -> int:
        """A negative stock correction (no cost: Brightpearl takes the batch's own, FIFO)."""
        res = self.client.post(f"warehouse-service/warehouse/{warehouse_id}/stock-correction", {"corrections": [
            {"quantity": -quantity, "productId": product_id, "reason": reason,
             "locationId": self.default_location(warehouse_id)}]})
        return int(res[0] if isinstance(res, list) else res)

    def figures(self, product_ids: Iterable[int], warehouse_id: int) -> dict[int, dict[str, int]]:
        """Availability figures (onHand, inTransit, …) of one warehouse per product; absent = all zero."""
        # Read through the catalogue: an ID set with an unknown/deleted product answers 400, and the
        # catalogue isolates that id (read as all zero here) instead of failing the whole read.
        from connector.adapters.brightpearl.catalog import BrightpearlCatalog

        data = BrightpearlCatalog(self.client).availability(product_ids)
        out: dict[int, dict[str, int]] = {}
        for pid in sorted(set(product_ids)):
            entry = ((data.get(pid) or {}).get("warehouses") or {}).get(str(warehouse_id)) or {}
            out[pid] = {k: int(entry.get(k) or 0) for k in ("onHand", "inTransit", "allocated", "inStock")}
        return out
