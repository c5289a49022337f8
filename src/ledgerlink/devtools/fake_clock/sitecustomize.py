"""Started in every Python process of a `make test-dates` run (fake_dates.py puts this folder on PYTHONPATH):
the wall clock is moved by LEDGERLINK_FAKE_CLOCK_OFFSET_S seconds and keeps ticking, so the test runner, its
workers and the sandboxes and consumers they start all share one faked clock. Monotonic clocks are left
alone, so sleeps, timeouts and timed waits behave."""

import os
import time

_offset = os.environ.get("LEDGERLINK_FAKE_CLOCK_OFFSET_S")
if _offset:
    import time_machine

    time_machine.travel(time.time() + float(_offset), tick=True).start()
    # time-machine starts a ticking clock at its first reading, not at `start()`: read it now, or a process
    # that first asks the time minutes later would run minutes behind the others.
    time.time()
