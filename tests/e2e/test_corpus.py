"""The bad-input corpus: every file under tests/corpus/ is one bad input, driven through the real handlers.

Each case names where its input enters (a webhook event, a stock-change or notification SQS record, a
report document the SP-API simulator serves, an operator command, the environment at cold start, a
secret's contents) and what must come out: the status / batchItemFailures / ``ok: false``, a fragment
the error must contain, and that the valid neighbour in the same batch was still processed (the other
record's listing pushed, the other report row applied) with nothing moved wrongly. Outcomes are read
from the simulators and moto, never from mocks. One stack serves the module; state is reset between
cases. How to write a case: tests/corpus/README.md.
"""

from __future__ import annotations

import base64
import gzip
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector.adapters.repositories import ChannelSettings, GlobalSettings, LinkRepository, SettingsRepository
from connector.adapters.store import ListingLink, ReportJob, Setting, StockMovement
from local import runtime
from local.aws import LocalAws, put_secret
from local.stack import LocalStack, start_stack
from simulators.core import SimClock
from simulators.spapi.demo import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, UK
from simulators.spapi.scenario import Scenario

pytestmark = pytest.mark.e2e

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
AREAS = ("webhooks", "stock_change", "notifications", "reports", "operator", "settings", "environment", "secrets")
TOKEN = "c" * 40
LEDGER = "GET_LEDGER_DETAIL_VIEW_DATA"
MAIN, FBA, RETURNS = 2, 7, 9
SOAP, TEA, MUG = 1022, 1020, 1021
SKUS = {"SOAP-MFN": SOAP, "TEA-FBA": TEA, "MUG-FBA": MUG}

BP_SEED = {
    "warehouses": [{"id": MAIN, "name": "Main DC"}, {"id": FBA, "name": "Amazon FBA"},
                   {"id": RETURNS, "name": "Returns"}],
    "products": [{"id": pid, "sku": sku} for sku, pid in SKUS.items()],
    "stock": [{"productId": SOAP, "warehouseId": MAIN, "onHand": 5},
              {"productId": TEA, "warehouseId": FBA, "onHand": 50},
              {"productId": MUG, "warehouseId": FBA, "onHand": 20}],
}
AMAZON_SEED = {
    "credentials": {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "refresh_token": REFRESH_TOKEN},
    "listings": {"SOAP-MFN": {"channel": "MFN", "quantity": 5, "marketplaces": [UK]},
                 "TEA-FBA": {"channel": "FBA", "marketplaces": [UK], "fba": {"SELLABLE": 50}},
                 "MUG-FBA": {"channel": "FBA", "marketplaces": [UK], "fba": {"SELLABLE": 20}}},
}
LINKS = [(UK, "SOAP-MFN", SOAP, "MFN"), (UK, "TEA-FBA", TEA, "FBA"), (UK, "MUG-FBA", MUG, "FBA")]
SECRETS = {"BrightpearlSecret": {"auth": "private", "app_ref": "acme_connector", "account_token": "account-token"},
           "WebhookSecret": {"webhook_token": TOKEN},
           "AmazonSecret": {"refresh_token": REFRESH_TOKEN, "lwa_app_id": CLIENT_ID,
                            "lwa_client_secret": CLIENT_SECRET}}


def _cases() -> Iterator[Any]:
    for area in AREAS:
        for path in sorted((CORPUS / area).glob("*.json")):
            case = json.loads(path.read_text(encoding="utf-8"))
            marks = [pytest.mark.xfail(reason=case["xfail"], strict=True)] if case.get("xfail") else []
            yield pytest.param(area, path.stem, case, id=f"{area}/{path.stem}", marks=marks)


CASES = list(_cases())


def test_the_corpus_is_complete() -> None:
    """≥ 150 cases over every area, each saying where it enters and what must come out."""
    assert len(CASES) >= 150, len(CASES)
    by_area = {a: sum(1 for c in CASES if c.values[0] == a) for a in AREAS}
    assert all(by_area.values()), by_area
    for param in CASES:
        case = param.values[2]
        assert {"description", "enters", "input", "expect"} <= set(case), param.id
        assert not set(case) - {"description", "enters", "input", "expect", "xfail"}, param.id


# ====================================================================== the stack
@pytest.fixture(scope="module")
def stack(local_aws: LocalAws) -> Iterator[LocalStack]:
    with start_stack(aws=local_aws, marketplaces=(UK,), clock=SimClock(speed=0), bp_limit=10_000,
                     amazon_rate_scale=1000, movements_clock=True, webhook_token=TOKEN) as s:
        yield s


@pytest.fixture
def world(stack: LocalStack, caplog: pytest.LogCaptureFixture) -> Iterator[LocalStack]:
    caplog.set_level(logging.INFO)
    stack.reset(BP_SEED, AMAZON_SEED)
    stack.amazon.configure(notification_types=["REPORT_PROCESSING_FINISHED"])
    stack.clear(StockMovement, ReportJob, Setting, ListingLink)
    stack.link(LINKS)
    SettingsRepository().save_global(GlobalSettings(mfn_warehouses=[MAIN], patch_threshold=100, fba_warehouse_id=FBA,
                                                    returns_warehouse_id=RETURNS, restock_returns=False))
    SettingsRepository().save_channel(UK, ChannelSettings(sync_enabled=True))
    stack.purge("StockChangeQueue", "NotificationsQueue")
    yield stack


@pytest.mark.parametrize(("area", "name", "case"), CASES)
def test_corpus_case(area: str, name: str, case: dict[str, Any], world: LocalStack,
                     caplog: pytest.LogCaptureFixture) -> None:
    DRIVERS[area](world, case["input"], case["expect"], caplog)


# ====================================================================== helpers
def logged(caplog: pytest.LogCaptureFixture) -> str:
    """Every log line the functions wrote, with its extra fields and traceback."""
    out = []
    for r in caplog.records:
        extra = {k: v for k, v in r.__dict__.items() if k not in logging.LogRecord("", 0, "", 0, "", (), None).__dict__}
        out.append(f"{r.getMessage()} {extra}")
        if r.exc_info:
            out.append(logging.Formatter().formatException(r.exc_info))
    return "\n".join(out)


def contains_all(text: str, fragments: str | list[str], where: str) -> None:
    for fragment in [fragments] if isinstance(fragments, str) else fragments:
        assert fragment in text, f"{where} lacks {fragment!r}: {text[:2000]}"


def quantity(stack: LocalStack, sku: str) -> int:
    return int(stack.amazon.world.listings[sku].quantity)


def queued_ids(stack: LocalStack) -> list[int]:
    from connector.domain.idsets import parse_id_set

    return sorted(i for m in stack.drain("StockChangeQueue") for i in parse_id_set(json.loads(m["Body"])["idSet"]))


def sqs_record(message_id: str, body: str) -> dict[str, Any]:
    return {"messageId": message_id, "receiptHandle": message_id, "body": body, "attributes": {},
            "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:corpus", "awsRegion": "eu-west-1"}


def record_body(spec: dict[str, Any]) -> str:
    """A record's body: ``raw`` text, ``json`` (any JSON value, dumped), or ``b64`` bytes (decoded lossily,
    as SQS only carries text)."""
    if "raw" in spec:
        return str(spec["raw"])
    if "b64" in spec:
        return base64.b64decode(spec["b64"]).decode("utf-8", "replace")
    return json.dumps(spec["json"])


def failed_ids(result: Any) -> list[str]:
    return sorted(f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", []))


# ====================================================================== webhooks
def webhook_event(spec: dict[str, Any]) -> dict[str, Any]:
    with open(CORPUS.parents[1] / "events" / "brightpearl_webhook.json", encoding="utf-8") as fh:
        event = json.load(fh)
    token = TOKEN if spec.get("token", "valid") == "valid" else spec.get("token")
    where = spec.get("token_in", "path")
    event["pathParameters"] = {"token": token} if where == "path" and token is not None else None
    if where == "query" and token is not None:
        event["queryStringParameters"] = {"token": token}
    if where == "header" and token is not None:
        event["headers"]["x-webhook-token"] = token
    if "b64" in spec:
        event["body"], event["isBase64Encoded"] = spec["b64"], True
    elif "raw" in spec:
        event["body"] = spec["raw"]
    elif "json" in spec:
        event["body"] = json.dumps(spec["json"])
    else:
        event["body"] = None
    event.update(spec.get("event") or {})
    return event


NEIGHBOUR_WEBHOOK = {"json": {"accountCode": "acme", "resourceType": "product", "id": str(SOAP),
                              "fullEvent": "product.modified.on-hand-modified", "raisedOn": "2024-05-01T10:15:00Z"}}


def drive_webhooks(stack: LocalStack, spec: dict[str, Any], expect: dict[str, Any], caplog: Any) -> None:
    result = stack.invoke("BrightpearlWebhookFunction", webhook_event(spec))
    assert result["statusCode"] == expect["status"], result
    message = json.loads(result["body"]).get("message", "")
    if "message_contains" in expect:
        contains_all(message, expect["message_contains"], "the answer")
    assert TOKEN not in result["body"] and TOKEN not in logged(caplog)  # the token never echoes back
    assert queued_ids(stack) == sorted(expect.get("queued", [])), "the bad call queued something else"
    # The next, valid call is accepted as ever: one bad body does not wedge the receiver.
    neighbour = stack.invoke("BrightpearlWebhookFunction", webhook_event(NEIGHBOUR_WEBHOOK))
    assert neighbour["statusCode"] == 200, neighbour
    assert queued_ids(stack) == [SOAP]


# ====================================================================== stock-change records
def drive_stock_change(stack: LocalStack, spec: dict[str, Any], expect: dict[str, Any], caplog: Any) -> None:
    stack.bp.seed({"stock": [{"productId": SOAP, "warehouseId": MAIN, "onHand": 7}]})
    records = [sqs_record(f"bad-{i}", record_body(r)) for i, r in enumerate(spec["records"])]
    if spec.get("neighbour", True):
        records.append(sqs_record("good", json.dumps({"accountCode": "acme", "resourceType": "product",
                                                      "fullEvent": "product.modified.on-hand-modified",
                                                      "idSet": str(SOAP), "count": 1})))
    result = stack.invoke("StockChangeFunction", {"Records": records})
    assert failed_ids(result) == sorted(f"bad-{i}" for i in expect["failed"]), result
    if "log_contains" in expect:
        contains_all(logged(caplog), expect["log_contains"], "the log")
    if spec.get("neighbour", True):
        assert quantity(stack, "SOAP-MFN") == 7, "the valid record's listing was not pushed"
    # Nothing moved wrongly: no Brightpearl write, the FBA listings untouched.
    assert not stack.bp.requests(writes_only=True, ok_only=True)


# ====================================================================== notifications
def finished_ledger(stack: LocalStack) -> list[str]:
    """Amazon finishes one schedule's reports (one MUG-FBA unit found): their real notification bodies."""
    stack.amazon.world_op("find", sku="MUG-FBA", quantity=1)
    stack.amazon.clock.advance(5 * 3600)
    stack.invoke("ReportRequestFunction", {})
    stack.amazon.clock.advance(120)
    stack.amazon.tick()
    return [m["Body"] for m in stack.drain("NotificationsQueue")]


def eventbridge(body: str) -> str:
    return json.dumps({"version": "0", "id": "eb-1", "detail-type": "REPORT_PROCESSING_FINISHED",
                       "source": "aws.partner/sellingpartnerapi.amazon.com", "account": "123456789012",
                       "time": "2024-05-01T10:15:00Z", "region": "eu-west-1", "resources": [],
                       "detail": json.loads(body)})


def drive_notifications(stack: LocalStack, spec: dict[str, Any], expect: dict[str, Any], caplog: Any) -> None:
    real = finished_ledger(stack)
    assert real, "Amazon sent no notification"
    neighbours = [eventbridge(b) for b in real] if spec.get("wrap_neighbours") == "eventbridge" else list(real)
    if spec.get("duplicate_neighbours"):
        neighbours = neighbours * 2
    records = [sqs_record(f"bad-{i}", record_body(r)) for i, r in enumerate(spec["records"])]
    records += [sqs_record(f"good-{i}", b) for i, b in enumerate(neighbours)]
    module = runtime.load_handler_module("NotificationsFunction")
    result = stack.invoke("NotificationsFunction", {"Records": records})
    assert failed_ids(result) == sorted(f"bad-{i}" for i in expect["failed"]), result
    if "error_contains" in expect:
        errors = " | ".join(str(exc_info[1]) for exc_info in module.processor.exceptions)
        contains_all(errors, expect["error_contains"], "the record errors")
    assert stack.bp.on_hand(MUG, FBA) == 21, "the valid notification's movement was not applied exactly once"
    assert stack.bp.on_hand(TEA, FBA) == 50 and stack.bp.on_hand(SOAP, MAIN) == 5


# ====================================================================== report documents
def edit_document(stack: LocalStack, edits: list[dict[str, Any]]) -> None:
    """Rewrite the ledger documents Amazon just finished: cells of the row for a SKU, or the raw text."""
    world = stack.amazon.world
    ids = [r.document_id for r in world.reports.values() if r.report_type == LEDGER and r.document_id]
    assert ids, "no ledger document to edit"
    for doc_id in ids:
        doc = world.documents[doc_id]
        raw = gzip.decompress(doc.content) if doc.compression == "GZIP" else doc.content
        text = raw.decode("utf-8")
        for edit in edits:
            if "replace" in edit:
                text = text.replace(edit["replace"], edit["with"])
                continue
            lines = text.split("\n")
            header = [c.strip('"') for c in lines[0].split("\t")]
            col = header.index(edit["column"])
            for n, line in enumerate(lines[1:], 1):
                cells = line.split("\t")
                if len(cells) == len(header) and cells[header.index("MSKU")].strip('"') == edit["sku"]:
                    quoted = cells[col].startswith('"')
                    cells[col] = f'"{edit["value"]}"' if quoted else edit["value"]
                    lines[n] = "\t".join(cells)
            text = "\n".join(lines)
        raw = text.encode("utf-8")
        doc.content = gzip.compress(raw, mtime=0) if doc.compression == "GZIP" else raw


def drive_reports(stack: LocalStack, spec: dict[str, Any], expect: dict[str, Any], caplog: Any) -> None:
    for op in spec.get("world", [{"op": "lose", "sku": "TEA-FBA", "quantity": 3},
                                 {"op": "find", "sku": "MUG-FBA", "quantity": 1}]):
        stack.amazon.world_op(op["op"], **{k: v for k, v in op.items() if k != "op"})
    sc = Scenario(stack.amazon.url)
    if spec.get("variants"):
        sc.document(LEDGER, *spec["variants"], count=None)
    if spec.get("host_fault"):
        sc.document_host(spec["host_fault"], report_type=LEDGER, count=1)
    if spec.get("compression", "GZIP") != "GZIP":
        stack.amazon.configure(report_compression=None)
    stack.amazon.clock.advance(5 * 3600)
    stack.invoke("ReportRequestFunction", {})
    stack.amazon.clock.advance(120)
    stack.amazon.tick()
    if spec.get("edits"):
        edit_document(stack, spec["edits"])
    results: list[dict[str, Any]] = []
    for _ in range(3):  # a failed download is retried as SQS would redeliver it
        results += stack.pump("NotificationsFunction", expire_visibility=True)
        if not failed_ids(results[-1] if results else {}):
            break
    if expect.get("retried"):  # a download that failed once comes back and is applied the second time
        assert any(failed_ids(r) for r in results), results
    sc.clear()
    for sku, on_hand in expect["on_hand"].items():
        assert stack.bp.on_hand(SKUS[sku], FBA) == on_hand, f"{sku}: {stack.bp.on_hand(SKUS[sku], FBA)}"
    quarantined = [m for m in StockMovement.scan() if m.kind == "quarantine"]
    if "quarantine_contains" in expect:
        reasons = " | ".join(f"line {m.line}: {m.reason} ({m.sku})" for m in quarantined)
        contains_all(reasons, expect["quarantine_contains"], "the quarantined rows")
    else:
        assert not quarantined, [m.reason for m in quarantined]
    # Replayed, nothing moves again.
    before = {sku: stack.bp.on_hand(pid, FBA) for sku, pid in SKUS.items() if sku != "SOAP-MFN"}
    sqs, url = stack.aws.client("sqs"), stack.aws.queue_url("NotificationsQueue")
    for body in list(stack.amazon.notifications):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body))
    stack.pump("NotificationsFunction")
    assert before == {sku: stack.bp.on_hand(pid, FBA) for sku, pid in SKUS.items() if sku != "SOAP-MFN"}


# ====================================================================== operator commands and settings
def snapshot(stack: LocalStack) -> Any:
    links = sorted((lk.marketplace_id, lk.sku, lk.product_id, lk.fulfillment_channel) for lk in LinkRepository().all())
    settings = sorted((s.key, json.dumps(s.value, sort_keys=True, default=str)) for s in Setting.scan())
    quantities = {sku: li.quantity for sku, li in stack.amazon.world.listings.items()}
    return links, settings, quantities, len(stack.bp.requests(writes_only=True, ok_only=True))


def drive_operator(stack: LocalStack, spec: dict[str, Any], expect: dict[str, Any], caplog: Any) -> None:
    before = snapshot(stack)
    out = runtime.invoke("OperatorFunction", spec["event"])  # as sent: a list or null too
    assert out.get("ok") is False, out
    contains_all(str(out.get("error", "")), expect["error_contains"], "the error")
    assert snapshot(stack) == before, "a refused command changed something"
    # The next, valid command still works.
    assert stack.invoke("OperatorFunction", {"command": "get-settings"}).get("ok") is True


# ====================================================================== environment at cold start
def drive_environment(stack: LocalStack, spec: dict[str, Any], expect: dict[str, Any], caplog: Any) -> None:
    from connector.config import ConfigError

    saved = {name: os.environ.get(name) for name in [*spec.get("unset", []), *spec.get("set", {})]}
    try:
        for name in spec.get("unset", []):
            os.environ.pop(name, None)
        os.environ.update(spec.get("set", {}))
        runtime.forget_loaded()
        with pytest.raises(ConfigError) as err:
            runtime.load_handler_module(spec["function"])
        contains_all(str(err.value), expect["error_contains"], "the cold-start error")
        assert "Traceback" not in str(err.value)
    finally:
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old
        runtime.forget_loaded()
    # Put right, the same function starts and works.
    runtime.load_handler_module(spec["function"])
    if spec["function"] == "BrightpearlWebhookFunction":
        assert stack.invoke(spec["function"], webhook_event(NEIGHBOUR_WEBHOOK))["statusCode"] == 200
        assert queued_ids(stack) == [SOAP]


# ====================================================================== secret contents
def store_secret(stack: LocalStack, name: str, spec: dict[str, Any]) -> None:
    from aws_lambda_powertools.utilities import parameters

    if "raw" in spec:
        stack.aws.client("secretsmanager").put_secret_value(SecretId=stack.aws.physical[name],
                                                            SecretString=spec["raw"])
    else:
        put_secret(stack.aws, name, spec["json"])
    parameters.clear_caches()
    stack.cold_start()


def drive_secrets(stack: LocalStack, spec: dict[str, Any], expect: dict[str, Any], caplog: Any) -> None:
    try:
        _drive_secrets(stack, spec, expect, caplog)
    finally:  # whatever the case left behind
        for name, value in SECRETS.items():
            put_secret(stack.aws, name, value)
        stack.cold_start()


def _drive_secrets(stack: LocalStack, spec: dict[str, Any], expect: dict[str, Any], caplog: Any) -> None:
    function = spec["function"]
    store_secret(stack, spec["secret"], spec["value"])
    stack.bp.seed({"stock": [{"productId": SOAP, "warehouseId": MAIN, "onHand": 7}]})
    if function == "BrightpearlWebhookFunction":
        result = stack.invoke(function, webhook_event(NEIGHBOUR_WEBHOOK))
        assert result["statusCode"] == expect["status"], result
        assert queued_ids(stack) == []
    else:
        records = [sqs_record("m-1", json.dumps({"idSet": str(SOAP)}))]
        result = stack.invoke(function, {"Records": records})
        assert failed_ids(result) == ["m-1"], f"the record was not returned to the queue: {result}"
        assert quantity(stack, "SOAP-MFN") == 5
    contains_all(logged(caplog), expect["log_contains"], "the log")
    # Put right, the same input goes through: nothing was lost.
    store_secret(stack, spec["secret"], {"json": SECRETS[spec["secret"]]})
    if function == "BrightpearlWebhookFunction":
        assert stack.invoke(function, webhook_event(NEIGHBOUR_WEBHOOK))["statusCode"] == 200
        assert queued_ids(stack) == [SOAP]
    else:
        assert failed_ids(stack.invoke(function, {"Records": records})) == []
        assert quantity(stack, "SOAP-MFN") == 7


DRIVERS = {"webhooks": drive_webhooks, "stock_change": drive_stock_change, "notifications": drive_notifications,
           "reports": drive_reports, "operator": drive_operator, "settings": drive_operator,
           "environment": drive_environment, "secrets": drive_secrets}


# ====================================================================== properties over the same entry points
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12)
WEBHOOK_LIKE = st.fixed_dictionaries({}, optional={
    "accountCode": st.sampled_from(["acme", "ACME", "other", ""]) | JSON_VALUES,
    "resourceType": st.sampled_from(["product", "Product"]) | JSON_VALUES,
    "id": st.from_regex(r"\A[0-9, \-]{0,12}\Z") | JSON_VALUES,
    "fullEvent": st.just("product.modified.on-hand-modified") | JSON_VALUES,
    "raisedOn": JSON_VALUES})
NOTIFICATION_LIKE = st.fixed_dictionaries({}, optional={
    "notificationType": st.sampled_from(["REPORT_PROCESSING_FINISHED", "FEED_PROCESSING_FINISHED"]) | JSON_VALUES,
    "NotificationType": JSON_VALUES,
    "notificationMetadata": JSON_VALUES,
    "payload": st.fixed_dictionaries({}, optional={
        "reportProcessingFinishedNotification": st.fixed_dictionaries({}, optional={
            "reportType": st.sampled_from(["GET_MERCHANT_LISTINGS_ALL_DATA", LEDGER]) | JSON_VALUES,
            "reportId": JSON_VALUES, "reportDocumentId": JSON_VALUES, "processingStatus": JSON_VALUES}) | JSON_VALUES,
        "feedProcessingFinishedNotification": st.fixed_dictionaries({}, optional={
            "feedType": st.just("JSON_LISTINGS_FEED") | JSON_VALUES, "feedId": JSON_VALUES,
            "processingStatus": JSON_VALUES}) | JSON_VALUES}) | JSON_VALUES})
PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@PROPERTY
@given(body=st.one_of(JSON_VALUES.map(json.dumps), WEBHOOK_LIKE.map(json.dumps), st.text(max_size=40)))
def test_any_webhook_body_is_answered_and_queues_only_what_it_names(world: LocalStack, body: str) -> None:
    from connector.domain.idsets import parse_id_set

    result = world.invoke("BrightpearlWebhookFunction", webhook_event({"raw": body}))
    queued = queued_ids(world)
    assert result["statusCode"] in (200, 400, 403), result
    if result["statusCode"] == 200:
        assert queued == parse_id_set(json.loads(body)["id"])
    else:
        assert queued == [] and json.loads(result["body"])["message"]


@PROPERTY
@given(body=st.one_of(JSON_VALUES.map(json.dumps), NOTIFICATION_LIKE.map(json.dumps)))
def test_any_notification_body_is_handled_or_fails_by_name(world: LocalStack, body: str) -> None:
    """Whatever the shape, the record is acknowledged or returned with an error that says what is wrong:
    never an AttributeError / TypeError from reading a field of the wrong type."""
    from connector.domain.notifications import NotificationError

    module = runtime.load_handler_module("NotificationsFunction")
    result = world.invoke("NotificationsFunction", {"Records": [sqs_record("m", body)]})
    for exc_info in module.processor.exceptions:
        assert isinstance(exc_info[1], (NotificationError, KeyError)), (body, exc_info[1])
    assert len(failed_ids(result)) == len(module.processor.exceptions)
    assert not world.bp.requests(writes_only=True, ok_only=True)
