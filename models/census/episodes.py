"""One case's log folded into its census episode (a `CINdetails` block), as at the reference date.

Pure: no database, no clock. The log is read in date order (ties in the order recorded), as the
lifecycle replays it. Every date comes from an event in the log, and every part keeps the
sequence number of the event that gave it, so a failed DfE rule can name the event to correct.
Events dated after the reference date are not in the return; the closure (date and reason) is the
lifecycle's (the case state's `closed_on`, `closure_reason`), kept when it falls by that date.

How the log maps to the return (each an engine reading of the DfE census guide's items):
- CINreferralDate / ReferralSource / PrimaryNeedCode: `referral_received` (a `transfer_in` is a
  new episode from the day of residence, source 5C "another local authority").
- ReferralNFA: the referral decision was `nfa` or `early_help` (no assessment followed).
- Assessments: start = `assessment_started`, else the decision to assess (`referral_decision`
  assessment or strategy_discussion); authorisation = `assessment_completed`'s `authorised`, else
  its date; factors = its `factors`.
- CINPlanDates: start = the `cin_meeting_held` that agreed the plan; end = the review or final
  meeting that ended it, the ICPC that replaced it with a child protection plan, consent
  withdrawn, or the closure.
- Section47: start = `s47_started` or `strategy_discussion_held` s47 (the strategy discussion; one
  that decided no_s47 writes no block); DateOfInitialCPC = `icpc_held`;
  ICPCnotRequired = `s47_concluded` icpc_not_required.
- ChildProtectionPlans: start = `icpc_held` cp_plan (InitialCategoryOfAbuse its `category`);
  reviews = `cp_review_held` (a `category` there is the latest); end = the CP review that ended it
  or the closure; NumberOfPreviousCPP = the plans this child had in earlier episodes and earlier
  in this one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from models.census.parts import (
    Assessment,
    CpPlan,
    Episode,
    LogEntry,
    PlanDates,
    Section47,
)
from models.census.year import ReferenceDay
from models.lifecycle.codes import TRANSFER_IN_SOURCE

__all__ = ["Assessment", "CpPlan", "Episode", "LogEntry", "PlanDates", "Section47", "fold_episode"]

DECISIONS_TO_ASSESS = ("assessment", "strategy_discussion")


@dataclass(slots=True)
class _Fold:
    episode: Episode
    previous_cp: int
    to_assess: tuple[date, int] | None = None  # the decision to assess (engine default start)
    escalated: tuple[date, int] | None = None  # an escalation awaiting its strategy discussion

    def open_assessment(self) -> Assessment | None:
        found = self.episode.assessments
        return found[-1] if found and found[-1].completed_seq is None else None

    def open_plan(self) -> PlanDates | None:
        plans = self.episode.plans
        return plans[-1] if plans and plans[-1].end is None else None

    def open_s47(self) -> Section47 | None:
        s47s = self.episode.s47s
        return s47s[-1] if s47s and s47s[-1].outstanding else None

    def open_cp(self) -> CpPlan | None:
        cps = self.episode.cp_plans
        return cps[-1] if cps and cps[-1].end is None else None

    def end_plan(self, e: LogEntry) -> None:
        plan = self.open_plan()
        if plan is not None:
            plan.end, plan.end_seq = e.on, e.seq


def fold_episode(
    case_ref: str,
    log: Iterable[LogEntry],
    *,
    state: Mapping[str, Any],
    year: ReferenceDay,
    previous_cp_plans: int = 0,
) -> Episode | None:
    """The case's episode as at the reference date; None if the case opened after it."""
    fold: _Fold | None = None
    last_seq = 0
    # in date order, ties in the order recorded: as the lifecycle replays a log with late entries
    # (models/cases/history.py)
    for entry in sorted(log, key=lambda e: (e.on, e.seq)):
        if entry.on > year.reference_date:
            continue
        last_seq = entry.seq
        if fold is None:
            if entry.type not in ("referral_received", "transfer_in"):
                continue
            source = TRANSFER_IN_SOURCE if entry.type == "transfer_in" else entry.data["source"]
            episode = Episode(case_ref, entry.on, entry.seq, source, entry.data.get("primary_need"))
            fold = _Fold(episode, previous_cp_plans)
            continue
        _STEPS.get(entry.type, _ignore)(fold, entry)
    if fold is None:
        return None
    if fold.to_assess is not None and fold.open_assessment() is None:
        # decided on, not yet started by an event of its own: running from the decision
        fold.episode.assessments.append(Assessment(*fold.to_assess))
    _close(fold, state, year, last_seq)
    return fold.episode


def _close(fold: _Fold, state: Mapping[str, Any], year: ReferenceDay, last_seq: int) -> None:
    closed_on = state.get("closed_on")
    closed = date.fromisoformat(closed_on) if isinstance(closed_on, str) else closed_on
    if closed is None or closed > year.reference_date:
        return
    ep = fold.episode
    ep.closed_on, ep.closure_reason, ep.closure_seq = closed, state.get("closure_reason"), last_seq
    ending = LogEntry(last_seq, "closure", closed, {})
    fold.end_plan(ending)
    cp = fold.open_cp()
    if cp is not None:
        cp.end, cp.end_seq = closed, last_seq


def _ignore(fold: _Fold, e: LogEntry) -> None:
    return None


def _referral_decision(fold: _Fold, e: LogEntry) -> None:
    outcome = e.data.get("outcome")
    fold.episode.decision_seq = e.seq
    if outcome in ("nfa", "early_help"):
        fold.episode.referral_nfa = True
    if outcome in DECISIONS_TO_ASSESS:
        fold.to_assess = (e.on, e.seq)
    if outcome == "strategy_discussion":
        fold.escalated = (e.on, e.seq)


def _assessment_started(fold: _Fold, e: LogEntry) -> None:
    fold.to_assess = None
    if fold.open_assessment() is None:
        fold.episode.assessments.append(Assessment(e.on, e.seq))


def _assessment_completed(fold: _Fold, e: LogEntry) -> None:
    current = fold.open_assessment()
    if current is None:
        start, seq = fold.to_assess or (fold.episode.referral_date, fold.episode.referral_seq)
        current = Assessment(start, seq)
        fold.episode.assessments.append(current)
    authorised = e.data.get("authorised")
    current.authorised = date.fromisoformat(authorised) if authorised else e.on
    current.completed_seq = e.seq
    current.factors = tuple(e.data.get("factors") or ())
    fold.to_assess = None
    if e.data.get("outcome") == "escalate":
        fold.escalated = (e.on, e.seq)


def _cin_meeting_held(fold: _Fold, e: LogEntry) -> None:
    if fold.open_plan() is None and fold.open_cp() is None:
        fold.episode.plans.append(PlanDates(e.on, e.seq))


def _review_held(fold: _Fold, e: LogEntry) -> None:
    if e.data.get("outcome") == "escalate":
        fold.escalated = (e.on, e.seq)


def _s47_started(fold: _Fold, e: LogEntry) -> None:
    fold.escalated = None
    if fold.open_s47() is None:
        fold.episode.s47s.append(Section47(e.on, e.seq))


def _strategy_discussion_held(fold: _Fold, e: LogEntry) -> None:
    if e.data.get("outcome") == "s47":
        _s47_started(fold, e)
    else:  # no enquiries: the escalation did not become a Section47 block
        fold.escalated = None


def _current_s47(fold: _Fold, e: LogEntry) -> Section47:
    s47 = fold.open_s47()
    if s47 is None:  # an escalation recorded before strategy discussions were events of their own
        start, seq = fold.escalated or (e.on, e.seq)
        s47 = Section47(start, seq)
        fold.episode.s47s.append(s47)
        fold.escalated = None
    return s47


def _s47_concluded(fold: _Fold, e: LogEntry) -> None:
    if e.data.get("outcome") == "icpc_not_required":
        s47 = _current_s47(fold, e)
        s47.not_required, s47.concluded_seq = True, e.seq


def _icpc_held(fold: _Fold, e: LogEntry) -> None:
    s47 = _current_s47(fold, e)
    s47.icpc, s47.icpc_seq = e.on, e.seq
    fold.episode.initial_cpc, fold.episode.initial_cpc_seq = e.on, e.seq
    if e.data.get("outcome") != "cp_plan":
        return
    fold.end_plan(e)  # a CIN plan ends when a child protection plan starts (DfE rule 4016)
    category = e.data.get("category")
    earlier = fold.previous_cp + len(fold.episode.cp_plans)
    fold.episode.cp_plans.append(CpPlan(e.on, e.seq, category, category, earlier))


def _cp_review_held(fold: _Fold, e: LogEntry) -> None:
    cp = fold.open_cp()
    if cp is None:
        return
    cp.reviews.append((e.on, e.seq))
    if e.data.get("category"):
        cp.latest_category = e.data["category"]
    if e.data.get("outcome") in ("cin_plan", "close"):
        cp.end, cp.end_seq = e.on, e.seq


def _plan_ends(fold: _Fold, e: LogEntry) -> None:
    fold.end_plan(e)


# the events that open an episode or start or end a CIN or CP plan: with the closure (the case
# state's), all that what is in force on a day reads (in_force.py); of each, its type, outcome and
# place in the log
PLAN_EVENTS = (
    "referral_received",
    "transfer_in",
    "cin_meeting_held",
    "final_meeting_held",
    "consent_withdrawn",
    "icpc_held",
    "cp_review_held",
)

_STEPS = {
    "referral_decision": _referral_decision,
    "assessment_started": _assessment_started,
    "assessment_completed": _assessment_completed,
    "cin_meeting_held": _cin_meeting_held,
    "review_held": _review_held,
    "final_meeting_held": _plan_ends,
    "consent_withdrawn": _plan_ends,
    "s47_started": _s47_started,
    "strategy_discussion_held": _strategy_discussion_held,
    "s47_concluded": _s47_concluded,
    "icpc_held": _icpc_held,
    "cp_review_held": _cp_review_held,
}
