"""The suite's long files, started first (tests/conftest.py LONG_FIRST), are files that exist:
a renamed or removed one would otherwise drop silently to its collection place."""

from __future__ import annotations

from tests.conftest import LONG_FIRST, REPO_ROOT


def test_every_long_first_file_exists_once() -> None:
    assert len(set(LONG_FIRST)) == len(LONG_FIRST)
    missing = [path for path in LONG_FIRST if not (REPO_ROOT / path).is_file()]
    assert missing == []
