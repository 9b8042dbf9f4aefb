"""Deadlines per second: scalar path, vectorised path and numpy.busday_offset, same run, same data.

One million random (start, N) pairs with starts 2015-2030 and N in 1..60 working days, England's
bank holidays. numpy.busday_offset is the reference: with roll="backward" it gives the N-th working
day after a start for N >= 1 (day 0 convention), so the three answers are also checked equal.

    python bench/calendar_bench.py [--pairs 1000000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import holidays
import numpy as np

from calendars import COVERAGE_END, COVERAGE_START, Nation, get_calendar


def best_of(repeat: int, fn: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False)
    parser.add_argument("--pairs", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    rng = np.random.default_rng(20261122)
    lo = np.datetime64("2015-01-01").astype(np.int64)
    hi = np.datetime64("2030-12-31").astype(np.int64)
    starts = rng.integers(lo, hi + 1, size=args.pairs).astype("datetime64[D]")
    amounts = rng.integers(1, 61, size=args.pairs).astype(np.int64)
    start_dates = starts.tolist()
    amount_ints = amounts.tolist()

    calendar = get_calendar(Nation.ENGLAND)
    england = holidays.country_holidays(
        "GB", subdiv="ENG", years=range(COVERAGE_START.year, COVERAGE_END.year + 1)
    )
    holiday_array = np.array(sorted(england), dtype="datetime64[D]")
    busdaycal = np.busdaycalendar(holidays=holiday_array)

    vector = calendar.add_many(starts, amounts)
    reference = np.busday_offset(starts, amounts, roll="backward", busdaycal=busdaycal)
    add = calendar.add
    scalar_sample = [
        add(d, n) for d, n in zip(start_dates[:100_000], amount_ints[:100_000], strict=True)
    ]
    agree = bool(np.array_equal(vector, reference)) and scalar_sample == [
        d.item() for d in vector[:100_000]
    ]

    t_vector = best_of(args.repeat, lambda: calendar.add_many(starts, amounts))
    t_busday = best_of(
        args.repeat,
        lambda: np.busday_offset(starts, amounts, roll="backward", busdaycal=busdaycal),
    )
    t_scalar = best_of(
        max(1, args.repeat // 2),
        lambda: [add(d, n) for d, n in zip(start_dates, amount_ints, strict=True)],
    )

    n = args.pairs
    rate_vector, rate_busday, rate_scalar = n / t_vector, n / t_busday, n / t_scalar
    print(f"pairs: {n:,} (starts 2015-2030, N 1..60 working days, England), best of {args.repeat}")
    print(f"answers agree (vector == busday_offset, scalar == vector): {agree}")
    print(f"vectorised path      {rate_vector:>14,.0f} deadlines/s  ({t_vector * 1e3:.1f} ms)")
    print(f"numpy.busday_offset  {rate_busday:>14,.0f} deadlines/s  ({t_busday * 1e3:.1f} ms)")
    print(f"scalar path          {rate_scalar:>14,.0f} deadlines/s  ({t_scalar * 1e3:.1f} ms)")
    print(f"vectorised / busday_offset speed ratio: {rate_vector / rate_busday:.2f}x")
    print(f"scalar / busday_offset speed ratio:     {rate_scalar / rate_busday:.3f}x")
    targets = [
        ("vectorised >= 10,000,000/s", rate_vector >= 10_000_000),
        ("vectorised within 1.5x of busday_offset", t_vector <= 1.5 * t_busday),
        ("scalar >= 300,000/s", rate_scalar >= 300_000),
        ("answers agree", agree),
    ]
    for name, ok in targets:
        print(f"target {name}: {'met' if ok else 'NOT MET'}")
    if not all(ok for _, ok in targets):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
