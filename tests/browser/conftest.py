"""Where the browser test's screenshots are: named in pytest's summary, so they can be looked at."""

from __future__ import annotations

from pathlib import Path

import pytest

SHOTS: list[Path] = []  # filled by the caseload fixture


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for folder in SHOTS:
        terminalreporter.write_line(f"browser screenshots: {folder}")
