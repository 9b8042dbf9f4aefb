"""The retention rule (issue 24): each council's file states it with its provenance; counting a
record's due day; the verdict a hold or an open case overrides."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from models.policy.book import PolicyError, load_policy_dir
from models.policy.retention import Retention, RetentionRule, retention_of
from models.retention.plan import judge
from tests.models.policy.factories import REAL_POLICIES, authority, policy_folder

SIX_AFTER_CLOSURE = Retention(
    RetentionRule(basis="last_closure", years=6, source="schedule s2"), "local"
)


def test_every_council_states_its_rule_and_all_take_the_engine_default() -> None:
    book = load_policy_dir(REAL_POLICIES)
    for slug in book.slugs():
        stated = book.authority(slug).policy.retention
        assert stated == "engine_default", slug  # no seed sets a retention period
        rule = retention_of(stated, book.authority(slug).engine.retention)
        assert rule.provenance == "engine default"
        assert (rule.rule.basis, rule.rule.years) == ("date_of_birth", 75)
        assert "no seed sets a retention period" in rule.describe()


def test_a_council_s_own_rule_is_local_with_its_source(tmp_path: Path) -> None:
    own = {"basis": "last_closure", "years": 6, "source": "schedule s2"}
    book = load_policy_dir(policy_folder(tmp_path, {**authority(), "retention": own}))
    policy = book.authority("testshire")
    rule = retention_of(policy.policy.retention, policy.engine.retention)
    assert rule == SIX_AFTER_CLOSURE
    assert rule.describe() == "6 years from the last case's closure (local: schedule s2)"


@pytest.mark.parametrize(
    ("retention", "expected"),
    [
        ({"basis": "birthday", "years": 6, "source": "s"}, "retention.RetentionRule.basis"),
        ({"basis": "last_closure", "years": 0, "source": "s"}, "years"),
        ({"basis": "last_closure", "years": 121, "source": "s"}, "years"),
        ({"basis": "last_closure", "years": 6}, "source"),
    ],
)
def test_a_broken_rule_is_refused_naming_the_field(
    tmp_path: Path, retention: dict[str, object], expected: str
) -> None:
    with pytest.raises(PolicyError) as refused:
        load_policy_dir(policy_folder(tmp_path, {**authority(), "retention": retention}))
    assert "retention" in str(refused.value) and expected.split(".")[-1] in str(refused.value)


def test_due_day_counts_whole_years_and_clamps_29_february() -> None:
    by_birth = Retention(RetentionRule(basis="date_of_birth", years=25, source="s"), "local")
    assert by_birth.due_on(birth_date=date(2008, 2, 29), last_closure=None) == date(2033, 2, 28)
    assert by_birth.due_on(birth_date=None, last_closure=date(2020, 1, 1)) is None
    closed = SIX_AFTER_CLOSURE.due_on(birth_date=date(2008, 2, 29), last_closure=date(2019, 3, 11))
    assert closed == date(2025, 3, 11)


@pytest.mark.parametrize(
    ("as_of", "held", "open_cases", "verdict"),
    [
        (date(2025, 3, 10), False, 0, "not-yet"),  # the day before
        (date(2025, 3, 11), False, 0, "due"),  # the day itself
        (date(2030, 1, 1), True, 0, "held"),  # a hold keeps it whatever the dates
        (date(2030, 1, 1), False, 1, "open"),  # so does an open case
    ],
)
def test_verdicts_either_side_of_the_period(
    as_of: date, held: bool, open_cases: int, verdict: str
) -> None:
    got, due_on, why = judge(
        SIX_AFTER_CLOSURE,
        as_of=as_of,
        is_held=held,
        open_cases=open_cases,
        birth_date=None,
        last_closure=date(2019, 3, 11),
    )
    assert got == verdict and why
    assert due_on == date(2025, 3, 11)


def test_no_start_date_keeps_the_record() -> None:
    by_birth = Retention(RetentionRule(basis="date_of_birth", years=1, source="s"), "local")
    verdict, due_on, why = judge(
        by_birth, as_of=date(2090, 1, 1), is_held=False, open_cases=0, birth_date=None,
        last_closure=date(2019, 3, 11),
    )  # fmt: skip
    assert (verdict, due_on) == ("unknown", None) and "no date of birth recorded" in why
