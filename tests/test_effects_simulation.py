"""The simulation check of analysis.md on 1,000 in-memory draws of the simulator's ground truth."""
from __future__ import annotations

import pytest

from helpers.sim import simcheck

pytestmark = pytest.mark.slow       # 1,000 simulated draws: not in the fast tests


@pytest.fixture(scope="module")
def results():
    return simcheck.run(draws=1000, households=400)


@pytest.fixture(scope="module")
def summary(results):
    return simcheck.summarize(results[~results["estimator"].str.startswith("pretest")])


def test_pre_trend_tests_reject_at_about_their_level_when_trends_are_parallel(results):
    for test in ("pretest_unit", "pretest_village"):
        p = results.loc[results["estimator"] == test, "estimate"].dropna()
        assert len(p) >= 990
        assert 0.02 <= (p < 0.05).mean() <= 0.12, (test, (p < 0.05).mean())   # slightly above 5%: see methods.md


@pytest.mark.timeout(900)
def test_callaway_santanna_covers_at_the_nominal_rate(summary):
    for aggregate in ("simple", "dynamic"):
        row = summary.loc[("callaway_santanna", aggregate)]
        assert row["draws"] == 1000
        assert 0.927 <= row["coverage"] <= 0.973, (aggregate, row["coverage"])
        assert abs(row["mean_error"]) <= 3 * row["mc_se"], (aggregate, row.to_dict())   # unbiased


def test_imputation_is_conservative_and_unbiased(summary):
    for aggregate in ("simple", "dynamic"):
        row = summary.loc[("imputation", aggregate)]
        assert row["coverage"] >= 0.927, (aggregate, row["coverage"])
        assert abs(row["mean_error"]) <= 3 * row["mc_se"], (aggregate, row.to_dict())


def test_event_time_estimates_cover_too(summary):
    for estimator in ("callaway_santanna", "imputation"):
        for e in ("e0", "e2", "e4"):
            assert summary.loc[(estimator, e), "coverage"] >= 0.92, (estimator, e)


def test_naive_twfe_is_biased_when_effects_grow_and_differ_by_cohort(summary):
    row = summary.loc[("twfe", "simple")]
    assert abs(row["mean_error"]) > 3 * row["mc_se"], row.to_dict()


def test_the_fast_twfe_of_the_check_equals_pyfixest():
    from helpers.analysis.effects import twfe

    d = simcheck.draw(5, 200)
    d["treated"] = ((d["cohort"] > 0) & (d["time"] >= d["cohort"])).astype(int)
    assert simcheck.twfe_within(d) == pytest.approx(twfe(d, "y", "treated", "unit", "time").coef, rel=1e-8)
