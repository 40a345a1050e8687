"""Runs the stack's Lambda handlers in this process, as Lambda would: found through template.yaml.

Each function's folder (CodeUri) and handler come from the template; the layer (shared/) is on
sys.path as it is at /opt/python on Lambda. No Docker is needed, so tests and the demo call the
same handler code that ``sam deploy`` ships.
"""

from __future__ import annotations

import importlib.util
import sys
import uuid
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from local.aws import ROOT, load_template

_TEMPLATE = load_template()
_LOADED: dict[str, ModuleType] = {}


@dataclass
class FakeContext:
    """The parts of the Lambda context object that Powertools reads."""

    function_name: str
    memory_limit_in_mb: int = 512
    aws_request_id: str = ""
    invoked_function_arn: str = ""

    def __post_init__(self) -> None:
        self.aws_request_id = self.aws_request_id or str(uuid.uuid4())
        self.invoked_function_arn = (self.invoked_function_arn
                                     or f"arn:aws:lambda:eu-west-1:123456789012:function:{self.function_name}")

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def function_ids() -> list[str]:
    return [k for k, v in _TEMPLATE["Resources"].items() if v["Type"] == "AWS::Serverless::Function"]


def load_handler_module(logical_id: str) -> ModuleType:
    """Import a function's handler module from its CodeUri (once per process, like a warm Lambda)."""
    if logical_id in _LOADED:
        return _LOADED[logical_id]
    props = _TEMPLATE["Resources"][logical_id]["Properties"]
    module_name, _, _attr = props["Handler"].rpartition(".")
    path = ROOT / props["CodeUri"] / f"{module_name.replace('.', '/')}.py"
    shared = str(ROOT / "shared")
    if shared not in sys.path:
        sys.path.insert(0, shared)
    spec = importlib.util.spec_from_file_location(f"lambda_{logical_id}", path)
    assert spec and spec.loader, f"no handler file at {path}"
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    _LOADED[logical_id] = module
    return module


def invoke(logical_id: str, event: dict[str, Any]) -> Any:
    props = _TEMPLATE["Resources"][logical_id]["Properties"]
    attr = props["Handler"].rpartition(".")[2]
    handler = getattr(load_handler_module(logical_id), attr)
    return handler(event, FakeContext(function_name=logical_id))


def forget_loaded() -> None:
    """Drop imported handlers (a cold start), e.g. after the environment changed."""
    _LOADED.clear()
