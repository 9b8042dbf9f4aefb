"""Suspension keys must be valid Prefect run-input keys, or a suspension fails at save time."""

from __future__ import annotations

import re

import pytest
from prefect.input.run_input import keyset_from_base_key

from flows.case import suspension_key


@pytest.mark.parametrize(("seq", "wakes"), [(1, 0), (2, 0), (10, 1), (500, 3)])
def test_suspension_keys_are_valid_run_input_keys(seq, wakes):
    key = suspension_key(seq, wakes)
    assert re.fullmatch(r"[a-z0-9-]+", key)
    for value in keyset_from_base_key(f"suspended-{key}").values():
        assert re.fullmatch(r"[a-z0-9-]+", value)


def test_a_wake_with_no_event_gets_a_key_of_its_own():
    assert suspension_key(10) == "event-10"
    assert len({suspension_key(10, n) for n in range(4)}) == 4
