"""Where the test suite's CPU goes, file by file: sums the lines `make test` writes with
CIN_TEST_CPU=<file> (tests/conftest.py: each test's CPU, its own and its waited-for children's).

    CIN_TEST_CPU=/tmp/cpu.tsv make pytest
    python bench/suite_cpu.py /tmp/cpu.tsv [--top 30]
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path


def by_file(lines: list[str]) -> tuple[dict[str, float], float]:
    files: dict[str, float] = defaultdict(float)
    total = 0.0
    for line in lines:
        seconds, _, name = line.rstrip("\n").partition("\t")
        if name.startswith("session total"):
            total += float(seconds)
        elif name:
            files[name.split("::", 1)[0]] += float(seconds)
    return dict(files), total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log", type=Path)
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    files, total = by_file(args.log.read_text().splitlines())
    counted = sum(files.values())
    print(f"test processes' CPU, tests and their children: {total:.0f} s "
          f"({counted:.0f} s inside tests, {total - counted:.0f} s outside: start-up, collection, "
          f"session fixtures torn down late)")  # fmt: skip
    print(f"{'CPU s':>8} {'share':>6}  file")
    for name, seconds in sorted(files.items(), key=lambda kv: -kv[1])[: args.top]:
        print(f"{seconds:8.1f} {seconds / total if total else 0:6.1%}  {name}")


if __name__ == "__main__":
    main()
