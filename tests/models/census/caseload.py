"""A year of hand-built histories (collection year 2026) covering what the return must carry."""

from __future__ import annotations

from sqlalchemy import Engine

from models.policy.book import PolicyBook
from tests.models.census.histories import (
    Story,
    child,
    ev,
    plant_legacy_closure,
    record_story,
    upn_for,
)


def referred(on: str, source: str = "2A", need: str = "N1") -> dict[str, object]:
    return ev("referral_received", on, source=source, primary_need=need)


def assessed(start: str, done: str, outcome: str, *factors: str) -> list[dict[str, object]]:
    return [
        ev("referral_decision", start, outcome="assessment"),
        ev("assessment_started", start),
        ev("assessment_completed", done, outcome=outcome, factors=list(factors)),
    ]


def planned(referral: str, start: str, done: str, meeting: str) -> list[dict[str, object]]:
    return [
        referred(referral),
        *assessed(start, done, "cin_plan", "3B", "4B"),
        ev("cin_meeting_held", meeting),
    ]


def closed_by(reason: str, on: str) -> dict[str, object]:
    return ev("case_closed", on, reason=reason)


YEAR_2026: list[Story] = [
    # a re-referral: NFA at the front door in April, referred again in September, plan, closed RC7
    Story(
        "REREFERRED",
        child("2014-03-02", upn=upn_for(1)),
        [
            [referred("2025-04-10"), ev("referral_decision", "2025-04-11", outcome="nfa")],
            [
                referred("2025-09-01", source="6"),
                ev("referral_decision", "2025-09-02", outcome="assessment"),
                ev("assessment_started", "2025-09-03"),
                ev(
                    "assessment_completed",
                    "2025-10-01",
                    outcome="cin_plan",
                    factors=["3B", "4B"],
                    authorised="2025-10-02",
                ),
                ev("cin_meeting_held", "2025-10-15"),
                ev("review_held", "2025-11-26", outcome="continue"),
                ev("review_held", "2026-01-20", outcome="close"),
            ],
        ],
    ),
    # a transfer in, still open at 31 March; its review in April is not in this year's return
    Story(
        "TRANSFERREDIN",
        child("2012-02-02", sex="M", upn=upn_for(2), disabilities=["AUT", "LD"]),
        [
            [
                ev("transfer_in", "2025-06-02", primary_need="N2"),
                ev("cin_meeting_held", "2025-06-20"),
                ev("review_held", "2025-07-30", outcome="continue"),
                ev("review_held", "2026-04-15", outcome="continue"),
            ]
        ],
    ),
    # an unborn child with no UPN (UN1), assessment still running at 31 March
    Story(
        "UNBORN",
        child(expected_birth_date="2026-05-01", sex="U", upn_unknown="UN1", disabilities=[]),
        [
            [
                referred("2026-03-02", source="3B"),
                ev("referral_decision", "2026-03-03", outcome="assessment"),
                ev("assessment_started", "2026-03-04"),
            ]
        ],
    ),
    # no UPN (UN5); s47 enquiries and a child protection plan open at 31 March
    Story(
        "NOUPN",
        child("2010-01-01", sex="M", upn_unknown="UN5", ethnicity="BAFR"),
        [
            [
                referred("2025-05-01", source="1A", need="N4"),
                *assessed("2025-05-02", "2025-06-03", "cin_plan", "16A"),
                ev("s47_started", "2025-06-05"),
                ev("icpc_held", "2025-06-20", outcome="cp_plan", category="NEG"),
            ]
        ],
    ),
    # s47 enquiries that concluded no ICPC was required; the plan then went ahead
    Story(
        "ICPCNOTREQUIRED",
        child("2015-10-10", upn=upn_for(4)),
        [
            [
                referred("2025-07-01", source="3A"),
                *assessed("2025-07-02", "2025-08-04", "cin_plan", "4B", "2B"),
                ev("s47_started", "2025-08-06"),
                ev("s47_concluded", "2025-08-15", outcome="icpc_not_required"),
                ev("cin_meeting_held", "2025-08-20"),
            ]
        ],
    ),
    # a child protection plan that ended back to a CIN plan
    Story(
        "CPTOCIN",
        child("2013-12-12", sex="M", upn=upn_for(5)),
        [
            [
                *planned("2025-04-22", "2025-04-23", "2025-05-21", "2025-06-02"),
                ev("s47_started", "2025-06-16"),
                ev("icpc_held", "2025-06-30", outcome="cp_plan", category="NEG"),
                ev("cp_review_held", "2025-09-29", outcome="continue", category="EMO"),
                ev("cp_review_held", "2026-01-12", outcome="cin_plan"),
                ev("cin_meeting_held", "2026-01-26"),
            ]
        ],
    ),
    # opened before the year: its plan started in 2024 and runs on
    Story(
        "LONGRUNNING",
        child("2016-08-08", upn=upn_for(3), ethnicity="AIND"),
        [
            [
                *planned("2024-10-01", "2024-10-02", "2024-11-12", "2024-11-20"),
                ev("review_held", "2025-01-01", outcome="continue"),
                ev("review_held", "2025-06-20", outcome="change"),
            ]
        ],
    ),
    # closures RC1-RC6 with a plan in force
    *[
        Story(
            f"CLOSED{reason}",
            child(
                "2011-05-05",
                upn=upn_for(10 + n),
                **({"death_date": "2026-02-02"} if reason == "RC2" else {}),
            ),
            [
                [
                    *planned("2025-04-14", "2025-04-15", "2025-05-20", "2025-06-02"),
                    ev("transfer_out", "2026-02-02")
                    if reason == "RC5"
                    else closed_by(reason, "2026-02-02"),
                ]
            ],
        )
        for n, reason in enumerate(("RC1", "RC2", "RC3", "RC4", "RC5", "RC6"))
    ],
    # RC8: assessed, no factors, no further action
    Story(
        "CLOSEDRC8",
        child("2009-09-09", upn=upn_for(20)),
        [[referred("2025-07-01"), *assessed("2025-07-02", "2025-08-01", "nfa", "21")]],
    ),
    # RC9: assessed, stepped down to early help
    Story(
        "CLOSEDRC9",
        child("2013-01-31", sex="M", upn=upn_for(21)),
        [
            [
                referred("2025-07-01", source="5D"),
                *assessed("2025-07-02", "2025-08-11", "step_down", "20"),
            ]
        ],
    ),
    # early help at the front door: ReferralNFA 1, written with no closure (issue 19 point 9)
    Story(
        "EARLYHELP",
        child("2018-04-04", upn=upn_for(22)),
        [
            [
                referred("2025-11-03", source="8"),
                ev("referral_decision", "2025-11-04", outcome="early_help"),
            ]
        ],
    ),
]


# Recording mistakes the DfE's rules must find (tests/models/census/test_export.py).
MISTAKES: list[Story] = [
    # authorised (5 May) before the assessment started (10 May): rule 8608
    Story(
        "AUTHORISEDEARLY",
        child("2012-01-01", upn=upn_for(30)),
        [
            [
                referred("2025-05-01"),
                ev("referral_decision", "2025-05-02", outcome="assessment"),
                ev("assessment_started", "2025-05-10"),
                ev(
                    "assessment_completed",
                    "2025-06-02",
                    outcome="cin_plan",
                    factors=["3B"],
                    authorised="2025-05-05",
                ),
            ]
        ],
    ),
    # factor 21 "no factors identified" beside another factor: rule 8869
    Story(
        "FACTOR21",
        child("2012-01-01", upn=upn_for(31)),
        [[referred("2025-05-01"), *assessed("2025-05-02", "2025-06-02", "nfa", "21", "4B")]],
    ),
    # RC8 "closed after assessment, no further action" on an episode with a CIN plan: 2990.
    # The lifecycle now refuses it, so it is planted as a migrated log would hold it.
    Story(
        "RC8WITHPLAN",
        child("2012-01-01", upn=upn_for(32)),
        [[*planned("2025-05-01", "2025-05-02", "2025-06-02", "2025-06-10")]],
    ),
]


def record_mistakes(engine: Engine, book: PolicyBook) -> dict[str, str]:
    """Record MISTAKES (the RC8 planted as a migrated log would hold it, event 6); returns each
    child reference's case reference."""
    refs = {story.child_ref: record_story(engine, book, story)[0] for story in MISTAKES}
    assert plant_legacy_closure(engine, refs["RC8WITHPLAN"], "2025-09-01", "RC8") == 6
    return refs
