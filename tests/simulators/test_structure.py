"""The simulators' structure holds: no import circle between their modules (an AST walk of every
module's imports), no module hides one behind an import inside a function, and no file outgrows ~500
lines (issue 12, item 5)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "simulators"
MAX_LINES = 500
# The command line picks the simulator to start; importing all of them up front would only be slower.
LAZY_ALLOWED = {"simulators.__main__"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _targets(node: ast.Import | ast.ImportFrom, module: str) -> list[str]:
    """The simulators modules an import statement loads (``from pkg import mod`` loads ``pkg.mod``)."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        base = node.module or ""
        if node.level:  # relative import
            base = ".".join(module.split(".")[:-node.level] + ([base] if base else []))
        # ``from pkg import mod`` loads the module; ``from mod import name`` the module the name is in.
        names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
    return [n for n in names if n in MODULES]


def imports(module: str) -> tuple[set[str], set[str]]:
    """(modules imported when ``module`` runs, those imported inside a function or class body).

    Imports under ``if TYPE_CHECKING:`` are left out: they never run (type-only back-references from
    an API module to the server or world that assembles it)."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    runtime: set[str] = set()
    nested: set[str] = set()

    def visit(node: ast.AST, depth: int) -> None:
        if isinstance(node, ast.If) and _type_checking(node):
            for other in node.orelse:
                visit(other, depth)
            return
        if isinstance(node, ast.Import | ast.ImportFrom):
            found = set(_targets(node, module)) - {module}
            runtime.update(found)
            if depth:
                nested.update(found)
        inner = depth + isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda)
        for child in ast.iter_child_nodes(node):
            visit(child, inner)

    visit(tree, 0)
    return runtime, nested


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in graph[v]:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_no_import_circle_between_simulator_modules():
    graph = {m: imports(m)[0] for m in MODULES}
    assert cycles(graph) == []


def test_no_simulator_module_imports_another_inside_a_function():
    """A function-level import is how a circle hides (``spapi.world`` once imported ``spapi.reports``
    inside ``_finish_report`` because ``reports`` read ``World``)."""
    lazy = {m: sorted(imports(m)[1]) for m in MODULES if m not in LAZY_ALLOWED}
    assert {m: found for m, found in lazy.items() if found} == {}


def test_no_simulator_file_over_500_lines():
    sizes = {m: len(p.read_text(encoding="utf-8").splitlines()) for m, p in MODULES.items()}
    assert {m: n for m, n in sizes.items() if n > MAX_LINES} == {}
