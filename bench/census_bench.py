"""The census return for a large council's year on PostgreSQL: export, check, and the DfE's
validator alone on the same file.

Target (issue 10): 20,000 children, export under 30 s, memory flat (streamed, not built in memory).
`bench/census_load.py` COPYs a synthetic year (histories run through the real lifecycle) into a
fresh database per size. For each size the export runs in a process of its own, which reports its
time and its peak resident memory (ru_maxrss) beside the same process's memory before the export:
flat memory means the 20,000-child peak is close to the 5,000-child one.

Then, on the 20,000-child return: the XSD, the DfE's rules as `cin census check` runs them (the
return read into the validator's tables in one pass, `dfe_rules.linear_tables`), and `cin census
check` whole (export + XSD + rules + tracing each failure to its case and event). "The validator
alone" (csc-validator-be-cin reading the XML itself, then its rules) takes minutes (538 s at
20,000 children, measured) because its reader grows with the square of the children: it runs on
the first 1,000, 2,000 and 5,000 children of the same file by default (`--validator-sizes`; pass
20000 to run it on the whole file), beside the fast path on the same files. When the whole file is
not among the sizes, its 20,000-child time is extrapolated from a quadratic fit of its reading time
plus the rules' time measured at 20,000, printed as an estimate, not a measurement.

    python bench/census_bench.py [--children 20000] [--small 5000] [--keep] [--reuse]
        [--validator-sizes 1000,2000,5000] [--db-prefix cin_census_bench_]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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
    from models.policy.book import load_policy_dir

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


def first_children(source: Path, n: int, out: Path) -> None:
    """The return at `source` cut to its header and first `n` children, streamed."""
    from lxml import etree

    header = next(element for _, element in etree.iterparse(str(source), tag="Header"))
    with etree.xmlfile(str(out), encoding="utf-8") as xf:
        xf.write_declaration()
        with xf.element("Message"):
            xf.write(header)
            with xf.element("Children"):
                for written, (_, child) in enumerate(etree.iterparse(str(source), tag="Child")):
                    if written == n:
                        break
                    xf.write(child)
                    child.clear()


def per_child_fit(points: list[tuple[int, float]]) -> tuple[float, float]:
    """Least squares of the time per child against the children, t/n = b + c n: a reader whose
    time grows with the square of n has a per-child time that grows in a straight line."""
    xs = [float(n) for n, _ in points]
    ys = [t / n for n, t in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    c = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in xs
    )
    return my - c * mx, c


def timed_rules(path: Path, ingest: str) -> tuple[float, dict[str, float], int, list[Any]]:
    from models.census.dfe_rules import run_dfe_rules
    from models.settings import get_settings

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    failures = run_dfe_rules(
        path, year=2026, python=get_settings().census_python, ingest=ingest, timings=timings
    )
    errors = sum(f.level == "Error" for f in failures)
    return time.perf_counter() - t0, timings, errors, failures


def main() -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False)
    parser.add_argument("--children", type=int, default=20_000)
    parser.add_argument("--small", type=int, default=5_000)
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument("--reuse", action="store_true", help="the databases a --keep run left")
    parser.add_argument("--skip-rules", action="store_true", help="export figures only")
    parser.add_argument(
        "--validator-sizes",
        default="1000,2000,5000",
        help="children for the validator alone (comma-separated; '' for none)",
    )
    parser.add_argument("--db-prefix", default="cin_census_bench_")
    parser.add_argument("--export-only", nargs=2, metavar=("URL", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.export_only:
        export_only(*args.export_only)
        return

    from models.census.check import check_return, xsd_problems
    from models.census.year import CensusYear
    from models.database import get_engine
    from models.policy.book import load_policy_dir
    from models.settings import get_settings

    folder = Path(tempfile.mkdtemp(prefix="cin-census-bench-"))
    rows = []
    for n in (args.small, args.children):
        url = f"{SERVER}/{args.db_prefix}{n}"
        loaded = existing(url) if args.reuse else load(url, n)
        print(
            f"loaded {loaded.children:,} children, {loaded.cases:,} cases, "
            f"{loaded.events:,} events in {loaded.seconds:.1f} s",
            flush=True,
        )
        out = folder / f"return-{n}.xml"
        figures = timed_export(url, out)
        rows.append((n, loaded, figures, url, out))

    print()
    print(
        f"{'children':>9} {'cases':>7} {'events':>8} {'export s':>9} {'MB file':>8} "
        f"{'RSS before':>11} {'RSS peak':>9}"
    )
    for n, loaded, f, _, _ in rows:
        print(
            f"{n:9,d} {loaded.cases:7,d} {loaded.events:8,d} {f['seconds']:9.2f} "
            f"{f['bytes'] / 1e6:8.1f} {f['rss_before_mb']:9.0f}MB {f['rss_peak_mb']:7.0f}MB"
        )
    small, big = rows[0][2], rows[-1][2]
    grow_small = small["rss_peak_mb"] - small["rss_before_mb"]
    grow_big = big["rss_peak_mb"] - big["rss_before_mb"]
    print(
        f"export memory growth: {grow_small:.0f} MB for {args.small:,} children, "
        f"{grow_big:.0f} MB for {args.children:,} ({args.children / args.small:.0f}x the children)",
        flush=True,
    )
    if args.skip_rules:
        _drop(args, rows)
        return

    n, _, exported, url, big_file = rows[-1]
    export_s = exported["seconds"]
    t0 = time.perf_counter()
    assert not xsd_problems(big_file), "the return must validate against the XSD"
    xsd_s = time.perf_counter() - t0
    fast_s, fast_t, errors, found = timed_rules(big_file, "linear")
    failures = len(found)
    engine = get_engine(url)
    t0 = time.perf_counter()
    report = check_return(
        engine,
        policies=load_policy_dir(Path("policies")),
        authority=AUTHORITY,
        year=CensusYear(2026),
        produced_at=datetime.now(UTC),
        census_python=get_settings().census_python,
    )
    check_s = time.perf_counter() - t0
    engine.dispose()
    print()
    print(f"{n:,} children ({big_file.stat().st_size / 1e6:.1f} MB return):")
    print(f"  export                       {export_s:7.1f} s   (target < 30 s)")
    print(f"  XSD                          {xsd_s:7.1f} s")
    print(
        f"  DfE rules, one-pass reading  {fast_s:7.1f} s   (reading {fast_t['read']:.1f} s, "
        f"rules {fast_t['rules']:.1f} s; {errors} errors, {failures} failures)"
    )
    print(
        f"  cin census check, whole      {check_s:7.1f} s   = {check_s / export_s:.1f}x the export "
        f"({report.errors} error-level findings, {len(report.findings)} in all)",
        flush=True,
    )

    sizes = [int(x) for x in args.validator_sizes.split(",") if x.strip()]
    if sizes:
        print()
        print(
            "the validator alone (its own XML reading, then its rules) on the first N children "
            "of the same return,"
        )
        print("beside the DfE rules as `cin census check` runs them (one-pass reading):")
        print(
            f"{'children':>9} {'validator s':>12} {'of which reading':>17} {'one-pass s':>11} "
            f"{'of which reading':>17} {'ratio':>7} {'same failures':>14}"
        )
        points = []
        for size in sizes:
            part = folder / f"first-{size}.xml"
            first_children(big_file, size, part)
            v_s, v_t, _, v_n = timed_rules(part, "validator")
            f_s, f_t, _, f_n = timed_rules(part, "linear")
            points.append((size, v_t["read"]))
            print(
                f"{size:9,d} {v_s:12.1f} {v_t['read']:17.1f} {f_s:11.1f} {f_t['read']:17.2f} "
                f"{v_s / f_s:6.1f}x {str(v_n == f_n) + f' ({len(f_n)})':>14}",
                flush=True,
            )
        if len(points) >= 2 and n not in sizes:
            b, c = per_child_fit(points)
            read_est = n * (b + c * n)
            total_est = read_est + fast_t["rules"]
            growth = points[-1][1] / points[0][1]
            print(
                f"its reading grew {growth:.0f}x for {points[-1][0] / points[0][0]:.0f}x the "
                f"children; per child {b * 1e3:.1f} ms + {c * 1e6:.2f} us x children"
            )
            print(
                f"ESTIMATE (extrapolated from that fit, not measured) for the validator alone on "
                f"{n:,} children: reading ~{read_est / 60:.0f} min + rules {fast_t['rules']:.0f} s "
                f"(measured) = ~{total_est / 3600:.1f} h, ~{total_est / check_s:.0f}x "
                f"`cin census check` whole"
            )
    print()
    print("summary by rule (cin census check):")
    for code, level, count, message in report.by_rule():
        print(f"  rule {code:7} {level:5} {count:6}  {message[:90]}")
    _drop(args, rows)


def _drop(args: argparse.Namespace, rows: list[tuple[Any, ...]]) -> None:
    """The databases (unless --keep) and the returns written (synthetic, but returns all the
    same: not left lying in /tmp)."""
    if not args.keep:
        for *_, url, _ in rows:
            drop_database(url)
    if rows:
        shutil.rmtree(rows[0][-1].parent, ignore_errors=True)


if __name__ == "__main__":
    main()
