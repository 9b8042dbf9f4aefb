"""The demo's Prefect port: 4310 unless CIN_DEMO_PORT says otherwise, so two clones' demos on one
machine need not collide; a bad value is refused in one line before anything starts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from demo.demo import demo_port

REPO = Path(__file__).resolve().parents[2]


def test_the_port_is_4310_unless_set() -> None:
    assert demo_port({}) == 4310
    assert demo_port({"CIN_DEMO_PORT": " 4411 "}) == 4411


@pytest.mark.parametrize("value", ["abc", "80", "70000", "43.1"])
def test_a_bad_port_is_one_line_and_starts_nothing(value: str, tmp_path: Path) -> None:
    env = {**os.environ, "CIN_DEMO_PORT": value}
    done = subprocess.run(
        [sys.executable, "-m", "demo.demo"], cwd=REPO, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        f"CIN_DEMO_PORT: expected a port number from 1024 to 65535, got {value!r}"
    ]
