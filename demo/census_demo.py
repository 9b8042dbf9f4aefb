"""Census data for the synthetic caseload: the children's characteristics and the assessment
factors and abuse categories the census return carries (issue 10).

Pure and deterministic: each value comes from a random stream of its own, seeded by the child's
reference or the event's idempotency key, so adding these fields changes nothing else the
caseload generator draws. The proportions are assumptions, inside what the DfE's published CIN
statistics show (most children in need have no recorded disability; domestic abuse (3A/3B) and
mental health (4A/4B) are the factors most often identified; neglect is the most common initial
category of a child protection plan).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from random import Random
from typing import Any

from demo.caseload_mix import pick
from models.census.child import upn_check_letter

FACTORS: Mapping[str, float] = {
    "3A": 0.10, "3B": 0.14, "4B": 0.13, "4A": 0.07, "1B": 0.05, "2B": 0.06, "16A": 0.08,
    "17A": 0.08, "18C": 0.04, "19C": 0.02, "10A": 0.03, "11A": 0.02, "24A": 0.02, "14A": 0.03,
    "6A": 0.03, "5A": 0.02, "7A": 0.02, "15A": 0.02, "20": 0.04,
}  # fmt: skip
CATEGORIES: Mapping[str, float] = {"NEG": 0.50, "EMO": 0.33, "PHY": 0.08, "SAB": 0.04, "MUL": 0.05}
ETHNICITIES: Mapping[str, float] = {
    "WBRI": 0.62, "WOTH": 0.07, "MWBC": 0.03, "MWBA": 0.02, "MWAS": 0.02, "MOTH": 0.03,
    "AIND": 0.03, "APKN": 0.04, "ABAN": 0.02, "AOTH": 0.02, "BAFR": 0.04, "BCRB": 0.02,
    "BOTH": 0.01, "CHNE": 0.005, "OOTH": 0.02, "WROM": 0.005, "REFU": 0.01, "NOBT": 0.01,
}  # fmt: skip
DISABLED = 0.13  # children in need with a recorded disability (assumption)
DISABILITIES = ("AUT", "LD", "BEH", "COMM", "CON", "MOB", "HAND", "HEAR", "VIS", "PC", "INC")
UNBORN = 0.02  # referred before birth (assumption)


def with_census_fields(event: dict[str, Any], key: str) -> dict[str, Any]:
    """The event with the census fields a recording system would send beside it."""
    rng = Random(f"census:{key}")
    if event["type"] == "assessment_completed":
        if event.get("outcome") == "nfa" and rng.random() < 0.5:
            return {**event, "factors": ["21"]}  # no factors identified, no further action
        chosen: set[str] = set()
        for _ in range(rng.choice((1, 1, 2, 2, 3))):
            chosen.add(pick(rng, FACTORS))
        return {**event, "factors": sorted(chosen)}
    if event["type"] == "icpc_held" and event.get("outcome") == "cp_plan":
        return {**event, "category": pick(rng, CATEGORIES)}
    return event


def child_details(child_ref: str, *, la_code: str, referred: date) -> dict[str, Any]:
    """A child's census details, plausible for a child first referred on `referred`."""
    rng = Random(f"census-child:{child_ref}")
    details: dict[str, Any] = {"ethnicity": pick(rng, ETHNICITIES)}
    if rng.random() < UNBORN:
        details |= {
            "expected_birth_date": (referred + timedelta(days=rng.randint(40, 200))).isoformat(),
            "sex": "U",
            "upn_unknown": "UN1",
        }
        return details
    born = referred - timedelta(days=rng.randint(30, 17 * 365))
    details |= {"birth_date": born.isoformat(), "sex": rng.choice("MF")}
    if (referred - born).days < 5 * 365:
        details["upn_unknown"] = "UN1"  # under school age: no UPN yet
    else:
        body = f"{la_code}{born.year % 100:02d}{rng.randint(0, 999_999):06d}{rng.randint(0, 9)}"
        details["upn"] = upn_check_letter("?" + body) + body
    if rng.random() < DISABLED:
        details["disabilities"] = sorted(rng.sample(DISABILITIES, rng.choice((1, 1, 2))))
    else:
        details["disabilities"] = ["NONE"]
    return details
