"""`cin api key create|list|revoke`, `cin audit --case`, and who recorded what in `cin case show`
(the CLI's own events carry the OS user and `--by`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import Session, select

from api.app import create_app
from models.access.actors import UNKNOWN_ACTOR
from models.database import alembic_config, get_engine
from models.settings import Settings
from models.tables import ApiClient
from tests.api.conftest import serve
from tests.cli.cli_harness import assert_failed_cleanly, cin, point_at


def test_key_printed_once_only_its_hash_kept_and_revoked(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    point_at(monkeypatch, db_url, tmp_path)
    made = cin(
        capsys,
        "api",
        "key",
        "create",
        "--authority",
        "redbridge",
        "--name",
        "mosaic",
        "--scope",
        "record",
    )
    assert made.status == 0, made.err
    key = made.out.splitlines()[-1]
    key_id = key.split("_")[1]
    engine = get_engine(db_url)
    with Session(engine) as session:
        row = session.exec(select(ApiClient)).one()
    assert key.split("_", 2)[2] not in repr(row.model_dump())  # the secret is not stored
    listed = cin(capsys, "api", "key", "list")
    assert key_id in listed.out and "active" in listed.out and key not in listed.out
    app = create_app(engine, None, Settings(api_rate_per_second=1000, api_rate_burst=1000))
    for url, _server in serve(app):
        import httpx

        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}) as http:
            assert http.get("/v1/deadlines").status_code == 200
            assert cin(capsys, "api", "key", "revoke", key_id).status == 0
            assert http.get("/v1/deadlines").status_code == 401
    assert "revoked" in cin(capsys, "api", "key", "list").out
    assert_failed_cleanly(
        cin(
            capsys,
            "api",
            "key",
            "create",
            "--authority",
            "nowhere",
            "--name",
            "x",
            "--scope",
            "read",
        ),
        single=True,
    )
    assert_failed_cleanly(cin(capsys, "api", "key", "revoke", "0123456789abcdef"), single=True)


def test_case_show_and_audit_say_who(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    point_at(monkeypatch, db_url, tmp_path)
    opened = cin(
        capsys,
        "case",
        "refer",
        "--authority",
        "redbridge",
        "--child",
        "C1",
        "--date",
        "2025-05-01",
        "--by",
        "sw-7",
    )
    assert opened.status == 0, opened.err
    case = opened.out.splitlines()[-1]
    shown = cin(capsys, "case", "show", case, "--json")
    recorded = json.loads(shown.out)["recorded"]
    assert len(recorded) == 1 and recorded[0]["recorded_by"].startswith("cli:")
    assert recorded[0]["recorded_by"].endswith(" by sw-7")
    assert "sw-7" in cin(capsys, "case", "show", case).out
    engine = get_engine(db_url)
    key = cin(
        capsys,
        "api",
        "key",
        "create",
        "--authority",
        "redbridge",
        "--name",
        "eclipse",
        "--scope",
        "read",
    ).out.splitlines()[-1]
    app = create_app(engine, None, Settings(api_rate_per_second=1000, api_rate_burst=1000))
    for url, _server in serve(app):
        import httpx

        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}) as http:
            assert http.get(f"/v1/cases/{case}").status_code == 200
    audit = cin(capsys, "audit", "--case", case)
    assert audit.status == 0
    assert "eclipse (" in audit.out and "GET /v1/cases/{case_ref}" in audit.out
    assert "C1" not in audit.out
    # the two `cin case show` above are accesses too (issue 24), by the OS user
    assert audit.out.count(" cli ") == 2 and audit.out.count("case show") == 2
    assert "3 access(es)" in audit.out


def test_migration_marks_older_events_unknown(db_url: str) -> None:
    """Events logged before 0009 get "unknown (before recording of actors)"."""
    import uuid
    from datetime import UTC, date, datetime

    import sqlalchemy as sa
    from alembic import command

    from models.tables import Authority, Case

    config = alembic_config(db_url)
    command.upgrade(config, "0008")
    engine = get_engine(db_url)
    case_id = uuid.uuid4()
    old_event = sa.table(  # case_event as 0008 left it: no actor columns
        "case_event",
        *(
            sa.column(n, t)
            for n, t in (
                ("id", sa.Uuid()),
                ("case_id", sa.Uuid()),
                ("seq", sa.Integer()),
                ("idempotency_key", sa.String()),
                ("event_type", sa.String()),
                ("occurred_on", sa.Date()),
                ("payload", sa.JSON()),
                ("recorded_at", sa.DateTime()),
            )
        ),
    )
    with engine.begin() as conn:
        conn.execute(
            sa.insert(Authority.__table__).values(  # type: ignore[attr-defined]
                slug="redbridge", name="R", nation="england", case_prefix="RED", next_case_number=2
            )
        )
        conn.execute(
            sa.insert(Case.__table__).values(  # type: ignore[attr-defined]
                id=case_id,
                case_ref="RED-000001",
                authority="redbridge",
                child_ref="C1",
                stage="referral",
                referral_date=date(2025, 5, 1),
                re_referral=False,
                state={},
                last_seq=1,
                flow_seq=0,
                created_at=datetime(2025, 5, 1, tzinfo=UTC),
                updated_at=datetime(2025, 5, 1, tzinfo=UTC),
            )
        )
        conn.execute(
            sa.insert(old_event).values(
                id=uuid.uuid4(),
                case_id=case_id,
                seq=1,
                idempotency_key="k",
                event_type="referral_received",
                occurred_on=date(2025, 5, 1),
                payload={},
                recorded_at=datetime(2025, 5, 1, tzinfo=UTC),
            )
        )
    command.upgrade(config, "head")
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT actor_kind, actor, recorded_by FROM case_event")).one()
    assert tuple(row) == ("unknown", UNKNOWN_ACTOR, None)
