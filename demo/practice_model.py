"""A model of what councils lawfully do, written from the seeds and Working Together, not from the
engine's state machine (issue 19's property). It holds a case as its open activities, as practice
does (DESIGN.md, "A case is several activities at once"), and draws the next thing a council
would record, dated in calendar days after the last.

What it knows, and from where:
- the front door decides within a working day: no further action, early help, a single
  assessment, or a strategy discussion (Working Together 2023 ch.2);
- the assessment runs until it completes (45 WD, Working Together), whatever else happens:
  section 47 enquiries and an ICPC happen alongside it, and it may complete after the ICPC;
- a strategy discussion decides on s47 enquiries or none (Working Together ch.2); enquiries end
  with an ICPC (a CP plan or none) or "ICPC not required";
- after enquiries with no plan the outcomes are the council's (Stockton 001 L353-355): a CIN
  plan, step down or close; an NFA is closed when its assessment is authorised, which may be days
  later;
- a CIN plan: meeting, copies, reviews (Redbridge 003 s3-s5), visits, a step-down panel and a
  final meeting (003 s8), consent withdrawn (002 L136), a review that ends it (003 L146);
- a CP plan: core group, reviews at 3 then 6 months (Working Together), stepping down to a CIN
  plan or ending at a review;
- a family may refuse consent to a CIN plan (002 L136); the council then closes the case;
- a child moves in from another authority (transfer in, 003 s7) or away (transfer out, RC5);
- late entries, as a worker writes up what happened days before: a visit recorded after other
  events but dated earlier (on or after the CIN meeting of the plan, or the ICPC of the CP plan, it
  belongs to), and a first core group recorded after a visit that followed it.

`Chooser` abstracts the randomness, so hypothesis (shrinking) or `random.Random` (the bench) drive
the same model. Each history is a list of event dicts as `parse_event` reads them. Used by issue
19's property tests (tests/models/lifecycle/test_practice_property.py,
tests/models/census/test_practice_return.py) and bench/practice_bench.py.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, TypeVar

from models.lifecycle import EVENT_TYPES, CaseState, EventRefused, apply, parse_event
from models.policy.timescales import PolicyTimeline

T = TypeVar("T")


@dataclass
class Chooser:
    pick_fn: Callable[[Sequence[Any]], Any]
    int_fn: Callable[[int, int], int]

    def pick(self, options: Sequence[T]) -> T:
        result: T = self.pick_fn(options)
        return result

    def days(self, low: int, high: int) -> int:
        return self.int_fn(low, high)

    def chance(self, percent: int) -> bool:
        return self.int_fn(1, 100) <= percent


@dataclass
class Practice:
    """One episode of practice; `events` is what the council records, in order."""

    choose: Chooser
    day: date
    events: list[dict[str, Any]] = field(default_factory=list)
    # the open activities
    assessment: bool = False
    strategy_owed: str | None = None  # "assessment" | "assessed" | "plan": where it came from
    enquiry: str | None = None  # where s47 enquiries came from, while they run
    decided_plan: bool = False  # an assessment decided a CIN plan (meeting owed)
    plan: bool = False  # a CIN plan in force
    panel: str | None = None  # "asked" | "accepted"
    cp_plan: bool = False
    core_group_owed: bool = False
    awaiting_council: bool = False  # enquiries ended, no plan decided yet
    no_consent: bool = False
    had_s47: bool = False
    had_plan: bool = False  # a CIN or CP plan in this episode: RC8/RC9 do not apply
    plan_since: date | None = None  # the CIN meeting of the plan in force
    cp_since: date | None = None  # the ICPC of the CP plan in force
    closed: bool = False

    def emit(self, kind: str, gap: tuple[int, int] = (1, 10), **fields: Any) -> None:
        """Record `kind` some days on, on a weekday: conferences and meetings are not held at
        weekends (the DfE's rule 8875 refuses an ICPC on one)."""
        self.day += timedelta(days=self.choose.days(*gap))
        while self.day.weekday() >= 5:
            self.day += timedelta(days=1)
        self.events.append({"type": kind, "on": self.day.isoformat(), **fields})

    # -- the front door ----------------------------------------------------------------------

    def open(self, transfer_in: bool) -> None:
        while self.day.weekday() >= 5:
            self.day += timedelta(days=1)
        need = self.choose.pick(["N1", "N2", "N4", "N8"])  # recorded once a need is known
        if transfer_in:
            self.events.append(
                {"type": "transfer_in", "on": self.day.isoformat(), "primary_need": need}
            )
            self.decided_plan = True  # 003 s7: a CIN meeting within 20 WD of residence
            return
        source = self.choose.pick(["1A", "2A", "3A", "5A", "6", "10"])
        self.events.append(
            {
                "type": "referral_received",
                "on": self.day.isoformat(),
                "source": source,
                "primary_need": need,
            }
        )
        outcome = self.choose.pick(
            ["nfa", "early_help", "assessment", "assessment", "assessment", "strategy_discussion"]
        )
        self.emit("referral_decision", (0, 1), outcome=outcome)
        if outcome in ("nfa", "early_help"):
            self.closed = True
        elif outcome == "assessment":
            self.assessment = True
        else:
            self.assessment = True
            self.strategy_owed = "assessment"

    # -- one step ----------------------------------------------------------------------------

    def step(self) -> None:
        """Record the next thing the council does."""
        c = self.choose
        if self.strategy_owed is not None:
            self.strategy_discussion()
        elif self.enquiry is not None:
            self.enquiries()
        elif self.cp_plan:
            self.protection()
        elif self.assessment and not self.plan and not self.decided_plan:
            self.assess()
        elif self.awaiting_council:
            self.council_decides()
        elif self.no_consent:
            self.emit("case_closed", (1, 20), reason=self.closing_reason())
            self.closed = True
        elif self.decided_plan:
            self.meeting()
        elif self.plan:
            self.planning()
        else:  # nothing open: the case closes
            self.emit("case_closed", (1, 10), reason="RC7")
            self.closed = True
        in_progress = self.assessment or self.enquiry or self.strategy_owed
        if not self.closed and not in_progress and c.chance(2):
            # a family moves away; the council first completes the assessment and concludes
            # any enquiries (the DfE refuses a closed episode without them: rules 8867, 8868)
            self.emit("transfer_out", (1, 30))
            self.closed = True

    def closing_reason(self) -> str:
        if self.had_s47 or self.had_plan:  # DfE rule 2990: RC8/RC9 only with no activity
            return "RC7"
        return self.choose.pick(["RC7", "RC8"])

    def assess(self) -> None:
        c = self.choose
        if c.chance(15):
            self.emit("visit_recorded", (1, 8))
        if c.chance(8):  # new information: a strategy discussion during the assessment
            self.strategy_owed = "assessment"
            return
        authorised: dict[str, Any] = {}
        outcome = c.pick(["nfa", "step_down", "cin_plan", "cin_plan", "escalate"])
        consent = not c.chance(10)
        self.emit("assessment_completed", (5, 40), outcome=outcome, consent=consent,
                  factors=["21"] if outcome == "nfa" and not self.had_s47 else ["3B"],
                  **authorised)  # fmt: skip
        self.assessment = False
        if outcome in ("nfa", "step_down"):
            if c.chance(30):  # authorised days later: the case closes then (issue 19 point 3)
                last = self.events[-1]
                later = self.day + timedelta(days=c.days(1, 5))
                last["authorised"] = later.isoformat()
                self.day = later
            self.closed = True
        elif outcome == "cin_plan" and not consent:
            self.no_consent = True
        elif outcome == "cin_plan":
            self.decided_plan = True
        else:
            self.strategy_owed = "assessed"

    def strategy_discussion(self) -> None:
        c = self.choose
        came_from = self.strategy_owed
        self.strategy_owed = None
        s47 = c.chance(75)
        # a day or more after what prompted it: never on the day of an earlier ICPC (the DfE's
        # rule 8890 reads an s47 starting on or before another's ICPC as overlapping it)
        if c.chance(50) and s47:
            self.emit("s47_started", (1, 3))
        else:
            self.emit("strategy_discussion_held", (1, 3), outcome="s47" if s47 else "no_s47")
        if s47:
            self.enquiry = came_from
            self.had_s47 = True
        elif came_from == "assessed":
            self.awaiting_council = True
        # from an assessment or a plan: that activity simply carries on

    def enquiries(self) -> None:
        c = self.choose
        came_from = self.enquiry
        if came_from == "assessment" and self.assessment and c.chance(30):
            # the assessment completes while enquiries run; the conference decides what follows
            self.emit("assessment_completed", (1, 8), outcome="escalate", factors=["3B"])
            self.assessment = False
            came_from = self.enquiry = "assessed"
        if c.chance(20):
            self.emit("s47_concluded", (3, 12), outcome="icpc_not_required")
            plan = False
        else:
            plan = c.chance(55)
            fields: dict[str, Any] = {"category": c.pick(["NEG", "EMO", "PHY"])} if plan else {}
            self.emit("icpc_held", (3, 14), outcome="cp_plan" if plan else "no_plan", **fields)
        self.enquiry = None
        if plan:
            self.cp_plan = self.had_plan = True
            self.cp_since = self.day
            self.core_group_owed = True
            self.plan = False  # a CP plan replaces a CIN plan
            self.panel = None
            self.decided_plan = False
        elif came_from == "assessed":
            self.awaiting_council = True
        # from "assessment": the assessment goes on; from "plan": the plan goes on

    def protection(self) -> None:
        c = self.choose
        if self.core_group_owed:
            self.core_group_owed = False
            if c.chance(30):  # a late entry: a visit first, then the core group held before it
                self.emit("visit_recorded", (3, 9))
                self.late("core_group_held", since=self.cp_since)
            else:
                self.emit("core_group_held", (2, 9))
            return
        if self.assessment:  # the assessment completes beside the CP plan (issue 19 point 1)
            self.emit("assessment_completed", (1, 20), outcome="escalate", factors=["3B"])
            self.assessment = False
            return
        if c.chance(30):
            if c.chance(25):  # a late entry: a visit to the child on the plan, written up late
                self.late("visit_recorded", since=self.cp_since)
            else:
                self.emit("visit_recorded", (5, 14))
            return
        outcome = c.pick(["continue", "continue", "cin_plan", "close"])
        self.emit("cp_review_held", (30, 95), outcome=outcome)
        if outcome == "cin_plan":
            self.cp_plan = False
            self.decided_plan = True
        elif outcome == "close":
            self.closed = True

    def council_decides(self) -> None:
        self.awaiting_council = False
        if self.choose.chance(60):
            self.decided_plan = True
        else:
            self.emit("case_closed", (1, 10), reason=self.closing_reason())
            self.closed = True

    def meeting(self) -> None:
        c = self.choose
        if c.chance(8):
            self.emit("consent_withdrawn", (1, 10))
            self.decided_plan = False
            self.no_consent = True
            return
        frequency = c.pick([None, {"amount": 2, "unit": "weeks"}, {"amount": 4, "unit": "weeks"}])
        fields = {} if frequency is None else {"visit_frequency": frequency}
        self.emit("cin_meeting_held", (3, 18), **fields)
        self.decided_plan = False
        self.plan = self.had_plan = True
        self.plan_since = self.day

    def late(self, kind: str, *, since: date | None) -> None:
        """A late entry: `kind` recorded today but dated some days ago (on or after `since`, the
        start of what it belongs to), after other events were recorded; the day of the record
        does not move."""
        assert since is not None
        made = max(since, self.day - timedelta(days=self.choose.days(1, 10)))
        self.events.append({"type": kind, "on": made.isoformat()})

    def planning(self) -> None:
        c = self.choose
        if self.panel == "asked":
            accepted = c.chance(70)
            self.emit("step_down_panel", (3, 12), outcome="accepted" if accepted else "rejected")
            self.panel = "accepted" if accepted else None
            return
        if self.panel == "accepted":
            self.emit("final_meeting_held", (3, 15))
            self.closed = True
            return
        roll = c.days(1, 100)
        if roll <= 5:
            self.late("visit_recorded", since=self.plan_since)
        elif roll <= 20:
            self.emit("visit_recorded", (3, 14))
        elif roll <= 30:
            self.emit("plan_distributed", (1, 10))
        elif roll <= 33:
            self.emit("consent_withdrawn", (5, 30))
            self.plan = False
            self.no_consent = True
        elif roll <= 36:
            self.strategy_owed = "plan"  # a review may escalate, or enquiries start directly
            self.emit("review_held", (20, 60), outcome="escalate")
        else:
            outcome = c.pick(["continue", "continue", "change", "step_down_panel", "close"])
            self.emit("review_held", (20, 90), outcome=outcome)
            if outcome == "close":
                self.closed = True
            elif outcome == "step_down_panel":
                self.panel = "asked"


def practice_history(
    choose: Chooser, start: date, *, transfer_in: bool = False, max_events: int = 40
) -> list[dict[str, Any]]:
    """One lawful episode: opened on `start`, recorded until it closes or `max_events`."""
    case = Practice(choose, start)
    case.open(transfer_in)
    while not case.closed and len(case.events) < max_events:
        case.step()
    return case.events


# The DfE queries a lawful history may raise, each explained in docs/practice.md
EXPLAINED_QUERIES = frozenset({"2991Q", "8670Q", "8675Q", "8530Q", "8770Q"})
COUNCILS = ("redbridge", "redcar-and-cleveland", "stockton-on-tees", "warwickshire")
# One record of each event type and outcome: what a council could record on any day.
_OUTCOMES: dict[str, dict[str, list[Any]]] = {
    "referral_received": {"source": ["2A"]},
    "referral_decision": {"outcome": ["nfa", "early_help", "assessment", "strategy_discussion"]},
    "assessment_completed": {"outcome": ["nfa", "step_down", "cin_plan", "escalate"]},
    "review_held": {"outcome": ["continue", "change", "step_down_panel", "escalate", "close"]},
    "step_down_panel": {"outcome": ["accepted", "rejected"]},
    "icpc_held": {"outcome": ["cp_plan", "no_plan"]},
    "s47_concluded": {"outcome": ["icpc_required", "icpc_not_required"]},
    "strategy_discussion_held": {"outcome": ["s47", "no_s47"]},
    "cp_review_held": {"outcome": ["continue", "cin_plan", "close"]},
    "case_closed": {"reason": ["RC7"]},
}
CANDIDATES: list[dict[str, Any]] = [
    {"type": kind, **{name: value}}
    for kind in EVENT_TYPES
    for name, values in (_OUTCOMES.get(kind) or {"": [None]}).items()
    for value in values
]
for _record in CANDIDATES:
    _record.pop("", None)


def meetable_now(state: CaseState, today: date, policy: PolicyTimeline) -> set[str]:
    """The deadline keys some event, legal today, would meet (issue 8 point 5)."""
    met: set[str] = set()
    for record in CANDIDATES:
        event = parse_event({**record, "on": today.isoformat()})
        try:
            transition = apply(state, event, policy)
        except EventRefused:
            continue
        met |= {c.key for c in transition.changes if c.action.value in ("met", "met_late")}
    return met


def practice_children(seed: int, children: int) -> list[list[list[dict[str, Any]]]]:
    """`children` children's episodes (some referred again) opened in 2025-26's census year or
    the quarter before it, from `seed`."""
    rng = random.Random(seed)
    choose = Chooser(rng.choice, rng.randint)
    result = []
    for _ in range(children):
        start = date(2025, 1, 6) + timedelta(days=rng.randint(0, 380))
        episodes = []
        for _ in range(rng.choice([1, 1, 1, 2])):  # some children are referred again
            events = practice_history(choose, start, transfer_in=rng.random() < 0.08)
            episodes.append(events)
            last = max(date.fromisoformat(str(e.get("authorised") or e["on"])) for e in events)
            start = last + timedelta(days=rng.randint(1, 120))
        result.append(episodes)
    return result
