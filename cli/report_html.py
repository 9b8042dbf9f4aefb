"""The HTML report: one self-contained file (inline CSS and SVG, no script, no link out)."""

from __future__ import annotations

from html import escape
from typing import Any

from cli import report_charts as charts
from models.report.flat import HEADLINE, flatten, headline_rows, seeds_text, value_of

_CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; width: 100%; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25em 0.5em; text-align: left;
         vertical-align: top; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
td.seed { color: #555; font-size: 12px; overflow-wrap: anywhere; min-width: 12em; }
figure.chart { margin: 1.5em 0; }
figure.chart svg { max-width: 100%; height: auto; }
figcaption { color: #555; font-size: 12px; }
"""

_CHART_NOTE = (
    "Bars: the council's share from the event log; beside it each seed's published share "
    "(the seed file and line are in the table above)."
)


def _page(title: str, body: list[str]) -> str:
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        + "\n".join(body)
        + "</body></html>\n"
    )


def _value(value: Any) -> str:
    if value is None:
        return "n/a"  # no figure: nothing to count in the period (a dash read as a bullet)
    if isinstance(value, float):
        return f"{value:g}"
    return escape(str(value))


def _chart(name: str, svg: str, caption: str) -> str:
    return (
        f"<figure class='chart' data-chart='{escape(name)}'>{svg}"
        f"<figcaption>{escape(caption)}</figcaption></figure>"
    )


def authority_html(report: dict[str, Any]) -> str:
    title = f"{report['name']}: children in need, {report['from']} to {report['to']}"
    body = [
        f"<h1>{escape(title)}</h1>",
        f"<p>From the case database's event log and deadline rows; measures on a date are on "
        f"{escape(report['on_date'])}. Each figure sits beside the seeds' published figure for "
        "that council or for England, where a seed gives one.</p>",
        "<h2>Headline</h2>",
        _table(["measure", "this council", "published (seed)"], headline_rows(report)),
        "<h2>Referrals</h2>",
        _chart(
            "referrals_per_quarter",
            charts.quarter_lines([report], "Referrals per quarter"),
            "Referrals received per financial quarter; Stockton received 530 in 2017-18 Q1 and "
            "628 in 2018-19 Q1 (001 lines 65, 71).",
        ),
        _chart(
            "re_referrals_by_interval",
            charts.band_chart(
                report,
                "re_referrals_by_interval",
                ("under_1_month", "1_to_3_months", "3_to_6_months", "6_to_12_months"),
                ("< 1 month", "1-3 months", "3-6 months", "6-12 months"),
                "Re-referrals by time since the previous referral",
            ),
            _CHART_NOTE,
        ),
        "<h2>Closures</h2>",
        _chart(
            "closures_by_duration",
            charts.band_chart(
                report,
                "closures_by_duration",
                ("under_3_months", "3_to_6_months", "6_to_9_months", "9_months_and_over"),
                ("< 3 months", "3-6 months", "6-9 months", "9 months +"),
                "Closures by how long the case was open",
            ),
            _CHART_NOTE,
        ),
        _chart(
            "episodes_ended",
            charts.band_chart(
                report,
                "episodes_ended",
                ("under_3_months", "under_1_year", "1_year_and_over"),
                ("< 3 months", "< 1 year", "1 year +"),
                "Episodes ended, by length",
            ),
            _CHART_NOTE,
        ),
        "<h2>Overdue work</h2>",
        _chart(
            "overdue_deadlines_by_kind",
            charts.kind_bars(
                report["overdue_deadlines_by_kind"], f"Overdue on {report['on_date']}, by kind"
            ),
            "Deadlines past due on the date and not yet met or cancelled by then.",
        ),
        "<h2>Every measure</h2>",
        _table(
            ["measure", "this council", "published (seed)"],
            [(m, v, seeds_text(m)) for m, v in flatten(report)],
        ),
    ]
    return _page(title, body)


def comparison_html(document: dict[str, Any]) -> str:
    reports = list(document["authorities"].values())
    title = f"Councils side by side, {document['from']} to {document['to']}"
    header = ["measure", *(r["name"] for r in reports), "published (seed)"]
    rows = [(m, *(value_of(r, m) for r in reports), seeds_text(m)) for m in HEADLINE]
    body = [
        f"<h1>{escape(title)}</h1>",
        "<p>Every authority in the case database on the same measures; the dashed line is the "
        "seeds' national figure where one exists.</p>",
        _table(header, rows),
        _chart(
            "referrals_per_quarter",
            charts.quarter_lines(reports, "Referrals per quarter"),
            "One line per council.",
        ),
    ]
    for measure, label in _COMPARED:
        body.append(
            _chart(measure, charts.compare_bars(reports, measure, label), seeds_text(measure))
        )
    return _page(title, body)


_COMPARED = (
    ("nfa_after_referral_pct", "No further action after referral (%)"),
    ("re_referrals_12m_pct", "Re-referrals within 12 months (%)"),
    ("assessments_within_45wd_pct", "Assessments within 45 working days (%)"),
    ("episodes_ended.under_1_year_pct", "Episodes ended within a year (%)"),
    ("closures_to_early_help_pct", "Closures to early help (%)"),
    ("repeat_cp_plans_pct", "Repeat child protection plans (%)"),
    ("caseload_per_allocated_worker", "Caseload per allocated worker"),
)


def _table(header: list[str], rows: list[tuple[Any, ...]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    lines = []
    for measure, *values, seeds in rows:
        cells = "".join(f"<td class='n'>{_value(v)}</td>" for v in values)
        lines.append(
            f"<tr><td>{escape(str(measure))}</td>{cells}<td class='seed'>{escape(seeds)}</td></tr>"
        )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(lines)}</tbody></table>"
