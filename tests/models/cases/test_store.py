"""The accept transaction (models/cases/store.py) against real databases: SQLite and PostgreSQL.

Every test runs on both (the `engine` fixture in tests/conftest.py). Due dates here are only the
ones the accept path needs to be seen writing; tests/models/cases/test_store_histories.py checks
whole histories against hand-counted dates.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine
from sqlmodel import Session, SQLModel, col, select

from models.cases.ledger import mark_flow_handled, rebuild
from models.cases.reads import UnknownCase, case_events, count_cases, load_case, open_deadlines
from models.cases.store import open_case, record, sync_authorities
from models.database import get_engine, migrate
from models.lifecycle import (
    AssessmentCompleted,
    CaseClosed,
    CinMeetingHeld,
    Event,
    EventRefused,
    FinalMeetingHeld,
    PlanDistributed,
    ReferralDecision,
    ReferralReceived,
    ReviewHeld,
    StepDownPanel,
    VisitFrequency,
    VisitRecorded,
    apply,
    event_to_dict,
    initial_state,
    parse_event,
    state_to_dict,
)
from models.policy.book import PolicyBook
from models.tables import Authority, Case, CaseEvent, Deadline, Outbox
from tests.models.cases.factories import (
    d,
    deadline_rows,
    open_referral,
    play,
    referral,
    snapshot,
    table_counts,
)

# -- the accept path ----------------------------------------------------------------------------


def test_open_case_writes_the_case_its_first_event_its_clocks_and_an_outbox_row(
    engine: Engine, book: PolicyBook
) -> None:
    event = ReferralReceived(on=d("2025-01-06"), source="2A", primary_need="N4")
    accepted = open_case(
        engine,
        policies=book,
        authority="redbridge",
        child_ref="child1",
        event=event,
        key="ics-1",
        team="east",
    )

    assert (accepted.case_ref, accepted.seq, accepted.stage) == ("RED-000001", 1, "referral")
    assert not accepted.duplicate
    assert [(c.action, c.key) for c in accepted.changes] == [("open", "referral_decision")]
    with Session(engine) as session:
        case = load_case(session, "RED-000001")
        assert (case.authority, case.child_ref, case.team) == ("redbridge", "child1", "east")
        assert (case.stage, case.referral_date, case.re_referral) == ("referral", event.on, False)
        assert (case.last_seq, case.flow_seq, case.flow_run_id) == (1, 0, None)
        redbridge = book.authority("redbridge")
        assert case.state == state_to_dict(apply(initial_state(), event, redbridge).state)

        (logged,) = session.exec(select(CaseEvent))
        assert (logged.case_id, logged.seq, logged.idempotency_key) == (case.id, 1, "ics-1")
        assert (logged.event_type, logged.occurred_on) == ("referral_received", event.on)
        assert parse_event(logged.payload) == event
        assert logged.payload == event_to_dict(event)

        (deadline,) = session.exec(select(Deadline))
        assert deadline.case_id == case.id
        assert (deadline.key, deadline.kind, deadline.status) == (
            "referral_decision",
            "referral_decision",
            "open",
        )
        assert deadline.due == d("2025-01-07")  # Monday + 1 working day
        assert deadline.policy_ref == "redbridge v1"
        assert deadline.explanation == (
            "1 working day from referral on 2025-01-06 under redbridge v1 (statutory, national v1)"
        )
        assert (deadline.opened_seq, deadline.closed_seq, deadline.met_on) == (1, None, None)
        assert deadline.escalation_level == 0

        (outbox,) = session.exec(select(Outbox))
        assert (outbox.case_id, outbox.seq, outbox.attempts) == (case.id, 1, 0)
        assert outbox.delivered_at is None and outbox.last_error is None

        authority = session.get(Authority, "redbridge")
        assert authority is not None and authority.next_case_number == 2


def test_case_references_count_up_per_authority(engine: Engine, book: PolicyBook) -> None:
    refs = [
        open_referral(engine, book, authority=slug, child_ref=f"c{n}").case_ref
        for n, slug in enumerate(
            ["redbridge", "warwickshire", "redbridge", "stockton-on-tees", "redcar-and-cleveland"]
        )
    ]
    assert refs == ["RED-000001", "WAR-000001", "RED-000002", "SOT-000001", "RC-000001"]


def test_record_appends_events_in_sequence_and_applies_their_deadline_changes(
    engine: Engine, book: PolicyBook
) -> None:
    opened = open_referral(engine, book, on="2025-01-06")
    history: list[Event] = [
        # a day late: the decision was due on Tue 7 Jan
        ReferralDecision(on=d("2025-01-08"), outcome="assessment"),
        AssessmentCompleted(on=d("2025-02-10"), outcome="cin_plan"),
        CinMeetingHeld(on=d("2025-02-24")),
        CaseClosed(on=d("2025-03-03"), reason="RC2"),
    ]
    seqs = [record(engine, policies=book, case_ref=opened.case_ref, event=e).seq for e in history]

    assert seqs == [2, 3, 4, 5]
    with Session(engine) as session:
        case = load_case(session, opened.case_ref)
        assert (case.stage, case.last_seq, case.state["closure_reason"]) == ("closed", 5, "RC2")
        logged = case_events(session, case.id)
        assert [e.seq for e in logged] == [1, 2, 3, 4, 5]
        assert [e.event_type for e in logged] == [
            "referral_received",
            "referral_decision",
            "assessment_completed",
            "cin_meeting_held",
            "case_closed",
        ]
        assert [e.seq for e in case_events(session, case.id, after_seq=3)] == [4, 5]
        outbox = session.exec(select(Outbox).where(Outbox.case_id == case.id))
        assert sorted(o.seq for o in outbox) == [1, 2, 3, 4, 5]
        rows = {
            r.key: (r.status, r.met_on, r.opened_seq, r.closed_seq)
            for r in session.exec(select(Deadline))
        }
    assert rows == {
        "referral_decision": ("met_late", d("2025-01-08"), 1, 2),
        "assessment_completed": ("met", d("2025-02-10"), 2, 3),
        "cin_plan_meeting": ("met", d("2025-02-24"), 3, 4),
        "plan_in_place": ("met", d("2025-02-24"), 3, 4),
        # the closure cancels every clock the CIN meeting started
        "plan_distributed": ("cancelled", None, 4, 5),
        "review#1": ("cancelled", None, 4, 5),
    }


def test_readers_find_open_deadlines_by_due_date_and_authority(
    engine: Engine, book: PolicyBook
) -> None:
    open_referral(engine, book, authority="redbridge", child_ref="a", on="2025-01-06")
    open_referral(engine, book, authority="warwickshire", child_ref="b", on="2025-01-09")
    with Session(engine) as session:
        assert count_cases(session) == 2
        due = [(dl.due.isoformat(), c.case_ref) for dl, c in open_deadlines(session)]
        assert due == [("2025-01-07", "RED-000001"), ("2025-01-10", "WAR-000001")]
        assert len(open_deadlines(session, due_by=d("2025-01-09"))) == 1
        (only,) = open_deadlines(session, authority="warwickshire")
        assert only[1].case_ref == "WAR-000001"
        with pytest.raises(UnknownCase, match="RED-000099"):
            load_case(session, "RED-000099")


def test_the_flow_mark_never_moves_backwards(engine: Engine, book: PolicyBook) -> None:
    case_ref = play(engine, book, "redbridge", [referral("2025-01-06"), *_decided("2025-01-07")])
    mark_flow_handled(engine, case_ref=case_ref, seq=2)
    mark_flow_handled(engine, case_ref=case_ref, seq=1)
    with Session(engine) as session:
        assert load_case(session, case_ref).flow_seq == 2


def _decided(on: str) -> list[Event]:
    return [ReferralDecision(on=d(on), outcome="assessment")]


# -- refusals write nothing -------------------------------------------------------------------

ASSESSING: list[Event] = [referral("2025-01-06"), *_decided("2025-01-07")]
CLOSED_AT_THE_DOOR: list[Event] = [
    referral("2025-01-06"),
    ReferralDecision(on=d("2025-01-07"), outcome="nfa"),
]


def _record_raw(data: dict[str, Any]) -> Callable[[Engine, PolicyBook, str], object]:
    """Record a loose record as the CLI and bulk files do: parse, then accept."""

    def go(engine: Engine, book: PolicyBook, case_ref: str) -> object:
        return record(engine, policies=book, case_ref=case_ref, event=parse_event(data))

    return go


def _record(event: Event) -> Callable[[Engine, PolicyBook, str], object]:
    def go(engine: Engine, book: PolicyBook, case_ref: str) -> object:
        return record(engine, policies=book, case_ref=case_ref, event=event, key="refused")

    return go


REFUSALS = {
    "review before a plan": (
        ASSESSING,
        _record(ReviewHeld(on=d("2025-01-20"), outcome="continue")),
        "expected one of",
    ),
    "any event after closure": (
        CLOSED_AT_THE_DOOR,
        _record(VisitRecorded(on=d("2025-01-08"))),
        "nothing can follow a closure",
    ),
    "dated before the referral": (
        [referral("2025-01-06")],
        _record(ReferralDecision(on=d("2025-01-03"), outcome="assessment")),
        "on or after the case opened on 2025-01-06",
    ),
    "leaves a stage before it began": (
        ASSESSING,
        # a late entry: placed in date order, before the decision, it is illegal
        _record(AssessmentCompleted(on=d("2025-01-06"), outcome="cin_plan")),
        "placed in date order the history would be illegal",
    ),
    "a second referral on an open case": (
        ASSESSING,
        _record(referral("2025-02-01")),
        "is already open",
    ),
    "an unknown closure code": (
        ASSESSING,
        _record_raw({"type": "case_closed", "on": "2025-01-20", "reason": "RC10"}),
        "case_closed refused: case_closed.reason: Input should be 'RC1'",
    ),
    "a clock that would run past the calendar's coverage": (
        ASSESSING,
        # a plan decided on 20 Dec 2040 owes its CIN meeting in 15 WD: past 2040
        _record(AssessmentCompleted(on=d("2040-12-20"), outcome="cin_plan")),
        "the calendar's last day",
    ),
    "an unknown event type": (
        ASSESSING,
        _record_raw({"type": "home_visit", "on": "2025-01-20"}),
        "home_visit refused",
    ),
}


@pytest.mark.parametrize(("history", "attempt", "reason"), REFUSALS.values(), ids=REFUSALS)
def test_a_refused_event_writes_nothing(
    engine: Engine,
    book: PolicyBook,
    history: list[Event],
    attempt: Callable[[Engine, PolicyBook, str], object],
    reason: str,
) -> None:
    case_ref = play(engine, book, "redbridge", history)
    before = snapshot(engine, case_ref)

    with pytest.raises(EventRefused, match=reason):
        attempt(engine, book, case_ref)

    assert snapshot(engine, case_ref) == before
    # the refused key was not spent: the same key is free for a good event
    if history is ASSESSING:
        good = VisitRecorded(on=d("2025-01-21"))
        accepted = record(engine, policies=book, case_ref=case_ref, event=good, key="refused")
        assert (accepted.seq, accepted.duplicate) == (len(history) + 1, False)


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (VisitRecorded(on=d("2025-01-06")), "a new case starts with referral_received"),
        # Redbridge's only policy version is assumed from 15 Apr 2013 (003 L17, issue 19 point 7)
        (referral("2013-04-12"), "no policy version in force on 2013-04-12"),
    ],
)
def test_a_refused_opening_writes_nothing_and_spends_no_case_number(
    engine: Engine, book: PolicyBook, event: Event, reason: str
) -> None:
    with pytest.raises(EventRefused, match=reason):
        open_case(engine, policies=book, authority="redbridge", child_ref="child1", event=event)
    with Session(engine) as session:
        assert table_counts(session) == {"Case": 0, "CaseEvent": 0, "Deadline": 0, "Outbox": 0}
    assert open_referral(engine, book).case_ref == "RED-000001"


def test_recording_on_an_unknown_case_is_refused(engine: Engine, book: PolicyBook) -> None:
    with pytest.raises(UnknownCase, match="RED-000001"):
        record(
            engine, policies=book, case_ref="RED-000001", event=VisitRecorded(on=d("2025-01-06"))
        )


# -- idempotency --------------------------------------------------------------------------------


def test_the_same_key_twice_is_one_event(engine: Engine, book: PolicyBook) -> None:
    case_ref = play(engine, book, "redbridge", ASSESSING)
    visit = VisitRecorded(on=d("2025-01-09"))
    first = record(engine, policies=book, case_ref=case_ref, event=visit, key="ics-77")
    before = snapshot(engine, case_ref)

    again = record(engine, policies=book, case_ref=case_ref, event=visit, key="ics-77")

    assert (first.seq, first.duplicate) == (3, False)
    assert (again.case_ref, again.seq, again.duplicate, again.changes) == (case_ref, 3, True, ())
    assert snapshot(engine, case_ref) == before


def test_different_keys_are_different_events(engine: Engine, book: PolicyBook) -> None:
    case_ref = play(engine, book, "redbridge", ASSESSING)
    visit = VisitRecorded(on=d("2025-01-09"))
    seqs = [
        record(engine, policies=book, case_ref=case_ref, event=visit, key=key).seq
        for key in ("ics-1", "ics-2")
    ]
    assert seqs == [3, 4]
    with Session(engine) as session:
        assert table_counts(session)["CaseEvent"] == 4


def test_the_same_key_on_open_case_is_one_case(engine: Engine, book: PolicyBook) -> None:
    first = open_referral(engine, book, child_ref="child1", key="ics-open-1")
    before = snapshot(engine, first.case_ref)

    again = open_referral(engine, book, child_ref="child1", key="ics-open-1")

    assert (again.case_ref, again.seq, again.duplicate) == (first.case_ref, 1, True)
    assert snapshot(engine, first.case_ref) == before
    with Session(engine) as session:
        authority = session.get(Authority, "redbridge")
        assert authority is not None and authority.next_case_number == 2
    # issue 8 point 11: a new key for the same child while the case is open is refused, by name
    with pytest.raises(EventRefused, match="already has an open case, RED-000001"):
        open_referral(engine, book, child_ref="child1", key="ics-open-2")
    assert snapshot(engine, first.case_ref) == before


# -- re-referral ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("second", "expected"),
    [
        ("2025-01-07", True),  # the day after the first case closed
        ("2026-01-06", True),  # 12 months to the day: still "within 12 months"
        ("2026-01-07", False),  # 12 months and a day
        ("2026-02-06", False),  # 13 months
    ],
)
def test_a_second_referral_within_12_months_is_a_re_referral(
    engine: Engine, book: PolicyBook, second: str, expected: bool
) -> None:
    play(engine, book, "redbridge", CLOSED_AT_THE_DOOR, child_ref="child1")
    again = open_referral(engine, book, child_ref="child1", on=second)
    other_child = open_referral(engine, book, child_ref="child2", on=second)
    elsewhere = open_referral(engine, book, authority="warwickshire", child_ref="child1", on=second)
    with Session(engine) as session:
        assert load_case(session, again.case_ref).re_referral is expected
        assert load_case(session, other_child.case_ref).re_referral is False
        # re-referral is counted within one council's records (the census is per authority)
        assert load_case(session, elsewhere.case_ref).re_referral is False


def test_a_referral_after_a_transfer_in_is_not_a_re_referral(
    engine: Engine, book: PolicyBook
) -> None:
    """DfE: a re-referral is within 12 months of a previous referral; a transfer in is not one
    (the demo planted 18 re-referrals and the store counted 19, one after a transfer in)."""
    moved = open_case(
        engine, policies=book, authority="redbridge", child_ref="child1",
        event=parse_event({"type": "transfer_in", "on": "2025-04-19"}),
    )  # fmt: skip
    record(
        engine, policies=book, case_ref=moved.case_ref,
        event=parse_event({"type": "transfer_out", "on": "2025-05-01"}),
    )  # fmt: skip
    later = open_referral(engine, book, child_ref="child1", on="2025-10-26")
    with Session(engine) as session:
        assert load_case(session, moved.case_ref).stage == "closed"
        assert load_case(session, later.case_ref).re_referral is False


# -- rebuild ----------------------------------------------------------------------------------

# A whole Redbridge case: referral to step-down and closure (RC7).
REDBRIDGE_LIFE: list[Event] = [
    referral("2025-01-06"),
    ReferralDecision(on=d("2025-01-07"), outcome="assessment"),
    AssessmentCompleted(on=d("2025-02-10"), outcome="cin_plan"),
    CinMeetingHeld(on=d("2025-02-24"), visit_frequency=VisitFrequency(amount=4, unit="weeks")),
    PlanDistributed(on=d("2025-03-12")),
    VisitRecorded(on=d("2025-03-20")),
    ReviewHeld(on=d("2025-04-07"), outcome="continue"),
    VisitRecorded(on=d("2025-04-15")),
    VisitRecorded(on=d("2025-05-12")),
    ReviewHeld(on=d("2025-09-29"), outcome="change"),
    ReviewHeld(on=d("2025-11-03"), outcome="step_down_panel"),
    StepDownPanel(on=d("2025-11-12"), outcome="accepted"),
    FinalMeetingHeld(on=d("2025-11-26")),
]


def test_a_rebuild_from_the_log_equals_the_live_state(engine: Engine, book: PolicyBook) -> None:
    case_ref = play(engine, book, "redbridge", REDBRIDGE_LIFE)
    before = snapshot(engine, case_ref)
    assert before["case"]["stage"] == "closed"
    assert before["case"]["state"]["closure_reason"] == "RC7"

    report = rebuild(engine, policies=book, case_ref=case_ref)

    assert report == {
        "case": case_ref,
        "events": len(REDBRIDGE_LIFE),
        "stage": "closed",
        "state_matched": True,
        "deadlines_matched": True,
    }
    after = snapshot(engine, case_ref)
    assert after["deadlines"] == before["deadlines"]  # same rows, ids included
    assert after["case"]["state"] == before["case"]["state"]
    assert after["events"] == before["events"] and after["outbox"] == before["outbox"]


def test_a_rebuild_repairs_a_live_copy_that_drifted_and_keeps_escalations(
    engine: Engine, book: PolicyBook
) -> None:
    case_ref = play(engine, book, "redbridge", REDBRIDGE_LIFE[:7])  # up to the first review
    truth = deadline_rows(engine, case_ref)
    with Session(engine) as session:
        case = load_case(session, case_ref)
        case.state = {**case.state, "reviews_held": 9}
        case.stage = "closed"
        rows = {r.key: r for r in session.exec(select(Deadline))}
        rows["visit#2"].due = d("2030-01-01")
        rows["visit#2"].escalation_level = 2  # the monitor has told two rungs already
        rows["plan_distributed#2"].status = "met"  # "missed" is a monitor mark a rebuild keeps
        session.delete(rows["review#2"])
        stray = rows["plan_distributed"].model_dump(exclude={"id"})
        session.add(Deadline(**{**stray, "key": "stray"}))
        session.add_all([case, rows["visit#2"], rows["plan_distributed#2"]])
        session.commit()

    report = rebuild(engine, policies=book, case_ref=case_ref)

    assert (report["state_matched"], report["deadlines_matched"]) == (False, False)
    assert deadline_rows(engine, case_ref) == truth
    with Session(engine) as session:
        case = load_case(session, case_ref)
        assert (case.stage, case.state["reviews_held"]) == ("cin_plan", 1)
        visit = session.exec(select(Deadline).where(Deadline.key == "visit#2")).one()
        assert visit.escalation_level == 2
    again = rebuild(engine, policies=book, case_ref=case_ref)
    assert (again["state_matched"], again["deadlines_matched"]) == (True, True)


# -- concurrency --------------------------------------------------------------------------------

IN_PLAN: list[Event] = [
    *ASSESSING,
    AssessmentCompleted(on=d("2025-02-10"), outcome="cin_plan"),
    CinMeetingHeld(on=d("2025-02-24")),
]
THREADS, EACH = 8, 10


def test_concurrent_records_and_openings_keep_sequences_and_case_numbers_whole(
    engine: Engine, book: PolicyBook
) -> None:
    case_ref = play(engine, book, "redbridge", IN_PLAN, child_ref="busy")
    start = threading.Barrier(2 * THREADS, timeout=60)

    def visits(thread: int) -> list[int]:
        start.wait()
        seqs = []
        for n in range(EACH):
            visit = VisitRecorded(on=d("2025-02-25") + timedelta(days=thread * EACH + n))
            accepted = record(
                engine, policies=book, case_ref=case_ref, event=visit, key=f"t{thread}-{n}"
            )
            seqs.append(accepted.seq)
        return seqs

    def opening(thread: int) -> str:
        start.wait()
        return open_referral(engine, book, child_ref=f"child{thread}").case_ref

    with ThreadPoolExecutor(2 * THREADS) as pool:
        recorded = [pool.submit(visits, t) for t in range(THREADS)]
        opened = [pool.submit(opening, t) for t in range(THREADS)]
        seqs = [s for f in recorded for s in f.result()]
        refs = [f.result() for f in opened]

    total = len(IN_PLAN) + THREADS * EACH
    assert sorted(seqs) == list(range(len(IN_PLAN) + 1, total + 1))
    assert sorted(refs) == [f"RED-{n:06d}" for n in range(2, THREADS + 2)]
    with Session(engine) as session:
        busy = load_case(session, case_ref)
        assert busy.last_seq == total
        assert [e.seq for e in case_events(session, busy.id)] == list(range(1, total + 1))
        outbox = list(session.exec(select(Outbox.case_id, Outbox.seq)))
        logged = list(session.exec(select(CaseEvent.case_id, CaseEvent.seq)))
        assert sorted(outbox) == sorted(logged)
        assert len(outbox) == len(set(outbox)) == total + THREADS
        authority = session.get(Authority, "redbridge")
        assert authority is not None and authority.next_case_number == THREADS + 2
        assert len(set(session.exec(select(Case.case_ref)))) == THREADS + 1
    # no update was lost: the live clocks equal those replayed from the log
    report = rebuild(engine, policies=book, case_ref=case_ref)
    assert (report["state_matched"], report["deadlines_matched"]) == (True, True)


def test_concurrent_retries_with_one_key_are_one_event_and_one_case(
    engine: Engine, book: PolicyBook
) -> None:
    case_ref = play(engine, book, "redbridge", IN_PLAN, child_ref="busy")
    start = threading.Barrier(2 * THREADS, timeout=60)

    def retry_visit(_: int) -> bool:
        start.wait()
        visit = VisitRecorded(on=d("2025-03-01"))
        return record(engine, policies=book, case_ref=case_ref, event=visit, key="once").duplicate

    def retry_open(_: int) -> tuple[str, bool]:
        start.wait()
        accepted = open_referral(engine, book, child_ref="child9", key="open-once")
        return accepted.case_ref, accepted.duplicate

    with ThreadPoolExecutor(2 * THREADS) as pool:
        visit_futures = [pool.submit(retry_visit, t) for t in range(THREADS)]
        open_futures = [pool.submit(retry_open, t) for t in range(THREADS)]
        visits = [f.result() for f in visit_futures]
        opens = [f.result() for f in open_futures]

    assert sorted(visits) == [False] + [True] * (THREADS - 1)
    assert {ref for ref, _ in opens} == {"RED-000002"}
    assert sorted(dup for _, dup in opens) == [False] + [True] * (THREADS - 1)
    with Session(engine) as session:
        assert table_counts(session)["Case"] == 2
        assert load_case(session, case_ref).last_seq == len(IN_PLAN) + 1


def test_concurrent_syncs_of_the_authorities_agree(db_url: str, book: PolicyBook) -> None:
    migrate(db_url)
    engine = get_engine(db_url)
    start = threading.Barrier(4, timeout=60)

    def sync(_: int) -> None:
        start.wait()
        with Session(engine) as session:
            sync_authorities(session, policies=book)

    try:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(sync, range(4)))
        with Session(engine) as session:
            slugs = sorted(session.exec(select(Authority.slug)))
        assert slugs == list(book.slugs())
    finally:
        engine.dispose()


# -- the schema -------------------------------------------------------------------------------


def test_the_migrations_build_exactly_the_tables_the_models_describe(engine: Engine) -> None:
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert differences == []


def test_migrating_twice_changes_nothing(db_url: str, engine: Engine, book: PolicyBook) -> None:
    open_referral(engine, book)
    migrate(db_url)
    with Session(engine) as session:
        assert table_counts(session)["Case"] == 1
        assert sorted(session.exec(select(col(Authority.slug)))) == list(book.slugs())
