"""Power of the pre-trend test against a linear violation of parallel trends (Roth 2022), as in R's
``pretrends`` package.

Roth, J. (2022), "Pretest with Caution: Event-Study Estimates after Testing for Parallel Trends",
AER: Insights 4(3), 305-322; R package ``pretrends`` (github.com/jonathandroth/pretrends).

A passed pre-trend test says little when the test could not have detected a violation that
matters. This module answers: if the true difference in trends were linear with slope ``s``,
how often would the pre-test reject (``pretrend_power``), and which slope does it detect with
50% or 80% probability (``slope_for_power``)? ``pretrends`` adds R's further outputs: the Bayes
factor and likelihood ratio of the hypothesized trend against parallel trends, and the expected
event-study coefficients conditional on passing the pre-test (the bias that pre-testing leaves).

**Assumptions, stated plainly.**

- The pre-period coefficients are normal with mean ``delta_pre`` (the hypothesized violation) and
  covariance ``sigma_pre``, and ``sigma_pre`` is the true covariance (it is not re-estimated in
  each draw). This is the asymptotic approximation both R's package and the workbook's test rely on.
- The violation is linear in event time: ``delta_t = slope * (t - reference)``, ``t`` the event
  time of a coefficient and ``reference`` the omitted period (default -1, so pre-period event
  times -5..-2 carry -4..-1 times the slope and post-period times 0..k carry 1..k+1 times it). This
  holds for coefficients measured against one common reference period (Roth's event study, the
  workbook's ``base_period="universal"``). With ``base_period="varying"`` (the workbook's
  Callaway-Sant'Anna default) each pre-period term is a one-period change, so a linear trend shows
  as the same value ``slope`` in every pre-period term: pass ``base_period="varying"`` and the
  module uses that instead.
- Power does not depend on the sign of the slope (both acceptance regions are symmetric about 0).

**The two pre-tests.**

- ``test="wald"``: the workbook's own test (``CSResult.pretest``, ``wald_test`` in
  ``analysis.effects.callaway_santanna``): reject when ``b' sigma_pre^{-1} b`` exceeds the
  ``1 - level`` quantile of chi-squared with ``k`` degrees of freedom. Under the violation the
  statistic is noncentral chi-squared with noncentrality ``delta' sigma_pre^{-1} delta``, so the
  power is exact (``scipy.stats.ncx2``). With ``clusters=G`` the power is that of the workbook's
  clustered test, the Hotelling-type ``F = (G-k)/(k(G-1)) W`` against F(k, G-k): noncentral F with
  the same noncentrality (exact when the G cluster sums are normal).
- ``test="any_t"``: R ``pretrends``' (and Roth's) test: reject when any pre-period coefficient has
  ``|t| > threshold`` (default ``norm.ppf(1 - level/2)`` = 1.95996 at 5%; R uses exactly 1.96,
  pass ``threshold=1.96`` to match it to the last digit). Its size is not ``level``: with three
  pre-periods it lies between 5% and 1 - 0.95^3 = 14.3% (Sidak's inequality), depending on their
  correlation (12.1% in R's He and Wang example). The acceptance probability is a multivariate
  normal rectangle probability, computed with ``scipy.stats.multivariate_normal.cdf``
  (Genz's quasi-Monte Carlo integration, absolute error target ``MVN_ABSEPS``, its randomization
  seeded with ``seed`` so the same inputs always give the same number). R computes the same
  probability with ``mvtnorm::pmvnorm`` (same algorithm, its default error target 1e-3, unseeded).

``sims=N`` replaces either computation by a Monte Carlo estimate from ``N`` seeded draws (a check
on the exact computations; its standard error is about ``sqrt(p(1-p)/N)``).

The expected coefficients after passing the pre-test (``mean_after_pretest``) are exact up to the
rectangle probabilities: for ``any_t`` the truncated multivariate normal mean of Tallis (1961) /
Manjunath and Wilhelm (2021), what R's ``tmvtnorm::mtmvnorm`` computes; for ``wald`` (an
ellipsoid) a one-dimensional integral after whitening. Post-period coefficients move with the
pre-period ones through their covariance: ``E[b_post | pass] = delta_post + S_post,pre S_pre^{-1}
(E[b_pre | pass] - delta_pre)``, as in R. Clustered (F) tests are covered by power and
``slope_for_power`` only.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import integrate, optimize, stats

TESTS = ("wald", "any_t")
BASE_PERIODS = ("universal", "varying")
MVN_ABSEPS = 1e-6      # absolute error target of the rectangle probabilities (any_t)
SINGULAR_TOL = 1e-10   # smallest eigenvalue of the correlation matrix, relative to the largest (as wald_test)


# --------------------------------------------------------------------------- checks


def check_sigma(sigma, name: str = "sigma_pre") -> np.ndarray:
    """``sigma`` as a float matrix, refused with a ValueError unless it is a square, symmetric,
    finite covariance matrix of full rank with positive variances. The rank is judged on the
    correlation matrix (eigenvalues below ``SINGULAR_TOL`` times the largest count as zero), the
    criterion of the workbook's Wald test, so the refusal does not depend on the outcome's units."""
    S = np.atleast_2d(np.asarray(sigma, dtype=float))
    if S.ndim != 2 or S.shape[0] != S.shape[1]:
        raise ValueError(f"{name} must be a square matrix, got shape {S.shape}")
    k = S.shape[0]
    if k == 0:
        raise ValueError(f"{name} is empty: there are no pre-period coefficients to test")
    if not np.isfinite(S).all():
        raise ValueError(f"{name} has non-finite entries")
    if not np.allclose(S, S.T, rtol=1e-8, atol=1e-12 * np.abs(S).max()):
        raise ValueError(f"{name} must be symmetric")
    d = np.diag(S)
    if (d <= 0).any():
        zero = [int(i) for i in np.flatnonzero(d <= 0)]
        raise ValueError(f"{name} is singular: rank {k - len(zero)} or less, dimension {k} "
                         f"(the variance of term(s) {zero} is not positive)")
    R = S / np.sqrt(np.outer(d, d))
    eig = np.linalg.eigvalsh((R + R.T) / 2)
    rank = int((eig > SINGULAR_TOL * eig.max()).sum())
    if rank < k:
        raise ValueError(f"{name} is singular: rank {rank}, dimension {k} (some pre-period coefficients are "
                         "linear combinations of others); no test and no power can be computed from it")
    return (S + S.T) / 2


def _check_test(test: str, level: float) -> None:
    if test not in TESTS:
        raise ValueError(f"test must be one of {TESTS}, not {test!r}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), not {level}")


def linear_trend(times, slope: float, reference: float = -1, base_period: str = "universal") -> np.ndarray:
    """The coefficients a linear difference in trends of ``slope`` per period produces at event
    times ``times``: ``slope * (t - reference)`` for coefficients against the common reference
    period (``base_period="universal"``), ``slope`` for every pre-period term when each is a
    one-period change (``base_period="varying"``; post-period terms are then still
    ``slope * (t - reference)``, as they are measured against the last pre-period)."""
    if base_period not in BASE_PERIODS:
        raise ValueError(f"base_period must be one of {BASE_PERIODS}, not {base_period!r}")
    t = np.asarray(times, dtype=float).ravel()
    out = slope * (t - reference)
    if base_period == "varying":
        out = np.where(t < reference + 1, slope, out)   # every pre-period term (t <= reference) is a one-period change
    return out


def _pre_direction(sigma_pre, pre_times, reference, base_period):
    S = check_sigma(sigma_pre)
    w = linear_trend(pre_times, 1.0, reference, base_period)
    if len(w) != S.shape[0]:
        raise ValueError(f"pre_times has {len(w)} entries but sigma_pre is {S.shape[0]} x {S.shape[0]}")
    if not w.any():
        raise ValueError("every pre-period time equals the reference period: a linear trend is zero there")
    return S, w


# --------------------------------------------------------------------------- power


def critical_t(level: float = 0.05, threshold: float | None = None) -> float:
    """The |t| above which the any-t test calls a coefficient significant."""
    return float(stats.norm.ppf(1 - level / 2)) if threshold is None else float(threshold)


def _wald_critical(k: int, level: float, clusters: int | None) -> float:
    if clusters is None:
        return float(stats.chi2.ppf(1 - level, k))
    return float(stats.f.ppf(1 - level, k, clusters - k))


def _wald_power_nc(nc: float, k: int, level: float, clusters: int | None) -> float:
    c = _wald_critical(k, level, clusters)
    if clusters is None:
        return float(stats.ncx2.sf(c, k, nc)) if nc > 0 else float(stats.chi2.sf(c, k))
    return float(stats.ncf.sf(c, k, clusters - k, nc)) if nc > 0 else float(stats.f.sf(c, k, clusters - k))


def _box_acceptance(S: np.ndarray, delta: np.ndarray, thr: float, seed: int) -> float:
    """P(|b_j| <= thr * se_j for all j), b ~ N(delta, S)."""
    ub = thr * np.sqrt(np.diag(S))
    if len(delta) == 1:
        sd = ub[0] / thr
        return float(stats.norm.cdf(ub[0], delta[0], sd) - stats.norm.cdf(-ub[0], delta[0], sd))
    p = stats.multivariate_normal.cdf(ub, mean=delta, cov=S, lower_limit=-ub, abseps=MVN_ABSEPS, releps=0,
                                      rng=np.random.default_rng(seed))
    return float(np.clip(p, 0.0, 1.0))


def _simulate_rejection(S, delta, test, level, thr, sims, seed) -> float:
    draws = np.random.default_rng(seed).multivariate_normal(delta, S, size=int(sims), method="cholesky")
    if test == "wald":
        W = np.einsum("ij,ij->i", draws @ np.linalg.inv(S), draws)
        return float((W > _wald_critical(len(delta), level, None)).mean())
    return float((np.abs(draws) > thr * np.sqrt(np.diag(S))).any(axis=1).mean())


def rejection_probability(sigma_pre, delta_pre, test: str = "wald", level: float = 0.05, sims: int | None = None,
                          *, clusters: int | None = None, threshold: float | None = None, seed: int = 0) -> float:
    """Probability that the pre-test rejects when the pre-period coefficients are N(delta_pre,
    sigma_pre): the power against any hypothesized violation ``delta_pre`` (its size when 0).
    See the module docstring for the two tests, ``clusters``, ``threshold`` and ``sims``."""
    _check_test(test, level)
    S = check_sigma(sigma_pre)
    delta = np.asarray(delta_pre, dtype=float).ravel()
    k = S.shape[0]
    if len(delta) != k:
        raise ValueError(f"delta_pre has {len(delta)} entries but sigma_pre is {k} x {k}")
    if clusters is not None:
        if test != "wald":
            raise ValueError("clusters applies to the Wald test only (the workbook's clustered F test)")
        if sims is not None:
            raise ValueError("sims is not available for the clustered F test (its power is exact)")
        if clusters - 1 <= k:
            raise ValueError(f"{clusters} clusters are too few to test {k} pre-period terms jointly "
                             f"(more than {k + 1} needed), as in the workbook's test")
    thr = critical_t(level, threshold)
    if sims is not None:
        return _simulate_rejection(S, delta, test, level, thr, sims, seed)
    if test == "wald":
        return _wald_power_nc(float(delta @ np.linalg.solve(S, delta)), k, level, clusters)
    return 1.0 - _box_acceptance(S, delta, thr, seed)


def pretest_size(sigma_pre, test: str = "wald", level: float = 0.05, *, clusters: int | None = None,
                 threshold: float | None = None, seed: int = 0) -> float:
    """The pre-test's rejection probability under parallel trends: ``level`` for the Wald test,
    ``1 - P(no |t| > threshold)`` for the any-t test (larger than ``level`` with several pre-periods)."""
    S = check_sigma(sigma_pre)
    return rejection_probability(S, np.zeros(S.shape[0]), test, level, clusters=clusters, threshold=threshold,
                                 seed=seed)


def pretrend_power(sigma_pre, pre_times, slope: float, test: str = "wald", level: float = 0.05,
                   sims: int | None = None, *, reference: float = -1, base_period: str = "universal",
                   clusters: int | None = None, threshold: float | None = None, seed: int = 0) -> float:
    """Probability that the pre-test rejects when the true difference in trends is linear,
    ``delta_t = slope * (t - reference)`` at the pre-period event times ``pre_times``.

    ``sigma_pre`` is the covariance of the tested pre-period coefficients (in the order of
    ``pre_times``; only the terms the test uses: the workbook's test leaves out terms on too few
    treated households, see ``CSResult.pretest``). ``test="wald"`` is the workbook's joint test
    (``clusters=G`` for its clustered F version), ``test="any_t"`` R pretrends' test; the module
    docstring gives the computations and their assumptions."""
    S, w = _pre_direction(sigma_pre, pre_times, reference, base_period)
    return rejection_probability(S, slope * w, test, level, sims, clusters=clusters, threshold=threshold, seed=seed)


def slope_for_power(sigma_pre, pre_times, power: float = 0.8, test: str = "wald", level: float = 0.05,
                    sims: int | None = None, *, reference: float = -1, base_period: str = "universal",
                    clusters: int | None = None, threshold: float | None = None, seed: int = 0,
                    xtol: float = 1e-12) -> float:
    """The positive slope of a linear trend that the pre-test detects with probability ``power``
    (R's ``slope_for_power``; Roth's "trend with 50% / 80% power"). Power rises with the slope's
    magnitude, so the slope is unique. Wald: the noncentrality with that power is solved for, then
    ``slope = sqrt(nc / (w' sigma_pre^{-1} w))``. Any-t: the power is solved for the slope by
    Brent's method (to ``xtol``; the rectangle probabilities carry an error of about ``MVN_ABSEPS``).
    A ``power`` at or below the test's size is refused: every slope, 0 included, reaches it."""
    _check_test(test, level)
    if not 0 < power < 1:
        raise ValueError(f"power must be in (0, 1), not {power}")
    S, w = _pre_direction(sigma_pre, pre_times, reference, base_period)
    size = rejection_probability(S, 0 * w, test, level, sims, clusters=clusters, threshold=threshold, seed=seed)
    if power <= size:
        raise ValueError(f"power {power} is not above the test's size {size:.4f}: no positive slope is needed")
    if test == "wald" and sims is None:
        k = S.shape[0]
        hi = 1.0
        while _wald_power_nc(hi, k, level, clusters) < power:
            hi *= 2
        nc = optimize.brentq(lambda x: _wald_power_nc(x, k, level, clusters) - power, 0.0, hi, xtol=1e-13, rtol=1e-14)
        return float(np.sqrt(nc / (w @ np.linalg.solve(S, w))))

    def gap(s):
        return rejection_probability(S, s * w, test, level, sims, clusters=clusters, threshold=threshold,
                                     seed=seed) - power

    hi = float(np.sqrt(np.diag(S)).max() / np.abs(w).max())   # one standard error at the farthest term
    while gap(hi) < 0:
        hi *= 2
        if hi > 1e6 * np.sqrt(np.diag(S)).max():
            raise ValueError(f"no slope reaches power {power}")
    return float(optimize.brentq(gap, 0.0, hi, xtol=xtol))


def power_table(sigma_pre, pre_times, powers=(0.5, 0.8), test: str = "wald", level: float = 0.05,
                **kwargs) -> pd.DataFrame:
    """``slope_for_power`` at each power in ``powers`` (default 50% and 80%): columns ``power``,
    ``slope``, ``test``. Keyword arguments go to ``slope_for_power``."""
    rows = [{"power": p, "slope": slope_for_power(sigma_pre, pre_times, p, test, level, **kwargs), "test": test}
            for p in powers]
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- after pre-testing


def _box_truncated_mean(S: np.ndarray, mu: np.ndarray, thr: float, seed: int) -> tuple[np.ndarray, float]:
    """E[b | |b_j| <= thr se_j for all j] for b ~ N(mu, S), and the acceptance probability.
    Tallis (1961): E[b] = mu + S (F(a) - F(b)) / P, where F_j(x) is the density of b_j at x times
    the probability that the other coordinates fall in their intervals given b_j = x."""
    k = len(mu)
    ub = thr * np.sqrt(np.diag(S))
    P = _box_acceptance(S, mu, thr, seed)
    if P <= 0:
        raise ValueError("the pre-test is (numerically) never passed under this trend: no conditional mean")
    F = np.zeros((k, 2))
    for j in range(k):
        others = [i for i in range(k) if i != j]
        for side, x in enumerate((-ub[j], ub[j])):
            dens = stats.norm.pdf(x, mu[j], np.sqrt(S[j, j]))
            if k == 1:
                F[j, side] = dens
                continue
            Sj = S[np.ix_(others, [j])][:, 0]
            m = mu[others] + Sj / S[j, j] * (x - mu[j])
            C = S[np.ix_(others, others)] - np.outer(Sj, Sj) / S[j, j]
            lo, hi = -ub[others], ub[others]
            if len(others) == 1:
                sd = np.sqrt(C[0, 0])
                q = stats.norm.cdf(hi[0], m[0], sd) - stats.norm.cdf(lo[0], m[0], sd)
            else:
                q = stats.multivariate_normal.cdf(hi, mean=m, cov=C, lower_limit=lo, abseps=MVN_ABSEPS, releps=0,
                                                  rng=np.random.default_rng(seed))
            F[j, side] = dens * q
    return mu + S @ (F[:, 0] - F[:, 1]) / P, P


def _ellipsoid_truncated_mean(S: np.ndarray, mu: np.ndarray, c: float) -> tuple[np.ndarray, float]:
    """E[b | b' S^{-1} b <= c] for b ~ N(mu, S), and the acceptance probability. With S = L L' and
    z = L^{-1} b ~ N(m, I), m = L^{-1} mu, the region is the ball |z|^2 <= c; by symmetry the
    conditional mean of z lies along m, and its length is a one-dimensional integral over the
    coordinate z1 along m (the others' squared length is chi-squared with k-1 degrees of freedom)."""
    k = len(mu)
    L = np.linalg.cholesky(S)
    m = np.linalg.solve(L, mu)
    r = float(np.linalg.norm(m))
    rc = np.sqrt(c)
    rest = (lambda z: 1.0) if k == 1 else (lambda z: stats.chi2.cdf(max(c - z * z, 0.0), k - 1))
    P = integrate.quad(lambda z: stats.norm.pdf(z - r) * rest(z), -rc, rc, epsabs=1e-13, epsrel=1e-11, limit=200)[0]
    if P <= 0:
        raise ValueError("the pre-test is (numerically) never passed under this trend: no conditional mean")
    if r == 0:
        return np.zeros(k), P
    e1 = integrate.quad(lambda z: z * stats.norm.pdf(z - r) * rest(z), -rc, rc, epsabs=1e-13, epsrel=1e-11,
                        limit=200)[0]
    return L @ (m / r * e1 / P), P


def mean_after_pretest(sigma, delta, pre, test: str = "wald", level: float = 0.05, *,
                       threshold: float | None = None, sims: int | None = None, seed: int = 0) -> np.ndarray:
    """Expected event-study coefficients conditional on passing the pre-test, when the true
    coefficients are ``delta`` (a hypothesized violation, no treatment effect) with covariance
    ``sigma`` (all coefficients, pre and post). ``pre`` is a boolean mask (or indices) of the
    pre-period coefficients the test uses; the others are post-period coefficients, which shift
    through their covariance with the pre-period ones (R pretrends' ``meanAfterPretesting``).
    ``mean_after_pretest - delta`` is the bias pre-testing adds; in the post period the whole
    ``mean_after_pretest`` is the bias of the effect estimates, as ``delta`` is all violation.
    ``sims=N``: a Monte Carlo estimate from N seeded draws instead."""
    _check_test(test, level)
    Sall = check_sigma(sigma, "sigma")
    delta = np.asarray(delta, dtype=float).ravel()
    n = Sall.shape[0]
    if len(delta) != n:
        raise ValueError(f"delta has {len(delta)} entries but sigma is {n} x {n}")
    mask = np.zeros(n, dtype=bool)
    mask[np.asarray(pre)] = True
    if not mask.any():
        raise ValueError("no pre-period coefficient to test")
    S = Sall[np.ix_(mask, mask)]
    thr = critical_t(level, threshold)
    if sims is not None:
        draws = np.random.default_rng(seed).multivariate_normal(delta, Sall, size=int(sims), method="cholesky")
        bp = draws[:, mask]
        if test == "wald":
            keep = np.einsum("ij,ij->i", bp @ np.linalg.inv(S), bp) <= _wald_critical(S.shape[0], level, None)
        else:
            keep = (np.abs(bp) <= thr * np.sqrt(np.diag(S))).all(axis=1)
        if not keep.any():
            raise ValueError("no simulated draw passes the pre-test")
        return draws[keep].mean(axis=0)
    if test == "wald":
        mean_pre, _ = _ellipsoid_truncated_mean(S, delta[mask], _wald_critical(S.shape[0], level, None))
    else:
        mean_pre, _ = _box_truncated_mean(S, delta[mask], thr, seed)
    out = delta.copy()
    out[mask] = mean_pre
    post = ~mask
    if post.any():
        out[post] = delta[post] + Sall[np.ix_(post, mask)] @ np.linalg.solve(S, mean_pre - delta[mask])
    return out


@dataclass(frozen=True)
class PretrendsResult:
    """R ``pretrends()``'s outputs. ``power``: probability the pre-test rejects under the
    hypothesized trend; ``size``: the same under parallel trends; ``bayes_factor``: probability of
    passing under the trend over that under parallel trends, ``(1 - power) / (1 - size)``;
    ``likelihood_ratio``: density of the estimated pre-period coefficients under the trend over
    that under parallel trends; ``table``: per event time ``t``, ``betahat``, ``delta`` (the
    hypothesized trend), ``se``, ``mean_after_pretest`` (expected coefficient conditional on
    passing, when the truth is ``delta``) and ``bias_after_pretest`` (``mean_after_pretest -
    delta``); the reference period is a row of zeros, as in R."""
    power: float
    size: float
    bayes_factor: float
    likelihood_ratio: float
    test: str
    table: pd.DataFrame


def pretrends(betahat, sigma, times, delta=None, *, slope: float | None = None, reference: float = -1,
              test: str = "wald", level: float = 0.05, base_period: str = "universal",
              threshold: float | None = None, seed: int = 0) -> PretrendsResult:
    """R's ``pretrends(betahat, sigma, deltatrue, tVec, referencePeriod)``: power, Bayes factor,
    likelihood ratio and the expected coefficients after pre-testing, for a hypothesized violation
    ``delta`` (one value per coefficient) or a linear one of ``slope`` (exactly one of the two).
    Pre-period coefficients are those with ``times < reference``, post-period ones ``times >
    reference`` (R's defaults; with ``base_period="varying"`` the pre-period ones are ``times <=
    reference``, one-period changes); a coefficient at the reference period itself (zero by
    construction, its variance 0) is left out of the computations. Use ``test="any_t", threshold=1.96`` for R's numbers."""
    _check_test(test, level)
    b = np.asarray(betahat, dtype=float).ravel()
    t = np.asarray(times, dtype=float).ravel()
    Sall = np.atleast_2d(np.asarray(sigma, dtype=float))
    if not len(b) == len(t) == Sall.shape[0] == Sall.shape[1]:
        raise ValueError(f"betahat ({len(b)}), times ({len(t)}) and sigma {Sall.shape} must agree in size")
    if (delta is None) == (slope is None):
        raise ValueError("give exactly one of delta and slope")
    d = linear_trend(t, slope, reference, base_period) if delta is None else np.asarray(delta, dtype=float).ravel()
    if len(d) != len(b):
        raise ValueError(f"delta has {len(d)} entries, betahat {len(b)}")
    # one-period changes (varying base) test the reference period's own term too
    pre = t < reference if base_period == "universal" else t <= reference
    post = t > reference
    if not pre.any():
        raise ValueError(f"no coefficient has an event time before the reference period {reference}")
    keep = pre | post
    Sall = np.where(np.outer(keep, keep), Sall, 0.0)
    Sall[np.ix_(keep, keep)] = check_sigma(Sall[np.ix_(keep, keep)], "sigma")
    S = Sall[np.ix_(pre, pre)]
    power = rejection_probability(S, d[pre], test, level, threshold=threshold, seed=seed)
    size = pretest_size(S, test, level, threshold=threshold, seed=seed)
    Sinv_b = np.linalg.solve(S, b[pre])
    lr = float(np.exp(d[pre] @ Sinv_b - 0.5 * d[pre] @ np.linalg.solve(S, d[pre])))
    mean = mean_after_pretest(Sall[np.ix_(keep, keep)], d[keep], pre[keep], test, level, threshold=threshold,
                              seed=seed)
    table = pd.DataFrame({"t": t[keep], "betahat": b[keep], "delta": d[keep],
                          "se": np.sqrt(np.diag(Sall))[keep], "mean_after_pretest": mean})
    if not (t == reference).any():
        table = pd.concat([table, pd.DataFrame({"t": [float(reference)], "betahat": [0.0], "delta": [0.0],
                                                "se": [0.0], "mean_after_pretest": [0.0]})], ignore_index=True)
    table = table.sort_values("t", ignore_index=True)
    table["bias_after_pretest"] = table["mean_after_pretest"] - table["delta"]
    return PretrendsResult(power=power, size=size, bayes_factor=(1 - power) / (1 - size), likelihood_ratio=lr,
                           test=test, table=table)
