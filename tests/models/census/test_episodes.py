"""The pure fold of one case's log into its census episode, and the child's UPN check letter."""

from __future__ import annotations

from datetime import date

import pytest

from models.census.child import parse_child, upn_check_letter, upn_problem
from models.census.episodes import LogEntry, fold_episode
from models.census.selection import for_year, in_year
from models.census.year import CensusYear

YEAR = CensusYear(2026)


def log(*events: tuple[str, str, dict[str, object]]) -> list[LogEntry]:
    return [LogEntry(n, kind, date.fromisoformat(on), data) for n, (kind, on, data) in
            enumerate(events, start=1)]  # fmt: skip


def test_the_year_runs_from_1_april_to_the_reference_date_31_march():
    assert (YEAR.start, YEAR.reference_date) == (date(2025, 4, 1), date(2026, 3, 31))


def test_events_after_31_march_are_not_in_the_return_and_a_later_closure_leaves_it_open():
    entries = log(
        ("referral_received", "2026-03-02", {"source": "2A"}),
        ("referral_decision", "2026-03-03", {"outcome": "assessment"}),
        ("assessment_completed", "2026-04-20", {"outcome": "nfa", "factors": ["21"]}),
    )
    state = {"closed_on": "2026-04-20", "closure_reason": "RC8"}
    episode = fold_episode("RED-1", entries, state=state, year=YEAR)
    assert episode is not None
    assert (episode.closed_on, episode.closure_reason) == (None, None)
    # the assessment decided on 3 March is still running at 31 March, dated from the decision
    (running,) = episode.assessments
    assert (running.start, running.authorised, running.factors) == (date(2026, 3, 3), None, ())


def test_an_assessment_without_a_start_event_starts_at_the_decision_to_assess():
    entries = log(
        ("referral_received", "2025-05-01", {"source": "2A"}),
        ("referral_decision", "2025-05-02", {"outcome": "assessment"}),
        ("assessment_completed", "2025-06-02", {"outcome": "nfa", "factors": ["21"]}),
    )
    episode = fold_episode("RED-1", entries, state={"closed_on": "2025-06-02",
                           "closure_reason": "RC8"}, year=YEAR)  # fmt: skip
    assert episode is not None
    (assessment,) = episode.assessments
    assert (assessment.start, assessment.start_seq) == (date(2025, 5, 2), 2)
    assert (assessment.authorised, assessment.completed_seq) == (date(2025, 6, 2), 3)
    assert (episode.closed_on, episode.closure_reason, episode.closure_seq) == (
        date(2025, 6, 2), "RC8", 3,
    )  # fmt: skip


def test_a_cp_plan_ends_the_cin_plan_and_counts_the_childs_earlier_plans():
    entries = log(
        ("referral_received", "2025-05-01", {"source": "2A"}),
        ("cin_meeting_held", "2025-05-20", {}),
        ("s47_started", "2025-06-01", {}),
        ("icpc_held", "2025-06-12", {"outcome": "cp_plan", "category": "EMO"}),
        ("cp_review_held", "2025-09-10", {"outcome": "continue", "category": "MUL"}),
        ("cp_review_held", "2025-12-10", {"outcome": "cin_plan"}),
        ("cin_meeting_held", "2025-12-20", {}),
    )
    episode = fold_episode("RED-1", entries, state={}, year=YEAR, previous_cp_plans=2)
    assert episode is not None
    first, second = episode.plans
    assert (first.start, first.end) == (date(2025, 5, 20), date(2025, 6, 12))
    assert (second.start, second.end) == (date(2025, 12, 20), None)
    (cp,) = episode.cp_plans
    assert (cp.start, cp.end, cp.previous) == (date(2025, 6, 12), date(2025, 12, 10), 2)
    assert (cp.initial_category, cp.latest_category) == ("EMO", "MUL")
    (s47,) = episode.s47s
    assert (s47.start, s47.icpc, s47.not_required) == (date(2025, 6, 1), date(2025, 6, 12), False)


def test_icpc_not_required_and_the_year_selection():
    entries = log(
        ("referral_received", "2024-12-01", {"source": "6"}),
        ("referral_decision", "2024-12-02", {"outcome": "assessment"}),
        ("assessment_completed", "2025-01-10", {"outcome": "cin_plan", "factors": ["3B"]}),
        ("cin_meeting_held", "2025-01-20", {}),
        ("s47_started", "2025-03-01", {}),
        ("s47_concluded", "2025-03-20", {"outcome": "icpc_not_required"}),
        ("s47_started", "2025-08-01", {}),
        ("s47_concluded", "2025-08-20", {"outcome": "icpc_not_required"}),
    )
    episode = fold_episode("RED-1", entries, state={}, year=YEAR)
    assert episode is not None and in_year(episode, YEAR)
    assert [(s.start, s.not_required) for s in episode.s47s] == [
        (date(2025, 3, 1), True), (date(2025, 8, 1), True),
    ]  # fmt: skip
    selected = for_year(episode, YEAR)
    assert [s.start for s in selected.s47s] == [date(2025, 8, 1)]  # the one in the year
    assert selected.assessments == []  # authorised before 1 April 2025
    assert [p.start for p in selected.plans] == [date(2025, 1, 20)]  # still running


def test_an_episode_closed_before_the_year_is_not_in_it():
    entries = log(("referral_received", "2025-01-06", {"source": "2A"}),
                  ("referral_decision", "2025-01-07", {"outcome": "nfa"}))  # fmt: skip
    episode = fold_episode("RED-1", entries, state={"closed_on": "2025-01-07",
                           "closure_reason": "RC8"}, year=YEAR)  # fmt: skip
    assert episode is not None and episode.referral_nfa and not in_year(episode, YEAR)
    assert fold_episode("RED-2", log(("referral_received", "2026-04-01", {"source": "2A"})),
                        state={}, year=YEAR) is None  # fmt: skip


@pytest.mark.parametrize("body", ["31715000001" + "1", "82099912345" + "6", "20100000000" + "A"])
def test_a_upn_with_its_check_letter_is_valid_and_any_other_letter_is_not(body):
    good = upn_check_letter("?" + body) + body
    assert upn_problem(good) is None
    for wrong in "ABCDEFGHJKLMNPQRTUVWXYZ".replace(good[0], ""):
        assert upn_problem(wrong + body) is not None
    changed = good[:5] + str((int(good[5]) + 1) % 10) + good[6:]
    assert upn_problem(changed) is not None


def test_child_details_refusals_name_the_field_and_never_echo_a_dob_or_upn():
    with pytest.raises(ValueError) as refused:
        parse_child({"sex": "F", "ethnicity": "WBRI", "birth_date": "2015-13-45",
                     "upn": "not-a-upn"})  # fmt: skip
    message = str(refused.value)
    assert "birth_date: expected a date YYYY-MM-DD" in message
    assert "2015-13-45" not in message and "not-a-upn" not in message
    with pytest.raises(ValueError, match="disability NONE is used alone"):
        parse_child({"sex": "F", "ethnicity": "WBRI", "birth_date": "2015-01-01",
                     "upn_unknown": "UN2", "disabilities": ["NONE", "AUT"]})  # fmt: skip


def test_a_late_entry_takes_its_place_by_date():
    entries = [
        LogEntry(1, "referral_received", date(2025, 5, 1), {"source": "2A"}),
        LogEntry(2, "referral_decision", date(2025, 5, 2), {"outcome": "assessment"}),
        LogEntry(3, "assessment_completed", date(2025, 6, 2), {"outcome": "nfa"}),
        LogEntry(4, "assessment_started", date(2025, 5, 5), {}),  # recorded late
    ]
    episode = fold_episode("RED-1", entries, state={"closed_on": "2025-06-02",
                           "closure_reason": "RC8"}, year=YEAR)  # fmt: skip
    assert episode is not None
    (assessment,) = episode.assessments
    assert (assessment.start, assessment.start_seq, assessment.completed_seq) == (
        date(2025, 5, 5), 4, 3,
    )  # fmt: skip
    assert episode.closure_seq == 3  # the last event by date closed it
