"""The /v1 routes against a running server: what is accepted, what is refused and how, who is
recorded, and the access log."""

from __future__ import annotations

import json

from sqlmodel import Session, col, select

from models.tables import AuditEntry, CaseEvent, Staff
from tests.api.conftest import RunningApi, new_key, referral

WRITE = {"Content-Type": "application/json"}


def post(client, path: str, body: object, key: str | None = "k-1", **headers: str):  # type: ignore[no-untyped-def]
    sent = {**WRITE, **({"Idempotency-Key": key} if key else {}), **headers}
    return client.post(path, content=json.dumps(body), headers=sent)


def test_open_record_read_and_who_recorded(running_api: RunningApi) -> None:
    key = new_key(running_api.engine)
    with running_api.client(key) as http:
        opened = post(http, "/v1/cases", referral(), key="ref-1")
        assert opened.status_code == 201, opened.text
        case = opened.json()["case"]
        assert opened.json() == {"case": case, "seq": 1, "event_type": "referral_received"}
        decision = {
            "recorded_by": "sw-2",
            "event": {"type": "referral_decision", "on": "2025-05-02", "outcome": "assessment"},
        }
        recorded = post(http, f"/v1/cases/{case}/events", decision, key="dec-1")
        assert recorded.status_code == 201, recorded.text
        assert recorded.json()["seq"] == 2
        shown = http.get(f"/v1/cases/{case}")
    assert shown.status_code == 200
    view = shown.json()
    assert view["stage"] == "assessment" and view["events_total"] == 2
    assert [(e["actor_kind"], e["recorded_by"]) for e in view["events"]] == [
        ("api", "sw-1"),
        ("api", "sw-2"),
    ]
    assert view["events"][0]["actor"].startswith("redbridge-record-ics (")
    assert "C1" not in shown.text  # the child's reference is never sent back
    assert {d["kind"] for d in view["deadlines"]} >= {"referral_decision", "assessment_completed"}


def test_same_key_same_body_answers_as_the_first_other_body_409(running_api: RunningApi) -> None:
    key = new_key(running_api.engine)
    with running_api.client(key) as http:
        first = post(http, "/v1/cases", referral(), key="ref-1")
        again = post(http, "/v1/cases", referral(), key="ref-1")
        other = post(http, "/v1/cases", referral(on="2025-05-03"), key="ref-1")
        case = first.json()["case"]
        event = {
            "recorded_by": "sw-1",
            "event": {"type": "visit_recorded", "on": "2025-05-05"},
        }
        e1 = post(http, f"/v1/cases/{case}/events", event, key="v-1")
        e2 = post(http, f"/v1/cases/{case}/events", event, key="v-1")
        e3 = post(http, f"/v1/cases/{case}/events", {**event, "recorded_by": "sw-9"}, key="v-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert other.status_code == 409 and other.json()["field"] == "Idempotency-Key"
    assert (e1.status_code, e2.status_code, e2.json()) == (201, 201, e1.json())
    assert e3.status_code == 409
    with Session(running_api.engine) as session:
        assert len(list(session.exec(select(CaseEvent)))) == 2


def test_refusals_have_their_status_and_name_the_field(running_api: RunningApi) -> None:
    key = new_key(running_api.engine)
    with running_api.client(key) as http:
        case = post(http, "/v1/cases", referral(), key="ref-1").json()["case"]
        no_key = post(http, "/v1/cases", referral(child="C2"), key=None)
        bad_json = http.post(
            "/v1/cases", content=b"{not json", headers={**WRITE, "Idempotency-Key": "x"}
        )
        not_json = http.post(
            "/v1/cases",
            content=b"child_ref=C-2",
            headers={"Content-Type": "text/plain", "Idempotency-Key": "x"},
        )
        huge = post(http, "/v1/cases", {**referral(child="C2"), "pad": "x" * 20_000})
        long_child = post(http, "/v1/cases", referral(child="C" * 65), key="long")
        bad_outcome = post(
            http,
            f"/v1/cases/{case}/events",
            {
                "recorded_by": "sw-1",
                "event": {"type": "referral_decision", "on": "2025-05-02", "outcome": "maybe"},
            },
            key="o-1",
        )
        illegal = post(
            http,
            f"/v1/cases/{case}/events",
            {
                "recorded_by": "sw-1",
                "event": {"type": "review_held", "on": "2025-05-02", "outcome": "continue"},
            },
            key="r-1",
        )
        future = post(
            http,
            f"/v1/cases/{case}/events",
            {"recorded_by": "sw-1", "event": {"type": "visit_recorded", "on": "2025-07-01"}},
            key="f-1",
        )
        missing = http.get("/v1/cases/RED-999999")
    assert no_key.status_code == 400 and no_key.json()["field"] == "Idempotency-Key"
    assert bad_json.status_code == 400
    assert not_json.status_code == 415 and not_json.json()["field"] == "Content-Type"
    assert huge.status_code == 413
    assert long_child.status_code == 422 and long_child.json()["field"] == "child_ref"
    assert "C" * 65 not in long_child.text  # a child's reference is never quoted back
    assert bad_outcome.status_code == 422 and bad_outcome.json()["field"] == "event.outcome"
    assert illegal.status_code == 409 and "review_held" in illegal.json()["message"]
    assert future.status_code == 422 and future.json()["field"] == "event.on"
    assert missing.status_code == 404
    for answer in (no_key, bad_json, not_json, huge, long_child, bad_outcome, illegal, missing):
        assert "Traceback" not in answer.text and set(answer.json()) == {
            "error",
            "field",
            "message",
        }
    with Session(running_api.engine) as session:
        assert len(list(session.exec(select(CaseEvent)))) == 1  # no refusal wrote an event


def test_recorded_by_is_checked_against_the_roster_once_there_is_one(
    running_api: RunningApi,
) -> None:
    with Session(running_api.engine) as session:
        session.add(
            Staff(
                authority="redbridge",
                staff_id="sw-1",
                name="A Worker",
                email="a@x.example",
                role="social_worker",
                team="t1",
            )
        )
        session.commit()
    key = new_key(running_api.engine)
    with running_api.client(key) as http:
        stranger = post(http, "/v1/cases", referral(by="sw-404"), key="ref-1")
        known = post(http, "/v1/cases", referral(by="sw-1"), key="ref-2")
    assert stranger.status_code == 422 and stranger.json()["field"] == "recorded_by"
    assert known.status_code == 201
    assert "A Worker" not in known.text


def test_rate_limit_answers_429_with_retry_after(running_api: RunningApi) -> None:
    from api.app import create_app
    from models.settings import Settings
    from tests.api.conftest import serve

    key = new_key(running_api.engine, scope="read")
    # one token a minute after the burst: a loaded machine's slow requests refill none (at one
    # a second, requests taking over a second each had let the seventh through)
    rate = Settings(api_rate_per_second=1 / 60, api_rate_burst=3)
    slow = create_app(running_api.engine, None, rate)
    for url, _server in serve(slow):
        with running_api.client(key) as http:
            answers = [http.get(f"{url}/v1/deadlines").status_code for _ in range(6)]
            limited = http.get(f"{url}/v1/deadlines")
    assert answers[:3] == [200, 200, 200] and 429 in answers[3:]
    assert answers[3:] == [429, 429, 429]
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1


def test_deadlines_filters_and_child_details(running_api: RunningApi) -> None:
    key = new_key(running_api.engine)
    with running_api.client(key) as http:
        post(http, "/v1/cases", {**referral(), "team": "north"}, key="ref-1")
        post(http, "/v1/cases", {**referral(child="C2"), "team": "south"}, key="ref-2")
        every = http.get("/v1/deadlines").json()
        north = http.get("/v1/deadlines", params={"team": "north"}).json()
        overdue = http.get("/v1/deadlines", params={"overdue": "true", "as_of": "2025-05-03"})
        elsewhere = http.get("/v1/deadlines", params={"authority": "warwickshire"})
        child = {
            "child_ref": "C1",
            "details": {
                "sex": "F",
                "ethnicity": "WBRI",
                "birth_date": "2015-03-01",
                "upn_unknown": "UN1",
            },
        }
        put = http.put(
            "/v1/children",
            content=json.dumps(child),
            headers={**WRITE, "Idempotency-Key": "child1"},
        )
        again = http.put(
            "/v1/children",
            content=json.dumps(child),
            headers={**WRITE, "Idempotency-Key": "child1"},
        )
        changed = dict(child, details={**child["details"], "sex": "M"})
        reused = http.put(
            "/v1/children",
            content=json.dumps(changed),
            headers={**WRITE, "Idempotency-Key": "child1"},
        )
    assert {d["team"] for d in every} == {"north", "south"}
    assert {d["team"] for d in north} == {"north"}
    assert overdue.status_code == 200
    assert [d["key"] for d in overdue.json()] == ["referral_decision", "referral_decision"]
    assert elsewhere.status_code == 404
    assert (put.status_code, again.status_code, reused.status_code) == (200, 200, 409)
    assert again.json() == put.json() and "2015" not in put.text


def test_every_request_writes_an_access_row_without_the_body(running_api: RunningApi) -> None:
    key = new_key(running_api.engine)
    other = new_key(running_api.engine, authority="warwickshire", scope="read")
    with running_api.client(key) as http:
        case = post(http, "/v1/cases", referral(), key="ref-1").json()["case"]
        http.get(f"/v1/cases/{case}")
    with running_api.client(other) as http:
        http.get(f"/v1/cases/{case}")
    with running_api.client() as http:
        http.get(f"/v1/cases/{case}")
    with Session(running_api.engine) as session:
        rows = list(
            session.exec(
                select(AuditEntry).where(AuditEntry.case_ref == case).order_by(col(AuditEntry.at))
            )
        )
    assert [(r.action, r.outcome[:3]) for r in rows] == [
        ("POST /v1/cases", "201"),
        ("GET /v1/cases/{case_ref}", "200"),
        ("GET /v1/cases/{case_ref}", "404"),
        ("GET /v1/cases/{case_ref}", "401"),
    ]
    assert rows[1].actor.startswith("redbridge-record-ics") and rows[3].actor == "anonymous"
    assert rows[2].authority == "warwickshire"
    with Session(running_api.engine) as session:
        opened = session.exec(select(AuditEntry).where(AuditEntry.action == "POST /v1/cases"))
        assert [(r.outcome, r.child_ref) for r in opened] == [("201 opened", None)]
