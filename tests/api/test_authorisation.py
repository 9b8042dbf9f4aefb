"""Each route x {no key, revoked key, other authority's key, read key on a write, right key}:
the status, and no write on any refusal (every table but the access log, before and after)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from models.access.keys import revoke_key
from models.cases.store import open_case
from models.lifecycle import parse_event
from models.policy.book import PolicyBook
from tests.api.conftest import RunningApi, new_key, referral
from tests.cli.cli_harness import snapshot

KEYS = ("none", "revoked", "other_authority", "read", "right")


def _routes(case: str) -> list[tuple[str, str, dict[str, Any] | None, bool]]:
    """(method, path, body, is a write)"""
    child = {
        "child_ref": "C9",
        "details": {
            "sex": "F",
            "ethnicity": "WBRI",
            "birth_date": "2015-03-01",
            "upn_unknown": "UN1",
        },
    }
    visit = {"recorded_by": "sw-1", "event": {"type": "visit_recorded", "on": "2025-05-05"}}
    return [
        ("POST", "/v1/cases", referral(child="C8"), True),
        ("POST", f"/v1/cases/{case}/events", visit, True),
        ("PUT", "/v1/children", child, True),
        ("GET", f"/v1/cases/{case}", None, False),
        ("GET", "/v1/deadlines?authority=redbridge", None, False),
    ]


EXPECTED = {
    # the write routes: an other authority's key may open a case in its own authority and set
    # its own child (so it is "right" there); it never sees this case (404)
    ("POST", "/v1/cases"): {"none": 401, "revoked": 401, "read": 403, "right": 201},
    ("POST", "/events"): {
        "none": 401,
        "revoked": 401,
        "other_authority": 404,
        "read": 403,
        "right": 201,
    },
    ("PUT", "/v1/children"): {"none": 401, "revoked": 401, "read": 403, "right": 200},
    ("GET", "/case"): {
        "none": 401,
        "revoked": 401,
        "other_authority": 404,
        "read": 200,
        "right": 200,
    },
    ("GET", "/v1/deadlines?authority=redbridge"): {
        "none": 401,
        "revoked": 401,
        "other_authority": 404,
        "read": 200,
        "right": 200,
    },
}


def _expected(method: str, path: str) -> dict[str, int]:
    if path.endswith("/events"):
        return EXPECTED[("POST", "/events")]
    if method == "GET" and path.startswith("/v1/cases/"):
        return EXPECTED[("GET", "/case")]
    return EXPECTED[(method, path)]


def _keys(running_api: RunningApi) -> dict[str, str | None]:
    revoked = new_key(running_api.engine)
    revoke_key(running_api.engine, key_id=revoked.split("_")[1])
    return {
        "none": None,
        "revoked": revoked,
        "other_authority": new_key(running_api.engine, authority="warwickshire"),
        "read": new_key(running_api.engine, scope="read"),
        "right": new_key(running_api.engine),
    }


def test_authorisation_matrix(running_api: RunningApi, book: PolicyBook) -> None:
    case = open_case(
        running_api.engine,
        policies=book,
        authority="redbridge",
        child_ref="C1",
        event=parse_event({"type": "referral_received", "on": "2025-05-01", "source": "10"}),
    ).case_ref
    keys = _keys(running_api)
    seen: dict[tuple[str, str, str], int] = {}
    for method, path, body, write in _routes(case):
        for who in KEYS:
            expected = _expected(method, path).get(who)
            if expected is None:  # another authority's key on a route about no case: its own
                continue
            before = _tables(running_api)
            with running_api.client(keys[who]) as http:
                headers = {"Content-Type": "application/json", "Idempotency-Key": f"{who}-{path}"}
                answer = http.request(
                    method,
                    path,
                    content=json.dumps(body) if body else None,
                    headers=headers if write else None,
                )
            seen[(method, path, who)] = answer.status_code
            assert answer.status_code == expected, (method, path, who, answer.text)
            if answer.status_code >= 400:
                assert _tables(running_api) == before, (method, path, who)
                assert set(answer.json()) == {"error", "field", "message"}
    assert len(seen) == 23  # 5 routes x 5 keys, less another council's own opening and child


def _tables(running_api: RunningApi) -> dict[str, list[str]]:
    """Every row of every table but the access log, which records refusals by design."""
    tables = snapshot(running_api.engine)
    tables.pop("audit_log")
    return tables


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_revocation_holds_from_the_next_request(running_api: RunningApi) -> None:
    key = new_key(running_api.engine, scope="read")
    with running_api.client(key) as http:
        assert http.get("/v1/deadlines").status_code == 200
        revoke_key(running_api.engine, key_id=key.split("_")[1])
        assert http.get("/v1/deadlines").status_code == 401


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_revoked_key_is_refused_before_its_body_is_judged(running_api: RunningApi) -> None:
    """Authentication, then permission, then the body (docs/http-api.md, Errors): a key revoked
    after this process verified it answers 401 whatever its body, as an unknown key or none
    does, and a read key on a write 403; a revoked client learns nothing from the API's
    judgement of its requests, and nothing is written."""
    key = new_key(running_api.engine)
    bad_bodies = {
        "a field breaks its rule": json.dumps({"child_ref": "C5", "event": {"type": "nope"}}),
        "not JSON": "{",
    }
    with running_api.client(key) as http:
        headers = {"Content-Type": "application/json", "Idempotency-Key": "k-1"}
        verified = http.post("/v1/cases", content=json.dumps(referral("C4")), headers=headers)
        assert verified.status_code == 201  # this process has verified the key
        assert http.post("/v1/cases", content="{", headers=headers).status_code == 400
        revoke_key(running_api.engine, key_id=key.split("_")[1])
        before = _tables(running_api)
        for why, body in bad_bodies.items():
            answer = http.post("/v1/cases", content=body, headers=headers)
            assert answer.status_code == 401, (why, answer.text)
            assert answer.json()["field"] == "Authorization"
    unknown = "cin_0123456789abcdef_" + "A" * 43
    read = new_key(running_api.engine, scope="read")
    before = _tables(running_api)
    for who, status in ((None, 401), (unknown, 401), (read, 403)):
        with running_api.client(who) as http:
            for why, body in bad_bodies.items():
                answer = http.post("/v1/cases", content=body, headers=headers)
                assert answer.status_code == status, (why, answer.text)
    assert _tables(running_api) == before
