"""One child's rows of Annex A's lists 3 to 7, as at the as-of date. Pure: no database, no clock.

Each of the child's cases is folded exactly as the census return folds it
(`models.census.episodes.fold_episode`, as at the as-of date instead of 31 March), so a date in
Annex A is the date the return gives the same thing. What the census does not keep is read from
the same log here: an assessment's outcome, the visits (seen, seen alone), the case's allocations.

Which rows each list holds (the periods: `models.annex_a.period`):
- List 1: contacts (`contact` rows, not cases) in the period (`models.annex_a.contacts`).
- List 3: referrals (`referral_received`; a transfer in is not a referral) received in the period.
- List 4: assessments started or authorised in the period, or still open on the as-of date.
- List 5: section 47 enquiries started in the period, or whose ICPC fell in it.
- List 6: every episode open on the as-of date, and those closed in the period.
- List 7: child protection plans running on the as-of date, and those ended in the period.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from models.annex_a import spec
from models.annex_a.period import Period
from models.census.episodes import Episode, LogEntry, fold_episode
from models.census.in_force import in_force
from models.census.parts import ALLOCATED
from models.census.writer import ChildRecord

Cell = str | int | date | None
Row = list[Cell]


@dataclass(frozen=True, slots=True)
class CaseLog:
    case_ref: str
    entries: Sequence[LogEntry]
    closed_on: str | None
    closure_reason: str | None
    team: str | None  # who holds it now (the case row)
    worker: str | None


@dataclass(frozen=True, slots=True)
class Visit:
    on: date
    seen: bool
    seen_alone: bool | None


@dataclass(slots=True)
class ChildRows:
    lists: dict[str, list[Row]] = field(default_factory=dict)

    def add(self, name: str, row: Row) -> None:
        self.lists.setdefault(name, []).append(row)


@dataclass(frozen=True, slots=True)
class _Folded:
    case: CaseLog
    episode: Episode
    by_seq: Mapping[int, LogEntry]
    visits: list[Visit]
    referred: bool  # opened by a referral, not a transfer in
    allocations: list[LogEntry]  # dated allocations (models.census.source.ALLOCATED), in order

    def holder(self, on: date) -> tuple[str, str]:
        """The team and worker holding the case on `on`: its latest allocation on or before that
        day; before its first, the team that allocation moved the case from, and no worker. A
        case never allocated: the case row's team, no worker."""
        team, worker = self.case.team, self.case.worker
        if self.allocations:
            team, worker = self.allocations[0].data.get("previous_team"), None
            for e in self.allocations:
                if e.on <= on:
                    team, worker = e.data.get("team"), e.data.get("worker")
        return team or spec.UNALLOCATED, worker or spec.UNALLOCATED

    def seen_between(self, start: date, end: date) -> list[Visit]:
        return [v for v in self.visits if start <= v.on <= end and v.seen]


def child_rows(
    child_ref: str, details: ChildRecord | None, cases: Iterable[CaseLog], period: Period
) -> ChildRows:
    folded = list(_fold_all(cases, period))
    out = ChildRows()
    if not folded:
        return out
    base = _common(child_ref, details, period.as_of)
    disability = [_disability(details)]
    referrals_12m = sum(1 for f in folded if f.referred and period.in_year(f.episode.referral_date))
    s47s_12m = sum(1 for f in folded for s in f.episode.s47s if period.in_year(s.start))
    icpcs_12m = sum(1 for f in folded for s in f.episode.s47s if period.in_year(s.icpc))
    for f in folded:
        ep = f.episode
        if f.referred and period.within(ep.referral_date):
            out.add("List 3", [*base, ep.referral_date, spec.SOURCE.get(ep.source, ep.source),
                               spec.YES if ep.referral_nfa else spec.NO, referrals_12m,
                               *f.holder(ep.referral_date)])  # fmt: skip
        for a in ep.assessments:
            if a.authorised is None or period.within(a.start) or period.within(a.authorised):
                seen = f.seen_between(a.start, a.authorised or period.as_of)
                outcome = f.by_seq[a.completed_seq].data.get("outcome") if a.completed_seq else None
                support = None if outcome is None else _yes(outcome in ("cin_plan", "escalate"))
                out.add("List 4", [*base, *disability, a.start, _yes(bool(seen)), a.authorised,
                                   support, *f.holder(a.start)])  # fmt: skip
        for s in ep.s47s:
            if period.within(s.start) or period.within(s.icpc):
                unnecessary = spec.YES if s.not_required else (spec.NO if s.icpc else None)
                plan = None
                if s.icpc_seq is not None:
                    plan = _yes(f.by_seq[s.icpc_seq].data.get("outcome") == "cp_plan")
                out.add("List 5", [*base, *disability, s.start, unnecessary, s.icpc, plan,
                                   s47s_12m, icpcs_12m, *f.holder(s.start)])  # fmt: skip
        open_on = period.as_of if ep.closed_on is None else ep.closed_on
        if ep.closed_on is None or period.within(ep.closed_on):
            seen = f.seen_between(ep.referral_date, open_on)
            reason = ep.closure_reason
            out.add("List 6", [*base, *disability, ep.referral_date,
                               spec.NEED[ep.primary_need or "N0"],
                               seen[-1].on if seen else None, ep.closed_on,
                               spec.CLOSURE.get(reason, reason) if reason else None,
                               _status(f), *f.holder(open_on)])  # fmt: skip
        for cp in ep.cp_plans:
            if cp.end is None or period.within(cp.end):
                ended = cp.end or period.as_of
                visits = [v for v in f.visits if cp.start <= v.on <= ended]
                last = visits[-1] if visits else None
                alone = None if last is None or last.seen_alone is None else _yes(last.seen_alone)
                out.add("List 7", [*base, *disability, cp.start, _category(cp.initial_category),
                                   _category(cp.latest_category), last.on if last else None,
                                   alone, cp.reviews[-1][0] if cp.reviews else None, cp.end,
                                   spec.UNKNOWN, cp.previous, *f.holder(ended)])  # fmt: skip
    return out


def contact_row(
    child_ref: str, details: ChildRecord | None, on: date, source: str, as_of: date
) -> Row:
    """List 1's row of one contact."""
    return [*_common(child_ref, details, as_of), on, spec.SOURCE.get(source, source)]


def _fold_all(cases: Iterable[CaseLog], period: Period) -> Iterable[_Folded]:
    previous_cp = 0
    for case in cases:
        state = {"closed_on": case.closed_on, "closure_reason": case.closure_reason}
        log = [e for e in case.entries if e.type != ALLOCATED]
        allocations = sorted(
            (e for e in case.entries if e.type == ALLOCATED and e.on <= period.as_of),
            key=lambda e: e.on,
        )
        episode = fold_episode(
            case.case_ref, log, state=state, year=period, previous_cp_plans=previous_cp
        )
        if episode is None:
            continue
        previous_cp += len(episode.cp_plans)
        by_seq = {e.seq: e for e in log}
        visits = sorted(
            (_visit(e) for e in log
             if e.type == "visit_recorded" and e.on <= period.as_of),
            key=lambda v: v.on,
        )  # fmt: skip
        referred = by_seq[episode.referral_seq].type == "referral_received"
        yield _Folded(case, episode, by_seq, visits, referred, allocations)


def _visit(e: LogEntry) -> Visit:
    # a visit recorded without saying whether the child was seen counts as seen (engine default:
    # a statutory visit is to see the child; `--not-seen` records one where they were not)
    seen = e.data.get("seen")
    return Visit(e.on, seen is not False, e.data.get("seen_alone"))


def _common(child_ref: str, details: ChildRecord | None, as_of: date) -> Row:
    if details is None:  # no census details recorded yet: the spec's own "not recorded" codes
        return [child_ref, spec.GENDER_NOT_RECORDED, spec.ETHNICITY_NOT_OBTAINED, None, None]
    born = details.birth_date
    age = None
    if born is not None and born <= as_of:
        age = as_of.year - born.year - ((as_of.month, as_of.day) < (born.month, born.day))
    gender = spec.GENDER.get(details.sex, spec.GENDER_NOT_RECORDED)
    return [child_ref, gender, spec.ETHNICITY.get(details.ethnicity, spec.ETHNICITY_NOT_OBTAINED),
            born, age]  # fmt: skip


def _disability(details: ChildRecord | None) -> str:
    if details is None:
        return spec.UNKNOWN
    return _yes(any(d != "NONE" for d in details.disabilities))


def _status(f: _Folded) -> str:
    ep = f.episode
    now = in_force(ep)  # the report's "on a date" counts read the same (issue 19 point 11)
    if not now.episode:
        return spec.CLOSED_EPISODE
    if now.cp_plan:
        return spec.CP_PLAN
    if now.cin_plan:
        return spec.CIN_PLAN
    last = ep.assessments[-1] if ep.assessments else None
    if last is not None and last.completed_seq is not None:
        if f.by_seq[last.completed_seq].data.get("outcome") == "cin_plan":
            return spec.CIN_PLAN  # assessed as needing a plan, its first meeting not yet held
    return spec.OPEN_ASSESSMENT  # engine default: an open episode with no plan is being assessed


def _category(code: str | None) -> str | None:
    return spec.CATEGORY.get(code) if code else None


def _yes(flag: bool) -> str:
    return spec.YES if flag else spec.NO
