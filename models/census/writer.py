"""The return as XML, written one child at a time in the XSD's element order
(models/census/CIN_schema_2026.xsd, the copy beside this file): only the child being written is
in memory.

The file is written through `models.output_file.new_file` (0600, a temporary file beside it moved
into place): a failed export leaves no partial return behind, and a device, a FIFO, a link or a
file it was not asked to replace is refused.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO

from lxml import etree

from models.census.episodes import Episode
from models.census.rowmap import RowMap
from models.census.year import CensusYear

SOFTWARE_CODE = "cin-engine"
RELEASE = "0.1.0"


@dataclass(frozen=True, slots=True)
class Header:
    year: CensusYear
    la_code: str  # the DfE's three-digit LA number
    produced_at: datetime
    serial_no: str = "001"


@dataclass(frozen=True, slots=True)
class ChildRecord:
    """The child's identifiers and characteristics (the `child` table's row, as the return
    needs it)."""

    child_ref: str
    upn: str | None
    former_upn: str | None
    upn_unknown: str | None
    birth_date: date | None
    expected_birth_date: date | None
    death_date: date | None
    sex: str
    ethnicity: str
    disabilities: list[str]


@dataclass(frozen=True, slots=True)
class ChildReturn:
    """One child's block: details, and the episodes of the year (already selected)."""

    details: ChildRecord
    episodes: list[Episode]


def write_return(
    out: IO[bytes], header: Header, children: Iterable[ChildReturn], rows: RowMap | None = None
) -> int:
    """Stream the return to `out`; returns how many children were written."""
    written = 0
    with etree.xmlfile(out, encoding="utf-8") as xf:
        xf.write_declaration()
        with xf.element("Message"):
            xf.write(_header(header))
            with xf.element("Children"):
                for child in children:
                    xf.write(_child(child, rows))
                    written += 1
                    if written % 1000 == 0:
                        xf.flush()
    return written


def _d(value: date) -> str:
    return value.isoformat()


def _sub(parent: etree._Element, tag: str, text: str | None) -> None:
    if text is not None:
        etree.SubElement(parent, tag).text = text


def _header(h: Header) -> etree._Element:
    header = etree.Element("Header")
    details = etree.SubElement(header, "CollectionDetails")
    _sub(details, "Collection", "CIN")
    _sub(details, "Year", str(h.year.year))
    _sub(details, "ReferenceDate", _d(h.year.reference_date))
    source = etree.SubElement(header, "Source")
    _sub(source, "SourceLevel", "L")
    _sub(source, "LEA", h.la_code)
    _sub(source, "SoftwareCode", SOFTWARE_CODE)
    _sub(source, "Release", RELEASE)
    _sub(source, "SerialNo", h.serial_no)
    _sub(source, "DateTime", h.produced_at.replace(microsecond=0).isoformat())
    return header


def _child(child: ChildReturn, rows: RowMap | None) -> etree._Element:
    c = child.details
    latest = child.episodes[-1].case_ref
    element = etree.Element("Child")
    ids = etree.SubElement(element, "ChildIdentifiers")
    _sub(ids, "LAchildID", c.child_ref)
    _sub(ids, "UPN", c.upn)
    _sub(ids, "FormerUPN", c.former_upn)
    _sub(ids, "UPNunknown", c.upn_unknown)
    _sub(ids, "PersonBirthDate", _d(c.birth_date) if c.birth_date else None)
    _sub(
        ids, "ExpectedPersonBirthDate", _d(c.expected_birth_date) if c.expected_birth_date else None
    )
    _sub(ids, "Sex", c.sex)
    _sub(ids, "PersonDeathDate", _d(c.death_date) if c.death_date else None)
    chars = etree.SubElement(element, "ChildCharacteristics")
    _sub(chars, "Ethnicity", c.ethnicity)
    if c.disabilities:
        disabilities = etree.SubElement(chars, "Disabilities")
        for code in c.disabilities:
            _sub(disabilities, "Disability", code)
    if rows is not None:
        rows.child(latest, len(c.disabilities))
    for episode in child.episodes:
        element.append(_episode(episode, rows))
    return element


def _episode(ep: Episode, rows: RowMap | None) -> etree._Element:
    cin = etree.Element("CINdetails")
    _sub(cin, "CINreferralDate", _d(ep.referral_date))
    _sub(cin, "ReferralSource", ep.source)
    _sub(cin, "PrimaryNeedCode", ep.primary_need)
    # A referral that ended at the front door (ReferralNFA = 1) is written without a closure
    # date or reason (issue 19 point 9, docs/practice.md): the DfE's rules read such an episode
    # as ended by the flag itself (csc-validator-be-cin 0.1.13, cin2022_23 rules 8815, 8816 and
    # 8820 leave "a referral with no further action" with no CINclosureDate out of the open
    # episodes), while the only reasons for its ending, RC8 and RC9, say "after assessment" and
    # raise query 8825Q on every such child. The case is still closed on the decision's date
    # (the fold's `closed_on`): the year's selection and the in-force counts read that.
    if ep.closed_on is not None and not ep.referral_nfa:
        _sub(cin, "CINclosureDate", _d(ep.closed_on))
        _sub(cin, "ReasonForClosure", ep.closure_reason)
    _sub(cin, "DateOfInitialCPC", _d(ep.initial_cpc) if ep.initial_cpc else None)
    for a in ep.assessments:
        block = etree.SubElement(cin, "Assessments")
        _sub(block, "AssessmentActualStartDate", _d(a.start))
        _sub(block, "AssessmentAuthorisationDate", _d(a.authorised) if a.authorised else None)
        if a.factors:
            factors = etree.SubElement(block, "FactorsIdentifiedAtAssessment")
            for code in a.factors:
                _sub(factors, "AssessmentFactors", code)
    for p in ep.plans:
        block = etree.SubElement(cin, "CINPlanDates")
        _sub(block, "CINPlanStartDate", _d(p.start))
        _sub(block, "CINPlanEndDate", _d(p.end) if p.end else None)
    for s in ep.s47s:
        block = etree.SubElement(cin, "Section47")
        _sub(block, "S47ActualStartDate", _d(s.start))
        _sub(block, "DateOfInitialCPC", _d(s.icpc) if s.icpc else None)
        _sub(block, "ICPCnotRequired", "1" if s.not_required else "0")
    _sub(cin, "ReferralNFA", "1" if ep.referral_nfa else "0")
    for cp in ep.cp_plans:
        block = etree.SubElement(cin, "ChildProtectionPlans")
        _sub(block, "CPPstartDate", _d(cp.start))
        _sub(block, "CPPendDate", _d(cp.end) if cp.end else None)
        _sub(block, "InitialCategoryOfAbuse", cp.initial_category)
        _sub(block, "LatestCategoryOfAbuse", cp.latest_category)
        _sub(block, "NumberOfPreviousCPP", str(cp.previous))
        if cp.reviews:
            reviews = etree.SubElement(block, "Reviews")
            for day, _seq in cp.reviews:
                _sub(reviews, "CPPreviewDate", _d(day))
    if rows is not None:
        rows.episode(ep)
    return cin
