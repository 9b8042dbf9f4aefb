"""`python -m tests.tasks.altered_prefect`: run the internals test against a deliberately altered
Prefect, to see it fail naming what changed.

Two of Prefect's internals are altered in this process before the test runs, as an upgrade might
alter them: `register_flow_run_suspension_request` takes its request under another name, and
`BaseWorker._release_limit_slot` is gone. Every failure must name one of those two, and each
must be named (exit status 0 here when so, 1 when not).
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import prefect._flow_run_suspension as suspension
import pytest
from prefect.workers.base import BaseWorker

TEST = Path(__file__).with_name("test_prefect_internals.py")
ALTERED = (
    "prefect._flow_run_suspension.register_flow_run_suspension_request",
    "BaseWorker._release_limit_slot",
)


class _Failures:
    def __init__(self) -> None:
        self.messages: list[str] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.failed:
            self.messages.append(str(report.longrepr))


def main() -> int:
    original = suspension.register_flow_run_suspension_request

    @contextmanager
    def altered(flow_run_id: Any, request: Any) -> Any:  # "suspension_request" renamed
        with original(flow_run_id, request):
            yield

    suspension.register_flow_run_suspension_request = altered  # type: ignore[assignment]
    del BaseWorker._release_limit_slot
    failures = _Failures()
    arguments = ["-q", "-p", "no:cacheprovider", str(TEST), "-k", "signature or member"]
    pytest.main(arguments, [failures])
    named = {name: any(name in m for m in failures.messages) for name in ALTERED}
    for name, seen in named.items():
        print(f"{name}: {'named by a failure' if seen else 'NOT named'}")  # noqa: T201
    print(f"{len(failures.messages)} failures in all")  # noqa: T201
    stray = [m for m in failures.messages if not any(name in m for name in ALTERED)]
    return 0 if all(named.values()) and not stray else 1


if __name__ == "__main__":
    sys.exit(main())
