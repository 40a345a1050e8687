"""The nightly check's summary email (usecases/nightly.py): the largest corrections in the body, every row in a
GZIP CSV attachment, products by SKU and Brightpearl name, and a link to the page of failing listings."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from connector.domain.email import Attachment

MAX_ROWS_IN_BODY = 50  # the largest corrections in the body; every row in the CSV (issue 14 item 5)


def change(c: dict[str, Any]) -> int:
    return int(c["pushed"]) - int(c["amazon_had"] or 0)


def largest_first(corrected: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(corrected, key=lambda c: (-abs(change(c)), c["sku"], c["marketplace"]))


def shown_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows the email's body shows (the largest corrections and the first failing listings)."""
    return largest_first(summary["corrected"])[:MAX_ROWS_IN_BODY] + summary["failing"][:MAX_ROWS_IN_BODY]


CORRECTED_COLUMNS = ("SKU", "Product", "marketplace", "Amazon showed", "pushed", "change")


def csv_row(c: dict[str, Any], product_id: int | None) -> tuple[Any, ...]:
    from connector.domain.messages import marketplace_label, product_label

    return (c["sku"], product_label(product_id), marketplace_label(c["marketplace"]),
            "—" if c["amazon_had"] is None else c["amazon_had"], c["pushed"], f"{change(c):+d}")


def summary_email(summary: dict[str, Any], products: dict[tuple[str, str], Any] | None = None,
                   names: Callable[[Iterable[Any]], dict[int, str]] | None = None,
                   corrected_csv: Attachment | None = None) -> Any:
    """The nightly summary: a headline, the largest corrections in the body, every row in CSV attachments,
    products by SKU and Brightpearl name, and a link to the page of failing listings."""
    from connector.domain.messages import Column, Message, PageLink, Table, marketplace_label, product_label

    products = products or {}
    # Largest corrections first: the body shows the top ones, the CSV every one.
    corrected = largest_first(summary["corrected"])
    # A job that continued over several passes counts them all; the rows are the last pass's and the
    # largest of the earlier ones.
    n_corrected = max(len(corrected), int(summary.get("corrected_count") or 0))
    # Names only for the rows the body shows: after a full drift every listing is corrected, and naming all
    # 100 000 in the CSV would cost 500 product reads against the run's ~1 000 (the CSV keeps SKU and id).
    shown = corrected[:MAX_ROWS_IN_BODY] + summary["failing"][:MAX_ROWS_IN_BODY]
    known = names([products.get((r["marketplace"], r["sku"])) for r in shown]) if names else {}

    def product(r: dict[str, Any]) -> str:
        return product_label(products.get((r["marketplace"], r["sku"])), known)

    tables = []
    headline = ""
    if corrected:
        big = corrected[0]
        headline = (f" {n_corrected:,} listing(s) differed from Brightpearl; largest {change(big):+,} on SKU "
                    f"{big['sku']} ({marketplace_label(big['marketplace'])}).")
        # A run over slices wrote every row to ``corrected_csv`` as it went and kept only the largest here.
        title = "Corrected" if corrected_csv is None or n_corrected <= len(corrected) else \
            f"Corrected (the {len(corrected)} largest of {n_corrected:,})"
        tables.append(Table.of(title, ["SKU", "Product", "marketplace", Column("Amazon showed", numeric=True),
                                       Column("pushed", numeric=True), Column("change", numeric=True)],
                               [[c["sku"], product(c), marketplace_label(c["marketplace"]),
                                 "—" if c["amazon_had"] is None else c["amazon_had"],
                                 c["pushed"], f"{change(c):+d}"] for c in corrected],
                               csv_name=corrected_csv.filename if corrected_csv else "corrected.csv",
                               limit=MAX_ROWS_IN_BODY))
    if summary["failing"]:
        tables.append(Table.of("Failing (not updated on Amazon)", ["SKU", "Product", "marketplace", "last result"],
                               [[f["sku"], product(f), marketplace_label(f["marketplace"]), f["result"]]
                                for f in summary["failing"]],
                               csv_name="failing.csv", limit=MAX_ROWS_IN_BODY))
    notes: tuple[str, ...] = ()
    if summary["deleted_products"]:
        ids = ", ".join(map(str, summary["deleted_products"]))
        notes = (f"Products deleted in Brightpearl (their listings were set to 0): {ids}",)
    failing = len(summary["failing"])
    markets = sorted({r["marketplace"] for r in summary["corrected"] + summary["failing"]})
    return Message(
        title=f"Amazon stock nightly check: {n_corrected} corrected, {failing} failing",
        summary=(f"Nightly check of {summary['listings']} merchant-fulfilled listing(s) ({summary['scope']}): "
                 f"{n_corrected} corrected, {failing} failing.{headline}"),
        meaning=("Corrected listings showed a quantity on Amazon that Brightpearl's stock did not give; they are "
                 "right again. " + (f"{failing} listing(s) could not be updated and may oversell or undersell."
                                    if failing else "Every listing was updated.")),
        todo=("Open the failing listings and fix what Amazon refused (the last result says why), or link them "
              "to the right SKU." if failing else "Nothing."),
        facts=(("Night", str(summary["night"])), ("Feeds sent", str(summary["feeds"]))),
        tables=tuple(tables), notes=notes, marketplaces=tuple(markets) or None,
        attachments=(corrected_csv,) if corrected_csv is not None and corrected else (),
        page=PageLink("nightly", str(summary["night"]), "Open the failing listings") if failing else None,
        cli="connector --stack {stack} links list -m MARKETPLACE", cli_doc="links-list--m-m-links-show-sku--m-m")
