"""Peak resident memory of one phase. Linux keeps a high-water mark (VmHWM) that writing 5 to
/proc/self/clear_refs resets, so the peak of a phase excludes whatever the process did before it (building
the data set). What that work freed is first handed back to the system (a collection, then glibc's
malloc_trim), or the phase would start from the data set's high-water mark and its peak would count pages the
phase never used. Elsewhere the lifetime peak from getrusage is reported instead, and says so."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import resource
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

STATUS = Path("/proc/self/status")
CLEAR_REFS = Path("/proc/self/clear_refs")


@dataclass
class Peak:
    megabytes: float | None = None
    phase_only: bool = False  # False: the process's lifetime peak (the reset was not possible)


def _vm_hwm_kb() -> int | None:
    with contextlib.suppress(OSError):
        for line in STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return None


def _give_back_freed() -> None:
    gc.collect()
    libc = ctypes.util.find_library("c")
    if libc and sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(libc).malloc_trim(0)


def _reset() -> bool:
    _give_back_freed()
    try:
        CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def _lifetime_peak_kb() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak  # bytes on macOS, KiB on Linux


@contextlib.contextmanager
def peak_rss() -> Iterator[Peak]:
    """The peak RSS (MB) of the body, filled in on exit."""
    peak = Peak(phase_only=_reset())
    try:
        yield peak
    finally:
        kb = _vm_hwm_kb() if peak.phase_only else None
        peak.megabytes = round((kb if kb is not None else _lifetime_peak_kb()) / 1024, 1)
