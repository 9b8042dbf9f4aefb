"""`cin` start-up: how long a command takes before and around its work, beside a bare Python.

The target (issue 20): `cin --help` under 0.3 s and `cin case show` under 0.6 s on SQLite, on a
quiet machine. Each is timed in a fresh process, alternating with `python -c pass` so a loaded
machine slows the reference as much as the command; the report gives the median wall time of
each, its ratio to the bare start in the same run, and the CPU seconds the process used (less
sensitive to other work on the machine than the wall clock).

    python bench/cli_startup.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

TARGETS = {"cin --help": 0.3, "cin case show": 0.6}


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run of `command`, which must succeed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    cin = [sys.executable, "-m", "cli.main"]
    with tempfile.TemporaryDirectory(prefix="cin-startup-") as folder:
        env = {
            **os.environ,
            "CIN_DATA_DIR": folder,
            "CIN_DATABASE_URL": "",  # SQLite under the folder
            "PREFECT_API_URL": "http://127.0.0.1:9/api",  # nothing answers: no delivery
        }
        subprocess.run([*cin, "init"], env=env, check=True, stdout=subprocess.DEVNULL)
        made = subprocess.run(
            [*cin, "case", "refer", "--authority", "redbridge", "--child", "BENCH1",
             "--date", "2025-06-02", "--team", "north"],
            env=env, check=True, capture_output=True, text=True,
        )  # fmt: skip
        case_ref = made.stdout.split()[-1]
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "cin --help": [*cin, "--help"],
            "cin case show": [*cin, "case", "show", case_ref],
        }
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for _ in range(args.repeat):
            for name, command in commands.items():
                samples[name].append(timed(command, env))
    bare = statistics.median(wall for wall, _ in samples["python -c pass"])
    load = os.getloadavg()[0]
    print(f"cin start-up, median of {args.repeat} runs each, interleaved; load average {load:.1f}")
    for name, runs in samples.items():
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        target = f"  target < {TARGETS[name]} s" if name in TARGETS else ""
        ratio = wall / bare
        print(f"  {name:16} {wall:6.3f} s wall ({ratio:5.1f}x bare)  {cpu:6.3f} s CPU{target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
