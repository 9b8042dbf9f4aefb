"""`CaseState` to and from a JSON-able dict (the case row's state column); round-trips exactly."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import TypeAdapter

from models.lifecycle.state import CaseState

STATE_SCHEMA_VERSION = 3  # 2: issue 8 (consent, chair, strategy discussion); 3: issue 19
_ADAPTER: TypeAdapter[CaseState] = TypeAdapter(CaseState)


def state_to_dict(state: CaseState) -> dict[str, Any]:
    data: dict[str, Any] = _ADAPTER.dump_python(state, mode="json")
    data["schema"] = STATE_SCHEMA_VERSION
    return data


def state_from_dict(data: Mapping[str, Any]) -> CaseState:
    fields = dict(data)
    version = fields.pop("schema", None)
    if version != STATE_SCHEMA_VERSION:
        raise ValueError(
            f"case state schema {version!r} is not {STATE_SCHEMA_VERSION}: rebuild from the log"
        )
    return _ADAPTER.validate_python(fields)
