"""The council's own figures from the event log, beside the seeds' published ones (issue 11).

    report = authority_report(engine, book, "redbridge", date(2024, 4, 1), date(2025, 3, 31))
    report["re_referrals_12m_pct"], report["seed_figures"]["re_referrals_12m_pct"]

Read-only: the measures run in one connection whose only table it creates is temporary, and the
transaction is rolled back.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Engine
from sqlmodel import col, select

from models.policy.book import PolicyBook
from models.report.measures import council_reports, seeds_beside
from models.tables import Authority


def authority_report(
    engine: Engine, book: PolicyBook, authority: str, start: date, end: date
) -> dict[str, Any]:
    book.authority(authority)  # an unknown authority is one clear error, before any query
    with engine.connect() as conn:
        try:
            report = council_reports(conn, book, [authority], start, end)[authority]
        finally:
            conn.rollback()
    report["seed_figures"] = seeds_beside()
    return report


def comparison(engine: Engine, book: PolicyBook, start: date, end: date) -> dict[str, Any]:
    """Every authority in the database that has a policy file, side by side."""
    with engine.connect() as conn:
        try:
            stored = conn.execute(select(col(Authority.slug))).scalars()
            slugs = [slug for slug in stored if slug in book.slugs()]
            reports = council_reports(conn, book, sorted(slugs), start, end) if slugs else {}
        finally:
            conn.rollback()
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "authorities": reports,
        "seed_figures": seeds_beside(),
    }
