"""Hand-built histories for Annex A (as at 31 March 2026: the six months from 1 October 2025), each
recorded through the real accept path, and every row they must give counted by hand."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine

from models.cases.contacts import record_contact
from models.policy.book import PolicyBook
from models.staff.roster import parse_staff_csv
from models.staff.store import allocate, import_staff
from tests.models.census.caseload import referred
from tests.models.census.histories import AUTHORITY, Story, child, ev, record_story

AS_OF = date(2026, 3, 31)
U = "Unallocated"
D = date

STORIES: list[Story] = [
    # a re-referral: NFA at the front door in May (before the period), referred again in November,
    # assessed with the child seen, a CIN plan open on the as-of date
    Story(
        "REREF",
        child("2014-03-02"),
        [
            [referred("2025-05-01"), ev("referral_decision", "2025-05-02", outcome="nfa")],
            [
                referred("2025-11-03", source="6"),
                ev("referral_decision", "2025-11-04", outcome="assessment"),
                ev("assessment_started", "2025-11-05"),
                ev("visit_recorded", "2025-11-10"),
                ev(
                    "assessment_completed",
                    "2025-12-15",
                    outcome="cin_plan",
                    factors=["3B"],
                    authorised="2025-12-17",
                ),
                ev("cin_meeting_held", "2026-01-05"),
            ],
        ],
    ),  # fmt: skip
    # an assessment where the child was not seen; no further action, closed in the period
    Story(
        "NOTSEEN",
        child("2016-07-20", sex="M", ethnicity="BAFR", disabilities=["AUT"]),
        [
            [
                referred("2025-10-10", source="1A", need="N4"),
                ev("referral_decision", "2025-10-11", outcome="assessment"),
                ev("visit_recorded", "2025-10-20", seen=False),  # nobody home
                ev("assessment_completed", "2025-11-20", outcome="nfa", factors=["21"]),
            ]
        ],
    ),
    # section 47 enquiries with no conference; stepped down (the lifecycle closes it RC7: RC9 is
    # not for an episode with s47). No census details recorded: the spec's "not recorded" codes
    Story(
        "S47NOCONF",
        None,
        [
            [
                referred("2025-12-01", source="6"),
                ev("referral_decision", "2025-12-01", outcome="assessment"),
                ev("assessment_started", "2025-12-01"),
                ev("s47_started", "2025-12-02"),
                ev("s47_concluded", "2025-12-10", outcome="icpc_not_required"),
                ev("assessment_completed", "2026-01-12", outcome="step_down", factors=["20"]),
            ]
        ],
    ),
    # a child protection plan whose category changed at review (neglect, then emotional abuse)
    Story(
        "CPCHANGED",
        child("2012-01-15"),
        [
            [
                referred("2025-09-01", source="3A"),
                ev("referral_decision", "2025-09-02", outcome="assessment"),
                ev("assessment_started", "2025-09-02"),
                ev("assessment_completed", "2025-10-06", outcome="cin_plan", factors=["2B"]),
                ev("s47_started", "2025-10-08"),
                ev("icpc_held", "2025-10-22", outcome="cp_plan", category="NEG"),
                ev("visit_recorded", "2025-11-05", seen=True, seen_alone=False),
                ev("cp_review_held", "2026-01-20", outcome="continue", category="EMO"),
                ev("visit_recorded", "2026-02-10", seen=True, seen_alone=True),
            ]
        ],
    ),
    # a case reallocated twice: W1 (cin-east), then W3 (cin-west), then W2 (cin-east)
    Story(
        "REALLOC",
        child("2017-05-05"),
        [
            [
                referred("2025-10-15"),
                ev("referral_decision", "2025-10-16", outcome="assessment"),
                ev("assessment_started", "2025-10-20"),
                ev("assessment_completed", "2025-11-28", outcome="cin_plan", factors=["3B"]),
                ev("cin_meeting_held", "2025-12-10"),
            ]
        ],
    ),
    # a child known only by a contact that did not become a referral
    Story("CONTACTONLY", child("2019-02-03", sex="M"), []),
]

STAFF = """staff_id,name,email,role,team,manager_id
HS1,Head,hs1@council.example,head_of_service,,
SM1,Service,sm1@council.example,service_manager,,HS1
TM1,Team East,tm1@council.example,team_manager,cin-east,SM1
TM2,Team West,tm2@council.example,team_manager,cin-west,SM1
W1,Worker One,w1@council.example,worker,cin-east,TM1
W2,Worker Two,w2@council.example,worker,cin-east,TM1
W3,Worker Three,w3@council.example,worker,cin-west,TM2
"""
ALLOCATIONS = [("W1", date(2025, 10, 17)), ("W3", date(2025, 12, 1)), ("W2", date(2026, 2, 2))]
# (child, day, DfE source): REREF's contact became its November referral; CONTACTONLY's did
# not; REREF's September contact falls before the period
CONTACTS = [
    ("REREF", date(2025, 11, 1), "6"),
    ("CONTACTONLY", date(2026, 2, 14), "1C"),
    ("REREF", date(2025, 9, 1), "2A"),
]


def record_all(engine: Engine, book: PolicyBook, stories: list[Story] | None = None) -> None:
    for story in stories or STORIES:
        refs = record_story(engine, book, story)
        if story.child_ref == "REALLOC":
            import_staff(engine, authority=AUTHORITY, rows=parse_staff_csv(STAFF))
            for worker, on in ALLOCATIONS:
                allocate(engine, case_ref=refs[0], worker_id=worker, on=on)
    for child_ref, on, source in CONTACTS:
        record_contact(engine, authority=AUTHORITY, child_ref=child_ref, on=on, source=source,
                       today=AS_OF)  # fmt: skip


F, WBRI, NO, YES, UNKNOWN = "b) Female", "a) WBRI", "b) No", "a) Yes", "c) Unknown"
REREF = ["REREF", F, WBRI, D(2014, 3, 2), 12]
NOTSEEN = ["NOTSEEN", "a) Male", "o) BAFR", D(2016, 7, 20), 9]
S47 = ["S47NOCONF", "c) Not stated/recorded", "s) NOBT", None, None]
CP = ["CPCHANGED", F, WBRI, D(2012, 1, 15), 14]
REALLOC = ["REALLOC", F, WBRI, D(2017, 5, 5), 8]
CONTACTONLY = ["CONTACTONLY", "a) Male", WBRI, D(2019, 2, 3), 7]
N1 = "N1 - Abuse or neglect"

# every row of every list, counted by hand from the stories above
EXPECTED: dict[str, list[list[object]]] = {
    "List 1": [
        [*REREF, D(2025, 11, 1), "q) 6: Police"],
        [*CONTACTONLY, D(2026, 2, 14), "c) 1C: Individual"],
    ],
    "List 3": [
        [*REREF, D(2025, 11, 3), "q) 6: Police", NO, 2, U, U],
        [*NOTSEEN, D(2025, 10, 10), "a) 1A: Individual", NO, 1, U, U],
        [*S47, D(2025, 12, 1), "q) 6: Police", NO, 1, U, U],
        [*REALLOC, D(2025, 10, 15), "e) 2A: Schools", NO, 1, U, U],  # before its first allocation
    ],
    "List 4": [
        [*REREF, NO, D(2025, 11, 5), YES, D(2025, 12, 17), YES, U, U],
        [*NOTSEEN, YES, D(2025, 10, 11), NO, D(2025, 11, 20), NO, U, U],
        [*S47, UNKNOWN, D(2025, 12, 1), NO, D(2026, 1, 12), NO, U, U],
        [*CP, NO, D(2025, 9, 2), NO, D(2025, 10, 6), YES, U, U],
        [*REALLOC, NO, D(2025, 10, 20), NO, D(2025, 11, 28), YES, "cin-east", "W1"],
    ],
    "List 5": [
        [*S47, UNKNOWN, D(2025, 12, 2), YES, None, None, 1, 0, U, U],
        [*CP, NO, D(2025, 10, 8), NO, D(2025, 10, 22), YES, 1, 1, U, U],
    ],
    "List 6": [
        [
            *REREF,
            NO,
            D(2025, 11, 3),
            N1,
            D(2025, 11, 10),
            None,
            None,
            "c) Child in need plan",
            U,
            U,
        ],
        [
            *NOTSEEN,
            YES,
            D(2025, 10, 10),
            "N4 - Family in acute stress",
            None,
            D(2025, 11, 20),
            "RC8 - Case closed after assessment, no further action",
            "e) Closed episode",
            U,
            U,
        ],
        [
            *S47,
            UNKNOWN,
            D(2025, 12, 1),
            N1,
            None,
            D(2026, 1, 12),
            "RC7 - Services ceased for any other reason, including child no longer in need",
            "e) Closed episode",
            U,
            U,
        ],
        [*CP, NO, D(2025, 9, 1), N1, D(2026, 2, 10), None, None, "b) Child Protection plan", U, U],
        [
            *REALLOC,
            NO,
            D(2025, 10, 15),
            N1,
            None,
            None,
            None,
            "c) Child in need plan",
            "cin-east",
            "W2",
        ],
    ],  # fmt: skip
    "List 7": [
        [
            *CP,
            NO,
            D(2025, 10, 22),
            "a) Neglect",
            "d) Emotional abuse",
            D(2026, 2, 10),
            YES,  # seen alone at the last visit
            D(2026, 1, 20),
            None,
            UNKNOWN,
            0,
            U,
            U,
        ],
    ],  # fmt: skip
}
