"""The state column and the event log: JSON-able dicts that read back exactly."""

from __future__ import annotations

import json

import pytest

from models.lifecycle import (
    STATE_SCHEMA_VERSION,
    CaseState,
    VisitFrequency,
    event_to_dict,
    initial_state,
    parse_event,
    state_from_dict,
    state_to_dict,
)
from tests.models.lifecycle.fakes import redbridge
from tests.models.lifecycle.helpers import one_of_each, play
from tests.models.lifecycle.test_histories import REDBRIDGE_TO_STEP_DOWN


def through_json(state: CaseState) -> CaseState:
    return state_from_dict(json.loads(json.dumps(state_to_dict(state))))


def test_every_state_of_a_history_round_trips() -> None:
    states = [initial_state()] + [
        t.state for t in play(redbridge(), [s.event for s in REDBRIDGE_TO_STEP_DOWN])
    ]
    for state in states:
        assert through_json(state) == state
    last = state_to_dict(states[-1])
    assert last["schema"] == STATE_SCHEMA_VERSION
    assert last["stage"] == "final_meeting"
    keys = {(row["key"], row["kind"]) for row in last["deadlines"]}
    assert ("review#4", "review") in keys


def test_a_plan_frequency_round_trips() -> None:
    frequency = VisitFrequency(amount=3, unit="weeks")
    state = CaseState(visit_frequency=frequency)
    assert through_json(state).visit_frequency == frequency


def test_a_state_from_another_schema_is_refused_so_it_is_rebuilt_from_the_log() -> None:
    data = state_to_dict(initial_state())
    data["schema"] = STATE_SCHEMA_VERSION + 1
    with pytest.raises(ValueError, match="rebuild from the log"):
        state_from_dict(data)
    del data["schema"]
    with pytest.raises(ValueError):
        state_from_dict(data)


@pytest.mark.parametrize("event", one_of_each("2025-07-01"), ids=lambda e: e.type)
def test_every_event_round_trips(event: object) -> None:
    data = event_to_dict(event)  # type: ignore[arg-type]
    assert parse_event(json.loads(json.dumps(data))) == event
