"""One writer at a time: a lock on the processed folder for intake and for the quarterly run.

Two intakes (or a run and an intake) writing ``data/processed`` at once would leave tables from
different runs side by side. Both take ``processed/.workbook.lock`` (filelock: an OS lock that
a killed process releases). The quarterly run holds it for the whole run and tells its
notebook kernels so through an environment variable (the folder and the holder's process id),
so that notebook 01's intake inside the run does not wait for its own parent; a nested call in
the thread that holds it does not wait either, while another thread or process does. A second writer waits, saying so, and stops with a
message if the first one does not finish.
"""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from pathlib import Path

from helpers.domain.errors import Stop

LOCK_NAME = ".workbook.lock"
HELD = "WORKBOOK_PROCESSED_LOCK_HELD"        # set while a process (and its kernels) holds the lock
WAIT_SECONDS = 3600
_HELD_HERE: set[tuple[str, int]] = set()     # (folder, thread) pairs this process holds


@contextmanager
def processed_lock(folder: Path, say=None, wait: float = WAIT_SECONDS):
    """Hold the lock of ``folder`` (created if missing) for the ``with`` block."""
    from filelock import FileLock, Timeout


    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    here = str(folder.resolve())
    held_by = os.environ.get(HELD, "").rpartition("|")
    me = (here, threading.get_ident())
    if (held_by[0] == here and held_by[2] != str(os.getpid())) or me in _HELD_HERE:
        yield                                 # our parent run holds it, or this thread already does
        return
    lock = FileLock(str(folder / LOCK_NAME))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        (say or print)(f"{folder}: 另一个入库或运行正在写这个文件夹，等待它结束 … / another intake or run is writing "
                       "this folder: waiting for it to finish ...")
        try:
            lock.acquire(timeout=wait)
        except Timeout:
            raise Stop(f"{folder}: 另一个入库或运行 {wait / 60:.0f} 分钟后仍未结束。请等它结束后再运行。 / another intake "
                             f"or run has not finished after {wait / 60:.0f} minutes: run again when it has.") from None
    before = os.environ.get(HELD)
    os.environ[HELD] = f"{here}|{os.getpid()}"      # inherited by the run's kernels, which then do not wait for it
    _HELD_HERE.add(me)
    try:
        yield
    finally:
        _HELD_HERE.discard(me)
        if before is None:
            os.environ.pop(HELD, None)
        else:
            os.environ[HELD] = before
        lock.release()


def remove_leftovers(*folders: Path) -> int:
    """Delete temporary files a killed write left behind (``.<name>.*.tmp``, as storage writes them)."""
    n = 0
    for folder in folders:
        if Path(folder).exists():
            for tmp in Path(folder).rglob(".*.tmp"):
                tmp.unlink(missing_ok=True)
                n += 1
    return n
