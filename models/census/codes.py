"""Code lists for the child's part of the return (models/census/CODES.md "Other lists", from the
DfE's CIN census 2025-26 specification, and the enumerations of
models/census/CIN_schema_2026.xsd)."""

from __future__ import annotations

from typing import Literal, get_args

SexCode = Literal["M", "F", "U"]  # an unborn child is U
EthnicityCode = Literal[
    "WBRI", "WIRI", "WIRT", "WOTH", "WROM", "MWBC", "MWBA", "MWAS", "MOTH", "AIND",
    "APKN", "ABAN", "AOTH", "BCRB", "BAFR", "BOTH", "CHNE", "OOTH", "REFU", "NOBT",
]  # fmt: skip
DisabilityCode = Literal[
    "NONE", "MOB", "HAND", "PC", "INC", "COMM", "LD", "HEAR", "VIS", "BEH", "CON", "AUT", "DDA",
]  # fmt: skip
# UN1 under 6 and not yet given a UPN ... UN7 referral with no further action (CODES.md)
UpnUnknownCode = Literal["UN1", "UN2", "UN3", "UN4", "UN5", "UN6", "UN7"]

SEXES: tuple[str, ...] = get_args(SexCode)
ETHNICITIES: tuple[str, ...] = get_args(EthnicityCode)
DISABILITIES: tuple[str, ...] = get_args(DisabilityCode)
UPN_UNKNOWN: tuple[str, ...] = get_args(UpnUnknownCode)
