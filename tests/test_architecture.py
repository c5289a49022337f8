"""The dependency rules of docs/architecture.md, held by reading the source: every import (module-level or
inside a function, since a deferred import is still a dependency) between LedgerLink's own modules."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import ledgerlink

SRC = Path(ledgerlink.__file__).resolve().parent.parent


def _modules() -> dict[str, Path]:
    found = {}
    for path in (SRC / "ledgerlink").rglob("*.py"):
        if "migrations" in path.parts:
            continue
        name = ".".join(path.relative_to(SRC).with_suffix("").parts).removesuffix(".__init__")
        found[name] = path
    return found


MODULES = _modules()


def _imports(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


GRAPH = {name: {i for i in _imports(path) if i in MODULES and i != name} for name, path in MODULES.items()}


def _app(module: str) -> str:
    return module.split(".")[1] if module.count(".") else ""


def _cycles(nodes: set[str]) -> list[list[str]]:
    """Strongly connected groups of more than one module among `nodes` (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in GRAPH[node] & nodes:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(nodes):
        if node not in index:
            visit(node)
    return groups


@pytest.mark.parametrize("app", ["ledgers", "sync", "cashflow", "billing", "web", "sandbox"])
def test_no_import_cycle_inside_an_app(app):
    assert _cycles({m for m in MODULES if _app(m) == app}) == []


@pytest.mark.parametrize(
    ("app", "forbidden"),
    [
        ("cashflow", {"ledgers", "sync", "billing", "web", "notices", "sandbox"}),
        ("ledgers", {"sync", "billing", "web", "notices", "sandbox"}),
        ("sync", {"billing", "web", "notices", "sandbox"}),
        ("sandbox", {"cashflow", "ledgers", "sync", "billing", "web", "notices", "devtools", "crypto"}),
    ],
)
def test_dependencies_point_one_way(app, forbidden):
    wrong = sorted(
        f"{module} imports {target}"
        for module in MODULES
        if _app(module) == app
        for target in GRAPH[module]
        if _app(target) in forbidden
    )
    assert wrong == []


def test_the_walk_sees_deferred_imports():
    """The checks above would pass on an empty graph: prove the walk finds a known import in a function."""
    assert "ledgerlink.sync.worker" in GRAPH["ledgerlink.sync.tasks"]
    assert "ledgerlink.sandbox.cli" in GRAPH["ledgerlink.__main__"]


# Where a provider may be named: its own package, its sandbox, the settings for its URLs, migrations, the
# two lists of providers, and the sandbox tooling the demo and the tests start.
PROVIDER_HOMES = (
    "ledgerlink/ledgers/{key}/",
    "ledgerlink/sandbox/",
    "/migrations/",
    "ledgerlink/settings.py",
    "ledgerlink/ledgers/providers.py",
    "ledgerlink/ledgers/registry.py",
    "ledgerlink/devtools/sandboxes.py",
    "ledgerlink/web/management/commands/demo.py",
)


@pytest.mark.parametrize("key", ["xero", "quickbooks"])
def test_a_provider_is_named_only_in_its_own_places(key):
    homes = [home.format(key=key) for home in PROVIDER_HOMES]
    named = []
    for path in sorted((SRC / "ledgerlink").rglob("*")):
        relative = path.relative_to(SRC).as_posix()
        if not path.is_file() or path.suffix not in {".py", ".html", ".txt", ".css", ".js"}:
            continue
        if any(home in relative for home in homes):
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        named += [f"{relative}:{n}: {line.strip()}" for n, line in enumerate(lines, 1) if key in line.lower()]
    assert named == []
