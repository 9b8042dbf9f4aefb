"""Where the demo's time goes: seconds per phase, printed at its end beside the total (issue 20:
bring the demo under 2 minutes; what to cut is read from this line, not guessed)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager


class Phases:
    """Wall seconds spent in each named phase; a phase entered many times adds up."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def timed(self, name: str) -> Iterator[None]:
        start = time.monotonic()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.monotonic() - start

    def line(self) -> str:
        """`time by phase: <name> <seconds> s, ...` in the order the phases were first timed."""
        return "time by phase: " + ", ".join(
            f"{name} {seconds:.0f} s" for name, seconds in self.seconds.items()
        )
