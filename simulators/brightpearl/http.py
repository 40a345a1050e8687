"""What the Brightpearl section modules' routes share: the API path prefix, the ID-set pattern, the
JSON body reader, the goods-note reads' id sets and the envelope helpers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from simulators.brightpearl.errors import BPError
from simulators.brightpearl.records import ids_from
from simulators.core import Request, Response

P = r"/public-api/(?P<account>[^/]+)"
# ID sets are matched loosely and parsed by the handler, so ``5-3`` gets a Brightpearl 400, not a 404.
IDS = r"(?P<ids>[0-9][^/]*)"
ApiFn = Callable[[Request], Any]


def _prune(value: Any) -> Any:
    """Brightpearl omits object fields whose value is null (array elements such as search cells stay)."""
    if isinstance(value, dict):
        return {k: _prune(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def _search(result: dict[str, Any]) -> Response:
    """A search answer: ``reference`` sits beside ``response`` in the envelope, not inside it (issue
    "simulator fidelity": recorded traffic; the contract's §8b example nests it, so clients accept both)."""
    reference = result.pop("reference", None)
    body: dict[str, Any] = {"response": result}
    if reference is not None:
        body["reference"] = reference
    return Response(200, _prune(body))


def _body(req: Request) -> dict[str, Any]:
    try:
        data = req.json()
    except (ValueError, UnicodeDecodeError):
        raise BPError(400, "CMNC-400", "Request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise BPError(400, "CMNC-400", "Request body must be a JSON object")
    return data


def _note_ids(req: Request, kind: str) -> tuple[list[int] | None, list[int] | None]:
    """A goods-note read's ``(orders, notes)`` id sets (``None``: any), for
    ``…/order/{orders|*}/goods-note/{kind}[/{ids}]``: order ``*`` needs note ids."""
    orders = None if req.params["orders"] == "*" else ids_from(req.params["orders"], kind)
    if orders is None and "ids" not in req.params:
        raise BPError(400, "CMNC-400", f"{kind.capitalize()} note ids are required with order id *")
    return orders, ids_from(req.params["ids"], kind) if "ids" in req.params else None
