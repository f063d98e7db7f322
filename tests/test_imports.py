"""The package's imports: no cycle between its modules, and each module imports alone."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Collection
from pathlib import Path

import pytest

import django_profilecmds

PACKAGE = "django_profilecmds"
ROOT = Path(django_profilecmds.__file__).resolve().parent.parent


def package_modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its ``__init__.py``)."""
    modules = {}
    for path in sorted((ROOT / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


class RuntimeImports(ast.NodeVisitor):
    """The names a module imports when it runs: every ``import`` statement, at module level or
    inside a function, and ``import_module("...")`` of a literal name; not those under
    ``if TYPE_CHECKING:``. ``from a import b`` imports ``a.b`` when that is a module, else
    ``a``."""

    def __init__(self, module: str, is_package: bool, modules: Collection[str]) -> None:
        self.package = module if is_package else module.rpartition(".")[0]
        self.modules = modules
        self.names: set[str] = set()

    def visit_If(self, node: ast.If) -> None:
        if "TYPE_CHECKING" in ast.unparse(node.test):
            for statement in node.orelse:
                self.visit(statement)
        else:
            self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        self.names.update(alias.name for alias in node.names)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:
            parts = self.package.split(".")
            parts = parts[: len(parts) - node.level + 1]
            base = ".".join([*parts, *([node.module] if node.module else [])])
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            self.names.add(submodule if submodule in self.modules else base)

    def visit_Call(self, node: ast.Call) -> None:
        function = node.func
        name = function.attr if isinstance(function, ast.Attribute) else None
        name = function.id if isinstance(function, ast.Name) else name
        if name in ("import_module", "__import__") and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                self.names.add(first.value)
        self.generic_visit(node)


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Which modules of the package each one imports when it runs (see RuntimeImports); the
    parent packages that Python imports on the way are left out."""

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        visitor = RuntimeImports(module, path.name == "__init__.py", modules)
        visitor.visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        targets = {resolve(name) for name in visitor.names if name.split(".")[0] == PACKAGE}
        graph[module] = {target for target in targets if target and target != module}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in sorted(graph[module]):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return sorted(found)


def test_the_import_graph_is_read_from_the_package():
    graph = import_graph(package_modules())
    assert len(graph) > 60
    assert "django_profilecmds.collectors.origins" in graph["django_profilecmds.collectors.sql"]
    # A function's own import counts; one under TYPE_CHECKING does not.
    assert "django_profilecmds.profiling" in graph["django_profilecmds"]
    assert "django_profilecmds.result" not in graph["django_profilecmds"]


def test_no_import_cycle():
    graph = import_graph(package_modules())
    unexpected = cycles(graph)
    listed = "\n".join(
        f"{' <-> '.join(component)}:\n"
        + "\n".join(
            f"    {module} imports {', '.join(sorted(graph[module] & set(component)))}"
            for module in component
        )
        for component in unexpected
    )
    assert not unexpected, f"Import cycles in the package:\n{listed}"


@pytest.mark.slow
def test_each_module_imports_alone():
    # A process of its own per module, so that no module is imported first by another: a
    # cycle between module-level imports fails in one of the two orders only. Django is set up
    # first, as in any process that uses the package (that imports apps.py and conf.py), and
    # each module is imported in a fork of that process, which costs milliseconds, not an
    # interpreter's start.
    script = (
        "import importlib, os, sys, traceback\n"
        "import django\n"
        "django.setup()\n"
        "for name in sys.argv[1:]:\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        try:\n"
        "            importlib.import_module(name)\n"
        "        except BaseException as error:\n"
        "            last = traceback.format_exception_only(error)[-1].strip()\n"
        "            print(f'{name}: {last}', flush=True)\n"
        "            os._exit(1)\n"
        "        os._exit(0)\n"
        "    os.waitpid(pid, 0)\n"
    )
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    done = subprocess.run(
        [sys.executable, "-c", script, *package_modules()],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout == "", f"Modules that fail to import alone:\n{done.stdout}"
