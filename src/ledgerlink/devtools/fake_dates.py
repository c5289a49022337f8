"""`make test-dates`: run the suite under other dates, to catch a test that reads the wall clock.

    python -m ledgerlink.devtools.fake_dates [--date 2028-02-29T12:00:00 ...] [-- pytest arguments]

Each date becomes an offset from now that every Python process of the run applies at start (the
`fake_clock/sitecustomize.py` beside this file, with time-machine), so the test runner, its xdist workers and
the sandboxes and consumers they spawn share one clock that keeps running: a date a few seconds before
midnight crosses into the next day, month or year while the tests run. Monotonic clocks are not moved.

Why not libfaketime: its multi-threaded build moves the monotonic clock too, and then a timed wait
(`threading.Event.wait(1)`, which huey's consumer uses) never returns; told to leave the monotonic clock
alone, Debian's 0.9.10 fails every `time.sleep` with EINVAL.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

DEFAULT_DATES = (
    "2026-11-30T23:59:45",  # the last seconds of a month
    "2028-02-29T12:00:00",  # a leap day
    "2026-12-31T23:59:45",  # the last seconds of a year
    "2030-06-15T09:00:00",  # years ahead
)
DEFAULT_PYTEST = ("tests", "-q", "-n", "2", "--dist", "loadgroup", "-p", "no:cacheprovider")
FAKE_CLOCK = Path(__file__).with_name("fake_clock")


def offset_to(date: str, now: float) -> int:
    """Seconds from `now` to `date` (UTC, ISO 8601)."""
    target = datetime.fromisoformat(date).replace(tzinfo=UTC)
    return round(target.timestamp() - now)


def environment(offset_s: int, base: dict[str, str]) -> dict[str, str]:
    """`base` with the fake clock switched on for every Python process started under it."""
    path = os.pathsep.join(filter(None, [str(FAKE_CLOCK), base.get("PYTHONPATH", "")]))
    return {**base, "PYTHONPATH": path, "LEDGERLINK_FAKE_CLOCK_OFFSET_S": str(offset_s)}


def run(dates: list[str], pytest_args: list[str]) -> int:
    results = []
    for date in dates:
        print(f"== tests at {date} UTC", flush=True)
        env = environment(offset_to(date, time.time()), dict(os.environ))
        results.append((date, subprocess.call([sys.executable, "-m", "pytest", *pytest_args], env=env)))
    print("\n".join(f"{date}: {'passed' if code == 0 else f'FAILED ({code})'}" for date, code in results))
    return max(code for _, code in results)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the test suite under faked dates.")
    parser.add_argument("--date", action="append", help="ISO date and time, UTC (repeatable)")
    parser.add_argument("pytest_args", nargs="*", help="after --: arguments for pytest")
    args = parser.parse_args(argv)
    return run(args.date or list(DEFAULT_DATES), args.pytest_args or list(DEFAULT_PYTEST))


if __name__ == "__main__":
    sys.exit(main())
