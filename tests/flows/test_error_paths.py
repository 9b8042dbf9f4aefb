"""Every failure path of issue 13, with a sentinel child reference: it never leaves the database.

A case for the sentinel child runs on a real Prefect server. Then each bad input and fault the
issue lists is driven through `cin` (a prefix collision, database errors, bad free text, policies
that break cases, an alias bomb, calendar overflows, a hostile staff file, a `.env`, an unknown
authority, a mail server that never greets), and stdout, stderr, the administrator's error log
and everything the Prefect server holds (runs, task runs, logs, artifacts, variables, events)
are searched for the sentinel.
"""

from __future__ import annotations

import base64
import json
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL
from sqlmodel import Session

from demo.local_server import free_port
from engine.worker import work
from models.cases.reads import load_case
from models.runtime import case_engine
from tests.cli.cli_harness import REPO, Outcome, cin, write_lines
from tests.cli.test_import_db_error import referral_lines, refuse_child_in_trigger
from tests.models.policy.test_bomb import alias_bomb
from tests.notifications.test_smtp_silent import SilentServer

SENTINEL = "SENTINELC7Q2"


def _policy_folder(tmp: Path, name: str) -> Path:
    folder = tmp / name
    shutil.copytree(REPO / "policies", folder)
    return folder


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_no_failure_path_leaks_the_child_reference(
    prefect_server: None,
    case_db: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    api = PREFECT_API_URL.value()
    monkeypatch.setenv("PREFECT_API_URL", api)
    monkeypatch.setenv("CIN_TODAY", "2025-03-03")
    outcomes: list[tuple[str, Outcome]] = []

    def run(label: str, *argv: str, expect: tuple[int, ...] = (1,)) -> Outcome:
        done = cin(capfd, *argv)
        outcomes.append((label, done))
        assert done.status in expect, (label, done.status, done.err[-400:])
        assert "Traceback" not in done.err, (label, done.err[-2000:])
        return done

    refer = ["case", "refer", "--authority", "redbridge", "--date", "2025-01-06"]

    # the sentinel child's case, delivered to its flow run on the Prefect server
    opened = run("open", *refer, "--child", SENTINEL, "--team", "east", expect=(0,))
    case_ref = opened.out.splitlines()[-1]
    work(case_engine(), threads=1, until_idle=True)
    with Session(case_engine()) as session:
        run_id = load_case(session, case_ref).flow_run_id
    assert run_id is not None  # the server holds the sentinel's case run (the session's server
    # is shared with other tests, so it is found by its id)
    flow_run = httpx.get(f"{api}/flow_runs/{run_id}", headers=_auth(), timeout=30).json()
    assert flow_run["name"] == case_ref

    # 1. two councils with one prefix: refused when the policies load, naming the files
    clash = _policy_folder(tmp_path, "clash")
    shutil.copy(clash / "warwickshire.yaml", clash / "warrington.yaml")
    _edit(clash / "warrington.yaml", "authority: warwickshire", "authority: warrington")
    monkeypatch.setenv("CIN_POLICY_DIR", str(clash))
    done = run("prefix", *refer[:2], "--authority", "warrington", "--date", "2025-01-06",
               "--child", SENTINEL)  # fmt: skip
    assert "case_prefix: 'WAR'" in done.err
    run("prefix validate", "policy", "validate", str(clash))
    monkeypatch.delenv("CIN_POLICY_DIR")

    # 2. database errors: one line of an import, a read-only database, a full disk, no server
    refuse_child_in_trigger(case_engine(), SENTINEL + "9")
    lines = referral_lines(("C1", "C2", "C3", SENTINEL + "9", "C5"))
    done = run("import", "import", str(write_lines(tmp_path / "x.jsonl", lines)), "--no-deliver",
               "--no-progress")  # fmt: skip
    assert done.err.startswith("line 4: the case database refused this line")
    db_file = case_db.removeprefix("sqlite:///")
    monkeypatch.setenv("CIN_DATABASE_URL", f"sqlite:///file:{db_file}?mode=ro&uri=true")
    done = run("read-only", *refer, "--child", SENTINEL + "RO", expect=(3,))
    assert "it is read-only" in done.err
    monkeypatch.setenv(
        "CIN_DATABASE_URL", f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/x"
    )
    done = run("wrong port", *refer, "--child", SENTINEL, expect=(3,))
    assert "connection refused" in done.err
    monkeypatch.setenv(
        "CIN_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/no_such_db"
    )
    done = run("no database", *refer, "--child", SENTINEL, expect=(3,))
    assert "the database does not exist" in done.err
    monkeypatch.delenv("CIN_DATABASE_URL")
    outcomes.append(("full disk", _full_disk(tmp_path, api)))

    # 3. free text
    for child in ("", "   ", SENTINEL + "\nx", SENTINEL + "\x1b[31m", SENTINEL + "x" * 100_000,
                  SENTINEL + "y" * 60):  # fmt: skip
        run("child", *refer, f"--child={child}")
    run("team", *refer, "--child", SENTINEL, "--team", "t" * 5000)
    run("key", *refer, "--child", SENTINEL, "--key", "k" * 5000)
    run("html team", *refer, "--child", SENTINEL, "--team", "<img src=x onerror=alert(1)>|x")
    big = write_lines(tmp_path / "big.jsonl", [{"authority": "redbridge", "child": SENTINEL * 9999,
                                                "type": "referral_received", "on": "2025-01-06",
                                                "source": "2A"}])  # fmt: skip
    run("import child", "import", str(big), "--no-deliver", "--no-progress")
    run("record", "case", "record", case_ref, "referral_decision", "--date", "2025-01-07")

    # 4. policies that break cases; 5. the alias bomb, in the folder every command loads
    for label, old, new in (
        ("amount 0", "amount: 15", "amount: 0"),
        ("amount 10000", "amount: 15", "amount: 10000"),
        ("2099", "effective_from: 2018-08-01", "effective_from: 2099-01-01"),
    ):
        folder = _policy_folder(tmp_path, label.replace(" ", "-"))
        _edit(folder / "redbridge.yaml", old, new)
        if label == "2099":  # and the earlier history Redbridge's rules are assumed for (003 L17)
            _edit(folder / "redbridge.yaml", "assumed_from: 2013-04-15", "assumed_from: 2099-01-01")
        run(label, "policy", "validate", str(folder / "redbridge.yaml"))
    latin = _policy_folder(tmp_path, "latin")
    (latin / "redbridge.yaml").write_bytes(
        (latin / "redbridge.yaml").read_text(encoding="utf-8").replace("Redbridge", "Rédbridge",
                                                                       1).encode("latin-1")
    )  # fmt: skip
    done = run("latin-1", "policy", "validate", str(latin / "redbridge.yaml"))
    assert str(latin / "redbridge.yaml") in done.err
    bomb = _policy_folder(tmp_path, "bomb")
    (bomb / "bomb.yaml").write_text(alias_bomb(), encoding="utf-8")
    monkeypatch.setenv("CIN_POLICY_DIR", str(bomb))
    run("alias bomb", *refer, "--child", SENTINEL)
    monkeypatch.delenv("CIN_POLICY_DIR")

    # 6. calendar overflows and lenient dates
    run("calendar overflow", "calendar", "add", "2025-01-06", "99999999", expect=(2,))
    batch = tmp_path / "batch.csv"
    batch.write_text("20250106,5\n", encoding="utf-8")
    run("calendar batch", "calendar", "add", "--batch", str(batch))
    run("week date", "calendar", "add", "2025-W02-1", "5", expect=(2,))

    # 7. a staff file with a formula and a line break in an id
    staff = tmp_path / "staff.csv"
    staff.write_text(
        "staff_id,name,email,role,team,manager_id\n"
        "\"=cmd|' /C calc'!A0\",Ann,ann@r.example,head_of_service,,\n"
        '"S\r\nM1",Sam,sam@r.example,service_manager,,\n',
        encoding="utf-8",
    )
    run("staff", "staff", "import", str(staff), "--authority", "redbridge")

    # 8. a .env in the working folder; an unknown authority
    workdir = tmp_path / "work"
    workdir.mkdir()
    (workdir / ".env").write_text("CIN_SMTP_URL=mailto://u:hunter2@127.0.0.1:25?from=a@b.example\n")
    monkeypatch.chdir(workdir)
    shown = run("config", "config", "show", expect=(0,))
    assert "hunter2" not in shown.out and f".env ({workdir / '.env'})" in shown.out
    monkeypatch.chdir(REPO)
    run("deadlines", "deadlines", "--authority", "nowhere")

    # 9. a mail server that never greets, during a monitor pass that has the sentinel's case due
    silent = SilentServer()
    try:
        monkeypatch.setenv("CIN_SMTP_URL", silent.url(timeout=1))
        run("silent smtp", "monitor", "run", "--as-of", "2025-03-03", "--without-prefect",
            expect=(0, 1, 3))  # fmt: skip
    finally:
        silent.close()

    # nothing anywhere carries the sentinel
    for label, done in outcomes:
        assert SENTINEL not in done.out + done.err, label
    log = (Path(case_db.removeprefix("sqlite:///")).parent / "logs" / "cin-errors.log").read_text(
        encoding="utf-8"
    )
    assert log.count("Traceback (most recent call last)") >= 4  # the scan reads real tracebacks
    assert SENTINEL not in log
    held = _everything_on_the_server(api, str(run_id))
    assert str(run_id) in held  # the scan reads what the case run published
    assert SENTINEL not in held


def _full_disk(tmp_path: Path, api: str) -> Outcome:
    """`cin case refer` with writes capped below what the transaction needs (RLIMIT_FSIZE: the
    kernel refuses the write as a full disk would), in a process of its own."""
    import os

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (24576, 24576))

    env = {**os.environ, "PREFECT_API_URL": api}
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", "case", "refer", "--authority", "redbridge",
         "--date", "2025-01-06", "--child", SENTINEL + "FD"],
        cwd=REPO, env=env, preexec_fn=cap, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 3, done.stderr[-1000:]
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("cin: error: the case database")
    return Outcome(done.returncode, done.stdout, done.stderr)


def _auth() -> dict[str, str]:
    """The session's server requires its API auth string, as every engine-started server does."""
    secret = PREFECT_API_AUTH_STRING.value() or ""
    return {"Authorization": "Basic " + base64.b64encode(secret.encode()).decode()}


def _everything_on_the_server(api: str, run_id: str) -> str:
    """The newest 200 of everything, and everything of the sentinel's run (the server is shared
    with the session's other tests)."""
    ours = {"flow_runs": {"id": {"any_": [run_id]}}}
    queries = [
        (path, body)
        for path in ("flow_runs", "task_runs", "logs", "artifacts", "variables", "deployments")
        for body in ({"limit": 200}, {"limit": 200, **ours})
        if path not in ("logs", "variables", "deployments") or "flow_runs" not in body
    ]
    queries.append(("logs", {"limit": 200, "logs": {"flow_run_id": {"any_": [run_id]}}}))
    texts = []
    for path, body in queries:
        response = httpx.post(f"{api}/{path}/filter", json=body, headers=_auth(), timeout=30)
        response.raise_for_status()
        texts.append(response.text)
    events = httpx.post(f"{api}/events/filter", json={"limit": 50}, headers=_auth(), timeout=30)
    events.raise_for_status()
    texts.append(events.text)
    return json.dumps(texts)
