"""The estimators at the edges of what data can support: unidentified designs, bad cohort codes,
singular pre-trend covariances, R's universal base period and time-varying covariates.
Each test failed on the code before issue 10."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from helpers.analysis.effects import EstimationError, callaway_santanna, imputation, twfe, wald_test

md = pytest.importorskip("moderndid")


def panel(cohorts, periods=6, effect=1.0, seed=3) -> pd.DataFrame:
    """One row per unit and period: unit effects, a common trend, noise, and ``effect`` from the cohort on."""
    rng = np.random.default_rng(seed)
    rows = []
    for i, g in enumerate(cohorts):
        a = rng.normal()
        for t in range(1, periods + 1):
            treated = bool(g) and g == g and t >= g
            rows.append((i, t, g, a + 0.1 * t + rng.normal(0, 0.3) + (effect if treated else 0.0), int(treated)))
    return pd.DataFrame(rows, columns=["unit", "time", "cohort", "y", "treated"])


@pytest.fixture(scope="module")
def mpdta():
    return md.load_mpdta().to_pandas()


# ---- 1. imputation on designs whose period effects are not identified --------------------------
@pytest.mark.parametrize("cohorts,periods", [([3] * 30, "3, 4, 5, 6"),                  # all treated at once
                                             ([3] * 15 + [5] * 15, "5, 6")])             # last cohort covers the end
def test_imputation_refuses_periods_without_untreated_households(cohorts, periods):
    d = panel(cohorts)
    with pytest.raises(EstimationError, match=f"periods {periods} have no untreated household"):
        imputation(d, "y", "unit", "time", "cohort")


def test_imputation_refuses_untreated_observations_that_share_no_household():
    d = panel([0] * 10 + [0] * 10 + [5] * 10, periods=6)
    # half the never-treated seen in periods 1-3, half in 4-6; the treated seen in period 1 and from their start (5):
    # no household links periods 1-3 with 4-6, so period 5's effect relative to period 1 is not identified
    d = d[~((d["unit"] < 10) & (d["time"] >= 4)) & ~(d["unit"].between(10, 19) & (d["time"] <= 3))
          & ~((d["cohort"] == 5) & d["time"].between(2, 4))]
    with pytest.raises(EstimationError, match="share no household"):
        imputation(d, "y", "unit", "time", "cohort", balanced=False)


def test_imputation_still_estimates_identified_designs_and_counts_units_it_cannot_use():
    d = panel([0] * 20 + [3] * 10 + [5] * 10)
    res = imputation(d, "y", "unit", "time", "cohort")
    assert res.aggregate("simple").loc["overall", "att"] == pytest.approx(1.0, abs=0.2)
    gappy = d[~((d["unit"] == 25) & (d["time"] < 3))]          # a treated unit seen only after its start
    res = imputation(gappy, "y", "unit", "time", "cohort", balanced=False)
    assert res.spec["dropped_no_untreated_period"] == 1 and res.spec["units"] == 39


# ---- 3. one cohort validation for every estimator ----------------------------------------------
ROBUST = [lambda d, **k: callaway_santanna(d, "y", "unit", "time", "cohort", control="not_yet", **k),
          lambda d, **k: imputation(d, "y", "unit", "time", "cohort", **k)]


@pytest.mark.parametrize("estimator", ROBUST, ids=["cs", "imputation"])
def test_never_treated_coded_minus_one_is_refused_by_both(estimator):
    d = panel([0] * 10 + [-1] * 10 + [3] * 10 + [5] * 10)
    with pytest.raises(EstimationError, match=r"negative values \(-1\).*0 or missing"):
        estimator(d)


@pytest.mark.parametrize("estimator", ROBUST, ids=["cs", "imputation"])
def test_fractional_cohorts_are_refused_not_truncated(estimator):
    d = panel([0] * 20 + [3] * 10 + [5] * 10)
    d["cohort"] = d["cohort"].astype(float).replace(5.0, 5.5)
    with pytest.raises(EstimationError, match="whole periods, not 5.5"):
        estimator(d)


@pytest.mark.parametrize("estimator", ROBUST, ids=["cs", "imputation"])
def test_cohorts_on_another_axis_are_named(estimator):
    d = panel([0] * 20 + [3] * 10 + [5] * 10)
    d["cohort"] = d["cohort"].map({0: 0, 3: 2004, 5: 2006})        # years, while time runs 1..6
    with pytest.raises(EstimationError, match="no cohort falls within the periods 1–6 .*2004, 2006"):
        estimator(d)
    d["cohort"] = d["cohort"].map({0: 0, 2004: "2004Q1", 2006: "2006Q1"})
    with pytest.raises(EstimationError, match="written as text"):
        estimator(d)


def test_inf_is_never_treated_and_gives_the_same_numbers_as_zero():
    d = panel([0] * 20 + [3] * 10 + [5] * 10)
    e = d.assign(cohort=d["cohort"].replace(0, np.inf))
    for est in ROBUST:
        a, b = est(d).aggregate("simple"), est(e).aggregate("simple")
        assert a.loc["overall", "att"] == b.loc["overall", "att"]


def test_a_cohort_inside_the_window_must_be_one_of_its_periods():
    d = panel([0] * 20 + [3] * 10 + [5] * 10)
    d = d[d["time"] != 3]                                              # periods 1, 2, 4, 5, 6; cohort 3 is not one
    with pytest.raises(EstimationError, match="cohorts 3 lie inside the window but are not among its periods"):
        callaway_santanna(d, "y", "unit", "time", "cohort")


# ---- 4. TWFE gets the same checks ----------------------------------------------------------------
def test_twfe_refuses_duplicates_missing_outcomes_and_an_unidentified_treatment():
    d = panel([0] * 20 + [3] * 10 + [5] * 10)
    with pytest.raises(EstimationError, match=r"\(unit, time\) pairs have several rows"):
        twfe(pd.concat([d, d.iloc[:1]]), "y", "treated", "unit", "time")
    for bad in (np.nan, np.inf):
        e = d.copy()
        e.loc[3, "y"] = bad
        with pytest.raises(EstimationError, match="missing or infinite"):
            twfe(e, "y", "treated", "unit", "time")
        with pytest.raises(EstimationError, match="missing or infinite"):
            callaway_santanna(e, "y", "unit", "time", "cohort")
    at_once = panel([3] * 30)
    with pytest.raises(EstimationError, match="explained exactly by unit and period effects"):
        twfe(at_once, "y", "treated", "unit", "time")
    with pytest.raises(EstimationError, match="must be 0/1"):
        twfe(d.assign(treated=d["treated"] * 2), "y", "treated", "unit", "time")


def test_twfe_drops_units_with_gaps_like_the_robust_estimators_unless_asked_not_to():
    d = panel([0] * 20 + [3] * 10 + [5] * 10)
    gappy = d[~((d["unit"] == 0) & (d["time"] == 2))]
    assert twfe(gappy, "y", "treated", "unit", "time").spec["units"] == 39
    assert twfe(gappy, "y", "treated", "unit", "time", balanced=False).spec["units"] == 40
    assert callaway_santanna(gappy, "y", "unit", "time", "cohort").spec["units"] == 39


# ---- 6. pre-trend tests decline on covariances that cannot carry them -----------------------------
@pytest.mark.parametrize("cohorts", [[0] * 40 + [3, 4, 4, 5, 6], [0] * 40 + [4, 5, 6], [0] * 40 + [3, 3, 5, 5, 6]])
def test_pretest_declines_where_cohorts_hold_one_or_two_households_as_r_does(cohorts):
    d = panel(cohorts)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ref = md.att_gt(d, yname="y", tname="time", idname="unit", gname="cohort", est_method="reg", boot=False, cband=False)
    assert ref.wald_pvalue is None and any("singular" in str(w.message) for w in caught)     # moderndid declines
    res = callaway_santanna(d, "y", "unit", "time", "cohort")
    for kind in ("cells", "event"):
        pre = res.pretest(kind)
        assert np.isnan(pre["pvalue"]) and pre["reason"], (kind, pre)


def test_wald_test_declines_a_singular_covariance_and_says_why():
    rng = np.random.default_rng(0)
    inf = rng.normal(size=(200, 2))
    inf = np.column_stack([inf, inf[:, 0] + inf[:, 1]])                  # third term = sum of the others
    out = wald_test(np.array([0.1, 0.2, 0.3]), inf, 200, None, treated_df=100, label="event")
    assert np.isnan(out["pvalue"]) and "singular" in out["reason"]
    ok = wald_test(np.array([0.1, 0.2]), inf[:, :2], 200, None, treated_df=100, label="event")
    assert 0 < ok["pvalue"] < 1 and ok["reason"] == ""
    clustered = wald_test(np.array([0.1, 0.2]), inf[:, :2], 200, np.arange(200) % 3, treated_df=100, label="event")
    assert np.isnan(clustered["pvalue"]) and "clusters are too few" in clustered["reason"]


# ---- 7. universal base period as R did / moderndid --------------------------------------------------
@pytest.mark.parametrize("control,covariates", [("never", None), ("not_yet", None), ("not_yet", ["lpop"])])
def test_universal_base_period_matches_moderndid(mpdta, control, covariates):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = md.att_gt(mpdta, yname="lemp", tname="year", idname="countyreal", gname="first.treat", est_method="reg",
                        boot=False, cband=False, base_period="universal", xformla="~ lpop" if covariates else None,
                        control_group="nevertreated" if control == "never" else "notyettreated")
    res = callaway_santanna(mpdta, "lemp", "countyreal", "year", "first.treat", control=control, covariates=covariates,
                            base_period="universal")
    assert len(res.att_gt) == len(ref.att_gt) == 15                  # the first period's cells too
    np.testing.assert_allclose(res.att_gt["att"], ref.att_gt, atol=1e-10)
    np.testing.assert_allclose(res.att_gt["se"], ref.se_gt, atol=1e-10)      # NaN for the reference cells, as R
    for kind in ("simple", "dynamic", "group", "calendar"):
        agg = md.aggte(ref, type=kind, boot=False, cband=False)
        ours = res.aggregate(kind)
        assert ours.loc["overall", "att"] == pytest.approx(agg.overall_att, abs=1e-10)
        assert ours.loc["overall", "se"] == pytest.approx(agg.overall_se, abs=1e-10)
        if kind == "dynamic":
            np.testing.assert_allclose(ours["att"].iloc[:-1], agg.att_by_event, atol=1e-10)
            np.testing.assert_allclose(ours["se"].iloc[:-1], agg.se_by_event, atol=1e-10)
    if covariates is None:
        assert res.pretest("cells")["pvalue"] == pytest.approx(ref.wald_pvalue, abs=1e-5)


# ---- 8. covariates that change over time enter as R did takes them -------------------------------------
@pytest.mark.parametrize("base_period", ["varying", "universal"])
@pytest.mark.parametrize("control", ["never", "not_yet"])
def test_time_varying_covariates_match_moderndid(mpdta, control, base_period):
    d = mpdta.copy()
    d["x"] = d["lpop"] + 0.3 * (d["year"] - 2003) * np.random.default_rng(1).normal(size=len(d))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = md.att_gt(d, yname="lemp", tname="year", idname="countyreal", gname="first.treat", est_method="reg",
                        boot=False, cband=False, base_period=base_period, xformla="~ x",
                        control_group="nevertreated" if control == "never" else "notyettreated")
    res = callaway_santanna(d, "lemp", "countyreal", "year", "first.treat", control=control, covariates=["x"],
                            base_period=base_period)
    np.testing.assert_allclose(res.att_gt["att"], ref.att_gt, atol=1e-10)
    np.testing.assert_allclose(res.att_gt["se"], ref.se_gt, atol=1e-10)
    for kind in ("simple", "dynamic"):
        agg = md.aggte(ref, type=kind, boot=False, cband=False)
        assert res.aggregate(kind).loc["overall", "att"] == pytest.approx(agg.overall_att, abs=1e-10)
        assert res.aggregate(kind).loc["overall", "se"] == pytest.approx(agg.overall_se, abs=1e-10)


# ---- found by review: numbers the data cannot support, crashes, silent recodes ------------------------------
def sized(sizes: dict, periods: int = 8, seed: int = 1, effect: float = 0.0) -> pd.DataFrame:
    """A balanced panel with ``sizes`` units per cohort (0 = never treated), unit and period effects and noise."""
    return panel([g for g, k in sizes.items() for _ in range(k)], periods, effect, seed)


def test_an_effect_resting_on_one_household_has_no_standard_error():
    d = sized({0: 60, 5: 1}, effect=1.0)
    for res in (callaway_santanna(d, "y", "unit", "time", "cohort"), imputation(d, "y", "unit", "time", "cohort")):
        overall = res.aggregate("simple").loc["overall"]
        assert np.isfinite(overall["att"]) and np.isnan(overall["se"]) and np.isnan(overall["ci_low"])
    one_control = sized({0: 1, 4: 30, 6: 30}, effect=1.0)          # periods 6-8 imputed from one untreated unit
    assert np.isnan(imputation(one_control, "y", "unit", "time", "cohort").aggregate("simple").loc["overall", "se"])
    cs = callaway_santanna(one_control, "y", "unit", "time", "cohort", control="never")
    assert np.isnan(cs.aggregate("simple").loc["overall", "se"]) and cs.spec["thin_cells"] > 0
    big = sized({0: 60, 4: 40, 6: 1}, effect=1.0)                   # one singleton cohort among large ones
    assert np.isfinite(callaway_santanna(big, "y", "unit", "time", "cohort").aggregate("simple").loc["overall", "se"])


def test_pretest_leaves_out_terms_resting_on_a_single_household_instead_of_rejecting():
    d = sized({0: 100, 4: 100, 8: 1}, seed=5)                      # true null everywhere
    for kind in ("event", "cells"):
        pre = callaway_santanna(d, "y", "unit", "time", "cohort").pretest(kind)
        assert pre["left_out"] >= 4 and pre["pvalue"] > 1e-4, pre


def test_estimates_do_not_depend_on_the_outcome_scale():
    d = sized({0: 40, 4: 30, 6: 30}, effect=1.0)
    for scale in (1e-9, 1e12):
        e = d.assign(y=d["y"] * scale)
        for est in ROBUST:
            a, b = est(d).aggregate("dynamic"), est(e).aggregate("dynamic")
            np.testing.assert_allclose(b["se"].dropna() / scale, a["se"].dropna(), rtol=1e-6)
        tw_a, tw_b = twfe(d, "y", "treated", "unit", "time"), twfe(e, "y", "treated", "unit", "time")
        assert tw_b.coef / scale == pytest.approx(tw_a.coef, rel=1e-6)
    assert callaway_santanna(d.assign(y=d["y"] * 1e-9), "y", "unit", "time", "cohort").pretest()["reason_code"] == ""


def test_collinear_covariates_and_odd_names_get_a_message_not_a_traceback():
    d = sized({0: 40, 4: 30, 6: 30}, effect=1.0).assign(c=1.0)
    with pytest.raises(EstimationError, match="constant or collinear"):
        callaway_santanna(d, "y", "unit", "time", "cohort", covariates=["c"])
    ref = twfe(d, "y", "treated", "unit", "time").coef
    assert twfe(d.assign(y=d["y"].astype(str)), "y", "treated", "unit", "time").coef == pytest.approx(ref)
    odd = d.rename(columns={"treated": "treated?", "y": "收入 (元)"})
    assert twfe(odd, "收入 (元)", "treated?", "unit", "time").coef == pytest.approx(ref)


def test_periods_the_workbook_itself_writes_are_read_and_dates_get_a_message():
    d = sized({0: 40, 4: 30, 6: 30}, effect=1.0)
    quarters = {t: f"2021Q{t}" if t <= 4 else f"2022Q{t - 4}" for t in range(1, 9)}
    q = d.assign(time=pd.Categorical(d["time"].map(quarters)),
                 cohort=pd.Categorical(d["cohort"].map({0: None, 4: "2021Q4", 6: "2022Q2"})))
    ref = callaway_santanna(d, "y", "unit", "time", "cohort").aggregate("simple").loc["overall", "att"]
    assert callaway_santanna(q, "y", "unit", "time", "cohort").aggregate("simple").loc["overall", "att"] == pytest.approx(ref)
    for never in (0, np.inf, "", None):
        mixed = q.assign(cohort=q["cohort"].astype(object).where(q["cohort"].notna(), never))
        assert imputation(mixed, "y", "unit", "time", "cohort").aggregate("simple").loc["overall", "att"] == pytest.approx(
            imputation(d, "y", "unit", "time", "cohort").aggregate("simple").loc["overall", "att"])
    dates = d.assign(time=pd.to_datetime("2021-01-01") + pd.to_timedelta(d["time"] * 90, unit="D"))
    with pytest.raises(EstimationError, match="holds dates"):
        callaway_santanna(dates, "y", "unit", "time", "cohort")
    with pytest.raises(EstimationError, match="whole periods, not 1.0000000001"):
        callaway_santanna(d.assign(time=d["time"].astype(float).replace(1.0, 1.0000000001)), "y", "unit", "time", "cohort")


def test_a_cohort_far_outside_the_window_is_refused_and_one_just_after_it_is_counted():
    d = sized({0: 40, 4: 30, 6: 30}, effect=1.0)
    with pytest.raises(EstimationError, match="cohorts 2020 lie further"):
        callaway_santanna(d.assign(cohort=d["cohort"].replace(6, 2020)), "y", "unit", "time", "cohort")
    res = callaway_santanna(d.assign(cohort=d["cohort"].replace(6, 9)), "y", "unit", "time", "cohort")
    assert res.spec["recoded_treated_after_window"] == 30


def test_twfe_refuses_clusters_that_change_within_a_unit_like_the_others():
    d = sized({0: 40, 4: 30, 6: 30}, effect=1.0)
    with pytest.raises(EstimationError, match="changes within a unit"):
        twfe(d, "y", "treated", "unit", "time", cluster="time")


def test_few_cluster_codes_are_checked_and_aligned():
    from helpers.sim.simcheck import few_cluster_draw

    d = few_cluster_draw(4, clusters=5)
    res = callaway_santanna(d, "y", "unit", "time", "cohort", control="not_yet")
    county = d.groupby("unit")["county"].first()
    p = res.few_cluster_pvalue(county.reindex(res.panel.units))
    assert res.few_cluster_pvalue(county.sample(frac=1, random_state=1)) == pytest.approx(p)   # aligned on units
    with_gap = county.reindex(res.panel.units).astype(float).to_numpy().copy()
    with_gap[:3] = np.nan
    with pytest.raises(EstimationError, match="3 units have no cluster"):
        res.few_cluster_pvalue(with_gap)
    one = pd.Series(np.where(res.panel.G > 0, 0, 1 + np.arange(len(res.panel.G)) % 4), index=res.panel.units)
    with pytest.raises(EstimationError, match="every treated unit is in one cluster"):
        res.few_cluster_test(one, method="wild")
    with pytest.raises(EstimationError, match="without cluster 0"):
        res.few_cluster_test(one)


def test_imputation_gives_no_standard_error_when_every_cohort_holds_one_household():
    d = sized({0: 38, 3: 1, 4: 1}, effect=1.0)
    assert np.isnan(imputation(d, "y", "unit", "time", "cohort").aggregate("simple").loc["overall", "se"])
    assert np.isfinite(imputation(sized({0: 38, 3: 2, 4: 1}, effect=1.0), "y", "unit", "time", "cohort")
                       .aggregate("simple").loc["overall", "se"])


def test_the_group_aggregation_leaves_out_a_cohort_without_post_start_cells():
    d = sized({3: 20, 4: 20, 5: 20}, periods=6, effect=1.0)         # no never-treated: cohort 5 is nobody's control
    res = callaway_santanna(d, "y", "unit", "time", "cohort", control="not_yet")
    groups = res.aggregate("group")
    assert 5 not in groups.index and groups.loc["overall", "att"] == pytest.approx(1.0, abs=0.2)


def test_few_cluster_and_aggregation_arguments_are_checked():
    from helpers.sim.simcheck import few_cluster_draw

    d = few_cluster_draw(4, clusters=8)
    res = imputation(d, "y", "unit", "time", "cohort")
    codes = d.groupby("unit")["county"].first().reindex(res.panel.units).to_numpy()
    for reps in (0, -5):
        with pytest.raises(EstimationError, match="reps must be"):
            res.few_cluster_test(codes, method="wild", reps=reps)
    with pytest.raises(EstimationError, match="level must lie between 0 and 1"):
        res.few_cluster_ci(codes, level=1.5)
    with pytest.raises(EstimationError, match="have no treated observation"):
        res.aggregate("dynamic", horizons=[0, 40])
    cs = callaway_santanna(d, "y", "unit", "time", "cohort", control="not_yet")
    codes = d.groupby("unit")["county"].first().reindex(cs.panel.units).to_numpy()
    with pytest.raises(EstimationError, match="without cluster 6 the trend statistic is not defined"):
        cs.few_cluster_test(codes, "trend")                 # county 6 alone carries the latest event time
    d = few_cluster_draw(1, clusters=8)
    cs = callaway_santanna(d, "y", "unit", "time", "cohort", control="not_yet")
    codes = d.groupby("unit")["county"].first().reindex(cs.panel.units).to_numpy()
    by_hand = [callaway_santanna(d[d["county"] != c], "y", "unit", "time", "cohort", control="not_yet")
               .event_time_trend()["slope"] for c in range(8)]
    np.testing.assert_allclose(cs.few_cluster_test(codes, "trend").leave_one_out, by_hand, atol=1e-10)
    with pytest.raises(EstimationError, match="is the jackknife"):
        cs.few_cluster_test(codes, "trend", method="wild")


def test_no_rows_is_an_estimation_error_for_every_estimator():
    """A subgroup with no household (a county that sent nothing this quarter) raised IndexError in validate_rows and
    took the whole run down; it is an EstimationError every caller already handles."""
    empty = panel([0] * 5 + [3] * 5).iloc[:0]
    for fit in (lambda d: callaway_santanna(d, "y", "unit", "time", "cohort"),
                lambda d: imputation(d, "y", "unit", "time", "cohort"),
                lambda d: twfe(d, "y", "treated", "unit", "time")):
        with pytest.raises(EstimationError, match="no rows"):
            fit(empty)
