"""The front door: referral or transfer in, the referral decision, the assessment.

Clock starts (DESIGN.md, "What each clock counts from"): the decision and the assessment count from
the referral; "CIN support initiated" (Warwickshire 002 s4.4.2) opens when the assessment agrees
a plan with the family's consent and counts from the initial home visit, met when support starts;
the CIN meeting from the decision that a plan is needed, made with the family's consent (002
L136); "plan in place" (Redbridge 003 s5) from the referral, opened once a plan is decided; the
transfer-in meeting (003 s7) from residence. An escalation waits for the strategy discussion
(`s47_started`), which starts the ICPC's clock on every route. The assessment runs beside s47
enquiries, the ICPC and a CP plan until it completes.
"""

from __future__ import annotations

from dataclasses import replace

from models.lifecycle.codes import (
    CLOSED_NO_FURTHER_ACTION,
    CLOSED_SERVICES_CEASED,
    CLOSED_TO_EARLY_HELP,
    TRANSFER_IN_SOURCE,
)
from models.lifecycle.draft import Draft
from models.lifecycle.events import (
    AssessmentCompleted,
    AssessmentStarted,
    ReferralDecision,
    ReferralReceived,
    SupportStarted,
    TransferIn,
)
from models.lifecycle.plan import await_decision_without_consent, open_plan_decision_clocks
from models.lifecycle.protection import escalate
from models.lifecycle.state import Stage
from models.policy.timescales import TimescaleKind as K


def referral_received(d: Draft, e: ReferralReceived) -> None:
    d.state = replace(
        d.state, referral_date=e.on, referral_source=e.source, primary_need=e.primary_need
    )
    d.move_to(Stage.REFERRAL)
    d.open(K.REFERRAL_DECISION, e.on)


def transfer_in(d: Draft, e: TransferIn) -> None:
    d.state = replace(
        d.state,
        referral_date=e.on,
        referral_source=TRANSFER_IN_SOURCE,
        primary_need=e.primary_need,
        transferred_in=True,
    )
    d.move_to(Stage.PLAN_PENDING)
    d.open(K.TRANSFER_IN_MEETING, e.on)


def referral_decision(d: Draft, e: ReferralDecision) -> None:
    decision = d.find(K.REFERRAL_DECISION)
    if decision is not None:
        d.answer(decision)
    referral = d.state.referral_date
    assert referral is not None  # a case past NEW has one
    if e.outcome == "nfa":
        d.state = replace(d.state, referral_nfa=True)
        d.close(CLOSED_NO_FURTHER_ACTION)
    elif e.outcome == "early_help":
        # Signposted to early help at the front door: no social care action (ReferralNFA = 1).
        d.state = replace(d.state, referral_nfa=True)
        d.close(CLOSED_TO_EARLY_HELP)
    elif e.outcome == "assessment":
        d.move_to(Stage.ASSESSMENT)
        d.state = replace(d.state, assessment_open=True)
        d.open(K.ASSESSMENT_COMPLETED, referral)
    else:
        # Working Together: s47 enquiries are carried out through the child and family
        # assessment, so its clock runs beside the ICPC's; an ICPC without a plan returns to it.
        escalate(d, back_to=Stage.ASSESSMENT)
        d.state = replace(d.state, assessment_open=True)
        d.open(K.ASSESSMENT_COMPLETED, referral)


def _assessment_under_way(d: Draft) -> None:
    if not d.state.assessment_open:
        d.refuse(
            "expected an assessment under way (referral_decision assessment or "
            "strategy_discussion opens one)"
        )


def assessment_started(d: Draft, e: AssessmentStarted) -> None:
    _assessment_under_way(d)
    if d.state.assessment_started is not None:
        d.refuse(f"the assessment already started on {d.state.assessment_started}")
    d.state = replace(d.state, assessment_started=e.on)


def assessment_completed(d: Draft, e: AssessmentCompleted) -> None:
    """The assessment runs beside everything else (DESIGN.md, "A case is several activities at
    once"): it completes in its own stage, during s47 enquiries, or after an ICPC that made a
    child protection plan (Working Together: 45 WD from the referral, whatever else happens)."""
    _assessment_under_way(d)
    started = d.state.assessment_started
    if started is not None and e.on < started:
        d.refuse(f"expected a completion on or after the assessment's start on {started}")
    stage = d.state.stage
    enquiries = stage is Stage.CHILD_PROTECTION and d.state.after_icpc is Stage.ASSESSMENT
    if stage is not Stage.ASSESSMENT and not enquiries and e.outcome in ("nfa", "step_down"):
        d.refuse(
            f"the case is at {stage.value}: a plan or a conference decides what follows; expected "
            "outcome cin_plan or escalate"
        )
    assessment = d.find(K.ASSESSMENT_COMPLETED)
    if assessment is not None:
        d.answer(assessment)
    d.state = replace(d.state, assessment_open=False)
    if enquiries:
        _completed_during_enquiries(d, e)
    elif stage is not Stage.ASSESSMENT:
        d.note(f"the assessment completed beside the {stage.value} stage, which carries on")
    elif e.outcome in ("nfa", "step_down"):
        _close_after_assessment(d, e)
    elif e.outcome == "cin_plan" and not e.consent:
        refuse_consent(d)
    elif e.outcome == "cin_plan":
        d.move_to(Stage.PLAN_PENDING)
        open_plan_decision_clocks(d)
        open_support_clock(d)
    else:
        escalate(d, back_to=Stage.PLAN_PENDING)


def _close_after_assessment(d: Draft, e: AssessmentCompleted) -> None:
    """The case closes when the manager authorises the assessment that closed it (issue 19
    point 3: the census's AssessmentAuthorisationDate is never after CINclosureDate, DfE rule
    8565). RC8/RC9 read "closed after assessment" and the DfE refuses them on an episode with
    section 47 enquiries (rule 2990); such an episode ends with RC7, "services ceased for any
    other reason, including the child no longer being in need" (CODES.md)."""
    reason = CLOSED_NO_FURTHER_ACTION if e.outcome == "nfa" else CLOSED_TO_EARLY_HELP
    if d.state.had_s47:
        d.note(
            f"section 47 enquiries ran in this episode: closed RC7, not {reason} (DfE rule 2990 "
            "refuses RC8/RC9 on an episode with s47 activity)"
        )
        reason = CLOSED_SERVICES_CEASED
    d.close(reason, on=e.authorised)


def _completed_during_enquiries(d: Draft, e: AssessmentCompleted) -> None:
    """The assessment ends while s47 enquiries run: the ICPC decides what follows."""
    if e.outcome in ("nfa", "step_down"):
        d.refuse(
            "s47 enquiries are running: expected outcome cin_plan or escalate (a strategy "
            "discussion deciding no_s47, s47_concluded or the ICPC decides what follows)"
        )
    if e.outcome == "cin_plan" and not e.consent:
        d.state = replace(d.state, after_icpc=Stage.NO_CONSENT, consent_refused=e.on)
        return
    if e.outcome == "cin_plan":
        # the plan was decided today: its meeting is owed from this decision (003 s3)
        open_plan_decision_clocks(d)
        open_support_clock(d)
    d.state = replace(d.state, after_icpc=Stage.PLAN_PENDING)


def open_support_clock(d: Draft) -> None:
    """Warwickshire 002 s4.4.2 (L166): CIN support within 20 WD "following completion of the
    single assessment, if the threshold is agreed and the family consent". The clock opens only
    then; its due date counts from the initial home visit (or, none recorded, from today)."""
    if not d.policy_on(d.on).has(K.CIN_SUPPORT_INITIATED):
        return
    visit = d.state.initial_home_visit
    start = visit if visit is not None else d.on
    if visit is None:
        d.note("no initial home visit recorded: CIN support is counted from the plan decision")
        d.open(K.CIN_SUPPORT_INITIATED, start,
               anchor="plan decision (no initial home visit recorded)")  # fmt: skip
        return
    d.open(K.CIN_SUPPORT_INITIATED, start)


def refuse_consent(d: Draft) -> None:
    """002 L136: no consent, no section 17 plan; the case closes or steps down."""
    d.move_to(Stage.NO_CONSENT)
    d.state = replace(d.state, consent_refused=d.on)
    d.note("the family did not consent to child in need support: no plan clocks open")
    await_decision_without_consent(d)


def support_started(d: Draft, e: SupportStarted) -> None:
    support = d.find(K.CIN_SUPPORT_INITIATED)
    if support is None:
        d.note("no CIN support clock was running; recorded for the timeline")
        return
    if e.on < support.start:
        d.refuse(f"expected a date on or after the initial home visit on {support.start}")
    d.answer(support)
