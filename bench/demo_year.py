"""The demo's year without the Prefect server: the alerts and deadlines it leaves, for comparing
two revisions of the rules (docs/practice.md, "The demo's year before and after").

What `demo/demo.py` `play` does, less what needs Prefect: the same caseload (seed 2026, the four
councils, `START` and `DAYS`), the same synthetic rosters and children, each record accepted
through `engine.ingest` on its simulated day, and the monitor's pass every simulated morning
(digests on) with a local SMTP server and Teams receiver. It leaves out the case runs: they do
each event's work, but the case database alone decides deadlines and alerts. About 2 minutes on
the shared machine, against 4-10 for `make demo`.

Prints the alerts by kind, notice and rung, and the deadlines by kind and status. To run it on an
older commit, check that commit out in a worktree and put it first on the path:

    cd <tree> && PYTHONPATH=<tree> python bench/demo_year.py NEW_EMPTY_DATA_DIR

(the data directory is created; the case database is `<dir>/cin.db`).
"""

from __future__ import annotations

import inspect
import json
import os
import sys
import time
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

if not os.environ.get("PYTHONPATH"):  # PYTHONPATH names the tree to run (an older commit's)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(data: Path) -> None:
    data.mkdir(parents=True)
    os.environ["CIN_DATA_DIR"] = str(data)
    os.environ.pop("CIN_DATABASE_URL", None)
    # imported after the environment points at the data folder
    import demo.demo as dd
    from demo.caseload import generate_caseload
    from demo.caseload_mix import scaled_volumes
    from demo.census_returns import record_children, send_record
    from demo.local_smtp import LocalSmtpServer
    from demo.teams_receiver import TeamsReceiver
    from engine.ingest import Ingest
    from flows.monitor import one_pass
    from models.lifecycle import EventRefused
    from models.staff.roster import parse_staff_csv
    from models.staff.store import allocate, import_staff

    print(f"code from {Path(dd.__file__).resolve().parents[1]}", flush=True)
    (data / "mail").mkdir()
    smtp = LocalSmtpServer(folder=data / "mail")
    smtp.start()
    os.environ["CIN_SMTP_URL"] = smtp.url(sender="cin-alerts@demo.example")
    teams_receiver = TeamsReceiver()
    teams_receiver.start()
    for variable in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "PREFECT_API_SSL_CERT_FILE"):
        os.environ[variable] = str(teams_receiver.ca_file)
    started = time.monotonic()

    ingest = Ingest.from_settings(deliver=False)
    volumes = scaled_volumes(dd.AUTHORITIES)
    records = generate_caseload(
        authorities=dd.AUTHORITIES, cases=sum(volumes.values()), start=dd.START, days=dd.DAYS,
        seed=2026, policies=ingest.policies, volumes=volumes,
    )  # fmt: skip
    teams: dict[str, set[str]] = defaultdict(set)
    for record in records:
        teams[record.authority].add(record.team)
    workers: dict[str, list[str]] = {}
    for authority, names in sorted(teams.items()):
        rows = parse_staff_csv(dd.demo_staff(authority, sorted(names)))
        import_staff(ingest.engine, authority=authority, rows=rows)
        for row in rows:
            if row.role.value == "worker" and row.team:
                workers.setdefault(row.team, []).append(row.staff_id)
    urls = {
        f"{authority}/{team}": teams_receiver.apprise_url(f"cin-{team}")
        for authority, names in teams.items()
        for team in names
    }
    os.environ["CIN_TEAMS_URLS"] = json.dumps(urls)
    record_children(ingest, records)
    by_day: dict[int, list[Any]] = defaultdict(list)
    for record in records:
        by_day[(record.recorded_on - dd.START).days].append(record)
    dated = "on" in inspect.signature(allocate).parameters  # allocations are dated since issue 22
    case_refs: dict[str, str] = {}
    refused: list[str] = []
    accepted, raised = 0, 0
    for offset in range(dd.DAYS + 1):
        today = dd.START + timedelta(days=offset)
        os.environ["CIN_TODAY"] = today.isoformat()
        raised += len(one_pass(today, digests=True).raised)
        for record in by_day.get(offset, []):
            try:
                opened = send_record(ingest, record, case_refs)
                if opened is not None:
                    pool = workers[record.team]
                    worker = pool[len(case_refs) % len(pool)]
                    when = {"on": today} if dated else {}
                    allocate(ingest.engine, case_ref=opened, worker_id=worker, **when)
                accepted += 1
            except EventRefused as refusal:
                refused.append(f"{record.case_key}: {refusal}")
    smtp.stop()
    teams_receiver.stop()
    print(
        f"{accepted} events accepted, {len(refused)} refused, {len(case_refs)} cases; "
        f"{raised} alerts raised ({time.monotonic() - started:.0f} s)"
    )
    for line in refused[:10]:
        print(f"  refused: {line}")
    _tables(ingest.engine)


def _tables(engine: Any) -> None:
    from sqlalchemy import text

    queries = {
        "alerts by kind, notice, rung, role": (
            "SELECT kind, notice, level, role, COUNT(*) FROM alert "
            "GROUP BY kind, notice, level, role ORDER BY kind, level, notice"
        ),
        "deadlines by status": "SELECT status, COUNT(*) FROM deadline GROUP BY status ORDER BY 1",
        "deadlines by kind and status": (
            "SELECT kind, status, COUNT(*) FROM deadline GROUP BY kind, status ORDER BY 1, 2"
        ),
    }
    with engine.connect() as conn:
        for title, sql in queries.items():
            print(f"-- {title}")
            for row in conn.execute(text(sql)):
                print("\t".join(str(x) for x in row))
    counted = Counter[str]()
    with engine.connect() as conn:
        for level, n in conn.execute(text("SELECT level, COUNT(*) FROM alert GROUP BY level")):
            counted["worker" if level == 0 else f"rung {level}"] += int(n)
    print("-- alerts by rung: " + ", ".join(f"{k} {v}" for k, v in sorted(counted.items())))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python bench/demo_year.py NEW_EMPTY_DATA_DIR")
    main(Path(sys.argv[1]).resolve())
