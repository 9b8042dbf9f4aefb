"""What operations staff see in the Prefect UI and what managers' links open, in a real browser:
Debian's Chromium driven by Playwright against a real Prefect server (UI on) running a small
caseload, with a real SMTP server taking the alerts.

Screenshots are kept under `CIN_SCREENSHOTS` (default: `<pytest tmp>/screenshots`); pytest's
summary names the folder."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from prefect.client.orchestration import get_client
from prefect.events.worker import EventsWorker
from prefect.logging.handlers import APILogWorker
from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings
from sqlmodel import Session

from cli.main import main as cin
from demo.local_server import PrefectServer, free_port, wait_until
from demo.local_smtp import LocalSmtpServer
from demo.serving import start_worker, stop_worker
from engine.ingest import Ingest
from engine.worker import work
from flows.case import CASE_FLOW_NAME
from flows.monitor import deadline_monitor, one_pass
from flows.reconciler import reconcile
from models.cases.reads import case_deadlines, load_case
from models.instance import instance_id, monitor_artifact_key, overdue_cases_artifact_key
from models.staff.roster import parse_staff_csv
from models.staff.store import allocate, import_staff
from tasks.outbox import case_deployment_name
from tests.browser.conftest import SHOTS
from tests.notifications.caseload import ROSTER

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
AS_OF = date(2025, 2, 25)  # a Tuesday: the plan meetings (due Mon 24 Feb) are one day overdue
WIDTH = 1600


@dataclass
class Caseload:
    ui: str
    runs: dict[str, str]  # case reference -> flow run id
    overdue: list[str]
    on_time: list[str]
    smtp: LocalSmtpServer
    shots: Path
    auth: str = ""  # the server's API auth string: what an operator types at the UI's login
    server: PrefectServer | None = None
    instance: str = ""  # the case database's engine instance id (artifact keys carry it)


def _record(ingest: Ingest, ref: str, kind: str, on: str, outcome: str | None = None) -> None:
    event = {"type": kind, "on": on, **({"outcome": outcome} if outcome else {})}
    ingest.record(ref, event)


@pytest.fixture(scope="module")
def caseload(
    tmp_path_factory: pytest.TempPathFactory, prefect_template: Path
) -> Iterator[Caseload]:
    root = tmp_path_factory.mktemp("ui")
    shots = Path(os.environ.get("CIN_SCREENSHOTS", root / "screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    SHOTS.append(shots)  # named in pytest's summary (tests/browser/conftest.py)
    port = free_port()
    server = PrefectServer(root / "prefect", port, ui=True, template=prefect_template)
    server.start()
    smtp = LocalSmtpServer()
    smtp.start()
    ui = f"http://127.0.0.1:{port}"
    env = {
        "PREFECT_API_URL": server.api_url,
        "CIN_DATA_DIR": str(root),
        "CIN_UI_URL": ui,
        "CIN_SMTP_URL": smtp.url(),
        "CIN_TODAY": "2025-02-03",
    }
    env["PREFECT_API_AUTH_STRING"] = server.auth_string  # engine-started servers require it
    settings = {PREFECT_API_URL: server.api_url, PREFECT_API_AUTH_STRING: server.auth_string}
    with pytest.MonkeyPatch.context() as mp, temporary_settings(settings):
        for key, value in env.items():
            mp.setenv(key, value)
        mp.delenv("CIN_DATABASE_URL", raising=False)
        mp.delenv("CIN_TEAMS_URLS", raising=False)
        try:
            played = _play(ui, smtp, shots)
            played.auth = server.auth_string
            played.server = server
            yield played
        finally:
            # Prefect keeps one events worker and one API-log worker per process, bound to the
            # server they first reached: drain them, so later tests' servers get fresh ones
            EventsWorker.drain_all(timeout=30)
            APILogWorker.drain_all(timeout=30)
            smtp.stop()
            server.stop()


def _play(ui: str, smtp: LocalSmtpServer, shots: Path) -> Caseload:
    ingest = Ingest.from_settings()
    import_staff(ingest.engine, authority="redbridge", rows=parse_staff_csv(ROSTER))

    def refer(n: int) -> str:
        team, worker = ("east", "W1") if n % 2 == 0 else ("west", "W2")
        opened = ingest.refer(
            authority="redbridge", child_ref=f"CHILDUI{n}", on=date(2025, 1, 6), team=team
        )
        allocate(ingest.engine, case_ref=opened.case_ref, worker_id=worker)
        return opened.case_ref

    # an undecided referral (urgent): its run suspends on 6 Jan, "due 2025-01-07"; a monitor
    # pass without Prefect finds it overdue on 8 Jan, so its run still says "due" until the
    # next pass with Prefect, which must label it though nothing about it is new
    os.environ["CIN_TODAY"] = "2025-01-06"
    undecided = refer(0)
    work(ingest.engine, threads=1, until_idle=True)
    one_pass(date(2025, 1, 8), digests=True)
    os.environ["CIN_TODAY"] = "2025-02-03"
    refs = [refer(n) for n in range(1, 5)]
    # plans decided on 3 Feb, meeting due 24 Feb (15 WD): overdue on 25 Feb
    for ref in refs[:3]:
        _record(ingest, ref, "referral_decision", "2025-01-07", "assessment")
        _record(ingest, ref, "assessment_completed", "2025-02-03", "cin_plan")
    # in assessment, due 10 Mar: on time
    _record(ingest, refs[3], "referral_decision", "2025-01-07", "assessment")
    work(ingest.engine, threads=1, until_idle=True)
    os.environ["CIN_TODAY"] = AS_OF.isoformat()
    deadline_monitor(as_of=AS_OF)
    reconcile()
    with Session(ingest.engine) as session:
        runs = {ref: str(load_case(session, ref).flow_run_id) for ref in [undecided, *refs]}
    instance = instance_id(ingest.engine)
    return Caseload(ui, runs, [*refs[:3], undecided], [refs[3]], smtp, shots, instance=instance)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, caseload: Caseload) -> Iterator[Page]:
    """A browser tab logged in to the UI as an operator would: the server requires its API auth
    string, so the UI first shows its login form; the string typed there is kept by the UI."""
    context = browser.new_context(viewport={"width": WIDTH, "height": 1000})
    page = context.new_page()
    page.goto(f"{caseload.ui}/runs")
    password = page.locator("input[type=password]")
    password.wait_for(timeout=30_000)  # an anonymous visitor gets the login form, not the runs
    page.screenshot(path=str(caseload.shots / "login.png"))
    password.fill(caseload.auth)
    password.press("Enter")
    page.wait_for_function("() => localStorage.getItem('prefect-password') !== null")
    page.wait_for_url(re.compile(r".*/runs.*"), timeout=30_000)
    yield page
    context.close()


def _open(page: Page, url: str, shot: Path, ready: str) -> str:
    page.goto(url)
    page.get_by_text(ready).first.wait_for(timeout=30_000)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(shot), full_page=True)
    return page.inner_text("body")


def test_the_runs_list_shows_and_filters_overdue_cases(caseload: Caseload, page: Page) -> None:
    text = _open(page, f"{caseload.ui}/runs", caseload.shots / "runs.png", caseload.overdue[0])
    for ref in caseload.overdue + caseload.on_time:
        assert ref in text
    # one "Overdue" badge per overdue case run, and their tags
    assert page.get_by_text("Overdue", exact=True).count() == len(caseload.overdue)
    assert "rung:team_manager" in text
    # the monitor and reconciler runs are named by what they did
    assert re.search(r"monitor 2025-02-25 \d\d:\d\d: 4 overdue, \d+ alerts raised", text)
    assert re.search(r"reconcile \d{4}-\d\d-\d\d \d\d:\d\d: ", text)

    # filtered to the tag `overdue`: the overdue cases, and nothing else
    filtered = _open(
        page, f"{caseload.ui}/runs?tag=overdue", caseload.shots / "runs-overdue.png",
        caseload.overdue[0],
    )  # fmt: skip
    assert all(ref in filtered for ref in caseload.overdue)
    assert not any(ref in filtered for ref in caseload.on_time)
    assert "cin-deadline-monitor" not in filtered

    # the monitor's table: its caption says what stands overall, then what the pass did
    table = _open(
        page, f"{caseload.ui}/artifacts/key/{monitor_artifact_key(caseload.instance)}",
        caseload.shots / "overdue-table.png",
        "deadlines past due",
    )  # fmt: skip
    assert re.search(r"On 2025-02-25: 4 deadlines past due in 2 teams; \d+ messages waiting", table)
    assert "This pass: 3 newly overdue" in table


def test_the_case_page_shows_stage_wait_and_timeline(caseload: Caseload, page: Page) -> None:
    ref = caseload.overdue[0]
    run = f"{caseload.ui}/runs/flow-run/{caseload.runs[ref]}"
    text = _open(page, run, caseload.shots / "case-run.png", ref)
    assert "Overdue" in text and "stage:plan_pending" in text
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(caseload.runs[ref]).state
    assert state is not None and state.message is not None
    assert state.message.startswith("overdue since 2025-02-25 (due 2025-02-24): waiting for")

    page.get_by_text("Details", exact=True).first.click()
    page.get_by_text("overdue since 2025-02-25 (due").first.wait_for(timeout=30_000)
    page.screenshot(path=str(caseload.shots / "case-details.png"), full_page=True)
    page.get_by_text("Artifacts", exact=True).first.click()
    page.get_by_text(f"of {ref} (").first.wait_for(timeout=30_000)
    page.screenshot(path=str(caseload.shots / "case-artifacts.png"), full_page=True)
    cards = page.inner_text("body")
    # each card says which event it follows: the current one is the highest
    assert re.findall(rf"Event (\d+) of {ref}", cards)
    page.get_by_text(f"of {ref} (").first.click()
    page.get_by_text("Open deadlines").first.wait_for(timeout=30_000)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(caseload.shots / "case-timeline.png"), full_page=True)
    timeline = page.inner_text("body")
    assert "cin_plan_meeting" in timeline and "overdue since" in timeline
    assert "How each date was counted" in timeline and "Timeline" in timeline
    # readable on a 1600 px screen: nothing runs past the right edge
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH


def test_every_link_in_every_email_opens_its_case(caseload: Caseload, page: Page) -> None:
    messages = caseload.smtp.messages
    assert messages, "the monitor sent alerts"
    with Session(Ingest.from_settings().engine) as session:
        open_deadlines = {
            ref: [
                d.key
                for d in case_deadlines(session, load_case(session, ref).id)
                if d.status in ("open", "missed")
            ]
            for ref in caseload.runs
        }
    urgent = [m for m in messages if "URGENT" in m.subject]
    assert urgent, "the undecided referral is urgent"
    opened = 0
    for number, message in enumerate(messages):
        links = re.findall(rf"{re.escape(caseload.ui)}/\S+", message.body)
        refs = re.findall(r"RED-\d{6}", message.body)
        assert links and refs
        for link in links:
            text = _open(page, link, caseload.shots / f"mail-{number}-{opened}.png", "RED-")
            ref = re.search(r"case-[0-9a-f]+-(red-\d{6})|flow-run/([0-9a-f-]{36})", link)
            assert ref is not None
            expected = (
                ref.group(1).upper()
                if ref.group(1)
                else next(r for r, run in caseload.runs.items() if run == ref.group(2))
            )
            assert expected in refs and expected in text, f"{link} does not open {expected}"
            for key in open_deadlines[expected]:  # the case's current timeline, at once
                assert key in text, f"{link} does not show {expected}'s open deadline {key}"
            opened += 1
    assert opened >= len(messages)
    # from the case page a link goes on to the run
    first = re.findall(rf"{re.escape(caseload.ui)}/artifacts/key/\S+", messages[0].body)[0]
    page.goto(first)
    page.get_by_role("link", name=re.compile(r"RED-\d{6}")).first.click()
    page.wait_for_url(re.compile(r"/runs/flow-run/"))
    page.get_by_text("stage:").first.wait_for(timeout=30_000)
    page.screenshot(path=str(caseload.shots / "mail-link-to-run.png"), full_page=True)


def test_the_overdue_view_is_one_click_from_the_runs_list_and_agrees_with_the_cli(
    caseload: Caseload, page: Page, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cin(["deadlines", "--overdue", "--as-of", AS_OF.isoformat(), "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    expected = [
        [i["case"], i["authority"], i["team"] or "unallocated", i["key"], i["due"],
         str(i["working_days_overdue"]), i["rung"] or "-"]
        for i in cli
    ]  # fmt: skip
    assert {i["case"] for i in cli} == set(caseload.overdue)

    _open(page, f"{caseload.ui}/runs", caseload.shots / "runs-before-click.png", "RED-")
    # one click, on the monitor's run in the runs list: its page opens on its Logs tab
    page.get_by_role("link", name=re.compile(r"^monitor 2025-02-25")).first.click()
    page.get_by_text("Overdue on 2025-02-25").first.wait_for(timeout=30_000)
    page.get_by_text(f"#{len(expected)} ").first.wait_for(timeout=30_000)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(caseload.shots / "overdue-view-one-click.png"), full_page=True)
    lines = re.findall(
        r"#(\d+) (RED-\d{6}) · (\S+) · (\S+) · waits for (\S+) · due (\S+) · "
        r"(\d+) working days? overdue · rung (\S+)",
        page.inner_text("body"),
    )
    shown = [list(line[1:]) for line in sorted(lines, key=lambda line: int(line[0]))]
    assert shown == expected  # the same rows as the command, in the same order (latest first)
    assert [int(r[5]) for r in shown] == sorted((int(r[5]) for r in shown), reverse=True)

    # the table artifact: the same rows, each reference a link to the case, a search box
    key = overdue_cases_artifact_key(caseload.instance)
    _open(
        page, f"{caseload.ui}/artifacts/key/{key}", caseload.shots / "overdue-key.png", "Overdue on"
    )
    assert _table_rows(page) == expected
    href = page.get_by_role("link", name=caseload.overdue[0]).first.get_attribute("href")
    assert href is not None and href.endswith(caseload.overdue[0].lower())
    _open(page, href, caseload.shots / "overdue-view-to-case.png", "Open deadlines")


def _table_rows(page: Page) -> list[list[str]]:
    """The first table's body rows on the page, cell texts."""
    rows = page.locator("table").first.locator("tbody tr")
    return [
        [cell.strip() for cell in rows.nth(i).locator("td").all_inner_texts()]
        for i in range(rows.count())
    ]


def test_with_the_demo_s_worker_left_serving_the_deployment_reads_ready(
    caseload: Caseload, page: Page
) -> None:
    assert caseload.server is not None
    data = Path(os.environ["CIN_DATA_DIR"])
    start_worker(caseload.server, AS_OF.isoformat(), data)  # as `make demo` leaves it
    try:
        with get_client(sync_client=True) as client:  # its first heartbeat (a loaded machine)

            def online() -> bool:
                workers = client.read_workers_for_work_pool("cin-cases", limit=10, offset=0)
                return any(w.status is not None and w.status.value == "ONLINE" for w in workers)

            wait_until(online, 180, "the demo's worker to heartbeat on the cin-cases pool")
            name = f"{CASE_FLOW_NAME}/{case_deployment_name(caseload.instance)}"

            def ready() -> bool:  # the worker's first poll of its queue (after its first
                # outbox pass over the demo's caseload: a minute and more on a loaded machine)
                deployment = client.read_deployment_by_name(name)
                return deployment.status is not None and deployment.status.value == "READY"

            wait_until(ready, 300, "the worker to poll the case deployment's queue")
        page.goto(f"{caseload.ui}/deployments")
        page.get_by_text(f"case-{caseload.instance}").first.click()
        page.get_by_text("Ready", exact=True).first.wait_for(timeout=60_000)
        page.wait_for_load_state("networkidle")
        assert "Not Ready" not in page.inner_text("body")
    finally:
        page.screenshot(path=str(caseload.shots / "deployment-ready.png"), full_page=True)
        stop_worker(caseload.server.home)
