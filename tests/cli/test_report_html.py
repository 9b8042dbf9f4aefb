"""The HTML report opens in a real browser (Debian's chromium, driven by Playwright), offline, with
every chart drawn and nothing on the console. The screenshot is kept for a person to look at."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright
from sqlmodel import Session

from cli.main import main
from models.cases.store import sync_authorities
from models.database import get_engine, migrate
from models.policy.book import PolicyBook
from tests.conftest import REPO_ROOT
from tests.models.report.histories import build

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SINGLE_CHARTS = {
    "referrals_per_quarter",
    "re_referrals_by_interval",
    "closures_by_duration",
    "episodes_ended",
    "overdue_deadlines_by_kind",
}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), "needs Debian's chromium: run `make browser`"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def database(tmp_path: Path, book: PolicyBook, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path}/cin.db"
    migrate(url)
    engine = get_engine(url)
    with Session(engine) as session:
        sync_authorities(session, policies=book)
    build(engine, book)
    build(engine, book, authority="warwickshire")
    engine.dispose()
    monkeypatch.setenv("CIN_DATABASE_URL", url)
    monkeypatch.setenv("CIN_POLICY_DIR", str(REPO_ROOT / "policies"))
    return url


def _open(browser: Browser, page_file: Path, shot: Path) -> dict[str, object]:
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(page_file.as_uri())
    charts = page.eval_on_selector_all(
        "figure.chart",
        """figs => figs.map(f => {
            const svg = f.querySelector('svg');
            const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
            return {name: f.dataset.chart, width: box.width, height: box.height,
                    shapes: svg ? svg.querySelectorAll('path, rect, line, use').length : 0};
        })""",
    )
    page.screenshot(path=str(shot), full_page=True)
    page.close()
    return {"errors": errors, "charts": charts, "requests": requests}


def test_the_report_opens_with_every_chart_drawn(
    database: str, browser: Browser, tmp_path: Path
) -> None:
    out = tmp_path / "report.html"
    assert main(["report", "--authority", "redbridge", "--from", "2024-04-01",
                 "--to", "2025-03-31", "--html", str(out)]) == 0  # fmt: skip
    seen = _open(browser, out, tmp_path / "report.png")
    assert seen["errors"] == []
    assert seen["requests"] == [out.as_uri()]  # nothing fetched: the file works offline
    charts = seen["charts"]
    assert isinstance(charts, list)
    assert {c["name"] for c in charts} == SINGLE_CHARTS
    for chart in charts:
        assert chart["width"] > 300 and chart["height"] > 150, chart
        assert chart["shapes"] > 10, chart
    _keep(tmp_path / "report.png")


def test_the_comparison_opens_with_every_chart_drawn(
    database: str, browser: Browser, tmp_path: Path
) -> None:
    out = tmp_path / "compare.html"
    assert main(["report", "--compare", "--from", "2024-04-01", "--to", "2025-03-31",
                 "--html", str(out)]) == 0  # fmt: skip
    html = out.read_text(encoding="utf-8")
    assert "Warwickshire" in html and "London Borough of Redbridge" in html
    seen = _open(browser, out, tmp_path / "compare.png")
    assert seen["errors"] == []
    charts = seen["charts"]
    assert isinstance(charts, list) and len(charts) == 8
    for chart in charts:
        assert chart["width"] > 300 and chart["height"] > 150, chart
    _keep(tmp_path / "compare.png")


def _keep(shot: Path) -> None:
    """Copy the screenshot where a person can open it after the run (CIN_SCREENSHOT_DIR)."""
    import os

    folder = os.environ.get("CIN_SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(folder) / shot.name)


def test_the_report_says_what_it_has_no_figure_for(database: str, tmp_path: Path) -> None:
    part = tmp_path / "part.html"
    assert main(["report", "--authority", "redbridge", "--from", "2024-04-01",
                 "--to", "2025-02-15", "--html", str(part)]) == 0  # fmt: skip
    html = part.read_text(encoding="utf-8")
    # the last quarter is covered from 1 Jan to 15 Feb only: drawn apart, not as a drop
    assert "part quarter (01 Jan to 15 Feb)" in html
    # Stockton's published quarterly count is of Q1: only a Q1 row sits beside it
    quarter_rows = [
        r.split("</tr>")[0] for r in html.split("<tr><td>")[1:] if r.startswith("referrals_per_q")
    ]
    rows = {cells[0]: cells[-2] for cells in (r.split("</td>") for r in quarter_rows)}
    q1 = next(v for k, v in rows.items() if k.endswith("Q1"))
    q2 = next(v for k, v in rows.items() if k.endswith("Q2"))
    assert "Stockton-on-Tees" in q1 and "Stockton-on-Tees" not in q2

    empty = tmp_path / "empty.html"
    assert main(["report", "--authority", "redbridge", "--from", "2020-04-01",
                 "--to", "2020-06-30", "--html", str(empty)]) == 0  # fmt: skip
    html = empty.read_text(encoding="utf-8")
    assert "none in this period" in html
    assert "−0.04" not in html and "-0.04" not in html  # no axis around nothing
    assert "n/a" in html and "<td class='n'>–</td>" not in html
