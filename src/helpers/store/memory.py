"""Giving freed memory back to the system between the large steps of a process.

The effects page makes several large results one after the other in one kernel (the estimates, the sensitivity
analysis, the power simulation, the quantile effects), and the run makes intake's tables in its own process
before starting the kernels. Once a step's intermediate arrays are freed, glibc keeps most of that memory in its
heap (and Arrow keeps it in its pool) for later use instead of returning it, so a process's resident memory only
grows; the run holds two kernels and its own process at once, and what the machine must hold is their sum
(``docs/performance.md``). ``release`` returns the memory that is free at that moment (``malloc_trim``, Arrow's
``release_unused``). It frees no live object and changes no number; it costs a few hundredths of a second. Where
the C library has no ``malloc_trim`` (not glibc) it does nothing.
"""
from __future__ import annotations

import ctypes
import sys
from functools import lru_cache


@lru_cache(maxsize=1)
def _malloc_trim():
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


def release() -> None:
    """Give the free memory of the process's heap and of Arrow's pool back to the system."""
    pa = sys.modules.get("pyarrow")
    if pa is not None:
        pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
