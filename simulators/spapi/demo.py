"""A small ready-made world for tests and the local demo (``sim.seed(DEMO_SEED)``)."""

from __future__ import annotations

from typing import Any

UK = "A1F83G8C2ARO7P"
DE = "A1PA6795UKMFR9"
FR = "A13V1IB3VIYZZH"

CLIENT_ID = "amzn1.application-oa2-client.sim"
CLIENT_SECRET = "sim-client-secret"
REFRESH_TOKEN = "Atzr|sim-refresh-token"

DEMO_SEED: dict[str, Any] = {
    "credentials": {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "refresh_token": REFRESH_TOKEN},
    "listings": {
        # Seller-fulfilled: quantity is what the connector pushes.
        "MFN-MUG": {"asin": "B0MUG00001", "fnsku": "X00MUG0001", "title": "Café crème mug", "channel": "MFN",
                    "quantity": 4, "lead_time": 2, "marketplaces": [UK, DE], "price": "9.99"},
        "MFN/SLASH 1": {"title": "Tasse à thé", "channel": "MFN", "quantity": 0, "marketplaces": [UK]},
        # Fulfilled by Amazon: one Pan-EU stock pool whichever EU marketplace is asked.
        "FBA-TEA": {"asin": "B0TEA00001", "fnsku": "X00TEA0001", "title": "Thé vert « Sencha »", "channel": "FBA",
                    "marketplaces": [UK, DE, FR],
                    "fba": {"SELLABLE": 40, "CUSTOMER_DAMAGED": 1, "pending_customer_order": 2}},
        "FBA-CUP": {"asin": "B0CUP00001", "fnsku": "X00CUP0001", "title": "Crème brûlée cup", "channel": "FBA",
                    "marketplaces": [UK, DE], "fba": {"SELLABLE": 12}},
    },
}
