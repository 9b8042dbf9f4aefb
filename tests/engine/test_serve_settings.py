"""`cin serve`'s deployment watch period (CIN_SERVE_WATCH_SECONDS): the engine default, a
chosen period, and a bad value refused in one line that names the setting."""

from __future__ import annotations

import pytest

from engine.serve import WATCH_SECONDS, watch_seconds


def test_the_watch_period_is_the_default_or_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CIN_SERVE_WATCH_SECONDS", raising=False)
    assert watch_seconds() == WATCH_SECONDS == 30.0
    monkeypatch.setenv("CIN_SERVE_WATCH_SECONDS", "5")
    assert watch_seconds() == 5.0


@pytest.mark.parametrize("raw", ["abc", "0", "-3", "nan", "100000"])
def test_a_bad_watch_period_stops_serve_with_one_line(
    monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    monkeypatch.setenv("CIN_SERVE_WATCH_SECONDS", raw)
    with pytest.raises(SystemExit) as stopped:
        watch_seconds()
    message = str(stopped.value.code)
    assert message.startswith("cin serve: CIN_SERVE_WATCH_SECONDS: expected seconds above 0")
    assert "\n" not in message and repr(raw) in message
