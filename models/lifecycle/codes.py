"""DfE children in need census codes the lifecycle accepts (the DfE's CIN census 2025-26
specification; the lists as the project keeps them: models/census/CODES.md).

The codes are `Literal` types so that an event model rejects anything else and its JSON schema (the
CLI's help, the Prefect UI's form) lists the allowed values.
"""

from __future__ import annotations

from typing import Literal, get_args

ReferralSourceCode = Literal[
    "1A", "1B", "1C", "1D",
    "2A", "2B",
    "3A", "3B", "3C", "3D", "3E", "3F",
    "4",
    "5A", "5B", "5C", "5D",
    "6", "7", "8", "9", "10",
]  # fmt: skip
PrimaryNeedCode = Literal["N0", "N1", "N2", "N3", "N4", "N5", "N6", "N7", "N8", "N9"]
ClosureReasonCode = Literal["RC1", "RC2", "RC3", "RC4", "RC5", "RC6", "RC7", "RC8", "RC9"]
# Factors identified at the end of an assessment (CODES.md "AssessmentFactors"; the XSD's
# assessmentfactorstype without 18A/19A, which the 2025-26 return replaced by 18B/C and 19B/C).
AssessmentFactorCode = Literal[
    "1A", "1B", "1C", "2A", "2B", "2C", "3A", "3B", "3C", "4A", "4B", "4C",
    "5A", "5B", "5C", "6A", "6B", "6C", "7A", "8B", "8C", "8D", "8E", "8F",
    "9A", "10A", "11A", "12A", "13A", "14A", "15A", "16A", "17A",
    "18B", "18C", "19B", "19C", "20", "21", "22A", "23A", "24A",
]  # fmt: skip
# Category of abuse of a child protection plan (CODES.md "Other lists").
CategoryOfAbuseCode = Literal["NEG", "PHY", "SAB", "EMO", "MUL"]

REFERRAL_SOURCES: tuple[str, ...] = get_args(ReferralSourceCode)
PRIMARY_NEEDS: tuple[str, ...] = get_args(PrimaryNeedCode)
CLOSURE_REASONS: tuple[str, ...] = get_args(ClosureReasonCode)
ASSESSMENT_FACTORS: tuple[str, ...] = get_args(AssessmentFactorCode)
CATEGORIES_OF_ABUSE: tuple[str, ...] = get_args(CategoryOfAbuseCode)
NO_FACTORS_IDENTIFIED = "21"  # "only use this if there is no evidence of any of the factors"

# A transfer in opens a new episode whose census referral source is "LA services: external
# (another local authority)".
TRANSFER_IN_SOURCE: ReferralSourceCode = "5C"

# The closure reasons the lifecycle itself writes. RC8 and RC9 read "closed after assessment", but
# the DfE uses them too for a referral closed at the front door (ReferralNFA = 1, no assessment):
# no further action -> RC8, referred to early help -> RC9. The census forbids RC8 on an episode with
# a CIN plan, a section 47 enquiry or a child protection plan, so `case_closed` notes that mix.
CLOSED_NO_FURTHER_ACTION: ClosureReasonCode = "RC8"
CLOSED_TO_EARLY_HELP: ClosureReasonCode = "RC9"
CLOSED_SERVICES_CEASED: ClosureReasonCode = "RC7"  # a review decided the plan's objectives are met
CLOSED_TRANSFERRED_OUT: ClosureReasonCode = "RC5"
