"""Real deadlines under the four seed authorities' policies, each with its reason.

The first part of `make demo`: what the engine will count for a case, and why, before any flow
runs. Every line traces to a policy file and its source document.
"""

from __future__ import annotations

import logging
from datetime import date

from models.policy.book import load_policy_dir
from models.policy.timescales import TimescaleKind
from models.settings import get_settings

log = logging.getLogger("cin.demo")

EXAMPLES = [
    ("warwickshire", TimescaleKind.ASSESSMENT_COMPLETED, date(2024, 12, 20)),
    ("warwickshire", TimescaleKind.CIN_SUPPORT_INITIATED, date(2025, 4, 14)),
    ("redbridge", TimescaleKind.CIN_PLAN_MEETING, date(2022, 9, 12)),
    ("redbridge", TimescaleKind.REVIEW, date(2024, 8, 31)),
    ("redbridge", TimescaleKind.TRANSFER_IN_MEETING, date(2023, 4, 28)),
    ("stockton-on-tees", TimescaleKind.REVIEW, date(2025, 11, 3)),
    ("redcar-and-cleveland", TimescaleKind.ICPC, date(2022, 5, 26)),
]


def explain_examples() -> list[str]:
    book = load_policy_dir(get_settings().policy_dir)
    lines = []
    for slug, kind, start in EXAMPLES:
        counted = book.authority(slug).on(start).count(kind, start)
        lines.append(f"{kind.value:22} due {counted.due.isoformat()}  {counted.explanation}")
        lines.append(f"{'':22}     source: {counted.source}")
    return lines
