"""One transaction per request (api/transaction.py): the key's row, the Idempotency-Key, the event
and the access-log row commit together; a key this process verified earlier is still refused
from the request after its revocation, and that request writes nothing but its access-log row."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlmodel import Session, select

from api.auth import VerifiedKeys
from models.access.keys import Client, revoke_key
from models.tables import AuditEntry
from tests.api.conftest import RunningApi, new_key, referral
from tests.cli.cli_harness import snapshot

VISIT = {"recorded_by": "sw-1", "event": {"type": "visit_recorded", "on": "2025-05-05"}}


def _post(http: Any, path: str, body: dict[str, Any], key: str) -> Any:
    return http.post(path, json=body, headers={"Idempotency-Key": key})


class Commits:
    """Commits on `engine` while counting (the server runs in this process, on this engine)."""

    def __init__(self, engine: Engine) -> None:
        self.engine, self.count = engine, 0

    def _one(self, *_: object) -> None:
        self.count += 1

    def __enter__(self) -> Commits:
        event.listen(self.engine, "commit", self._one)
        return self

    def __exit__(self, *_: object) -> None:
        event.remove(self.engine, "commit", self._one)


@pytest.fixture
def opened(running_api: RunningApi) -> Iterator[tuple[str, str]]:
    key = new_key(running_api.engine)
    with running_api.client(key) as http:
        answer = _post(http, "/v1/cases", referral(), "open-1")
        assert answer.status_code == 201, answer.text
        yield key, answer.json()["case"]


def test_an_accepted_event_is_one_commit_with_its_access_log_row(
    running_api: RunningApi, opened: tuple[str, str]
) -> None:
    key, case = opened
    with running_api.client(key) as http, Commits(running_api.engine) as commits:
        answer = _post(http, f"/v1/cases/{case}/events", VISIT, "visit-1")
        assert answer.status_code == 201, answer.text
        assert commits.count == 1
        again = _post(http, f"/v1/cases/{case}/events", VISIT, "visit-1")
        assert again.headers.get("Idempotent-Replayed") == "true"
        assert again.json()["seq"] == answer.json()["seq"]
        assert commits.count == 2  # the repeat: its access-log row only
    with Session(running_api.engine) as session:
        outcomes = [
            row.outcome
            for row in session.exec(select(AuditEntry).where(AuditEntry.case_ref == case))
        ]
    assert sorted(outcomes) == ["201", "201", "201 opened"]


def test_a_refused_event_writes_only_its_access_log_row(
    running_api: RunningApi, opened: tuple[str, str]
) -> None:
    key, case = opened
    before = snapshot(running_api.engine)
    closing = {"recorded_by": "sw-1", "event": {"type": "review_held", "on": "2025-05-05",
                                                "outcome": "continue"}}  # fmt: skip
    with running_api.client(key) as http:
        answer = _post(http, f"/v1/cases/{case}/events", closing, "review-1")
    assert answer.status_code == 409, answer.text
    after = snapshot(running_api.engine)
    assert len(after.pop("audit_log")) == len(before.pop("audit_log")) + 1
    assert after == before


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_write_with_a_key_verified_before_is_refused_after_its_revocation(
    running_api: RunningApi, opened: tuple[str, str]
) -> None:
    key, case = opened  # the key was verified (and remembered) by the opening request
    revoke_key(running_api.engine, key_id=key.split("_")[1])
    before = snapshot(running_api.engine)
    with running_api.client(key) as http:
        refused = _post(http, f"/v1/cases/{case}/events", VISIT, "visit-2")
        assert refused.status_code == 401, refused.text
        assert http.get(f"/v1/cases/{case}").status_code == 401
    after = snapshot(running_api.engine)
    audit = sorted(set(after.pop("audit_log")) - set(before.pop("audit_log")))
    assert after == before
    assert len(audit) == 2 and all("'401'" in row for row in audit)


def test_verified_keys_are_bounded_and_forgotten_by_key_id() -> None:
    keys = VerifiedKeys(size=2)
    first, second, third = (Client(f"{n:016x}", "redbridge", "ics", "record") for n in (1, 2, 3))
    keys.put("cin_a", first)
    keys.put("cin_b", second)
    assert keys.get("cin_a") == first  # now the most recently used
    keys.put("cin_c", third)
    assert keys.get("cin_b") is None and keys.get("cin_a") == first
    assert keys.get("cin_a ") is None  # another presented key, even one space apart
    keys.forget(first.key_id)
    assert keys.get("cin_a") is None and keys.get("cin_c") == third
