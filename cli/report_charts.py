"""The report's charts, drawn by matplotlib as inline SVG: no JavaScript, nothing fetched, offline.

Bars for the bands (each council's own beside the seed's published share), lines for the quarters,
and in the comparison one bar per council with the seeds' national figure as a reference line.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from typing import Any

import matplotlib
from matplotlib.figure import Figure

from models.report.flat import value_of
from models.report.seeds import england_reference, figures_for

_STYLE: dict[Any, Any] = {
    "svg.fonttype": "none",  # text stays text: smaller, and searchable in the page
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
OURS = "#1f5f99"
SEED_COLOURS = ("#c0504d", "#9bbb59", "#8064a2", "#f79646")


def svg(fig: Figure) -> str:
    """The figure as an `<svg>` element (no XML prologue), sized to the page's width."""
    buffer = io.StringIO()
    with matplotlib.rc_context(_STYLE):
        fig.savefig(buffer, format="svg", bbox_inches="tight")
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _figure() -> Figure:
    with matplotlib.rc_context(_STYLE):
        return Figure(figsize=(6.4, 3.0))


def _legend(ax: Any) -> None:
    """The legend beside the plot, never over a bar or a line."""
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))


def _empty(ax: Any, values: Sequence[float], *, horizontal: bool = False) -> None:
    """An axis from 0 (not -0.04 to 0.04) and a word, when there is nothing to draw."""
    if any(values):
        return
    (ax.set_xlim if horizontal else ax.set_ylim)(0, 1)
    ax.text(0.5, 0.5, "none in this period", transform=ax.transAxes, ha="center", color="#555")


def quarter_bounds(label: str) -> tuple[date, date]:
    """The first and last day of a financial quarter labelled like "2024-25 Q1" (April-June)."""
    year, quarter = int(label[:4]), int(label[-1])
    first_month = 4 + 3 * (quarter - 1)
    start = date(year + (first_month - 1) // 12, (first_month - 1) % 12 + 1, 1)
    next_month = first_month + 3
    end = date(year + (next_month - 1) // 12, (next_month - 1) % 12 + 1, 1)
    return start, date.fromordinal(end.toordinal() - 1)


def band_chart(
    report: dict[str, Any], key: str, bands: Sequence[str], labels: Sequence[str], title: str
) -> str:
    """The council's share in each band, with each seed's published share beside it."""
    fig = _figure()
    ax = fig.add_subplot()
    ours = [value_of(report, f"{key}.{band}_pct") or 0 for band in bands]
    seeds: dict[str, list[float]] = {}
    for i, band in enumerate(bands):
        for figure in figures_for(f"{key}.{band}_pct"):
            seeds.setdefault(figure.who, [0.0] * len(bands))[i] = figure.value
    width = 0.8 / (1 + len(seeds))
    xs = range(len(bands))
    ax.bar(list(xs), ours, width, label=report["name"], color=OURS)
    for n, (who, values) in enumerate(seeds.items(), start=1):
        colour = SEED_COLOURS[(n - 1) % len(SEED_COLOURS)]
        ax.bar([x + n * width for x in xs], values, width, label=f"{who} (seed)", color=colour)
    ax.set_xticks([x + width * len(seeds) / 2 for x in xs], labels)
    ax.set_ylabel("%")
    ax.set_title(title)
    _empty(ax, [*ours, *(v for values in seeds.values() for v in values)])
    _legend(ax)
    return svg(fig)


def quarter_lines(reports: Sequence[dict[str, Any]], title: str) -> str:
    """Referrals per quarter: one line per council. A quarter the period covers only in part is
    a hollow point off the line, labelled with the days it covers: it is not a drop."""
    fig = _figure()
    ax = fig.add_subplot()
    labels: list[str] = []
    everything: list[float] = []
    for report in reports:
        first, last = date.fromisoformat(report["from"]), date.fromisoformat(report["to"])
        full: list[tuple[int, int]] = []
        part: list[tuple[int, int, str]] = []
        for q in report["referrals_per_quarter"]:
            if q["quarter"] not in labels:
                labels.append(q["quarter"])
            x, start_end = labels.index(q["quarter"]), quarter_bounds(q["quarter"])
            start, end = start_end
            everything.append(q["referrals"])
            if first <= start and end <= last:
                full.append((x, q["referrals"]))
            else:
                covered = f"{max(first, start):%d %b} to {min(last, end):%d %b}"
                part.append((x, q["referrals"], covered))
        line = ax.plot([x for x, _ in full], [n for _, n in full], marker="o", label=report["name"])
        colour = line[0].get_color()
        for x, n, covered in part:
            ax.plot(
                [x], [n], marker="o", fillstyle="none", color=colour, linestyle="none",
                label=f"{report['name']}: part quarter ({covered})",
            )  # fmt: skip
    ax.set_xticks(range(len(labels)), labels)
    ax.set_ylabel("referrals")
    ax.set_title(title)
    ax.tick_params(axis="x", labelrotation=30)
    _empty(ax, everything)
    _legend(ax)
    return svg(fig)


def kind_bars(counts: dict[str, int], title: str) -> str:
    fig = _figure()
    ax = fig.add_subplot()
    kinds = list(counts) or ["(none)"]
    ax.barh(kinds, [counts.get(k, 0) for k in kinds], color=OURS)
    _empty(ax, [counts.get(k, 0) for k in kinds], horizontal=True)
    ax.set_xlabel("deadlines")
    ax.set_title(title)
    return svg(fig)


def compare_bars(reports: Sequence[dict[str, Any]], measure: str, title: str) -> str:
    """One bar per council; the seeds' national figure, where one exists, as a line across."""
    fig = _figure()
    ax = fig.add_subplot()
    names = [r["name"] for r in reports]
    values = [value_of(r, measure) or 0 for r in reports]
    ax.bar(names, values, color=OURS)
    reference = england_reference(measure)
    _empty(ax, [*values, reference.value if reference is not None else 0])
    if reference is not None:
        ax.axhline(reference.value, color=SEED_COLOURS[0], linestyle="--")
        ax.annotate(
            f"{reference.who} {reference.value:g} ({reference.period}; {reference.cite})",
            (0, reference.value),
            xytext=(2, 3),
            textcoords="offset points",
            color=SEED_COLOURS[0],
            fontsize=8,
        )
    ax.set_title(title)
    ax.tick_params(axis="x", labelrotation=15)
    return svg(fig)
