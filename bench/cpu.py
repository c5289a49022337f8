"""CPU of the work a phase does on the calling thread: the process's CPU less that of every other live thread,
which are the bench's own (the progress watcher; the suite's progress bar, which redraws ten times a second
whether or not it draws on a terminal, about 5 ms of CPU a second). The product's worker and both SDK
baselines run on the caller's thread and start none of their own, so each is charged only its own work.

Take both readings of a phase while the same threads live: a thread that ends in between takes its CPU out
of the subtraction but leaves it in the process's total."""

from __future__ import annotations

import threading
import time


def other_threads_cpu_s() -> float:
    """CPU seconds so far of every live thread but the caller."""
    me, total = threading.get_ident(), 0.0
    for thread in threading.enumerate():
        if thread.ident is None or thread.ident == me:
            continue
        try:
            total += time.clock_gettime(time.pthread_getcpuclockid(thread.ident))
        except OSError:  # ended between the listing and the reading
            continue
    return total


def work_cpu_s() -> float:
    """A clock of the calling thread's work (and of any thread that has ended): subtract two readings."""
    return time.process_time() - other_threads_cpu_s()
