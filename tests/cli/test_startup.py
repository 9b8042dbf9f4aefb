"""`cin` starts at the speed of a command: only what the command asked for is imported."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, text

from cli import case_cmd
from cli.main import COMMANDS, build_parser
from models.database import alembic_config, migrate
from models.lifecycle import EVENT_TYPES
from models.schema_head import at_head, script_head

HEAVY = ("prefect", "sqlalchemy", "sqlmodel", "matplotlib", "numpy", "pydantic", "alembic")

PROBE = """
import json, sys
from cli.main import main
try:
    status = main(sys.argv[1:])
except SystemExit as done:
    status = done.code
sys.stdout.flush()
print("\\n" + json.dumps(sorted({m.split(".")[0] for m in sys.modules})), file=sys.stderr)
"""


def loaded(arguments: list[str], tmp_path: Path) -> set[str]:
    """The top-level packages a fresh `cin <arguments>` process had imported when it finished."""
    env = {
        **os.environ,
        "CIN_DATA_DIR": str(tmp_path),
        "CIN_DATABASE_URL": "",
        "PREFECT_API_URL": "http://127.0.0.1:9/api",
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *arguments], env=env, capture_output=True, text=True
    )
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def test_help_imports_no_prefect_nor_any_heavy_library(tmp_path: Path) -> None:
    modules = loaded(["--help"], tmp_path)
    assert "cli" in modules  # the probe saw the command run
    assert not modules & set(HEAVY), modules & set(HEAVY)


def test_a_command_imports_its_own_module_only(tmp_path: Path) -> None:
    env = {**os.environ, "PREFECT_API_URL": "http://127.0.0.1:9/api"}
    probe = (
        "import sys\nfrom cli.main import main\ntry:\n    main(['case', '--help'])\n"
        "except SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('cli.')), file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
    commands = {m for m in eval(done.stderr.strip().splitlines()[-1]) if m.endswith("_cmd")}
    assert commands == {"cli.case_cmd", "cli.census_cmd"}  # case_cmd uses census options


def test_case_show_on_a_current_database_loads_neither_prefect_nor_alembic(
    tmp_path: Path,
) -> None:
    migrate(f"sqlite:///{tmp_path / 'cin.db'}")
    modules = loaded(["case", "show", "RED-000001"], tmp_path)  # unknown case: refused, fine
    assert "sqlalchemy" in modules  # it did reach the database
    assert "prefect" not in modules and "alembic" not in modules, modules


def test_a_monitor_pass_without_prefect_imports_no_prefect(tmp_path: Path) -> None:
    """`cin monitor run --without-prefect` (Prefect down, or a pass by hand) raises and sends
    alerts from the case database alone: Prefect, ~1.3 s of a 2.3 s command's CPU, stays out."""
    migrate(f"sqlite:///{tmp_path / 'cin.db'}")
    modules = loaded(["monitor", "run", "--as-of", "2025-06-02", "--without-prefect"], tmp_path)
    assert "notifications" in modules and "sqlalchemy" in modules  # the pass ran
    assert "prefect" not in modules, modules


def test_case_show_of_a_queued_case_imports_no_prefect_and_no_sqlmodel(tmp_path: Path) -> None:
    """The whole of `cin case show` on a case whose event waits in the outbox (Prefect down):
    it prints the "not yet delivered" line and writes its access row, through SQLAlchemy Core
    alone: neither Prefect nor SQLModel and its table models are imported (issue 20, point 10)."""
    env = {**os.environ, "CIN_DATA_DIR": str(tmp_path), "CIN_DATABASE_URL": "",
           "PREFECT_API_URL": "http://127.0.0.1:9/api"}  # fmt: skip
    refer = ["case", "refer", "--authority", "redbridge", "--child", "C1", "--date", "2025-06-02"]
    made = subprocess.run([sys.executable, "-m", "cli.main", *refer], env=env,
                          capture_output=True, text=True, check=True)  # fmt: skip
    case_ref = made.stdout.split()[-1]
    done = subprocess.run([sys.executable, "-c", PROBE, "case", "show", case_ref], env=env,
                          capture_output=True, text=True)  # fmt: skip
    assert "event 1 not yet delivered to the case's run" in done.stdout, done.stdout + done.stderr
    modules = set(json.loads(done.stderr.strip().splitlines()[-1]))
    assert "sqlalchemy" in modules
    assert not modules & {"prefect", "sqlmodel", "alembic"}, modules
    with create_engine(f"sqlite:///{tmp_path / 'cin.db'}").connect() as connection:
        rows = connection.execute(text("SELECT action, case_ref FROM audit_log")).all()
    assert rows == [("case show", case_ref)]  # the access row, written all the same
    read_only = {
        **env,
        "CIN_DATABASE_URL": f"sqlite:///file:{tmp_path / 'cin.db'}?mode=ro&uri=true",
    }
    refused = subprocess.run([sys.executable, "-m", "cli.main", "case", "show", case_ref],
                             env=read_only, capture_output=True, text=True)  # fmt: skip
    assert refused.returncode == 3 and refused.stdout == ""  # shown only if its read is logged
    assert "it is read-only" in refused.stderr, refused.stderr


def test_the_command_table_says_what_the_modules_register() -> None:
    parser = build_parser()  # every module registered for real
    (subparsers,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    registered = {action.dest: action.help for action in subparsers._choices_actions}
    assert registered == {name: help_line for name, (_, help_line) in COMMANDS.items()}


def test_the_cli_spells_the_lifecycle_event_types_as_the_lifecycle_does() -> None:
    assert case_cmd.EVENT_TYPES == EVENT_TYPES


def test_the_schema_head_read_from_the_files_is_alembic_s_head(tmp_path: Path) -> None:
    from alembic.script import ScriptDirectory

    url = f"sqlite:///{tmp_path / 'cin.db'}"
    assert script_head() == ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    engine = create_engine(url)
    assert not at_head(engine)  # no schema yet: Alembic must run
    migrate(url)
    assert at_head(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    assert not at_head(engine)  # an older database is upgraded, not skipped
