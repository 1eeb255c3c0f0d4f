"""The county-level few-cluster check: exact mechanics against brute force, and its size under a true null
with county-by-period shocks and county-dependent timing (the simulation check of analysis.md)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.sim import simcheck
from helpers.analysis.effects import EstimationError, callaway_santanna, imputation
from helpers.analysis.effects.few_clusters import restricted_residuals, webb_draws
from helpers.analysis.effects.panel import twoway_solve

ESTIMATORS = {"cs": lambda d: callaway_santanna(d, "y", "unit", "time", "cohort", control="not_yet", cluster="county"),
              "imputation": lambda d: imputation(d, "y", "unit", "time", "cohort", cluster="county")}


def _codes(d, res):
    return d.groupby("unit")["county"].first().reindex(res.panel.units).to_numpy()


@pytest.fixture(scope="module")
def data():
    d = simcheck.few_cluster_draw(11, clusters=5)
    d["y"] = d["y"] + 0.4 * ((d["cohort"] > 0) & (d["time"] >= d["cohort"]))        # a true effect of 0.4
    return d


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_wild_bootstrap_draws_equal_re_estimating_on_the_bootstrap_sample(data, name):
    res = ESTIMATORS[name](data)
    codes = _codes(data, res)
    test = res.few_cluster_test(codes, "simple", method="wild")
    a = res.aggregate("simple").loc["overall"]
    t_obs, _ = test._stats(0.0)
    assert t_obs * res.n == pytest.approx(a["att"] / a["se"], rel=1e-9)       # the observed t is the all-ones draw
    assert test.se() == pytest.approx(a["se"], rel=1e-9)                       # county-clustered, as the result's
    p, theta0 = res.panel, 0.25
    M, D = p.observed, p.treated.astype(float)
    Z = np.where(M, p.Y - theta0 * D, 0.0)
    fa, fl = twoway_solve(M, Z.sum(axis=1), Z.sum(axis=0))
    fitted = fa[:, None] + fl[None, :]
    for v in (webb_draws(5)[0][1234], np.array([1.0, -1.0, 1.5 ** 0.5, -(0.5 ** 0.5), 1.0])):
        y_star = fitted + theta0 * D + v[codes][:, None] * (p.Y - theta0 * D - fitted)
        est, psi = res._overall_for_outcome(y_star, ["simple"])["simple"]
        sums = np.bincount(codes, psi, 5)
        assert est == pytest.approx(theta0 + (test.r_y - theta0 * test.r_d) @ v, abs=1e-10)
        np.testing.assert_allclose(sums, (test.k_y - theta0 * test.k_d) @ v, atol=1e-8)


def test_wild_bootstrap_enumerates_every_draw_with_five_clusters_and_inverts_its_test(data):
    draws, exact = webb_draws(5)
    assert exact and draws.shape == (6 ** 5, 5) and len(np.unique(draws, axis=0)) == 7776
    assert not webb_draws(8, reps=999)[1]
    res = ESTIMATORS["cs"](data)
    test = res.few_cluster_test(_codes(data, res), "simple", method="wild")
    assert test.pvalue(test.estimate) > 0.999
    lo, hi = test.ci(0.95)
    assert lo < test.estimate < hi
    assert test.pvalue(lo + 1e-6 * (hi - lo)) > 0.05 and test.pvalue(lo - 1e-3 * (hi - lo)) <= 0.05
    assert test.pvalue(hi - 1e-6 * (hi - lo)) > 0.05 and test.pvalue(hi + 1e-3 * (hi - lo)) <= 0.05
    u_y, u_d = restricted_residuals(res.panel)
    assert np.nanmax(np.abs(np.nansum(u_y, axis=0))) < 1e-8                       # residuals of period effects


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_cluster_jackknife_re_estimates_without_each_cluster(data, name):
    res = ESTIMATORS[name](data)
    test = res.few_cluster_test(_codes(data, res), "simple")
    by_hand = [ESTIMATORS[name](data[data["county"] != c]).aggregate("simple").loc["overall", "att"] for c in range(5)]
    np.testing.assert_allclose(test.leave_one_out, by_hand, atol=1e-10)
    lo, hi = res.few_cluster_ci(_codes(data, res), "simple")
    assert (lo, hi) == pytest.approx(test.ci(0.95))
    p = res.few_cluster_pvalue(_codes(data, res), "simple")
    assert (p < 0.05) == (not lo <= 0 <= hi)                                      # the interval inverts the test
    assert test.pvalue(lo) == pytest.approx(0.05) and test.pvalue(hi) == pytest.approx(0.05)


def test_few_cluster_check_refuses_what_it_cannot_do(data):
    res = ESTIMATORS["cs"](data)
    with pytest.raises(EstimationError, match="one value per unit"):
        res.few_cluster_pvalue(np.zeros(3))
    with pytest.raises(EstimationError, match="at least two clusters"):
        res.few_cluster_pvalue(np.zeros(len(res.panel.units)))
    with pytest.raises(EstimationError, match="method"):
        res.few_cluster_test(_codes(data, res), method="normal")


@pytest.fixture(scope="module")
def size():
    """1,000 draws under a true null at 5 and at 8 counties, both robust estimators, the default method."""
    runs = [simcheck.few_cluster_run(1000, clusters, kinds=("simple", "dynamic")).assign(clusters=clusters)
            for clusters in (5, 8)]
    results = pd.concat(runs, ignore_index=True)
    return {c: simcheck.few_cluster_size(results[results["clusters"] == c]) for c in (5, 8)}


@pytest.mark.slow
@pytest.mark.timeout(1200)
@pytest.mark.parametrize("clusters", [5, 8])
def test_the_few_cluster_test_holds_its_size_where_the_normal_approximation_does_not(size, clusters):
    table = size[clusters]
    print(f"\nfew-cluster check, {clusters} clusters:\n{table.to_string()}")
    for estimator in ("callaway_santanna", "imputation"):
        row = table.loc[(estimator, "simple", "jackknife")]
        assert row["draws"] == 1000
        assert 0.02 <= row["rejection"] <= 0.08, (estimator, row.to_dict())
        assert row["rejection_normal"] > 0.08, (estimator, row.to_dict())   # what the plain clustered SE would do
        dynamic = table.loc[(estimator, "dynamic", "jackknife")]
        assert dynamic["rejection"] <= 0.08, (estimator, dynamic.to_dict())  # never liberal; can be conservative
