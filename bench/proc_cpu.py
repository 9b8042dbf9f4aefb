"""CPU seconds by process class, read from /proc (Linux), for bench/case_bench.py."""

from __future__ import annotations

import os
import threading
from collections import Counter
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, str, float] | None:
    """(parent pid, command name, CPU seconds used) of a live process, or None."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw.rsplit(")", 1)[1].split()
    return int(fields[1]), name, (int(fields[11]) + int(fields[12])) / TICK


class CpuSampler:
    """CPU seconds by process class while a throughput run feeds: the Prefect server (its
    processes: one, or an API server and a services process, with any child processes), the
    feeder (the bench child), its `cin worker` processes, and the PostgreSQL backends serving
    this bench's databases (matched by name in their command line). Sampled every 0.2 s so that
    a process that exits meanwhile still counts up to its last sample; a process first seen
    after the start counts from zero. Pids in `services_pids` (also in `server_pids`) count
    as "services": the split topology's services process, apart from its API server."""

    def __init__(
        self,
        server_pids: tuple[int, ...],
        child_pid: int,
        db_prefix: str,
        services_pids: tuple[int, ...] = (),
    ) -> None:
        self.server_pids, self.child_pid = server_pids, child_pid
        self.services_pids = services_pids
        self.db_prefix = db_prefix.encode()
        self.first: dict[int, float] = {}
        self.last: dict[int, tuple[str, float]] = {}
        self.started = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _classes(self) -> dict[int, tuple[str, float]]:
        procs: dict[int, tuple[int, str, float]] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit() and (stat := _stat(int(entry))) is not None:
                procs[int(entry)] = stat
        seen: dict[int, tuple[str, float]] = {}
        for pid, (_ppid, name, cpu) in procs.items():
            if name == "postgres":
                try:
                    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                except OSError:
                    continue
                if self.db_prefix in cmdline:
                    seen[pid] = ("postgres", cpu)
                continue
            ancestor, depth = pid, 0
            while ancestor > 1 and depth < 10:
                if ancestor in self.server_pids:
                    seen[pid] = ("services" if ancestor in self.services_pids else "server", cpu)
                    break
                if ancestor == self.child_pid:
                    seen[pid] = ("feeder" if pid == self.child_pid else "workers", cpu)
                    break
                ancestor, depth = procs.get(ancestor, (1, "", 0.0))[0], depth + 1
        return seen

    def sample(self) -> None:
        seen = self._classes()
        for pid, (kind, cpu) in seen.items():
            if not self.started:
                self.first[pid] = cpu
            self.first.setdefault(pid, 0.0)
            self.last[pid] = (kind, cpu)
        self.started = True

    def _loop(self) -> None:
        while not self._stop.wait(0.2):
            self.sample()

    def start(self) -> None:
        self.sample()
        self._thread.start()

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join()
        self.sample()
        used: Counter[str] = Counter()
        for pid, (kind, cpu) in self.last.items():
            used[kind] += cpu - self.first[pid]
        return dict(used)
