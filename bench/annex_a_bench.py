"""Ofsted's Annex A for a large council on PostgreSQL: `cin annex-a export`'s time and memory.

Target (issue 22): 20,000 children (the census bench's data, `bench/census_load.py`) in under
30 s, memory flat in the number of children. The census bench's synthetic year is loaded into a
fresh database per size; to it this adds one dated allocation per case (two for every third, a
reallocation) and one contact per child in the period, in SQL, so that every list and the
allocations' cursor have work. For each size the export runs in a process of its own, which
reports its time and peak resident memory (VmHWM) beside the same process's memory before the
export: flat memory means the large size's growth is close to the small one's.

    python bench/annex_a_bench.py [--children 20000] [--small 2000] [--keep] [--reuse]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.census_bench import SERVER, _status_mb, existing, reset_peak  # noqa: E402
from bench.census_load import AUTHORITY, load  # noqa: E402
from bench.monitor_load import drop_database, libpq_dsn  # noqa: E402

AS_OF = date(2026, 3, 31)
TARGET_SECONDS = 30.0  # issue 22

ALLOCATIONS = """
INSERT INTO case_allocation (case_id, allocated_on, team, worker_id, previous_team, migrated,
                             recorded_at)
SELECT id, referral_date + 1, 'team-' || (abs(hashtext(case_ref)) % 12),
       'W' || (abs(hashtext(case_ref)) % 400), NULL, false, now() FROM "case";
INSERT INTO case_allocation (case_id, allocated_on, team, worker_id, previous_team, migrated,
                             recorded_at)
SELECT id, referral_date + 30, 'team-' || (abs(hashtext(case_ref || 'x')) % 12),
       'W' || (abs(hashtext(case_ref || 'x')) % 400), NULL, false, now() FROM "case"
WHERE abs(hashtext(case_ref)) % 3 = 0;
INSERT INTO contact (id, authority, child_ref, contact_on, source, recorded_at)
SELECT gen_random_uuid(), authority, child_ref,
       DATE '2025-10-01' + (abs(hashtext(child_ref)) % 180), '2A', now() FROM child;
VACUUM ANALYZE case_allocation;
VACUUM ANALYZE contact;
"""


def add_facts(url: str) -> None:
    import psycopg

    with psycopg.connect(libpq_dsn(url), autocommit=True) as conn:
        for statement in ALLOCATIONS.split(";"):
            if statement.strip():
                conn.execute(statement.encode())


def export_only(url: str, out: str) -> None:
    """In a process of its own: one export, then its figures as JSON on stdout."""
    from models.annex_a.export import export_annex_a
    from models.database import get_engine
    from models.policy.book import load_policy_dir

    engine = get_engine(url)
    book = load_policy_dir(Path(__file__).resolve().parents[1] / "policies")
    with engine.connect():
        pass
    reset_peak()
    before = _status_mb("VmRSS")
    t0 = time.perf_counter()
    done = export_annex_a(engine, policies=book, authority=AUTHORITY, as_of=AS_OF, out=Path(out))
    seconds = time.perf_counter() - t0
    figures = {"seconds": seconds, "children": done.children, "rows": done.rows,
               "rss_before_mb": before, "rss_peak_mb": _status_mb("VmHWM"),
               "bytes": Path(out).stat().st_size}  # fmt: skip
    sys.stdout.write(json.dumps(figures) + "\n")


def timed_export(url: str, out: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--export-only", url, str(out)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False)
    parser.add_argument("--children", type=int, default=20_000)
    parser.add_argument("--small", type=int, default=2_000)
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument("--reuse", action="store_true", help="the databases a --keep run left")
    parser.add_argument("--db-prefix", default="cin_annex_a_bench_")
    parser.add_argument("--export-only", nargs=2, metavar=("URL", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.export_only:
        export_only(*args.export_only)
        return

    folder = Path(tempfile.mkdtemp(prefix="cin-annex-a-bench-"))
    rows = []
    try:
        for n in (args.small, args.children):
            url = f"{SERVER}/{args.db_prefix}{n}"
            if args.reuse:
                loaded = existing(url)
            else:
                loaded = load(url, n)
                add_facts(url)
            print(f"loaded {loaded.children:,} children, {loaded.cases:,} cases, "
                  f"{loaded.events:,} events in {loaded.seconds:.1f} s", flush=True)  # fmt: skip
            figures = timed_export(url, folder / f"annex-a-{n}.xlsx")
            rows.append((n, loaded, figures))
    finally:
        if not args.keep:
            for n in (args.small, args.children):
                drop_database(f"{SERVER}/{args.db_prefix}{n}")
    print()
    print(f"{'children':>9} {'cases':>7} {'events':>8} {'export s':>9} {'MB file':>8} "
          f"{'RSS before':>11} {'RSS peak':>9}  rows")  # fmt: skip
    for n, loaded, f in rows:
        print(f"{n:9,d} {loaded.cases:7,d} {loaded.events:8,d} {f['seconds']:9.2f} "
              f"{f['bytes'] / 1e6:8.1f} {f['rss_before_mb']:9.0f}MB {f['rss_peak_mb']:7.0f}MB  "
              f"{f['rows']}")  # fmt: skip
    small, big = rows[0][2], rows[-1][2]
    grow_small = small["rss_peak_mb"] - small["rss_before_mb"]
    grow_big = big["rss_peak_mb"] - big["rss_before_mb"]
    times = args.children / args.small
    print(f"export memory growth: {grow_small:.0f} MB for {args.small:,} children, "
          f"{grow_big:.0f} MB for {args.children:,} ({times:.0f}x the children)")  # fmt: skip
    seconds = big["seconds"]
    verdict = "under" if seconds < TARGET_SECONDS else "OVER"
    print(f"{args.children:,} children in {seconds:.1f} s: {verdict} the {TARGET_SECONDS:.0f} s "
          "target (issue 22)")  # fmt: skip


if __name__ == "__main__":
    main()
