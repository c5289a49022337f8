"""The backfill's and the baselines' CPU figures leave out the bench's own threads (a progress bar's
redraws), not the caller."""

import threading
import time

from bench.cpu import other_threads_cpu_s


def burn(seconds: float) -> None:
    until = time.thread_time() + seconds
    while time.thread_time() < until:
        pass


def test_a_side_thread_is_counted_and_the_callers_own_work_is_not():
    before = other_threads_cpu_s()
    burn(0.05)
    assert other_threads_cpu_s() - before < 0.02  # the caller's 50 ms are not the bench's
    burnt, read = threading.Event(), threading.Event()

    def side() -> None:  # burns 100 ms, then stays alive until it has been read
        burn(0.1)
        burnt.set()
        read.wait(10)

    thread = threading.Thread(target=side)
    start = other_threads_cpu_s()
    thread.start()
    assert burnt.wait(10)
    assert other_threads_cpu_s() - start >= 0.09
    read.set()
    thread.join()
