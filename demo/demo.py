"""`make demo`: the engine at work on a simulated year of four councils' caseloads.

1. explains a few real deadlines under the seed authorities' policies;
2. starts a local Prefect server on SQLite under data/demo-prefect (UI on http://127.0.0.1:4310,
   or the port in CIN_DEMO_PORT; API authentication on, its string in data/demo-prefect/api-auth);
3. plays a synthetic caseload week by week on a simulated clock: referrals, decisions,
   assessments, plans, reviews, visits, step-downs, escalations, transfers and closures, with late
   records and re-referrals, each accepted through the same API a recording system uses; every
   six simulated weeks, the worker delivers the outbox and runs every case run that has news;
4. runs the deadline monitor every simulated morning: reminders, overdue alerts up each council's
   escalation ladder and daily digests go by email to a real SMTP server the demo starts on
   loopback (every message kept as a file under data/mail); staff rosters are synthetic;
5. prints what happened, what went to whom, and where to look in the UI, and ends with the server
   and a case worker left running (demo/serving.py), so the UI can be explored with the
   deployment Ready; `make demo-serve` starts them again on the same data, `make stop` stops them.

Teams messages go to a local HTTPS receiver standing in for each team's Teams workflow
(demo/teams_receiver.py), so the team manager's Teams channel, which the engine's channels name,
is exercised rather than held.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections import Counter, defaultdict
from datetime import date, timedelta
from pathlib import Path

import httpx
from sqlalchemy import Engine

from demo.explain_demo import explain_examples
from demo.local_server import PrefectServer
from demo.local_smtp import LocalSmtpServer
from demo.phases import Phases
from demo.serving import DEFAULT_PORT, demo_port
from demo.teams_receiver import TeamsReceiver
from models.output_file import write_bytes

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data"
# a port and a Prefect home of the demo's own: another `cin` on this machine (default port 4200,
# home data/prefect) cannot write into the demo's server by default, nor without its auth string;
# a second clone's demo on the same machine sets CIN_DEMO_PORT (an engine default, not a rule)
PORT = DEFAULT_PORT
START = date(2025, 1, 6)
DAYS = 364
# The worker delivers and runs the case runs once every ROUND_WEEKS simulated weeks, a quarter: each
# case run then wakes once for all of that period's news (docs/performance.md has the demo's
# time). A choice of the demo's, not the engine's (a council's worker runs all the time): with
# rounds of 6 weeks the year's 1,355 events woke the case runs 524 times, with 13 weeks 350, and
# every figure the demo prints (events, cases, alerts, messages, returns) is the same either way
# (issue 20: the demo under 2 minutes; the Prefect server's work follows the wake-ups).
ROUND_WEEKS = 13
# Case runs executed at once in each round (threads of the demo's worker). Measured on the shared
# 2-core machine (issue 20; docs/performance.md): the rounds took 0.72x the time with 4 threads as
# with 2, each against the same run's record accepting as the reference; the embedded SQLite
# server logged no error with 4, and every printed figure was the same.
CASE_THREADS = 4
TEAMS = TeamsReceiver()  # every team's Teams workflow, for the demo
PHASES = Phases()  # where the time goes, printed at the end
AUTHORITIES = ("redbridge", "stockton-on-tees", "warwickshire", "redcar-and-cleveland")
CENSUS_YEAR = 2026  # the collection year ending 31 March 2026, checked before it is due


def stop_previous_server(home: Path) -> None:
    pid_file = home / "server.pid"
    if pid_file.exists():
        try:
            os.killpg(int(pid_file.read_text()), 15)
        except (ProcessLookupError, ValueError, PermissionError):
            pass
        for _ in range(100):
            try:
                httpx.get(f"http://127.0.0.1:{PORT}/api/health", timeout=0.5)
            except httpx.HTTPError:
                break
            time.sleep(0.1)


def start_server() -> PrefectServer:
    home = DATA / "demo-prefect"
    stop_previous_server(home)
    if home.exists():
        shutil.rmtree(home)
    server = PrefectServer(home, PORT, ui=True)
    print(f"starting a local Prefect server (SQLite under {home.relative_to(REPO)}) ...")
    # it boots while the first simulated weeks play: they need no Prefect (records are only
    # accepted, the monitor's pass is the case database's); the first round of case runs waits
    server.start(detach=True, wait=False)
    from demo.serving import login_lines

    for line in login_lines(PORT):
        print(line, flush=True)
    for key, value in server.env().items():
        if key.startswith("PREFECT_"):
            os.environ[key] = value
    os.environ["CIN_UI_URL"] = f"http://127.0.0.1:{PORT}"
    return server


def demo_staff(authority: str, teams: list[str]) -> str:
    """A synthetic roster (staff_id,name,email,role,team,manager_id): per team a team manager and
    four workers; a service manager per two teams; one head of service."""
    domain = f"{authority}.example"
    lines = [
        "staff_id,name,email,role,team,manager_id",
        f"HOS,Head of Service,hos@{domain},head_of_service,,",
    ]
    for i, team in enumerate(teams):
        sm = f"SM{i // 2 + 1}"
        if i % 2 == 0:
            lines.append(f"{sm},Service Manager {sm},{sm.lower()}@{domain},service_manager,,HOS")
        tm = f"TM-{team}"
        lines.append(f"{tm},Team Manager {team},{tm.lower()}@{domain},team_manager,{team},{sm}")
        for w in range(1, 5):
            wid = f"W-{team}-{w}"
            lines.append(f"{wid},Worker {wid},{wid.lower()}@{domain},worker,{team},{tm}")
    return "\n".join(lines) + "\n"


def start_smtp() -> LocalSmtpServer:
    """A real SMTP server on loopback; every message it accepts is also a file under data/mail."""
    folder = DATA / "mail"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    server = LocalSmtpServer(folder=folder)
    server.start()
    os.environ["CIN_SMTP_URL"] = server.url(sender="cin-alerts@demo.example")
    print(f"local SMTP server on 127.0.0.1:{server.port}, messages kept under data/mail")
    return server


def play(started: float, server: PrefectServer) -> None:
    # imported after the environment points at the demo's server and data folder
    from demo.caseload import CaseloadRecord, generate_caseload, mix_summary
    from engine.ingest import Ingest
    from engine.worker import work
    from flows.monitor import one_pass
    from models.lifecycle import EventRefused
    from models.staff.roster import parse_staff_csv
    from models.staff.store import allocate, import_staff

    ingest = Ingest.from_settings(deliver=False)
    # each council's referrals a year from the seeds, times one scale (demo/caseload_mix.py)
    from demo.caseload_mix import VOLUME_SCALE, scaled_volumes

    volumes = scaled_volumes(AUTHORITIES)
    with PHASES.timed("caseload"):
        records = generate_caseload(
        authorities=AUTHORITIES, cases=sum(volumes.values()), start=START, days=DAYS, seed=2026,
        policies=ingest.policies, volumes=volumes,
    )  # fmt: skip
    print(
        f"\nvolumes: each council's referrals a year from the seeds x 1/{1 / VOLUME_SCALE:.0f}: "
        + ", ".join(f"{slug} {n}" for slug, n in volumes.items())
    )
    mix = mix_summary(records)
    print(
        f"\nsynthetic caseload: {mix['cases']} cases of {mix['children']} children, "
        f"{mix['records']} records ({mix['late_records']} sent late, "
        f"{mix['re_referrals']} re-referrals), {START} to {START + timedelta(days=DAYS)}"
    )
    teams: dict[str, set[str]] = defaultdict(set)
    for record in records:
        teams[record.authority].add(record.team)
    rosters = DATA / "staff"
    rosters.mkdir(exist_ok=True)
    workers: dict[str, list[str]] = {}
    for authority, names in sorted(teams.items()):
        text = demo_staff(authority, sorted(names))
        write_bytes(rosters / f"{authority}.csv", text.encode(), option="roster", replace=True)
        rows = parse_staff_csv(text)
        import_staff(ingest.engine, authority=authority, rows=rows)
        for row in rows:
            if row.role.value == "worker" and row.team:
                workers.setdefault(row.team, []).append(row.staff_id)
    print(f"staff rosters (synthetic) imported from {rosters.relative_to(REPO)}/*.csv")
    teams_urls = {
        f"{authority}/{team}": TEAMS.apprise_url(f"cin-{team}")
        for authority, names in teams.items()
        for team in names
    }
    os.environ["CIN_TEAMS_URLS"] = json.dumps(teams_urls)
    print(f"Teams: every team's workflow URL is a local HTTPS receiver ({len(teams_urls)} teams)")
    from demo.census_returns import census_returns, record_children, send_record

    with PHASES.timed("children's details"):
        children = record_children(ingest, records)
    print(f"census details (synthetic) of {children} children recorded")
    by_day: dict[int, list[CaseloadRecord]] = defaultdict(list)
    for record in records:
        by_day[(record.recorded_on - START).days].append(record)
    case_refs: dict[str, str] = {}
    refused: list[str] = []
    accepted = 0
    monitor = Counter[str]()
    for offset in range(DAYS + 1):
        today = START + timedelta(days=offset)
        os.environ["CIN_TODAY"] = today.isoformat()
        # the morning's monitor pass, before the day's records arrive
        with PHASES.timed("monitor passes"):
            report = one_pass(today, digests=True)
        monitor["alerts"] += len(report.raised)
        monitor["sent"] += report.sent
        monitor["failed"] += report.failed
        for record in by_day.get(offset, []):
            try:
                with PHASES.timed("accepting records"):
                    opened = send_record(ingest, record, case_refs)
                    if opened is not None:
                        pool = workers[record.team]
                        worker = pool[len(case_refs) % len(pool)]
                        allocate(ingest.engine, case_ref=opened, worker_id=worker, on=today)
                accepted += 1
            except EventRefused as refusal:
                refused.append(f"{record.case_key}: {refusal}")
        week = offset // 7
        if offset % 7 != 6 and offset != DAYS:
            continue
        if week % ROUND_WEEKS == ROUND_WEEKS - 1 or offset == DAYS:
            with PHASES.timed("waiting for the Prefect server"):
                server.wait_healthy()  # at once after the first time
            with PHASES.timed("case runs"):
                work(ingest.engine, threads=CASE_THREADS, until_idle=True)
            print(
                f"  simulated {today}: {accepted} events accepted, {len(case_refs)} cases, "
                f"{monitor['alerts']} alerts raised, {monitor['sent']} messages sent "
                f"({time.monotonic() - started:.0f}s)",
                flush=True,
            )
    from flows.monitor import deadline_monitor
    from flows.reconciler import reconcile

    with PHASES.timed("reconciler and monitor runs"):
        reconcile()  # one reconciler pass, visible in the UI beside the case runs
        deadline_monitor(as_of=today)  # a monitor run in the UI: its table artifact and events
    summarise(ingest.engine, accepted, refused, today)
    summarise_alerts(ingest.engine)
    from demo.report_view import beside_the_seeds

    print()  # the simulated year's figures beside the seeds' (cin report --compare)
    with PHASES.timed("report"):
        compared = beside_the_seeds(
            ingest.engine, ingest.policies, START, today, DATA / "report.html"
        )
    for line in compared:
        print(line)
    print()
    with PHASES.timed("census returns"):
        checked = census_returns(ingest, AUTHORITIES, year=CENSUS_YEAR, folder=DATA / "census")
    for line in checked:
        print(line)


def summarise(engine: Engine, accepted: int, refused: list[str], today: date) -> None:
    from sqlmodel import Session, select

    from models.instance import case_artifact_key, instance_id
    from models.tables import Case, Deadline

    with Session(engine) as session:
        cases = session.exec(select(Case)).all()
        deadlines = session.exec(select(Deadline)).all()
    stages = Counter(c.stage for c in cases)
    statuses = Counter(d.status for d in deadlines)
    overdue = [d for d in deadlines if d.status in ("open", "missed") and d.due < today]
    behind = [c.case_ref for c in cases if c.flow_seq != c.last_seq]
    print(f"\n{accepted} events accepted, {len(refused)} refused; {len(cases)} cases")
    for line in refused[:5]:
        print(f"  refused: {line}")
    print("cases by stage:  " + ", ".join(f"{k} {v}" for k, v in sorted(stages.items())))
    print("deadlines:       " + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())))
    print(f"overdue on {today}: {len(overdue)} open deadlines past due")
    print(f"case runs behind their log: {len(behind)} (0 means every event was applied)")
    print(f"re-referrals detected: {sum(c.re_referral for c in cases)}")
    example = next((c for c in cases if c.stage == "cin_plan"), cases[0])
    artifact = case_artifact_key(instance_id(engine), example.case_ref)
    print(
        f"""
Where to look (Prefect UI, http://127.0.0.1:{PORT}; it asks for the API auth string, which is
in data/demo-prefect/api-auth):
  Runs        one flow run per case, named after its reference ({example.case_ref}, ...);
              filter by tag authority:redbridge, team:..., stage:cin_plan; a suspended run's
              state message says what it waits for and when that is due (or overdue since).
  Artifacts   {artifact}: the case's timeline and open deadlines.
  CLI         CIN_DATA_DIR=data CIN_TODAY={today} .venv/bin/cin case show {example.case_ref}
              CIN_DATA_DIR=data .venv/bin/cin deadlines --overdue --as-of {today}
  Overdue     the latest cin-deadline-monitor run (one click in Runs): its log lists every
              overdue case, the latest first; its table artifact overdue-cases-... links each.
The Prefect server and a case worker keep running for exploring the UI; `make stop` stops them,
`make demo-serve` starts them again on this data."""
    )


def summarise_alerts(engine: Engine) -> None:
    from sqlmodel import Session, select

    from models.tables import Alert, Dispatch

    with Session(engine) as session:
        alerts = session.exec(select(Alert)).all()
        dispatches = session.exec(select(Dispatch)).all()
    sent = [x for x in dispatches if x.sent_at is not None]
    by_role = Counter((a.role, a.notice if a.level == 0 else f"rung {a.level}") for a in alerts)
    recipients = Counter(f"{x.authority}/{x.recipient.removeprefix('staff:')}" for x in sent)
    kinds = Counter(
        "urgent, at once" if x.key.startswith("alert:") else "daily digest" for x in sent
    )
    mail = sorted((DATA / "mail").glob("*.eml"))
    teams_posts = len(TEAMS.requests)
    print(
        f"\nalerts: {len(alerts)} raised, {len(sent)} messages sent "
        f"({len(dispatches) - len(sent)} waiting)"
    )
    print("  by kind:   " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
    print("  by role:   " + ", ".join(f"{r} {n} {v}" for (r, n), v in sorted(by_role.items())))
    print("  to whom (staff ids; most messages first):")
    for recipient, count in recipients.most_common(8):
        print(f"    {recipient:<48} {count}")
    unrouted = sum(1 for a in alerts if a.channel == "none")
    print(f"  held (nobody to tell, or no destination for the channel): {unrouted}")
    print(f"  Teams posts received by the local receiver: {teams_posts}")
    if mail:
        print(
            f"  every message is a file under {mail[0].parent.relative_to(REPO)}/ "
            f"({len(mail)} files), e.g. {mail[-1].name}"
        )


def main() -> None:
    global PORT
    PORT = demo_port()
    started = time.monotonic()
    print("Deadlines under the seed authorities' policies, with their reasons:\n")
    for line in explain_examples():
        print(line)
    DATA.mkdir(exist_ok=True)
    os.environ["CIN_DATA_DIR"] = str(DATA)
    os.environ.pop("CIN_DATABASE_URL", None)
    for stale in DATA.glob("cin.db*"):
        stale.unlink()
    server = start_server()
    smtp = start_smtp()
    TEAMS.start()
    # This process's only TLS peer is the local Teams receiver: it trusts that certificate alone.
    # Apprise makes an SSL context for every email, and httpx for every Prefect client, each
    # loading the whole system or certifi bundle (about 90 ms at a load of 8): SSL_CERT_FILE
    # and PREFECT_API_SSL_CERT_FILE make that one certificate (2 ms).
    trust = {"REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "PREFECT_API_SSL_CERT_FILE"}
    os.environ.update(dict.fromkeys(trust, str(TEAMS.ca_file)))
    try:
        play(started, server)
    finally:
        smtp.stop()
        TEAMS.stop()
        for variable in trust:  # the receiver's certificate is gone: the worker left must not
            os.environ.pop(variable, None)  # look for it
    from demo.serving import TODAY_FILE, login_lines, start_worker

    TODAY_FILE.write_text(os.environ.get("CIN_TODAY", ""))
    with PHASES.timed("worker start"):
        pid = start_worker(server, os.environ.get("CIN_TODAY"))
    print(f"\na case worker is left serving (pid {pid}): the deployment reads Ready")
    for line in login_lines(PORT):
        print(line)
    minutes, seconds = divmod(round(time.monotonic() - started), 60)
    print(f"\ndemo finished in {minutes} min {seconds} s (wall time)")
    print(PHASES.line())
    # the demo is also the embedded server's test under load: an error it logged fails the demo
    errors = server.log_errors()
    if errors:
        sys.exit(
            f"the demo's Prefect server logged {len(errors)} error line(s), first: "
            f"{errors[0][:160]!r}; see {server.log.relative_to(REPO)}"
        )


if __name__ == "__main__":
    main()
