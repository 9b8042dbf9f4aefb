"""`cin policy validate | show | diff`, through `cli.main.main` and once as a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cli.main import main
from tests.models.policy.factories import (
    REAL_POLICIES,
    authority,
    policy_folder,
    timescale,
    version,
    write_policy,
)

REPO = REAL_POLICIES.parent
SLUGS = (
    "engine-defaults",
    "national",
    "redbridge",
    "redcar-and-cleveland",
    "stockton-on-tees",
    "warwickshire",
)


def test_validate_passes_every_real_policy_file(capsys: pytest.CaptureFixture[str]) -> None:
    paths = sorted(str(p) for p in REAL_POLICIES.glob("*.yaml"))
    assert main(["policy", "validate", *paths]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == [f"ok {REAL_POLICIES / s}.yaml ({s}, 1 version)" for s in SLUGS]
    assert err == ""


def test_validate_reports_each_problem_and_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = policy_folder(tmp_path)
    good = write_policy(folder, authority("goodshire"))
    bad = write_policy(
        folder,
        authority("badshire", version(timescales={"review": timescale(unit="fortnights")})),
    )
    (folder / "worse.yaml").write_text("authority: worse\n  name: x\n")
    assert main(["policy", "validate", str(good), str(bad), str(folder / "worse.yaml")]) == 1
    out, err = capsys.readouterr()
    assert out == f"ok {good} (goodshire, 1 version)\n"
    assert err.splitlines() == [
        f"{bad}: versions[0].timescales.review.unit: expected one of working-days, days, weeks, "
        "months; got 'fortnights'",
        f"{folder / 'worse.yaml'}: line 2: invalid YAML: mapping values are not allowed here",
    ]


def test_validate_accepts_a_folder(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "validate", str(REAL_POLICIES)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == len(SLUGS)


def test_show_lists_every_timescale_with_its_source(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "show", "redbridge", "--on", "2024-01-01"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("redbridge v1: London Borough of Redbridge (england)\n")
    assert "in force on 2024-01-01: 2018-08-01 to open-ended" in out
    review = next(line for line in out.splitlines() if line.strip().startswith("review "))
    assert review.split() == (
        "review 6 months previous_review local redbridge v1 003 s5: thereafter at a minimum "
        "frequency of 6 months".split()
    )
    # issue 8 point 9: every clock is statutory, local or engine default
    lines = out.splitlines()
    table = lines[
        lines.index("timescales:") + 2 : lines.index("no clock: visit, cin_support_initiated")
    ]
    assert table and all(
        any(f"  {label}  " in line for label in ("statutory", "local", "engine default"))
        for line in table
    )
    panel = next(line for line in table if line.strip().startswith("step_down_panel "))
    assert "engine default  engine-defaults v1" in panel
    assert "  escalation: engine default: no seed sets an escalation ladder" in out


def test_show_json_marks_what_is_inherited(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "show", "warwickshire", "--on", "2024-12-20", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["authority"], shown["version"], shown["nation"]) == ("warwickshire", 1, "england")
    assessment = shown["timescales"]["assessment_completed"]
    # issue 8 point 1: 002 sets no assessment timescale; the statutory 45 WD applies
    assert assessment == {
        "amount": 45,
        "unit": "working-days",
        "counts_from": "referral",
        "source": "Working Together 2018 ch.1: assessment completed within 45 working days of "
        "the point of referral",
        "provenance": "statutory",
        "inherited": True,
        "defined_by": "national v1",
    }
    support = shown["timescales"]["cin_support_initiated"]
    assert (support["amount"], support["counts_from"], support["provenance"]) == (
        20,
        "initial_home_visit",
        "local",
    )
    assert shown["no_clock"] == ["visit", "team_manager_review"]
    assert shown["timescales"]["icpc"]["inherited"] is True
    assert shown["escalation"][0] == {"role": "team_manager", "after_working_days_overdue": 0}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["policy", "show", "nowhere"],
            "cin: error: unknown authority 'nowhere'; known: redbridge, redcar-and-cleveland, "
            "stockton-on-tees, warwickshire, national",
        ),
        (
            ["policy", "show", "redbridge", "--on", "2010-01-01"],
            "cin: error: redbridge: no policy version in force on 2010-01-01 "
            "(v1 2013-04-15 (assumed; document 2018-08-01) to open-ended)",
        ),
        (["policy", "diff", "redbridge", "1", "v3"], "cin: error: redbridge has no version 3"),
    ],
)
def test_errors_are_one_line_and_exit_1(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith(message)
    assert err.count("\n") == 1


def test_usage_errors_exit_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["policy", "diff", "redbridge", "one", "2"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "expected a version like 2 or v2; got 'one'" in err and err.count("\n") == 1


def test_diff_between_versions_from_the_policy_dir_env(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    v1 = version(1, "2018-01-01", "2019-12-31")
    v2 = version(2, "2020-01-01", timescales={"review": timescale(3, source="test s2")})
    monkeypatch.setenv(
        "CIN_POLICY_DIR", str(policy_folder(tmp_path, authority("testshire", v1, v2)))
    )
    assert main(["policy", "diff", "testshire", "v1", "2"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "effective_from: 2018-01-01 -> 2020-01-01",
        "effective_to: 2019-12-31 -> open-ended",
        "timescales.review: 6 months (test s1) -> 3 months (test s2)",
    ]
    assert main(["policy", "diff", "testshire", "2", "2"]) == 0
    assert capsys.readouterr().out == "no differences\n"


def test_a_broken_policy_folder_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = policy_folder(tmp_path)
    (folder / "a.yaml").write_text("authority: b\n")
    (folder / "c.yaml").write_text("[")
    assert main(["policy", "show", "national", "--policy-dir", str(folder)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"cin: error: {folder / 'a.yaml'}: ")
    assert err.endswith("more problems)\n") and err.count("\n") == 1


def test_cin_runs_as_a_process() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("CIN_POLICY_DIR", None)
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", "policy", "validate", "policies"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("\nok ") + done.stdout.startswith("ok ") == len(SLUGS)


def test_show_defaults_to_today_from_the_clock(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CIN_TODAY", "2025-03-03")
    assert main(["policy", "show", "stockton-on-tees"]) == 0
    assert "in force on 2025-03-03: 2018-09-01 to open-ended" in capsys.readouterr().out


def test_the_readme_diff_example_works(capsys: pytest.CaptureFixture[str]) -> None:
    """docs/policies.md: `cin policy diff redbridge 1 2 --policy-dir policies/examples/...` on a
    clone."""
    folder = (
        Path(__file__).resolve().parents[2] / "policies/examples/redbridge-reviews-every-3-months"
    )
    assert main(["policy", "diff", "redbridge", "1", "2", "--policy-dir", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "timescales.review: 6 months" in out and "-> 3 months" in out
