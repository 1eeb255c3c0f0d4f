"""The simulation check of analysis.md: estimators on many in-memory draws with known truth.

Each draw is a small ground-truth panel from the simulator (no Excel, no intake): per-capita
income, the first start of any support as cohort, and the true individual effects. Take-up
depends on the permanent income level only, so parallel trends hold by construction, and
effects differ by cohort and grow with time since start, so naive TWFE is biased.

For each draw the check records, for the simple and the dynamic (event-time) aggregates,
each estimator's estimate, standard error and the truth it targets: the same weighted
average of the true effects of the treated households in the estimation sample.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.analysis.effects import callaway_santanna, imputation
from helpers.domain.quarters import quarter_index
from helpers.sim.simulate import simulate_truth


def draw(seed: int, households: int = 400, first: str = "2021Q1", last: str = "2022Q4") -> pd.DataFrame:
    """One balanced estimation panel: unit, time, y (per-capita income), cohort (0 never), tau (true effect)."""
    # starts spread over the draw's own quarters (every household that takes up support starts inside them)
    truth = simulate_truth(households, seed, first, last, personal=False,
                           horizon=quarter_index(last) - quarter_index(first) + 1)
    p = truth.panel
    h = truth.households.set_index("household_code")
    start = np.where(h["industry_start_i"] < 0, h["employment_start_i"],
                     np.where(h["employment_start_i"] < 0, h["industry_start_i"],
                              np.minimum(h["industry_start_i"], h["employment_start_i"])))
    cohort = pd.Series(np.where(start < 0, 0, start), index=h.index)
    d = pd.DataFrame({"unit": p["household_code"], "time": p["t"], "y": p["income_per_capita"],
                      "tau": p["tau_total"]})
    d["cohort"] = cohort.reindex(d["unit"]).to_numpy()
    d["village"] = h["village"].reindex(d["unit"]).to_numpy()
    t0 = quarter_index(first)
    d = d[(d["cohort"] == 0) | (d["cohort"] > t0)]                  # always treated: out
    full = d.groupby("unit")["time"].transform("size") == d["time"].nunique()
    return d[full].reset_index(drop=True)


def true_targets(d: pd.DataFrame) -> dict[str, float]:
    """The truth each aggregate targets: the simple aggregate is the average effect over treated
    observations; the dynamic overall is the mean over event times e >= 0 of the average effect at e."""
    tr = d[(d["cohort"] > 0) & (d["time"] >= d["cohort"])]
    e = tr["time"] - tr["cohort"]
    by_e = tr.groupby(e)["tau"].mean()
    return {"simple": float(tr["tau"].mean()), "dynamic": float(by_e.mean()), **{f"e{k}": float(v) for k, v in by_e.items()}}


def twfe_within(d: pd.DataFrame) -> float:
    """Naive TWFE coefficient on a balanced panel by double demeaning (equal to pyfixest's feols)."""
    D = ((d["cohort"] > 0) & (d["time"] >= d["cohort"])).astype(float)
    def demean(x):
        x = pd.Series(np.asarray(x, dtype=float), index=d.index)
        return x - x.groupby(d["unit"]).transform("mean") - x.groupby(d["time"]).transform("mean") + x.mean()
    yd, Dd = demean(d["y"]), demean(D)
    return float((yd * Dd).sum() / (Dd * Dd).sum())


def run(draws: int = 1000, households: int = 400, seed0: int = 1) -> pd.DataFrame:
    """One row per draw and estimate: estimator, aggregate, estimate, se, truth."""
    rows = []
    for s in range(seed0, seed0 + draws):
        d = draw(s, households)
        truth = true_targets(d)
        cs = callaway_santanna(d, "y", "unit", "time", "cohort", control="not_yet")
        imp = imputation(d, "y", "unit", "time", "cohort")
        for name, res in (("callaway_santanna", cs), ("imputation", imp)):
            for kind in ("simple", "dynamic"):
                agg = res.aggregate(kind)
                rows.append((s, name, kind, agg.loc["overall", "att"], agg.loc["overall", "se"], truth[kind]))
                if kind == "dynamic":
                    for e in (0, 2, 4):
                        if e in agg.index and f"e{e}" in truth:
                            rows.append((s, name, f"e{e}", agg.loc[e, "att"], agg.loc[e, "se"], truth[f"e{e}"]))
        rows.append((s, "twfe", "simple", twfe_within(d), np.nan, truth["simple"]))
        clustered = callaway_santanna(d, "y", "unit", "time", "cohort", control="not_yet", cluster="village")
        rows.append((s, "pretest_unit", "pvalue", cs.pretest()["pvalue"], np.nan, np.nan))
        rows.append((s, "pretest_village", "pvalue", clustered.pretest()["pvalue"], np.nan, np.nan))
    return pd.DataFrame(rows, columns=["draw", "estimator", "aggregate", "estimate", "se", "truth"])


def summarize(results: pd.DataFrame) -> pd.DataFrame:
    """Mean error, Monte Carlo standard error of the mean error, and 95% coverage, per estimator and aggregate."""
    r = results.assign(error=results["estimate"] - results["truth"],
                       covered=(results["estimate"] - 1.959964 * results["se"] <= results["truth"])
                       & (results["truth"] <= results["estimate"] + 1.959964 * results["se"]))
    g = r.groupby(["estimator", "aggregate"])
    out = pd.DataFrame({"draws": g.size(), "mean_error": g["error"].mean(),
                        "mc_se": g["error"].std() / np.sqrt(g.size()), "coverage": g["covered"].mean(),
                        "mean_truth": g["truth"].mean()})
    out.loc[out.index.get_level_values(0) == "twfe", "coverage"] = np.nan
    return out


def few_cluster_draw(seed: int, clusters: int = 5, per_cluster: int = 40, periods: int = 8,
                     shock_sd: float = 1.0, noise_sd: float = 1.0) -> pd.DataFrame:
    """A panel with a true null and the problem of few clusters: ``clusters`` counties, each with its
    own county-by-period shocks (``shock_sd``) and its own treatment timing (a county-specific share
    treated, starting in a county-specific window), household effects and noise; every effect is 0.
    Columns: unit, time (1..periods), cohort (0 never), county, y."""
    rng = np.random.default_rng(seed)
    county = np.repeat(np.arange(clusters), per_cluster)
    n = len(county)
    share = rng.uniform(0.3, 0.7, clusters)[county]
    first = rng.integers(3, periods, clusters)[county]            # county-specific start window
    start = np.minimum(first + rng.integers(0, 3, n), periods)
    cohort = np.where(rng.random(n) < share, start, 0)
    t = np.arange(1, periods + 1)
    y = (rng.normal(0, 1, n)[:, None] + 0.3 * t[None, :] + rng.normal(0, shock_sd, (clusters, periods))[county]
         + rng.normal(0, noise_sd, (n, periods)))
    return pd.DataFrame({"unit": np.repeat(np.arange(n), periods), "time": np.tile(t, n),
                         "cohort": np.repeat(cohort, periods), "county": np.repeat(county, periods), "y": y.ravel()})


def few_cluster_run(draws: int = 1000, clusters: int = 5, seed0: int = 1, estimators=("callaway_santanna", "imputation"),
                    methods=("jackknife",), kinds=("simple",), **kw) -> pd.DataFrame:
    """Size of the few-cluster tests under a true null: one row per draw, estimator, aggregate and method
    with the p-value of H0: effect = 0 and the 95% interval, and the normal-approximation p-value with
    county-clustered standard errors for comparison."""
    from scipy import stats

    rows = []
    for s in range(seed0, seed0 + draws):
        d = few_cluster_draw(s, clusters, **kw)
        for name in estimators:
            res = (callaway_santanna(d, "y", "unit", "time", "cohort", control="not_yet", cluster="county")
                   if name == "callaway_santanna" else imputation(d, "y", "unit", "time", "cohort", cluster="county"))
            codes = d.groupby("unit")["county"].first().reindex(res.panel.units).to_numpy()
            for kind in kinds:
                a = res.aggregate(kind).loc["overall"]
                normal = 2 * stats.norm.sf(abs(a["att"] / a["se"]))
                for method in methods:
                    test = res.few_cluster_test(codes, kind, method)
                    lo, hi = test.ci(0.95)
                    rows.append((s, name, kind, method, test.pvalue(0.0), lo, hi, normal))
    return pd.DataFrame(rows, columns=["draw", "estimator", "aggregate", "method", "pvalue", "ci_low", "ci_high",
                                       "pvalue_normal"])


def few_cluster_size(results: pd.DataFrame, level: float = 0.05) -> pd.DataFrame:
    """Rejection rates at ``level`` (the test's size under the true null), interval coverage of 0, and the
    normal approximation's rejection rate, per estimator, aggregate and method."""
    r = results.assign(reject=results["pvalue"] < level, covers=(results["ci_low"] <= 0) & (0 <= results["ci_high"]),
                       reject_normal=results["pvalue_normal"] < level)
    g = r.groupby(["estimator", "aggregate", "method"])
    return pd.DataFrame({"draws": g.size(), "rejection": g["reject"].mean(), "coverage": g["covers"].mean(),
                         "rejection_normal": g["reject_normal"].mean()})
