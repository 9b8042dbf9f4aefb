"""Ending a case: a transfer out (RC5) or a closure with the census reason the worker records.

A CP plan ends when a review conference decides so (Working Together, "discontinuing the child
protection plan": cited from the published guidance, not a seed; to check against the 2023
text): while one is in force `case_closed` is refused except for the reasons that end a plan by
themselves, RC1-RC6 (adopted, died, child arrangements or special guardianship order,
transferred to another authority or to adult social care).

A CIN plan is the council's: where its document says so, it too ends only at a review (Redbridge
003 L146: "A CiN Plan should not be ended unless a review has been completed and a decision made
that the Plan has achieved its objectives/is no longer required"; policy `rules:
plan_ends_at_review`), and `case_closed` is refused the same way. Where the council's document
sets no such rule (Warwickshire, Stockton, Redcar), `case_closed` RC7 ends a CIN plan (issue 19
point 7). A review's decision (`review_held` close, `cp_review_held` close) or the step-down's
final meeting closes it with RC7 everywhere.

RC8 and RC9 mean "closed after assessment"; the DfE's census rejects them on an episode with a
plan or with section 47 enquiries (rule 2990), so they are refused there.
"""

from __future__ import annotations

from models.lifecycle.codes import CLOSED_TRANSFERRED_OUT
from models.lifecycle.draft import Draft
from models.lifecycle.events import CaseClosed, TransferOut
from models.lifecycle.plan import answer_decision_without_consent, plan_in_force
from models.lifecycle.state import Stage
from models.policy.timescales import PracticeRule

ENDS_A_PLAN_BY_ITSELF = frozenset({"RC1", "RC2", "RC3", "RC4", "RC5", "RC6"})


def transfer_out(d: Draft, e: TransferOut) -> None:
    answer_decision_without_consent(d)
    d.close(CLOSED_TRANSFERRED_OUT)


def case_closed(d: Draft, e: CaseClosed) -> None:
    state = d.state
    if e.reason not in ENDS_A_PLAN_BY_ITSELF:
        if state.stage is Stage.CP_PLAN:
            d.refuse(
                "a CP plan is in force: it ends at a review conference that decides so (Working "
                "Together, discontinuing the plan: cp_review_held with outcome close or cin_plan); "
                f"case_closed expected RC1-RC6, got {e.reason}"
            )
        cited = d.policy_on(d.on).rule(PracticeRule.PLAN_ENDS_AT_REVIEW)
        if cited is not None and plan_in_force(state.stage, state.after_icpc):
            d.refuse(
                f"a CIN plan is in force: it ends at a review that decides so ({cited}: "
                f"review_held with outcome close); case_closed expected RC1-RC6, got {e.reason}"
            )
    had_plan = state.plan_start is not None or state.cp_plan_start is not None
    if had_plan and e.reason in ("RC8", "RC9"):
        d.refuse(
            f"{e.reason} means closed after assessment; the census rejects it on an episode "
            "with a plan: expected RC7 (services ceased) or RC1-RC6"
        )
    if state.had_s47 and e.reason in ("RC8", "RC9"):
        d.refuse(
            f"{e.reason} means closed after assessment; the DfE refuses it on an episode with "
            "section 47 enquiries (rule 2990): expected RC7 (services ceased) or RC1-RC6"
        )
    answer_decision_without_consent(d)
    d.close(e.reason)
