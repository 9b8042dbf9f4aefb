"""The folders import downwards only: calendars < models < notifications < tasks < flows <
engine < api < cli < demo < bench (DESIGN.md, "Layers": the demo "may import anything"). Read
from the source by parsing every import, so a function-level import counts as much as a
module-level one. No two modules of a folder, and no two rooms of models/, import each other in a
loop (issue 25).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# a folder may import folders of its own rank or lower; the demo may use the CLI's renderers, the
# CLI never imports the demo; the HTTP API sits on the engine, and the CLI starts it (`cin api`)
RANK = {
    "calendars": 0,
    "models": 1,
    "notifications": 2,
    "tasks": 3,
    "flows": 4,
    "engine": 5,
    "api": 6,  # the HTTP API sits on the engine; the CLI starts it (`cin api`)
    "cli": 7,
    "demo": 8,
    "bench": 9,  # the benchmarks may use anything; nothing imports them
}


def imported_folders(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return {name.split(".")[0] for name in names} & (set(RANK) | {"tests", "bench"})


def violations() -> list[str]:
    found = []
    for folder, rank in RANK.items():
        for path in sorted((REPO / folder).rglob("*.py")):
            for target in sorted(imported_folders(path) - {folder}):
                if target not in RANK or RANK[target] > rank:
                    found.append(f"{path.relative_to(REPO)} imports {target}")
    return found


def test_no_folder_imports_a_folder_above_it() -> None:
    assert violations() == []


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from engine.delivery import deliver_case\n")
    assert imported_folders(module) == {"engine"}


@pytest.mark.parametrize("folder", ["flows"])
def test_flows_holds_only_flows(folder: str) -> None:
    """Every module in flows/ defines a Prefect flow (the machinery lives in engine/)."""
    for path in sorted((REPO / folder).glob("*.py")):
        if path.name == "__init__.py":
            continue
        assert "@flow(" in path.read_text(), f"{path.relative_to(REPO)} holds no flow"


# --- no import loops (issue 25) -------------------------------------------------------------
# A loop between two modules of one folder (engine/delivery.py <-> engine/worker.py, as it was)
# means neither can be read, tested or moved alone. Every import counts, a function-level one as
# much as a module-level one: deferring an import hides a loop, it does not remove it.


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph(root: Path, folder: str) -> dict[str, set[str]]:
    """Module -> the modules of the same folder it imports (`from a import b` names the module
    `a.b` when there is one, else `a`)."""
    paths = sorted((root / folder).rglob("*.py"))
    modules = {module_name(root, path) for path in paths}
    graph: dict[str, set[str]] = {}
    for path in paths:
        tree = ast.parse(path.read_text(), filename=str(path))
        targets: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    targets.add(full if full in modules else node.module)
        name = module_name(root, path)
        graph[name] = {target for target in targets if target in modules} - {name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


@pytest.mark.parametrize("folder", list(RANK))
def test_no_import_loop_between_modules_of_a_folder(folder: str) -> None:
    assert cycles(import_graph(REPO, folder)) == []


def package_graph(graph: dict[str, set[str]], folder: str) -> dict[str, set[str]]:
    """The same imports between `folder`'s sub-packages: a module at the folder's top level is a
    room of its own (`models.tables`), a module further down belongs to its sub-package."""

    def room(module: str) -> str:
        return ".".join(module.split(".")[:2])

    rooms: dict[str, set[str]] = {}
    for module, targets in graph.items():
        if module == folder:
            continue
        rooms.setdefault(room(module), set()).update(room(t) for t in targets if t != folder)
    return {name: targets - {name} for name, targets in rooms.items()}


def test_no_import_loop_between_the_rooms_of_models() -> None:
    """models/'s rooms and shared modules import each other one way only (docs/layout.md):
    policy < lifecycle < cases < staff; alerts < whatif; census and report read below them."""
    assert cycles(package_graph(import_graph(REPO, "models"), "models")) == []


def test_the_loop_check_sees_a_loop(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg.sub import b\n")
    (package / "sub" / "b.py").write_text("def f():\n    import pkg.c\n")
    (package / "c.py").write_text("from pkg.a import thing\n")
    (package / "d.py").write_text("import pkg.a\n")  # imports into the loop, is not part of it
    graph = import_graph(tmp_path, "pkg")
    assert graph["pkg.a"] == {"pkg.sub.b"}
    assert cycles(graph) == [["pkg.a", "pkg.c", "pkg.sub.b"]]
    assert cycles(package_graph(graph, "pkg")) == [["pkg.a", "pkg.c", "pkg.sub"]]
    (package / "c.py").write_text("THING = 1\n")
    assert cycles(import_graph(tmp_path, "pkg")) == []


def test_each_room_of_models_says_what_it_holds() -> None:
    """Every sub-package of models/ opens with a docstring: what it holds, what it may import."""
    for init in sorted((REPO / "models").glob("*/__init__.py")):
        if init.parent.name == "migrations":
            continue
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc and len(doc) > 40, (
            f"{init.relative_to(REPO)} has no docstring saying what it holds"
        )
