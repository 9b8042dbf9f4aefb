"""Settings agree with each other: links in alerts go to the Prefect server the API is on."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.main import main as cin
from models.settings import get_settings


def point(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **env: str) -> None:
    monkeypatch.setenv("CIN_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CIN_UI_URL", raising=False)
    monkeypatch.delenv("CIN_PREFECT_API_URL", raising=False)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def test_the_ui_url_follows_the_api_url_unless_set(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    point(monkeypatch, tmp_path, PREFECT_API_URL="http://127.0.0.1:4311/api")
    assert get_settings().ui_url == "http://127.0.0.1:4311"
    point(monkeypatch, tmp_path, CIN_PREFECT_API_URL="https://prefect.council.example/api/")
    assert get_settings().ui_url == "https://prefect.council.example"
    point(monkeypatch, tmp_path)
    assert get_settings().ui_url == "http://127.0.0.1:4200"  # the project's own server


def test_a_ui_url_on_another_server_than_the_api_is_refused_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    point(
        monkeypatch, tmp_path,
        PREFECT_API_URL="http://127.0.0.1:4311/api", CIN_UI_URL="http://127.0.0.1:4200",
    )  # fmt: skip
    assert cin(["config", "show"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("cin: error: CIN_UI_URL"), err
    assert "127.0.0.1:4311" in err and "127.0.0.1:4200" in err
    # the same server, said explicitly, is accepted
    monkeypatch.setenv("CIN_UI_URL", "http://127.0.0.1:4311/")
    assert cin(["config", "show"]) == 0
    assert "CIN_UI_URL" in capsys.readouterr().out
