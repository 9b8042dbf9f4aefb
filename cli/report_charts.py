"""The report's charts, drawn by matplotlib as inline SVG: no JavaScript, nothing fetched, offline.

Bars for the bands (each council's own beside the seed's published share), lines for the quarters,
and in the comparison one bar per council with the seeds' national figure as a reference line.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
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
    ax.legend(frameon=False, fontsize=8)
    return svg(fig)


def quarter_lines(reports: Sequence[dict[str, Any]], title: str) -> str:
    """Referrals per quarter: one line per council."""
    fig = _figure()
    ax = fig.add_subplot()
    for report in reports:
        quarters = report["referrals_per_quarter"]
        ax.plot(
            [q["quarter"] for q in quarters],
            [q["referrals"] for q in quarters],
            marker="o",
            label=report["name"],
        )
    ax.set_ylabel("referrals")
    ax.set_title(title)
    ax.tick_params(axis="x", labelrotation=30)
    ax.legend(frameon=False, fontsize=8)
    return svg(fig)


def kind_bars(counts: dict[str, int], title: str) -> str:
    fig = _figure()
    ax = fig.add_subplot()
    kinds = list(counts) or ["(none)"]
    ax.barh(kinds, [counts.get(k, 0) for k in kinds], color=OURS)
    ax.set_xlabel("deadlines")
    ax.set_title(title)
    return svg(fig)


def compare_bars(reports: Sequence[dict[str, Any]], measure: str, title: str) -> str:
    """One bar per council; the seeds' national figure, where one exists, as a line across."""
    fig = _figure()
    ax = fig.add_subplot()
    names = [r["name"] for r in reports]
    ax.bar(names, [value_of(r, measure) or 0 for r in reports], color=OURS)
    reference = england_reference(measure)
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
