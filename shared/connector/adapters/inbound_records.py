"""The Shipments table: one item per Amazon inbound shipment (the use case's memory between runs)."""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist

from connector.adapters.store import InboundShipment


class ShipmentRecords:
    def get(self, shipment_id: str) -> InboundShipment | None:
        try:
            return InboundShipment.get(shipment_id, consistent_read=True)
        except DoesNotExist:
            return None

    def new(self, shipment_id: str, status: str) -> InboundShipment:
        return InboundShipment(shipment_id, status=status)

    def save(self, record: InboundShipment) -> None:
        # VersionAttribute makes this a conditional write: two overlapping runs cannot both act on one
        # shipment (the loser fails on that shipment and the next run starts from the winner's state).
        record.save()

    def open(self) -> list[InboundShipment]:
        return list(InboundShipment.scan(InboundShipment.finished == False))  # noqa: E712 - pynamodb condition

    def max_transfer_id(self) -> int:
        """The highest Brightpearl transfer id any shipment holds (where a lost transfer is searched from)."""
        ids = [int(r.stock_transfer_id) for r in InboundShipment.scan(attributes_to_get=["stock_transfer_id"])
               if r.stock_transfer_id is not None]
        return max(ids, default=0)
