"""`cin case ...` and `cin deadlines` as a recording system uses them, Prefect down: the first
test as real processes, the others through the same entry point in process.

With no Prefect server reachable every event is still accepted (the outbox keeps it for the
reconciler), which is the durability promise the case database makes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from demo.local_server import free_port
from tests.cli.cli_harness import cin as in_process

REPO = Path(__file__).resolve().parents[2]


def environment(tmp_path: Path) -> dict[str, str]:
    return {
        "CIN_DATA_DIR": str(tmp_path),
        "PREFECT_API_URL": f"http://127.0.0.1:{free_port()}/api",  # nothing listens there
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_CLIENT_MAX_RETRIES": "0",
    }


@pytest.fixture
def cin_process(tmp_path):
    """Each command a real process, as a recording system runs it."""
    env = {**os.environ, **environment(tmp_path)}
    env.pop("CIN_DATABASE_URL", None)

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cli.main", *argv],
            capture_output=True, text=True, cwd=REPO, env=env, check=False, timeout=120,
        )  # fmt: skip

    return run


@pytest.fixture
def cin(tmp_path, monkeypatch, capsys):
    """Each command through `cli.main.main` in this process, with the same environment: the
    first test runs every command it uses as a real process (`cin_process`); the others, in
    process, cost a tenth of the CPU (a `cin` process is ~1.4 s of CPU, most of it imports)."""
    for key, value in environment(tmp_path).items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("CIN_DATABASE_URL", raising=False)
    monkeypatch.chdir(REPO)

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        done = in_process(capsys, *argv)
        return subprocess.CompletedProcess(["cin", *argv], done.status, done.out, done.err)

    return run


def test_refer_record_show_and_deadlines(cin_process):
    cin = cin_process
    refer = cin("case", "refer", "--authority", "redbridge", "--child", "C77",
                "--date", "2025-01-06", "--source", "2A", "--need", "N1",
                "--team", "east")  # fmt: skip
    assert refer.returncode == 0, refer.stderr
    case_ref = refer.stdout.splitlines()[-1]
    assert case_ref == "RED-000001"
    assert "C77" not in refer.stdout + refer.stderr  # the child's reference is never echoed

    decision = cin("case", "record", case_ref, "referral_decision", "--date", "2025-01-07",
                   "--outcome", "assessment", "--key", "ics-1")  # fmt: skip
    assert decision.returncode == 0, decision.stderr
    again = cin("case", "record", case_ref, "referral_decision", "--date", "2025-01-07",
                "--outcome", "assessment", "--key", "ics-1")  # fmt: skip
    assert again.returncode == 0
    assert "already recorded as event 2" in again.stdout

    show = cin("case", "show", case_ref, "--json")
    assert show.returncode == 0, show.stderr
    view = json.loads(show.stdout)
    assert view["stage"] == "assessment"
    assert view["events"] == 2
    by_kind = {d["kind"]: d for d in view["deadlines"]}
    assert by_kind["referral_decision"]["status"] == "met"
    assessment = by_kind["assessment_completed"]
    assert assessment["status"] == "open"
    # 45 working days from Mon 6 Jan 2025 (no bank holidays in between): Mon 10 Mar
    assert assessment["due"] == "2025-03-10"
    assert assessment["explanation"].startswith(
        "45 working days from referral on 2025-01-06 under redbridge v1"
    )
    for deadline in view["deadlines"]:
        assert set(deadline) >= {"kind", "due", "status", "explanation"}

    overdue = cin("deadlines", "--overdue", "--as-of", "2025-03-11", "--json")
    assert overdue.returncode == 0, overdue.stderr
    assert [(d["case"], d["kind"]) for d in json.loads(overdue.stdout)] == [
        (case_ref, "assessment_completed")
    ]
    on_time = cin("deadlines", "--overdue", "--as-of", "2025-03-10", "--json")
    assert json.loads(on_time.stdout) == []

    rebuild = cin("case", "rebuild", case_ref)
    assert rebuild.returncode == 0, rebuild.stdout + rebuild.stderr
    assert "live state agreed" in rebuild.stdout


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["review_held", "--date", "2025-02-01", "--outcome", "continue"],
            "refused at stage referral",
        ),
        (
            ["referral_decision", "--date", "2024-12-01", "--outcome", "assessment"],
            "on or after the case opened on 2025-01-06",
        ),
        (["referral_decision", "--date", "2025-01-07", "--outcome", "maybe"], "outcome"),
        (["case_closed", "--date", "2025-01-07", "--reason", "RC12"], "reason"),
        (["referral_decision", "--date", "2025-13-07", "--outcome", "nfa"], "expected an ISO date"),
    ],
)
def test_a_refused_event_exits_non_zero_with_the_reason_and_writes_nothing(cin, argv, message):
    case_ref = cin("case", "refer", "--authority", "warwickshire", "--child", "C1",
                   "--date", "2025-01-06").stdout.splitlines()[-1]  # fmt: skip
    refused = cin("case", "record", case_ref, *argv)
    assert refused.returncode != 0
    assert message in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert json.loads(cin("case", "show", case_ref, "--json").stdout)["events"] == 1


def test_unknown_case_and_authority_are_one_line_errors(cin):
    missing = cin("case", "show", "RED-999999")
    assert missing.returncode == 1
    assert missing.stderr.strip() == "cin: error: no case 'RED-999999'"
    unknown = cin(
        "case", "refer", "--authority", "atlantis", "--child", "C", "--date", "2025-01-06"
    )
    assert unknown.returncode == 1
    assert "atlantis" in unknown.stderr and len(unknown.stderr.strip().splitlines()) == 1


def test_case_show_says_when_the_plan_sets_no_visits_and_refuses_a_second_case(cin):
    """Issue 8 point 6 (003 L202: "no specific minimum requirements for visiting") and point 11."""
    case_ref = cin("case", "refer", "--authority", "redbridge", "--child", "C8",
                   "--date", "2025-01-06").stdout.splitlines()[-1]  # fmt: skip
    for argv in (
        ("referral_decision", "--date", "2025-01-07", "--outcome", "assessment"),
        ("assessment_completed", "--date", "2025-02-10", "--outcome", "cin_plan"),
        ("cin_meeting_held", "--date", "2025-02-24"),
    ):
        done = cin("case", "record", case_ref, *argv)
        assert done.returncode == 0, done.stderr
    show = cin("case", "show", case_ref)
    assert "  visits: no visit clock: the plan sets no visiting frequency" in show.stdout
    assert json.loads(cin("case", "show", case_ref, "--json").stdout)["visits"] == (
        "no visit clock: the plan sets no visiting frequency"
    )
    second = cin("case", "refer", "--authority", "redbridge", "--child", "C8",
                 "--date", "2025-03-03")  # fmt: skip
    assert second.returncode == 1
    assert f"already has an open case, {case_ref}" in second.stderr
    assert "C8" not in second.stderr
    future = cin("case", "record", case_ref, "visit_recorded", "--date", "2099-01-01")
    assert future.returncode == 1 and "expected a date on or before today" in future.stderr


def test_overdue_deadlines_say_team_and_working_days_late_latest_first(cin):
    refs = []
    for team, referred in (("east", "2025-01-06"), ("west", "2025-01-13"), ("east", "2025-02-03")):
        made = cin("case", "refer", "--authority", "redbridge", "--child", f"C{len(refs)}",
                   "--date", referred, "--team", team)  # fmt: skip
        assert made.returncode == 0, made.stderr
        refs.append(made.stdout.splitlines()[-1])
    # each referral decision is due 1 working day after its referral (Working Together)
    everyone = cin("deadlines", "--overdue", "--as-of", "2025-02-05", "--json")
    assert everyone.returncode == 0, everyone.stderr
    rows = json.loads(everyone.stdout)
    # due Tue 7 Jan: 21 working days late on Wed 5 Feb; due Tue 14 Jan: 16; due Tue 4 Feb: 1
    assert [(r["case"], r["team"], r["kind"], r["working_days_overdue"]) for r in rows] == [
        (refs[0], "east", "referral_decision", 21),
        (refs[1], "west", "referral_decision", 16),
        (refs[2], "east", "referral_decision", 1),
    ]
    # Prefect is down: the case's run has not seen the referral, and `case show` says so
    shown = cin("case", "show", refs[0])
    assert "event 1 not yet delivered to the case's run" in shown.stdout, shown.stdout
    assert "the Prefect UI shows the case as of event 0" in shown.stdout
    east = cin("deadlines", "--overdue", "--as-of", "2025-02-05", "--team", "east", "--json")
    assert [r["case"] for r in json.loads(east.stdout)] == [refs[0], refs[2]]
    text = cin("deadlines", "--overdue", "--as-of", "2025-02-05", "--team", "west")
    assert text.returncode == 0, text.stderr
    assert f"{refs[1]:12} west" in text.stdout and "16" in text.stdout
    assert "1 deadline(s) overdue as of 2025-02-05" in text.stdout


def test_refer_opens_a_transfer_in(cin):
    """Issue 19 point 12: `cin case refer --transfer-in` opens a case for a child who moved here;
    Redbridge 003 s7: the CIN meeting within 20 WD of residence. Resident Mon 6 Jan 2025: 7-10
    Jan (4), 13 Jan-31 Jan (19), Mon 3 Feb (20)."""
    refer = cin("case", "refer", "--authority", "redbridge", "--child", "C78",
                "--date", "2025-01-06", "--need", "N1", "--transfer-in")  # fmt: skip
    assert refer.returncode == 0, refer.stderr
    assert "transfer in accepted; stage plan_pending" in refer.stdout
    case_ref = refer.stdout.splitlines()[-1]
    view = json.loads(cin("case", "show", case_ref, "--json").stdout)
    by_kind = {d["kind"]: d for d in view["deadlines"]}
    assert by_kind["transfer_in_meeting"]["due"] == "2025-02-03"


def test_a_plan_sets_its_own_review_interval(cin):
    """Issue 19 point 6, 003 L129 ("Some plans may require review on a more frequent basis"): the
    CIN meeting Mon 24 Feb 2025 sets reviews every 4 weeks: the first is due Mon 24 Mar, not the
    council's 6 weeks (Mon 7 Apr). 7 months is beyond the council's 6: refused, one line."""
    case_ref = cin("case", "refer", "--authority", "redbridge", "--child", "C79",
                   "--date", "2025-01-06").stdout.splitlines()[-1]  # fmt: skip
    for argv in (
        ("referral_decision", "--date", "2025-01-07", "--outcome", "assessment"),
        ("assessment_completed", "--date", "2025-02-10", "--outcome", "cin_plan"),
    ):
        assert cin("case", "record", case_ref, *argv).returncode == 0
    meeting = ("cin_meeting_held", "--date", "2025-02-24", "--visit-every", "2 weeks")
    for bad, message in (
        ("7 months", "review_every: expected at most the council's review interval"),
        ("often", "--review-every: expected 'N UNIT' like '3 months'; got 'often'"),
    ):
        refused = cin("case", "record", case_ref, *meeting, "--review-every", bad)
        assert refused.returncode != 0
        assert message in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    done = cin("case", "record", case_ref, *meeting, "--review-every", "4 weeks")
    assert done.returncode == 0, done.stderr
    view = json.loads(cin("case", "show", case_ref, "--json").stdout)
    by_kind = {d["kind"]: d for d in view["deadlines"]}
    assert by_kind["first_review"]["due"] == "2025-03-24"
    assert view["events"] == 4
