"""Cold start guards (issue 14), untimed: what each handler's import loads, read from ``sys.modules`` of a
fresh process with the environment Lambda gives the function (``bench/cold_start.py``: template
variables, tracing on, only the layer's packages). A regression (an eager import of the X-Ray SDK,
Jinja2, every SP-API, pydantic for the env) fails here without timing anything."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bench.cold_start import _CHILD, ROOT, function_envs, handler_body, not_in_layer

# Loaded by no handler's import: the Tracer's SDK is built on the first traced call, Jinja2 on the first
# email, the SP-API modules and pynamodb by the wiring builders on first use.
NEVER_AT_IMPORT = ("aws_xray_sdk", "sp_api", "pynamodb", "requests", "httpx", "jinja2")
# The webhook receiver answers Brightpearl within seconds: besides the above, no pydantic, no wiring.
WEBHOOK_NEVER = (*NEVER_AT_IMPORT, "pydantic", "connector.wiring", "connector.emails")
# Known and allowed: the operator's command models are pydantic (usecases/operator.py, import_job.py); the
# approval page renders Jinja2 pages on every request. (The stock-change lease, a pynamodb model, is made
# by ``Parts.lease`` on the first batch since issue 12, no longer at import.)
ALLOWED = {"OperatorFunction": {"pydantic"}, "ImportLinksFunction": {"pydantic"},
           "ApprovalPageFunction": {"jinja2"}}

ENVS = function_envs()


def _modules_after(body: str, env: dict[str, str]) -> set[str]:
    code = _CHILD.format(shared=str(ROOT / "shared"), blocked=not_in_layer(), body=body)
    code += "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=ROOT,
                         check=False, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def _loaded(modules: set[str], package: str) -> bool:
    return package in modules or any(m.startswith(package + ".") for m in modules)


@pytest.mark.parametrize("function_id", sorted(ENVS))
def test_a_handler_import_loads_none_of_the_heavy_packages(function_id: str) -> None:
    uri, env = ENVS[function_id]
    modules = _modules_after(handler_body(uri), env)
    forbidden = WEBHOOK_NEVER if function_id == "BrightpearlWebhookFunction" else NEVER_AT_IMPORT
    loaded = {p for p in forbidden if _loaded(modules, p)} - ALLOWED.get(function_id, set())
    assert not loaded, f"{function_id} imports {sorted(loaded)} at cold start"


def test_the_webhook_makes_no_aws_client_at_import() -> None:
    """Its SQS client (~0.35x ``import boto3`` to load the service model) is made on the first accepted webhook."""
    uri, env = ENVS["BrightpearlWebhookFunction"]
    _modules_after(handler_body(uri) + "\nimport boto3\nassert boto3.DEFAULT_SESSION is None, 'a client was made'", env)


def test_the_env_models_parse_without_pydantic() -> None:
    _, env = ENVS["NotificationsFunction"]
    modules = _modules_after("import connector.config as c\nc.load(c.ImportLinksEnv)", env)
    assert not _loaded(modules, "pydantic")


def test_the_amazon_adapters_load_only_the_sp_apis_they_use() -> None:
    _, env = ENVS["FbaReconciliationFunction"]
    body = ("import connector.adapters.amazon.listings, connector.adapters.amazon.reports\n"
            "import connector.adapters.amazon.inventory, connector.adapters.amazon.inbound")
    modules = _modules_after(body, env)
    apis = {m.split(".")[2] for m in modules if m.startswith("sp_api.api.")}
    assert apis == {"feeds", "listings_items", "reports", "inventories", "fulfillment_inbound"}
    # a name read from the package itself still works: its __init__ runs then
    modules = _modules_after(body + "\nfrom sp_api.api import Orders\nassert Orders.__name__ == 'Orders'\n"
                             "import sp_api.api\nassert sp_api.api.Feeds.__name__ == 'Feeds'", env)
    assert "sp_api.api.orders" in modules


def test_the_tracer_patches_each_traced_module_when_it_is_first_imported() -> None:
    """What a trace still shows: after the first traced call, botocore (imported before), requests and httpx
    (imported after) are all wrapped by the X-Ray SDK."""
    _, env = ENVS["StockChangeFunction"]
    body = "\n".join((
        "import botocore.client",
        "from connector.observability import tracer",
        "@tracer.capture_method",
        "def traced():",
        "    return 'sent'",
        "import sys; assert 'aws_xray_sdk' not in sys.modules",
        "assert traced() == 'sent'",
        "from connector.observability import _tracer; assert not _tracer().disabled",
        "import requests, httpx",
        "from aws_xray_sdk.ext.httpx.patch import _InstrumentedClient",
        "assert type(botocore.client.BaseClient.__dict__['_make_api_call']).__name__ == 'FunctionWrapper'",
        "assert type(requests.Session.__dict__['request']).__name__ == 'FunctionWrapper'",
        "assert httpx.Client is _InstrumentedClient",
    ))
    _modules_after(body, env)
