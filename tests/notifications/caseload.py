"""A small Redbridge caseload with overdue work, for the delivery and crash tests."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine

from models.cases.store import open_case, record
from models.lifecycle import AssessmentCompleted, ReferralDecision, ReferralReceived
from models.policy.book import PolicyBook
from models.staff.roster import parse_staff_csv
from models.staff.store import allocate, import_staff

AS_OF = date(2025, 4, 1)  # a Tuesday; every rung of the ladder has been reached by then
CHILD_PREFIX = "CHILDSECRET"
STAFF_NAMES = ("Ada Headley", "Ben Servis", "Cat Eastman", "Dan Westman", "Eve Worker", "Fay Other")

ROSTER = """staff_id,name,email,role,team,manager_id
HS1,Ada Headley,hos@redbridge.example,head_of_service,,
SM1,Ben Servis,sm1@redbridge.example,service_manager,,HS1
TME,Cat Eastman,tm-east@redbridge.example,team_manager,east,SM1
TMW,Dan Westman,tm-west@redbridge.example,team_manager,west,SM1
W1,Eve Worker,w1@redbridge.example,worker,east,TME
W2,Fay Other,w2@redbridge.example,worker,west,TMW
"""
ADDRESSES = {
    "HS1": "hos@redbridge.example",
    "SM1": "sm1@redbridge.example",
    "TME": "tm-east@redbridge.example",
    "TMW": "tm-west@redbridge.example",
    "W1": "w1@redbridge.example",
    "W2": "w2@redbridge.example",
}


def overdue_caseload(engine: Engine, book: PolicyBook) -> list[str]:
    """Six cases whose CIN plan meeting is overdue (digest work) and two whose referral decision
    is (urgent: sent at once), across two teams. By AS_OF each has reached every rung."""
    import_staff(engine, authority="redbridge", rows=parse_staff_csv(ROSTER))
    refs: list[str] = []
    for n in range(8):
        team, worker = ("east", "W1") if n % 2 == 0 else ("west", "W2")
        opened = open_case(
            engine,
            policies=book,
            authority="redbridge",
            child_ref=f"{CHILD_PREFIX}{n}",
            event=ReferralReceived(on=date(2025, 1, 6), source="2A"),
            team=team,
        )
        allocate(engine, case_ref=opened.case_ref, worker_id=worker)
        if n < 6:
            record(
                engine,
                policies=book,
                case_ref=opened.case_ref,
                event=ReferralDecision(on=date(2025, 1, 7), outcome="assessment"),
            )
            record(
                engine,
                policies=book,
                case_ref=opened.case_ref,
                event=AssessmentCompleted(on=date(2025, 2, 3), outcome="cin_plan"),
            )
        refs.append(opened.case_ref)
    return refs


# what AS_OF must raise, three rungs each by email: 6 plan meetings and 2 referral decisions (the
# assessment clock starts only with the decision, so the two undecided cases owe no assessment);
# and the team manager's Teams channel for each, held where CIN_TEAMS_URLS gives no URL
EXPECTED_ALERTS = (6 + 2) * 3 + (6 + 2)
# digests for TME, TMW, SM1, HS1; one message per urgent alert (2 cases x 3 rungs)
EXPECTED_MESSAGES = 4 + 6
