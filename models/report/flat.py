"""The report as rows: one (measure, value) per figure, for CSV, the text table and the headline.

A band is written "key.band" (`closures_by_duration.under_3_months_pct`), the seed figures' own
spelling, so each row finds the published figures that sit beside it.
"""

from __future__ import annotations

from typing import Any

from models.report.seeds import SeedFigure, figures_for

_NOT_MEASURES = frozenset(
    {"authority", "name", "from", "to", "on_date", "seed_figures", "referrals_per_quarter"}
)
# The headline table (the HTML report's first table, and the monitor's daily artifact).
HEADLINE = (
    "referrals_total",
    "nfa_after_referral_pct",
    "assessments_within_45wd_pct",
    "assessments_within_local_target_pct",
    "re_referrals_12m_pct",
    "closures_total",
    "closures_by_duration.under_3_months_pct",
    "episodes_ended.under_1_year_pct",
    "closures_to_early_help_pct",
    "cin_plan_duration.median_days",
    "open_cin_plans_on_date",
    "open_cp_plans_on_date",
    "repeat_cp_plans_pct",
    "caseload_per_allocated_worker",
    "overdue_deadlines_total",
    "referrals_per_10k",
)


def flatten(report: dict[str, Any]) -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for quarter in report.get("referrals_per_quarter", []):
        rows.append((f"referrals_per_quarter.{quarter['quarter']}", quarter["referrals"]))
    for key, value in report.items():
        if key in _NOT_MEASURES:
            continue
        if isinstance(value, dict):
            rows.extend((f"{key}.{band}", inner) for band, inner in value.items())
        else:
            rows.append((key, value))
    return rows


def value_of(report: dict[str, Any], measure: str) -> Any:
    key, _, band = measure.partition(".")
    value = report.get(key)
    return value.get(band) if band and isinstance(value, dict) else value


def seeds_text(measure: str) -> str:
    """ "Stockton-on-Tees 51.9 % (2017-18; 001 line 83)", joined with "; "."""
    return "; ".join(describe(f) for f in figures_for(_seed_key(measure)))


def describe(figure: SeedFigure) -> str:
    value = f"{figure.value:g}"
    return f"{figure.who} {value} {figure.unit} ({figure.period}; {figure.cite})"


def _seed_key(measure: str) -> str:
    # Stockton's published quarterly counts are of Q1 (001 lines 65, 71): only a Q1 sits
    # beside them; another quarter has no published figure to compare with
    if measure.startswith("referrals_per_quarter."):
        return "referrals_per_quarter" if measure.endswith(" Q1") else "(no seed figure)"
    return measure


def headline_rows(report: dict[str, Any]) -> list[tuple[str, Any, str]]:
    return [(m, value_of(report, m), seeds_text(m)) for m in HEADLINE]
