"""Raising alerts: who hears about an item at a rung (`Router`), the alert rows a pass writes for
its decisions (`raise_alerts`), and the held alerts it tells once somebody holds the role
(`release_held`).

An alert whose rung has nobody to tell is kept as a "held" row, never dropped; so is an alert
for a channel the policy names that has no destination configured (a Teams channel with no
CIN_TEAMS_URLS entry for the case's team: recipient "no-teams-url:<team>"). When a later roster
gives that role a holder, or the team's URL is configured, the next pass (on a working day) tells
each held item that is still open, once, on the held channel only: the new alert's key names
the recipient, so it exists once however often passes run; the held row becomes "released" in
the same transaction. A held item that was met or cancelled meanwhile becomes "lapsed": nobody
needs telling any more.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from models.alerts.dispatch import (
    DigestLine,
    alert_id,
    held_alerts,
    new_dispatch,
    set_alert_modes,
)
from models.alerts.store import DueItem, Mark, record_findings
from models.cases.view import overdue_since
from models.policy.book import ResolvedPolicy
from models.policy.parts import Channel, Role
from models.staff.roster import Person, manager_with_role
from models.tables import utcnow
from notifications import messages
from notifications.ladder import OVERDUE, Decision, Notice
from notifications.report import MonitorConfig, PassReport, Raised
from notifications.transport import teams_url_for

NO_TEAMS_URL = "no-teams-url:"  # a held alert's recipient: the team whose Teams URL is missing


def held_channel(recipient: str) -> str:
    """The channel a held alert waits for: Teams for a missing URL, else email (nobody:<role>)."""
    return Channel.TEAMS.value if recipient.startswith(NO_TEAMS_URL) else Channel.EMAIL.value


class Router:
    """Who hears about an item at a rung: worked out once per (case's worker, team, role)."""

    def __init__(
        self, directories: Mapping[str, Mapping[str, Person]], environ: Mapping[str, str]
    ) -> None:
        self.directories = directories
        self.environ = environ
        self._people: dict[tuple[str, str | None, str | None, Role], str | None] = {}

    def recipients(
        self, item: DueItem, notice: Notice, policy: ResolvedPolicy
    ) -> list[tuple[str, str]]:
        """(channel, recipient): "staff:<id>", "team:<team>" or, for a rung with nobody to
        tell, ("none", "nobody:<role>"), and for a Teams channel with no URL for the case's team,
        ("none", "no-teams-url:<team>") (kept and shown by `cin monitor status`, never sent)."""
        out: list[tuple[str, str]] = []
        for channel in policy.channels.get(notice.role, (Channel.EMAIL,)):
            if channel is Channel.EMAIL:
                person = self._person(item, notice.role)
                if person is not None:
                    out.append((Channel.EMAIL.value, f"staff:{person}"))
                elif notice.role is not Role.WORKER:
                    out.append(("none", f"nobody:{notice.role.value}"))
            elif item.team and teams_url_for(item.authority, item.team, self.environ):
                out.append((Channel.TEAMS.value, f"team:{item.team}"))
            else:  # the policy names Teams: held until the team's URL is set, never dropped
                out.append(("none", f"{NO_TEAMS_URL}{item.team or 'unallocated'}"))
        return out

    def _person(self, item: DueItem, role: Role) -> str | None:
        key = (item.authority, item.worker_id, item.team, role)
        if key not in self._people:
            found = manager_with_role(
                self.directories.get(item.authority, {}), item.worker_id, item.team, role.value
            )
            self._people[key] = found.staff_id if found is not None else None
        return self._people[key]


@dataclass
class Rows:
    """The rows one transaction writes, and the alerts it raised (by key) for the report."""

    marks: list[Mark] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    dispatches: list[dict[str, Any]] = field(default_factory=list)
    raised: list[tuple[str, Raised]] = field(default_factory=list)
    rules: dict[tuple[str, str, str], str] = field(default_factory=dict)

    def add(
        self,
        item: DueItem,
        notice: Notice,
        recipients: Sequence[tuple[str, str]],
        policy: ResolvedPolicy,
        as_of: date,
        config: MonitorConfig,
    ) -> None:
        urgent = item.kind in policy.urgent
        rule_key = (item.authority, item.kind, item.policy_ref + item.explanation)
        rule = self.rules.get(rule_key)
        if rule is None:
            rule = self.rules[rule_key] = messages.rule(item, policy)
        body = messages.body(item, notice, policy, config.ui_url, config.instance) if urgent else ""
        finding = item.finding
        role = notice.role.value
        # the same for every recipient of the item at this rung: worked out once
        headline = messages.digest_headline(item, notice)
        link = messages.case_link(config.ui_url, item.case_ref, config.instance)
        since = overdue_since(item.due) if notice.notice == OVERDUE else None
        prefix = f"{finding}|{notice.level}|{notice.notice}|"
        now = utcnow()
        for channel, recipient in recipients:
            key = f"{prefix}{channel}:{recipient}"
            held = channel == "none"
            dispatch_id = None
            if urgent and not held:
                dispatch = new_dispatch(
                    key=f"alert:{key}", authority=item.authority, channel=channel,
                    recipient=recipient, body=body,
                    subject=messages.subject(item, notice, urgent=urgent),
                )  # fmt: skip
                self.dispatches.append(dispatch)
                dispatch_id = dispatch["id"]
            self.alerts.append(
                {
                    "id": alert_id(key),
                    "key": key,
                    "authority": item.authority,
                    "team": item.team,
                    "case_ref": item.case_ref,
                    "finding": finding,
                    "kind": item.kind,
                    "notice": notice.notice,
                    "level": notice.level,
                    "role": role,
                    "channel": channel,
                    "recipient": recipient,
                    "mode": "held" if held else "immediate" if urgent else "digest",
                    "due": item.due,
                    "since": since,
                    "headline": headline,
                    "rule": rule,
                    "link": link,
                    "body": body,
                    "raised_on": as_of,
                    "created_at": now,
                    "dispatch_id": dispatch_id,
                }
            )
            self.raised.append(
                (
                    key,
                    Raised(
                        item.authority, item.team, item.case_ref, item.key, item.kind,
                        notice.notice, notice.level, role, channel, item.due,
                    ),
                )
            )  # fmt: skip

    def commit(
        self, engine: Engine, report: PassReport, modes: Mapping[Any, str] | None = None
    ) -> set[str]:
        with Session(engine) as session:
            if modes:
                set_alert_modes(session, modes)  # committed with the findings below
            added = record_findings(
                session, marks=self.marks, alerts=self.alerts, dispatches=self.dispatches
            )
        # a rerun after a crash finds some alerts already there: report only what it added
        report.raised.extend(r for key, r in self.raised if key in added)
        report.unrouted += sum(1 for a in self.alerts if a["mode"] == "held" and a["key"] in added)
        report.immediate += sum(1 for a in self.alerts if a["dispatch_id"] and a["key"] in added)
        return added


def build_alerts(
    batch: Sequence[Decision],
    views: Mapping[str, ResolvedPolicy],
    router: Router,
    as_of: date,
    config: MonitorConfig,
) -> Rows:
    """The batch's marks, alerts and immediate dispatches, built and not written: no database
    (the pass builds the next batch while the previous one is written)."""
    rows = Rows()
    for decision in batch:
        item = decision.item
        policy = views[item.authority]
        rows.marks.append(
            Mark(
                source=item.source,
                row_id=item.row_id,
                status="missed" if decision.mark_missed or item.status == "missed" else None,
                escalation_level=decision.escalation_level,
                reminder_level=decision.reminder_level,
            )
        )
        for notice in decision.notices:
            recipients = router.recipients(item, notice, policy)
            if recipients:
                rows.add(item, notice, recipients, policy, as_of, config)
    return rows


def write_alerts(
    engine: Engine, rows: Rows, batch: Sequence[Decision], report: PassReport
) -> set[str]:
    """What `build_alerts` built for `batch`, in one transaction; then the batch into `report`.
    Returns the keys of the alerts added (a pass run again finds some there already)."""
    added = rows.commit(engine, report)
    report.newly_overdue.extend(d.item for d in batch if d.mark_missed)
    return added


def release_held(
    engine: Engine,
    items: Sequence[DueItem],
    views: Mapping[str, ResolvedPolicy],
    router: Router,
    as_of: date,
    config: MonitorConfig,
    report: PassReport,
) -> list[DigestLine]:
    """Tell each held alert's role, now that somebody holds it, if its item is still open.
    Returns the digest lines it added (for the day's digests)."""
    with Session(engine) as session:
        held = held_alerts(session)
    if not held:
        return []
    open_items = {item.finding: item for item in items}
    rows = Rows()
    modes: dict[Any, str] = {}
    for alert in held:
        policy = views.get(alert.authority)
        if policy is None or not policy.calendar.is_working_day(as_of):
            continue  # alerts are raised on the authority's working days only
        item = open_items.get(alert.finding)
        if item is None or (item.source == "deadline" and item.due >= as_of):
            modes[alert.id] = "lapsed"  # met or cancelled since: nobody needs telling now
            continue
        days = policy.calendar.working_days_between(item.due, as_of)
        notice = Notice(alert.level, Role(alert.role), alert.notice, days)
        waits_for = held_channel(alert.recipient)  # the other channels were told at the time
        recipients = [r for r in router.recipients(item, notice, policy) if r[0] == waits_for]
        if recipients:
            rows.add(item, notice, recipients, policy, as_of, config)
            modes[alert.id] = "released"
    if not modes:
        return []
    added = rows.commit(engine, report, modes)
    report.released += sum(1 for mode in modes.values() if mode == "released")
    return [digest_line(a) for a in rows.alerts if a["mode"] == "digest" and a["key"] in added]


def digest_line(alert: Mapping[str, Any]) -> DigestLine:
    """An alert row as built, as the digest reads it."""
    return DigestLine(
        alert["id"], alert["authority"], alert["channel"], alert["recipient"], alert["role"],
        alert["team"], alert["case_ref"], alert["headline"], alert["rule"], alert["link"],
    )  # fmt: skip
