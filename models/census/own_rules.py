"""DfE rules the engine checks itself, because csc-validator-be-cin 0.1.13 cannot see them in an
XML return: its reader (`ingress.XMLtoCSV`) keeps an assessment's factors as one list per row,
while its rule 8869 compares each row's factors with the string "21", so a "21" beside other
factors is never found. The rule's text is the DfE's (2025-26 validation rules, 8869); rows are
numbered as the validator numbers them, in document order.
"""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from models.census.dfe_rules import RuleFailure
from models.lifecycle.codes import NO_FACTORS_IDENTIFIED

RULE_8869 = (
    "The assessment factors code \u201c21\u201d cannot be used in conjunction with any other "
    "assessment factors."
)


def own_rule_failures(path: Path) -> list[RuleFailure]:
    failures = []
    row = 0
    for _, element in etree.iterparse(str(path), tag="Assessments"):
        factors = [f.text for f in element.iter("AssessmentFactors")]
        if NO_FACTORS_IDENTIFIED in factors and len(factors) > 1:
            failures.append(
                RuleFailure("8869", "Error", RULE_8869, "Assessments", "AssessmentFactors", row)
            )
        row += 1
        element.clear()
    return failures
