"""Sensitivity of an event study's conclusion to violations of parallel trends (Rambachan & Roth 2023,
"A More Credible Approach to Parallel Trends"), ported from the R package HonestDiD so that it gives R's numbers.

What it answers. An event study estimates coefficients ``beta = tau + delta`` for pre-periods and
post-periods (the reference period left out): ``tau`` the effects (zero before treatment), ``delta`` the
difference in trends between treated and comparison units. Parallel trends says ``delta_post = 0``. The
sensitivity analysis instead lets ``delta`` lie in a set that grows with a parameter ``m`` and reports, for
each ``m``, a confidence interval for ``theta = l_vec' tau_post`` that is valid whatever ``delta`` in that set
is true. The assumptions, in plain words:

- ``"relative_magnitude"`` (Delta^RM(Mbar), ``m`` = Mbar): no change of the trend difference from one
  post-period to the next is larger than Mbar times the largest such change between consecutive pre-periods.
  Mbar = 1: the post-treatment violation is no worse than the worst pre-treatment one.
- ``"smoothness"`` (Delta^SD(M), ``m`` = M): the slope of the trend difference changes by at most M from one
  period to the next (in the units of ``betahat`` per period, per period). M = 0: the difference in trends is
  exactly linear, and the pre-period trend is extrapolated.

The coefficients are taken as jointly normal with the given covariance (large-sample inference): nothing
here corrects for few clusters, and a covariance that is not of full rank is refused (see below).

Methods, R's defaults:

- smoothness: the optimal fixed-length confidence interval ("FLCI", R ``findOptimalFLCI``);
- relative magnitudes: the conditional least-favourable hybrid test of Andrews, Roth & Pakes ("C-LF", R
  ``computeConditionalCS_DeltaRM`` with ``hybrid_kappa = alpha/10``), inverted on a grid of
  ``grid_points`` values of theta from ``-20`` to ``+20`` standard errors of ``l_vec' betahat_post`` (around
  zero, as R does). Delta^RM is a union over which pre-period change is the largest (each pre-period ``s``,
  either sign), so the set is the union of the sets accepted for each; its bounds are the smallest and the
  largest accepted grid values, so they are grid values (spacing 40 standard errors / (grid_points - 1)).

Reproducing R. R draws random numbers in two places, both with ``set.seed(0)``: the least-favourable
critical value of C-LF (1000 draws of the moments, ``mvtnorm::rmvnorm`` with the eigen root), and the
quantile of the folded normal in the FLCI (one million ``rnorm`` draws). This module reproduces R's
Mersenne-Twister stream and its inversion ``rnorm`` (checked against R's own draws to 1e-15), so the
simulated numbers are R's, not merely close to them. The linear programs are solved exactly: for C-LF the
vertices of the (small) dual polytope are enumerated, which gives every grid value's LP at once; with many
post-periods (over ``_MAX_RAYS`` vertices) scipy's HiGHS solves one LP per grid value instead (slow).
The worst-case bias of the FLCI, a second-order-cone problem R hands to ECOS, is solved exactly here along
its lasso path.

Where R's numbers and these differ: (1) smoothness at M = 0, by about 1e-5 of the coefficients' scale: R
takes the smallest attainable standard deviation from CVXR's QP solver, slightly above the true one, and the
bias minimisation that follows moves the centre by the square root of that slack; here the exact minimum is
used. (2) Smoothness with many pre-periods, the centre by up to ~3e-5 of the interval's width: R's bisection
over the standard deviation stops within its tolerance (and ECOS's noise) of the optimum, where the half-length
is flat but the centre still moves. The half-lengths agree to 1e-8 relative. (3) C-LF inherits R's grid: the
bounds are grid values, the grid is centred on zero (a set more than 20 standard errors from zero is not found:
NaN with a warning), and with one post-period R's first-stage cut-off is not imposed on the conditional test's
truncation (R ``.testInIdentifiedSet_LF_Hybrid``), which is reproduced as it is.

A covariance of ``k`` event-time coefficients estimated with few clusters has rank at most the number of
clusters; such a ``sigma`` (or one that is not symmetric, not finite or not positive semi-definite) is refused
with a ``SensitivityError`` that says the rank and what to do. This module knows no language: it returns
numbers; captions are the presentation layer's.
"""
from __future__ import annotations

import math
import warnings
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import optimize, special

__all__ = ["RESTRICTIONS", "SensitivityError", "breakdown", "honest_did", "honest_did_original"]

# restriction -> (R's default method, R's name of the set)
RESTRICTIONS = {"relative_magnitude": ("C-LF", "DeltaRM"), "smoothness": ("FLCI", "DeltaSD")}
RANK_TOL = 1e-10            # an eigenvalue below RANK_TOL * the largest counts as zero
GRID_POINTS = 1000          # R's gridPoints default for relative magnitudes
LF_SIMS = 1000              # R's draws for the least-favourable critical value
FOLDED_SIMS = 10 ** 6       # R's draws for the folded-normal quantile of the FLCI
_MAX_RAYS = 20_000          # above this many dual vertices, C-LF solves one LP per grid value
_TOL_LAMBDA = 1e-6          # R: a Lagrange multiplier above this marks a binding moment


class SensitivityError(ValueError):
    """Inputs the sensitivity analysis cannot use: shapes that do not fit, or a covariance matrix that is
    not symmetric, not finite, or not of full rank."""


# ---------------------------------------------------------------------------------------------- inputs
def _count(value, name: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not float(value).is_integer():
        raise SensitivityError(f"{name} must be a whole number, not {value!r}")
    n = int(value)
    if n < 1:
        raise SensitivityError(f"{name} must be at least 1 (got {n}): the analysis needs at least one pre-period "
                               "(its trend is what bounds the post-period violation) and one post-period")
    return n


def _inputs(betahat, sigma, num_pre, num_post, l_vec, level):
    """Checked copies: (betahat, sigma, num_pre, num_post, l_vec, alpha)."""
    num_pre, num_post = _count(num_pre, "num_pre"), _count(num_post, "num_post")
    k = num_pre + num_post
    b = np.asarray(betahat, dtype=float)
    if b.ndim == 2 and 1 in b.shape:
        b = b.ravel()
    if b.ndim != 1:
        raise SensitivityError(f"betahat must be a vector, not an array of shape {b.shape}")
    if b.size != k:
        raise SensitivityError(f"betahat has {b.size} coefficients but num_pre + num_post = {num_pre} + {num_post} "
                               f"= {k}: pass the pre-period coefficients, then the post-period ones, without the "
                               "reference period")
    s = np.asarray(sigma, dtype=float)
    if s.ndim != 2 or s.shape[0] != s.shape[1]:
        raise SensitivityError(f"sigma must be a square matrix, not an array of shape {s.shape}")
    if s.shape[0] != k:
        raise SensitivityError(f"sigma is {s.shape[0]} x {s.shape[1]} but betahat has {k} coefficients")
    if not (np.all(np.isfinite(b)) and np.all(np.isfinite(s))):
        raise SensitivityError("betahat and sigma must be finite (no NaN or infinity)")
    scale = float(np.max(np.abs(s)))
    asym = float(np.max(np.abs(s - s.T)))
    if scale == 0.0 or asym > 1e-8 * scale:
        raise SensitivityError(f"sigma must be a symmetric, non-zero covariance matrix (largest asymmetry {asym:g}, "
                               f"largest entry {scale:g})")
    s = (s + s.T) / 2.0
    _check_rank(s, num_pre, num_post)
    if l_vec is None:
        lv = np.zeros(num_post)
        lv[0] = 1.0
    else:
        lv = np.asarray(l_vec, dtype=float).ravel()
    if lv.size != num_post:
        raise SensitivityError(f"l_vec has {lv.size} weights but there are {num_post} post-periods")
    if not np.all(np.isfinite(lv)) or not np.any(lv != 0):
        raise SensitivityError("l_vec must be finite and not all zero")
    level = float(level)
    if not 0.0 < level < 1.0:
        raise SensitivityError(f"level must lie strictly between 0 and 1, not {level}")
    alpha = float(np.round(1.0 - level, 12))
    return b, s, num_pre, num_post, lv, alpha


def _check_rank(s: np.ndarray, num_pre: int, num_post: int) -> None:
    k = s.shape[0]
    ev = np.linalg.eigvalsh(s)
    top = float(ev[-1])
    tol = RANK_TOL * top if top > 0 else RANK_TOL
    rank = int(np.sum(ev > tol))
    if top <= 0 or ev[0] < -tol:
        raise SensitivityError(f"sigma is not positive semi-definite (smallest eigenvalue {ev[0]:.3g}, largest "
                               f"{top:.3g}): it cannot be the covariance of the {k} coefficients")
    if rank < k:
        raise SensitivityError(
            f"sigma has rank {rank} but {k} dimensions ({num_pre} pre + {num_post} post event-time coefficients; "
            f"eigenvalues below {RANK_TOL:g} x the largest count as zero). A cluster-robust covariance of k "
            f"coefficients has rank at most the number of clusters, so with this few clusters not all {k} event "
            f"times can be used: pool event times into fewer, wider bins, or use fewer event times (at most {rank}), "
            "and estimate the event study again")


def _m_values(m_values) -> np.ndarray:
    m = np.atleast_1d(np.asarray(m_values, dtype=float)).ravel()
    if m.size == 0 or not np.all(np.isfinite(m)) or np.any(m < 0):
        raise SensitivityError(f"m_values must be non-negative finite numbers, not {m_values!r}")
    return m


def _restriction(restriction: str) -> str:
    if restriction not in RESTRICTIONS:
        raise SensitivityError(f"restriction must be one of {sorted(RESTRICTIONS)}, not {restriction!r}")
    return restriction


# ---------------------------------------------------------------------------- R's random numbers
def _r_mt_key(seed: int) -> np.ndarray:
    """The Mersenne-Twister state R's ``set.seed(seed)`` leaves (RNG.c: 50 scrambling steps of the LCG, then
    625 words of which the first is the position)."""
    s = int(seed) & 0xFFFFFFFF
    for _ in range(50):
        s = (69069 * s + 1) & 0xFFFFFFFF
    words = []
    for _ in range(625):
        s = (69069 * s + 1) & 0xFFFFFFFF
        words.append(s)
    return np.array(words[1:], dtype=np.uint32)


def _r_runif(seed: int, n: int) -> np.ndarray:
    """``set.seed(seed); runif(n)`` of R (Mersenne-Twister, R's default)."""
    gen = np.random.MT19937(0)
    state = gen.state
    state["state"]["key"] = _r_mt_key(seed)
    state["state"]["pos"] = 624
    gen.state = state
    u = gen.random_raw(n).astype(np.float64) * 2.3283064365386963e-10
    half = 0.5 * 2.328306437080797e-10
    return np.clip(np.where(u <= 0.0, half, u), None, 1.0 - half)


def _r_rnorm(seed: int, n: int) -> np.ndarray:
    """``set.seed(seed); rnorm(n)`` of R (inversion from two uniforms, R's default)."""
    u = _r_runif(seed, 2 * n)
    big = 134217728.0
    return special.ndtri((np.floor(big * u[0::2]) + u[1::2]) / big)


@lru_cache(maxsize=2)
def _sorted_rnorm(seed: int, n: int) -> np.ndarray:
    out = np.sort(_r_rnorm(seed, n))
    out.flags.writeable = False
    return out


def _r_rmvnorm(seed: int, n: int, cov: np.ndarray) -> np.ndarray:
    """``set.seed(seed); mvtnorm::rmvnorm(n, sigma = cov)`` (eigen root, draws filled by row)."""
    k = cov.shape[0]
    ev, vec = np.linalg.eigh(cov)
    root = (vec * np.sqrt(np.maximum(ev, 0.0))) @ vec.T
    return _r_rnorm(seed, n * k).reshape(n, k) @ root


def _r_quantile7(x: np.ndarray, p: float) -> float:
    """R's ``quantile(x, p, type = 7, na.rm = TRUE)``."""
    x = np.sort(x[~np.isnan(x)])
    n = x.size
    if n == 0:
        return float("nan")
    index = 1 + max(n - 1, 0) * p
    lo, hi = math.floor(index), math.ceil(index)
    q = x[lo - 1]
    h = index - lo
    if index > lo and x[hi - 1] != q:
        q = (1 - h) * q + h * x[hi - 1]
    return float(q)


def _kth_abs_shifted(z: np.ndarray, mu: float, k: int) -> float:
    """The k-th smallest (0-based) of ``|z + mu|`` for sorted ``z``, without forming the array: the values
    split into two sorted runs (``z + mu >= 0`` ascending, the rest descending), merged by bisection."""
    n = z.size
    i0 = int(np.searchsorted(z, -mu, side="left"))
    while i0 > 0 and z[i0 - 1] + mu >= 0:
        i0 -= 1
    while i0 < n and z[i0] + mu < 0:
        i0 += 1
    na, nb = n - i0, i0

    def a(i):
        return z[i0 + i] + mu

    def b(j):
        return -(z[i0 - 1 - j] + mu)

    lo, hi = max(0, k + 1 - nb), min(k + 1, na)
    while True:
        i = (lo + hi) // 2
        j = k + 1 - i
        if i < na and j > 0 and b(j - 1) > a(i):
            lo = i + 1
        elif i > 0 and j < nb and a(i - 1) > b(j):
            hi = i - 1
        else:
            return max(a(i - 1) if i > 0 else -np.inf, b(j - 1) if j > 0 else -np.inf)


def _qfolded(p: float, mu: float, seed: int) -> float:
    """R's ``.qfoldednormal``: the p-quantile of ``|N(mu, 1)|`` estimated from R's one million draws."""
    z = _sorted_rnorm(seed, FOLDED_SIMS)
    n = z.size
    index = 1 + (n - 1) * p
    lo, hi = math.floor(index), math.ceil(index)
    q = _kth_abs_shifted(z, mu, lo - 1)
    if index > lo:
        qh = _kth_abs_shifted(z, mu, hi - 1)
        if qh != q:
            h = index - lo
            q = (1 - h) * q + h * qh
    return float(q)


def _norminvp(p: float, lo: float, up: float, mu: float = 0.0, sd: float = 1.0) -> float:
    """The p-quantile of N(mu, sd^2) truncated to [lo, up] (R ``TruncatedNormal::norminvp``), accurate in the
    tails: above zero it works with log survival probabilities, below zero by symmetry."""
    a, b = (lo - mu) / sd, (up - mu) / sd
    if p <= 0 or a == b:
        x = a
    elif p >= 1:
        x = b
    elif a >= 0:
        la, lb = special.log_ndtr(-a), special.log_ndtr(-b)
        x = -special.ndtri_exp(la + np.log1p(-p * -np.expm1(lb - la)))
    elif b <= 0:
        la, lb = special.log_ndtr(b), special.log_ndtr(a)           # mirrored: [-b, -a], quantile 1 - p
        x = special.ndtri_exp(la + np.log1p(-(1 - p) * -np.expm1(lb - la)))
    else:
        pa, pb = special.ndtr(a), special.ndtr(b)
        x = special.ndtri(pa + p * (pb - pa))
    return float(mu + sd * min(max(x, a), b))


# ------------------------------------------------------------------------------- original interval
def _original(b, s, num_pre, lv, alpha):
    post = slice(num_pre, None)
    se = math.sqrt(float(lv @ s[post, post] @ lv))
    z = float(special.ndtri(1 - alpha / 2))
    est = float(lv @ b[post])
    return est - z * se, est + z * se


def honest_did_original(betahat, sigma, num_pre, num_post, level=0.95, l_vec=None):
    """The usual confidence interval for ``l_vec' beta_post`` under exact parallel trends (R
    ``constructOriginalCS``): estimate +- the normal quantile times its standard error. Returns (lb, ub)."""
    b, s, num_pre, num_post, lv, alpha = _inputs(betahat, sigma, num_pre, num_post, l_vec, level)
    return _original(b, s, num_pre, lv, alpha)


# ------------------------------------------------------------------------------------- smoothness
def _lasso_path(P: np.ndarray, p: np.ndarray):
    """Breakpoints (lambda, z) of the path of argmin_z z'Pz + 2p'z + 2 lambda |z|_1 (P positive definite),
    from lambda_max (z = 0) down to lambda = 0 (z = -P^-1 p); z is linear in lambda between breakpoints."""
    m = p.size
    if m == 0:
        return [(0.0, np.zeros(0))]
    lam = float(np.max(np.abs(p)))
    z = np.zeros(m)
    path = [(lam, z.copy())]
    if lam == 0.0:
        return path
    j0 = int(np.argmax(np.abs(p)))
    active, signs = [j0], {j0: -np.sign(p[j0])}
    left = joined = None                     # the last event, not to be undone at once by rounding
    for _ in range(50 * m + 50):
        act = np.array(active)
        sa = np.array([signs[i] for i in active])
        paa = P[np.ix_(act, act)]
        alpha = -np.linalg.solve(paa, p[act])
        beta = -np.linalg.solve(paa, sa)
        inactive = [j for j in range(m) if j not in signs]
        best, event = 0.0, None
        for pos, i in enumerate(active):
            if beta[pos] != 0 and i != joined:
                cand = -alpha[pos] / beta[pos]
                if 0 < cand < lam * (1 - 1e-10) and cand > best:
                    best, event = cand, ("leave", i)
        for j in inactive:
            c0 = float(P[j, act] @ alpha + p[j])
            c1 = float(P[j, act] @ beta)
            for sgn in (1.0, -1.0):                  # c0 + lambda c1 = sgn * lambda: joins with sign -sgn
                if left is not None and j == left[0] and -sgn == left[1]:
                    continue                         # the variable that just left, back at once: not an event
                den = sgn - c1
                if den != 0:
                    cand = c0 / den
                    if 0 < cand < lam * (1 - 1e-10) and cand > best:
                        best, event = cand, ("join", j, -sgn)
        z = np.zeros(m)
        z[act] = alpha + best * beta
        if event is not None and event[0] == "leave":
            z[event[1]] = 0.0                        # exactly: it leaves at this breakpoint
        path.append((best, z.copy()))
        lam = best
        if event is None:
            break
        if event[0] == "leave":
            active.remove(event[1])
            left, joined = (event[1], signs.pop(event[1])), None
        else:
            active.append(event[1])
            signs[event[1]] = event[2]
            left, joined = None, event[1]
        if not active:
            break
    return path


class _FLCIProblem:
    """R's FLCI for Delta^SD(M): estimators ``l_pre' beta_pre + l' beta_post`` unbiased under linear trends;
    for an estimator standard deviation h the worst-case bias is minimised (R ``.findWorstCaseBiasGivenH``),
    and h is chosen to minimise the half-length ``q(M bias / h) h``, q the folded-normal quantile (R's
    derivative bisection ``.findOptimalCIDerivativeBisection``, reproduced step by step).

    Parametrisation (R's): weights w on the pre-period slopes, u = cumsum(w), the last u fixed at
    tau = sum_s s * l_s; the pre-period weights are l_pre = D D u (D the first difference), the worst-case
    bias per unit of M is ``constant + sum |u|``. With z the free part of u, minimising the bias subject to
    var <= h^2 traces the lasso path of var(z) + 2 lambda |z|_1, solved exactly here."""

    def __init__(self, s, num_pre, num_post, lv):
        K, T = num_pre, num_post
        self.tau = float(np.arange(1, T + 1) @ lv)
        self.constant = sum(abs(float(np.arange(1, j + 1) @ lv[T - j:])) for j in range(1, T + 1)) - self.tau
        D = np.eye(K) - np.eye(K, k=-1)
        self.G = D @ D
        spre, spp = s[:K, :K], s[:K, K:]
        c0 = float(lv @ s[K:, K:] @ lv)
        Q = self.G.T @ spre @ self.G
        q = self.G.T @ spp @ lv
        self.P = Q[:-1, :-1]
        self.p = Q[:-1, -1] * self.tau + q[:-1]
        self.c = float(Q[-1, -1] * self.tau ** 2 + 2 * q[-1] * self.tau + c0)
        self.K, self.lv = K, lv
        self.path = _lasso_path(self.P, self.p)
        self._check_path()
        self.h0 = math.sqrt(max(self.var(self.path[0][1]), 0.0))
        self.hmin = math.sqrt(max(self.var(self.path[-1][1]), 0.0))

    def _check_path(self):
        """Each breakpoint of the lasso path must satisfy the optimality conditions (a guard against a
        numerical failure of the path, which would otherwise give a wrong interval silently)."""
        scale = max(float(np.max(np.abs(self.p))) if self.p.size else 0.0, 1e-300)
        for lam, z in self.path:
            g = self.P @ z + self.p
            act = z != 0
            worst = max(float(np.max(np.abs(g[act] + lam * np.sign(z[act])), initial=0.0)),
                        float(np.max(np.abs(g[~act]) - lam, initial=0.0)))
            if worst > 1e-6 * scale:
                raise RuntimeError("the worst-case-bias path of the FLCI failed its optimality check "
                                   f"(violation {worst:.3g} at lambda {lam:.3g}); sigma may be too ill-conditioned")

    def var(self, z):
        return self.c + 2 * float(self.p @ z) + float(z @ self.P @ z)

    def z_at(self, h: float) -> np.ndarray:
        """The bias-minimising z whose estimator has standard deviation h (clamped to [hmin, h0])."""
        target = h * h
        path = self.path
        if target >= self.var(path[0][1]):
            return path[0][1]
        for (_, z1), (_, z2) in zip(path[:-1], path[1:]):
            v2 = self.var(z2)
            if v2 <= target:
                dz = z2 - z1                   # var(z1 + t dz) = v1 + bq t + a t^2, decreasing on [0, 1]
                a = float(dz @ self.P @ dz)
                bq = 2 * float((self.p + self.P @ z1) @ dz)
                cq = self.var(z1) - target
                root = -bq + math.sqrt(max(bq * bq - 4 * a * cq, 0.0))
                t = 2 * cq / root if root > 0 else 1.0       # the smaller root, in its stable form
                return z1 + min(max(t, 0.0), 1.0) * dz
        return path[-1][1]

    def bias(self, z) -> float:
        return self.constant + abs(self.tau) + float(np.sum(np.abs(z)))

    def l_pre(self, z) -> np.ndarray:
        return self.G @ np.append(z, self.tau)

    def solve(self, M: float, alpha: float, seed: int):
        """(l_pre, half-length) of R's optimal FLCI."""
        p = 1 - alpha

        def f(h):
            return _qfolded(p, M * self.bias(self.z_at(h)) / h, seed) * h

        if self.K == 1 or self.h0 - self.hmin <= 0:
            hstar = self.h0                    # one estimator only (R itself stops on a zero-width bracket)
        else:
            hstar = _r_derivative_bisection(f, self.hmin, self.h0)
            if math.isnan(hstar):              # R falls back on a grid of 100 values of h
                grid = np.linspace(self.hmin, self.h0, 100)
                hstar = float(grid[int(np.argmin([f(h) for h in grid]))])
        z = self.z_at(hstar)
        return self.l_pre(z), _qfolded(p, M * self.bias(z) / hstar, seed) * hstar


def _r_derivative_bisection(f, a: float, b: float, num_points: int = 100) -> float:
    """R ``.findOptimalCIDerivativeBisection``: bisect on numerical derivatives of the convex f over [a, b];
    NaN where R reports a failure."""
    eps = np.finfo(float).eps
    failtol = math.sqrt(eps)
    dif = min((b - a) / num_points, abs(b) * eps ** (1 / 3))
    fa, fb = f(a), f(b)
    fpa = (f(a + dif) - fa) / dif
    fpb = (f(b - dif) - fb) / -dif
    it = 1
    maxiter = 10 * math.ceil(math.log(abs(b - a) / dif) / math.log(2))
    if fpa > fpb or math.isnan(fa) or math.isnan(fb):
        return float("nan")
    if fpb < 0:
        return b
    if fpa > 0:
        return a
    failed = False
    while not failed and abs(b - a) > dif:
        it += 1
        x = (a + b) / 2
        fpx = (f(x + dif) - f(x - dif)) / (2 * dif)
        failed = fpx > fpb + failtol or fpx + failtol < fpa or it > maxiter
        if fpx > 0:
            b = x
        else:
            a = x
    return float("nan") if failed else (a + b) / 2


def _flci_sets(b, s, num_pre, num_post, lv, ms, alpha, seed):
    prob = _FLCIProblem(s, num_pre, num_post, lv)
    out = []
    for M in ms:
        l_pre, half = prob.solve(float(M), alpha, seed)
        centre = float(l_pre @ b[:num_pre] + lv @ b[num_pre:])
        out.append((centre - half, centre + half))
    return out


# ------------------------------------------------------------------------------ relative magnitudes
def _create_A_RM(num_pre, num_post, mbar, s, max_positive):
    """R ``.create_A_RM``: the moments A delta <= 0 of Delta^RM_{s,+/-}(Mbar), all-zero rows removed, the
    reference period's column dropped."""
    n = num_pre + num_post
    at = np.zeros((n, n + 1))
    for r in range(n):
        at[r, r], at[r, r + 1] = -1.0, 1.0
    v = np.zeros(n + 1)
    v[num_pre + s - 1], v[num_pre + s] = -1.0, 1.0
    if not max_positive:
        v = -v
    ub = np.vstack([np.tile(v, (num_pre, 1)), np.tile(mbar * v, (num_post, 1))])
    A = np.vstack([at - ub, -at - ub])
    A = A[np.sum(A * A, axis=1) > 1e-10]
    return np.delete(A, num_pre, axis=1)


def _construct_gamma(lv: np.ndarray) -> np.ndarray:
    """R ``.construct_Gamma``: l' on top of the unit rows, leaving out the one (the last non-zero entry of l)
    that row reduction of [l, I] finds dependent."""
    last = int(np.flatnonzero(lv)[-1])
    return np.vstack([lv, np.delete(np.eye(lv.size), last, axis=0)])


def _extreme_rays(X: np.ndarray):
    """Extreme rays (rows) of the cone {lam >= 0 : X' lam = 0} by the double-description method: start from
    the orthant's rays and cut by one hyperplane x_j' lam = 0 at a time, combining each ray on the positive
    side with each adjacent ray on the negative side (adjacent: no other ray vanishes wherever both do).
    None if the rays become more than ``_MAX_RAYS``."""
    m, k = X.shape
    rays = np.eye(m)
    for j in range(k):
        a = X[:, j]
        v = rays @ a
        tol = 1e-12 * np.max(np.abs(a)) * np.max(np.abs(rays), axis=1)
        pos, neg, zero = v > tol, v < -tol, np.abs(v) <= tol
        zsets = np.abs(rays) <= 1e-12 * np.max(np.abs(rays), axis=1, keepdims=True)
        new = [rays[zero]]
        ip, ineq = np.flatnonzero(pos), np.flatnonzero(neg)
        for r in ip:
            for s in ineq:
                common = zsets[r] & zsets[s]
                others = np.ones(len(rays), dtype=bool)
                others[[r, s]] = False
                if np.any(np.all(zsets[others][:, common], axis=1)):
                    continue                                  # not adjacent: their combination is not extreme
                w = v[r] * rays[s] - v[s] * rays[r]
                w[np.abs(w) <= 1e-12 * np.max(np.abs(w))] = 0.0
                new.append(w[None, :])
        rays = np.vstack(new) if new else np.zeros((0, m))
        if len(rays) > _MAX_RAYS:
            return None
    if len(rays) == 0:
        return rays
    rays = rays / np.max(np.abs(rays), axis=1, keepdims=True)
    _, idx = np.unique(np.round(rays, 10), axis=0, return_index=True)
    return rays[np.sort(idx)]


class _Polytope:
    """The dual feasible set {lam >= 0 : W' lam = e1}, W = [sd, X], of R's LP
    ``min eta s.t. y - X delta <= eta sd``: eta(y) = max over its vertices of lam'y. Its vertices are the
    extreme rays of the cone {lam >= 0 : X' lam = 0} scaled to sd' lam = 1, found by the double-description
    method (every LP then at once); should that produce more than ``_MAX_RAYS`` rays, each query is an LP
    (HiGHS) instead."""

    def __init__(self, sd: np.ndarray, X: np.ndarray):
        self.W = np.column_stack([sd, X])
        self.e1 = np.zeros(self.W.shape[1])
        self.e1[0] = 1.0
        rays = _extreme_rays(X)
        self.vertices = None if rays is None else rays / (rays @ sd)[:, None]

    def eta(self, Y: np.ndarray):
        """For the columns of Y (m x n): eta, the optimal dual lam (n x m), and whether the LP was solved."""
        n = Y.shape[1]
        if self.vertices is not None:
            if len(self.vertices) == 0:
                return np.full(n, np.nan), np.full((n, self.W.shape[0]), np.nan), np.zeros(n, bool)
            vals = self.vertices @ Y
            best = np.argmax(vals, axis=0)
            return vals[best, np.arange(n)], self.vertices[best], np.ones(n, bool)
        etas, lams, oks = np.full(n, np.nan), np.full((n, self.W.shape[0]), np.nan), np.zeros(n, bool)
        c = np.zeros(self.W.shape[1])
        c[0] = 1.0
        for i in range(n):
            res = optimize.linprog(c, A_ub=-self.W, b_ub=-Y[:, i], bounds=[(None, None)] * self.W.shape[1],
                                   method="highs")
            if res.status == 0:
                etas[i], lams[i], oks[i] = res.fun, -res.ineqlin.marginals, True
        return etas, lams, oks

    def maximize(self, f: np.ndarray):
        """max f'lam over the set, and a maximising lam (R ``.max_program``)."""
        if self.vertices is not None:
            vals = self.vertices @ f
            i = int(np.argmax(vals))
            return float(vals[i]), self.vertices[i]
        res = optimize.linprog(-f, A_eq=self.W.T, b_eq=self.e1, bounds=(0, None), method="highs")
        return float(-res.fun), res.x


def _roundeps(x: float) -> float:
    return 0.0 if abs(x) < np.finfo(float).eps ** 0.75 else x


def _vlo_vup_dual(eta, s_T, gamma, sig, poly: _Polytope):
    """R ``.vlo_vup_dual_fn``: the truncation points of the conditional test, by R's iteration (a Newton step
    on the LP's value, then bisection), with R's tolerances."""
    tol_c = tol_eq = 1e-6
    gsg = float(gamma @ sig @ gamma)
    sigma_b = math.sqrt(gsg)
    b = (sig @ gamma) / gsg
    low_initial, high_initial = min(-100.0, eta - 20 * sigma_b), max(100.0, eta + 20 * sigma_b)
    maxiters, switchiters = 10000, 10

    def check(c):
        val, sol = poly.maximize(s_T + b * c)
        return abs(c - val) <= tol_eq, sol

    if not check(eta)[0]:
        return eta, math.inf

    def side(start, upper):
        ok, sol = check(start)
        if ok:
            return math.inf if upper else -math.inf
        dif, iters = 0.0, 1
        mid = _roundeps(float(sol @ s_T)) / (1 - float(sol @ b))
        while True:
            ok, sol = check(mid)
            if ok or iters >= maxiters:
                break
            iters += 1
            if iters >= switchiters:
                dif = tol_c + 1
                break
            mid = _roundeps(float(sol @ s_T)) / (1 - float(sol @ b))
        low, high = (eta, mid) if upper else (mid, eta)
        while dif > tol_c and iters < maxiters:
            iters += 1
            mid = (high + low) / 2
            inside = check(mid)[0]
            if upper:
                low, high = (mid, high) if inside else (low, mid)
            else:
                low, high = (low, mid) if inside else (mid, high)
            dif = high - low
        return mid

    return side(low_initial, False), side(high_initial, True)


def _conditional_reject(eta, lam, y, X, sig, sd, lf_cv, mod_size, poly) -> bool:
    """R ``.lp_conditional_test_fn`` after its first stage: the conditional test, by the primal route when the
    binding moments are non-degenerate and of full rank, by the dual route otherwise."""
    k = X.shape[1]
    B = lam > _TOL_LAMBDA
    degenerate = int(B.sum()) != k + 1
    XB = X[B]
    full_rank = XB.shape[0] > 0 and np.linalg.matrix_rank(XB) == min(XB.shape)
    if not full_rank or degenerate:
        gamma = lam
        s2 = float(gamma @ sig @ gamma)
        if abs(s2) < np.finfo(float).eps:
            return eta > 0
        s_T = y - (sig @ gamma) / s2 * float(gamma @ y)
        vlo, vup = _vlo_vup_dual(eta, s_T, gamma, sig, poly)
        sigma_b = math.sqrt(s2)
        zlo, zup = vlo / sigma_b, min(vup, lf_cv) / sigma_b
    else:
        m = y.size
        mb = np.column_stack([sd[B], XB])
        mbinv = np.linalg.inv(mb)
        eye = np.eye(m)
        gamma_b = np.column_stack([sd[~B], X[~B]]) @ mbinv @ eye[B] - eye[~B]
        v_b = (mbinv @ eye[B])[0]
        s2 = float(v_b @ sig @ v_b)
        sigma_b = math.sqrt(s2)
        rho = gamma_b @ sig @ v_b / s2
        with np.errstate(divide="ignore", invalid="ignore"):
            bound = (-gamma_b @ y) / rho + float(v_b @ y)
        vlo = float(np.max(bound[rho > 0])) if np.any(rho > 0) else -math.inf
        vup = float(np.min(bound[rho < 0])) if np.any(rho < 0) else math.inf
        zlo, zup = vlo / sigma_b, min(vup, lf_cv) / sigma_b
    maxstat = eta / sigma_b
    if not (zlo <= maxstat <= zup):
        return False
    return maxstat > max(0.0, _norminvp(1 - mod_size, zlo, zup))


def _rm_accept_nuisance(b, s, A, num_pre, lv, grid, alpha, kappa, seed, need):
    """Accepted grid values for one (s, sign) piece with two or more post-periods (R ``.ARP_computeCI`` with
    the LF hybrid). ``need`` is (lowest accepted so far, highest accepted so far): values that cannot widen
    the union are not tested."""
    post = slice(num_pre, None)
    agi = A[:, post] @ np.linalg.inv(_construct_gamma(lv))
    rows = np.any(A[:, post] != 0, axis=1)
    a, X = agi[rows, 0], agi[rows, 1:]
    y0 = (A @ b)[rows]
    sig = (A @ s @ A.T)[np.ix_(rows, rows)]
    sd = np.sqrt(np.diag(sig))
    poly = _Polytope(sd, X)
    draw_eta, _, solved = poly.eta(_r_rmvnorm(seed, LF_SIMS, sig).T)
    lf_cv = _r_quantile7(np.where(solved, draw_eta, np.nan), 1 - kappa)     # R drops unsolved LPs
    mod_size = (alpha - kappa) / (1 - kappa)
    lo_best, hi_best = need
    if poly.vertices is not None:
        Y = y0[:, None] - a[:, None] * grid[None, :]
        etas, lams, oks = poly.eta(Y)
        candidates = np.flatnonzero(~(oks & (etas > lf_cv)))
    else:
        # one LP per value: only the values where eta <= lf_cv (an interval, eta being convex in theta) matter
        candidates = _first_stage_interval(poly, y0, a, lf_cv, grid) if math.isfinite(lf_cv) else \
            np.arange(grid.size)

    def test(i):
        if poly.vertices is not None:
            eta, lam, ok = etas[i], lams[i], oks[i]
        else:
            e, lm, okk = poly.eta((y0 - a * grid[i])[:, None])
            eta, lam, ok = e[0], lm[0], okk[0]
        if not ok:
            return True                                        # R: LP not solved, not rejected
        if eta > lf_cv:
            return False
        return not _conditional_reject(eta, lam, y0 - a * grid[i], X, sig, sd, lf_cv, mod_size, poly)

    for i in candidates:                                     # lowest accepted value
        if grid[i] >= lo_best:
            break
        if test(i):
            lo_best = grid[i]
            break
    for i in candidates[::-1]:                               # highest accepted value
        if grid[i] <= hi_best:
            break
        if test(i):
            hi_best = grid[i]
            break
    return lo_best, hi_best


def _first_stage_interval(poly, y0, a, lf_cv, grid):
    """Grid indices where eta(theta) <= lf_cv may hold (with a margin of one value each side), from two LPs."""
    W = poly.W
    r = W.shape[1]
    # variables (theta, delta): y0 - a theta - X delta <= lf_cv sd
    A_ub = np.column_stack([-a, -W[:, 1:]])
    b_ub = lf_cv * W[:, 0] - y0
    ends = []
    for sign in (1.0, -1.0):
        c = np.zeros(r)
        c[0] = sign
        res = optimize.linprog(c, A_ub=A_ub, b_ub=b_ub, bounds=[(None, None)] * r, method="highs")
        if res.status == 2:
            return np.zeros(0, dtype=int)
        ends.append(grid[0] if (res.status == 3 and sign > 0) else grid[-1] if res.status == 3 else res.x[0])
    lo, hi = ends
    step = grid[1] - grid[0] if grid.size > 1 else 0.0
    idx = np.flatnonzero((grid >= lo - step) & (grid <= hi + step))
    return idx


def _rm_accept_no_nuisance(b, s, A, num_pre, grid, alpha, kappa, seed):
    """Accepted grid values for one (s, sign) piece with one post-period (R ``.APR_computeCI_NoNuis`` with
    ``.testInIdentifiedSet_LF_Hybrid``), all values at once."""
    A = A[A[:, -1] != 0]
    sig_a = A @ s @ A.T
    sdev = np.sqrt(np.diag(sig_a))
    draws = _r_rmvnorm(seed, LF_SIMS, sig_a) / sdev
    lf_cv = _r_quantile7(np.max(draws, axis=1), 1 - kappa)
    alpha_tilde = (alpha - kappa) / (1 - kappa)
    at = A / sdev[:, None]
    e = np.zeros(b.size)
    e[num_pre] = 1.0
    Y = b[:, None] - e[:, None] * grid[None, :]                # columns: y at each theta
    moments = at @ Y
    where = np.argmax(moments, axis=0)
    top = moments[where, np.arange(grid.size)]
    accept = np.zeros(grid.size, dtype=bool)
    for loc in np.unique(where):
        cols = np.flatnonzero((where == loc) & ~(top > lf_cv))
        if cols.size == 0:
            continue
        gamma = at[loc]
        abar = at - gamma[None, :]
        gsg = float(gamma @ s @ gamma)
        sigmabar = math.sqrt(gsg)
        c = s @ gamma / gsg
        ac = abar @ c
        for j in cols:
            y = Y[:, j]
            z = y - c * float(gamma @ y)
            with np.errstate(divide="ignore", invalid="ignore"):
                obj = (0.0 - abar @ z) / ac
            vlo = float(np.max(obj[ac < 0])) if np.any(ac < 0) else -math.inf
            vup = float(np.min(obj[ac > 0])) if np.any(ac > 0) else math.inf
            cv = max(0.0, _norminvp(1 - alpha_tilde, vlo, vup, 0.0, sigmabar))
            accept[j] = not (top[j] > cv)
    return np.flatnonzero(accept)


def _rm_set(b, s, num_pre, num_post, lv, mbar, alpha, grid, seed):
    """(lb, ub) of R's C-LF confidence set for Delta^RM(Mbar); NaN if no grid value is accepted."""
    kappa = alpha / 10
    lo_best, hi_best = math.inf, -math.inf
    for s_ in range(-(num_pre - 1), 1):
        for positive in (True, False):
            A = _create_A_RM(num_pre, num_post, mbar, s_, positive)
            if num_post == 1:
                acc = _rm_accept_no_nuisance(b, s, A, num_pre, grid, alpha, kappa, seed)
                if acc.size:
                    lo_best, hi_best = min(lo_best, grid[acc[0]]), max(hi_best, grid[acc[-1]])
            else:
                lo_best, hi_best = _rm_accept_nuisance(b, s, A, num_pre, lv, grid, alpha, kappa, seed,
                                                            (lo_best, hi_best))
    if not math.isfinite(lo_best):
        warnings.warn(f"no value of theta on the grid [{grid[0]:.6g}, {grid[-1]:.6g}] is in the relative-magnitudes "
                      f"confidence set for Mbar={mbar:g}: the bounds are NaN (the set may lie outside the grid: "
                      "widen grid_lb/grid_ub)", RuntimeWarning, stacklevel=3)
        return float("nan"), float("nan")
    if lo_best == grid[0] or hi_best == grid[-1]:
        warnings.warn(f"the relative-magnitudes confidence set for Mbar={mbar:g} reaches the end of the theta grid "
                      f"[{grid[0]:.6g}, {grid[-1]:.6g}]; its bound there is the grid's end, not the set's: widen "
                      "grid_lb/grid_ub", RuntimeWarning, stacklevel=3)
    return float(lo_best), float(hi_best)


# ------------------------------------------------------------------------------------------ public
def honest_did(betahat, sigma, num_pre, num_post, restriction, m_values, level=0.95, l_vec=None, *,
               grid_points=GRID_POINTS, grid_lb=None, grid_ub=None, seed=0) -> pd.DataFrame:
    """Robust confidence sets for ``theta = l_vec' tau_post`` under violations of parallel trends bounded by
    each ``m`` in ``m_values`` (R ``createSensitivityResults`` / ``createSensitivityResults_relativeMagnitudes``).

    ``betahat``: event-study coefficients, the ``num_pre`` pre-periods first (earliest first), then the
    ``num_post`` post-periods, the reference period (normalised to zero, the one just before treatment)
    left out; event times are taken as consecutive. ``sigma``: their covariance (checked: symmetric,
    finite, of full rank). ``restriction``: ``"relative_magnitude"`` (m = Mbar, method C-LF) or
    ``"smoothness"`` (m = M, method FLCI). ``l_vec``: weights on the post-period effects, by default the
    first post-period only (R's ``basisVector(1, numPostPeriods)``); pass e.g. equal weights for the average.
    ``level``: the confidence level. Keyword-only, relative magnitudes only: ``grid_points``, ``grid_lb`` and
    ``grid_ub`` (R's gridPoints, grid.lb, grid.ub; default +-20 standard errors of ``l_vec' betahat_post``
    around zero); ``seed`` is R's seed for both simulations (0, R's default).

    Returns a DataFrame with columns ``m, lb, ub`` (one row per m, in the order given; NaN bounds when no
    value of theta is accepted) and ``attrs`` ``method`` ("C-LF" or "FLCI"), ``restriction``, ``level``.
    A relative-magnitudes set that reaches an end of the theta grid, or is empty, is reported with a
    ``RuntimeWarning`` (R warns likewise): its bound there is the grid's end.
    """
    restriction = _restriction(restriction)
    b, s, num_pre, num_post, lv, alpha = _inputs(betahat, sigma, num_pre, num_post, l_vec, level)
    ms = _m_values(m_values)
    if restriction == "smoothness":
        bounds = _flci_sets(b, s, num_pre, num_post, lv, ms, alpha, int(seed))
    else:
        n = int(grid_points)
        if n < 2:
            raise SensitivityError(f"grid_points must be at least 2, not {grid_points!r}")
        sd_theta = math.sqrt(float(lv @ s[num_pre:, num_pre:] @ lv))
        glb = -20 * sd_theta if grid_lb is None else float(grid_lb)
        gub = 20 * sd_theta if grid_ub is None else float(grid_ub)
        if not glb < gub:
            raise SensitivityError(f"grid_lb ({glb}) must be below grid_ub ({gub})")
        grid = np.linspace(glb, gub, n)
        bounds = [_rm_set(b, s, num_pre, num_post, lv, float(m), alpha, grid, int(seed)) for m in ms]
    out = pd.DataFrame({"m": ms, "lb": [x[0] for x in bounds], "ub": [x[1] for x in bounds]})
    out.attrs.update(method=RESTRICTIONS[restriction][0], restriction=restriction, level=float(level))
    return out


def _includes_zero(lb: float, ub: float) -> bool:
    return bool(lb <= 0.0 <= ub)


def breakdown(betahat, sigma, num_pre, num_post, restriction, level=0.95, l_vec=None, grid=None, tol=None,
              **options) -> float:
    """The breakdown value: the largest m (Mbar or M) at which the robust confidence set still excludes zero.

    Returns 0.0 when the original interval (``honest_did_original``) or the robust set at the smallest m
    already includes zero. Otherwise the sets are computed along ``grid`` (ascending m values; by default
    Mbar = 0, 0.25, 0.5, 1, 2, ... doubling up to 1024, or M = 0 and 1/16, 1/8, ... up to 1024 standard errors
    of ``l_vec' betahat_post``) until one includes zero, then the bracket is bisected until it is narrower
    than ``tol`` (default 1e-3 for Mbar, 1e-3 standard errors for M). The value returned, b, is the lower end
    of the final bracket: the set at b excludes zero and the set at b + tol includes it. If the set still
    excludes zero at the last grid value, ``math.inf`` is returned (no breakdown found up to there). An empty
    set (no value of theta accepted) counts as excluding zero. For relative magnitudes whether the set includes
    zero is judged on R's theta grid, so b is as fine as that grid allows. ``options`` go to ``honest_did``.
    """
    restriction = _restriction(restriction)
    b, s, num_pre, num_post, lv, alpha = _inputs(betahat, sigma, num_pre, num_post, l_vec, level)
    if _includes_zero(*_original(b, s, num_pre, lv, alpha)):
        return 0.0
    sd_theta = math.sqrt(float(lv @ s[num_pre:, num_pre:] @ lv))
    if grid is None:
        steps = [0.0] + [2.0 ** k for k in range(-2, 11)]
        ms = np.array(steps) if restriction == "relative_magnitude" else \
            np.array([0.0] + [sd_theta * 2.0 ** k for k in range(-4, 11)])
    else:
        ms = np.sort(_m_values(grid))
    if tol is None:
        tol = 1e-3 if restriction == "relative_magnitude" else 1e-3 * sd_theta
    tol = float(tol)
    if not tol > 0:
        raise SensitivityError(f"tol must be positive, not {tol}")

    def includes(m):
        row = honest_did(b, s, num_pre, num_post, restriction, [m], level, lv, **options).iloc[0]
        return _includes_zero(row["lb"], row["ub"])

    lo = None
    for m in ms:
        if includes(m):
            if lo is None:
                return 0.0
            hi = float(m)
            break
        lo = float(m)
    else:
        return math.inf
    while hi - lo > tol:
        mid = (lo + hi) / 2
        if includes(mid):
            hi = mid
        else:
            lo = mid
    return lo
