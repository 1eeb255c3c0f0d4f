"""The estimators on the engine (helpers.analysis.effects.distributed): on a LocalCluster of 2 worker processes, from
sums over household partitions, the same estimates and standard errors as the local estimators."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.analysis import program_effects as pe
from helpers.analysis.construct import build_panel
from helpers.analysis.effects import EstimationError, callaway_santanna, imputation, twfe
from helpers.analysis.effects.distributed import (callaway_santanna_dask, imputation_dask, partition_by_unit,
                                                  twfe_dask)

TOL = 1e-9


def _panel(n=900, T=7, seed=0, gaps=0.0, effect=150.0) -> pd.DataFrame:
    """Staggered starts (cohorts 3..6 of 1..T), never-treated households, 23 villages, a known effect."""
    rng = np.random.default_rng(seed)
    g = rng.choice([0, 3, 4, 5, 6], size=n, p=[0.4, 0.15, 0.15, 0.15, 0.15])
    level = rng.normal(8, 0.5, n)
    rows = []
    for t in range(1, T + 1):
        y = np.exp(level + 0.03 * t + rng.normal(0, 0.3, n)) + np.where((g > 0) & (t >= g), effect, 0.0)
        rows.append(pd.DataFrame({"household_id": np.arange(n), "time": t, "cohort": g, "village": np.arange(n) % 23,
                                  "income_pc": y, "treated": ((g > 0) & (t >= g)).astype(int)}))
    data = pd.concat(rows, ignore_index=True)
    if gaps:
        data = data[rng.random(len(data)) > gaps]
    return data.reset_index(drop=True)


def _close(a, b, what):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert a.shape == b.shape, what
    assert (np.isnan(a) == np.isnan(b)).all(), (what, a, b)
    m = ~np.isnan(a)
    err = np.abs(a[m] - b[m]) / np.maximum(1.0, np.abs(a[m]))
    assert (err <= TOL).all(), (what, float(err.max()))


def _same(local, dist, kinds):
    for kind in kinds:
        a, b = local.aggregate(kind), dist.aggregate(kind)
        assert list(a.index) == list(b.index), kind
        for col in ("att", "se", "ci_low", "ci_high"):
            _close(a[col], b[col], f"{kind} {col}")
    assert local.spec == dist.spec


def _same_cs(local, dist):
    _same(local, dist, ("simple", "dynamic", "group", "calendar"))
    assert local.att_gt[["cohort", "time", "event_time"]].equals(dist.att_gt[["cohort", "time", "event_time"]])
    _close(local.att_gt[["att", "se"]], dist.att_gt[["att", "se"]], "att_gt")
    for a, b in ((local.pretest(), dist.pretest()), (local.event_time_trend(), dist.event_time_trend())):
        for k in ("stat", "pvalue", "slope", "se", "ci_low", "ci_high"):
            if k in a:
                _close(a[k], b[k], k)
        assert {k: v for k, v in a.items() if isinstance(v, (str, int))} == \
            {k: v for k, v in b.items() if isinstance(v, (str, int))}


@pytest.fixture(scope="module")
def simulated():
    data = _panel(seed=3)
    return data, partition_by_unit(data, "household_id", 4)


@pytest.mark.parametrize("control", ["not_yet", "never"])
def test_callaway_santanna_on_partitions_is_the_local_estimate_clustered(dask_engine, simulated, control):
    data, parts = simulated
    kw = dict(control=control, cluster="village")
    local = callaway_santanna(data, "income_pc", "household_id", "time", "cohort", **kw)
    dist = callaway_santanna_dask(dask_engine, parts, "income_pc", "household_id", "time", "cohort", **kw)
    _same_cs(local, dist)
    assert abs(dist.aggregate("simple").loc["overall", "att"] - 150) < 3.5 * dist.aggregate("simple").loc["overall", "se"]
    a, b = local.simultaneous_band(reps=199), dist.simultaneous_band(reps=199)   # clusters in the same order
    _close(a[["cb_low", "cb_high"]], b[["cb_low", "cb_high"]], "band")


def test_callaway_santanna_unit_level_universal_base_and_the_cells_pretest(dask_engine, simulated):
    data, parts = simulated
    kw = dict(control="never", base_period="universal")
    local = callaway_santanna(data, "income_pc", "household_id", "time", "cohort", **kw)
    dist = callaway_santanna_dask(dask_engine, parts, "income_pc", "household_id", "time", "cohort", **kw)
    _same_cs(local, dist)
    _close(local.pretest("cells")["stat"], dist.pretest("cells")["stat"], "cells pretest")
    with pytest.raises(EstimationError, match="unit level"):
        dist.simultaneous_band()


def test_unbalanced_panels_match_too(dask_engine):
    data = _panel(n=600, seed=5, gaps=0.08)
    parts = partition_by_unit(data, "household_id", 3)
    for cluster in ("village", None):
        kw = dict(cluster=cluster, balanced=False)
        _same_cs(callaway_santanna(data, "income_pc", "household_id", "time", "cohort", control="not_yet", **kw),
                 callaway_santanna_dask(dask_engine, parts, "income_pc", "household_id", "time", "cohort",
                                        control="not_yet", **kw))
        _same(imputation(data, "income_pc", "household_id", "time", "cohort", **kw),
              imputation_dask(dask_engine, parts, "income_pc", "household_id", "time", "cohort", **kw),
              ("simple", "dynamic"))
        a = twfe(data, "income_pc", "treated", "household_id", "time", **kw)
        b = twfe_dask(dask_engine, parts, "income_pc", "treated", "household_id", "time", **kw)
        assert a.spec == b.spec
        _close(a.coef, b.coef, "twfe coef")
        # pyfixest demeans unbalanced panels iteratively to a tolerance of 1e-8: its standard error is that close
        # to the exact one (the partition sums solve the normal equations exactly, as pyfixest with fixef_tol=1e-12)
        assert abs(a.se - b.se) <= 1e-6 * a.se


@pytest.mark.parametrize("cluster", ["village", None])
def test_imputation_and_twfe_on_partitions_are_the_local_estimates(dask_engine, simulated, cluster):
    data, parts = simulated
    _same(imputation(data, "income_pc", "household_id", "time", "cohort", cluster=cluster),
          imputation_dask(dask_engine, parts, "income_pc", "household_id", "time", "cohort", cluster=cluster),
          ("simple", "dynamic"))
    a = twfe(data, "income_pc", "treated", "household_id", "time", cluster=cluster)
    b = twfe_dask(dask_engine, parts, "income_pc", "treated", "household_id", "time", cluster=cluster)
    _same(a, b, ("simple",))
    assert list(a.table.columns) == list(b.table.columns) and list(a.table.index) == list(b.table.index)
    _close(a.table, b.table, "twfe table")


def test_the_bundled_sample_estimation_panel_gives_the_same_numbers(dask_engine, sample):
    panel = build_panel(sample["paths"])
    d = pe.estimation_sample(panel, "any", "income_pc", [], "village")
    parts = partition_by_unit(d, "household_id", 3)
    kw = dict(cluster="village", balanced=panel.balanced)
    _same_cs(callaway_santanna(d, "income_pc", "household_id", "time", "cohort", control="not_yet", **kw),
             callaway_santanna_dask(dask_engine, parts, "income_pc", "household_id", "time", "cohort",
                                    control="not_yet", **kw))
    _same(imputation(d, "income_pc", "household_id", "time", "cohort", **kw),
          imputation_dask(dask_engine, parts, "income_pc", "household_id", "time", "cohort", **kw), ("simple", "dynamic"))
    _same(twfe(d, "income_pc", "treated", "household_id", "time", **kw),
          twfe_dask(dask_engine, parts, "income_pc", "treated", "household_id", "time", **kw), ("simple",))


def test_a_dask_dataframe_works_and_a_household_cut_in_two_is_refused(dask_engine, simulated):
    import dask.dataframe as dd

    data, _ = simulated
    ddf = dd.from_pandas(data.set_index("household_id"), npartitions=3).reset_index()   # households whole by index
    assert ddf.npartitions == 3
    a = imputation_dask(dask_engine, ddf, "income_pc", "household_id", "time", "cohort", cluster="village")
    b = imputation(data, "income_pc", "household_id", "time", "cohort", cluster="village")
    _close(a.aggregate("dynamic")[["att", "se"]], b.aggregate("dynamic")[["att", "se"]], "dask dataframe")
    cut = data.sort_values(["household_id", "time"]).iloc[[*range(0, 40), *range(40, 80)]]
    rows = [cut.iloc[:37], cut.iloc[37:]]                     # household 5's periods in both partitions
    with pytest.raises(EstimationError, match=r"1 households \(household_id\) appear in more than one partition, "
                                              r"e\.g\. 5: each partition must hold whole households"):
        callaway_santanna_dask(dask_engine, rows, "income_pc", "household_id", "time", "cohort")
    with pytest.raises(EstimationError, match="more than one partition"):
        twfe_dask(dask_engine, rows, "income_pc", "treated", "household_id", "time")


def test_partition_by_unit_keeps_households_whole_and_every_row():
    data = _panel(n=200, seed=1)
    parts = partition_by_unit(data, "household_id", 5)
    assert sum(len(p) for p in parts) == len(data)
    owners = pd.concat([p[["household_id"]].assign(k=k) for k, p in enumerate(parts)]).drop_duplicates()
    assert owners["household_id"].is_unique
    with pytest.raises(EstimationError, match="covariates are not supported"):
        callaway_santanna_dask(None, parts, "income_pc", "household_id", "time", "cohort", covariates=["village"])
    parts = [data.iloc[:0], *parts]                      # an empty partition adds nothing (engine None: this process)
    _same(imputation(data, "income_pc", "household_id", "time", "cohort", cluster="village"),
          imputation_dask(None, parts, "income_pc", "household_id", "time", "cohort", cluster="village"),
          ("simple", "dynamic"))
    _same(twfe(data, "income_pc", "treated", "household_id", "time", cluster="village"),
          twfe_dask(None, parts, "income_pc", "treated", "household_id", "time", cluster="village"), ("simple",))
    _same_cs(callaway_santanna(data, "income_pc", "household_id", "time", "cohort", control="not_yet", cluster="village"),
             callaway_santanna_dask(None, parts, "income_pc", "household_id", "time", "cohort", control="not_yet",
                                    cluster="village"))
