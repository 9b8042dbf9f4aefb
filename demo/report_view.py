"""The demo's own figures beside the seeds' published ones, so a reader can see the simulation is
honest: the caseload mix (demo/caseload_mix.py) is tuned from these figures, and `cin report`
counts them back from the event log the demo recorded. Volumes too: each council's referrals in
the simulated year beside its annual referrals from the seeds times the demo's one scale.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import Engine

from demo.caseload_mix import ANNUAL_REFERRALS, VOLUME_SCALE
from models.policy.book import PolicyBook
from models.report import comparison
from models.report.flat import describe, value_of
from models.report.seeds import figures_for

# (measure, the seed council whose figure the mix was tuned to, or None for every council)
TUNED = (
    ("nfa_after_referral_pct", None),
    ("re_referrals_12m_pct", "warwickshire"),
    ("re_referrals_by_interval.under_1_month_pct", "warwickshire"),
    ("re_referrals_by_interval.6_to_12_months_pct", "warwickshire"),
    ("closures_by_duration.under_3_months_pct", "stockton-on-tees"),
    ("closures_by_duration.9_months_and_over_pct", "stockton-on-tees"),
    ("closures_to_early_help_pct", "stockton-on-tees"),
    ("episodes_ended.under_1_year_pct", "redcar-and-cleveland"),
    ("cin_plan_duration.mean_days", None),
)


def beside_the_seeds(
    engine: Engine, book: PolicyBook, start: date, end: date, html: Path | None = None
) -> list[str]:
    """Lines "measure  council demo-figure | seed figure (cite)"; writes the comparison page."""
    document = comparison(engine, book, start, end)
    reports = document["authorities"]
    lines = [f"the demo's figures ({start} to {end}) beside the seeds' published ones:"]
    for measure, tuned_to in TUNED:
        seeds = "; ".join(describe(f) for f in figures_for(measure)) or "(no seed figure)"
        slugs = [tuned_to] if tuned_to in reports else sorted(reports)
        ours = ", ".join(f"{slug} {_shown(value_of(reports[slug], measure))}" for slug in slugs)
        lines.append(f"  {measure}: demo {ours} | seed {seeds}")
    lines.append(
        f"  referrals_total (volumes: the seeds' referrals a year x 1/{1 / VOLUME_SCALE:.0f}, "
        "caseload_mix.ANNUAL_REFERRALS): "
        + "; ".join(
            f"{slug} demo {reports[slug]['referrals_total']} | seed {ANNUAL_REFERRALS[slug]:,.0f}"
            f" x 1/{1 / VOLUME_SCALE:.0f} = {ANNUAL_REFERRALS[slug] * VOLUME_SCALE:.1f}"
            for slug in sorted(reports)
            if slug in ANNUAL_REFERRALS
        )
    )
    if html is not None:
        from cli.report_html import comparison_html
        from models.output_file import write_bytes

        # the demo's own page, rewritten on each run: a regular file is replaced, nothing else
        write_bytes(html, comparison_html(document).encode("utf-8"), option="html", replace=True)
        lines.append(f"  charts and every measure: {html}")
    return lines


def _shown(value: object) -> str:
    return "-" if value is None else str(value)
