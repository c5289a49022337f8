"""`make test-dates`: run tests under other dates with libfaketime, to catch a test that reads the wall clock.

    python -m ledgerlink.devtools.fake_dates [--date 2028-02-29T12:00:00 ...] [-- pytest arguments]

Each date is an offset from now (`faketime -f +SECONDS`), so the clock keeps running from it and every
process of the run (xdist workers, sandboxes, consumers) shares one clock; a date a few seconds before
midnight therefore crosses into the next day, month or year while the tests run. The multi-threaded
libfaketime (-m) is used: the single-threaded one breaks Python's sleep.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime

DEFAULT_DATES = (
    "2026-11-30T23:59:45",  # the last seconds of a month
    "2028-02-29T12:00:00",  # a leap day
    "2026-12-31T23:59:45",  # the last seconds of a year
    "2030-06-15T09:00:00",  # years ahead
)
DEFAULT_PYTEST = ("tests", "-q", "-n", "2", "--dist", "loadgroup", "-p", "no:cacheprovider")


def offset_to(date: str, now: float) -> int:
    """Seconds from `now` to `date` (UTC, ISO 8601), as faketime's relative offset."""
    target = datetime.fromisoformat(date).replace(tzinfo=UTC)
    return round(target.timestamp() - now)


def run(dates: list[str], pytest_args: list[str]) -> int:
    if shutil.which("faketime") is None:
        print("faketime is missing: apt-get install faketime", file=sys.stderr)
        return 2
    results = []
    for date in dates:
        print(f"== tests at {date} UTC", flush=True)
        offset = offset_to(date, time.time())
        command = ["faketime", "-m", "-f", f"{offset:+d}", sys.executable, "-m", "pytest", *pytest_args]
        results.append((date, subprocess.call(command)))
    print("\n".join(f"{date}: {'passed' if code == 0 else f'FAILED ({code})'}" for date, code in results))
    return max(code for _, code in results)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--date", action="append", help="ISO date and time, UTC (repeatable)")
    parser.add_argument("pytest_args", nargs="*", help="after --: arguments for pytest")
    args = parser.parse_args(argv)
    return run(args.date or list(DEFAULT_DATES), args.pytest_args or list(DEFAULT_PYTEST))


if __name__ == "__main__":
    sys.exit(main())
