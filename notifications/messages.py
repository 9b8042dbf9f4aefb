"""The words of an alert and of a digest. Case references, dates, rules and links only: never a
child's reference, name or any other personal data, and never a staff member's name or address
(the recipient is addressed by role)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from models.alerts.store import DueItem
from models.cases.view import overdue_since
from models.instance import case_artifact_key
from models.policy.book import ResolvedPolicy
from models.policy.parts import Role
from notifications.ladder import DRIFT, DUE_SOON, DUE_TODAY, Notice, ladder
from notifications.rules import rule_sentence

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
    "strategy_discussion": "strategy discussion after an escalation",
    "first_core_group": "first core group meeting",
    "no_consent_decision": "decision after consent refused (close or decide again)",
    "visits_unset": "plan sets no visiting frequency",
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


def case_link(ui_url: str, case_ref: str, instance: str) -> str:
    """The case's page in the Prefect UI, known from the case reference alone: the key page of
    the case's timeline artifact (its latest version, with a link to the case's run). Every
    message carries it, whether or not the case's run had started when the alert was raised."""
    return f"{ui_url.rstrip('/')}/artifacts/key/{case_artifact_key(instance, case_ref)}"


def run_link(ui_url: str, flow_run_id: uuid.UUID) -> str:
    return f"{ui_url.rstrip('/')}/runs/flow-run/{flow_run_id}"


def working_days(count: int) -> str:
    return f"{count} working day{'' if count == 1 else 's'}"


def state_words(item: DueItem, notice: Notice, *, count: bool = True) -> str:
    """Where the item stands; `count` adds the working days late (a digest's line says them in
    its "you are told as ..." part instead)."""
    if notice.notice == DUE_SOON:
        return f"due soon, on {item.due.isoformat()}"
    if notice.notice == DUE_TODAY:
        return f"due today, {item.due.isoformat()}"
    days = f"{working_days(notice.working_days)}; " if count else ""
    if notice.notice == DRIFT:
        return f"drifting since {item.due.isoformat()}" + (f" ({days[:-2]})" if count else "")
    return f"overdue since {overdue_since(item.due).isoformat()} ({days}due {item.due.isoformat()})"


def told(notice: Notice) -> str:
    """Why this recipient is told: the rung, and how late the work is."""
    role = ROLE_WORDS[notice.role]
    if notice.notice == DUE_SOON:
        return f"you are told as the {role}: a reminder before it is due"
    if notice.notice == DUE_TODAY:
        return f"you are told as the {role}: a reminder on the day it is due"
    if notice.notice == DRIFT:
        return f"you are told as the {role}: drifting for {working_days(notice.working_days)}"
    return f"you are told as the {role}: {working_days(notice.working_days)} overdue"


def headline(item: DueItem, notice: Notice) -> str:
    return f"{item.case_ref}: {what(item.kind)} {state_words(item, notice)}"


def digest_headline(item: DueItem, notice: Notice) -> str:
    """A digest's line for one item: what is late, and why this recipient is told of it."""
    state = state_words(item, notice, count=False)
    return f"{item.case_ref}: {what(item.kind)} {state}; {told(notice)}"


def subject(item: DueItem, notice: Notice, *, urgent: bool) -> str:
    flag = "URGENT " if urgent else ""
    return f"[CIN] {flag}{headline(item, notice)}"


def rule(item: DueItem, policy: ResolvedPolicy) -> str:
    """The rule that applied, whose rule it is, and its citation last (notifications/rules.py)."""
    return rule_sentence(item, policy, what(item.kind))


def body(item: DueItem, notice: Notice, policy: ResolvedPolicy, ui_url: str, instance: str) -> str:
    rungs = ladder(policy)
    why = told(notice)
    if notice.level >= 1:
        why += f" (rung {notice.level} of {len(rungs)})"
        if notice.level < len(rungs):
            step = rungs[notice.level]
            why += (
                f"; next the {ROLE_WORDS[step.role]} at "
                f"{working_days(max(1, step.after_working_days_overdue))} overdue"
            )
    lines = [
        f"Case: {item.case_ref} ({item.authority}, team {item.team or 'unallocated'})",
        f"What: {what(item.kind)} [{item.key}]",
        f"State: {state_words(item, notice)}",
        f"Why you: {why[0].upper()}{why[1:]}",
        f"Counted: {item.explanation}",
        f"Rule: {rule(item, policy)}",
        f"Open the case: {case_link(ui_url, item.case_ref, instance)}",
    ]
    if item.flow_run_id is not None:
        lines.append(f"Its flow run: {run_link(ui_url, item.flow_run_id)}")
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class DigestLine:
    team: str | None
    case_ref: str
    headline: str
    rule: str
    link: str


class DigestEntry(Protocol):
    """What a digest's line needs of an alert: a `DigestLine`, or the stored alert itself
    (models.alerts.dispatch.DigestLine), which the monitor passes without copying."""

    @property
    def team(self) -> str | None: ...
    @property
    def case_ref(self) -> str: ...
    @property
    def headline(self) -> str: ...
    @property
    def rule(self) -> str: ...
    @property
    def link(self) -> str: ...


DIGEST_FOR: dict[str, str] = {
    "team": "your team's channel",
    Role.WORKER.value: "your cases",
    Role.TEAM_MANAGER.value: "your team",
    Role.SERVICE_MANAGER.value: "your teams",
    Role.HEAD_OF_SERVICE.value: "your service",
}


def digest(day: date, lines: Sequence[DigestEntry], *, audience: str) -> tuple[str, str]:
    """One day's digest for one recipient: (subject, body), grouped by team then case.
    `audience` is the recipient's role, or "team" for a team's Teams channel."""
    count = len(lines)
    noun = "item" if count == 1 else "items"
    who = DIGEST_FOR.get(audience, "you")
    title = f"[CIN] Daily digest {day.isoformat()}: {count} {noun} for {who}"
    by_team: dict[str, list[DigestEntry]] = defaultdict(list)
    for line in lines:
        by_team[line.team or "unallocated"].append(line)
    out = [f"Late and due work on {day.isoformat()} ({count} {noun}).", ""]
    for team in sorted(by_team):
        out.append(f"Team {team}:")
        for line in sorted(by_team[team], key=lambda x: (x.case_ref, x.headline)):
            out.append(f"- {line.headline}")
            out.append(f"  rule: {line.rule}")
            out.append(f"  open the case: {line.link}")
        out.append("")
    return title, "\n".join(out).rstrip() + "\n"
