"""Whether a case database is at the newest migration, known without loading Alembic.

Every `cin` command opens the case database through `migrate`, and Alembic's upgrade check
(importing Alembic and its dialects, loading each migration) cost most of a read command's
start-up. The newest revision is read from the migration files' own `revision` and
`down_revision` lines; when those name exactly one head and the database's `alembic_version`
holds it, nothing is left to do. Anything else (a merge, a file this reading does not
understand, a new or older database) goes through Alembic's upgrade as before.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, exc, text

VERSIONS = Path(__file__).resolve().parent / "migrations" / "versions"
_REVISION = re.compile(r'^revision\s*(?::\s*str\s*)?=\s*"([^"]+)"\s*$', re.M)
_DOWN = re.compile(r'^down_revision\s*(?::[^=]+)?=\s*(None|"([^"]+)")\s*$', re.M)


@lru_cache(maxsize=1)
def script_head(versions: Path = VERSIONS) -> str | None:
    """The one head of the migration files, or None when they do not read plainly as a chain."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted(versions.glob("*.py")):
        if path.name == "__init__.py":
            continue
        source = path.read_text(encoding="utf-8")
        revision, down = _REVISION.findall(source), _DOWN.findall(source)
        if len(revision) != 1 or len(down) != 1:
            return None
        revisions.add(revision[0])
        if down[0][1]:
            parents.add(down[0][1])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 and parents <= revisions else None


def at_head(engine: Engine) -> bool:
    """True only when the database's recorded revision is the migration files' one head."""
    head = script_head()
    if head is None:
        return False
    try:
        with engine.connect() as connection:
            found = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    except exc.SQLAlchemyError:
        return False  # no table yet, or unreadable: let Alembic decide
    return [row[0] for row in found] == [head]
