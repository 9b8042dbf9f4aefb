"""POST /v1/contacts: a contact at the front door (Annex A List 1) through the HTTP API, on a
real server: recorded once, replayed on the same key, refused on a bad source or a future date,
and the access log names the route, never the body."""

from __future__ import annotations

from sqlmodel import Session, col, func, select

from models.tables import AuditEntry, Contact
from tests.api.conftest import RunningApi, new_key
from tests.api.test_routes import post


def _contacts(running_api: RunningApi) -> int:
    with Session(running_api.engine) as session:
        return int(session.exec(select(func.count()).select_from(Contact)).one())


def test_contacts_recorded_once_refused_cleanly(running_api: RunningApi) -> None:
    key = new_key(running_api.engine)
    body = {"child_ref": "CCONTACT", "on": "2025-05-01", "source": "1C"}
    with running_api.client(key) as http:
        first = post(http, "/v1/contacts", body, key="c-1")
        replay = post(http, "/v1/contacts", body, key="c-1")
        other_key = post(http, "/v1/contacts", body, key="c-2")
        reused = post(http, "/v1/contacts", {**body, "source": "2A"}, key="c-1")
        bad = post(http, "/v1/contacts", {**body, "source": "99"}, key="c-3")
        future = post(http, "/v1/contacts", {**body, "on": "2099-01-01"}, key="c-4")
    assert first.status_code == 201 and first.json() == {"authority": "redbridge",
                                                         "status": "recorded"}  # fmt: skip
    assert "Idempotent-Replayed" not in first.headers
    assert replay.status_code == other_key.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == other_key.headers["Idempotent-Replayed"]
    assert reused.status_code == 409
    assert bad.status_code == future.status_code == 422
    assert "on: expected a date on or before today" in future.text
    for answer in (first, bad, future):
        assert "CCONTACT" not in answer.text
    assert _contacts(running_api) == 1
    with Session(running_api.engine) as session:
        actions = list(session.exec(select(AuditEntry.action).order_by(col(AuditEntry.at))))
    assert actions.count("POST /v1/contacts") == 6
