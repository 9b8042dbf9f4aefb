"""Generated bad input through the CLI entry points, on SQLite and PostgreSQL (issue 13).

For events, policy files, staff CSVs and import lines, and the file paths of every command that
writes a file (devices, FIFOs, links, folders, existing files; issue 26): never a traceback on
stderr, never a partial write (the database is unchanged after every refusal), every refusal one
line. The
number of examples is bounded so the whole file runs in CI in well under a minute.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from tests.cli.cli_harness import (
    REPO,
    assert_failed_cleanly,
    assert_no_traceback,
    cin,
    point_at,
    snapshot,
    write_lines,
)

EXAMPLES = settings(
    max_examples=10,
    deadline=None,
    derandomize=True,  # the same examples on every run: a CI failure can be replayed
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# text that has broken the CLI before: empty, blank, control codes, markup, very long
NASTY = st.sampled_from(
    [
        "",
        " ",
        "\t",
        "a\nb",
        "a\r\nb",
        "\x1b[31mred",
        "<img src=x onerror=alert(1)>|x",
        "=cmd|' /C calc'!A0",
        "x" * 100_000,
        "é" * 65,
        "-1",
        "20250106",
        "2025-W02-1",
        "2025-02-30",
        "99999999999999999999",
        "\u202e",
        "*a",
    ]
)
TEXT = st.one_of(NASTY, st.text(max_size=80))
SCALAR = st.one_of(
    TEXT, st.integers(min_value=-(10**20), max_value=10**20), st.none(), st.booleans()
)


@pytest.fixture
def world(
    engine: Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    point_at(monkeypatch, db_url, tmp_path)
    return {"engine": engine, "tmp": tmp_path}


def refused_cleanly(world: dict[str, Any], capsys: pytest.CaptureFixture[str], *argv: str,
                    single: bool = False) -> bool:  # fmt: skip
    """Run `cin argv`; if it refused, check the refusal and that nothing was written."""
    before = snapshot(world["engine"])
    done = cin(capsys, *argv)
    assert_no_traceback(done)
    if done.status != 0:
        assert_failed_cleanly(done, single=single)
        assert snapshot(world["engine"]) == before, "a refusal wrote to the database"
    return done.status != 0


@EXAMPLES
@given(child=TEXT, team=st.one_of(st.none(), TEXT), key=st.one_of(st.none(), TEXT), day=TEXT)
def test_referrals(world, capsys, child: str, team: str | None, key: str | None, day: str):
    argv = ["case", "refer", "--authority", "redbridge", f"--child={child}", f"--date={day}"]
    argv += [f"--team={team}"] if team is not None else []
    argv += [f"--key={key}"] if key is not None else []
    refused_cleanly(world, capsys, *argv, single=True)


@EXAMPLES
@given(
    case=TEXT,
    event=st.sampled_from(["referral_decision", "visit_recorded", "case_closed", "review_held"]),
    outcome=st.one_of(st.none(), TEXT),
    day=st.one_of(TEXT, st.just("2025-06-01")),
    key=st.one_of(st.none(), TEXT),
)
def test_events(world, capsys, case, event, outcome, day, key):
    argv = ["case", "record", f"--date={day}"]
    argv += [f"--outcome={outcome}"] if outcome is not None else []
    argv += [f"--key={key}"] if key is not None else []
    argv += ["--", case, event]
    refused_cleanly(world, capsys, *argv, single=True)


@EXAMPLES
@given(
    record=st.dictionaries(
        st.sampled_from(
            [
                "case",
                "authority",
                "child",
                "team",
                "key",
                "type",
                "on",
                "outcome",
                "source",
                "reason",
                "visit_frequency",
                "primary_need",
            ]
        ),  # fmt: skip
        SCALAR,
        max_size=8,
    ),
    raw=st.one_of(st.none(), TEXT),
)
def test_import_lines(world, capsys, record: dict[str, Any], raw: str | None):
    line = raw.replace("\n", " ").replace("\r", " ") if raw is not None else json.dumps(record)
    path = write_lines(world["tmp"] / "in.jsonl", [line or "{}"])
    refused_cleanly(world, capsys, "import", str(path), "--no-deliver", "--no-progress",
                    single=True)  # fmt: skip


POLICY = yaml.safe_load((REPO / "policies" / "redbridge.yaml").read_text(encoding="utf-8"))
POLICY_FIELDS = [
    ("name",),
    ("case_prefix",),
    ("nation",),
    ("versions", 0, "effective_from"),
    ("versions", 0, "effective_to"),
    ("versions", 0, "source"),
    ("versions", 0, "timescales", "review", "amount"),
    ("versions", 0, "timescales", "review", "unit"),
    ("versions", 0, "timescales", "first_review", "counts_from"),
    ("versions", 0, "closure_days", "annual"),
]


@EXAMPLES
@given(field=st.sampled_from(POLICY_FIELDS), value=SCALAR, raw=st.one_of(st.none(), TEXT))
def test_policy_files(world, capsys, field, value, raw: str | None):
    data = json.loads(json.dumps(POLICY, default=str))
    target: Any = data
    for part in field[:-1]:
        target = target[part]
    target[field[-1]] = value
    path = world["tmp"] / "redbridge.yaml"
    if raw is not None:
        path.write_text(raw, encoding="utf-8", errors="surrogatepass")
    else:
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    refused_cleanly(world, capsys, "policy", "validate", "--no-cases", str(path))


STAFF_HEADER = "staff_id,name,email,role,team,manager_id"
GOOD_ROWS = [
    "HS1,Hana Head,hs1@redbridge.example,head_of_service,,",
    "SM1,Sam Service,sm1@redbridge.example,service_manager,,HS1",
    "TM1,Tara Team,tm1@redbridge.example,team_manager,east,SM1",
]


@EXAMPLES
@given(cells=st.lists(TEXT, min_size=6, max_size=6), row=st.integers(0, 2))
def test_staff_files(world, capsys, cells: list[str], row: int):
    quoted = ",".join('"' + cell.replace('"', '""') + '"' for cell in cells)
    rows = list(GOOD_ROWS)
    rows[row] = quoted
    path = world["tmp"] / "staff.csv"
    path.write_text("\n".join([STAFF_HEADER, *rows]) + "\n", encoding="utf-8")
    refused_cleanly(world, capsys, "staff", "import", str(path), "--authority", "redbridge")
    listing = cin(capsys, "staff", "list", "--authority", "redbridge")
    assert listing.status == 0, listing.err
    for line in listing.out.splitlines():  # one person a line, nothing a spreadsheet would run
        assert not any(ch in line for ch in "\r\x1b"), line
        assert not line.startswith(("=", "+", "-", "@")), line


# Every command that writes a file (issue 26, point 3), with the option naming its file and
# whether it has --force. Each hostile target is refused (exit 1, one line), left exactly as it
# was, and no temporary file is left beside it.
WRITERS = {
    "annex-a export": [
        "annex-a",
        "export",
        "--authority",
        "redbridge",
        "--as-of",
        "2025-06-02",
        "--out",
    ],  # fmt: skip
    "census export": ["census", "export", "--authority", "redbridge", "--year", "2026", "--out"],
    "child export": ["child", "export", "--authority", "redbridge", "--child", "C26", "--out"],
    "report --html": [
        "report",
        "--authority",
        "redbridge",
        "--from",
        "2025-04-01",
        "--to",
        "2025-06-01",
        "--html",
    ],  # fmt: skip
}
HOSTILE = ["device", "fifo", "symlink to a file", "dangling symlink", "symlink to a folder",
           "folder", "existing file"]  # fmt: skip


def _one_child_in_the_return(capsys) -> None:
    """A referral with the child's census details: a return needs one child (the DfE's XSD)."""
    from models.census.child import upn_check_letter

    upn = upn_check_letter("X201050010127") + "201050010127"
    assert cin(capsys, "child", "set", "C26", "--authority", "redbridge", "--dob", "2015-03-04",
               "--sex", "F", "--ethnicity", "WBRI", "--upn", upn).status == 0  # fmt: skip
    done = cin(capsys, "case", "refer", "--authority", "redbridge", "--child", "C26",
               "--date", "2025-05-01", "--need", "N1")  # fmt: skip
    assert done.status == 0, done.err


def _hostile(kind: str, folder: Path) -> tuple[Path, Path | None]:
    """The target path, and the file a link points at (whose content must not change)."""
    victim = folder / "victim.txt"
    victim.write_text("not the command's\n")
    target = folder / "out.file"
    if kind == "device":
        return Path("/dev/null"), None
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "symlink to a file":
        target.symlink_to(victim)
    elif kind == "dangling symlink":
        target.symlink_to(folder / "nothing-here")
    elif kind == "symlink to a folder":
        target.symlink_to(folder)
    elif kind == "folder":
        target.mkdir()
    elif kind == "existing file":
        return victim, victim
    return target, victim


def _state(path: Path) -> tuple[int, int, int, int]:
    info = os.lstat(path)
    return info.st_mode, info.st_ino, info.st_rdev, info.st_size


@pytest.mark.parametrize("kind", HOSTILE)
@pytest.mark.parametrize("command", sorted(WRITERS))
def test_writers_refuse_what_is_not_theirs(world, capsys, command: str, kind: str):
    folder = world["tmp"] / "outputs"
    folder.mkdir()
    target, victim = _hostile(kind, folder)
    before = _state(target)
    victim_text = victim.read_text() if victim else None
    listing = sorted(p.name for p in folder.iterdir())
    done = cin(capsys, *WRITERS[command], str(target))
    assert done.status == 1, (done.status, done.err)
    assert_failed_cleanly(done, single=True)
    assert "expected a new file name" in done.err, done.err
    assert _state(target) == before, "the target was replaced or changed"
    if victim is not None:
        assert victim.read_text() == victim_text, "written through a link"
    assert sorted(p.name for p in folder.iterdir()) == listing, "a file was left behind"
    if kind == "device":
        assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


@pytest.mark.parametrize("command", sorted(WRITERS))
def test_writers_replace_a_regular_file_only_with_force(world, capsys, command: str):
    _one_child_in_the_return(capsys)
    folder = world["tmp"] / "outputs"
    folder.mkdir()
    target = folder / "out.file"
    target.write_text("old\n")
    target.chmod(0o644)
    done = cin(capsys, *WRITERS[command], str(target), "--force")
    assert done.status == 0, done.err
    assert target.read_bytes() != b"old\n" and not target.is_symlink()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600  # a new file, owner only
    assert sorted(p.name for p in folder.iterdir()) == ["out.file"]  # no temporary left
    fresh = folder / "new.file"
    assert cin(capsys, *WRITERS[command], str(fresh)).status == 0
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600


@pytest.mark.parametrize("command", sorted(WRITERS))
def test_a_failed_write_leaves_no_file_and_exits_3(world, capsys, db_url, command: str):
    """A write the kernel refuses part-way (a file-size limit: EFBIG, as a full disk gives
    ENOSPC) leaves nothing at the target, no temporary, and exits 3 (README, exit codes)."""
    _one_child_in_the_return(capsys)
    folder = world["tmp"] / "outputs"
    folder.mkdir()
    target = folder / "out.file"
    script = (
        "import resource, signal, sys\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (200, 200))\n"
        "from cli.main import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, *WRITERS[command], str(target)],
        capture_output=True, text=True, timeout=120, cwd=REPO, env=dict(os.environ),
    )  # fmt: skip
    assert done.returncode == 3, done.stderr[-1000:]
    assert "Traceback" not in done.stderr
    assert str(target) in done.stderr and "File too large" in done.stderr, done.stderr
    assert list(folder.iterdir()) == [], "a partial or empty file was left"


# Policy files that would exhaust the machine (issue 26, point 5): a stream without end and a
# nesting deeper than Python's stack; each refused in one line, quickly.
DEEP_POLICY = "name: " + "[" * 800 + "]" * 800 + "\n"  # 1.6 KB


@pytest.mark.parametrize("source", ["/dev/zero", "deep"])
@pytest.mark.parametrize("command", ["validate", "whatif --draft"])
def test_policy_files_that_would_exhaust_the_machine(world, capsys, source: str, command: str):
    path = Path(source)
    if source == "deep":
        path = world["tmp"] / "redbridge.yaml"
        path.write_text(DEEP_POLICY, encoding="utf-8")
        assert path.stat().st_size < 2000
    argv = ["policy", "validate", "--no-cases", str(path)]
    if command == "whatif --draft":
        argv = ["policy", "whatif", "redbridge", "--draft", str(path)]
    done = cin(capsys, *argv)
    assert done.status == 1, done.err
    assert_failed_cleanly(done, single=True)
    expected = "levels of nesting" if source == "deep" else "expected a regular policy file"
    assert expected in done.err, done.err


def test_a_deep_file_in_the_policy_folder_leaves_the_other_councils_working(
    world, capsys, caplog, monkeypatch
):
    folder = world["tmp"] / "policies"
    folder.mkdir()
    for source in (REPO / "policies").glob("*.yaml"):
        (folder / source.name).write_bytes(source.read_bytes())
    (folder / "deepshire.yaml").write_text(DEEP_POLICY, encoding="utf-8")
    monkeypatch.setenv("CIN_POLICY_DIR", str(folder))
    from models.runtime import _policies

    _policies.cache_clear()
    done = cin(capsys, "case", "refer", "--authority", "redbridge", "--child", "C26",
               "--date", "2025-05-01")  # fmt: skip
    _policies.cache_clear()
    assert done.status == 0, done.err
    assert "RED-" in done.out
    [warning] = [r.getMessage() for r in caplog.records if r.name == "cin.policy"]
    assert "deepshire.yaml" in warning and "levels of nesting" in warning  # one line, said once
    assert "\n" not in warning and "Traceback" not in done.err


def test_census_export_years_and_an_empty_return(world, capsys):
    """--year past the collection under way, or 0, is a usage error (exit 2); a return with no
    child (which the DfE's XSD refuses) is refused and leaves no file (issue 26, point 8)."""
    out = world["tmp"] / "return.xml"
    base = ["census", "export", "--authority", "redbridge", "--out", str(out)]
    for year in ("2100", "0", "2027"):  # CIN_TODAY 2025-06-02: the year under way is 2026
        done = cin(capsys, *base, "--year", year)
        assert done.status == 2, (year, done.err)
        assert "--year: expected a collection year from 2000 to 2026" in done.err
    done = cin(capsys, *base, "--year", "2026")
    assert done.status == 1, done.err
    assert_failed_cleanly(done, single=True)
    assert "no child in the return" in done.err and not out.exists()
    assert list(world["tmp"].glob(".return.xml*")) == []
    _one_child_in_the_return(capsys)
    done = cin(capsys, *base, "--year", "2026")
    assert done.status == 0, done.err
    assert "1 children" in done.out and out.exists()
