"""Ending a case: a transfer out (RC5) or a closure with the census reason the worker records."""

from __future__ import annotations

from models.lifecycle.codes import CLOSED_NO_FURTHER_ACTION, CLOSED_TRANSFERRED_OUT
from models.lifecycle.draft import Draft
from models.lifecycle.events import CaseClosed, TransferOut


def transfer_out(d: Draft, e: TransferOut) -> None:
    d.close(CLOSED_TRANSFERRED_OUT)


def case_closed(d: Draft, e: CaseClosed) -> None:
    if e.reason == CLOSED_NO_FURTHER_ACTION and (
        d.state.plan_start is not None or d.state.s47_started is not None
    ):
        # Accepted (the worker's record stands) but flagged: the census return will fail.
        d.note(
            "RC8 means closed after assessment with no further action; the census refuses it "
            "on an episode with a CIN plan or s47 enquiries"
        )
    d.close(e.reason)
