"""The synthetic caseload: deterministic, accepted by the lifecycle, and as varied as the seeds."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, timedelta
from random import Random

import pytest

from demo.caseload import CaseloadRecord, generate_caseload, mix_summary, to_jsonl
from demo.caseload_story import simulate_episode
from models.lifecycle import (
    DeadlineAction,
    Stage,
    apply,
    initial_state,
    is_re_referral,
    parse_event,
)
from models.policy.book import PolicyBook
from models.policy.timescales import TimescaleKind

AUTHORITIES = ("redbridge", "warwickshire", "stockton-on-tees", "redcar-and-cleveland")
START = date(2024, 4, 1)
DAYS = 365
HORIZON = START + timedelta(days=DAYS)


@pytest.fixture(scope="module")
def caseload(book: PolicyBook) -> list[CaseloadRecord]:
    return generate_caseload(
        authorities=AUTHORITIES, cases=300, start=START, days=DAYS, seed=11, policies=book
    )


def by_case(records: list[CaseloadRecord]) -> dict[str, list[CaseloadRecord]]:
    cases: dict[str, list[CaseloadRecord]] = defaultdict(list)
    for record in records:
        cases[record.case_key].append(record)
    return cases


def test_same_seed_same_caseload_other_seed_another(book: PolicyBook) -> None:
    def make(seed: int) -> list[CaseloadRecord]:
        return generate_caseload(
            authorities=AUTHORITIES, cases=60, start=START, days=DAYS, seed=seed, policies=book
        )

    first = make(3)
    assert make(3) == first
    assert to_jsonl(make(3)) == to_jsonl(first)
    assert make(4) != first


def test_every_case_is_accepted_by_the_lifecycle_in_record_order(
    caseload: list[CaseloadRecord], book: PolicyBook
) -> None:
    cases = by_case(caseload)
    assert len(cases) == 300
    for records in cases.values():
        timeline = book.authority(records[0].authority)
        state = initial_state()
        for record in records:  # raises EventRefused if the generator let a bad one through
            state = apply(state, parse_event(record.event), timeline).state
        assert state.events_applied == len(records)


def test_records_are_sent_in_order_within_the_horizon(caseload: list[CaseloadRecord]) -> None:
    assert [r.recorded_on for r in caseload] == sorted(r.recorded_on for r in caseload)
    assert all(r.on <= r.recorded_on <= HORIZON for r in caseload)
    assert all(START <= r.on for r in caseload)
    assert len({r.key for r in caseload}) == len(caseload)
    sent: dict[str, date] = {}
    for record in caseload:  # a child's records never overtake one another
        assert sent.get(record.child_ref, date.min) <= record.recorded_on
        sent[record.child_ref] = record.recorded_on
    assert all(r.child_ref.startswith("SYN") and r.team.startswith(r.authority) for r in caseload)


def test_the_mix_has_every_path_the_engine_must_handle(
    caseload: list[CaseloadRecord], book: PolicyBook
) -> None:
    stages: set[Stage] = set()
    met_late: set[TimescaleKind] = set()
    reasons: set[str] = set()
    for records in by_case(caseload).values():
        timeline = book.authority(records[0].authority)
        state = initial_state()
        for record in records:
            transition = apply(state, parse_event(record.event), timeline)
            state = transition.state
            stages.add(state.stage)
            met_late |= {c.kind for c in transition.changes if c.action is DeadlineAction.MET_LATE}
        if state.closure_reason:
            reasons.add(state.closure_reason)
    # no seed gives a rate of refused consent, so the synthetic mix has none: the lifecycle
    # tests (tests/models/lifecycle/test_seed_rules.py, point 2) cover that stage
    assert stages == set(Stage) - {Stage.NEW, Stage.NO_CONSENT}
    assert {TimescaleKind.FIRST_REVIEW, TimescaleKind.REVIEW} & met_late
    assert {TimescaleKind.VISIT, TimescaleKind.REFERRAL_DECISION} <= met_late
    assert {"RC5", "RC7", "RC8", "RC9"} <= reasons

    summary = mix_summary(caseload)
    events = summary["events"]
    assert {"transfer_in", "transfer_out", "s47_started", "step_down_panel"} <= set(events)
    assert events["referral_decision"] > events["icpc_held"] > 0
    assert summary["late_records"] > 0 and summary["late_by_a_week_or_more"] > 0
    assert summary["re_referrals"] > 0
    assert summary["children"] < summary["cases"]  # re-referred children have several cases


def test_re_referrals_reuse_the_child_after_the_previous_case_closed(
    caseload: list[CaseloadRecord],
) -> None:
    cases = by_case(caseload)
    opened: dict[str, list[tuple[date, str]]] = defaultdict(list)
    for key, records in cases.items():
        opened[records[0].child_ref].append((records[0].on, key))
    repeated = {child: sorted(v) for child, v in opened.items() if len(v) > 1}
    assert repeated
    found = 0
    for episodes in repeated.values():
        for (_, earlier), (later_on, later) in zip(episodes, episodes[1:], strict=False):
            closing = cases[earlier][-1]
            assert closing.event["type"] in (
                "referral_decision", "assessment_completed", "review_held", "case_closed",
                "final_meeting_held", "transfer_out",
            )  # fmt: skip
            assert closing.recorded_on <= cases[later][0].recorded_on
            found += is_re_referral([cases[earlier][0].on], later_on)
    assert found > 0


def test_jsonl_lines_address_the_child_and_carry_the_event(caseload: list[CaseloadRecord]) -> None:
    lines = to_jsonl(caseload[:50]).splitlines()
    assert len(lines) == 50
    for line, record in zip(lines, caseload, strict=False):
        data = json.loads(line)
        assert (data.pop("authority"), data.pop("child"), data.pop("key")) == (
            record.authority,
            record.child_ref,
            record.key,
        )
        assert data.pop("team") == record.team
        assert parse_event(data).type == record.event["type"]


def test_single_episodes_are_never_refused(book: PolicyBook) -> None:
    rng = Random(5)
    for n in range(400):
        authority = AUTHORITIES[n % 4]
        opens_on = START + timedelta(days=rng.randint(0, 700))
        episode = simulate_episode(
            rng,
            book.authority(authority),
            opens_on=opens_on,
            horizon=opens_on + timedelta(days=900),
            transfer_in=n % 10 == 0,
        )
        assert episode.refused == 0
        assert episode.events


def test_an_authority_without_a_policy_in_force_is_refused_not_invented(book: PolicyBook) -> None:
    with pytest.raises(ValueError, match="no case could be opened"):
        generate_caseload(
            authorities=["redbridge"],
            cases=3,
            start=date(2010, 1, 1),
            days=30,
            seed=1,
            policies=book,
        )


def test_volumes_give_each_council_its_scaled_seed_referrals(book: PolicyBook) -> None:
    from demo.caseload_mix import ANNUAL_REFERRALS, VOLUME_SCALE, scaled_volumes

    volumes = scaled_volumes(AUTHORITIES)
    # Stockton's 2,334 referrals a year (001 line 57) at the demo's one scale
    assert volumes["stockton-on-tees"] == round(2334 * VOLUME_SCALE)
    records = generate_caseload(
        authorities=AUTHORITIES, cases=sum(volumes.values()), start=START, days=DAYS, seed=5,
        policies=book, volumes=volumes,
    )  # fmt: skip
    cases = {(r.authority, r.case_key) for r in records}
    made = {slug: sum(1 for a, _ in cases if a == slug) for slug in AUTHORITIES}
    assert made == volumes
    # relative sizes are the seeds': the largest council over the smallest, within rounding
    ratio = made["warwickshire"] / made["redcar-and-cleveland"]
    seed_ratio = ANNUAL_REFERRALS["warwickshire"] / ANNUAL_REFERRALS["redcar-and-cleveland"]
    assert abs(ratio - seed_ratio) / seed_ratio < 0.1
    # every council's first referrals spread over the year, not bunched at its start
    for slug in AUTHORITIES:
        days = sorted(r.on for r in records if r.authority == slug)
        assert days[-1] - days[0] > timedelta(days=DAYS // 2)


def test_volumes_must_cover_every_authority_and_sum_to_cases(book: PolicyBook) -> None:
    with pytest.raises(ValueError, match="volumes"):
        generate_caseload(
            authorities=AUTHORITIES, cases=10, start=START, days=DAYS, seed=5, policies=book,
            volumes={"redbridge": 10},
        )  # fmt: skip
