"""The census return for a large council's year on PostgreSQL: export time, memory, and the DfE
rules' own time on the same file.

Target (issue 10): 20,000 children, export under 30 s, memory flat (streamed, not built in memory).
`bench/census_load.py` COPYs a synthetic year (histories run through the real lifecycle) into a
fresh database per size. For each size the export runs in a process of its own, which reports its
time and its peak resident memory (ru_maxrss) beside the same process's memory before the export:
flat memory means the 20,000-child peak is close to the 5,000-child one. Then, on the same files,
the DfE's validation rules alone (csc-validator-be-cin in its venv), and `cin census check` whole
(export + XSD + rules + tracing each failure to its case and event).

    python bench/census_bench.py [--children 20000] [--small 5000] [--keep] [--skip-rules]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.census_load import AUTHORITY, Loaded, load  # noqa: E402
from bench.monitor_load import drop_database  # noqa: E402

SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def reset_peak() -> None:
    """Start the peak (VmHWM) afresh: a process started by fork inherits its parent's peak."""
    Path("/proc/self/clear_refs").write_text("5")


def export_only(url: str, out: str) -> None:
    """In a process of its own: one export, then its figures as JSON on stdout."""
    from models.census.export import export_return
    from models.census.year import CensusYear
    from models.database import get_engine
    from models.policy import load_policy_dir

    engine = get_engine(url)
    book = load_policy_dir(Path(__file__).resolve().parents[1] / "policies")
    with engine.connect():
        pass
    reset_peak()
    before = _status_mb("VmRSS")
    t0 = time.perf_counter()
    done = export_return(engine, policies=book, authority=AUTHORITY, year=CensusYear(2026),
                         out=Path(out), produced_at=datetime.now(UTC))  # fmt: skip
    seconds = time.perf_counter() - t0
    figures = {"seconds": seconds, "children": done.children, "omitted": len(done.omitted),
               "rss_before_mb": before, "rss_peak_mb": _status_mb("VmHWM"),
               "bytes": Path(out).stat().st_size}  # fmt: skip
    sys.stdout.write(json.dumps(figures) + "\n")


def existing(url: str) -> Loaded:
    """The figures of a database a previous `--keep` run loaded."""
    import psycopg

    from bench.monitor_load import libpq_dsn

    with psycopg.connect(libpq_dsn(url)) as conn:
        counts = [
            int(conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])  # type: ignore[index]
            for table in ("child", "case", "case_event")
        ]
    return Loaded(counts[0], counts[1], counts[2], 0.0)


def timed_export(url: str, out: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--export-only", url, str(out)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--children", type=int, default=20_000)
    parser.add_argument("--small", type=int, default=5_000)
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument("--reuse", action="store_true", help="the databases a --keep run left")
    parser.add_argument("--skip-rules", action="store_true", help="export figures only")
    parser.add_argument("--export-only", nargs=2, metavar=("URL", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.export_only:
        export_only(*args.export_only)
        return

    from models.census.check import check_return, xsd_problems
    from models.census.dfe_rules import run_dfe_rules
    from models.census.year import CensusYear
    from models.database import get_engine
    from models.policy import load_policy_dir
    from models.settings import get_settings

    folder = Path(tempfile.mkdtemp(prefix="cin-census-bench-"))
    rows = []
    for n in (args.small, args.children):
        url = f"{SERVER}/cin_census_bench_{n}"
        loaded = existing(url) if args.reuse else load(url, n)
        print(f"loaded {loaded.children:,} children, {loaded.cases:,} cases, "
              f"{loaded.events:,} events in {loaded.seconds:.1f} s")  # fmt: skip
        out = folder / f"return-{n}.xml"
        figures = timed_export(url, out)
        assert not xsd_problems(out), "the return must validate against the XSD"
        rules = None
        if not args.skip_rules:
            t0 = time.perf_counter()
            failures = run_dfe_rules(out, year=2026, python=get_settings().census_python)
            rules = (time.perf_counter() - t0, sum(f.level == "Error" for f in failures))
        rows.append((n, loaded, figures, rules, url))

    print()
    print(f"{'children':>9} {'cases':>7} {'events':>8} {'export s':>9} {'MB file':>8} "
          f"{'RSS before':>11} {'RSS peak':>9} {'DfE rules s':>12} {'errors':>7}")  # fmt: skip
    for n, loaded, f, rules, _ in rows:
        rule_s = f"{rules[0]:12.1f}" if rules else f"{'-':>12}"
        errors = f"{rules[1]:7d}" if rules else f"{'-':>7}"
        print(f"{n:9,d} {loaded.cases:7,d} {loaded.events:8,d} {f['seconds']:9.2f} "
              f"{f['bytes'] / 1e6:8.1f} {f['rss_before_mb']:9.0f}MB {f['rss_peak_mb']:7.0f}MB "
              f"{rule_s} {errors}")  # fmt: skip
    small, big = rows[0][2], rows[-1][2]
    grow_small = small["rss_peak_mb"] - small["rss_before_mb"]
    grow_big = big["rss_peak_mb"] - big["rss_before_mb"]
    print(
        f"export memory growth: {grow_small:.0f} MB for {args.small:,} children, "
        f"{grow_big:.0f} MB for {args.children:,} ({args.children / args.small:.0f}x the children)"
    )
    if not args.skip_rules:
        n, _, _, _, url = rows[-1]
        engine = get_engine(url)
        t0 = time.perf_counter()
        report = check_return(engine, policies=load_policy_dir(Path("policies")),
                              authority=AUTHORITY, year=CensusYear(2026),
                              produced_at=datetime.now(UTC),
                              census_python=get_settings().census_python)  # fmt: skip
        print(f"cin census check, {n:,} children: {time.perf_counter() - t0:.1f} s, "
              f"{report.errors} error-level findings, {len(report.findings)} in all")  # fmt: skip
        for code, level, count, message in report.by_rule():
            print(f"  rule {code:7} {level:5} {count:6}  {message[:90]}")
        engine.dispose()
    if not args.keep:
        for *_, url in rows:
            drop_database(url)


if __name__ == "__main__":
    main()
