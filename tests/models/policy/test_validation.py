"""Broken policy files are refused with one line per problem naming the file and the field."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.policy.book import PolicyError, PolicyFile, load_policy_dir, load_policy_file
from models.policy.timescales import TimescaleKind
from tests.models.policy.factories import (
    REAL_POLICIES,
    authority,
    policy_folder,
    timescale,
    version,
    write_policy,
)


def _one_version(**overrides: Any) -> dict[str, Any]:
    return authority("testshire", version(**overrides))


REVIEW = "versions[0].timescales.review"
BROKEN = {
    "wrong unit": (
        _one_version(timescales={"review": timescale(unit="fortnights")}),
        f"{REVIEW}.unit: expected one of working-days, days, weeks, months; got 'fortnights'",
    ),
    "negative amount": (
        _one_version(timescales={"review": timescale(amount=-1)}),
        f"{REVIEW}.amount: expected 1 or more; got -1",
    ),
    "zero amount (a next-day decision would be late)": (
        _one_version(timescales={"review": timescale(amount=0)}),
        f"{REVIEW}.amount: expected 1 or more; got 0",
    ),
    "amount past a year (every due date past the calendar's end)": (
        _one_version(timescales={"review": timescale(amount=10000)}),
        f"{REVIEW}.amount: expected 1 to 12 months",
    ),
    "unknown key": (
        _one_version(timescales={"review": {**timescale(), "every": 2}}),
        f"{REVIEW}.every: unknown key; expected one of amount, unit, counts_from, source",
    ),
    "counts_from not allowed": (
        _one_version(timescales={"review": timescale(counts_from="referral")}),
        f"{REVIEW}.counts_from: expected previous_review; got 'referral'",
    ),
    "empty source": (
        _one_version(timescales={"review": timescale(source=" ")}),
        f"{REVIEW}.source: expected non-empty text; got ' '",
    ),
    "negative child population": (
        {**_one_version(), "child_population": {2024: -5}},
        "child_population[2024]: expected 0 or more; got -5",
    ),
    "overlapping versions": (
        authority("testshire", version(1, "2018-01-01", "2019-06-30"), version(2, "2019-06-01")),
        "versions[1].effective_from: version 2 starts 2019-06-01, inside version 1 "
        "(2018-01-01 to 2019-06-30); expected ranges that do not overlap",
    ),
    "repeated version number": (
        authority("testshire", version(1, "2018-01-01", "2018-12-31"), version(1, "2019-01-01")),
        "versions[1].version: expected a number above 1 (versions are numbered in date order); "
        "got 1",
    ),
    "clock neither set nor inherited": (
        _one_version(national_default_applies=["icpc"]),
        "versions[0].timescales: expected every clock set here or listed in "
        "national_default_applies, engine_default_applies or no_clock; missing referral_decision,",
    ),
    "clock both set and inherited": (
        _one_version(national_default_applies=[k.value for k in TimescaleKind]),
        "versions[0].national_default_applies: review also set in timescales",
    ),
    "escalation not increasing": (
        _one_version(
            escalation=[
                {"role": "team_manager", "after_working_days_overdue": 3},
                {"role": "service_manager", "after_working_days_overdue": 3},
            ]
        ),
        "versions[0].escalation[1].after_working_days_overdue: expected more than 3",
    ),
    "unknown role": (
        _one_version(channels={"director": ["email"]}),
        "versions[0].channels.director: expected one of worker, team_manager, service_manager, "
        "head_of_service; got 'director'",
    ),
    "unknown channel": (
        _one_version(channels={"team_manager": ["pager"], "service_manager": ["email"]}),
        "versions[0].channels.team_manager[0]: expected one of email, teams; got 'pager'",
    ),
    "role on ladder without channel": (
        _one_version(channels={"team_manager": ["email"]}),
        "versions[0].channels.service_manager: expected at least one channel",
    ),
    "effective_to before effective_from": (
        _one_version(effective_to="2017-01-01"),
        "versions[0].effective_to: expected on or after effective_from 2018-01-01; got 2017-01-01",
    ),
    "impossible closure day": (
        _one_version(closure_days={"annual": [{"from": "02-30", "to": "03-01", "name": "x"}]}),
        "versions[0].closure_days.annual[0].from: expected a real month-day MM-DD; got '02-30'",
    ),
    "null source": (_one_version(source=None), "versions[0].source: expected a valid string"),
    "missing field": (
        authority("testshire", {k: v for k, v in version().items() if k != "source"}),
        "versions[0].source: required but missing",
    ),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_files_are_refused_naming_the_field(tmp_path: Path, case: str) -> None:
    data, expected = BROKEN[case]
    path = write_policy(tmp_path, data)
    with pytest.raises(PolicyError) as refused:
        load_policy_file(path)
    assert any(line.startswith(f"{path}: {expected}") for line in refused.value.problems), (
        refused.value.problems
    )
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("authority: testshire\nname: [unclosed\nnation: england\n", "line 3: invalid YAML:"),
        ("authority: testshire\nauthority: other\n", "line 2: invalid YAML: duplicate key"),
        ("- just\n- a list\n", "expected a mapping of policy fields; got a list"),
    ],
)
def test_unreadable_yaml_is_one_line_with_file_and_line(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "testshire.yaml"
    path.write_text(text)
    with pytest.raises(PolicyError) as refused:
        load_policy_file(path)
    assert str(refused.value).startswith(f"{path}: {expected}")


def test_the_file_name_must_be_the_slug(tmp_path: Path) -> None:
    path = write_policy(tmp_path, authority("testshire"), stem="other")
    with pytest.raises(PolicyError, match=r"other.yaml: authority: expected 'other' \(the file"):
        load_policy_file(path)


def test_national_rules_are_checked_across_files(tmp_path: Path) -> None:
    national = load_policy_file(REAL_POLICIES / "national.yaml")
    inheriting = national.versions[0].model_dump(by_alias=True, mode="json")
    inheriting["national_default_applies"] = ["icpc"]
    del inheriting["timescales"]["icpc"]
    (tmp_path / "a").mkdir()
    write_policy(tmp_path / "a", authority("national", inheriting))
    with pytest.raises(
        PolicyError, match="national_default_applies: expected none in the national"
    ):
        load_policy_file(tmp_path / "a" / "national.yaml")

    welsh = authority("cymru", nation="wales")
    early = authority("early", version(effective_from="1999-06-01"))
    with pytest.raises(PolicyError) as refused:
        load_policy_dir(policy_folder(tmp_path, welsh, early))
    problems = "\n".join(refused.value.problems)
    assert "cymru.yaml: nation: national.yaml holds england's defaults" in problems
    assert (
        "early.yaml: versions[0].national_default_applies: national.yaml has no version in "
        "force on 1999-06-01" in problems
    )


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 60), st.integers(0, 30)), min_size=1, max_size=4))
def test_version_ranges_are_accepted_exactly_when_they_do_not_overlap(
    spans: list[tuple[int, int]],
) -> None:
    first = date(2020, 1, 1).toordinal()
    days = sorted((first + start, first + start + length) for start, length in spans)
    versions = [
        version(i + 1, date.fromordinal(lo).isoformat(), date.fromordinal(hi).isoformat())
        for i, (lo, hi) in enumerate(days)
    ]
    overlap = any(days[i][1] >= days[i + 1][0] for i in range(len(days) - 1))
    try:
        PolicyFile.model_validate(authority("testshire", *versions))
    except ValueError:
        assert overlap
    else:
        assert not overlap
