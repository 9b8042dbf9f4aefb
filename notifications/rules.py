"""The rule behind an alert, in plain English: what the rule says, whose rule it is (the case's
plan, the council's policy, the statutory rule, or this system's default where none of them sets
one), and its citation last, with document numbers spelled out as the documents' names.

Pure: no Prefect, no database. The policy files cite the seed documents by number ("003 s3"), as
the engineers who encoded them read them; a manager reading an alert has never seen that folder.
"""

from __future__ import annotations

import re

from models.alerts.store import DueItem
from models.policy.book import (
    ANCHOR_WORDS,
    ENGINE_DEFAULT,
    STATUTORY,
    ResolvedPolicy,
    ResolvedTimescale,
    quantity,
)
from models.policy.timescales import TimescaleKind

# The seed documents (../shared/seeds/README.md), by the number the policy files cite them by.
DOCUMENTS: dict[str, str] = {
    "000": "Redcar and Cleveland's children in need needs assessment (2016)",
    "001": "Stockton-on-Tees' report to its Children and Young People Select Committee (2018)",
    "002": "Warwickshire's Children in Need Policy v5.0 (2018)",
    "003": "Redbridge's Children in Need procedures (2018)",
    "004": "the Children's Commissioner's report on children in need (2024)",
}
_DOC = re.compile(
    r"\b(?:Redcar and Cleveland |Stockton-on-Tees |Warwickshire |Redbridge )?(00[0-4])\b"
)
_SECTION = re.compile(r",?\s+s(\d+(?:\.\d+)*)\b")
_CHAPTER = re.compile(r",?\s+ch\.(\d+)")
_ENGINE_DEFAULT = re.compile(r"^engine default(?:, no national timescale)?:\s*", re.IGNORECASE)
# "2 weeks from previous visit on 2025-03-03 under redbridge v1 (set for this case)"
_PLAN_SET = re.compile(r"^(\d+ (?:working )?(?:day|week|month)s?) from (.+?) on \d{4}-\d{2}-\d{2}")
PLAN_SET_NOTE = "(set for this case)"
DRIFT_RULE = "drift rule"


def cite(source: str) -> str:
    """A policy file's citation with document numbers, sections and chapters spelled out."""
    text = _ENGINE_DEFAULT.sub("", source.strip())
    text = text.replace("the only seed rule", "the only published rule")
    text = text.replace(
        "the one seed that sets one is", "the only council document that sets one is"
    )
    text = re.sub(r"\bL(\d+)\b", r"line \1", text)
    text = text.replace("any seed", "any council's published document")
    text = text.replace("Working Together 2018", "Working Together to Safeguard Children (2018)")
    text = _DOC.sub(lambda m: DOCUMENTS[m.group(1)], text)
    text = _SECTION.sub(r", section \1", text)
    return _CHAPTER.sub(r", chapter \1", text)


def is_engine_default(timescale: ResolvedTimescale) -> bool:
    return (
        timescale.provenance == ENGINE_DEFAULT
        or _ENGINE_DEFAULT.match(timescale.source) is not None
    )


def whose(timescale: ResolvedTimescale, policy: ResolvedPolicy, policy_ref: str) -> str:
    """Whose rule applied to this case; `policy_ref` ("redbridge v2") is the version the
    deadline was counted under."""
    if is_engine_default(timescale):
        return (
            "this system's default: neither the case's plan, nor "
            f"{policy.name}'s policy, nor the statutory guidance sets one"
        )
    if timescale.provenance == STATUTORY or timescale.inherited:
        return f"the statutory rule (national guidance; {policy.name} sets no rule of its own)"
    version = policy_ref.rpartition(" v")[2]
    return f"{policy.name}'s policy (version {version or policy.version})"


def what_it_says(timescale: ResolvedTimescale, words: str) -> str:
    amount = quantity(timescale.amount, timescale.unit)
    anchor = ANCHOR_WORDS[timescale.counts_from]
    return f"the {words} within {amount} of the {anchor}"


def rule_sentence(item: DueItem, policy: ResolvedPolicy, words: str) -> str:
    """One line: "<what the rule says>, <whose rule>. Source: <citation>"."""
    if item.source == "drift" or item.policy_ref == DRIFT_RULE:
        times = policy.continue_streak
        return (
            f"{item.explanation}: a plan reviewed {times} times in a row without a change is "
            "drifting; this system's default check, as no statutory or council rule counts it. "
            f"Source: an inspection finding that plans were not explicit about what needed to "
            f"change ({DOCUMENTS['001']}, lines 269-271)"
        )
    if PLAN_SET_NOTE in item.explanation:
        plan = _PLAN_SET.match(item.explanation)
        every = f"every {plan.group(1)}" if plan else "as often as the plan says"
        return (
            f"a {words} {every}, as this case's plan sets. Source: the case's plan, as recorded "
            "at its CIN meeting or latest review"
        )
    try:
        timescale = policy.timescales[TimescaleKind(item.kind)]
    except (ValueError, KeyError):
        return f"{item.explanation}. Source: {item.policy_ref}"
    return (
        f"{what_it_says(timescale, words)}, {whose(timescale, policy, item.policy_ref)}. "
        f"Source: {cite(timescale.source)}"
    )
