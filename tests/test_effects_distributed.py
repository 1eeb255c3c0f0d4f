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


# ---------------------------------------------------------------------------------------------------- the county jackknife

def _with_county(data: pd.DataFrame, counties: int = 5) -> pd.DataFrame:
    """A county per household: whole villages (village mod ``counties``), as the data's counties hold whole villages."""
    return data.assign(county=[f"县{v % counties}" for v in data["village"]])


def _county_codes(data: pd.DataFrame, res) -> np.ndarray:
    """The local caller's codes (program_effects.Effects.county_codes): one county per unit of the result."""
    return data.groupby("household_id")["county"].first().reindex(res.panel.units).to_numpy()


def _same_jackknife(a, b, what):
    assert a.clusters == b.clusters, what
    _close(a.estimate, b.estimate, f"{what} estimate")
    _close(a.leave_one_out, b.leave_one_out, f"{what} leave-one-out")
    _close(a.pvalue(0.0), b.pvalue(0.0), f"{what} p-value")
    _close(a.ci(0.95), b.ci(0.95), f"{what} interval")


def _same_or_same_error(local, dist, what):
    """Both give the same jackknife, or both refuse with the same message."""
    try:
        a = local()
    except EstimationError as err:
        with pytest.raises(EstimationError) as got:
            dist()
        assert str(got.value) == str(err), what
        return
    _same_jackknife(a, dist(), what)


@pytest.fixture(scope="module")
def counties():
    data = _with_county(_panel(seed=3))
    return data, partition_by_unit(data, "household_id", 4)


def test_the_county_jackknife_on_partitions_is_the_local_one(dask_engine, counties):
    data, parts = counties
    local = callaway_santanna(data, "income_pc", "household_id", "time", "cohort", control="not_yet", cluster="village")
    dist = callaway_santanna_dask(dask_engine, parts, "income_pc", "household_id", "time", "cohort", control="not_yet",
                                  cluster="village")
    for kind in ("simple", "dynamic", "trend", "group", "calendar"):
        _same_jackknife(local.few_cluster_test(_county_codes(data, local), kind), dist.few_cluster_test("county", kind),
                        f"cs {kind}")
    assert len(dist._jk.cache) == 1                     # the five leave-one-out runs, once for every statistic
    by_household = data.groupby("household_id")["county"].first()           # a Series indexed by household
    _same_jackknife(local.few_cluster_test(_county_codes(data, local), "trend"),
                    dist.few_cluster_test(by_household, "trend"), "cs trend, Series")
    _close(local.few_cluster_ci(_county_codes(data, local)), dist.few_cluster_ci("county"), "few_cluster_ci")
    local = imputation(data, "income_pc", "household_id", "time", "cohort", cluster="village")
    dist = imputation_dask(dask_engine, parts, "income_pc", "household_id", "time", "cohort", cluster="village")
    for kind in ("simple", "dynamic"):
        _same_jackknife(local.few_cluster_test(_county_codes(data, local), kind), dist.few_cluster_test("county", kind),
                        f"imputation {kind}")
    _close(local.few_cluster_pvalue(_county_codes(data, local), "dynamic"), dist.few_cluster_pvalue("county", "dynamic"),
           "few_cluster_pvalue")
    dist.release_partitions()                           # the workers free them; the runs made stay
    _close(local.few_cluster_pvalue(_county_codes(data, local)), dist.few_cluster_pvalue("county"), "after release")
    with pytest.raises(EstimationError, match="partitions were released"):
        dist.few_cluster_test("village")


def test_the_county_jackknife_unbalanced_at_unit_level_and_with_households_left_out(dask_engine):
    data = _with_county(_panel(n=600, seed=5, gaps=0.08), 4)
    # a household treated in every period it is seen (no untreated period: the imputation estimator leaves it out),
    # with an event time no other household has, in a county of its own (which the local check then never sees)
    data = pd.concat([data, pd.DataFrame({"household_id": [10_000], "time": [7], "cohort": [2], "village": [1],
                                          "income_pc": [5000.0], "treated": [1], "county": ["其他"]})], ignore_index=True)
    parts = partition_by_unit(data, "household_id", 3)
    for control, cluster in (("never", None), ("not_yet", "village")):
        kw = dict(control=control, cluster=cluster, balanced=False)
        local = callaway_santanna(data, "income_pc", "household_id", "time", "cohort", **kw)
        dist = callaway_santanna_dask(dask_engine, parts, "income_pc", "household_id", "time", "cohort", **kw)
        for kind in ("simple", "dynamic", "trend"):
            _same_or_same_error(lambda: local.few_cluster_test(_county_codes(data, local), kind),
                                lambda: dist.few_cluster_test("county", kind), f"cs {control} {kind}")
    local = imputation(data, "income_pc", "household_id", "time", "cohort", balanced=False)
    dist = imputation_dask(dask_engine, parts, "income_pc", "household_id", "time", "cohort", balanced=False)
    _same(local, dist, ("simple", "dynamic"))              # event times of the households kept only
    for kind in ("simple", "dynamic"):
        a, b = local.few_cluster_test(_county_codes(data, local), kind), dist.few_cluster_test("county", kind)
        assert b.clusters == 4
        _same_jackknife(a, b, f"imputation {kind}")


def test_the_county_jackknife_refuses_as_the_local_one(dask_engine):
    data = _panel(n=400, seed=7)
    # every never-treated household in one county: without it there is no comparison (never) and, for the
    # imputation estimator, no untreated household in the last periods
    data["county"] = np.where(data["cohort"] == 0, "甲", np.array(["乙", "丙", "丁"])[data["village"] % 3])
    data["province"], data["wave"] = "省", data["time"] % 2      # one value; a value that changes within households
    parts = partition_by_unit(data, "household_id", 3)
    local = callaway_santanna(data, "income_pc", "household_id", "time", "cohort", control="never", cluster="village")
    dist = callaway_santanna_dask(dask_engine, parts, "income_pc", "household_id", "time", "cohort", control="never",
                                  cluster="village")
    imp_local = imputation(data, "income_pc", "household_id", "time", "cohort", cluster="village")
    imp_dist = imputation_dask(dask_engine, parts, "income_pc", "household_id", "time", "cohort", cluster="village")
    for a, b in ((local, dist), (imp_local, imp_dist)):
        with pytest.raises(EstimationError, match="without cluster 甲 it cannot be computed") as err:
            a.few_cluster_test(_county_codes(data, a), "simple")
        with pytest.raises(EstimationError) as got:
            b.few_cluster_test("county", "simple")
        assert str(got.value) == str(err.value)
    with pytest.raises(EstimationError, match="wild cluster restricted bootstrap .* not implemented on the engine"):
        dist.few_cluster_test("county", "simple", "wild", 999)
    with pytest.raises(EstimationError, match="kind must be one of"):
        imp_dist.few_cluster_test("county", "trend")
    with pytest.raises(EstimationError, match="name of a column of the partitions"):
        dist.few_cluster_test(_county_codes(data, local), "simple")
    with pytest.raises(EstimationError, match="unknown cluster column 'region'"):
        dist.few_cluster_test("region", "simple")
    with pytest.raises(EstimationError, match="the few-cluster test needs at least two clusters"):
        dist.few_cluster_test("province", "simple")
    with pytest.raises(EstimationError, match=r"cluster column 'wave' changes within \d+ households \(household_id\), "
                                              r"e\.g\. .*: a cluster must contain whole households"):
        imp_dist.few_cluster_test("wave", "dynamic")


def test_the_county_jackknife_on_the_bundled_sample(dask_engine, sample):
    panel = build_panel(sample["paths"])
    d = pe.estimation_sample(panel, "any", "income_pc", [], "village")
    parts = partition_by_unit(d, "household_id", 3)
    kw = dict(cluster="village", balanced=panel.balanced)
    local = callaway_santanna(d, "income_pc", "household_id", "time", "cohort", control="not_yet", **kw)
    dist = callaway_santanna_dask(dask_engine, parts, "income_pc", "household_id", "time", "cohort", control="not_yet",
                                  **kw)
    for kind in ("simple", "dynamic", "trend"):
        _same_or_same_error(lambda: local.few_cluster_test(_county_codes(d, local), kind),
                            lambda: dist.few_cluster_test("county", kind), f"sample cs {kind}")
    # household ids are categorical here: clusters in the local order (by the categories), so the same draws too
    a, b = local.simultaneous_band(reps=199), dist.simultaneous_band(reps=199)
    _close(a[["cb_low", "cb_high"]], b[["cb_low", "cb_high"]], "sample band")
    local = imputation(d, "income_pc", "household_id", "time", "cohort", **kw)
    dist = imputation_dask(dask_engine, parts, "income_pc", "household_id", "time", "cohort", **kw)
    for kind in ("simple", "dynamic"):
        _same_or_same_error(lambda: local.few_cluster_test(_county_codes(d, local), kind),
                            lambda: dist.few_cluster_test("county", kind), f"sample imputation {kind}")


@pytest.mark.parametrize("cluster", ["village", "county"])
def test_subgroup_and_subsidy_bin_estimates_on_the_engine_are_the_local_ones(dask_engine, sample, cluster,
                                                                            monkeypatch):
    """Notebook 03's subgroups (county, household type, relocation) and industry subsidy bins: on the Dask engine
    each subgroup is estimated on household partitions; the same numbers and the same notes as in this process,
    including a county's one-cluster case under county clustering (a unit-level estimate, no standard error)."""
    from helpers.engine import use
    panel = build_panel(sample["paths"])
    e = pe.estimate(panel, "any", "income_pc", "not_yet", None, cluster)
    local_het, local_dose = pe.heterogeneity(panel, e), pe.dose_bins(panel, "income_pc", None, cluster)
    import helpers.analysis.effects.distributed as dist_module
    on_partitions = []
    real = dist_module.callaway_santanna_dask
    monkeypatch.setattr(dist_module, "callaway_santanna_dask", lambda *a, **k: on_partitions.append(1) or real(*a, **k))
    monkeypatch.setattr(pe, "callaway_santanna", None)        # nothing is fitted in this process on the engine
    with use(dask_engine):
        dist_het, dist_dose = pe.heterogeneity(panel, e), pe.dose_bins(panel, "income_pc", None, cluster)
    assert len(on_partitions) == len(local_het) + len(local_dose)
    for a, b in ((local_het, dist_het), (local_dose, dist_dose)):
        assert list(a.columns) == list(b.columns)
        num = [c for c in a.columns if c in ("att", "se", "ci_low", "ci_high", "subsidy_low", "subsidy_high")]
        _close(a[num], b[num], "subgroups")
        rest = [c for c in a.columns if c not in num]
        assert a[rest].astype(str).equals(b[rest].astype(str))
    assert local_het["att"].notna().all()
    if cluster == "county":          # each county is one cluster: a point estimate without standard error
        county = local_het[local_het["dimension"] == "county"]
        assert (county["note"] == "one_cluster").all() and county["se"].isna().all()
