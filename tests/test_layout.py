"""The folders import downwards only: calendars < models < notifications < tasks < flows <
engine < cli < demo (DESIGN.md, "Layers": the demo "may import anything"). Read from the source
by parsing every import, so a function-level import counts as much as a module-level one."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# a folder may import folders of its own rank or lower; the demo may use the CLI's renderers, the
# CLI never imports the demo
RANK = {
    "calendars": 0,
    "models": 1,
    "notifications": 2,
    "tasks": 3,
    "flows": 4,
    "engine": 5,
    "cli": 6,
    "demo": 7,
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
