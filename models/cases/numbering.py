"""Case numbers, and the locks an opening takes: the authority's counter for a moment at the end,
the child for the whole transaction.

Case numbers are gapless and in commit order per authority (RED-000001, RED-000002, ...: the
concurrency tests in tests/models/cases/test_store.py count them), so a number is taken from the
authority's row (`next_case_number`) inside the transaction that opens the case, and the row
stays locked until that transaction ends. An opening used to lock it first and hold it through
all its checks and writes (about fifteen statements); through the HTTP API, where every
statement waits its turn for one process's GIL, openings queued behind one another (issue 21:
p99 1,450 ms for openings against 352 ms for events on open cases, docs/http-api.md).

Now an opening takes three locks, in this order:

1. `share_authority`: the authority's row `FOR KEY SHARE`. Openings do not wait for one another
   on it; the writers that lock the whole row `FOR UPDATE` (the bulk import, which numbers its
   own cases and checks the children of a chunk without locking children that have no case yet;
   the roster import, whose teams an opening checks) wait for the openings under way, and the
   openings after them wait for those writers, as before.
2. `serialise_child`: on PostgreSQL, a transaction-level advisory lock on a hash of the
   authority and the child, so that the checks which must be serial for one child (the same
   Idempotency-Key is a repeat; a second open case is refused) are; children apart never wait
   for one another (a hash collision only makes two children wait, never wrong). SQLite takes
   its single write lock at `BEGIN IMMEDIATE` (models/database.py): everything is serial there.
3. `take_number`: last, after the case's rows are written under a provisional reference, the
   counter is advanced (`UPDATE ... RETURNING`, which locks the row until commit) and the case
   given its number: the counter is held for two statements and the commit, not fifteen.
"""

from __future__ import annotations

import hashlib
import uuid

from sqlalchemy import bindparam, select, text, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session

from models.cases.reads import UnknownCase
from models.tables import Authority, Case

# the advisory lock's first key ("CINC"): the two-key space is apart from the one-key space the
# per-case run locks use (models/cases/lock.py), and this constant keeps other users apart
CHILD_LOCK_SPACE = 0x43494E43
LOCK_CHILD = text("SELECT pg_advisory_xact_lock(:space, :child)")
SHARE_AUTHORITY = (
    select(Authority.case_prefix)  # type: ignore[call-overload]
    .where(Authority.slug == bindparam("slug"))
    .with_for_update(read=True, key_share=True)
)
_AUTHORITY, _CASE = Authority.__table__, Case.__table__  # type: ignore[attr-defined]
ADVANCE = (
    update(_AUTHORITY)
    .where(_AUTHORITY.c.slug == bindparam("b_slug"))
    .values(next_case_number=_AUTHORITY.c.next_case_number + 1)
    .returning(_AUTHORITY.c.case_prefix, _AUTHORITY.c.next_case_number)
)
NAME_CASE = update(_CASE).where(_CASE.c.id == bindparam("b_id"))


def share_authority(session: Session, slug: str) -> str:
    """The authority's case prefix, its row held against the writers that lock it whole."""
    prefix = session.connection().execute(SHARE_AUTHORITY, {"slug": slug}).scalar()
    if prefix is None:
        raise UnknownCase(f"authority {slug!r} has no row: run `cin init` to load the policies")
    return str(prefix)


def serialise_child(session: Session, authority: str, child_ref: str) -> None:
    """Wait for any other transaction opening a case for this child, and hold it off until this
    one ends (PostgreSQL; SQLite's transactions are serial already)."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return
    digest = hashlib.blake2b(f"{authority}\0{child_ref}".encode(), digest_size=4).digest()
    child = int.from_bytes(digest, "big", signed=True)
    connection.execute(LOCK_CHILD, {"space": CHILD_LOCK_SPACE, "child": child})


def provisional_ref() -> str:
    """A case's reference until `take_number` gives it its number, in the same transaction (no
    other transaction ever reads it); never a real one (no prefix has '~')."""
    return f"~{uuid.uuid4().hex[:31]}"


def numbered(prefix: str, number: int) -> str:
    return f"{prefix}-{number:06d}"


def take_number(session: Session, authority: str, case: Case) -> str:
    """Advance the authority's counter and give `case` its number; the counter's row stays
    locked until the transaction ends, so numbers are given in commit order, without gaps."""
    connection = session.connection()
    prefix, following = connection.execute(ADVANCE, {"b_slug": authority}).one()
    case_ref = numbered(prefix, following - 1)
    connection.execute(NAME_CASE, {"b_id": case.id, "case_ref": case_ref})
    set_committed_value(case, "case_ref", case_ref)
    return case_ref
