"""The synthetic caseload the monitor's benchmark loads (monitor_load.py), generated as numpy
arrays and written out as COPY text lines: staff, open cases, their open and closed deadlines,
drift findings. Seeded: the same `LoadSpec` gives the same rows (monitor_load.py says what).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from models.policy.book import PolicyBook
from notifications.ladder import soon_horizon

AS_OF = date(2025, 6, 10)  # a Tuesday
AUTHORITIES = ("redbridge", "stockton-on-tees", "warwickshire", "redcar-and-cleveland")
SHARES = (0.28, 0.22, 0.30, 0.20)  # of the cases, by authority
CASES_PER_WORKER = 25
WORKERS_PER_TEAM = 8
TEAMS_PER_SERVICE_MANAGER = 4
STAGES = ("cin_plan", "assessment", "plan_pending", "step_down_panel")
STAGE_MIX = (0.60, 0.25, 0.10, 0.05)
STAMP = "2025-06-09 18:00:00+00"  # created_at / updated_at of every loaded row


@dataclass(frozen=True)
class LoadSpec:
    cases: int = 403_090
    overdue: int = 18_500  # open deadlines past due on `as_of`
    soon: int = 9_300  # open deadlines due from `as_of` to 2 working days after it
    drift: int = 300  # open drift findings
    as_of: date = AS_OF
    seed: int = 20250610


def _uuid(tag: int, number: int) -> str:
    """A valid, deterministic UUID text per (table tag, row number)."""
    return f"{tag:08x}-0000-4000-8000-{number:012x}"


_CASE, _DEADLINE, _HISTORY, _DRIFT, _RUN = (
    0xCA5E0000,
    0xDEAD0000,
    0xDEAD1000,
    0xD71F0000,
    0x70200000,
)

# open deadline kinds: (kind, what it counts, unit words, anchor words)
_ANCHOR = {
    "first_review": ("6 weeks", "plan start", 42),
    "review": ("6 months", "previous review", 182),
    "visit": ("4 weeks", "previous visit", 28),
    "team_manager_review": ("12 months", "plan start", 365),
    "assessment_completed": ("45 working days", "referral", 63),
    "cin_plan_meeting": ("15 working days", "plan decision", 21),
    "step_down_panel": ("10 working days", "step-down panel request", 14),
    "referral_decision": ("1 working day", "referral", 1),
}


class World:
    """Every generated row, as numpy arrays; text lines are made as they are copied."""

    def __init__(self, spec: LoadSpec, book: PolicyBook) -> None:
        self.spec = spec
        rng = np.random.default_rng(spec.seed)
        n = spec.cases
        self.rng = rng
        self.as_of = spec.as_of
        # authorities as contiguous blocks of case numbers
        counts = [int(n * s) for s in SHARES]
        counts[0] += n - sum(counts)
        self.auth_counts = dict(zip(AUTHORITIES, counts, strict=True))
        self.auth = np.repeat(np.arange(len(AUTHORITIES)), counts)
        self.local = np.concatenate([np.arange(c) for c in counts])  # number within authority
        # workers, teams, managers per authority
        self.workers = [max(1, math.ceil(c / CASES_PER_WORKER)) for c in counts]
        self.teams = [max(1, math.ceil(w / WORKERS_PER_TEAM)) for w in self.workers]
        self.team_count = sum(self.teams)
        worker = np.empty(n, dtype=np.int64)
        start = 0
        for a, c in enumerate(counts):
            worker[start : start + c] = rng.permutation(c) % self.workers[a]
            start += c
        self.worker = worker
        self.team = worker // WORKERS_PER_TEAM
        self.stage = rng.choice(len(STAGES), size=n, p=STAGE_MIX)
        self.reviews_held = rng.integers(0, 6, size=n)  # 0: the first review is owed
        self.visits_done = rng.integers(1, 30, size=n)
        self.referral_ago = rng.integers(30, 700, size=n)
        self.last_seq = 3 + self.reviews_held + self.visits_done
        self._open_deadlines(rng)
        self._history(rng)
        plan_cases = np.flatnonzero(self.stage == 0)
        self.drift_case = rng.choice(
            plan_cases, size=min(spec.drift, len(plan_cases)), replace=False
        )
        self.drift_ago = rng.integers(0, 90, size=len(self.drift_case))
        self.staff_count = sum(
            1 + math.ceil(t / TEAMS_PER_SERVICE_MANAGER) + t + w
            for t, w in zip(self.teams, self.workers, strict=True)
        )
        policy = book.authority(AUTHORITIES[0]).on(spec.as_of)
        calendar = policy.calendar
        horizon = soon_horizon(policy, spec.as_of, 2)
        self.soon_days = [
            d
            for d in range((horizon - spec.as_of).days + 1)
            if calendar.is_working_day(spec.as_of + timedelta(days=d))
        ]
        self._due_offsets(rng)

    # -- open deadlines --

    def _open_deadlines(self, rng: np.random.Generator) -> None:
        """Parallel arrays: case index, kind, key number (0: a one-off clock's plain key)."""
        case_parts: list[np.ndarray] = []
        kind_parts: list[list[str] | np.ndarray] = []
        number_parts: list[np.ndarray] = []
        kinds: list[str] = []

        def add(cases: np.ndarray, kind: str | np.ndarray, number: np.ndarray) -> None:
            case_parts.append(cases)
            if isinstance(kind, str):
                if kind not in kinds:
                    kinds.append(kind)
                kind_parts.append(np.full(len(cases), kinds.index(kind)))
            else:
                kind_parts.append(kind)
            number_parts.append(number)

        for k in ("first_review", "review"):
            kinds.append(k)
        plan = np.flatnonzero((self.stage == 0) | (self.stage == 3))
        review_kind = np.where(self.reviews_held[plan] == 0, 0, 1)  # first_review / review
        add(plan, review_kind, self.reviews_held[plan] + 1)
        add(plan, "visit", self.visits_done[plan] + 1)
        cin_plan = np.flatnonzero(self.stage == 0)
        add(cin_plan, "team_manager_review", np.zeros(len(cin_plan), dtype=np.int64))
        for stage, kind in (
            (1, "assessment_completed"),
            (2, "cin_plan_meeting"),
            (3, "step_down_panel"),
        ):
            cases = np.flatnonzero(self.stage == stage)
            add(cases, kind, np.zeros(len(cases), dtype=np.int64))
        self.kinds = kinds
        self.d_case = np.concatenate(case_parts)
        self.d_kind = np.concatenate(kind_parts)
        self.d_number = np.concatenate(number_parts)
        self.open_count = len(self.d_case)

    def _due_offsets(self, rng: np.random.Generator) -> None:
        """Days from `as_of` of each open deadline's due date: exactly `overdue` before it,
        exactly `soon` from it to the due-soon horizon, the rest later."""
        total = self.open_count
        spec = self.spec
        if spec.overdue + spec.soon > total:
            raise ValueError(f"{spec.overdue + spec.soon} due items asked of {total} deadlines")
        picked = rng.permutation(total)[: spec.overdue + spec.soon]
        later_max = np.where(self.d_kind == self.kinds.index("team_manager_review"), 365, 183)
        offset = rng.integers(3, later_max + 1)
        offset[picked[: spec.overdue]] = -rng.integers(1, 61, size=spec.overdue)
        offset[picked[spec.overdue :]] = rng.choice(self.soon_days, size=spec.soon)
        self.d_offset = offset

    # -- closed history --

    def _history(self, rng: np.random.Generator) -> None:
        """Closed clocks: every case's referral decision; past the assessment, the assessment;
        past the plan meeting, the meeting, the previous visit and (if any) the previous review."""
        parts: list[tuple[np.ndarray, str, np.ndarray]] = []
        everyone = np.arange(self.spec.cases)
        parts.append((everyone, "referral_decision", np.zeros(len(everyone), dtype=np.int64)))
        assessed = np.flatnonzero(self.stage != 1)
        parts.append((assessed, "assessment_completed", np.zeros(len(assessed), dtype=np.int64)))
        plan = np.flatnonzero((self.stage == 0) | (self.stage == 3))
        parts.append((plan, "cin_plan_meeting", np.zeros(len(plan), dtype=np.int64)))
        parts.append((plan, "visit", self.visits_done[plan]))
        reviewed = plan[self.reviews_held[plan] > 0]
        parts.append((reviewed, "review", self.reviews_held[reviewed]))
        self.h_case = np.concatenate([p[0] for p in parts])
        self.h_kind = np.concatenate(
            [np.full(len(p[0]), i) for i, p in enumerate(parts)]
        )  # index into _H_KINDS
        self.h_number = np.concatenate([p[2] for p in parts])
        self.h_kinds = [p[1] for p in parts]
        self.h_ago = rng.integers(20, 700, size=len(self.h_case))
        self.h_status = rng.choice(3, size=len(self.h_case), p=(0.8, 0.15, 0.05))
        self.history_count = len(self.h_case)

    # -- lines --

    def cases_by_authority(self) -> dict[str, int]:
        return dict(self.auth_counts)

    def _team_name(self, a: int, t: int) -> str:
        return team_name(AUTHORITIES[a], t)

    def staff_lines(self) -> Iterator[str]:
        for a, slug in enumerate(AUTHORITIES):
            teams, workers = self.teams[a], self.workers[a]
            domain = f"{slug}.gov.uk"
            yield _row(slug, "hos-1", "Head of Service", f"hos-1@{domain}", "head_of_service",
                       None, None, "t", STAMP)  # fmt: skip
            for s in range(math.ceil(teams / TEAMS_PER_SERVICE_MANAGER)):
                sid = f"sm-{s + 1:03d}"
                yield _row(slug, sid, f"Service Manager {s + 1}", f"{sid}@{domain}",
                           "service_manager", None, "hos-1", "t", STAMP)  # fmt: skip
            for t in range(teams):
                tid = f"tm-{t + 1:03d}"
                sm = f"sm-{t // TEAMS_PER_SERVICE_MANAGER + 1:03d}"
                yield _row(slug, tid, f"Team Manager {t + 1}", f"{tid}@{domain}", "team_manager",
                           self._team_name(a, t), sm, "t", STAMP)  # fmt: skip
            for w in range(workers):
                wid = f"sw-{w + 1:05d}"
                t = w // WORKERS_PER_TEAM
                yield _row(slug, wid, f"Social Worker {w + 1}", f"{wid}@{domain}", "worker",
                           self._team_name(a, t), f"tm-{t + 1:03d}", "t", STAMP)  # fmt: skip

    def case_lines(self, prefixes: dict[str, str]) -> Iterator[str]:
        as_of = self.as_of
        days = _DayText(as_of)
        for i in range(self.spec.cases):
            a = int(self.auth[i])
            slug = AUTHORITIES[a]
            stage = STAGES[int(self.stage[i])]
            seq = int(self.last_seq[i])
            state = (
                f'{{"schema": 1, "stage": "{stage}", "reviews_held": {int(self.reviews_held[i])}}}'
            )
            yield _row(
                _uuid(_CASE, i),
                f"{prefixes[slug]}-{int(self.local[i]) + 1:06d}",
                slug,
                f"C{i + 1:08d}",
                self._team_name(a, int(self.team[i])),
                stage,
                days(-int(self.referral_ago[i])),
                "f",
                state,
                seq,
                seq,
                _uuid(_RUN, i),
                f"sw-{int(self.worker[i]) + 1:05d}",
                STAMP,
                STAMP,
            )

    def open_deadline_lines(self) -> Iterator[str]:
        days = _DayText(self.as_of)
        for j in range(self.open_count):
            i = int(self.d_case[j])
            kind = self.kinds[int(self.d_kind[j])]
            number = int(self.d_number[j])
            key = _key(kind, number)
            offset = int(self.d_offset[j])
            ref = f"{AUTHORITIES[int(self.auth[i])]} v1"
            amount, anchor, length = _ANCHOR[kind]
            why = f"{amount} from {anchor} on {days(offset - length)} under {ref}"
            yield _row(
                _uuid(_DEADLINE, j), _uuid(_CASE, i), key, kind, days(offset), "open", ref, why,
                None, int(self.last_seq[i]), None, 0, 0,
            )  # fmt: skip

    def history_lines(self) -> Iterator[str]:
        days = _DayText(self.as_of)
        statuses = ("met", "met_late", "cancelled")
        for j in range(self.history_count):
            i = int(self.h_case[j])
            kind = self.h_kinds[int(self.h_kind[j])]
            key = _key(kind, int(self.h_number[j]))
            due = -int(self.h_ago[j])
            status = statuses[int(self.h_status[j])]
            met_on = (
                days(due - 2)
                if status == "met"
                else days(due + 5)
                if status == "met_late"
                else None
            )
            ref = f"{AUTHORITIES[int(self.auth[i])]} v1"
            amount, anchor, length = _ANCHOR[kind]
            why = f"{amount} from {anchor} on {days(due - length)} under {ref}"
            seq = int(self.last_seq[i])
            yield _row(
                _uuid(_HISTORY, j), _uuid(_CASE, i), key, kind, days(due), status, ref, why,
                met_on, 1, seq, 0, 0,
            )  # fmt: skip

    def drift_lines(self) -> Iterator[str]:
        days = _DayText(self.as_of)
        for j, i in enumerate(self.drift_case.tolist()):
            since = days(-int(self.drift_ago[j]))
            held = int(self.reviews_held[i]) + 3
            why = (
                "3 reviews in a row decided 'continue' with no change to the plan "
                f"(the latest on {since})"
            )
            yield _row(
                _uuid(_DRIFT, j), _uuid(_CASE, i), f"continues#{held}", "plan_unchanged", since,
                "open", why, int(self.last_seq[i]), None, 0,
            )  # fmt: skip


def team_name(authority: str, number: int) -> str:
    return f"{authority}-team-{number + 1:03d}"


def _key(kind: str, number: int) -> str:
    family = "review" if kind in ("first_review", "review") else kind
    if family in ("review", "visit"):
        return f"{family}#{max(number, 1)}"
    return family


class _DayText:
    """ISO text of `as_of` + offset days, memoised (a few thousand distinct offsets)."""

    def __init__(self, as_of: date) -> None:
        self.as_of = as_of
        self.cache: dict[int, str] = {}

    def __call__(self, offset: int) -> str:
        text = self.cache.get(offset)
        if text is None:
            text = (self.as_of + timedelta(days=offset)).isoformat()
            self.cache[offset] = text
        return text


def _row(*values: object) -> str:
    """One line of COPY text format (no value here holds a tab, newline or backslash)."""
    return "\t".join(r"\N" if v is None else str(v) for v in values) + "\n"
