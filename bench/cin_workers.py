"""`cin worker` processes as the benches start them: the engine's own worker command, polling
every 0.2 s, its output discarded (what the benches measure is read elsewhere)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def start_workers(workers: int, threads: int) -> list[subprocess.Popen[bytes]]:
    """`workers` processes of `cin worker --threads threads --poll 0.2`, in this environment."""
    command = [sys.executable, "-m", "cli.main", "worker", "--threads", str(threads),
               "--poll", "0.2"]  # fmt: skip
    return [
        subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(workers)
    ]
