"""A synthetic caseload: deterministic, realistic histories for the demo, the import and benchmarks.

    records = generate_caseload(authorities=["redbridge", "warwickshire"], cases=200,
                                start=date(2024, 4, 1), days=365, seed=7, policies=book)
    Path("caseload.jsonl").write_text(to_jsonl(records))   # then: cin import caseload.jsonl

Pure: no Prefect, no database, no clock. Children are synthetic ("SYN000123"), never named. Each
case is written event by event against the real lifecycle and its authority's real policy
(`demo.caseload_story`), with the mix of outcomes in `demo.caseload_mix` (sources cited there).
A record carries the day the recording system sends it, which can be days or weeks after the event
(a late record); a child's records are sent in order, so a late one holds back those after it.
Nothing is sent after the horizon (`start + days`), so every event is dated on or before it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from random import Random
from typing import Any

from demo import caseload_mix as mix
from demo.caseload_story import simulate_episode
from demo.census_demo import with_census_fields
from models.lifecycle import is_re_referral
from models.policy.book import PolicyBook


@dataclass(frozen=True, slots=True)
class CaseloadRecord:
    recorded_on: date  # the day the recording system sends it (on or after the event's `on`)
    authority: str
    child_ref: str  # synthetic: "SYN000123"
    team: str
    case_key: str  # ties one case's records together before it has a case reference: "c00042"
    event: dict[str, Any]  # as `parse_event` accepts it
    key: str  # idempotency key

    @property
    def on(self) -> date:
        return date.fromisoformat(self.event["on"])

    def line(self) -> dict[str, Any]:
        """The `cin import` line: addressed to the child's open case in the authority."""
        return {
            "authority": self.authority,
            "child": self.child_ref,
            "team": self.team,
            **self.event,
            "key": self.key,
        }


def generate_caseload(
    *,
    authorities: Sequence[str],
    cases: int,
    start: date,
    days: int,
    seed: int,
    policies: PolicyBook,
    volumes: Mapping[str, int] | None = None,
) -> list[CaseloadRecord]:
    """`cases` cases (a child's re-referral is a case of its own) opened from `start` on.

    Children are spread over `authorities` in turn, and their first referral over the `days`.
    With `volumes` (cases per authority, e.g. `caseload_mix.scaled_volumes`), each authority gets
    exactly its number of cases instead, and `cases` must be their sum: each next child goes to
    the authority furthest from its share so far, so every council's referrals spread over the
    whole span.
    Sorted by the day sent; records sent the same day keep the order they were written in (child
    by child, a child's cases and events in order), so importing in this order replays them.
    """
    if not authorities:
        raise ValueError("expected at least one authority")
    if volumes is not None and (set(volumes) != set(authorities) or sum(volumes.values()) != cases):
        raise ValueError(
            "volumes: expected cases per authority for each authority, summing to cases"
        )
    horizon = start + timedelta(days=days)
    records: list[CaseloadRecord] = []
    made = child = 0
    made_in: Counter[str] = Counter()
    while made < cases:
        if volumes is None:
            authority, room = authorities[child % len(authorities)], cases - made
        else:
            authority = min(
                (a for a in authorities if made_in[a] < volumes[a]),
                key=lambda a: (made_in[a] / volumes[a], authorities.index(a)),
            )
            room = volumes[authority] - made_in[authority]
        written = _child_records(child, authority, room, start, horizon, seed, policies)
        new_cases = len({r.case_key for r in written})
        made += new_cases
        made_in[authority] += new_cases
        records.extend(written)
        child += 1
        if child > 50 * cases + 100:  # every opening refused: the policies do not cover `start`
            raise ValueError(f"no case could be opened from {start} under these policies")
    records.sort(key=lambda record: record.recorded_on)  # stable: keeps the writing order
    return records


def _child_records(
    child: int,
    authority: str,
    room: int,
    start: date,
    horizon: date,
    seed: int,
    policies: PolicyBook,
) -> list[CaseloadRecord]:
    """One child's cases: the first referral, then re-referrals while the child's cases close."""
    timeline = policies.authority(authority)
    rng = Random(f"{seed}:{child}")  # one stream per child: adding children changes no other
    child_ref = f"SYN{child + 1:06d}"  # letters and digits: the census LAchildID (rule 1580)
    opens_on = start + timedelta(days=rng.randint(0, (horizon - start).days))
    transfer_in = rng.random() < mix.TRANSFER_IN
    sent = date.min  # the child's records go out in order
    team: str | None = None
    records: list[CaseloadRecord] = []
    for number in range(min(mix.MAX_CASES_PER_CHILD, room)):
        episode = simulate_episode(
            rng, timeline, opens_on=opens_on, horizon=horizon, transfer_in=transfer_in
        )
        team = team or mix.team_for(rng, authority, episode.primary_need)
        case_key = f"c{child:05d}-{number + 1}"
        for seq, event in enumerate(episode.events, start=1):
            on = date.fromisoformat(event["on"])
            sent = max(sent, on + timedelta(days=mix.pick_days(rng, mix.RECORDING_DELAY)))
            if sent > horizon:
                break
            key = f"syn{seed}-{case_key}-{seq:03d}"
            event = with_census_fields(event, key)  # factors, abuse category (issue 10)
            records.append(CaseloadRecord(sent, authority, child_ref, team, case_key, event, key))
        closed_on = episode.state.closed_on
        rate = mix.RE_REFERRAL.get(authority, mix.RE_REFERRAL_DEFAULT)
        if closed_on is None or sent > horizon or rng.random() >= rate:
            break
        opens_on = closed_on + timedelta(days=mix.pick_days(rng, mix.RE_REFERRAL_DAYS))
        transfer_in = False
    return records


def to_jsonl(records: Sequence[CaseloadRecord]) -> str:
    """One JSON object a line, in record order, as `cin import` reads them."""
    return "".join(json.dumps(r.line(), separators=(",", ":")) + "\n" for r in records)


def mix_summary(records: Sequence[CaseloadRecord]) -> dict[str, Any]:
    """What a caseload holds: cases, events by type, late records and re-referrals."""
    referrals: dict[tuple[str, str], list[date]] = {}
    for r in records:
        if r.event["type"] == "referral_received":
            referrals.setdefault((r.authority, r.child_ref), []).append(r.on)
    re_referrals = sum(
        is_re_referral(dates[:i], day)
        for dates in referrals.values()
        for i, day in enumerate(dates)
    )
    delays = [(r.recorded_on - r.on).days for r in records]
    return {
        "cases": len({r.case_key for r in records}),
        "children": len({(r.authority, r.child_ref) for r in records}),
        "records": len(records),
        "events": dict(sorted(Counter(r.event["type"] for r in records).items())),
        "re_referrals": re_referrals,
        "late_records": sum(d > 0 for d in delays),
        "late_by_a_week_or_more": sum(d >= 7 for d in delays),
    }
