"""`cin case ...`, `cin deadlines`, `cin import`: recording systems and staff talk to cases here."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from typing import TYPE_CHECKING, Any

from cli.census_cmd import add_census_options, census_fields
from cli.common import CliError, audit_read, iso_date, os_user

if TYPE_CHECKING:
    from engine.ingest import Ingest
    from models.access.actors import Actor

OUTCOME_EVENTS = {
    "referral_decision": ("nfa", "early_help", "assessment", "strategy_discussion"),
    "assessment_completed": ("nfa", "step_down", "cin_plan", "escalate"),
    "review_held": ("continue", "change", "step_down_panel", "escalate", "close"),
    "step_down_panel": ("accepted", "rejected"),
    "icpc_held": ("cp_plan", "no_plan"),
    "strategy_discussion_held": ("s47", "no_s47"),
    "s47_concluded": ("icpc_required", "icpc_not_required"),
    "cp_review_held": ("continue", "cin_plan", "close"),
}
# The lifecycle's event types (models.lifecycle.EVENT_TYPES, which tests/cli/test_startup.py
# checks this against), spelled here so that parsing a command does not build the event models
EVENT_TYPES = (
    "referral_received", "referral_decision", "assessment_started", "assessment_completed",
    "support_started", "consent_withdrawn", "cin_meeting_held", "plan_distributed", "review_held",
    "visit_recorded", "step_down_panel", "final_meeting_held", "s47_started",
    "strategy_discussion_held", "s47_concluded", "icpc_held", "core_group_held", "cp_review_held",
    "transfer_in", "transfer_out", "case_closed",
)  # fmt: skip
CHAIRS = ("team_manager", "senior_practitioner", "social_worker", "other")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    case = subparsers.add_parser("case", help="open, record and inspect cases")
    commands = case.add_subparsers(dest="case_command", required=True)

    refer = commands.add_parser("refer", help="open a case with a referral; prints its reference")
    refer.add_argument("--authority", required=True, metavar="SLUG")
    refer.add_argument(
        "--child",
        required=True,
        metavar="CHILD_REF",
        help="the recording system's child reference (never shown in alerts)",
    )
    refer.add_argument("--date", required=True, type=iso_date)
    refer.add_argument("--source", default="10", help="DfE referral source code (default 10)")
    refer.add_argument("--need", help="DfE primary need code N0-N9")
    refer.add_argument("--team", help="the team that holds the case")
    refer.add_argument("--key", help="idempotency key: the same key twice is one referral")
    add_by_option(refer)
    refer.add_argument(
        "--transfer-in",
        action="store_true",
        help="the child moved here from another authority: --date is the day the family became "
        "resident (Redbridge 003 s7); the case opens with transfer_in (referral source 5C)",
    )
    refer.set_defaults(func=run_refer)

    rec = commands.add_parser("record", help="record an event on a case")
    rec.add_argument("case", metavar="CASE")
    rec.add_argument(
        "event",
        choices=[t for t in EVENT_TYPES if t != "referral_received"],
        metavar="EVENT",
        help="one of: " + ", ".join(t for t in EVENT_TYPES if t != "referral_received"),
    )
    rec.add_argument(
        "--date", required=True, type=iso_date, metavar="DATE", help="when it happened, YYYY-MM-DD"
    )
    rec.add_argument(
        "--outcome",
        help="what was decided, for "
        + "; ".join(f"{event}: {'|'.join(choices)}" for event, choices in OUTCOME_EVENTS.items()),
    )
    rec.add_argument("--reason", help="closure reason RC1-RC9 (case_closed)")
    rec.add_argument("--visit-every", metavar="'N UNIT'", help="plan's visit frequency: '2 weeks'")
    rec.add_argument(
        "--review-every",
        metavar="'N UNIT'",
        help="cin_meeting_held, review_held: the plan's own review interval, within the council's",
    )
    rec.add_argument(
        "--chair",
        choices=CHAIRS,
        help="review_held: who chaired it (after 12 months, a team manager or senior practitioner)",
    )
    rec.add_argument(
        "--no-consent",
        action="store_true",
        help="assessment_completed cin_plan: the family did not consent (no plan clocks open)",
    )
    add_census_options(rec)
    rec.add_argument(
        "--seen",
        choices=("yes", "no"),
        help="visit_recorded: whether the child was seen (Ofsted's Annex A lists 4 and 6)",
    )
    rec.add_argument(
        "--seen-alone",
        choices=("yes", "no"),
        help="visit_recorded: whether the child was seen alone (Annex A list 7)",
    )
    rec.add_argument("--key", help="idempotency key: the same key twice is one event")
    add_by_option(rec)
    rec.set_defaults(func=run_record)

    show = commands.add_parser("show", help="stage and deadlines of a case")
    show.add_argument("case", metavar="CASE")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=run_show)

    allocate = commands.add_parser(
        "allocate", help="allocate a case to a worker; the case moves to the worker's team"
    )
    allocate.add_argument("case", metavar="CASE")
    allocate.add_argument(
        "--worker",
        required=True,
        metavar="STAFF_ID",
        help="an active worker (or team manager) of the case's authority (`cin staff list`)",
    )
    allocate.add_argument(
        "--date",
        type=iso_date,
        metavar="YYYY-MM-DD",
        help='the day it was allocated (default today): Annex A\'s "allocated at the time"',
    )
    allocate.set_defaults(func=run_allocate)

    rebuild = commands.add_parser("rebuild", help="re-derive state and deadlines from the log")
    rebuild.add_argument("case", metavar="CASE")
    rebuild.set_defaults(func=run_rebuild)

    deadlines = subparsers.add_parser("deadlines", help="open deadlines across cases")
    deadlines.add_argument("--authority", metavar="SLUG")
    deadlines.add_argument(
        "--overdue",
        action="store_true",
        help="only those past due, with team and working days overdue, the latest first (the "
        "monitor's overdue-cases table in the Prefect UI shows the same rows)",
    )
    deadlines.add_argument("--team", metavar="TEAM", help="only this team's cases")
    deadlines.add_argument("--as-of", type=iso_date, help="the day to judge 'overdue' on")
    deadlines.add_argument("--json", action="store_true")
    deadlines.set_defaults(func=run_deadlines)


def add_by_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--by",
        metavar="STAFF_ID",
        help="the staff id of whoever made the record (checked against the roster when there is "
        "one); the event also records the operating-system user",
    )


def cli_actor(args: argparse.Namespace) -> Actor:
    """Who records through the CLI: the operating-system user, and the staff id of `--by`."""
    from models.access.actors import Actor

    return Actor("cli", os_user(), getattr(args, "by", None))


def _ingest() -> tuple[Ingest, str | None]:
    """The ingestion API, delivering at once only if Prefect answers: accepting an event never
    waits on Prefect. The second value is the line to print when it did not answer."""
    from cli.prefect_env import prefect_api_url, prefect_reachable
    from engine.ingest import Ingest

    if prefect_reachable():
        return Ingest.from_settings(), None
    note = (
        f"queued for delivery: Prefect did not answer at {prefect_api_url()}; `cin worker` or "
        "`cin serve` delivers it once Prefect is up"
    )
    return Ingest.from_settings(deliver=False), note


def run_refer(args: argparse.Namespace) -> int:
    ingest, queued = _ingest()
    if args.transfer_in:
        accepted = ingest.transfer_in(
            authority=args.authority,
            child_ref=args.child,
            on=args.date,
            primary_need=args.need,
            team=args.team,
            key=args.key,
            actor=cli_actor(args),
        )
    else:
        accepted = ingest.refer(
            authority=args.authority,
            child_ref=args.child,
            on=args.date,
            source=args.source,
            primary_need=args.need,
            team=args.team,
            key=args.key,
            actor=cli_actor(args),
        )
    note = " (already recorded under this key)" if accepted.duplicate else ""
    opened = "transfer in" if args.transfer_in else "referral"
    print(f"{opened} accepted{note}; stage {accepted.stage}")
    if queued and not accepted.duplicate:
        print(queued, file=sys.stderr)
    print(accepted.case_ref)
    return 0


def event_record(args: argparse.Namespace) -> dict[str, Any]:
    record: dict[str, Any] = {"type": args.event, "on": args.date.isoformat()}
    if args.event in OUTCOME_EVENTS:
        if not args.outcome:
            raise CliError(
                f"{args.event} needs --outcome, one of {', '.join(OUTCOME_EVENTS[args.event])}"
            )
        record["outcome"] = args.outcome
    elif args.outcome:
        raise CliError(f"{args.event} takes no --outcome")
    if args.event == "case_closed":
        if not args.reason:
            raise CliError("case_closed needs --reason, one of RC1-RC9")
        record["reason"] = args.reason
    elif args.reason:
        raise CliError(f"{args.event} takes no --reason (only case_closed does)")
    if args.visit_every:
        amount, _, unit = args.visit_every.partition(" ")
        if not (amount.isascii() and amount.isdigit()) or not unit:
            raise CliError(
                f"--visit-every: expected 'N UNIT' like '2 weeks'; got {args.visit_every!r}"
            )
        record["visit_frequency"] = {"amount": int(amount), "unit": unit}
    if args.review_every:
        if args.event not in ("cin_meeting_held", "review_held"):
            raise CliError(f"{args.event} takes no --review-every (a plan's meetings do)")
        amount, _, unit = args.review_every.partition(" ")
        if not (amount.isascii() and amount.isdigit()) or not unit:
            raise CliError(
                f"--review-every: expected 'N UNIT' like '3 months'; got {args.review_every!r}"
            )
        record["review_every"] = {"amount": int(amount), "unit": unit}
    if args.chair:
        if args.event != "review_held":
            raise CliError(f"{args.event} takes no --chair (only review_held does)")
        record["chair"] = args.chair
    if args.no_consent:
        if args.event != "assessment_completed":
            raise CliError(f"{args.event} takes no --no-consent (only assessment_completed does)")
        record["consent"] = False
    for option, name in (("--seen", "seen"), ("--seen-alone", "seen_alone")):
        value = getattr(args, name, None)
        if value is None:
            continue
        if args.event != "visit_recorded":
            raise CliError(f"{args.event} takes no {option} (only visit_recorded does)")
        record[name] = value == "yes"
    record.update(census_fields(args))
    return record


def run_record(args: argparse.Namespace) -> int:
    record = event_record(args)  # a bad command line is refused before anything else
    ingest, queued = _ingest()
    accepted = ingest.record(args.case, record, key=args.key, actor=cli_actor(args))
    if accepted.duplicate:
        print(f"already recorded as event {accepted.seq} of {accepted.case_ref} (same key)")
    else:
        print(
            f"event {accepted.seq} accepted; {accepted.case_ref} is now at stage {accepted.stage}"
        )
        for change in accepted.changes:
            print(f"  {change.action.value:9} {change.key:24} due {change.due.isoformat()}")
        if queued:
            print(queued, file=sys.stderr)
    return 0


def run_show(args: argparse.Namespace) -> int:
    # SQLAlchemy Core only: no SQLModel, no table models, no Prefect (tests/cli/test_startup.py)
    from models.access.actors import actor_text
    from models.cases.show import case_to_show
    from models.runtime import case_engine, clock

    today = clock().today()
    shown = case_to_show(case_engine(), args.case)
    case, deadlines, logged, undelivered = (
        shown.case,
        shown.deadlines,
        shown.events,
        shown.undelivered,
    )
    recorded = [
        {
            "seq": e.seq,
            "on": e.occurred_on.isoformat(),
            "event": e.event_type,
            "recorded_at": e.recorded_at.isoformat(timespec="seconds"),
            "recorded_by": actor_text(e.actor_kind, e.actor, e.recorded_by),
        }
        for e in logged
    ]
    rows = [
        {
            "key": d.key,
            "kind": d.kind,
            "due": d.due.isoformat(),
            "status": d.status,
            "met_on": d.met_on.isoformat() if d.met_on else None,
            "overdue": d.status in ("open", "missed") and d.due < today,
            "policy": d.policy_ref,
            "explanation": d.explanation,
        }
        for d in deadlines
    ]
    view = {
        "case": case.case_ref,
        "authority": case.authority,
        "team": case.team,
        "stage": case.stage,
        "referral_date": case.referral_date.isoformat(),
        "re_referral": case.re_referral,
        "events": case.last_seq,
        "visits": visits_text(case.state),
        "deadlines": rows,
        "recorded": recorded,
        # events accepted but not yet delivered to the case's run (Prefect was down), and the
        # last event the run has done the work for: the Prefect UI shows the case as of that
        "undelivered_events": undelivered,
        "run_handled_up_to": case.flow_seq,
    }
    audit_read(
        "case show",
        "shown",
        authority=case.authority,
        case_ref=case.case_ref,
        child_ref=case.child_ref,
    )
    if args.json:
        print(json.dumps(view, indent=2))
        return 0
    rerun = " (re-referral)" if case.re_referral else ""
    print(f"{case.case_ref}  {case.authority}  stage {case.stage}{rerun}  events {case.last_seq}")
    if view["visits"]:
        print(f"  visits: {view['visits']}")
    behind = run_behind(case.last_seq, case.flow_seq, undelivered)
    if behind:
        print(f"  {behind}")
    for d in rows:
        late = "  OVERDUE" if d["overdue"] else ""
        print(f"  {d['key']:24} due {d['due']}  {d['status']:9}{late}  {d['explanation']}")
    if recorded:
        print("  recorded (event, date, type, who):")
    for r in recorded:
        print(f"    {r['seq']:>4}  {r['on']}  {r['event']:22} {r['recorded_by']}")
    return 0


def run_behind(last_seq: int, flow_seq: int, undelivered: list[int]) -> str | None:
    """Why the Prefect UI may still show an older state of the case, or None when it is current."""
    if undelivered:
        seqs = ", ".join(str(s) for s in undelivered)
        return (
            f"event{'s' if len(undelivered) > 1 else ''} {seqs} not yet delivered to the case's "
            f"run (queued: Prefect did not answer; `cin worker` or the reconciler delivers "
            f"{'them' if len(undelivered) > 1 else 'it'}): the Prefect UI shows the case as of "
            f"event {flow_seq}"
        )
    if flow_seq < last_seq:
        return (
            f"delivered; the case's run has not yet done the work for events "
            f"{flow_seq + 1}-{last_seq} (a worker picks it up): the Prefect UI shows event "
            f"{flow_seq}"
        )
    return None


def visits_text(state: dict[str, Any]) -> str | None:
    """What the plan says about visits (003 L202: no minimum; the plan sets the frequency)."""
    if state.get("plan_start") is None or state.get("stage") == "closed":
        return None
    frequency = state.get("visit_frequency")
    if frequency:
        return f"every {frequency['amount']} {frequency['unit']} (set by the plan)"
    has_clock = any(d.get("kind") == "visit" for d in state.get("deadlines", []))
    if has_clock:
        return "the authority's default frequency"
    return "no visit clock: the plan sets no visiting frequency"


def run_allocate(args: argparse.Namespace) -> int:
    from models.runtime import case_engine, clock
    from models.staff.store import allocate

    today = clock().today()
    if args.date is not None and args.date > today:
        raise CliError(f"--date: expected a day on or before today ({today}); got a later one")
    on = args.date or today
    done = allocate(case_engine(), case_ref=args.case, worker_id=args.worker, on=on)
    team = f"team {done.team}" if done.team else "no team"
    if not done.changed:
        print(f"{done.case_ref} is already allocated to {done.worker_id} ({team}); nothing changed")
        return 0
    print(f"{done.case_ref} allocated to {done.worker_id} ({team})")
    if done.previous_worker:
        was = f"team {done.previous_team}" if done.previous_team else "no team"
        print(f"  previously {done.previous_worker} ({was})")
    return 0


def run_rebuild(args: argparse.Namespace) -> int:
    from models.cases.ledger import rebuild
    from models.runtime import case_engine, policies

    result = rebuild(case_engine(), policies=policies(), case_ref=args.case)
    agreed = result["state_matched"] and result["deadlines_matched"]
    print(
        f"{result['case']}: rebuilt from {result['events']} events; stage {result['stage']}; "
        + ("live state agreed" if agreed else "live state DIFFERED and was replaced")
    )
    return 0 if agreed else 1


def run_deadlines(args: argparse.Namespace) -> int:
    from sqlmodel import Session

    from models.cases.reads import open_deadlines
    from models.runtime import case_engine, clock, policies

    if args.authority is not None:
        policies().authority(args.authority)  # an unknown authority is refused, not "0 deadlines"
    as_of: date = args.as_of or clock().today()
    if args.overdue:
        return _overdue(args, as_of)
    with Session(case_engine()) as session:
        rows = open_deadlines(session, authority=args.authority, due_by=None)
    items = [
        {
            "case": case.case_ref,
            "authority": case.authority,
            "team": case.team,
            "key": d.key,
            "kind": d.kind,
            "due": d.due.isoformat(),
            "status": d.status,
            "days_overdue": (as_of - d.due).days if d.due < as_of else 0,
            "explanation": d.explanation,
        }
        for d, case in rows
        if args.team is None or case.team == args.team
    ]
    if args.json:
        print(json.dumps(items, indent=2))
        return 0
    for item in items:
        late = f"overdue {item['days_overdue']}d" if item["days_overdue"] else "open"
        print(f"{item['due']}  {item['case']:12} {item['key']:24} {late:14} {item['authority']}")
    print(f"{len(items)} deadline(s) open as of {as_of}")
    return 0


def _overdue(args: argparse.Namespace, as_of: date) -> int:
    """The overdue rows (notifications/overdue_view.py), as the monitor's table shows them."""
    from sqlmodel import Session

    from models.runtime import case_engine, policies
    from notifications.overdue_view import overdue_rows

    with Session(case_engine()) as session:
        rows = overdue_rows(session, policies(), as_of, authority=args.authority, team=args.team)
    items = [
        {
            "case": r.case_ref,
            "authority": r.authority,
            "team": r.team,
            "key": r.key,
            "kind": r.kind,
            "due": r.due.isoformat(),
            "status": "overdue",
            "days_overdue": (as_of - r.due).days,
            "working_days_overdue": r.working_days_overdue,
            "rung": r.rung,
            "explanation": r.explanation,
        }
        for r in rows
    ]
    if args.json:
        print(json.dumps(items, indent=2))
        return 0
    print(f"{'case':12} {'team':14} {'waits for':24} {'due':10}  {'WD late':>7}  rung reached")
    for i in items:
        print(
            f"{i['case']:12} {i['team'] or 'unallocated':14} {i['key']:24} {i['due']:10}  "
            f"{i['working_days_overdue']:7}  {i['rung'] or '-'}"
        )
    print(f"{len(items)} deadline(s) overdue as of {as_of}, the latest first")
    return 0
