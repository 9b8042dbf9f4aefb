"""`cin import`: lines accepted one by one, bad lines counted and reported, re-runs add nothing.

Each test runs on its own database, SQLite and PostgreSQL (`db_url`), reached through the settings
the command reads (CIN_DATABASE_URL); nothing here needs a Prefect server (`--no-deliver`).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import Session, col, select

from cli.main import main
from demo.caseload import generate_caseload, to_jsonl
from demo.local_server import wait_until
from models.policy.book import PolicyBook
from models.runtime import case_engine
from models.tables import Case, CaseEvent

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def cin_env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CIN_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CIN_DATABASE_URL", db_url)
    # `cin import` points Prefect at the project's server via os.environ: undone after the test
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect"))
    monkeypatch.setenv("PREFECT_SERVER_ALLOW_EPHEMERAL_MODE", "false")
    return tmp_path


def write_lines(folder: Path, lines: list[Any], name: str = "in.jsonl") -> str:
    path = folder / name
    path.write_text(
        "".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines),
        encoding="utf-8",
    )
    return str(path)


def run(path: str, capsys: pytest.CaptureFixture[str], *more: str) -> tuple[int, str, str]:
    status = main(["import", path, "--no-deliver", "--no-progress", *more])
    out, err = capsys.readouterr()
    return status, out, err


def event_count() -> int:
    with Session(case_engine()) as session:
        return int(session.exec(select(func.count(col(CaseEvent.id)))).one())


def cases() -> list[Case]:
    with Session(case_engine()) as session:
        return list(session.exec(select(Case).order_by(col(Case.case_ref))))


def child(ref: str = "SYN1", **event: Any) -> dict[str, Any]:
    return {"authority": "redbridge", "child": ref, "team": "redbridge-east", **event}


REFERRAL = child(type="referral_received", on="2025-01-06", source="6")
DECISION = child(type="referral_decision", on="2025-01-07", outcome="assessment")


def test_a_generated_caseload_imports_whole_and_a_rerun_adds_nothing(
    cin_env: Path, book: PolicyBook, capsys: pytest.CaptureFixture[str]
) -> None:
    records = generate_caseload(
        authorities=["redbridge", "warwickshire", "stockton-on-tees", "redcar-and-cleveland"],
        cases=40,
        start=date(2024, 4, 1),
        days=300,
        seed=2,
        policies=book,
    )
    path = cin_env / "caseload.jsonl"
    path.write_text(to_jsonl(records), encoding="utf-8")
    n = len(records)

    assert run(str(path), capsys) == (
        0,
        f"imported {n} lines: {n} accepted, 0 duplicates, 0 refused\n",
        "",
    )
    assert event_count() == n
    assert len(cases()) == 40
    assert {c.team for c in cases()} == {r.team for r in records}

    status, out, _ = run(str(path), capsys)
    assert (status, out) == (0, f"imported {n} lines: 0 accepted, {n} duplicates, 0 refused\n")
    assert event_count() == n


def test_bad_lines_are_counted_reported_and_do_not_stop_the_rest(
    cin_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_lines(
        cin_env,
        [
            REFERRAL,
            '{"authority": "redbridge", "child": ',  # malformed JSON
            child(type="tea_break", on="2025-01-07"),  # unknown event type
            child(type="review_held", on="2025-01-07", outcome="continue"),  # illegal in stage
            ["not", "an", "object"],
            {**REFERRAL, "authority": "atlantis"},  # unknown authority
            {"case": "RED-999999", "type": "visit_recorded", "on": "2025-01-07"},  # unknown case
            child("SYN2", type="visit_recorded", on="2025-01-07"),  # no open case for the child
            child(type="referral_received", on="2025-01-07", source="6"),  # already open
            "",  # blank lines are skipped
            DECISION,
        ],
    )
    status, out, err = run(path, capsys)
    assert status == 1
    assert out == "imported 10 lines: 2 accepted, 0 duplicates, 8 refused\n"
    reported = err.splitlines()
    assert [line.split(":")[0] for line in reported] == [
        f"line {n}" for n in (2, 3, 4, 5, 6, 7, 8, 9)
    ]
    assert reported[0].startswith("line 2: malformed JSON")
    assert "tea_break" in reported[1]
    assert "review_held on 2025-01-07 refused at stage referral" in reported[2]
    assert "expected a JSON object" in reported[3]
    assert "unknown authority 'atlantis'" in reported[4]
    assert "RED-999999" in reported[5]
    assert "no open case" in reported[6]
    assert "already has an open case" in reported[7]
    assert "SYN1" not in err and "SYN2" not in err  # the child's reference is never echoed
    (case,) = cases()
    assert (case.stage, case.last_seq, case.team) == ("assessment", 2, "redbridge-east")

    # no keys in the file: each line's own JSON is its key, so a re-run adds nothing
    status, out, _ = run(path, capsys)
    assert (status, out) == (1, "imported 10 lines: 0 accepted, 2 duplicates, 8 refused\n")
    assert event_count() == 2


def test_case_addressed_lines_and_explicit_keys(
    cin_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(write_lines(cin_env, [REFERRAL, DECISION], "open.jsonl"), capsys)
    (case,) = cases()
    visit = {"case": case.case_ref, "type": "visit_recorded", "on": "2025-01-08", "key": "ics-1"}
    same = dict(visit)  # the same key and record: a duplicate
    again = {**visit, "on": "2025-01-09"}  # the same key, another record: refused (issue 8, 11)
    mixed = {**visit, "key": "ics-2", "authority": "redbridge", "child": "SYN1"}
    lines = [visit, same, again, mixed]
    status, out, err = run(write_lines(cin_env, lines, "more.jsonl"), capsys)
    assert (status, out) == (1, "imported 4 lines: 1 accepted, 1 duplicates, 2 refused\n")
    assert (
        "idempotency key 'ics-1' was already used by event 3 (visit_recorded on 2025-01-08)" in err
    )
    assert "line 4: give either `case` or `authority` and `child`" in err
    assert event_count() == 3


def test_a_closed_childs_new_referral_opens_a_re_referral_case(
    cin_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [
        REFERRAL,
        child(type="referral_decision", on="2025-01-07", outcome="nfa"),
        child(type="referral_received", on="2025-03-03", source="2A"),
        child(type="referral_decision", on="2025-03-04", outcome="assessment"),
    ]
    status, out, _ = run(write_lines(cin_env, lines), capsys)
    assert (status, out) == (0, "imported 4 lines: 4 accepted, 0 duplicates, 0 refused\n")
    first, second = sorted(cases(), key=lambda c: c.referral_date)
    assert (first.stage, first.re_referral) == ("closed", False)
    assert (second.stage, second.re_referral, second.last_seq) == ("assessment", True, 2)


def test_only_the_first_twenty_refusals_are_printed(
    cin_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(write_lines(cin_env, ["{oops"] * 25), capsys)
    assert (status, out) == (1, "imported 25 lines: 0 accepted, 0 duplicates, 25 refused\n")
    assert err.splitlines()[-1] == "... and 5 more refused lines"
    assert len(err.splitlines()) == 21


def test_prefect_down_leaves_delivery_to_the_reconciler(
    cin_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import engine.delivery
    import engine.worker

    tried: list[str] = []

    def unreachable(engine: object, case_ref: str, report: object = None) -> bool:
        tried.append(case_ref)
        return False  # as deliver_case answers when Prefect cannot be reached

    monkeypatch.setattr(engine.delivery, "deliver_case", unreachable)
    # the case deployment was registered before Prefect went down
    monkeypatch.setattr(engine.worker, "case_deployment_id", lambda engine: uuid.uuid4())
    lines = [
        REFERRAL,
        DECISION,
        child("SYN2", type="referral_received", on="2025-01-06", source="6"),
    ]
    status = main(["import", write_lines(cin_env, lines), "--no-progress"])
    out, _ = capsys.readouterr()
    assert status == 0
    assert out.splitlines() == [
        "delivered 0 events to 0 case runs; 2 cases wait in the outbox: `cin worker` (or the "
        "reconciler) makes their runs as its threads free",
        "imported 3 lines: 3 accepted, 0 duplicates, 0 refused",
    ]
    assert len(tried) == 1  # stopped at the first case Prefect could not take
    assert event_count() == 3  # accepted and durable all the same


def test_worker_processes_keep_each_childs_lines_in_order(
    cin_env: Path, book: PolicyBook, capsys: pytest.CaptureFixture[str]
) -> None:
    records = generate_caseload(
        authorities=["redbridge", "stockton-on-tees"],
        cases=30,
        start=date(2024, 4, 1),
        days=300,
        seed=9,
        policies=book,
    )
    path = cin_env / "caseload.jsonl"
    path.write_text(to_jsonl(records), encoding="utf-8")
    n = len(records)
    status, out, _ = run(str(path), capsys, "--jobs", "3")
    assert (status, out) == (0, f"imported {n} lines: {n} accepted, 0 duplicates, 0 refused\n")
    assert event_count() == n

    # a case's lines by reference and by child go to the same worker, so they stay in order
    opened = write_lines(cin_env, [REFERRAL, DECISION, "{oops"], "open.jsonl")
    assert run(opened, capsys, "--jobs", "2")[0] == 1
    ref = next(c.case_ref for c in cases() if c.child_ref == "SYN1")
    lines = [
        {"case": ref, "type": "assessment_started", "on": "2025-01-08"},
        child(type="assessment_completed", on="2025-01-20", outcome="cin_plan"),
        {"case": ref, "type": "cin_meeting_held", "on": "2025-01-27"},
    ]
    status, out, _ = run(write_lines(cin_env, lines, "more.jsonl"), capsys, "--jobs", "2")
    assert (status, out) == (0, "imported 3 lines: 3 accepted, 0 duplicates, 0 refused\n")
    assert next(c.stage for c in cases() if c.case_ref == ref) == "cin_plan"


def _children_of(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.update(int(x) for x in text)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGKILL], ids=["TERM", "KILL"])
def test_killing_cin_import_ends_its_worker_processes(
    tmp_path: Path, book: PolicyBook, signal_number: int
) -> None:
    records = generate_caseload(
        authorities=["redbridge"], cases=400, start=date(2024, 4, 1), days=300, seed=3,
        policies=book,
    )  # fmt: skip
    path = tmp_path / "big.jsonl"
    path.write_text(to_jsonl(records), encoding="utf-8")
    env = {**os.environ, "CIN_DATA_DIR": str(tmp_path), "PREFECT_API_URL": "http://127.0.0.1:9/api"}
    env.pop("CIN_DATABASE_URL", None)
    cin = [sys.executable, "-m", "cli.main", "import", str(path), "--jobs", "2", "--no-deliver",
           "--no-progress"]  # fmt: skip
    parent = subprocess.Popen(cin, env=env, cwd=REPO, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        children: set[int] = set()

        def two_workers() -> bool:
            children.update(p for p in _children_of(parent.pid) if _alive(p))
            # the spawn context also starts a resource tracker: the two workers are the others
            return len(children) >= 3 or (parent.poll() is not None)

        wait_until(two_workers, 120, "cin import to start its worker processes")
        assert parent.poll() is None, "the import finished before it could be killed"
        parent.send_signal(signal_number)
        parent.wait(timeout=30)
        wait_until(lambda: not any(_alive(p) for p in children), 20, "the workers to end")
    finally:
        if parent.poll() is None:
            parent.kill()
