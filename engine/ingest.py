"""The one Python API recording systems use: validate, accept in one transaction, then deliver.

    from engine.ingest import Ingest
    ingest = Ingest.from_settings()
    accepted = ingest.refer(authority="redbridge", child_ref="C-1", on=date(2025, 1, 6))
    ingest.record(accepted.case_ref, {"type": "referral_decision", "on": "2025-01-07",
                                      "outcome": "assessment"}, key="ics-4411")

Accepting never waits for Prefect: once `accept` returns, the event is durable and its outbox row
is written. Delivery is then tried at once (`deliver=True`) or left to the reconciler.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from models.access.actors import Actor
from models.cases.lookup import ChildCase, child_cases
from models.cases.store import Accepted, committed, open_case_in, record_in, sync_authorities
from models.clock import Clock
from models.lifecycle import parse_event
from models.policy.book import PolicyBook
from models.runtime import case_engine, clock, policies

log = logging.getLogger("cin.ingest")


@dataclass
class Ingest:
    engine: Engine
    policies: PolicyBook
    deliver: bool = True
    # None: the settings' clock, read at each event (CIN_TODAY may change between commands in
    # one process, as in the tests); a long-running server passes the clock it started with,
    # since reading the settings costs more CPU than the rest of an event's checks
    clock: Clock | None = None

    def today(self) -> date:
        return (self.clock or clock()).today()

    @classmethod
    def from_settings(cls, *, deliver: bool = True) -> Ingest:
        ingest = cls(case_engine(), policies(), deliver)
        with Session(ingest.engine) as session:
            sync_authorities(session, policies=ingest.policies)
        return ingest

    def refer(
        self,
        *,
        authority: str,
        child_ref: str,
        on: date,
        source: str = "10",
        primary_need: str | None = None,
        team: str | None = None,
        key: str | None = None,
        actor: Actor | None = None,
    ) -> Accepted:
        event = {
            "type": "referral_received",
            "on": on,
            "source": source,
            "primary_need": primary_need,
        }
        return self.open(
            authority=authority, child_ref=child_ref, event=event, team=team, key=key, actor=actor
        )

    def transfer_in(
        self,
        *,
        authority: str,
        child_ref: str,
        on: date,
        primary_need: str | None = None,
        team: str | None = None,
        key: str | None = None,
        actor: Actor | None = None,
    ) -> Accepted:
        """Open a case for a child in need who moved here from another authority; `on` is the
        day the family became resident (Redbridge 003 s7: the CIN meeting within 20 WD)."""
        event = {"type": "transfer_in", "on": on, "primary_need": primary_need}
        return self.open(
            authority=authority, child_ref=child_ref, event=event, team=team, key=key, actor=actor
        )

    def open(
        self,
        *,
        authority: str,
        child_ref: str,
        event: Mapping[str, Any],
        team: str | None = None,
        key: str | None = None,
        actor: Actor | None = None,
        session: Session | None = None,
    ) -> Accepted:
        """Start a case with any opening event (a referral or a transfer in). With `session`,
        accepted in the caller's transaction: the caller commits, and the outbox delivers."""
        accept = partial(
            open_case_in,
            policies=self.policies,
            authority=authority,
            child_ref=child_ref,
            event=parse_event(event),
            key=key,
            team=team,
            today=self.today(),
            actor=actor,
        )
        return self._accepted(accept, session)

    def record(
        self,
        case_ref: str,
        event: Mapping[str, Any],
        key: str | None = None,
        actor: Actor | None = None,
        *,
        authority: str | None = None,
        session: Session | None = None,
    ) -> Accepted:
        """Record an event on an open case (of `authority`, when given). With `session`, in the
        caller's transaction: the caller commits, and the outbox delivers."""
        accept = partial(
            record_in,
            policies=self.policies,
            case_ref=case_ref,
            event=parse_event(event),
            key=key,
            today=self.today(),  # an event dated after today is refused
            actor=actor,
            authority=authority,
        )
        return self._accepted(accept, session)

    def record_contact(
        self,
        *,
        authority: str,
        child_ref: str,
        on: date,
        source: str,
        session: Session | None = None,
    ) -> bool:
        """A contact at the front door (Annex A List 1), never a case; True if new. With
        `session`, in the caller's transaction (the caller commits)."""
        from models.cases.contacts import add_contact, record_contact

        self.policies.authority(authority)  # an unknown authority: the known ones named
        today = self.today()
        if session is not None:
            return add_contact(session, authority=authority, child_ref=child_ref, on=on,
                               source=source, today=today)  # fmt: skip
        return record_contact(self.engine, authority=authority, child_ref=child_ref, on=on,
                              source=source, today=today)  # fmt: skip

    def set_child(
        self,
        *,
        authority: str,
        child_ref: str,
        details: Mapping[str, Any],
        as_of: date | None = None,
    ) -> bool:
        """Record a child's census details (personal data: `models.census.child`); True if new.
        The dates are checked against today, or against `as_of` for details loaded from history
        (a caseload's records, recorded when the child was first referred): an unborn child's
        expected date of birth was still to come then. `as_of` is never after today."""
        from models.census.child import parse_child
        from models.census.child_store import set_child

        today = self.today()
        if as_of is not None and as_of > today:
            raise ValueError("as_of: expected a date on or before today")
        parsed = parse_child(dict(details), today=as_of or today)
        with Session(self.engine) as session:
            created = set_child(session, authority=authority, child_ref=child_ref, details=parsed)
            session.commit()
        return created

    def child_cases(self, *, authority: str, child_ref: str, key: str) -> list[ChildCase]:
        """Every case of the child in the authority, oldest first, marking the one holding `key`
        (where a record addressed to a child goes: `models.cases.lookup.resolve`)."""
        with Session(self.engine) as session:
            return child_cases(session, authority=authority, child_ref=child_ref, key=key)

    def _accepted(self, accept: Callable[[Session], Accepted], session: Session | None) -> Accepted:
        """In the caller's `session` (it commits; the outbox delivers), or in a transaction of
        its own, then delivered."""
        if session is not None:
            return accept(session)
        return self._delivered(committed(self.engine, accept))

    def _delivered(self, accepted: Accepted) -> Accepted:
        if self.deliver and not accepted.duplicate:
            # imported here: accepting with deliver=False (Prefect down) never loads Prefect
            from engine.delivery import deliver_case
            from engine.executor import prepare_thread
            from engine.worker import case_deployment_id

            prepare_thread()
            try:
                case_deployment_id(self.engine)
            except Exception as error:  # Prefect down: the outbox keeps the event
                log.warning("case deployment not registered (%s)", type(error).__name__)
                return accepted
            deliver_case(self.engine, accepted.case_ref)
        return accepted
