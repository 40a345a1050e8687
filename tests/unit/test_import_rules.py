"""The layers' import rules, read from the source (no import-linter: a short AST walk is enough).

- ``connector.domain`` is pure: no AWS/HTTP/SP-API library, no adapter, use case or wiring module;
- ``connector.usecases`` talk to ports only: no adapter, no wiring, no pynamodb/boto3/requests/sp_api;
- one module builds the real adapters: outside ``connector/adapters/`` itself, only
  ``connector/wiring/parts.py`` imports ``connector.adapters`` (the builders, handlers, emails, the Lambda
  handlers in ``functions/`` and the CLI get theirs from :class:`connector.wiring.Parts`).

Every import statement counts, including the lazy ones inside functions: a lazy import of an adapter
is still a use case that knows its adapter.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "shared" / "connector"

LIBRARIES = ("boto3", "botocore", "pynamodb", "requests", "httpx", "sp_api", "aws_lambda_powertools")
RULES: dict[str, tuple[str, ...]] = {
    "domain": (*LIBRARIES, "connector.adapters", "connector.usecases", "connector.wiring",
               "connector.observability", "connector.config"),
    "usecases": ("boto3", "botocore", "pynamodb", "requests", "httpx", "sp_api",
                 "connector.adapters", "connector.wiring"),
}

# Modules that still break the rule, to be driven to empty (strict xfail: a fixed module must leave
# the list, so the list can only shrink).
KNOWN_OFFENDERS: set[str] = set()


REPO = ROOT.parents[1]
# Where real adapters may be imported (constructed): the adapters themselves and the one parts module.
BUILDS_ADAPTERS = ("shared/connector/adapters/", "shared/connector/wiring/parts.py")
# Each exception with its reason; a fixed module must leave the list (checked below).
ADAPTER_IMPORT_EXCEPTIONS = {
    # The webhook receiver must not import the wiring (its cold start: tests/unit/test_cold_start_imports.py
    # WEBHOOK_NEVER): it makes its one queue and reads its token secret itself.
    "functions/brightpearl_webhook/app.py",
}


def production_modules() -> list[str]:
    """The layer's code, the Lambda handlers and the CLI (local/, bench/ and tests/ are the harness)."""
    found = [*(REPO / "shared" / "connector").rglob("*.py"), *(REPO / "functions").glob("*/app.py"),
             *(REPO / "cli").rglob("*.py")]
    return sorted(p.relative_to(REPO).as_posix() for p in found)


def imported_names(tree: ast.AST) -> list[tuple[int, list[str]]]:
    """Each import statement's line and the names it may bring in (any of them banned bans it)."""
    out: list[tuple[int, list[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, [alias.name]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # ``from connector import wiring`` names the module in the alias, not in ``module``
            out.append((node.lineno, [node.module] + [f"{node.module}.{a.name}" for a in node.names]))
    return out


def forbidden(name: str, banned: tuple[str, ...]) -> bool:
    # "connector.wiring" also bans "connector.wiring_movements" and friends (a prefix of the name)
    return any(name == b or name.startswith(b + ".") or (b.startswith("connector.") and name.startswith(b))
               for b in banned)


def violations(path: Path, banned: tuple[str, ...]) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = set()
    for line, names in imported_names(tree):
        bad = [n for n in names if forbidden(n, banned)]
        if bad:
            found.add(f"line {line}: {bad[0]}")
    return sorted(found)


def modules() -> list[tuple[str, Path, tuple[str, ...]]]:
    out = []
    for layer, banned in RULES.items():
        for path in sorted((ROOT / layer).rglob("*.py")):
            out.append((f"{layer}/{path.relative_to(ROOT / layer).as_posix()}", path, banned))
    return out


def _param(name: str, path: Path, banned: tuple[str, ...]) -> object:
    marks = [pytest.mark.xfail(strict=True, reason="known offender")] if name in KNOWN_OFFENDERS else []
    return pytest.param(path, banned, id=name, marks=marks)


@pytest.mark.parametrize("name", [m for m in production_modules() if not m.startswith(BUILDS_ADAPTERS)])
def test_only_the_parts_module_imports_adapters(name: str) -> None:
    found = violations(REPO / name, ("connector.adapters",))
    if name in ADAPTER_IMPORT_EXCEPTIONS:
        assert found, f"{name} imports no adapter any more: take it off ADAPTER_IMPORT_EXCEPTIONS"
    else:
        assert found == [], f"{name} imports an adapter: build it in connector/wiring/parts.py"


def test_every_adapter_import_exception_names_a_module_that_exists() -> None:
    assert set(production_modules()) >= ADAPTER_IMPORT_EXCEPTIONS


@pytest.mark.parametrize(("path", "banned"), [_param(*m) for m in modules()])
def test_module_imports_only_what_its_layer_allows(path: Path, banned: tuple[str, ...]) -> None:
    assert violations(path, banned) == [], f"{path.relative_to(ROOT)} imports what its layer must not"


def test_the_rule_sees_every_kind_of_import(tmp_path: Path) -> None:
    src = tmp_path / "m.py"
    src.write_text("import boto3\nfrom connector import wiring_movements\n"
                   "def f():\n    from connector.adapters.email import Mailer\n", encoding="utf-8")
    found = violations(src, RULES["domain"])
    assert found == ["line 1: boto3", "line 2: connector.wiring_movements",
                     "line 4: connector.adapters.email"]


def test_the_rule_leaves_allowed_imports_alone(tmp_path: Path) -> None:
    src = tmp_path / "m.py"
    src.write_text("import json\nfrom connector.domain.idsets import chunks\nimport requests_toolbelt\n",
                   encoding="utf-8")
    assert violations(src, RULES["usecases"]) == []


def test_every_known_offender_names_a_module_that_exists() -> None:
    assert not KNOWN_OFFENDERS - {name for name, _, _ in modules()}
