"""Policy files: the seeds' timescales are encoded with their sources; resolution picks the version
in force and falls back to the national default; counts explain themselves.

Broken files are `test_policy_validation.py`.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calendars import Unit, get_calendar
from models.policy.book import (
    PolicyBook,
    PolicyError,
    diff_versions,
    load_policy_dir,
)
from models.policy.timescales import Anchor, TimescaleKind
from tests.models.policy.factories import (
    REAL_POLICIES,
    authority,
    policy_folder,
    timescale,
    version,
)

K = TimescaleKind
WD, MONTHS, WEEKS = Unit.WORKING_DAYS, Unit.MONTHS, Unit.WEEKS


@pytest.fixture(scope="module")
def book() -> PolicyBook:
    return load_policy_dir(REAL_POLICIES)


# (authority, kind, amount, unit, counts from, the start of its cited source)
SEED_TIMESCALES = [
    ("warwickshire", K.CIN_SUPPORT_INITIATED, 20, WD, Anchor.INITIAL_HOME_VISIT, "002 s4.4.2"),
    ("redbridge", K.CIN_PLAN_MEETING, 15, WD, Anchor.PLAN_DECISION, "003 s3"),
    ("redbridge", K.PLAN_DISTRIBUTED, 10, WD, Anchor.CIN_MEETING, "003 L122"),
    ("redbridge", K.PLAN_IN_PLACE, 3, MONTHS, Anchor.REFERRAL, "003 s5"),
    ("redbridge", K.FIRST_REVIEW, 6, WEEKS, Anchor.PLAN_START, "003 s5"),
    ("redbridge", K.REVIEW, 6, MONTHS, Anchor.PREVIOUS_REVIEW, "003 s5"),
    ("redbridge", K.TEAM_MANAGER_REVIEW, 12, MONTHS, Anchor.PLAN_START, "003 L131"),
    ("redbridge", K.TRANSFER_IN_MEETING, 20, WD, Anchor.RESIDENT, "003 s7"),
    ("stockton-on-tees", K.FIRST_REVIEW, 6, WEEKS, Anchor.PLAN_START, "001 s6.2"),
    ("stockton-on-tees", K.REVIEW, 6, WEEKS, Anchor.PREVIOUS_REVIEW, "001 s6.2"),
    ("national", K.REFERRAL_DECISION, 1, WD, Anchor.REFERRAL, "Working Together"),
    ("national", K.ASSESSMENT_COMPLETED, 45, WD, Anchor.REFERRAL, "Working Together"),
    ("national", K.ICPC, 15, WD, Anchor.STRATEGY_DISCUSSION, "Working Together"),
    ("national", K.FIRST_CP_REVIEW, 3, MONTHS, Anchor.ICPC, "Working Together"),
    ("national", K.CP_REVIEW, 6, MONTHS, Anchor.PREVIOUS_CP_REVIEW, "Working Together"),
]


@pytest.mark.parametrize(("slug", "kind", "amount", "unit", "anchor", "cited"), SEED_TIMESCALES)
def test_every_seed_timescale_is_in_its_policy_file_with_its_source(
    book: PolicyBook, slug: str, kind: K, amount: int, unit: Unit, anchor: Anchor, cited: str
) -> None:
    resolved = book.authority(slug).on(date(2024, 6, 1)).timescales[kind]
    assert (resolved.amount, resolved.unit, resolved.counts_from) == (amount, unit, anchor)
    assert not resolved.inherited
    assert resolved.source.startswith(cited)


@pytest.mark.parametrize(
    ("slug", "effective_from"),
    [
        ("warwickshire", date(2018, 6, 1)),  # 002 "Date Issue: June 2018"
        ("redbridge", date(2018, 8, 1)),  # 003 "updated in August 2018"
        ("stockton-on-tees", date(2018, 9, 1)),  # 001 s6.3 documents live 1 September 2018
        ("redcar-and-cleveland", date(2016, 4, 25)),  # 000 "Last updated: 2016-04-25"
    ],
)
def test_authorities_take_effect_on_their_documents_dates_in_england(
    book: PolicyBook, slug: str, effective_from: date
) -> None:
    policy = book.authority(slug)
    assert policy.nation.value == "england"
    assert policy.versions[0].effective_from == effective_from
    assert policy.versions[0].closure_days.one_off == ()  # no invented closure days


STATUTORY = {
    K.REFERRAL_DECISION,
    K.ASSESSMENT_COMPLETED,
    K.ICPC,
    K.FIRST_CP_REVIEW,
    K.CP_REVIEW,
    K.FIRST_CORE_GROUP,  # Working Together (issue 19 point 4)
}


def test_every_clock_says_where_it_comes_from(book: PolicyBook) -> None:
    """Issue 8 point 9: statutory (national.yaml), local (the council's seed) or engine default."""
    for slug in book.slugs():
        resolved = book.authority(slug).on(date(2024, 6, 1))
        assert set(resolved.timescales) | set(resolved.no_clock) == set(TimescaleKind)
        for kind, ts in resolved.timescales.items():
            assert ts.source.strip()
            if kind in STATUTORY:
                assert (ts.provenance, ts.defined_by) == ("statutory", "national v1")
            elif ts.provenance == "local":
                assert ts.source[:3] in ("000", "001", "002", "003"), ts.source
            else:
                assert (ts.provenance, ts.defined_by) == ("engine default", "engine-defaults v1")
        # no seed sets an escalation ladder, channels, urgent kinds or a drift rule
        assert {str(label).split(":")[0] for label in resolved.labels.values()} == {
            "engine default"
        }
    national = book.authority("national").on(date(2024, 6, 1)).timescales
    assert set(national) == STATUTORY
    assert all(ts.provenance == "statutory" for ts in national.values())


def test_no_council_has_a_visit_default(book: PolicyBook) -> None:
    """003 L202: "There are no specific minimum requirements for visiting"; 001's six-weekly
    evaluation is a review rule. A visit default applies only where a council opts in."""
    for slug in book.slugs():
        policy = book.authority(slug)
        assert K.VISIT in policy.versions[0].no_clock
        assert policy.on(date(2024, 6, 1)).visit_default is None
    engine = book.authority("engine-defaults").on(date(2024, 6, 1))
    assert engine.timescales[K.VISIT].source.startswith("only where a council opts in")


def test_redcar_and_cleveland_takes_statutory_and_engine_defaults(book: PolicyBook) -> None:
    redcar = book.authority("redcar-and-cleveland")
    assert redcar.versions[0].timescales == {}
    assert set(redcar.versions[0].national_default_applies) == STATUTORY
    due = redcar.on(date(2024, 12, 20)).count(K.REFERRAL_DECISION, date(2024, 12, 24))
    assert due.due == date(2024, 12, 27)
    assert due.policy_ref == "redcar-and-cleveland v1"
    assert due.source.startswith("statutory: Working Together 2018")
    assert due.explanation == (
        "1 working day from referral on 2024-12-24 under redcar-and-cleveland v1 "
        "(statutory, national v1), skipping 25 Dec (Christmas Day), 26 Dec (Boxing Day)"
    )


def test_warwickshire_assessment_is_the_national_45_working_days(book: PolicyBook) -> None:
    """002 sets no assessment timescale: its 20 WD (4.4.2) run from the initial home visit."""
    view = book.authority("warwickshire").on(date(2024, 12, 20))
    # Fri 20 Dec is day 0; 25, 26 Dec and 1 Jan skipped: 23,24,27,30,31 Dec (5), 2,3 Jan (7),
    # 6 Jan-14 Feb six weeks (37), 17-21 Feb (42), 24, 25, 26 Feb (45)
    due = view.count(K.ASSESSMENT_COMPLETED, date(2024, 12, 20))
    assert due.due == date(2025, 2, 26)
    assert due.source.startswith("statutory: Working Together 2018")
    assert "(statutory, national v1)" in due.explanation


def test_warwickshire_cin_support_explains_the_skipped_holidays(book: PolicyBook) -> None:
    # Fri 20 Dec is day 0; 25, 26 Dec and 1 Jan are skipped; the 20th working day is Wed 22 Jan
    view = book.authority("warwickshire").on(date(2024, 12, 20))
    due = view.count(K.CIN_SUPPORT_INITIATED, date(2024, 12, 20))
    assert due.due == date(2025, 1, 22)
    assert due.explanation == (
        "20 working days from initial home visit on 2024-12-20 under warwickshire v1, skipping "
        "25 Dec (Christmas Day), 26 Dec (Boxing Day), 1 Jan (New Year's Day)"
    )
    assert due.policy_ref == "warwickshire v1"
    assert due.source.startswith("local: 002 s4.4.2")


def test_months_clamp_to_month_end_and_say_so(book: PolicyBook) -> None:
    due = book.authority("redbridge").on(date(2024, 8, 31)).count(K.REVIEW, date(2024, 8, 31))
    assert due.due == date(2025, 2, 28)
    assert due.explanation == (
        "6 months from previous review on 2024-08-31 under redbridge v1 (clamped to month end)"
    )


def test_no_named_skipped_days_means_no_skipping_clause(book: PolicyBook) -> None:
    due = (
        book.authority("redbridge").on(date(2024, 3, 1)).count(K.CIN_PLAN_MEETING, date(2024, 6, 3))
    )
    assert due.explanation == "15 working days from plan decision on 2024-06-03 under redbridge v1"


@settings(max_examples=150, deadline=None)
@given(
    slug=st.sampled_from(["warwickshire", "redbridge", "stockton-on-tees", "redcar-and-cleveland"]),
    kind=st.sampled_from(list(TimescaleKind)),
    start=st.dates(min_value=date(2019, 1, 1), max_value=date(2035, 12, 31)),
)
def test_counts_agree_with_the_calendar(book: PolicyBook, slug: str, kind: K, start: date) -> None:
    view = book.authority(slug).on(start)
    if kind not in view.timescales:
        return  # no clock: nothing to count
    timescale = view.timescales[kind]
    due = view.count(kind, start)
    assert due.due == get_calendar(view.nation).add(start, timescale.amount, timescale.unit)
    assert f"on {start.isoformat()} under {slug} v1" in due.explanation


def test_custom_counts_and_closures_and_rolled_starts(tmp_path: Path) -> None:
    closures = {"one_off": [], "annual": [{"from": "12-24", "to": "12-31", "name": "Winter"}]}
    folder = policy_folder(
        tmp_path,
        authority("testshire", version(closure_days=closures, roll_non_working_start=True)),
    )
    view = load_policy_dir(folder).authority("testshire").on(date(2024, 12, 21))
    # Sat 21 Dec rolls to Mon 23 Dec; 24-31 Dec closed (25/26 Dec name the bank holiday), 1 Jan too
    due = view.count_custom(2, WD, date(2024, 12, 21), "previous visit")
    assert due.due == date(2025, 1, 3)
    assert due.explanation.startswith(
        "2 working days from previous visit on 2024-12-21 under testshire v1 (set for this case), "
        "counted from 2024-12-23 (the next working day), skipping 24 Dec (closure: Winter), "
        "25 Dec (Christmas Day), 26 Dec (Boxing Day), 27 Dec (closure: Winter), "
        "30 Dec (closure: Winter), "
    )
    # the weekend of 28-29 Dec is named as a weekend, so it is not listed
    assert due.explanation.endswith("31 Dec (closure: Winter), 1 Jan (New Year's Day)")
    assert due.source == "set for this case: previous visit"
    assert [s.role.value for s in view.escalation_reached(5)] == ["team_manager", "service_manager"]
    assert view.escalation_reached(4)[-1].role.value == "team_manager"


def test_the_version_in_force_is_chosen_by_date(tmp_path: Path) -> None:
    v1 = version(1, "2018-01-01", "2019-12-31")
    v2 = version(2, "2020-01-01", timescales={"review": timescale(3, source="test s2")})
    policy = load_policy_dir(policy_folder(tmp_path, authority("testshire", v1, v2)))
    timeline = policy.authority("testshire")
    assert timeline.on(date(2019, 12, 31)).version == 1
    assert timeline.on(date(2020, 1, 1)).timescales[K.REVIEW].amount == 3
    with pytest.raises(PolicyError, match=r"testshire: no policy version in force on 2017-12-31"):
        timeline.on(date(2017, 12, 31))
    assert diff_versions(timeline.version(1), timeline.version(2)) == [
        "effective_from: 2018-01-01 -> 2020-01-01",
        "effective_to: 2019-12-31 -> open-ended",
        "timescales.review: 6 months (test s1) -> 3 months (test s2)",
    ]
    assert diff_versions(timeline.version(2), timeline.version(2)) == []
    with pytest.raises(PolicyError, match="testshire has no version 3; it has v1, v2"):
        timeline.version(3)


def test_unknown_authority_lists_the_known_ones(book: PolicyBook) -> None:
    with pytest.raises(PolicyError) as refused:
        book.authority("nowhere")
    assert str(refused.value) == (
        "unknown authority 'nowhere'; known: redbridge, redcar-and-cleveland, stockton-on-tees, "
        "warwickshire, national"
    )
