"""The case database and its folder are readable by their owner only (issue 9)."""

from __future__ import annotations

import stat
from pathlib import Path

from models.database import get_engine, migrate
from models.instance import instance_id


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_sqlite_database_and_its_folder_are_private(tmp_path: Path) -> None:
    database = tmp_path / "data" / "cin.db"
    migrate(f"sqlite:///{database}")
    assert mode(database.parent) == 0o700
    assert mode(database) == 0o600
    engine = get_engine(f"sqlite:///{database}")
    assert len(instance_id(engine)) == 12  # `cin init` gave the database its id
    for companion in database.parent.glob("cin.db-*"):
        assert mode(companion) & 0o077 == 0, companion


def test_migrating_again_keeps_the_instance_id(db_url: str) -> None:
    migrate(db_url)
    first = instance_id(get_engine(db_url))
    migrate(db_url)  # migrating again keeps the id
    assert instance_id(get_engine(db_url)) == first
