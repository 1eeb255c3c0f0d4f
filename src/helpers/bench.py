"""``workbook bench``: intake at city scale, timed against a peer on the same files in the same run.

The machine is shared and noisy, so nothing here is an absolute target: each measurement is
a ratio against ``pandas.read_excel(path, sheet_name=None, header=None, dtype=str,
engine="calamine")`` reading the same five county workbooks, repeated, median reported.
Generated data is cached under ``.cache/bench`` (outside git) and reused.
"""
from __future__ import annotations

import gc
import json
import os
import platform
import statistics
import time
import tracemalloc
from pathlib import Path

import pandas as pd

from helpers.config import ROOT, Paths

QUARTER = "2023Q2"


def ensure_data(households: int, cache: Path) -> Path:
    """Five county workbooks of one quarter with ``households`` in all (generated once)."""
    from helpers.simulate import simulate_truth, write_submissions

    raw = cache / f"h{households}" / "raw"
    stamp = raw / "done.json"
    if stamp.exists():
        return raw
    t0 = time.perf_counter()
    print(f"generating {households:,} households (once; cached in {raw}) ...", flush=True)
    truth = simulate_truth(households, seed=2023, first="2023Q1", last=QUARTER)
    write_submissions(truth, raw, quarters=[QUARTER], force_xlsx=True)
    stamp.write_text(json.dumps({"households": households, "seconds": time.perf_counter() - t0}), encoding="utf-8")
    print(f"  generated in {time.perf_counter() - t0:.0f} s", flush=True)
    return raw


def peer_read(folder: Path) -> int:
    """The peer: every workbook read by pandas with the calamine engine, all cells as text."""
    n = 0
    for path in sorted(folder.glob("*.xlsx")):
        sheets = pd.read_excel(path, sheet_name=None, header=None, dtype=str, engine="calamine")
        n += sum(len(s) for s in sheets.values())
    return n


def ours(raw: Path, work: Path) -> int:
    """The workbook: full intake of the quarter (read, parse, check, de-identify), no cache."""
    from helpers.intake import process_quarter
    from helpers.places import load_register
    from helpers.pseudonym import PseudonymKey
    from helpers.config import settings
    from helpers.intake import load_corrections

    paths = Paths.make(raw=raw, processed=work / "processed", private=work / "private",
                       corrections=work / "none.csv")
    res = process_quarter(QUARTER, paths, PseudonymKey(b"bench-key-0123456789", "bench"),
                          load_corrections(paths.corrections), load_register(paths.register), settings()["intake"])
    return len(res.tables["household_quarters"])


def _time(fn, *args) -> tuple[float, int]:
    gc.collect()
    t0 = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t0, out


def _peak_mb(fn, *args) -> float:
    tracemalloc.start()
    fn(*args)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def main(args) -> int:
    cache = Path(args.cache) if args.cache else ROOT / ".cache" / "bench"
    raw = ensure_data(args.households, cache)
    folder = raw / QUARTER
    work = cache / "work"
    rows = []
    for i in range(args.repeat):
        tp, n_peer = _time(peer_read, folder)
        to, n_ours = _time(ours, raw, work)
        rows.append((tp, to))
        print(f"  run {i + 1}: peer {tp:.2f} s, intake {to:.2f} s, ratio {to / tp:.2f}", flush=True)
    peer = statistics.median(r[0] for r in rows)
    mine = statistics.median(r[1] for r in rows)
    ratio = statistics.median(r[1] / r[0] for r in rows)
    print()
    print(f"Intake of one quarter at city scale ({args.households:,} households, five county workbooks, "
          f"{n_ours:,} clean household rows)")
    print(f"  machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"  peer  pandas.read_excel(engine='calamine', dtype=str): median {peer:.2f} s")
    print(f"  workbook intake (read + parse + check + de-identify): median {mine:.2f} s")
    print(f"  ratio intake / peer: {ratio:.2f}  (target <= 1.3: {'met' if ratio <= 1.3 else 'NOT met'})")
    if getattr(args, "memory", False):
        print(f"  peak Python memory: peer {_peak_mb(peer_read, folder):.0f} MB, intake {_peak_mb(ours, raw, work):.0f} MB")
    return 0
