"""Time to content of two Prefect UI pages an operator opens, in Debian's Chromium driven by
Playwright (issue 23 part 2): the runs list filtered to the tag `overdue` (`/runs?tag=overdue`,
docs/operators.md) and a case's run page (`/runs/flow-run/<id>`, where every alert's link
ends up).

Each page is opened `LOADS` times in one logged-in tab (the UI's script bundle is in the
browser's cache after the first, as for an operator who has the UI open); a load is timed from
`goto` until the content is on the screen: on the runs list the first case reference, on the
case page the reference and its `stage:` tag. The time until the network is idle follows. The
list's references are checked against the overdue cases: a filter that showed other runs would
be a fast wrong answer."""

from __future__ import annotations

import re
import statistics
import time
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
LOADS = 3
REF = re.compile(r"\b[A-Z]{3}-\d{6}\b")  # a case reference (models/cases/numbering.py)
TIMEOUT_MS = 300_000


def _timed(page: Any, url: str, ready: Any) -> tuple[float, float]:
    t0 = time.perf_counter()
    page.goto(url)
    ready().wait_for(timeout=TIMEOUT_MS)
    content = time.perf_counter() - t0
    page.wait_for_load_state("networkidle", timeout=TIMEOUT_MS)
    return content, time.perf_counter() - t0


def measure(ui: str, auth: str, overdue: dict[str, str], shots: Path, label: str) -> dict:
    """`overdue`: case reference -> flow run id of the runs the monitor labelled overdue."""
    from playwright.sync_api import sync_playwright

    shots.mkdir(parents=True, exist_ok=True)
    ref, run_id = sorted(overdue.items())[0]
    out: dict[str, Any] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_context(viewport={"width": 1600, "height": 1000}).new_page()
        page.goto(f"{ui}/runs")
        password = page.locator("input[type=password]")
        password.wait_for(timeout=TIMEOUT_MS)
        password.fill(auth)
        password.press("Enter")
        page.wait_for_function("() => localStorage.getItem('prefect-password') !== null")
        page.wait_for_url(re.compile(r".*/runs.*"), timeout=TIMEOUT_MS)
        pages = {
            "runs_overdue": (f"{ui}/runs?tag=overdue", lambda: page.get_by_text(REF).first),
            "case_page": (
                f"{ui}/runs/flow-run/{run_id}",
                lambda: page.get_by_text(re.compile(r"stage:")).first,
            ),
        }
        for name, (url, ready) in pages.items():
            loads = [_timed(page, url, ready) for _ in range(LOADS)]
            page.screenshot(path=str(shots / f"{label}-{name}.png"), full_page=True)
            text = page.inner_text("body")
            shown = set(REF.findall(text))
            if name == "runs_overdue" and not (shown and shown <= set(overdue)):
                raise SystemExit(f"runs?tag=overdue at {label}: {len(shown)} references shown, "
                                 f"{len(shown - set(overdue))} not overdue")  # fmt: skip
            if name == "case_page" and ref not in shown:
                raise SystemExit(f"the case page at {label} does not show its reference")
            out[name] = {
                "content": [c for c, _ in loads],
                "idle": [i for _, i in loads],
                "content_median": statistics.median(c for c, _ in loads),
                "idle_median": statistics.median(i for _, i in loads),
                "shown": len(shown),
            }
        browser.close()
    return out
