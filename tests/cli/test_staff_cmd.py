"""`cin staff import | list` and `cin case allocate`: rosters replaced whole, allocation refused
clearly. Each test runs on its own database, SQLite and PostgreSQL (`db_url`), reached through
the settings the command reads (CIN_DATABASE_URL); no Prefect server is needed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, select

from cli.main import main
from models.runtime import case_engine
from models.tables import Case, Staff

REPO = Path(__file__).resolve().parents[2]
HEADER = "staff_id,name,email,role,team,manager_id"
ROSTER = [
    "H1,Hana Head,hana.head@council.gov.uk,head_of_service,,",
    "S1,Sam Service,sam.service@council.gov.uk,service_manager,,H1",
    "T1,Tia Team,tia.team@council.gov.uk,team_manager,cin-east,S1",
    "T2,Tom Team,tom.team@council.gov.uk,team_manager,cin-west,S1",
    "W1,Wes Worker,wes.worker@council.gov.uk,worker,cin-east,T1",
    "W2,Wyn Worker,wyn.worker@council.gov.uk,worker,cin-west,T2",
]
# names and addresses (a problem's own example address is name@council.gov.uk)
PERSONAL = ("Hana", "Sam", "Tia", "Tom", "Wes", "Wyn", "Wil", "head@", "worker@", "(at)")


@pytest.fixture
def cin_env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CIN_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CIN_DATABASE_URL", db_url)
    # `cin case refer` tries to deliver to Prefect; nothing listens here, the outbox keeps it
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect"))
    monkeypatch.setenv("PREFECT_SERVER_ALLOW_EPHEMERAL_MODE", "false")
    monkeypatch.setenv("PREFECT_CLIENT_MAX_RETRIES", "0")
    return tmp_path


@pytest.fixture
def cin(cin_env: Path, capsys: pytest.CaptureFixture[str]) -> Any:
    def run(*argv: str) -> tuple[int, str, str]:
        status = main(list(argv))
        out, err = capsys.readouterr()
        return status, out, err

    return run


def roster_file(folder: Path, lines: list[str], name: str = "staff.csv") -> str:
    path = folder / name
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return str(path)


def staff_rows(authority: str = "redbridge") -> dict[str, tuple[Any, ...]]:
    with Session(case_engine()) as session:
        rows = session.exec(select(Staff).where(Staff.authority == authority))
        return {
            s.staff_id: (s.name, s.email, s.role, s.team, s.manager_id, s.active, s.updated_at)
            for s in rows
        }


def case_row(case_ref: str) -> tuple[str | None, str | None]:
    with Session(case_engine()) as session:
        case = session.exec(select(Case).where(col(Case.case_ref) == case_ref)).one()
        return case.worker_id, case.team


def refer(cin: Any, team: str | None = None, authority: str = "redbridge") -> str:
    extra = ["--team", team] if team else []
    status, out, err = cin(
        "case", "refer", "--authority", authority, "--child", "C1", "--date", "2025-01-06", *extra
    )
    assert status == 0, err
    return str(out.splitlines()[-1])


def test_import_list_and_a_second_import_deactivates_the_missing(cin_env: Path, cin: Any) -> None:
    status, out, err = cin("staff", "import", roster_file(cin_env, ROSTER), "--authority",
                           "redbridge")  # fmt: skip
    assert (status, err) == (0, "")
    assert out.splitlines() == [
        "imported 6 staff for redbridge: 6 added, 0 updated, 0 unchanged, 0 deactivated",
        "roster: worker 2, team_manager 2, service_manager 1, head_of_service 1",
    ]
    assert not any(word in out for word in PERSONAL)  # counts only

    status, out, _ = cin("staff", "list", "--authority", "redbridge", "--json")
    assert status == 0
    listed = json.loads(out)
    assert listed[-1] == {
        "staff_id": "W2",
        "role": "worker",
        "team": "cin-west",
        "manager_id": "T2",
        "active": True,
    }
    assert [s["staff_id"] for s in listed] == ["H1", "S1", "T1", "T2", "W1", "W2"]
    assert not any(word in out for word in PERSONAL)
    status, out, _ = cin("staff", "list", "--authority", "redbridge")
    assert out.splitlines()[-1] == "6 staff in redbridge (6 active)"
    assert not any(word in out for word in PERSONAL)
    _, out, _ = cin("staff", "list", "--authority", "redbridge", "--json", "--with-contact")
    assert json.loads(out)[0]["email"] == "hana.head@council.gov.uk"

    # the same file again changes nothing
    _, out, _ = cin("staff", "import", roster_file(cin_env, ROSTER), "--authority", "redbridge")
    assert out.splitlines()[0].endswith("0 added, 0 updated, 6 unchanged, 0 deactivated")
    before = staff_rows()

    # W2 has left; W1 moved to cin-west under T2
    second = [*ROSTER[:4], "W1,Wes Worker,wes.worker@council.gov.uk,worker,cin-west,T2"]
    status, out, _ = cin("staff", "import", roster_file(cin_env, second), "--authority",
                         "redbridge")  # fmt: skip
    assert status == 0
    assert out.splitlines() == [
        "imported 5 staff for redbridge: 0 added, 1 updated, 4 unchanged, 1 deactivated",
        "roster: worker 1, team_manager 2, service_manager 1, head_of_service 1",
    ]
    after = staff_rows()
    assert after["W2"][5] is False and after["W2"][6] > before["W2"][6]
    assert after["W1"][3:6] == ("cin-west", "T2", True)
    assert after["H1"] == before["H1"]  # unchanged rows keep their updated_at
    _, out, _ = cin("staff", "list", "--authority", "redbridge", "--json")
    assert [(s["staff_id"], s["active"]) for s in json.loads(out)][-1] == ("W2", False)
    _, out, _ = cin("staff", "list", "--authority", "redbridge", "--active")
    assert out.splitlines()[-1] == "5 staff in redbridge (5 active)"

    # back on the roster: active again, counted as an update
    _, out, _ = cin("staff", "import", roster_file(cin_env, ROSTER), "--authority", "redbridge")
    assert out.splitlines()[0].endswith("0 added, 2 updated, 4 unchanged, 0 deactivated")
    assert staff_rows()["W2"][5] is True
    assert staff_rows("warwickshire") == {}  # another authority's roster is its own


def test_a_bad_file_lists_every_problem_and_changes_nothing(cin_env: Path, cin: Any) -> None:
    assert cin("staff", "import", roster_file(cin_env, ROSTER), "--authority", "redbridge")[0] == 0
    before = staff_rows()
    bad = [
        *ROSTER[:4],
        "W1,Wes Worker,wes.worker(at)council,worker,cin-east,T1",
        "W3,Wyn Worker,wyn.worker@council.gov.uk,manger,cin-west,T2",
        "W4,Wil Worker,wil.worker@council.gov.uk,worker,cin-west,S1",
    ]
    path = roster_file(cin_env, bad, "bad.csv")
    status, out, err = cin("staff", "import", path, "--authority", "redbridge")
    assert status == 1
    assert out == ""
    assert err.splitlines() == [
        f"{path}: line 6: email does not look like an address (expected name@council.gov.uk)",
        f"{path}: line 7: role 'manger' is not one of worker, team_manager, service_manager, "
        "head_of_service",
        f"{path}: line 8: manager_id 'S1' is a service_manager (a worker's manager must be a "
        "team_manager)",
        f"cin: error: {path}: 3 problems; nothing imported",
    ]
    assert not any(word in err for word in PERSONAL)
    assert staff_rows() == before  # W2, missing from the bad file, is still active


def test_an_unknown_authority_is_one_line_and_writes_nothing(cin_env: Path, cin: Any) -> None:
    status, out, err = cin("staff", "import", roster_file(cin_env, ROSTER), "--authority",
                           "atlantis")  # fmt: skip
    assert (status, out) == (1, "")
    assert err.strip() == (
        "cin: error: unknown authority 'atlantis': no policy file loaded for it (see `cin init`)"
    )
    status, _, err = cin("staff", "list", "--authority", "atlantis")
    assert (status, err) == (1, "cin: error: unknown authority 'atlantis'\n")
    assert staff_rows("atlantis") == {}
    status, _, err = cin("staff", "import", str(cin_env / "nope.csv"), "--authority", "redbridge")
    assert status == 1 and len(err.splitlines()) == 1 and "nope.csv" in err


def test_allocate_sets_the_worker_and_the_team(cin_env: Path, cin: Any) -> None:
    cin("staff", "import", roster_file(cin_env, ROSTER), "--authority", "redbridge")
    case_ref = refer(cin, team="cin-west")
    assert case_row(case_ref) == (None, "cin-west")

    status, out, err = cin("case", "allocate", case_ref, "--worker", "W1")
    assert (status, err) == (0, "")
    assert out == f"{case_ref} allocated to W1 (team cin-east)\n"
    assert case_row(case_ref) == ("W1", "cin-east")
    _, shown, _ = cin("case", "show", case_ref, "--json")
    assert json.loads(shown)["team"] == "cin-east"

    status, out, _ = cin("case", "allocate", case_ref, "--worker", "W1")
    assert (status, out) == (
        0,
        f"{case_ref} is already allocated to W1 (team cin-east); nothing changed\n",
    )

    # a team manager can hold a case; the case follows them to their team
    status, out, _ = cin("case", "allocate", case_ref, "--worker", "T2")
    assert status == 0
    assert out.splitlines() == [
        f"{case_ref} allocated to T2 (team cin-west)",
        "  previously W1 (team cin-east)",
    ]
    assert case_row(case_ref) == ("T2", "cin-west")

    # the holder leaves: the next import says the case needs allocating again
    without_t2 = [line for line in ROSTER if not line.startswith(("T2", "W2"))]
    _, out, _ = cin("staff", "import", roster_file(cin_env, without_t2), "--authority",
                    "redbridge")  # fmt: skip
    assert out.splitlines()[-1] == (
        "1 open case(s) are allocated to inactive staff: allocate them again with "
        "`cin case allocate`"
    )


@pytest.mark.parametrize(
    ("case", "worker", "message"),
    [
        ("", "W9", "no staff member 'W9' in redbridge"),
        ("", "W2", "staff member 'W2' of redbridge is inactive (not on the last roster import)"),
        ("", "S1", "staff member 'S1' is a service_manager: only a worker or team_manager can "
         "hold cases"),
        ("", "WW1", "no staff member 'WW1' in redbridge"),  # Warwickshire's, not Redbridge's
        ("RED-999999", "W1", "no case 'RED-999999'"),
    ],
)  # fmt: skip
def test_allocate_refusals_are_one_line_and_change_nothing(
    cin_env: Path, cin: Any, case: str, worker: str, message: str
) -> None:
    cin("staff", "import", roster_file(cin_env, ROSTER), "--authority", "redbridge")
    less = roster_file(cin_env, ROSTER[:5], "less.csv")  # W2 left: inactive
    cin("staff", "import", less, "--authority", "redbridge")
    warwick = ["WW1,Wen Worker,wen@warwickshire.gov.uk,worker,north,"]
    assert cin("staff", "import", roster_file(cin_env, warwick, "w.csv"), "--authority",
               "warwickshire")[0] == 0  # fmt: skip
    case_ref = refer(cin, team="cin-west")
    cin("case", "allocate", case_ref, "--worker", "W1")

    status, out, err = cin("case", "allocate", case or case_ref, "--worker", worker)
    assert (status, out) == (1, "")
    assert err == f"cin: error: {message}\n"
    assert case_row(case_ref) == ("W1", "cin-east")


def test_a_team_comes_from_the_roster_once_there_is_one(cin_env: Path, cin: Any) -> None:
    cin("staff", "import", roster_file(cin_env, ROSTER), "--authority", "redbridge")
    status, out, err = cin("case", "refer", "--authority", "redbridge", "--child", "C1",
                           "--date", "2025-01-06", "--team", "duty")  # fmt: skip
    assert (status, out) == (1, "")
    assert err == (
        "cin: error: team: expected one on redbridge's roster (cin-east, cin-west); got 'duty'\n"
    )
    with Session(case_engine()) as session:
        assert session.exec(select(Case)).first() is None


def test_a_closed_case_is_not_allocated(cin_env: Path, cin: Any) -> None:
    cin("staff", "import", roster_file(cin_env, ROSTER), "--authority", "redbridge")
    case_ref = refer(cin)
    status, _, err = cin("case", "record", case_ref, "referral_decision", "--date", "2025-01-07",
                         "--outcome", "nfa")  # fmt: skip
    assert status == 0, err
    status, _, err = cin("case", "allocate", case_ref, "--worker", "W1")
    assert (status, err) == (1, f"cin: error: case {case_ref} is closed\n")
    assert case_row(case_ref) == (None, None)


def test_the_real_command_refuses_a_bad_file_with_exit_status_1(tmp_path: Path) -> None:
    env = {**os.environ, "CIN_DATA_DIR": str(tmp_path), "PREFECT_HOME": str(tmp_path / "p")}
    env.pop("CIN_DATABASE_URL", None)
    path = roster_file(tmp_path, [*ROSTER, "W1,Dup,dup@council.gov.uk,worker,cin-east,T1"])
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", "staff", "import", path, "--authority", "redbridge"],
        capture_output=True, text=True, cwd=REPO, env=env, check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.splitlines()[0] == f"{path}: line 8: staff_id 'W1' is already on line 6"
