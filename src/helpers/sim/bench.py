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
CITY = 200_000           # the size the targets are set for (Bazhong's monitored households)


def ensure_data(households: int, cache: Path) -> Path:
    """Five county workbooks of one quarter with ``households`` in all (generated once)."""
    from helpers.sim.simulate import simulate_truth, write_submissions

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
    from helpers.intake.assemble import process_quarter
    from helpers.intake.places import load_register
    from helpers.intake.pseudonym import PseudonymKey
    from helpers.config import settings
    from helpers.intake.assemble import load_corrections

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


def effects_panel(households: int, cache: Path) -> pd.DataFrame:
    """A balanced estimation panel of ``households`` by 12 quarters from the simulator (cached as parquet)."""
    from helpers.sim.simcheck import draw

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


def _peers():
    """The estimator peers of the bench extra, or None when they are not installed."""
    try:
        import diff_diff
        import moderndid
        import polars
        import pyfixest
    except ImportError:
        return None
    return diff_diff, moderndid, polars, pyfixest


def bench_effects(args, cache: Path) -> None:
    """Callaway-Sant'Anna against moderndid.att_gt and diff-diff, imputation against diff-diff,
    TWFE against pyfixest (times and the same numbers, in the same run), imputation memory."""
    import numpy as np

    from helpers.analysis.effects import callaway_santanna, imputation, twfe

    d = effects_panel(args.households, cache)
    n_units = d["unit"].nunique()
    print(f"\nEstimators on a panel of {n_units:,} households x {d['time'].nunique()} quarters ({len(d):,} rows)")
    peers = _peers()
    if peers is None:
        print("  peers not installed: pip install -e '.[bench]'")
        return
    dd, md, pl, pf = peers
    dl = pl.from_pandas(d[["unit", "time", "y", "cohort"]])
    rows = {k: [] for k in ("cs_md", "cs_dd", "imp_dd", "twfe")}
    small = d[d["unit"] < 2000]            # warm-up: imports, formula parsing, JIT, compiled backends
    twfe(small, "y", "treated", "unit", "time")
    pf.feols("y ~ treated | unit + time", small, vcov={"CRV1": "unit"}).tidy()
    dd.CallawaySantAnna(estimation_method="reg", cband=False).fit(small, "y", "unit", "time", "cohort")
    dd.ImputationDiD().fit(small, "y", "unit", "time", "cohort")

    def ours_cs():
        res = callaway_santanna(d, "y", "unit", "time", "cohort")
        res.aggregate("simple")
        return res

    def ours_imp():
        res = imputation(d, "y", "unit", "time", "cohort")
        res.aggregate("simple")
        return res

    for i in range(args.repeat):
        t_ours, ours = _time(ours_cs)
        t_md, peer = _time(lambda: md.att_gt(dl, yname="y", tname="time", idname="unit", gname="cohort",
                                             est_method="reg", boot=False, cband=False))
        diff = max(np.abs(np.asarray(peer.att_gt) - ours.att_gt["att"].to_numpy()).max(),
                   np.abs(np.asarray(peer.se_gt) - ours.att_gt["se"].to_numpy()).max())
        rows["cs_md"].append((t_md, t_ours, diff))
        t_dd, peer = _time(lambda: dd.CallawaySantAnna(estimation_method="reg", cband=False).fit(
            d, "y", "unit", "time", "cohort"))
        o = ours.aggregate("simple").loc["overall"]
        diff_dd = max(abs(peer.overall_att - o["att"]), abs(peer.overall_se - o["se"]))
        rows["cs_dd"].append((t_dd, t_ours, diff_dd))
        print(f"  run {i + 1}: CS ours {t_ours:.2f} s, moderndid {t_md:.2f} s (x{t_md / t_ours:.1f}), diff-diff "
              f"{t_dd:.2f} s (x{t_dd / t_ours:.1f}); max |difference| {diff:.1e} (moderndid), {diff_dd:.1e} (diff-diff)",
              flush=True)
        t_imp, ours = _time(ours_imp)
        t_dd, peer = _time(lambda: dd.ImputationDiD().fit(d, "y", "unit", "time", "cohort"))
        o = ours.aggregate("simple").loc["overall"]
        diff_imp = max(abs(peer.overall_att - o["att"]), abs(peer.overall_se - o["se"]))
        rows["imp_dd"].append((t_dd, t_imp, diff_imp))
        print(f"  run {i + 1}: imputation ours {t_imp:.2f} s, diff-diff {t_dd:.2f} s (x{t_dd / t_imp:.1f}); "
              f"max |difference| {diff_imp:.1e}", flush=True)
        t_tw, _ = _time(lambda: twfe(d, "y", "treated", "unit", "time"))
        t_pf, _ = _time(lambda: pf.feols("y ~ treated | unit + time", d, vcov={"CRV1": "unit"}).tidy())
        rows["twfe"].append((t_pf, t_tw))
        print(f"  run {i + 1}: TWFE ours {t_tw:.2f} s, pyfixest {t_pf:.2f} s (ratio {t_tw / t_pf:.2f})", flush=True)
    speed = {k: statistics.median(r[0] / r[1] for r in rows[k]) for k in ("cs_md", "cs_dd", "imp_dd")}
    same = {k: max(r[2] for r in rows[k]) for k in ("cs_md", "cs_dd", "imp_dd")}
    ratio = statistics.median(o / p for p, o in rows["twfe"])
    print(f"  Callaway-Sant'Anna: median {speed['cs_md']:.1f}x faster than moderndid.att_gt (target >= 5: "
          f"{_verdict(speed['cs_md'] >= 5)}); same numbers to {same['cs_md']:.1e}")
    print(f"  Callaway-Sant'Anna: median {speed['cs_dd']:.1f}x as fast as diff-diff (target >= 1: "
          f"{_verdict(speed['cs_dd'] >= 1)}); same overall estimate and SE to {same['cs_dd']:.1e}")
    print(f"  imputation: median {speed['imp_dd']:.1f}x as fast as diff-diff (target >= 2: "
          f"{_verdict(speed['imp_dd'] >= 2)}); same overall estimate and SE to {same['imp_dd']:.1e}")
    print(f"  TWFE: median ratio to pyfixest {ratio:.2f} (target <= 1.2: {_verdict(ratio <= 1.2)})")
    if max(same.values()) > 1e-8:
        print("  NOTE: the numbers differ from a peer by more than 1e-8: look before trusting the times")
    tracemalloc.start()
    t0 = time.perf_counter()
    res = imputation(d, "y", "unit", "time", "cohort")
    res.aggregate("simple"), res.aggregate("dynamic")
    t_imp = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] / 2**30
    tracemalloc.stop()
    print(f"  imputation (estimate + simple and dynamic SEs): {t_imp:.2f} s, peak memory {peak:.2f} GB "
          f"(target <= 4 GB: {_verdict(peak <= 4)})")


class MemorySampler:
    """Resident memory of this process and all its descendants (kernels), sampled in a thread.

    The sum over processes is what the machine must hold: two effects notebooks side by side
    count twice. ``peak(t0, t1)`` is the highest sum seen between two ``time.time()`` stamps."""

    def __init__(self, every: float = 0.1):
        import threading

        self.every, self.samples, self.single, self.workers = every, [], [], []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        import psutil

        me = psutil.Process()
        mine = me.cmdline()
        while not self._stop.is_set():
            total, largest, worker = 0, 0, 0
            for p in [me, *me.children(recursive=True)]:
                try:
                    rss = p.memory_info().rss
                    # read at every sample: a child just forked still has this process's command line (and its
                    # memory) until it execs; it counts in the total but is neither a kernel nor a worker yet
                    line = p.cmdline() if p.pid != me.pid else mine
                    kernel = any("ipykernel" in a for a in line)
                    forked = p.pid != me.pid and line == mine
                except psutil.Error:       # a kernel that just ended
                    continue
                total += rss
                if p.pid != me.pid:
                    largest = max(largest, rss)
                    if not kernel and not forked:
                        worker = max(worker, rss)
            now = time.time()
            self.samples.append((now, total))
            self.single.append((now, largest))
            self.workers.append((now, worker))
            self._stop.wait(self.every)

    def __enter__(self) -> "MemorySampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def peak(self, t0: float = 0.0, t1: float = float("inf")) -> float:
        """Highest total resident memory in GB between t0 and t1."""
        return max((m for t, m in self.samples if t0 <= t <= t1), default=0) / 2**30

    def peak_single(self, t0: float = 0.0, t1: float = float("inf")) -> float:
        """Highest resident memory of any one child process (a kernel or a Dask worker) in GB between t0 and t1."""
        return max((m for t, m in self.single if t0 <= t <= t1), default=0) / 2**30

    def peak_worker(self, t0: float = 0.0, t1: float = float("inf")) -> float:
        """Highest resident memory of any one child process that is not a notebook kernel (on the Dask engine: a
        worker, to hold against its memory limit) in GB between t0 and t1."""
        return max((m for t, m in self.workers if t0 <= t <= t1), default=0) / 2**30


def ensure_run_data(households: int, cache: Path) -> Path:
    """12 quarters (2021Q1-2023Q4) of county workbooks for ``households`` (generated once)."""
    from helpers.sim.simulate import simulate

    base = cache / f"run_h{households}"
    if not (base / "done.json").exists():
        print(f"simulating {households:,} households x 12 quarters of county workbooks (once) ...", flush=True)
        t0 = time.perf_counter()
        simulate(base / "raw", None, households, seed=2023, first="2021Q1", last="2023Q4")
        (base / "done.json").write_text(json.dumps({"seconds": round(time.perf_counter() - t0)}), encoding="utf-8")
    return base / "raw"


def measure_run(households: int, cache: Path, engine=None) -> dict:
    """The quarterly run at ``households``: a cold build of 12 quarters, then the re-run of a
    new quarter (the first 11 from the caches), each step's time and peak memory; on ``engine`` (an
    ``EngineSpec``; default local), its processes' memory counted with the run's."""
    import shutil

    from helpers.pipeline.run import run

    raw = ensure_run_data(households, cache)
    work = raw.parent / ("work" if engine is None or engine.name == "local" else f"work_{engine.name}")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    (work / "corrections.csv").write_text("quarter,source_file,sheet,row,column,old,new,reason,who\n", encoding="utf-8")
    os.environ.setdefault("WORKBOOK_PSEUDONYM_KEY", "benchmark-key-0123456789-0123456789abcdef")
    paths = Paths.make(raw=raw, processed=work / "processed", private=work / "private", reports=work / "reports",
                       corrections=work / "corrections.csv")
    quiet = lambda m: None  # noqa: E731
    out = {"households": households}
    with MemorySampler() as mem:
        for name in ("cold", "new"):
            if name == "new":       # the last quarter arrives: its caches go, the first 11 stay
                shutil.rmtree(paths.processed / "_cache" / "2023Q4")
                for old in (paths.processed / "_indicators").glob("2023Q4_*"):
                    old.unlink()
            t0 = time.time()
            t_start = time.perf_counter()
            manifest = run("2023Q4", paths, progress=quiet, engine=engine)
            out[name] = {"seconds": manifest["seconds"], "peak_gb": mem.peak(t0, time.time()),
                         "wall": time.perf_counter() - t_start, "peak_single_gb": mem.peak_single(t0, time.time()),
                         "peak_worker_gb": mem.peak_worker(t0, time.time()),
                         "intake": min(x["started"] for x in manifest["steps"]) - t0,
                         "steps": [{"step": s["step"], "seconds": s["seconds"],
                                    "peak_gb": mem.peak(s["started"], s["ended"])} for s in manifest["steps"]]}
    out["share_mb"] = max(f.stat().st_size for f in (paths.reports / "2023Q4" / "share").glob("*.html")) / 2**20
    return out


def machine() -> str:
    """The machine a measurement ran on, for the printed tables."""
    import psutil

    return (f"{platform.machine()}, {os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GB, "
            f"Python {platform.python_version()}")


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def _print_steps(r: dict) -> None:
    """One run's table: each step's time and peak memory, cold build and new quarter."""
    cold, new = r["cold"], r["new"]
    print(f"\nThe quarterly run, {r['households']:,} households x 12 quarters ({machine()})")
    print(f"  {'step':<24}{'cold build':>12}{'peak':>9}{'new quarter':>14}{'peak':>9}")
    for a, b in zip(cold["steps"], new["steps"]):
        print(f"  {a['step']:<24}{a['seconds']:>10.1f} s{a['peak_gb']:>6.2f} GB"
              f"{b['seconds']:>12.1f} s{b['peak_gb']:>6.2f} GB")
    print(f"  {'total (wall)':<24}{cold['seconds']:>10.1f} s{cold['peak_gb']:>6.2f} GB"
          f"{new['seconds']:>12.1f} s{new['peak_gb']:>6.2f} GB")
    print("  (peak: resident memory of the run and its kernels together, the effects notebooks side by side)")
    print(f"  largest shareable HTML export: {r['share_mb']:.2f} MB")
    if r["households"] == CITY:
        print(f"  city-scale targets: cold build <= 300 s: {_verdict(cold['seconds'] <= 300)}; "
              f"new quarter <= 90 s: {_verdict(new['seconds'] <= 90)}; "
              f"peak memory <= 4 GB: {_verdict(max(cold['peak_gb'], new['peak_gb']) <= 4)}")


def bench_run(args, cache: Path) -> None:
    """The quarterly run at city scale, cold and with a new quarter, step by step."""
    _print_steps(measure_run(args.households, cache))


def bench_engines(args, cache: Path) -> None:
    """The same quarterly run on the local engine and on Dask (a LocalCluster of --workers processes) at each of
    --sizes, in one process: times, peaks, and the ratio dask / local (wall time, intake included)."""
    from helpers.engine import EngineSpec

    sizes = [int(s) for s in args.sizes.split(",")]
    dask = EngineSpec.make("dask", workers=args.workers or 2, config={})
    print(f"\nLocal and Dask engines ({machine()}; Dask: LocalCluster of {dask.workers} worker processes)")
    print(f"  {'households':>10}  {'engine':<6}{'cold build':>12}{'new quarter':>13}{'peak (all)':>12}"
          f"{'largest process':>17}{'largest worker':>16}{'dask/local: cold':>18}{'new':>7}")
    for h in sizes:
        r = {name: measure_run(h, cache, spec) for name, spec in (("local", None), ("dask", dask))}
        for name in ("local", "dask"):
            m = r[name]
            ratio = (f"{m['cold']['wall'] / r['local']['cold']['wall']:>18.2f}"
                     f"{m['new']['wall'] / r['local']['new']['wall']:>7.2f}") if name == "dask" else ""
            print(f"  {h:>10,}  {name:<6}{m['cold']['wall']:>10.1f} s{m['new']['wall']:>11.1f} s"
                  f"{max(m['cold']['peak_gb'], m['new']['peak_gb']):>9.2f} GB"
                  f"{max(m['cold']['peak_single_gb'], m['new']['peak_single_gb']):>14.2f} GB"
                  f"{max(m['cold']['peak_worker_gb'], m['new']['peak_worker_gb']):>13.2f} GB{ratio}", flush=True)
        for name in ("local", "dask"):
            for kind in ("cold", "new"):
                steps = "; ".join(f"{s['step']} {s['seconds']:.0f} s" for s in r[name][kind]["steps"])
                print(f"      {name} {kind}: intake {r[name][kind]['intake']:.0f} s; {steps}", flush=True)
    print("  (wall: the run from start to manifest, the cluster's start and stop included; peak (all): the run, its "
          "kernels and the Dask workers together; largest worker: the largest process that is not a notebook "
          "kernel, on Dask a worker, to hold against --memory-limit)")


PART_HOUSEHOLDS = 250_000      # households per partition file of the estimators' panels at province scale


def _panel_part(i: int, households: int, folder: str) -> str:
    """Partition ``i`` of a province-scale estimation panel: its own draw (seed 2023 + i) of ``households``
    households x 12 quarters, unit ids made unique across partitions, written as parquet; returns its path."""
    from helpers.sim.simcheck import draw

    path = Path(folder) / f"part-{i:04d}.parquet"
    if not path.exists():
        d = draw(2023 + i, households, "2021Q1", "2023Q4")
        d["unit"] = pd.factorize(d["unit"])[0].astype("int64") + i * 10 * PART_HOUSEHOLDS
        d["village"] = d["village"].astype(str)
        d["treated"] = ((d["cohort"] > 0) & (d["time"] >= d["cohort"])).astype("int8")
        tmp = path.with_suffix(".tmp")
        d.drop(columns=["tau"]).to_parquet(tmp)
        tmp.rename(path)
    return str(path)


def bench_engines_effects(args, cache: Path) -> None:
    """The three estimators (clustered by village, not-yet-treated comparison) on a panel read from parquet, at
    each of --sizes: on the Dask engine (a LocalCluster of --workers processes, the partitions read by the workers)
    and, up to --local-max households, on the local engine from the same files in this process, with the largest
    difference between the two."""
    import math

    import numpy as np

    from helpers.analysis.effects import callaway_santanna, imputation, twfe
    from helpers.analysis.effects.distributed import callaway_santanna_dask, imputation_dask, twfe_dask
    from helpers.engine import EngineSpec, open_engine

    sizes = [int(s) for s in args.sizes.split(",")]
    spec = EngineSpec.make("dask", workers=args.workers or 2, config={})
    print(f"\nEstimators from parquet, local and Dask ({machine()}; Dask: LocalCluster of {spec.workers} worker "
          f"processes; clustered by village, not-yet-treated comparison; Callaway-Sant'Anna simple and dynamic, "
          f"imputation simple and dynamic, TWFE)")
    with open_engine(spec, dashboard=False) as eng:
        for h in sizes:
            n_parts = max(1, math.ceil(h / PART_HOUSEHOLDS))
            folder = cache / f"panel_parts_h{h}"
            folder.mkdir(parents=True, exist_ok=True)
            t0 = time.perf_counter()
            files = eng.map(_panel_part, range(n_parts), label=f"drawing {h:,} households", households=h // n_parts,
                            folder=str(folder))
            made = time.perf_counter() - t0
            rows = sum(pq_rows(f) for f in files)
            print(f"  {h:,} households x 12 quarters: {rows:,} rows in {n_parts} files ({made:.0f} s to draw or find)",
                  flush=True)
            results = {}
            for name in ("dask", "local"):
                if name == "local" and h > args.local_max:
                    print(f"    local: not run above --local-max {args.local_max:,} households")
                    continue
                with MemorySampler() as mem:
                    t0 = time.time()
                    if name == "dask":
                        import dask.dataframe as dd
                        parts = dd.read_parquet(files)
                        cs = callaway_santanna_dask(eng, parts, "y", "unit", "time", "cohort", control="not_yet",
                                                    cluster="village")
                        imp = imputation_dask(eng, parts, "y", "unit", "time", "cohort", cluster="village")
                        tw = twfe_dask(eng, parts, "y", "treated", "unit", "time", cluster="village")
                    else:
                        d = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
                        cs = callaway_santanna(d, "y", "unit", "time", "cohort", control="not_yet", cluster="village")
                        imp = imputation(d, "y", "unit", "time", "cohort", cluster="village")
                        tw = twfe(d, "y", "treated", "unit", "time", cluster="village")
                    out = pd.concat([cs.aggregate("simple"), cs.aggregate("dynamic"), imp.aggregate("simple"),
                                     imp.aggregate("dynamic"), tw.aggregate("simple")])
                    seconds = time.time() - t0
                    results[name] = out
                    print(f"    {name:<6} {seconds:>8.1f} s   peak {mem.peak(t0, time.time()):>6.2f} GB in all, largest "
                          f"child process {mem.peak_single(t0, time.time()):>5.2f} GB   CS simple "
                          f"{out['att'].iloc[0]:.3f} (se {out['se'].iloc[0]:.3f})", flush=True)
                    del cs, imp, tw
            if len(results) == 2:
                a, b = results["local"][["att", "se"]].to_numpy(), results["dask"][["att", "se"]].to_numpy()
                rel = np.nanmax(np.abs(a - b) / np.maximum(np.abs(a), 1.0))
                print(f"    largest difference local vs dask (att and se, relative): {rel:.1e}", flush=True)


def pq_rows(path: str) -> int:
    import pyarrow.parquet as pq
    return pq.ParquetFile(path).metadata.num_rows


def bench_scaling(args, cache: Path) -> None:
    """The quarterly run at several sizes: time and peak memory per household should not grow."""
    sizes = [int(s) for s in args.sizes.split(",")]
    rows, runs = [], []
    print(f"\nScaling of the quarterly run ({machine()}); growth = (change in the measure) / (change in households)")
    print(f"  {'households':>10}{'cold build':>12}{'new quarter':>13}{'peak memory':>13}{'largest export':>16}"
          f"{'growth: cold':>14}{'new':>7}{'memory':>8}")
    for h in sizes:
        r = measure_run(h, cache)
        runs.append(r)
        peak = max(r["cold"]["peak_gb"], r["new"]["peak_gb"])
        row = (h, r["cold"]["seconds"], r["new"]["seconds"], peak)
        growth = ""
        if rows:
            p = rows[-1]
            f = h / p[0]
            growth = "".join(f"{(row[i] / p[i]) / f:>{w}.2f}" for i, w in ((1, 14), (2, 7), (3, 8)))
        rows.append(row)
        print(f"  {h:>10,}{row[1]:>10.1f} s{row[2]:>11.1f} s{peak:>10.2f} GB{r['share_mb']:>13.2f} MB{growth}",
              flush=True)
    if sizes[-1] >= 1_000_000:
        print(f"  at {sizes[-1]:,} households: peak {rows[-1][3]:.2f} GB (target <= 16 GB: {_verdict(rows[-1][3] <= 16)})")
    print("  growth at or below 1.00 means no faster than linear.")
    for r in runs:
        _print_steps(r)


def bench_intake(args, cache: Path) -> None:
    """Intake of one quarter (five county workbooks) against pandas.read_excel with calamine."""
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
    print(f"Intake of one quarter ({args.households:,} households, five county workbooks, "
          f"{n_ours:,} clean household rows)")
    print(f"  machine: {machine()}")
    print(f"  peer  pandas.read_excel(engine='calamine', dtype=str): median {peer:.2f} s")
    print(f"  workbook intake (read + parse + check + de-identify): median {mine:.2f} s")
    print(f"  ratio intake / peer: {ratio:.2f}  (target <= 1.3: {_verdict(ratio <= 1.3)})")


def bench_inference(args, cache: Path) -> None:
    """The full simulation check of the few-cluster procedures (docs/methods.md): 1,000 draws under a true
    null at 5, 8 and 10 clusters, both robust estimators, both aggregates, jackknife and wild bootstrap."""
    from helpers.sim import simcheck

    pd.set_option("display.width", 160)
    for clusters in (5, 8, 10):
        t0 = time.perf_counter()
        res = simcheck.few_cluster_run(1000, clusters, methods=("jackknife", "wild"), kinds=("simple", "dynamic"))
        table = simcheck.few_cluster_size(res)
        print(f"\nFew-cluster check, {clusters} clusters, 1,000 draws under a true null "
              f"({time.perf_counter() - t0:.0f} s): share rejecting at 5% (target 2-8%)")
        print(table.to_string(float_format=lambda x: f"{x:.3f}"))
        ok = table.loc[(slice(None), "simple", "jackknife"), "rejection"].between(0.02, 0.08).all()
        print(f"  default (jackknife), headline aggregates: {_verdict(ok)}")


PARTS = {"intake": bench_intake, "effects": bench_effects, "run": bench_run, "scaling": bench_scaling,
         "inference": bench_inference, "engines": bench_engines, "engines-effects": bench_engines_effects}


def main(args) -> int:
    """One part, or with ``--only all`` every part (intake, effects, inference, scaling), each in a process
    of its own: what one part leaves in memory must not count in the next part's peak."""
    cache = Path(args.cache) if args.cache else ROOT / ".cache" / "bench"
    if args.only != "all":
        PARTS[args.only](args, cache)
        return 0
    import subprocess
    import sys

    for part in ("intake", "effects", "inference", "scaling"):
        cmd = [sys.executable, "-c", "import sys; from helpers.pipeline.cli import main; sys.exit(main(sys.argv[1:]))",
               "bench", "--only", part, "--households", str(args.households), "--repeat", str(args.repeat),
               "--sizes", args.sizes, "--cache", str(cache)]
        if subprocess.run(cmd).returncode:
            return 1
    return 0
