"""One deadline monitor pass: find what is due or overdue, mark it, raise alerts, compose the
day's digests, send what is waiting. Prefect-free (flows/monitor.py runs it as a flow; the
benchmark and `cin monitor run` call it too).

1. One indexed query returns the due items: open deadlines due on or before the "due soon"
   horizon, and open drift. Its cost follows the number of due items, not cases.
2. For each item `notifications.ladder.decide` says what to do today under its authority's policy.
   The item's marks and its new alerts (one per rung, channel and recipient, keyed so each exists
   once) commit together, in batches; an urgent alert gets its own dispatch in the same commit.
3. Digest alerts not yet carried are grouped by recipient into that day's digest (one dispatch per
   recipient per day, keyed so).
4. Every dispatch due for an attempt is sent through Apprise and marked sent; a failure stays
   pending with its error and a backed-off next attempt.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session

from models.alerts_store import (
    DueItem,
    Mark,
    active_staff,
    create_digest,
    digest_alerts,
    digest_key,
    due_items,
    mark_failed,
    mark_sent,
    monitor_lock,
    pending_dispatches,
    record_findings,
    staff_email,
)
from models.policy import PolicyBook, PolicyError, ResolvedPolicy
from models.policy_schema import Channel, Role
from models.staff import manager_with_role
from models.tables import Alert, Staff
from notifications import messages
from notifications.ladder import (
    Decision,
    Notice,
    decide,
    overdue_since,
    soon_horizon,
)
from notifications.transport import DeliveryFailed, Message, send, teams_url_for

BATCH = 2000
MAX_BACKOFF = timedelta(hours=1)

CrashHook = Callable[[str, int], None]


@dataclass(frozen=True)
class MonitorConfig:
    ui_url: str
    smtp_url: str | None
    soon_working_days: int = 2
    retry_seconds: float = 60.0
    digests: bool = True  # compose the day's digests in this pass
    deliver: bool = True  # send what is waiting
    batch: int = BATCH  # decisions committed per transaction
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))


@dataclass(frozen=True, slots=True)
class Raised:
    """One alert raised, for the report, the Prefect events and the demo's summary."""

    authority: str
    team: str | None
    case_ref: str
    key: str
    kind: str
    notice: str
    level: int
    role: str
    channel: str
    due: date


@dataclass
class PassReport:
    as_of: date
    due_items: int = 0
    decisions: int = 0
    raised: list[Raised] = field(default_factory=list)
    newly_overdue: list[DueItem] = field(default_factory=list)
    unrouted: int = 0
    immediate: int = 0
    digests: int = 0
    sent: int = 0
    failed: int = 0
    sent_by: Counter[tuple[str, str]] = field(default_factory=Counter)  # (channel, recipient)
    # overdue work by (authority, team): the table the flow publishes
    overdue: dict[tuple[str, str], dict[str, object]] = field(default_factory=dict)

    def escalations(self) -> list[Raised]:
        return [r for r in self.raised if r.level >= 1]

    def summary(self) -> dict[str, int]:
        return {
            "due_items": self.due_items,
            "alerts_raised": len(self.raised),
            "newly_overdue": len(self.newly_overdue),
            "escalations": len(self.escalations()),
            "unrouted": self.unrouted,
            "digests": self.digests,
            "sent": self.sent,
            "failed": self.failed,
        }


def run_pass(
    engine: Engine,
    policies: PolicyBook,
    *,
    as_of: date,
    now: datetime,
    config: MonitorConfig,
    crash: CrashHook | None = None,
) -> PassReport:
    """One pass for `as_of` (the London date); `now` is the wall time for send retries."""
    report = PassReport(as_of=as_of)
    with monitor_lock(engine):
        views = _policies_on(policies, as_of)
        horizon = max(
            (soon_horizon(v, as_of, config.soon_working_days) for v in views.values()),
            default=as_of,
        )
        with Session(engine) as session:
            rows = due_items(session, as_of=as_of, horizon=horizon)
            directories = {slug: _directory(active_staff(session, slug)) for slug in views}
        report.due_items = len(rows)
        _tally_overdue(report, rows, as_of)
        decisions = [
            d
            for d in (
                decide(r, views[r.authority], as_of, config.soon_working_days)
                for r in rows
                if r.authority in views
            )
            if d is not None
        ]
        report.decisions = len(decisions)
        for batch_no, start in enumerate(range(0, len(decisions), config.batch), start=1):
            batch = decisions[start : start + config.batch]
            _raise(engine, batch, views, directories, as_of, config, report)
            if crash is not None:
                crash("monitor-batch", batch_no)
        if config.digests:
            _compose_digests(engine, views, as_of, config, report)
        if crash is not None:
            crash("monitor-before-send", 1)
        if config.deliver:
            # what this pass created is due now too: never earlier than the wall clock
            moment = max(now, datetime.now(UTC))
            deliver(engine, now=moment, config=config, report=report, crash=crash)
    return report


def _policies_on(policies: PolicyBook, day: date) -> dict[str, ResolvedPolicy]:
    views: dict[str, ResolvedPolicy] = {}
    for slug in policies.slugs():
        try:
            views[slug] = policies.authority(slug).on(day)
        except PolicyError:
            continue  # no version in force that day: nothing of this authority is judged
    return views


def _directory(staff: Sequence[Staff]) -> dict[str, Staff]:
    return {s.staff_id: s for s in staff}


def _tally_overdue(report: PassReport, rows: Sequence[DueItem], as_of: date) -> None:
    table: dict[tuple[str, str], dict[str, object]] = {}
    for row in rows:
        overdue = row.source == "deadline" and row.due < as_of
        drift = row.source == "drift"
        if not (overdue or drift):
            continue
        entry = table.setdefault(
            (row.authority, row.team or "unallocated"),
            {"overdue": 0, "escalated_past_team_manager": 0, "drift": 0, "oldest_since": None},
        )
        if drift:
            entry["drift"] = int(str(entry["drift"])) + 1
            continue
        entry["overdue"] = int(str(entry["overdue"])) + 1
        if row.escalation_level >= 2:
            entry["escalated_past_team_manager"] = (
                int(str(entry["escalated_past_team_manager"])) + 1
            )
        since = overdue_since(row.due)
        oldest = entry["oldest_since"]
        if not isinstance(oldest, date) or since < oldest:
            entry["oldest_since"] = since
    report.overdue = dict(sorted(table.items()))


def _raise(
    engine: Engine,
    batch: Sequence[Decision],
    views: Mapping[str, ResolvedPolicy],
    directories: Mapping[str, Mapping[str, Staff]],
    as_of: date,
    config: MonitorConfig,
    report: PassReport,
) -> None:
    marks: list[Mark] = []
    alerts: list[Alert] = []
    immediate: set[str] = set()
    raised: list[tuple[str, Raised]] = []
    for decision in batch:
        item = decision.item
        policy = views[item.authority]
        marks.append(
            Mark(
                source=item.source,
                row_id=item.row_id,
                status="missed" if decision.mark_missed or item.status == "missed" else None,
                escalation_level=decision.escalation_level,
                reminder_level=decision.reminder_level,
            )
        )
        urgent = item.kind in policy.urgent
        for notice in decision.notices:
            for channel, recipient in _recipients(item, notice, policy, directories, config):
                key = f"{item.finding}|{notice.level}|{notice.notice}|{channel}:{recipient}"
                alert = Alert(
                    key=key,
                    authority=item.authority,
                    team=item.team,
                    case_ref=item.case_ref,
                    finding=item.finding,
                    kind=item.kind,
                    notice=notice.notice,
                    level=notice.level,
                    role=notice.role.value,
                    channel=channel,
                    recipient=recipient,
                    mode="immediate" if urgent else "digest",
                    due=item.due,
                    since=overdue_since(item.due) if notice.notice == "overdue" else None,
                    headline=messages.subject(item, notice, urgent=urgent),
                    body=messages.body(item, notice, policy, config.ui_url),
                    raised_on=as_of,
                )
                alerts.append(alert)
                if urgent:
                    immediate.add(key)
                raised.append(
                    (
                        key,
                        Raised(
                            item.authority,
                            item.team,
                            item.case_ref,
                            item.key,
                            item.kind,
                            notice.notice,
                            notice.level,
                            notice.role.value,
                            channel,
                            item.due,
                        ),
                    )  # fmt: skip
                )
    with Session(engine, expire_on_commit=False) as session:
        added, dispatches = record_findings(
            session, marks=marks, alerts=alerts, immediate=immediate
        )
    # a rerun after a crash finds some alerts already there: report only what this pass added
    report.raised.extend(r for key, r in raised if key in added)
    report.unrouted += sum(1 for a in alerts if a.channel == "none" and a.key in added)
    report.immediate += dispatches
    report.newly_overdue.extend(d.item for d in batch if d.mark_missed)


def _recipients(
    item: DueItem,
    notice: Notice,
    policy: ResolvedPolicy,
    directories: Mapping[str, Mapping[str, Staff]],
    config: MonitorConfig,
) -> list[tuple[str, str]]:
    """(channel, recipient) pairs for one notice: "staff:<id>", "team:<team>" or "nobody:<role>"."""
    channels = policy.channels.get(notice.role, (Channel.EMAIL,))
    out: list[tuple[str, str]] = []
    for channel in channels:
        if channel is Channel.EMAIL:
            person = manager_with_role(
                directories.get(item.authority, {}), item.worker_id, item.team, notice.role.value
            )
            if person is not None:
                out.append((Channel.EMAIL.value, f"staff:{person.staff_id}"))
            elif notice.role is not Role.WORKER:
                # a rung with nobody to tell: kept, visible in `cin monitor status`, never sent
                out.append(("none", f"nobody:{notice.role.value}"))
        elif item.team and teams_url_for(item.authority, item.team, config.environ):
            out.append((Channel.TEAMS.value, f"team:{item.team}"))
    return out


def _compose_digests(
    engine: Engine,
    views: Mapping[str, ResolvedPolicy],
    day: date,
    config: MonitorConfig,
    report: PassReport,
) -> None:
    with Session(engine, expire_on_commit=False) as session:
        waiting = digest_alerts(session, day=day)
    groups: dict[tuple[str, str, str], list[Alert]] = defaultdict(list)
    for alert in waiting:
        view = views.get(alert.authority)
        if view is None or not view.calendar.is_working_day(day):
            continue  # digests go out on the authority's working days
        groups[(alert.authority, alert.channel, alert.recipient)].append(alert)
    for (authority, channel, recipient), alerts in sorted(groups.items()):
        lines = [
            messages.DigestLine(a.team, a.case_ref, a.headline.removeprefix("[CIN] "), _link(a))
            for a in alerts
        ]
        audience = "team" if recipient.startswith("team:") else alerts[0].role
        subject, body = messages.digest(day, lines, audience=audience)
        with Session(engine, expire_on_commit=False) as session:
            if create_digest(
                session,
                key=digest_key(channel, recipient, authority, day),
                authority=authority,
                channel=channel,
                recipient=recipient,
                subject=subject,
                body=body,
                alerts=alerts,
            ):
                report.digests += 1


def _link(alert: Alert) -> str:
    for line in alert.body.splitlines():
        if line.startswith("Flow run: "):
            return line.removeprefix("Flow run: ")
    return ""


def deliver(
    engine: Engine,
    *,
    now: datetime,
    config: MonitorConfig,
    report: PassReport | None = None,
    crash: CrashHook | None = None,
) -> tuple[int, int]:
    """Send every dispatch due for an attempt at `now`; (sent, failed)."""
    sent = failed = 0
    with Session(engine, expire_on_commit=False) as session:
        pending = pending_dispatches(session, now=now)
    for dispatch in pending:
        with Session(engine, expire_on_commit=False) as session:
            address = _address(session, dispatch.authority, dispatch.recipient, config)
        try:
            if address is None:
                raise DeliveryFailed(f"no address for {dispatch.recipient} in {dispatch.authority}")
            send(
                Message(
                    channel=dispatch.channel,
                    to=address,
                    subject=dispatch.subject,
                    body=dispatch.body,
                    key=dispatch.key,
                ),
                smtp_url=config.smtp_url,
            )
        except DeliveryFailed as failure:
            backoff = min(
                timedelta(seconds=config.retry_seconds * 2**dispatch.attempts), MAX_BACKOFF
            )
            with Session(engine) as session:
                mark_failed(session, dispatch.id, now=now, error=str(failure), backoff=backoff)
            failed += 1
            continue
        with Session(engine) as session:
            mark_sent(session, dispatch.id, now=now)
        sent += 1
        if report is not None:
            report.sent_by[(dispatch.channel, dispatch.recipient)] += 1
        if crash is not None:
            crash("monitor-sent", sent)
    if report is not None:
        report.sent += sent
        report.failed += failed
    return sent, failed


def _address(session: Session, authority: str, recipient: str, config: MonitorConfig) -> str | None:
    kind, _, ident = recipient.partition(":")
    if kind == "staff":
        return staff_email(session, authority, ident)
    if kind == "team":
        return teams_url_for(authority, ident, config.environ)
    return None
