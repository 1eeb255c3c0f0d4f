"""The ``workbook`` command: run, intake, simulate, power, bench.

Exit codes: 0 on success; 2 when intake stops on a problem in the data (the message names
the file, sheet, column and what to fix; no traceback), or when a command's input cannot be used
(one message, no traceback); 3 when a step of the run fails or a parameter is wrong (the message
names the notebook and the cell); 1 on any other error.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from helpers.config import DATA_RAW, SEED, TRUTH, Paths


def _engine_spec(args):
    """The engine the command line asks for, over config/workbook.yaml (helpers.engine.EngineSpec.make)."""
    from helpers.engine import EngineSpec

    return EngineSpec.make(args.engine, args.scheduler, args.workers, args.memory_limit)


def _intake(args) -> int:
    from helpers.engine import open_engine, use
    from helpers.intake.assemble import run_intake

    paths = Paths.make(raw=args.raw, processed=args.processed, private=args.private,
                       corrections=args.corrections)
    with open_engine(_engine_spec(args), say=lambda m: print(m, flush=True), private=paths.private) as engine, \
            use(engine):
        summary = run_intake(args.quarter, paths, progress=lambda m: print(f"  {m}", flush=True))
    log = summary.log
    print(f"\n入库完成 / intake done: {summary.quarters[0]}..{summary.quarter} "
          f"({len(summary.processed)} read, {len(summary.cached)} cached) in {summary.seconds:.1f} s; "
          f"key fingerprint {summary.key_fingerprint}")
    last = log[log["quarter"] == summary.quarter]
    table = last.groupby(["county", "sheet"], sort=False)[["rows_in", "rows_clean", "rows_quarantined"]].sum()
    print(f"\n{summary.quarter}:\n{table.to_string()}")
    print(f"\nAll quarters: {int(log['rows_in'].sum())} rows in = {int(log['rows_clean'].sum())} clean + "
          f"{int(log['rows_quarantined'].sum())} quarantined")
    warn = [w for w in summary.warnings if summary.quarter in w] or summary.warnings
    if warn:
        print(f"\n{len(summary.warnings)} warnings ({len(warn)} shown):")
        for w in warn[:30]:
            print(f"  - {w}")
    from helpers.pipeline.feedback import write_feedback

    checklists = write_feedback(summary.quarter, paths)          # the counties' checklists, as notebook 01 writes them
    print(f"\nTables: {paths.processed}\nPrivate lists (quarantined rows with 户编码): {paths.private}/<quarter>/"
          f"\nCounty checklists ({len(checklists)}): {paths.private}/{summary.quarter}/反馈/")
    return 0


def _share(text: str) -> float:
    """A share between 0 and 1 (argparse turns the error into one line and exit code 2)."""
    try:
        v = float(text)
    except ValueError:
        v = float("nan")
    if not 0.0 <= v <= 1.0:
        raise argparse.ArgumentTypeError(f"must be a share between 0 and 1, not {text!r}")
    return v


def _truth_dir(args, out: Path) -> Path:
    """Where the truth goes: ``--truth``, else ``_truth/`` inside ``--out`` (beside the submissions it describes).
    The repository's truth/ (the committed ground truth of the bundled sample) only with ``--force-truth``."""
    from helpers.domain.errors import Stop

    truth = Path(args.truth) if args.truth else out / "_truth"
    if truth.resolve() == Path(TRUTH).resolve() and not args.force_truth:
        raise Stop(f"{truth} is the committed ground truth of the bundled sample and is not replaced unless asked: "
                   f"pass --truth truth --force-truth to replace it, or --truth DIR to write this simulation's truth "
                   f"elsewhere (default: {out / '_truth'}).")
    return truth


def _simulate(args) -> int:
    from helpers.domain.errors import Stop
    from helpers.engine import open_engine
    from helpers.sim.simulate import next_quarter, simulate

    if args.out is None and not args.next_quarter:
        raise Stop("workbook simulate needs --out DIR (the folder for the quarter folders), or --next-quarter.")
    out = Path(args.out) if args.out is not None else DATA_RAW
    if args.next_quarter:
        drawn = {"--households": (args.households, 2500), "--seed": (args.seed, SEED), "--first": (args.first, "2021Q1"),
                 "--last": (args.last, "2023Q2"), "--clean": (args.clean, False),
                 "--near-line-share": (args.near_line_share, 0.0), "--force": (args.force, False)}
        given = [k for k, (v, default) in drawn.items() if v != default]
        if given:
            raise Stop(f"--next-quarter draws with the options recorded in {out / 'SIMULATED.json'}: drop "
                       f"{', '.join(given)}.")
    truth_dir = _truth_dir(args, out)
    if args.next_quarter:
        with open_engine(_engine_spec(args), say=lambda m: print(m, flush=True)) as engine:
            new, truth = next_quarter(out, truth_dir, progress=lambda m: print(f"  {m}", flush=True), engine=engine)
        print(f"wrote {out / new} (the other quarter folders are unchanged) and the truth of "
              f"{truth.quarters[0]}..{new} to {truth_dir}; evaluate it with: workbook run"
              + ("" if out.resolve() == DATA_RAW.resolve() else f" --raw {out}"))
        return 0
    if out.resolve() == DATA_RAW.resolve() and out.exists() and any(out.iterdir()) and not args.force:
        raise Stop(f"{out} already holds submissions; data/raw is written only deliberately: add --force to replace "
                   f"them (or --next-quarter to add the next quarter).")
    with open_engine(_engine_spec(args), say=lambda m: print(m, flush=True)) as engine:
        truth = simulate(out, truth_dir, args.households, args.seed, args.first, args.last, mess=not args.clean,
                         near_line_share=args.near_line_share, engine=engine)
    print(f"wrote {len(truth.quarters)} quarters of submissions for {args.households} households to {out}; "
          f"truth in {truth_dir}")
    return 0


def _run(args) -> int:
    from helpers.pipeline.run import run

    paths = Paths.make(raw=args.raw, processed=args.processed, private=args.private, reports=args.reports,
                       corrections=args.corrections)
    m = run(args.quarter, paths, args.params, args.lang, args.counties or "",
            progress=lambda msg: print(msg, flush=True), workers=args.notebooks, pdf=args.pdf,
            engine=_engine_spec(args))
    q = m["quarter"]
    print(f"\n完成 / done: {q} in {m['seconds']:.0f} s")
    print(f"  shareable reports (no code, open offline): {paths.reports / q / 'share'}")
    docs = m.get("documents", {})
    what = f"office files (Excel, Word{', PDF' if docs.get('pdf') else ''}):"
    print(f"  {what:<43}" + ", ".join(docs[k] for k in ("xlsx", "docx", "pdf") if docs.get(k)))
    print(f"  analyst reports (with code):               {paths.reports / q / 'analyst'}")
    print(f"  index of every quarter:                    {paths.reports / 'index.html'}")
    print(f"  household lists to act on (never shared):  {paths.private / q}")
    return 0


def _mde_text(f) -> str:
    """The MDE of one design's rows as printed: the number, or where it lies when the grid does not bracket it."""
    r = f.iloc[0]
    if r["mde"] == r["mde"]:
        return f"{r['mde']:.4g}"
    if r["mde_note"] == "not_reached":
        return f"> {f['effect'].max():.4g} (80% not reached on the grid)"
    if r["mde_note"] == "below_grid":
        return f"< {f.loc[f['effect'] > 0, 'effect'].min():.4g} (below the grid)"
    return "—"


def _power(args) -> int:
    from helpers.analysis.construct import PROGRAMS
    from helpers.analysis.effects import EstimationError
    from helpers.analysis.power import check_reps, parse_effects
    from helpers.domain.errors import Stop
    from helpers.pipeline import artifacts

    paths = Paths.make(raw=args.raw, processed=args.processed, private=args.private, reports=args.reports,
                       corrections=args.corrections)
    programs = PROGRAMS if args.program == "all" else (args.program,)
    try:
        parse_effects(args.effects)           # bad input stops before anything is computed
        check_reps(args.reps)
        for program in programs:
            params = dict(program=program, outcome=args.outcome, control=args.control, covariates=args.covariates,
                          cluster=args.cluster, effects=args.effects, reps=args.reps)
            frame = artifacts.get("power", quarter=args.quarter, paths=paths, **params)
            print(f"{program}: {artifacts.path('power', args.quarter, paths, **params)}")
            for design, f in frame.groupby("design", sort=False):
                r = f.iloc[0]
                print(f"  最小可检测效应 / MDE ({design}, {r['first_quarter']}..{r['last_quarter']}): {_mde_text(f)}  "
                      f"[80% power at 5%, {int(r['reps'])} replications; analytic {r['mde_analytic']:.4g}; "
                      f"{r['inference']}; {r['seconds']:.1f} s]")
    except (EstimationError, artifacts.ArtifactError, FileNotFoundError) as exc:
        raise Stop(str(exc)) from None
    return 0


def _bench(args) -> int:
    from helpers.sim.bench import main as bench_main

    return bench_main(args)


def _add_engine(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("engine (README: a province on Dask)")
    g.add_argument("--engine", choices=["local", "dask"], default=None,
                   help="local: this process (default, a city); dask: a Dask cluster (config/workbook.yaml engine:)")
    g.add_argument("--scheduler", default=None,
                   help="address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786 (default: start a local "
                        "cluster of worker processes and close it at the end)")
    g.add_argument("--workers", type=int, default=None,
                   help="the local Dask cluster's worker processes (default: config, 0 = one per core)")
    g.add_argument("--memory-limit", default=None, dest="memory_limit",
                   help="memory per Dask worker, e.g. 8GB (default: config, auto = 80%% of memory shared evenly)")


def _add_folders(p: argparse.ArgumentParser) -> None:
    p.add_argument("--raw", help="folder of quarter folders (default: data/raw)")
    p.add_argument("--processed", help="processed tables (default: data/processed)")
    p.add_argument("--private", help="folder for household-level lists (default: private)")
    p.add_argument("--corrections", help="corrections file (default: data/corrections.csv)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="workbook",
        description="乡村振兴评估工作簿 / Rural-revitalization evaluation workbook (Bazhong quarterly inspections).")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("intake", help="clean county submissions into data/processed (all quarters up to QUARTER)",
                       description="Read every county submission up to QUARTER (default: the latest in data/raw), "
                                   "quarantine rows with problems, de-identify, and write data/processed. "
                                   "Unchanged quarters come from the cache.")
    p.add_argument("--quarter", help="quarter to bring the tables up to, e.g. 2023Q2 (default: latest)")
    _add_folders(p)
    _add_engine(p)
    p.set_defaults(func=_intake)

    p = sub.add_parser("run", help="the quarterly run: every notebook, then HTML reports to share",
                       description="Run the notebooks in order with papermill (intake, indicators, effects for each "
                                   "program, report), export each as HTML with code (analyst/) and without (share/), "
                                   "write the results as Excel and the report as Word (and with --pdf as PDF) into "
                                   "share/, and reports/<quarter>/manifest.json. Parameters are checked first.")
    p.add_argument("--quarter", help="quarter to evaluate, e.g. 2023Q2 (default: latest in data/raw)")
    _add_folders(p)
    p.add_argument("--reports", help="reports folder (default: reports)")
    p.add_argument("--counties", help="comma-separated county-level units for the indicators (default: all five)")
    p.add_argument("--params", help="YAML file of notebook parameters (top-level: every notebook that declares "
                                     "them; or per notebook: '03_effects: {cluster: county}')")
    p.add_argument("--lang", choices=["zh", "en"], default="zh", help="report language (default zh)")
    p.add_argument("--notebooks", type=int, default=2,
                   help="notebooks run side by side where they do not depend on each other (default 2; 1: in order)")
    _add_engine(p)
    p.add_argument("--pdf", action="store_true",
                   help="also print the summary report to PDF (A4) with headless Chromium; skipped with a note when "
                        "no browser is installed")
    p.set_defaults(func=_run)

    p = sub.add_parser("simulate", help="write simulated county submissions with known truth",
                       description="Draw a seeded ground-truth household panel and write county submissions "
                                   "(xlsx and GBK/UTF-8 CSV, with realistic mess) to OUT, and the truth to --truth. "
                                   "With --next-quarter, add the next quarter to the simulated sample in OUT (same "
                                   "households, seed and options, read from OUT/SIMULATED.json), leaving its quarter "
                                   "folders as they are.")
    p.add_argument("--out", default=None,
                   help="folder for the quarter folders of submissions (required, except with --next-quarter: "
                        "default data/raw)")
    p.add_argument("--next-quarter", action="store_true", dest="next_quarter",
                   help="append the quarter after the last one of the simulated sample in --out (the options come "
                        "from its SIMULATED.json; the existing quarter folders are checked and never rewritten)")
    p.add_argument("--truth", default=None,
                   help="folder for the true effects and damaged-row log (default: _truth/ inside --out); the "
                        "committed truth/ only with --force-truth")
    p.add_argument("--force-truth", action="store_true", dest="force_truth",
                   help="allow --truth truth to replace the committed ground truth of the bundled sample")
    p.add_argument("--households", type=int, default=2500, help="number of households (default 2500)")
    p.add_argument("--seed", type=int, default=SEED, help=f"random seed (default {SEED}, config/workbook.yaml)")
    p.add_argument("--first", default="2021Q1", help="first quarter (default 2021Q1)")
    p.add_argument("--last", default="2023Q2", help="last quarter (default 2023Q2)")
    p.add_argument("--clean", action="store_true", help="write without injected mess")
    p.add_argument("--near-line-share", type=_share, default=0.0, dest="near_line_share",
                   help="share of households (0 to 1) whose untreated incomes sit near the monitoring line, so support "
                        "has a sizeable known effect on being below it (truth/effects.csv: att_below; default 0)")
    p.add_argument("--force", action="store_true", help="allow writing into a non-empty data/raw")
    _add_engine(p)       # each (county, quarter) file is one task: on dask they are written side by side
    p.set_defaults(func=_simulate)

    p = sub.add_parser("power", help="minimum detectable effect of each program, by simulation on the data",
                       description="Simulate the headline estimate on the city's own data (its households, starts, "
                                   "clusters and residuals, resampled by cluster) with a known effect added, for the "
                                   "current quarters and for the next quarter (one more quarter, no new starts), and "
                                   "write power at each effect and the smallest effect detected 80% of the time at "
                                   "5% to reports/<quarter>/results/power_<program>.parquet (what is assumed: "
                                   "helpers.analysis.power).")
    p.add_argument("--quarter", required=True, help="quarter to evaluate, e.g. 2023Q2")
    p.add_argument("--program", choices=["any", "industry", "employment", "all"], default="all",
                   help="program (default: all three)")
    p.add_argument("--effects", default="",
                   help="effects to try, comma-separated in the outcome's unit, e.g. 50,100,200 (default: 0 and "
                        "0.25x..2x of the analytic MDE)")
    p.add_argument("--reps", type=int, default=1000, help="replications (default 1000)")
    p.add_argument("--outcome", default="income_pc", help="outcome column of the panel (default income_pc)")
    p.add_argument("--control", choices=["not_yet", "never"], default="not_yet", help="control group (default not_yet)")
    p.add_argument("--cluster", default="village", help="cluster of the standard errors (default village; '' for "
                                                        "households)")
    p.add_argument("--covariates", default="", help="comma-separated covariates, as the headline (default none)")
    _add_folders(p)
    p.add_argument("--reports", help="reports folder (default: reports)")
    p.set_defaults(func=_power)

    p = sub.add_parser("bench", help="benchmarks at city scale, as ratios against peers in the same run",
                       description="Intake of one quarter (five county workbooks, --households in all) against "
                                   "pandas.read_excel(engine='calamine'); Callaway-Sant'Anna against moderndid.att_gt, "
                                   "and diff-diff, the imputation estimator against diff-diff, TWFE against pyfixest "
                                   "on a --households x 12-quarter panel; the size of the few-cluster check "
                                   "(1,000 simulated draws at 5, 8 and 10 clusters); the whole quarterly run (cold build of 12 "
                                   "quarters, then a new quarter) with each step's time and peak memory, at each of "
                                   "--sizes. Data are generated once and cached in .cache/bench.")
    p.add_argument("--households", type=int, default=200_000,
                   help="households for intake, effects and run (default 200000, the city scale)")
    p.add_argument("--repeat", type=int, default=3, help="repetitions; the median is reported (default 3)")
    p.add_argument("--cache", default=None, help="folder for generated data (default: .cache/bench)")
    p.add_argument("--only", choices=["all", "intake", "effects", "inference", "run", "scaling", "engines",
                                      "engines-effects"],
                   default="all",
                   help="one part: intake, effects (estimators), inference (few-cluster size), run (the whole "
                        "quarterly run at --households), scaling (the run at each of --sizes) or engines (the run on "
                        "the local and the Dask engine at each of --sizes), engines-effects (the estimators from "
                        "parquet at each of --sizes on Dask, and locally up to --local-max); 'all' (default) is "
                        "intake, effects, inference and scaling")
    p.add_argument("--local-max", type=int, default=1_000_000, dest="local_max",
                   help="largest size --only engines-effects also runs locally (default 1000000)")
    p.add_argument("--workers", type=int, default=2, help="Dask worker processes for --only engines (default 2)")
    p.add_argument("--sizes", default="10000,50000,200000,1000000",
                   help="households for --only scaling (default 10000,50000,200000,1000000)")
    p.set_defaults(func=_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``workbook`` console command."""
    from helpers.domain.errors import Stop
    from helpers.pipeline.run import RunError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except Stop as exc:                 # bad input, a locked folder: exit code 2
        print(f"\n停止 / STOPPED: {exc}", file=sys.stderr)
        return 2
    except RunError as exc:
        print(f"\n运行失败 / RUN FAILED: {exc}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
