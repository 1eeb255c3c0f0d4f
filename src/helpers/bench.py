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


def _time(fn, *args) -> tuple[float, object]:
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


def effects_panel(households: int, cache: Path) -> pd.DataFrame:
    """A balanced estimation panel of ``households`` by 12 quarters from the simulator (cached as parquet)."""
    from helpers.simcheck import draw

    path = cache / f"panel_h{households}.parquet"
    if path.exists():
        return pd.read_parquet(path)
    print(f"simulating an estimation panel of {households:,} households x 12 quarters (once) ...", flush=True)
    d = draw(2023, households, "2021Q1", "2023Q4")
    d["unit"] = pd.factorize(d["unit"])[0]
    d["treated"] = ((d["cohort"] > 0) & (d["time"] >= d["cohort"])).astype("int8")
    path.parent.mkdir(parents=True, exist_ok=True)
    d.to_parquet(path)
    return d


def bench_effects(args, cache: Path) -> None:
    """Callaway-Sant'Anna against moderndid.att_gt, TWFE against pyfixest, imputation time and memory."""
    import numpy as np

    from helpers.effects import callaway_santanna, imputation, twfe

    d = effects_panel(args.households, cache)
    n_units = d["unit"].nunique()
    print(f"\nEstimators on a panel of {n_units:,} households x {d['time'].nunique()} quarters ({len(d):,} rows)")
    try:
        import moderndid as md
        import polars as pl
        import pyfixest as pf
    except ImportError:
        print("  peers not installed: pip install -e '.[bench]'")
        return
    dl = pl.from_pandas(d[["unit", "time", "y", "cohort"]])
    cs_rows, tw_rows = [], []
    small = d[d["unit"] < 2000]            # warm-up: imports, formula parsing, JIT
    twfe(small, "y", "treated", "unit", "time")
    pf.feols("y ~ treated | unit + time", small, vcov={"CRV1": "unit"}).tidy()
    for i in range(args.repeat):
        t_ours, ours = _time(lambda: callaway_santanna(d, "y", "unit", "time", "cohort"))
        t_peer, peer = _time(lambda: md.att_gt(dl, yname="y", tname="time", idname="unit", gname="cohort",
                                               est_method="reg", boot=False, cband=False))
        diff = max(np.abs(np.asarray(peer.att_gt) - ours.att_gt["att"].to_numpy()).max(),
                   np.abs(np.asarray(peer.se_gt) - ours.att_gt["se"].to_numpy()).max())
        cs_rows.append((t_peer, t_ours, diff))
        print(f"  run {i + 1}: CS ours {t_ours:.2f} s, moderndid {t_peer:.2f} s (x{t_peer / t_ours:.1f}); "
              f"max |difference| {diff:.1e}", flush=True)
        t_tw, _ = _time(lambda: twfe(d, "y", "treated", "unit", "time"))
        t_pf, _ = _time(lambda: pf.feols("y ~ treated | unit + time", d, vcov={"CRV1": "unit"}).tidy())
        tw_rows.append((t_pf, t_tw))
        print(f"  run {i + 1}: TWFE ours {t_tw:.2f} s, pyfixest {t_pf:.2f} s (ratio {t_tw / t_pf:.2f})", flush=True)
    speed = statistics.median(p / o for p, o, _ in cs_rows)
    ratio = statistics.median(o / p for p, o in tw_rows)
    print(f"  Callaway-Sant'Anna: median {speed:.1f}x faster than moderndid.att_gt (target >= 5: "
          f"{'met' if speed >= 5 else 'NOT met'}); same numbers to {max(r[2] for r in cs_rows):.1e}")
    print(f"  TWFE: median ratio to pyfixest {ratio:.2f} (target <= 1.2: {'met' if ratio <= 1.2 else 'NOT met'})")
    tracemalloc.start()
    t0 = time.perf_counter()
    res = imputation(d, "y", "unit", "time", "cohort")
    res.aggregate("simple"), res.aggregate("dynamic")
    t_imp = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] / 2**30
    tracemalloc.stop()
    print(f"  imputation (estimate + simple and dynamic SEs): {t_imp:.2f} s, peak memory {peak:.2f} GB "
          f"(target <= 4 GB: {'met' if peak <= 4 else 'NOT met'})")


def bench_run(args, cache: Path) -> None:
    """The quarterly run at city scale: a cold build of 12 quarters, then the re-run of a new
    quarter (the first 11 from the caches), with each step's time and the peak memory."""
    import shutil

    from helpers.run import run
    from helpers.simulate import simulate

    base = cache / f"run_h{args.households}"
    raw = base / "raw"
    if not (base / "done.json").exists():
        print(f"simulating {args.households:,} households x 12 quarters of county workbooks (once) ...", flush=True)
        simulate(raw, None, args.households, seed=2023, first="2021Q1", last="2023Q4")
        (base / "done.json").write_text("{}", encoding="utf-8")
    work = base / "work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    (work / "corrections.csv").write_text("quarter,source_file,sheet,row,column,old,new,reason,who\n", encoding="utf-8")
    os.environ.setdefault("WORKBOOK_PSEUDONYM_KEY", "benchmark-key-0123456789")
    paths = Paths.make(raw=raw, processed=work / "processed", private=work / "private", reports=work / "reports",
                       corrections=work / "corrections.csv")
    quiet = lambda m: None  # noqa: E731
    cold = run("2023Q4", paths, progress=quiet)
    shutil.rmtree(paths.processed / "_cache" / "2023Q4")
    for old in (paths.processed / "_indicators").glob("2023Q4_*"):
        old.unlink()
    again = run("2023Q4", paths, progress=quiet)
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
    except ImportError:  # pragma: no cover - Windows
        peak = float("nan")
    print(f"\nThe quarterly run, {args.households:,} households x 12 quarters")
    print(f"  {'step':<24}{'cold build':>12}{'new quarter':>14}")
    for a, b in zip(cold["steps"], again["steps"]):
        print(f"  {a['step']:<24}{a['seconds']:>10.1f} s{b['seconds']:>12.1f} s")
    print(f"  {'total (wall)':<24}{cold['seconds']:>10.1f} s{again['seconds']:>12.1f} s")
    print(f"  cold build target <= 300 s: {'met' if cold['seconds'] <= 300 else 'NOT met'}; "
          f"re-run target <= 90 s: {'met' if again['seconds'] <= 90 else 'NOT met'}")
    print(f"  peak resident memory of one process: {peak:.2f} GB (target <= 4 GB: {'met' if peak <= 4 else 'NOT met'})")


def main(args) -> int:
    cache = Path(args.cache) if args.cache else ROOT / ".cache" / "bench"
    if args.only == "run":
        bench_run(args, cache)
        return 0
    if args.only in ("all", "effects"):
        bench_effects(args, cache)
    if args.only == "effects":
        return 0
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
