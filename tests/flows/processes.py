"""Real processes for crash tests: `cin worker` (the Prefect server is demo.local_server)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from demo.local_server import PrefectServer, free_port, wait_until

__all__ = ["PrefectServer", "Worker", "free_port", "wait_until"]

REPO = Path(__file__).resolve().parents[2]


class Worker:
    def __init__(self, env: dict[str, str], log_path: Path, threads: int = 1) -> None:
        self.env, self.log_path, self.threads = env, log_path, threads
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, **extra_env: str) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "worker", "--threads", str(self.threads),
             "--poll", "0.2"],
            env={**self.env, **extra_env}, cwd=REPO, stdout=log, stderr=log,
            start_new_session=True,
        )  # fmt: skip

    def wait_exit(self, timeout: float) -> int:
        assert self.process is not None
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
