"""Where each row of the return came from: for a DfE rule failure at (table, row, column), the case
and the event to correct.

The DfE validator reads the return into one table per block, rows numbered from 0 in document
order (csc-validator-be-cin `ingress.XMLtoCSV`); the writer records the same rows in the same
order. Only `cin census check` keeps one: it holds a case reference and a few event numbers per
row, never personal data.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from models.census.episodes import Episode

CHILD_DETAILS = "the child's details (cin child set)"
CHILD_TABLES = ("ChildIdentifiers", "ChildCharacteristics", "Disabilities")
# Rules whose validator reports a stand-in column: the column that holds what to correct.
# 2990 "activity recorded against a case marked RC8/RC9": on the episode, the closure reason.
RULE_COLUMNS = {("2990", "CINdetails"): "ReasonForClosure"}


def focus_column(code: str, table: str, column: str) -> str:
    return RULE_COLUMNS.get((code, table), column)


@dataclass(frozen=True, slots=True)
class RowSource:
    case_ref: str
    events: dict[str, int | None]  # column -> the sequence number of the event that gave it

    def what_to_correct(self, column: str) -> str:
        if column == "LAchildID" and not self.events:
            return "the child's reference in the recording system (LAchildID)"
        seq = self.events.get(column)
        if "*" in self.events and seq is None:
            seq = self.events["*"]
        if seq is None:
            return CHILD_DETAILS if not self.events else "the event that would record it"
        return f"event {seq}"


class RowMap:
    def __init__(self) -> None:
        self.tables: dict[str, list[RowSource]] = defaultdict(list)

    def source(self, table: str, row: int) -> RowSource | None:
        rows = self.tables.get(table, [])
        return rows[row] if 0 <= row < len(rows) else None

    def child(self, case_ref: str, disabilities: int) -> None:
        details = RowSource(case_ref, {})
        self.tables["ChildIdentifiers"].append(details)
        self.tables["ChildCharacteristics"].append(details)
        self.tables["Disabilities"].extend([details] * disabilities)

    def episode(self, ep: Episode) -> None:
        add = self.tables
        ref = ep.case_ref
        add["CINdetails"].append(
            RowSource(
                ref,
                {
                    "CINreferralDate": ep.referral_seq,
                    "ReferralSource": ep.referral_seq,
                    "PrimaryNeedCode": ep.referral_seq,
                    "CINclosureDate": ep.closure_seq,
                    "ReasonForClosure": ep.closure_seq,
                    "DateOfInitialCPC": ep.initial_cpc_seq,
                    "ReferralNFA": ep.decision_seq,
                    "*": ep.referral_seq,
                },
            )
        )
        for a in ep.assessments:
            done = a.completed_seq
            add["Assessments"].append(
                RowSource(
                    ref,
                    {
                        "AssessmentActualStartDate": a.start_seq,
                        "AssessmentAuthorisationDate": done,
                        "AssessmentFactors": done,
                        "*": done or a.start_seq,
                    },
                )
            )
            factor = RowSource(ref, {"*": done})
            add["AssessmentFactorsList"].extend([factor] * len(a.factors))
        for p in ep.plans:
            add["CINplanDates"].append(
                RowSource(
                    ref,
                    {
                        "CINPlanStartDate": p.start_seq,
                        "CINPlanEndDate": p.end_seq,
                        "*": p.start_seq,
                    },
                )
            )
        for s in ep.s47s:
            add["Section47"].append(
                RowSource(
                    ref,
                    {
                        "S47ActualStartDate": s.start_seq,
                        "DateOfInitialCPC": s.icpc_seq,
                        "ICPCnotRequired": s.concluded_seq or s.icpc_seq,
                        "*": s.start_seq,
                    },
                )
            )
        for cp in ep.cp_plans:
            add["ChildProtectionPlans"].append(
                RowSource(
                    ref,
                    {
                        "CPPstartDate": cp.start_seq,
                        "CPPendDate": cp.end_seq,
                        "LatestCategoryOfAbuse": cp.reviews[-1][1] if cp.reviews else cp.start_seq,
                        "*": cp.start_seq,
                    },
                )
            )
            if cp.reviews:  # the validator reads the first review date of each plan
                add["Reviews"].append(RowSource(ref, {"*": cp.reviews[0][1]}))
