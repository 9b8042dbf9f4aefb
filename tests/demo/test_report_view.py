"""The demo prints its own figures beside the seeds' (and writes the comparison page)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from demo.report_view import beside_the_seeds
from models.policy.book import PolicyBook
from tests.models.report.histories import END, START, build


def test_each_tuned_figure_is_printed_beside_its_seed(
    engine: Engine, book: PolicyBook, tmp_path: Path
) -> None:
    build(engine, book, authority="stockton-on-tees")
    lines = beside_the_seeds(engine, book, START, END, tmp_path / "report.html")
    closures = next(line for line in lines if "closures_to_early_help_pct" in line)
    # the hand-counted 3 of 7 closures, beside Stockton's 24% (001 line 113)
    assert "demo stockton-on-tees 42.9 | seed Stockton-on-Tees 24 %" in closures
    assert "001 line 113" in closures
    assert (tmp_path / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
