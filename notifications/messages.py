"""The words of an alert and of a digest. Case references, dates, rules and links only: never a
child's reference, name or any other personal data, and never a staff member's name or address
(the recipient is addressed by role)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from models.alerts_store import DueItem
from models.case_view import overdue_since
from models.policy import ResolvedPolicy
from models.policy_schema import Role
from notifications.ladder import DRIFT, DUE_SOON, DUE_TODAY, Notice, ladder

WHAT: dict[str, str] = {
    "referral_decision": "referral decision",
    "assessment_completed": "assessment",
    "cin_support_initiated": "CIN support initiated",
    "cin_plan_meeting": "CIN plan meeting",
    "plan_distributed": "plan copies distributed",
    "plan_in_place": "CIN plan in place",
    "first_review": "first CIN plan review",
    "review": "CIN plan review",
    "team_manager_review": "team-manager-chaired review (plan open 12 months)",
    "review_chair": "review after 12 months not chaired by a team manager or senior practitioner",
    "visit": "visit",
    "step_down_panel": "step-down panel decision",
    "icpc": "initial child protection conference",
    "first_cp_review": "first child protection review",
    "cp_review": "child protection review",
    "transfer_in_meeting": "transfer-in CIN meeting",
    "plan_unchanged": "plan unchanged after 3 'continue' reviews",
}

ROLE_WORDS: dict[Role, str] = {
    Role.WORKER: "allocated worker",
    Role.TEAM_MANAGER: "team manager",
    Role.SERVICE_MANAGER: "service manager",
    Role.HEAD_OF_SERVICE: "head of service",
}


def what(kind: str) -> str:
    return WHAT.get(kind, kind.replace("_", " "))


def run_link(ui_url: str, flow_run_id: uuid.UUID | None) -> str:
    base = ui_url.rstrip("/")
    if flow_run_id is None:
        return f"{base}/runs (the case run has not started yet)"
    return f"{base}/runs/flow-run/{flow_run_id}"


def working_days(count: int) -> str:
    return f"{count} working day{'' if count == 1 else 's'}"


def state_words(item: DueItem, notice: Notice) -> str:
    if notice.notice == DUE_SOON:
        return f"due soon, on {item.due.isoformat()}"
    if notice.notice == DUE_TODAY:
        return f"due today, {item.due.isoformat()}"
    if notice.notice == DRIFT:
        return f"drifting since {item.due.isoformat()} ({working_days(notice.working_days)})"
    return (
        f"overdue since {overdue_since(item.due).isoformat()} "
        f"({working_days(notice.working_days)}; due {item.due.isoformat()})"
    )


def headline(item: DueItem, notice: Notice) -> str:
    return f"{item.case_ref}: {what(item.kind)} {state_words(item, notice)}"


def subject(item: DueItem, notice: Notice, *, urgent: bool) -> str:
    flag = "URGENT " if urgent else ""
    return f"[CIN] {flag}{headline(item, notice)}"


def rule(item: DueItem, policy: ResolvedPolicy) -> str:
    timescale = policy.timescales.get(item.kind)  # type: ignore[call-overload]
    cited = f" ({timescale.cited})" if timescale is not None else ""
    return f"{item.policy_ref}{cited}"


def body(item: DueItem, notice: Notice, policy: ResolvedPolicy, ui_url: str) -> str:
    rungs = ladder(policy)
    lines = [
        f"Case: {item.case_ref} ({item.authority}, team {item.team or 'unallocated'})",
        f"What: {what(item.kind)} [{item.key}]",
        f"State: {state_words(item, notice)}",
        f"Rule: {rule(item, policy)}",
        f"Counted: {item.explanation}",
    ]
    if notice.level == 0:
        lines.append(f"Told: the {ROLE_WORDS[notice.role]} (a reminder)")
    else:
        told = f"Told: the {ROLE_WORDS[notice.role]} (rung {notice.level} of {len(rungs)})"
        if notice.level < len(rungs):
            step = rungs[notice.level]
            told += (
                f"; next the {ROLE_WORDS[step.role]} after "
                f"{working_days(max(1, step.after_working_days_overdue))} overdue"
            )
        lines.append(told)
    lines.append(f"Flow run: {run_link(ui_url, item.flow_run_id)}")
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class DigestLine:
    team: str | None
    case_ref: str
    headline: str
    rule: str
    link: str


DIGEST_FOR: dict[str, str] = {
    "team": "your team's channel",
    Role.WORKER.value: "your cases",
    Role.TEAM_MANAGER.value: "your team",
    Role.SERVICE_MANAGER.value: "your teams",
    Role.HEAD_OF_SERVICE.value: "your service",
}


def digest(day: date, lines: Sequence[DigestLine], *, audience: str) -> tuple[str, str]:
    """One day's digest for one recipient: (subject, body), grouped by team then case.
    `audience` is the recipient's role, or "team" for a team's Teams channel."""
    count = len(lines)
    noun = "item" if count == 1 else "items"
    who = DIGEST_FOR.get(audience, "you")
    title = f"[CIN] Daily digest {day.isoformat()}: {count} {noun} for {who}"
    by_team: dict[str, list[DigestLine]] = defaultdict(list)
    for line in lines:
        by_team[line.team or "unallocated"].append(line)
    out = [f"Late and due work on {day.isoformat()} ({count} {noun}).", ""]
    for team in sorted(by_team):
        out.append(f"Team {team}:")
        for line in sorted(by_team[team], key=lambda x: (x.case_ref, x.headline)):
            out.append(f"- {line.headline}")
            out.append(f"  rule: {line.rule}")
            out.append(f"  {line.link}")
        out.append("")
    return title, "\n".join(out).rstrip() + "\n"
