"""Process-wide handles for flows: the case database, the policies, the clock."""

from __future__ import annotations

import logging
import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from models.clock import Clock, clock_from
from models.database import get_engine, migrate
from models.settings import get_settings

if TYPE_CHECKING:
    from models.policy.book import PolicyBook


def case_engine() -> Engine:
    """The case database named by CIN_DATABASE_URL (SQLite under the data folder by default)."""
    return _engine(get_settings().resolved_database_url())


@lru_cache(maxsize=4)
def _engine(url: str) -> Engine:
    migrate(url)
    return get_engine(url)


def policies() -> PolicyBook:
    return _policies(str(get_settings().policy_dir))


@lru_cache(maxsize=4)
def _policies(path: str) -> PolicyBook:
    from models.policy.book import load_policy_dir  # pydantic and YAML: only when asked for

    book = load_policy_dir(Path(path))
    for problem in book.left_out:  # once a process: the other councils work meanwhile
        logging.getLogger("cin.policy").warning("left out of the policy folder: %s", problem)
    return book


def clock() -> Clock:
    return clock_from(get_settings().today)


def crash_point(name: str, seq: int) -> None:
    """Fault injection for the crash tests: `CIN_CRASH_AT=after-work:3` kills this process (as a
    power cut would) when it reaches `name` for event 3. Unset in real use."""
    if os.environ.get("CIN_CRASH_AT") == f"{name}:{seq}":
        os._exit(137)
