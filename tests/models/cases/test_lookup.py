"""Which case a child-addressed record goes to (`models.cases.lookup.resolve`), table-driven."""

from __future__ import annotations

import pytest

from models.cases.lookup import ChildCase, Resolution, resolve

CLOSED = ChildCase("RED-000001", "closed", holds_key=False)
OPEN = ChildCase("RED-000002", "cin_plan", holds_key=False)
OTHER_OPEN = ChildCase("RED-000003", "assessment", holds_key=False)


@pytest.mark.parametrize(
    ("cases", "event_type", "expected"),
    [
        ([], "referral_received", Resolution(opens=True)),
        ([CLOSED], "transfer_in", Resolution(opens=True)),
        ([CLOSED, OPEN], "visit_recorded", Resolution(case_ref="RED-000002")),
        # the key is found first, even on a closed case: a record sent twice is one record
        (
            [ChildCase("RED-000001", "closed", holds_key=True), OPEN],
            "visit_recorded",
            Resolution(case_ref="RED-000001", duplicate=True),
        ),
        (
            [ChildCase("RED-000001", "closed", holds_key=True)],
            "referral_received",
            Resolution(case_ref="RED-000001", duplicate=True),
        ),
    ],
)
def test_resolves(cases: list[ChildCase], event_type: str, expected: Resolution) -> None:
    assert resolve(cases, event_type=event_type) == expected


@pytest.mark.parametrize(
    ("cases", "event_type", "why"),
    [
        ([OPEN], "referral_received", "already has an open case RED-000002"),
        ([], "visit_recorded", "no open case"),
        ([CLOSED], "review_held", "no open case"),
        ([OPEN, OTHER_OPEN], "visit_recorded", "open cases RED-000002, RED-000003"),
    ],
)
def test_refuses(cases: list[ChildCase], event_type: str, why: str) -> None:
    refused = resolve(cases, event_type=event_type).refused
    assert refused is not None and why in refused and refused.startswith(event_type)
