"""Every email the connector sends, built by the use cases' own builders from sample data (issue 17).

Each entry: a name, the rendered email, and the facts a person must see in it (table rows as cell
texts). Used by the browser tests (rendered in Chromium, screenshotted) and the design's unit tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from connector.adapters.email import Email
from connector.domain.fba_reconciliation import DIFFERENCE, EXPLAINED, MATCH, UNLINKED, Line
from connector.domain.inbound import Line as InboundLine
from connector.domain.inbound_emails import EmailEvent, ShipmentView, render_email
from connector.domain.quantities import EuConflict
from connector.emails.design import PageLink, Sender, render
from connector.usecases.fba_reconciliation import reconciliation_message
from connector.usecases.mfn_sync import EmailConflictNotifier
from connector.usecases.movements_digest import build_digest
from connector.usecases.nightly_summary import summary_email
from tests.fakes.mail import once

UK, DE, FR = "A1F83G8C2ARO7P", "A1PA6795UKMFR9", "A13V1IB3VIYZZH"
# Brightpearl product names, as the emails read them (salesChannels[0].productName)
NAMES = {1020: "Sencha green tea 100 g", 1021: "Blue mug & saucer", 1022: "Beeswax candle",
         1023: "Olive soap <3 bars>", 4000: "Breakfast mug", 2100: "Wool socks", 2101: "Gift set"}
TEA_L, MUG_L, CANDLE_L, SOAP_L = (f"{NAMES[i]} (#{i})" for i in (1020, 1021, 1022, 1023))
SENDER_LINK = "http://127.0.0.1:9/pages/{kind}/{id}?t=SIGNED"


def sender(page_url: Any = None) -> Sender:
    def fake_url(link: PageLink) -> str:
        return SENDER_LINK.format(kind=link.kind, id=link.id)
    return Sender(stack="connector-prod", stage="prod", marketplaces=(UK,),
                  docs_url="https://docs.example.com/connector", page_url=page_url or fake_url)


@dataclass
class Sample:
    name: str
    email: Email
    rows: list[list[str]]  # rows a person must see (leading cells)
    texts: list[str] = field(default_factory=list)  # sentences a person must see


class _Capture:
    def __init__(self) -> None:
        self.sent: list[Any] = []

    def send(self, email: Any) -> str:
        self.sent.append(email)
        return "m-1"


class _Settings:
    """The two calls the EU warning makes on the settings repository, in memory."""

    def __init__(self) -> None:
        self.values: dict[str, dict[str, Any]] = {}

    def get_value(self, key: str) -> dict[str, Any]:
        return self.values.get(key, {})

    def set_value(self, key: str, value: dict[str, Any]) -> None:
        self.values[key] = value


def _view(status: str, *lines: InboundLine, transfer: int | None = 61) -> ShipmentView:
    return ShipmentView("FBA15SPRING", "Spring restock", status, transfer, tuple(lines))


def inbound_samples(s: Sender) -> list[Sample]:
    tea = InboundLine("TEA-FBA", 1020, expected=10, transferred=10, received=12, released=10, corrected=2,
                      source="v0")
    mug = InboundLine("MUG & CO/Blue", 1021, expected=5, transferred=5, received=4, released=4, source="v0")
    new = InboundLine("CANDLE-NEW", None, expected=0, received=2, source="v0")
    short = InboundLine("SOAP-FBA", 1023, expected=8, transferred=5, short=3)
    out = []
    for kind, view, event, short_map, rows in [
        ("receiving", _view("RECEIVING", tea, mug), EmailEvent("receiving", "receiving"), None,
         [["TEA-FBA", TEA_L, "10", "12", "2"], ["MUG & CO/Blue", MUG_L, "5", "4", "-1"]]),
        ("closed-short", _view("CLOSED", mug), EmailEvent("closed", "closed"), None,
         [["MUG & CO/Blue", MUG_L, "5", "4", "-1"]]),
        ("over", _view("RECEIVING", tea, mug), EmailEvent("over:TEA-FBA=2", "over"), None,
         [["TEA-FBA", TEA_L, "10", "12", "2"]]),
        ("unexpected", _view("RECEIVING", tea, new), EmailEvent("unexpected:CANDLE-NEW=2", "unexpected"), None,
         [["CANDLE-NEW", "not linked", "0", "2", "2"]]),
        ("short", _view("SHIPPED", short), EmailEvent("short:SOAP-FBA=3", "short"), None,
         [["SOAP-FBA", SOAP_L, "8", "5", "3"]]),
        ("held", _view("WORKING", InboundLine("SOAP-FBA", 1023, expected=8), transfer=None),
         EmailEvent("held:SOAP-FBA=3", "held"), {"SOAP-FBA": 3}, [["SOAP-FBA", SOAP_L, "8", "3"]]),
        ("unlinked", _view("WORKING", new), EmailEvent("unlinked:CANDLE-NEW", "unlinked"), None,
         [["CANDLE-NEW", "not linked", "0", "2", "2"]]),
        ("cancelled", _view("CANCELLED", tea), EmailEvent("cancelled:CANCELLED", "cancelled"), None,
         [["TEA-FBA", TEA_L, "10", "12", "2"]]),
    ]:
        msg = render_email(view, event, short=short_map, product_names=NAMES)
        if kind == "cancelled":
            msg = msg.with_note("Goods-out note #88 was deleted: 10 allocated unit(s) are free again.")
        out.append(Sample(f"inbound-{kind}", render(msg, s), rows, ["FBA15SPRING (Spring restock)"]))
    return out


class _Names:
    def product_names(self, ids: Any) -> dict[int, str]:
        return {i: NAMES[i] for i in ids if i in NAMES}


class _Links:
    def get(self, marketplace_id: str, sku: str) -> Any:
        return type("L", (), {"product_id": 4000})() if sku == "MUG-EU" else None


def eu_sample(s: Sender) -> Sample:
    mailer = _Capture()
    notifier = EmailConflictNotifier(once(mailer), _Settings(), links=_Links(), names=_Names())  # type: ignore[arg-type]
    notifier.eu_conflicts([
        EuConflict("MUG-EU", {UK: 12, DE: 8, FR: 8}, {UK: "default", DE: "de-warehouses", FR: "de-warehouses"}, 8),
        EuConflict("=HYPERLINK(\"x\")", {DE: 5, FR: 3}, {DE: "a", FR: "b"}, 3),
    ])
    (msg,) = mailer.sent
    return Sample("eu-conflicts", render(msg, s),
                  [["MUG-EU", "Breakfast mug (#4000)"], ['=HYPERLINK("x")', "not linked"]], ["lowest value"])


def nightly_sample(s: Sender) -> Sample:
    corrected = [{"sku": f"SHIRT-{i:03d}", "marketplace": UK, "amazon_had": 100 - i, "pushed": 40 + i}
                 for i in range(12)]
    summary = {"scope": "EU", "night": "2026-12-01", "listings": 120, "corrected": corrected,
               "failing": [{"sku": "NOT-ON-AMAZON", "marketplace": UK,
                            "result": "not on Amazon: missing from the All Listings report"},
                           {"sku": "BAD <tag>", "marketplace": DE, "result": "rejected: 8541 quantity invalid"}],
               "feeds": 1, "deleted_products": [1099], "eu_conflicts": []}
    products = {(UK, f"SHIRT-{i:03d}"): 3000 + i for i in range(12)} | {(UK, "NOT-ON-AMAZON"): 2100,
                                                                        (DE, "BAD <tag>"): 2101}
    names = {**NAMES, **{3000 + i: f"Linen shirt {i}" for i in range(12)}}
    msg = summary_email(summary, products, lambda ids: {i: names[i] for i in ids if i in names})
    return Sample("nightly-mfn-check", render(msg, s),
                  [["SHIRT-000", "Linen shirt 0 (#3000)", f"UK ({UK})", "100", "40", "-60"],
                   ["NOT-ON-AMAZON", "Wool socks (#2100)", f"UK ({UK})"],
                   ["BAD <tag>", "Gift set (#2101)", f"DE ({DE})"]],
                  ["also in corrected.csv", "Open the failing listings", "1099"])


def digest_sample(s: Sender) -> Sample:
    index = {"retry": {"ret#1": {"status": "unmatched", "sku": "GHOST-SKU", "kind": "return",
                                 "why": "no Brightpearl product for this SKU"},
                       "lost#2": {"status": "refused", "sku": "MUG-FBA", "kind": "lost",
                                  "why": "Brightpearl 400: warehouse closed"}},
             "quarantined": {"q1": {"source": "GET_LEDGER_DETAIL_VIEW_DATA #77", "line": 12, "sku": "+SUM(A1)",
                                    "why": "quantity 'abc' is not a number"}}}
    msg = build_digest(index, date(2026, 12, 1))
    assert msg is not None
    return Sample("movements-digest", render(msg, s), [["unmatched", "GHOST-SKU"], ["refused", "MUG-FBA"]],
                  ["Quarantined report rows"])


def reconciliation_lines() -> list[Line]:
    return [
        Line("CANDLE-FBA", ["CANDLE-FBA"], 1022, DIFFERENCE, amazon=13, fulfillable=13, brightpearl=10,
             bp_on_hand=10, difference=3, suggested=3),
        Line("MUG-FBA", ["MUG-FBA"], 1021, DIFFERENCE, amazon=20, fulfillable=20, brightpearl=18, bp_on_hand=18,
             difference=2, suggested=2),
        Line("TEA-FBA", ["TEA-FBA"], 1020, EXPLAINED, amazon=56, fulfillable=56, brightpearl=50, bp_on_hand=50,
             difference=6, explained=[{"kind": "inbound_unreleased", "quantity": 6,
                                       "note": "inbound FBA15TEA: 6 received, not yet released"}]),
        Line("SOAP-FBA", ["SOAP-FBA"], 1023, MATCH, amazon=8, fulfillable=8, brightpearl=8, bp_on_hand=8),
        Line("STRAY-FBA", ["STRAY-FBA"], None, UNLINKED, amazon=3, fulfillable=3, difference=0,
             note="Amazon holds FBA units of a SKU with no FBA link"),
    ]


def reconciliation_sample(s: Sender) -> Sample:
    msg = reconciliation_message("20261201T040000Z-9ea4", reconciliation_lines(), top=20, names=NAMES)
    return Sample("fba-reconciliation", render(msg, s),
                  [["CANDLE-FBA", CANDLE_L, "13", "10", "3"], ["MUG-FBA", MUG_L, "20", "18", "2"],
                   ["TEA-FBA", TEA_L, "56", "50", "6", "inbound FBA15TEA: 6 received, not yet released", "0"]],
                  ["Review and apply the corrections", "approve 20261201T040000Z-9ea4"])


def removal_short_sample(s: Sender) -> Sample:
    from connector.domain.removals import Package, Removal
    from connector.usecases.removals import short_arrival_message

    pkg = Package("9F2C4A10BE", "2026-11-03T09:00:00+00:00", "UPS", "1Z999AA10123456784",
                  units={"TEA-FBA": 5, "MUG-FBA": 2}, transferred={"TEA-FBA": 5, "MUG-FBA": 2},
                  received={"TEA-FBA": 4, "MUG-FBA": 2}, transfer_id=5012, closed=True)
    removal = Removal("RMV-7Q2K", "Return", "Completed", products={"TEA-FBA": 1020, "MUG-FBA": 1021},
                      packages={pkg.package_id: pkg})
    msg = short_arrival_message(removal, pkg)
    assert msg is not None
    return Sample("removal-short", render(msg, s), [["TEA-FBA", "#1020", "5", "4", "1"]],
                  ["1Z999AA10123456784", "removals show RMV-7Q2K"])


def shadow_sample(s: Sender) -> Sample:
    from connector.domain.shadow import MFN, PlanEntry, ranked, summarize
    from connector.usecases.shadow import shadow_message

    entries = ranked([PlanEntry(MFN, f"{UK}#{sku}", sku, would, shows, marketplace_id=UK)
                      for sku, would, shows in (("MUG / 2", 0, 480), ("TEA-FBA & co", 12, 10), ("SOCKS-GR", 7, 7))])
    msg = shadow_message(MFN, entries, summarize(MFN, entries))
    return Sample("shadow-summary", render(msg, s), [["MUG / 2", "UK (A1F83G8C2ARO7P)", "480", "0", "\u2212480"]],
                  ["2 listings would change", "shadow off mfn"])


def every_email(s: Sender | None = None) -> list[Sample]:
    s = s or sender()
    return [*inbound_samples(s), eu_sample(s), nightly_sample(s), digest_sample(s), reconciliation_sample(s),
            removal_short_sample(s), shadow_sample(s)]
