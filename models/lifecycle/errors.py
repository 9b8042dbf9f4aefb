"""The one error the lifecycle raises."""

from __future__ import annotations


class EventRefused(ValueError):
    """The event cannot be accepted: the reason names the event, the stage and what was expected.

    A refused event changes nothing (states are immutable values); the caller tells the person
    who recorded it why, and nothing is stored.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
