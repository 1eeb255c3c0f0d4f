"""The indicators on the dask engine (issue 15): the same table as the local engine, from grouped aggregations on
partitioned Dask DataFrames (a LocalCluster of 2 worker processes, the session fixture ``dask_engine``).

Same rows, columns, dtypes, statuses and verdicts; numbers equal to a relative 1e-12 (sums of the same values taken
in another order may differ in the last bits). Checked on the simulated sample's processed tables (read from
files, and from folders of partitions by quarter and county) and on hand-made tables with edge cases: a county with
no rows in a quarter, a county that never reports 务工人数, denominators of one or two, missing values in every
column the indicators read, a village name shared by two counties (the city's bootstrap pools them), a county that
sent no project or problem sheet.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.analysis import indicators as ind
from helpers.config import Paths
from helpers.domain.dictionary import COUNTIES, EMPLOYMENT_SUPPORT, MONITOR_TYPES, PROBLEM_SOURCES, PROJECT_TYPES
from helpers.engine import use

CFG = ind.load_config()
QS8 = ["2021Q3", "2021Q4", "2022Q1", "2022Q2", "2022Q3", "2022Q4", "2023Q1", "2023Q2"]


def same(local: pd.DataFrame, dask: pd.DataFrame) -> None:
    """The same indicator table: rows in the same order, columns, dtypes, texts and verdicts exactly, numbers to a
    relative 1e-12."""
    assert len(local) and list(local.columns) == list(dask.columns)
    pd.testing.assert_frame_equal(local, dask, check_exact=False, rtol=1e-12, atol=0)


def edge_inputs(seed: int = 3) -> ind.Inputs:
    """Hand-made processed tables over eight quarters (so the income growth and its bootstrap are computed) with
    the edge cases named in the module's docstring."""
    rng = np.random.default_rng(seed)
    rows = []
    villages = {c: [f"{c[:2]}{k}村" for k in range(4)] + ["太平场村"] for c in COUNTIES}   # 太平场村 in every county
    hid = 0
    for county in COUNTIES:
        n = 3 if county == "恩阳区" else 60                        # 恩阳区: denominators of a few households
        for _ in range(n):
            hid += 1
            htype = rng.choice(["脱贫户", "一般农户", "监测户"], p=[0.35, 0.45, 0.2])
            mtype = rng.choice([*MONITOR_TYPES, None]) if htype == "监测户" else None
            village = rng.choice(villages[county])
            size = float(rng.integers(1, 7))
            base = rng.uniform(1200, 4000)
            for k, q in enumerate(QS8):
                if rng.random() < 0.06:                              # a quarter not observed: income unknown
                    continue
                if county == "南江县" and q == "2023Q2":               # a county with no rows in a quarter
                    continue
                elim = None if rng.random() < 0.15 else bool(rng.random() < 0.4)
                date = pd.Timestamp(q[:4] + "-" + str(3 * int(q[-1]) - 1) + "-10") if elim else pd.NaT
                rows.append(dict(
                    household_id=f"H{hid:05d}", quarter=q, county=county, village=village,
                    household_type=htype if rng.random() > 0.03 else (htype if k else "监测户"),
                    monitor_type=mtype, risk_eliminated=elim, risk_eliminated_date=date,
                    household_size=size if rng.random() > 0.02 else np.nan,
                    income_per_capita=round(base * (1 + 0.02 * k) + rng.normal(0, 150), 2) if rng.random() > 0.03
                    else np.nan,
                    employment_support=rng.choice([*EMPLOYMENT_SUPPORT, None], p=[0.2, 0.2, 0.1, 0.1, 0.35, 0.05]),
                    # 平昌县 never reports 务工人数; 巴州区 only this year (the change is unknown or no data)
                    workers=np.nan if county == "平昌县" or (county == "巴州区" and q < "2023Q1")
                    else (float(rng.integers(0, 4)) if rng.random() > 0.05 else np.nan)))
    hq = pd.DataFrame(rows)
    hq["risk_eliminated"] = hq["risk_eliminated"].astype("boolean")
    projects, problems, log = [], [], []
    pid = 0
    for q in QS8:
        for county in COUNTIES:
            sent_projects = not (county == "通江县" and q == "2023Q2")     # a sheet not sent: no data
            for sheet in ("农户监测", "行政村", "项目资金", "问题整改"):
                log.append(dict(quarter=q, county=county, sheet=sheet, rows_in=int(rng.integers(0, 80)),
                                rows_quarantined=int(rng.integers(0, 3)), corrections=int(rng.integers(0, 2)),
                                missing_sheet=(sheet == "项目资金" and not sent_projects)
                                or (sheet == "问题整改" and county == "恩阳区"),
                                optional_columns=1, optional_absent=int(county == "平昌县")))
            for _ in range(int(rng.integers(1, 9)) if sent_projects else 0):
                pid += 1
                arrived = float(rng.choice([0.0, round(rng.uniform(1e4, 5e5), 2), np.nan], p=[0.1, 0.85, 0.05]))
                projects.append(dict(
                    quarter=q, project_id=f"P{pid}", county=county, project_type=rng.choice(PROJECT_TYPES),
                    fund_source=rng.choice(["中央衔接资金", "省级衔接资金", "地方财政", None], p=[0.4, 0.3, 0.25, 0.05]),
                    funds_arrived=arrived, spent=round(float(np.nan_to_num(arrived)) * rng.uniform(0, 1.1), 2),
                    households_reached=float(rng.integers(0, 50)), persons_reached=float(rng.integers(0, 150)),
                    income_increase=float(rng.uniform(0, 1e5)) if rng.random() > 0.05 else np.nan,
                    status=rng.choice(["未开工", "在建", "已完工", None], p=[0.2, 0.5, 0.25, 0.05])))
            for k in range(int(rng.integers(0, 6))):
                problems.append(dict(quarter=q, problem_id=f"R{q}{county}{k}", county=county,
                                     source=rng.choice([*PROBLEM_SOURCES, None], p=[0.3, 0.3, 0.3, 0.1]),
                                     fix_status=rng.choice(["已整改", "整改中"])))
    return ind.Inputs(hq, pd.DataFrame(projects), pd.DataFrame(problems), pd.DataFrame(log))


def test_the_edge_cases_give_the_same_table_on_both_engines(dask_engine):
    inp = edge_inputs()
    quarters = ["2021Q3", "2023Q2"]                # the first quarter (unknowns); growth, a county absent
    local = ind.compute_quarters(inp, quarters, CFG)
    with use(dask_engine):
        frames = ind._frames(inp)
        assert frames.lazy and frames.hq.npartitions >= 2      # partitions on the cluster, not one pandas frame
        dask = ind.compute_quarters(inp, quarters, CFG)
    for q, a, b in zip(quarters, local, dask):
        same(a, b)
    t = local[1]
    growth = t[t["indicator"] == "alleviated_income_growth"]
    assert (growth["status"] == "ok").sum() >= 4 and growth["ci_low"].notna().any()   # the bootstrap ran
    row = lambda k, c, cat="": t[(t.indicator == k) & (t.county == c) & (t.category == cat)].iloc[0]  # noqa: E731
    assert row("workers", "平昌县")["status"] == "no_data"
    assert row("workers_change", "巴州区")["status"] == "no_data"
    assert row("spending_progress", "通江县")["status"] == "no_data"
    assert row("problems_found", "恩阳区")["status"] == "no_data"
    assert row("elimination_rate", "恩阳区")["denominator"] <= 3
    assert t[(t.county == "南江县") & (t.indicator == "monitored_households")]["value"].eq(0).all()
    assert row("alleviated_income_growth", "南江县")["status"] == "unknown"


def test_a_county_subset_and_one_quarter_through_compute(dask_engine):
    inp = edge_inputs(seed=11)
    chosen = ["通江县", "恩阳区"]
    local = ind.compute(inp, "2023Q2", CFG, chosen)
    with use(dask_engine):
        dask = ind.compute(inp, "2023Q2", CFG, chosen)
    same(local, dask)
    assert set(local["county"]) == {*chosen, ind.CITY}


def test_the_simulated_samples_indicators_are_the_same_on_both_engines(sample, dask_engine):
    inp = ind.Inputs.load(sample["paths"])
    quarters = ["2021Q1", "2022Q2"]                  # the first quarter (new entrants unknown) and the last
    local = ind.compute_quarters(inp, quarters, CFG)
    with use(dask_engine):
        dask = ind.compute_quarters(inp, quarters, CFG)              # both quarters in one computation
    for a, b in zip(local, dask):
        same(a, b)


def _write_partitioned(src: Paths, dest) -> None:
    """The processed tables as the dask engine's intake keeps them (``intake.partitioned``): a folder of partitions
    per table, ``<table>/quarter=<q>/county=<c>/part-0.parquet`` (the intake log by quarter only), each file with
    every column and its place in the quarter's order."""
    from helpers.intake.partitioned import PART, partition_dir
    from helpers.store.storage import write_table

    for name in ("household_quarters", "projects", "rectifications", "intake_log"):
        frame = pd.read_parquet(src.processed / f"{name}.parquet")
        for quarter, rows in frame.groupby("quarter", sort=True):
            if name == "intake_log":
                write_table(rows, partition_dir(dest, name, quarter) / PART, None, name)
                continue
            for order, county in enumerate(rows["county"].unique()):
                write_table(rows[rows["county"] == county], partition_dir(dest, name, quarter, county) / PART, None,
                            name, {"order": str(order)})


def test_tables_kept_as_folders_of_partitions_are_read_on_the_workers(sample, dask_engine, tmp_path):
    paths = sample["paths"]
    _write_partitioned(paths, tmp_path / "processed")
    parted = Paths.make(raw=paths.raw, processed=tmp_path / "processed", private=tmp_path / "private",
                        corrections=paths.corrections)
    files = ind.Inputs.load(paths)
    folders = ind.Inputs.load(parted)
    assert not (tmp_path / "processed" / "household_quarters.parquet").exists()
    pd.testing.assert_frame_equal(folders.hq, files.hq, check_categorical=False)   # the same frame from the folders
    local = ind.compute(files, "2022Q2", CFG)
    with use(dask_engine):
        frames = ind._frames(folders)
        assert frames.hq.npartitions >= 2 * len(ind.COUNTIES)               # one or more per quarter and county
        sent = files.hq.loc[files.hq["quarter"] == "2022Q2", "county"].nunique()
        assert frames.rows("hq", ["2022Q2"]).npartitions == sent            # other quarters' files are not read
        dask = ind.compute(folders, "2022Q2", CFG)
    same(local, dask)
    same(local, ind.compute(folders, "2022Q2", CFG))                          # locally from the folders too


def test_the_local_engine_needs_no_cluster():
    inp = edge_inputs()
    frames = ind._frames(inp)
    assert not frames.lazy and frames.hq is inp.hq
    assert isinstance(ind.compute(inp, "2023Q2", CFG), pd.DataFrame)


def test_the_income_test_is_the_rule_of_the_missed_monitoring_indicator():
    """``income_test`` (the household list, feedback) and the indicator count the same households."""
    inp = edge_inputs()
    t = ind.income_test(inp.hq, "2023Q2", CFG)
    table = ind.compute(inp, "2023Q2", CFG)
    city = table[(table.county == ind.CITY) & (table.indicator == "missed_monitoring")].iloc[0]
    assert city["value"] == int(t["missed"].sum())
    assert list(t.columns) == ["county", "village", "household_type", "risk_eliminated", "t4_income", "known", "line",
                               "below", "monitored", "missed", "eliminated_below"]
    assert t.index.name == "household_id"
