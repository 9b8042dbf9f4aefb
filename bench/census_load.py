"""A large council's census year, synthetic, bulk-loaded into PostgreSQL with COPY.

`load(url, children)` creates the database, migrates it, writes the authority rows, then for each
child draws a seeded history (the mix below) dated in the collection year 2026, runs it through
the pure lifecycle (`models.lifecycle.apply`, the accept path's rules: a refused event ends the
history there) and COPYs the cases (with the state the lifecycle leaves), their event logs and the
children's census details. About one child in eight has a second, earlier episode.

Mix: referral NFA 20%, early help at the front door 10%, assessment closed (NFA or step down)
20%, assessment to a CIN plan with reviews 32% (a third of them closed by a review), s47 to a
child protection plan 10%, transfer in to a plan 8%.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import psycopg
from sqlmodel import Session, create_engine

from bench.monitor_load import REPO, _copy, create_database, libpq_dsn
from models.cases.store import sync_authorities
from models.census.child import upn_check_letter
from models.database import migrate
from models.lifecycle import (
    EventRefused,
    apply,
    event_to_dict,
    initial_state,
    parse_event,
    state_to_dict,
)
from models.policy.book import load_policy_dir

AUTHORITY = "warwickshire"  # DfE LA 937
PREFIX = "WAR"
YEAR_START = date(2025, 4, 1)
STAMP = "2026-04-01 08:00:00+00"
ETHNICITIES = ("WBRI", "WBRI", "WBRI", "WOTH", "MWBC", "AIND", "APKN", "BAFR", "BCRB", "CHNE")
DISABILITIES = ("NONE", "NONE", "NONE", "AUT", "LD", "BEH", "COMM", "MOB", "HEAR", "VIS")
FACTORS = ("1B", "2B", "3A", "3B", "4A", "4B", "5B", "6A", "10A", "11A", "14A", "16A", "17A", "18C")

_CASE_COLUMNS = (
    "id", "case_ref", "authority", "child_ref", "team", "stage", "referral_date", "re_referral",
    "state", "last_seq", "flow_seq", "created_at", "updated_at",
)  # fmt: skip
_EVENT_COLUMNS = (
    "id", "case_id", "seq", "idempotency_key", "event_type", "occurred_on", "payload",
    "recorded_at",
)  # fmt: skip
_CHILD_COLUMNS = (
    "authority", "child_ref", "upn", "upn_unknown", "birth_date", "sex", "ethnicity",
    "disabilities", "updated_at",
)  # fmt: skip


@dataclass(frozen=True)
class Loaded:
    children: int
    cases: int
    events: int
    seconds: float


def _day(d: date) -> str:
    return d.isoformat()


def _history(rng: random.Random, start: date, closing: bool = False) -> list[dict[str, Any]]:
    """One episode's events from `start` (the referral), by the mix in the module docstring;
    `closing`: one that closes within weeks (a child's earlier episode)."""
    day = start

    def after(lo: int, hi: int) -> str:
        nonlocal day
        day = day + timedelta(days=rng.randint(lo, hi))
        return _day(day)

    def factors() -> list[str]:
        return sorted(rng.sample(FACTORS, rng.randint(1, 3)))

    roll = rng.uniform(0.08, 0.58) if closing else rng.random()
    events: list[dict[str, Any]]
    if roll < 0.08:
        events = [{"type": "transfer_in", "on": _day(start), "primary_need": "N1"},
                  {"type": "cin_meeting_held", "on": after(5, 18)}]  # fmt: skip
        events += [{"type": "review_held", "on": after(40, 90), "outcome": "continue"}
                   for _ in range(rng.randint(0, 3))]  # fmt: skip
        return events
    source = rng.choice(("1A", "2A", "3A", "5A", "6", "8"))
    need = rng.choice(("N1", "N1", "N2", "N3", "N4", "N5", "N6", "N8"))
    events = [{"type": "referral_received", "on": _day(start), "source": source,
               "primary_need": need}]  # fmt: skip
    if roll < 0.28:
        return events + [{"type": "referral_decision", "on": after(0, 1), "outcome": "nfa"}]
    if roll < 0.38:
        return events + [{"type": "referral_decision", "on": after(0, 1), "outcome": "early_help"}]
    events += [{"type": "referral_decision", "on": after(0, 1), "outcome": "assessment"},
               {"type": "assessment_started", "on": after(0, 3)}]  # fmt: skip
    if roll < 0.58:
        outcome = rng.choice(("nfa", "step_down"))
        found = ["21"] if outcome == "nfa" and rng.random() < 0.5 else factors()
        return events + [{"type": "assessment_completed", "on": after(10, 40),
                          "outcome": outcome, "factors": found}]  # fmt: skip
    events.append({"type": "assessment_completed", "on": after(10, 40), "outcome": "cin_plan",
                   "factors": factors()})  # fmt: skip
    if roll < 0.68:
        category = rng.choice(("NEG", "PHY", "EMO", "SAB", "MUL"))
        events.append({"type": "s47_started", "on": after(1, 5)})
        icpc = day + timedelta(days=rng.randint(5, 14))
        icpc += timedelta(days=max(0, 7 - icpc.weekday()) if icpc.weekday() >= 5 else 0)
        return events + [
            {"type": "icpc_held", "on": _day(icpc), "outcome": "cp_plan", "category": category}
        ]  # conferences meet on weekdays (DfE 8875)
    events.append({"type": "cin_meeting_held", "on": after(5, 14)})
    reviews = rng.randint(0, 4)
    for n in range(reviews):
        last = n == reviews - 1 and rng.random() < 0.33
        events.append({"type": "review_held", "on": after(35, 80),
                       "outcome": "close" if last else "continue"})  # fmt: skip
    return events


class _World:
    def __init__(self, children: int, seed: int) -> None:
        self.children = children
        self.rng = random.Random(seed)
        self.policy = load_policy_dir(REPO / "policies").authority(AUTHORITY)
        self.cases: list[str] = []
        self.events: list[str] = []
        self.child_rows: list[str] = []
        self.case_count = 0

    def build(self) -> None:
        for c in range(self.children):
            child_ref = f"WC{c + 1:07d}"
            starts = [YEAR_START + timedelta(days=self.rng.randint(0, 340))]
            if self.rng.random() < 0.125:  # an earlier episode, closed before this one
                starts.insert(0, starts[0] - timedelta(days=self.rng.randint(200, 500)))
            for n, start in enumerate(starts):
                self._episode(child_ref, start, closing=n < len(starts) - 1)
            self.child_rows.append(self._child(child_ref, c))

    def _episode(self, child_ref: str, start: date, closing: bool) -> None:
        state = initial_state()
        case_id = uuid.UUID(int=self.rng.getrandbits(128), version=4)
        logged: list[dict[str, Any]] = []
        for raw in _history(self.rng, start, closing):
            if date.fromisoformat(raw["on"]) > date(2026, 3, 31):
                break
            try:
                event = parse_event(raw)
                state = apply(state, event, self.policy).state
            except EventRefused:
                break
            logged.append(event_to_dict(event))  # as the event log stores it
        if not logged:
            return
        self.case_count += 1
        ref = f"{PREFIX}-{self.case_count:06d}"
        for seq, raw in enumerate(logged, start=1):
            payload = json.dumps(raw)
            self.events.append(_row(uuid.uuid4(), case_id, seq, f"bench-{seq}", raw["type"],
                                    raw["on"], payload, STAMP))  # fmt: skip
        self.cases.append(_row(case_id, ref, AUTHORITY, child_ref, "east", state.stage.value,
                               logged[0]["on"], "f", json.dumps(state_to_dict(state)),
                               len(logged), len(logged), STAMP, STAMP))  # fmt: skip

    def _child(self, child_ref: str, n: int) -> str:
        born = date(2008, 1, 1) + timedelta(days=self.rng.randint(0, 6000))
        body = f"937{born.year % 100:02d}{n % 1_000_000:06d}0"
        upn = upn_check_letter("?" + body) + body if self.rng.random() < 0.9 else None
        disabilities = json.dumps([self.rng.choice(DISABILITIES)])
        return _row(AUTHORITY, child_ref, upn, None if upn else "UN5", _day(born),
                    self.rng.choice("MF"), self.rng.choice(ETHNICITIES), disabilities,
                    STAMP)  # fmt: skip


def _row(*values: object) -> str:
    def text(v: object) -> str:
        if v is None:
            return r"\N"
        return str(v).replace("\\", "\\\\")

    return "\t".join(text(v) for v in values) + "\n"


def load(url: str, children: int, seed: int = 2026) -> Loaded:
    t0 = time.perf_counter()
    create_database(url)
    migrate(url)
    engine = create_engine(url)
    with Session(engine) as session:
        sync_authorities(session, policies=load_policy_dir(REPO / "policies"))
    engine.dispose()
    world = _World(children, seed)
    world.build()
    with psycopg.connect(libpq_dsn(url)) as conn:
        _copy(conn, "case", _CASE_COLUMNS, iter(world.cases))
        _copy(conn, "case_event", _EVENT_COLUMNS, iter(world.events))
        _copy(conn, "child", _CHILD_COLUMNS, iter(world.child_rows))
        conn.commit()
    with psycopg.connect(libpq_dsn(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return Loaded(children, world.case_count, len(world.events), time.perf_counter() - t0)
