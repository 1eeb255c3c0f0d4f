"""Minimum detectable effect (MDE) of a program's headline estimate, by simulation on the city's own data.

The question: could this evaluation detect an effect of a given size at all? The answer is simulated on the real
design, not assumed from a formula: the same households, the same calendar of starts, the same clusters and the
residual structure of the city's own outcomes, a *known* effect added, and the same estimator and the same
inference as the headline; power at an effect is the share of replications whose test rejects "no effect" at 5%
(two-sided), and the MDE is the smallest effect detected 80% of the time. Where the simulation cannot be honest
the MDE is withheld (NaN) with a code saying why (step 7), never printed optimistic.

**What is simulated** (``simulate``):

1. *The design is the real one*: the program's estimation sample as the headline uses it (households, start
   quarter of each, clusters, the panel's balance, the control group and covariates of the run).
2. *The untreated model*: household and quarter fixed effects fitted on the untreated household-quarters (never
   supported, and supported households before their start), as the imputation estimator fits them. Its fitted
   values ``F`` are each household's outcome without support. ``F`` is additive in household and quarter, so every
   difference-in-differences comparison finds exactly zero effect on it.
3. *Residuals* ``R = Y - F``. On supported household-quarters ``Y - F`` also holds the real effect: its mean per
   cohort and quarter since start is taken out (as Borusyak, Jaravel and Spiess do for their variance), so ``R``
   keeps the real spread of effects around those means and no average effect. Taking out the mean of n
   households takes a share 1/n of their variance (half with two households), so the centred residuals are
   multiplied by sqrt(n / (n - 1)) per cell; a cell of one household has nothing left (its residual is 0): the
   design is ``thin_cells`` (step 7). The untreated residuals are not rescaled for the degrees of freedom of the
   fixed effects: the estimator only uses each household's change between two quarters, in which its household
   effect cancels, and the quarter effects take a share 1/(households) of the noise (on a simulated panel the
   simulated SE before calibration is within 1-2% of the headline's, ``tests/test_power.py``).
4. *A synthetic outcome* ``Y* = F + k v_c R + delta D``: ``k`` the ``residual_scale`` of step 6, ``v_c`` one weight
   per cluster of the run (every household its own cluster when unclustered), Webb's six-point weights (mean 0,
   variance 1; the ones the few-cluster bootstrap uses), drawn afresh in each replication; ``D`` is 1 on supported
   household-quarters from the start, so the known effect ``delta`` is the same for every supported household and
   quarter. This is a wild cluster bootstrap of residuals: it keeps each household's own pattern of residuals over
   the quarters (serial correlation), the correlation between households of a cluster (they share a weight), and
   the different dispersion of households and clusters; clusters are independent, as the headline's clustering
   assumes.
   Resampling whole clusters (a block bootstrap) was not chosen: clusters differ in size and in their
   households' start quarters, so moving one cluster's residuals onto another's households breaks the calendar of
   starts, and drawing clusters with replacement changes the number of supported households from one replication
   to the next; the multiplier keeps every household where it is.
5. *The same estimator and inference*: Callaway-Sant'Anna's simple aggregate with the run's control group,
   covariates and clustering; the test rejects when the 95% interval excludes zero: the normal interval of the
   clustered (or unit-level) standard error, or with fewer than ``FEW_CLUSTERS`` clusters the county cluster
   jackknife with t(G-1), the interval the page's conclusion then rests on (``program_effects``); its critical
   value raised when it rejects too often at no effect (step 7).
6. *Calibration to the headline's SE*: the residual part is multiplied by ``residual_scale`` = the headline's
   SE over the root mean square of the current design's replicated SEs (``se_simulated_raw``), so that
   ``se_simulated`` equals ``se_headline`` (both designs use the current design's factor). What the residuals
   cannot reproduce is thus not allowed to make the MDE optimistic: above all the estimated cohort weights' term of
   the headline SE, which grows with how much the real effects differ between cohorts and quarters since start
   while the simulated effect is the same everywhere (5-7% of the SE on the bundled sample: the headline SE of
   ``F + R`` is as far below the headline's as ``se_simulated_raw`` is), and with few treated households the noise
   of the headline SE itself. The simulation is left to say what a formula cannot: the shape of the t statistic
   (few treated households, skewed incomes) and what one more quarter changes.
7. *Size, power and MDE*: ``size_at_zero`` is the share of replications at no effect that the headline's test
   rejects (1.96, or t(G-1) for the jackknife) — the real size of the page's 95% interval on this design, 5% when
   all is well. When it exceeds 5% by more than Monte Carlo error (two binomial standard errors: 6.4% with 1,000
   replications) the critical value (``critical``) is raised to the 95th percentile of the replications' |t| at no
   effect, so power is that of a test that rejects 5% of the time when there is no effect (``mde_note``
   ``size_adjusted``); it is never lowered. With two treated households per cohort on a simulated panel the
   headline's interval rejected 8.5% in data drawn afresh (the simulation: 11%), so a critical value of about 2.4.
   Power at each effect of the grid; the MDE is where power first reaches 80%, interpolated linearly between the
   two grid points around it. ``mde_note`` is one code, the first that applies: ``few_clusters`` (fewer than
   ``FEW_CLUSTERS`` clusters: Webb weights on 5 clusters are 6^5 = 7,776 patterns of the same five blocks of
   residuals, and the county jackknife-t's rejection rate at no effect under them was 0.5% to 9% on the bundled
   sample, not 5%: the MDE is NaN and ``mde_analytic``, from the jackknife SE and t(G-1), is the one to read; power
   and ``size_at_zero`` stay in the frame to show why), ``thin_cells`` (a post-start cell of the estimate has a
   single treated or comparison household: neither the headline SE nor the simulation has that household's
   deviation from its cell, the MDE is NaN), ``not_reached`` (no effect of the grid reaches 80%; NaN),
   ``below_grid`` (the smallest one already does; NaN), ``size_adjusted`` (the MDE is that of the size-corrected
   test), or empty.

**Which quarter** (``design``). ``current``: the quarters observed up to the run's quarter, the design of the
estimate the page shows. ``next_quarter``: the estimate as it will be made a quarter later, simulated: the same
households observed one more quarter, no new starts (supported households stay supported, the others stay
unsupported), the untreated outcome continuing the household's level and the last quarter's quarter effect, and
the new quarter's residuals each household's residuals of the last observed quarter under a second cluster weight
drawn independently of the first (the new quarter is as dispersed as the latest one, and its deviations are
uncorrelated with the household's earlier ones). What this leaves out, said plainly: starts in the next quarter
(a new cohort with a single quarter after its start), households entering or leaving the panel, effects that grow
with time since start (the effect here is constant), and how persistent real deviations are (the direction of
that approximation depends on the data). The ``current`` rows are kept beside it so a reader sees how much one
more quarter changes. Both designs use the same draws (common random numbers).

**Analytic cross-check** (``mde_analytic``, statsmodels): the MDE of a two-sided 5% test with 80% power when the
estimate is normal with the headline's standard error, ``NormalIndPower().solve_power(nobs1=1, ratio=0)`` times
that standard error (about 2.80 SE); with few clusters the one-sample t power of ``TTestPower`` with the counties
as observations (noncentral t with G-1 degrees of freedom) times the jackknife standard error. It is the current
estimate's, the same on the rows of both designs. With the SE calibrated (step 6) the simulated current MDE
differs from the analytic one by the shape of the t statistic and the size correction only: on the bundled sample
(village clusters) 1-8% above it (``tests/test_power.py`` checks 25% on a simulated panel, that data drawn afresh
at the simulated MDE are detected about 80% of the time, and that with two treated households per cohort the test
rejects 5% at no effect and the MDE is not below the analytic one). ``se_simulated_raw`` beside ``se_headline``
shows how much calibration there was.

**Speed.** Callaway-Sant'Anna is linear in the outcome for a given design (cells, comparison groups, covariates):
the estimate and each household's influence function are linear maps of the outcome matrix. So ``F`` and ``D``
are run through the estimator once each (they give 0 and exactly ``delta``; computed, not assumed), and only the
residual part changes between replications. Three ways to compute it, the same numbers (``tests/test_power.py``):

- ``cells`` (the normal interval, with or without covariates; the default): the closed form of the simple
  aggregate written over the design's post-start cells. Per cell the residuals (and residuals times the
  covariates) are summed once per cluster; a batch of replications is then a few products of draws x clusters by
  clusters x cells matrices. The first replication is re-estimated by the estimator itself and must agree to 1e-7
  (otherwise ``PowerError``), so the closed form can never drift from the estimator unnoticed. The replications
  themselves take milliseconds; the time goes into the panel and the eight runs of the estimator around them.
- ``clusters`` (the county jackknife, fewer than ``FEW_CLUSTERS`` clusters): the estimator, and its estimate
  without each county, run on each cluster's residuals alone (twice for the next quarter: the observed quarters
  and the new one); every replication is a weighted sum of those runs: G (or 2G) runs whatever the replications.
- ``draws``: the estimator run on each replication's outcome (the reference the tests hold the others to).

The frame (``power_frame``, the ``power`` artifact) has one row per design and effect: ``program, outcome,
design, effect, power, reps, mde, mde_note, mde_analytic, se_headline, se_simulated, inference, clusters,
resampling, engine, first_quarter, last_quarter, simulated_quarter, households, treated_households, control,
covariates, cluster, seconds, design_note, size_at_zero, critical, se_simulated_raw, residual_scale``. Codes, never
words: ``inference`` is ``clustered_normal``, ``unit_normal`` or ``county_jackknife_t``; ``resampling`` is
``wild_webb`` and ``cluster`` the column whose values get one weight each (``household_id`` when unclustered);
``mde_note`` as in step 7; ``design_note`` says in codes (``;`` between them) what the design assumes
(``observed`` for the current one, ``one_more_quarter;no_new_starts;new_residuals=last`` for the next quarter).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from helpers.analysis.construct import OUTCOMES, PROGRAMS, build_panel
from helpers.analysis.effects import WEBB, Z95, EstimationError, callaway_santanna
from helpers.analysis.effects.callaway_santanna import _Groups
from helpers.analysis.effects.panel import cluster_sums, twoway_solve
from helpers.analysis.program_effects import estimation_sample, few_clusters, headline_fit
from helpers.config import SEED, Paths
from helpers.domain.quarters import index_quarter
from helpers.store.memory import release

POWER, ALPHA = 0.8, 0.05
REPS, MIN_REPS, MAX_REPS = 1000, 100, 100_000
MULTIPLES = (0.0, 0.25, 0.5, 0.75, 0.875, 1.0, 1.125, 1.25, 1.5, 1.75, 2.0)   # default grid, x the analytic MDE
DESIGNS = ("current", "next_quarter")
ENGINES = ("cells", "clusters", "draws")
BATCH = 4_000_000            # draws x clusters held at once
CHECK_RTOL = 1e-7            # the closed form against the estimator on the first replication


class PowerError(EstimationError):
    """Input the power simulation cannot use; the message says what is wrong."""


# ---- input ------------------------------------------------------------------------------------------------------
def parse_effects(text: str | None) -> list[float] | None:
    """The effects grid from a comma-separated text (``"50,100,200"``): sorted sizes >= 0, at least one above 0;
    None for an empty text (the grid is then derived from the analytic MDE)."""
    if text is None or not str(text).strip():
        return None
    out = []
    for item in str(text).split(","):
        item = item.strip()
        if not item:
            continue
        try:
            x = float(item)
        except ValueError:
            raise PowerError(f"effects must be numbers separated by commas (e.g. 50,100,200), not {item!r}") from None
        if not math.isfinite(x) or x < 0:
            raise PowerError(f"effects are sizes of an effect, finite and at least 0, not {item!r}")
        out.append(x)
    if not any(x > 0 for x in out):
        raise PowerError(f"effects {text!r} hold no effect above 0: give the sizes to try, e.g. 50,100,200")
    return sorted(set(out))


def check_reps(reps) -> int:
    """The number of replications, a whole number from MIN_REPS to MAX_REPS."""
    r = None
    if isinstance(reps, (int, np.integer)) and not isinstance(reps, bool):
        r = int(reps)
    elif isinstance(reps, str) and reps.strip().isdigit():
        r = int(reps.strip())
    if r is None or not MIN_REPS <= r <= MAX_REPS:
        raise PowerError(f"reps must be a whole number of replications from {MIN_REPS} to {MAX_REPS:,} "
                         f"(power is a share of them), not {reps!r}")
    return r


def default_effects(mde_analytic: float) -> list[float]:
    """The grid around the analytic MDE: 0 (the test's size) and 0.25x..2x of it, rounded at the analytic MDE's
    second significant digit (57 -> whole numbers, 0.057 -> thousandths)."""
    if not math.isfinite(mde_analytic) or mde_analytic <= 0:
        raise PowerError("the headline estimate has no standard error, so no grid of effects can be derived from it: "
                         "give the effects to try (e.g. --effects 50,100,200)")
    digits = 1 - int(math.floor(math.log10(mde_analytic)))
    return sorted({round(m * mde_analytic, digits) for m in MULTIPLES})


def analytic_mde(se: float, clusters: int | None = None) -> float:
    """The analytic MDE (two-sided 5%, 80% power) of an estimate with standard error ``se``: normal
    (``NormalIndPower``, one sample of size 1, so the effect size is in standard errors), or with ``clusters`` the
    one-sample t power (``TTestPower``: noncentral t with clusters - 1 degrees of freedom, the effect size times
    sqrt(clusters) in standard errors)."""
    from statsmodels.stats.power import NormalIndPower, TTestPower

    if not math.isfinite(se) or se <= 0:
        return float("nan")
    if clusters is None:
        d = NormalIndPower().solve_power(effect_size=None, nobs1=1, alpha=ALPHA, power=POWER, ratio=0,
                                         alternative="two-sided")
        return float(d) * se
    d = TTestPower().solve_power(effect_size=None, nobs=clusters, alpha=ALPHA, power=POWER, alternative="two-sided")
    return float(d) * math.sqrt(clusters) * se


# ---- the design ---------------------------------------------------------------------------------------------------
def untreated_model(p) -> tuple[np.ndarray, np.ndarray]:
    """Fitted untreated outcome ``F`` (household + quarter effects fitted on untreated cells; NaN where not observed)
    and residuals ``R`` (0 where not observed), those of treated cells taken around their cohort x event-time mean
    and rescaled by sqrt(n / (n - 1)), n the treated households of the cell, so that they keep the variance the
    centring takes (a single household's residual is 0: ``thin_cells``)."""
    obs, treated = p.observed, p.treated
    untreated = obs & ~treated
    y0 = np.where(untreated, p.Y, 0.0)
    a, l = twoway_solve(untreated, y0.sum(axis=1), y0.sum(axis=0))
    F = a[:, None] + l[None, :]
    R = np.where(obs, np.nan_to_num(p.Y) - F, 0.0)
    ti, tj = np.nonzero(treated)
    if len(ti):
        _, key = np.unique(np.column_stack([p.G[ti], p.periods[tj] - p.G[ti]]), axis=0, return_inverse=True)
        key = key.ravel()
        n = np.bincount(key).astype(float)
        rescale = np.sqrt(n / np.maximum(n - 1, 1))
        R[ti, tj] = (R[ti, tj] - (np.bincount(key, R[ti, tj]) / n)[key]) * rescale[key]
    return np.where(obs, F, np.nan), R


@dataclass
class Design:
    """One design the effect is simulated on: the estimator's result on it (cells fixed) and the parts of Y*."""

    name: str
    res: object                # CSResult: the design's cells, comparison groups, clusters
    F: np.ndarray              # n x T untreated outcome (NaN where not observed)
    D: np.ndarray              # n x T 1 on treated cells (NaN where not observed)
    R: np.ndarray              # n x T residuals (0 where not observed)
    role: np.ndarray           # T: which cluster weight multiplies the quarter's residuals (1: the simulated quarter)
    simulated: bool = False    # the last quarter is simulated
    note: str = "observed"

    @property
    def observed(self) -> np.ndarray:
        return ~np.isnan(self.F)

    def outcome(self, part: np.ndarray) -> np.ndarray:
        """A part as an outcome of the design: NaN where the design has no observation."""
        return np.where(self.observed, part, np.nan)


def current_design(cs) -> Design:
    p = cs.panel
    F, R = untreated_model(p)
    D = np.where(p.observed, p.treated.astype(float), np.nan)
    return Design("current", cs, F, D, R, np.zeros(len(p.periods), dtype=int))


def next_quarter_design(cs, F: np.ndarray, R: np.ndarray) -> Design:
    """The design one quarter later: the same households, observed in the new quarter when observed in the last,
    no new starts; the untreated outcome continues the household's level and the last quarter effect; the new
    quarter's residuals are the last quarter's (under their own cluster weight, ``role`` 1)."""
    p = cs.panel
    obs = p.observed
    new = obs[:, -1]
    periods = np.append(p.periods, p.periods[-1] + 1)
    F2 = np.column_stack([F, np.where(new, F[:, -1], np.nan)])
    R2 = np.column_stack([R, np.where(new, R[:, -1], 0.0)])
    ui, tj = np.nonzero(~np.isnan(F2))
    data = {"unit": np.arange(len(p.units))[ui], "time": periods[tj], "cohort": p.G[ui], "y": F2[ui, tj]}
    if p.cluster is not None:
        data["cluster"] = p.cluster[ui]
    covariates = list(cs.covariates)
    if covariates:
        X2 = np.concatenate([p.X, p.X[:, -1:, :]], axis=1)
        for k, c in enumerate(covariates):
            data[c] = X2[ui, tj, k]
    res = callaway_santanna(pd.DataFrame(data), "y", "unit", "time", "cohort", control=cs.control,
                            covariates=covariates or None, cluster="cluster" if p.cluster is not None else None,
                            base_period=cs.base_period, balanced=p.balanced)
    if len(res.panel.units) != len(p.units) or (res.panel.units != np.arange(len(p.units))).any():
        raise PowerError("the next quarter's design lost households of the current one")      # not expected
    D2 = np.where(~np.isnan(F2), res.panel.treated.astype(float), np.nan)
    role = np.r_[np.zeros(len(p.periods), dtype=int), 1]
    return Design("next_quarter", res, F2, D2, R2, role, True, "one_more_quarter;no_new_starts;new_residuals=last")


# ---- the statistics of one outcome: the estimate, and what its test is computed from -----------------------------
class _Statistics:
    """For an outcome of a design, the vector the test needs: [estimate, cluster sums of its influence function]
    (normal interval), or [estimate, estimate without each county] (jackknife). Linear in the outcome."""

    def __init__(self, design: Design, jackknife: np.ndarray | None):
        self.d = design
        res = design.res
        self.n = res.n
        self.jackknife = jackknife
        if jackknife is None:
            self.codes = res.panel.cluster if res.panel.cluster is not None else np.arange(self.n)
            self.k = int(self.codes.max()) + 1
            self.scale = self.k / (self.k - 1) if res.panel.cluster is not None else 1.0
        else:
            self.k = int(jackknife.max()) + 1
            self.subs = []
            for g in range(self.k):
                keep = jackknife != g
                try:
                    self.subs.append((keep, res._without(keep)))
                except EstimationError as err:
                    raise PowerError(f"the county jackknife the headline rests on cannot be computed without county "
                                     f"{g + 1} of {self.k} ({err}), so neither can its power") from None
            self.crit = float(stats.t.ppf(1 - ALPHA / 2, self.k - 1))

    def __call__(self, Y: np.ndarray) -> np.ndarray:
        est, psi = self.d.res._overall_for_outcome(Y, ["simple"])["simple"]
        if self.jackknife is None:
            return np.concatenate([[est], cluster_sums(psi, self.codes, self.k)[:, 0]])
        return np.array([est] + [s._overall_for_outcome(Y[keep], ["simple"])["simple"][0] for keep, s in self.subs])

    @property
    def critical(self) -> float:
        """The headline's critical value: 1.96, or t(G-1) for the jackknife."""
        return Z95 if self.jackknife is None else self.crit

    def deviations(self, O: np.ndarray) -> np.ndarray:
        """What the standard error is the root sum of squares of (times ``factor``), per row of statistic vectors:
        the influence function's cluster sums, or the estimates without each county less the estimate."""
        return O[:, 1:] if self.jackknife is None else O[:, 1:] - O[:, :1]

    @property
    def factor(self) -> float:
        return self.scale / self.n ** 2 if self.jackknife is None else (self.k - 1) / self.k

    def test(self, O: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rejections at 5% (two-sided, the headline's critical value) and standard errors of a batch of statistic
        vectors (rows)."""
        est, se = O[:, 0], np.sqrt(self.factor * (self.deviations(O) ** 2).sum(axis=1))
        return (np.abs(est) > self.critical * se) & (se > 0), se


@dataclass
class _Replications:
    """A design's replications reduced to what the test needs at any effect ``delta`` and any scale ``kappa`` of
    the residual part (both are linear): the statistic vector of a replication is ``fF + delta fD + kappa O``, so
    its estimate is ``fF[0] + delta fD[0] + kappa e`` and its squared standard error a quadratic in delta and kappa
    of the deviations' cross products: ``p = dev(O).dev(fF)``, ``q = dev(O).dev(fD)``, ``s = |dev(O)|^2``."""

    st: _Statistics
    fF: np.ndarray
    fD: np.ndarray
    e: np.ndarray
    p: np.ndarray
    q: np.ndarray
    s: np.ndarray

    def stats(self, delta: float, kappa: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """Estimates and standard errors of the replications at effect ``delta``, residuals scaled by ``kappa``."""
        dF, dD = (self.st.deviations(x[None, :])[0] for x in (self.fF, self.fD))
        a2 = float(((dF + delta * dD) ** 2).sum())
        se2 = a2 + 2 * kappa * (self.p + delta * self.q) + kappa ** 2 * self.s
        est = self.fF[0] + delta * self.fD[0] + kappa * self.e
        return est, np.sqrt(self.st.factor * np.maximum(se2, 0.0))

    def t(self, delta: float, kappa: float) -> tuple[np.ndarray, np.ndarray]:
        """|estimate| / standard error (0 where the standard error is 0: never a rejection) and the SEs."""
        est, se = self.stats(delta, kappa)
        return np.where(se > 0, np.abs(est) / np.where(se > 0, se, 1.0), 0.0), se


def _replicate(st: _Statistics, eng, design: Design, resample: np.ndarray, reps: int, batch: int, seed: int,
               check: bool) -> _Replications:
    """Run the engine over the replications in batches (the closed form checked on the first one)."""
    fF, fD = st(design.F), st(design.D)            # exactly 0 and delta in theory; computed anyway
    dF, dD = (st.deviations(x[None, :])[0] for x in (fF, fD))
    parts = []
    n_resample = int(resample.max()) + 1
    for start in range(0, reps, batch):
        V = _draws(seed, start, min(batch, reps - start), n_resample)
        O = eng(V)
        if check and start == 0:
            _check(st, design, V, resample, O[0])
        dev = st.deviations(O)
        parts.append((O[:, 0], dev @ dF, dev @ dD, (dev ** 2).sum(axis=1)))
    return _Replications(st, fF, fD, *(np.concatenate(x) for x in zip(*parts)))


# ---- the residual part of the replications: three ways, the same numbers --------------------------------------------
class _CellsEngine:
    """Closed form of the simple aggregate and its influence cluster sums over the design's post-start cells, for
    residuals under per-cluster weights (the normal interval). Each cell is DRDID's outcome regression
    (``callaway_santanna._cell_reg``, covariates at the cell's base period; without covariates the regression is
    on an intercept alone, the difference in mean changes): every term of its estimate and influence function is a
    cluster sum of the residuals, of the residuals times the covariates, or a constant of the design, so a batch
    of replications is a few products of draws x clusters by clusters x cells matrices."""

    def __init__(self, st: _Statistics, resample: np.ndarray):
        d, res = st.d, st.d.res
        p, cells = res.panel, res.cells
        ic, k, n = st.codes, st.k, res.n
        # every inference cluster lies in one resampling cluster (the same partition, possibly numbered otherwise)
        _, first = np.unique(ic, return_index=True)
        self.map = resample[first]
        if (self.map[ic] != resample).any():
            raise PowerError("the closed form needs each cluster of the test inside one resampling cluster")
        groups, pg = res._pg()
        pgc = pg[np.searchsorted(groups, res.cells_g)]
        post = np.flatnonzero(res.cells_g <= res.cells_t)
        self.pg = pgc[post]
        self.w = self.pg / self.pg.sum()
        obs = p.observed
        c, q = len(post), 1 + (0 if p.X is None else p.X.shape[2])
        self.c, self.q = c, q
        cnt = np.zeros((k, c))                      # treated units per cluster
        sD = {x: np.zeros((k, c)) for x in "jb"}     # treated units' residuals at the cell's period (j) and base (b)
        aC = {x: np.zeros((k, c)) for x in "jb"}     # comparison units' residuals times x'u (the asymptotic term)
        xr = {x: np.zeros((k, c, q)) for x in "jb"}  # comparison units' residuals times x (the regression)
        xd = np.zeros((k, c, q))                     # treated units' x, less the comparison units' x x'u
        self.inv = np.zeros((c, q, q))               # (X'X)^-1 of the comparison units
        self.xbar = np.zeros((c, q))                 # treated units' mean x
        nD = np.zeros(c)
        Rt = np.ascontiguousarray(d.R.T)            # periods x units: a period's residuals in one run of memory
        groups = _Groups(p, res.control)
        ones = np.ones((n, 1)) if p.X is None else None
        for m, cc in enumerate(post):
            j, b = cells.j[cc], cells.b[cc]
            D, C = groups(cells.g[cc], j, b)
            if not p.balanced:
                both = obs[:, j] & obs[:, b]
                D, C = D & both, C & both
            X = ones if p.X is None else np.column_stack([np.ones(n), p.X[:, b, :]])
            xD, xC = X[D], X[C]
            nD[m], n1 = len(xD), len(xD) + len(xC)
            xtx = xC.T @ xC
            self.inv[m] = np.linalg.inv(xtx)
            u = np.linalg.solve(xtx / n1, xD.sum(axis=0) / n1)
            self.xbar[m] = xD.mean(axis=0)
            cD, cC, xu = ic[D], ic[C], xC @ u
            cnt[:, m] = np.bincount(cD, minlength=k)
            for x, col in (("j", j), ("b", b)):
                rD, rC = Rt[col][D], Rt[col][C]
                sD[x][:, m] = np.bincount(cD, rD, k)
                aC[x][:, m] = np.bincount(cC, rC * xu, k)
                for a in range(q):
                    xr[x][:, m, a] = np.bincount(cC, rC * xC[:, a], k)
            for a in range(q):
                xd[:, m, a] = np.bincount(cD, xD[:, a], k) - np.bincount(cC, xC[:, a] * xu, k)
        self.nD = nD
        coef = self.w * n / nD                       # cell weight x the rescaling of its influence function
        self.roles = sorted(set(d.role.tolist()))
        rj, rb = d.role[cells.j[post]], d.role[cells.b[post]]
        on = {(x, r): ((rj if x == "j" else rb) == r).astype(float) for x in "jb" for r in self.roles}
        # under the weights of role r: treated sums (A), comparison x-sums (B, flattened cells x q), own terms (P)
        self.A = {r: sD["j"] * on["j", r] - sD["b"] * on["b", r] for r in self.roles}
        self.B = {r: (xr["j"] * on["j", r][None, :, None] - xr["b"] * on["b", r][None, :, None]).reshape(k, c * q)
                  for r in self.roles}
        self.P = {r: (self.A[r] - (aC["j"] * on["j", r] - aC["b"] * on["b", r])) @ coef for r in self.roles}
        self.cnt_coef = cnt * coef
        self.xd_coef = (xd * coef[None, :, None]).reshape(k, c * q)
        ug, ginv = np.unique(res.cells_g[post], return_inverse=True)
        self.gm = np.zeros((c, len(ug)))
        self.gm[np.arange(c), ginv.ravel()] = 1.0
        self.n_gk = np.column_stack([np.bincount(ic[p.G == g], minlength=k) for g in ug]).astype(float)
        self.N_k = np.bincount(ic, minlength=k).astype(float)
        self.S = self.pg.sum()
        self.cg = self.gm.sum(axis=0)

    def __call__(self, V: dict[int, np.ndarray]) -> np.ndarray:
        W = {r: V[r][:, self.map] for r in self.roles}
        B = len(W[self.roles[0]])
        eta_treat = sum(W[r] @ self.A[r] for r in self.roles) / self.nD            # draws x cells
        xdy = sum(W[r] @ self.B[r] for r in self.roles).reshape(B, self.c, self.q)
        beta = np.einsum("bcp,cpq->bcq", xdy, self.inv)                            # the comparison regression
        att = eta_treat - np.einsum("bcq,cq->bc", beta, self.xbar)
        est = att @ self.w
        S = sum(W[r] * self.P[r][None, :] for r in self.roles) - att @ self.cnt_coef.T \
            - beta.reshape(B, -1) @ self.xd_coef.T
        bb = att @ self.pg                                                          # the estimated weights' term
        S = S + ((att @ self.gm) @ self.n_gk.T - bb[:, None] * self.N_k[None, :]) / self.S \
            - bb[:, None] * (self.n_gk @ self.cg - self.N_k * self.S)[None, :] / self.S ** 2
        return np.column_stack([est, S])


class _ClustersEngine:
    """The estimator run on each resampling cluster's residuals alone (per role); a replication is their weighted
    sum."""

    def __init__(self, st: _Statistics, resample: np.ndarray):
        d = st.d
        self.parts = {}
        for r in sorted(set(d.role.tolist())):
            cols = (d.role == r)[None, :]
            self.parts[r] = np.vstack([st(d.outcome(np.where((resample == g)[:, None] & cols, d.R, 0.0)))
                                       for g in range(int(resample.max()) + 1)])

    def __call__(self, V: dict[int, np.ndarray]) -> np.ndarray:
        return sum(V[r] @ P for r, P in self.parts.items())


class _DrawsEngine:
    """The estimator run on each replication's residual outcome."""

    def __init__(self, st: _Statistics, resample: np.ndarray):
        self.st, self.resample = st, resample

    def __call__(self, V: dict[int, np.ndarray]) -> np.ndarray:
        d = self.st.d
        out = []
        for b in range(len(V[0])):
            Z = sum(np.where((d.role == r)[None, :], V[r][b, self.resample][:, None] * d.R, 0.0) for r in V)
            out.append(self.st(d.outcome(Z)))
        return np.vstack(out)


def _draws(seed: int, start: int, size: int, clusters: int) -> dict[int, np.ndarray]:
    """Webb weights of replications start..start+size-1 (two independent sets: the observed quarters, the simulated
    one), reproducible from the seed (the batches depend only on the number of clusters and replications)."""
    rng = np.random.default_rng([seed, start])
    return {r: WEBB[rng.integers(0, 6, size=(size, clusters))] for r in (0, 1)}


# ---- the simulation -----------------------------------------------------------------------------------------------
def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x))))


def _mde(effects: np.ndarray, power: np.ndarray) -> tuple[float, str]:
    """Where power first reaches POWER, interpolated linearly between grid points; NaN with a note otherwise."""
    hit = np.flatnonzero(power >= POWER)
    if not len(hit):
        return float("nan"), "not_reached"
    i = int(hit[0])
    if i == 0:
        return float("nan"), "below_grid"
    e0, e1, p0, p1 = effects[i - 1], effects[i], power[i - 1], power[i]
    return float(e0 + (POWER - p0) / (p1 - p0) * (e1 - e0)), ""


def _jackknife_codes(d: pd.DataFrame, units: np.ndarray) -> np.ndarray:
    """County of each unit of the estimate (in the order of its units) as codes 0..G-1: the few-cluster check's."""
    if "county" not in d.columns:
        raise PowerError("with fewer than 10 clusters the headline rests on the county jackknife, and the sample has "
                         "no county column")
    county = d.groupby("household_id", observed=True)["county"].first()
    county = pd.Series(county.to_numpy(), index=county.index.astype(str))
    values = county.reindex(pd.Index(units).astype(str))
    if values.isna().any():
        raise PowerError(f"{int(values.isna().sum())} households of the estimate have no county")
    return pd.factorize(values)[0].astype("int64")


def simulate(d: pd.DataFrame, outcome: str = "income_pc", program: str = "any", control: str = "not_yet",
             covariates: list[str] | None = None, cluster: str | None = "village", balanced: bool = True,
             effects: list[float] | None = None, reps: int = REPS, seed: int = SEED, designs=DESIGNS,
             engine: str | None = None, quarters: bool = False, fit=None) -> pd.DataFrame:
    """Power at each effect and the MDE of the headline estimate on the sample ``d`` (columns ``household_id, time,
    cohort``, the outcome, the cluster and covariates, and ``county`` when the clusters are few), for each of
    ``designs``: the frame of the module docstring (``seconds`` left to the caller). ``engine`` forces one of
    ``ENGINES`` (tests); by default ``cells``, or ``clusters`` for the jackknife. With ``quarters`` the integer
    periods are quarter indices (as the estimation panel's ``time``) and are labelled ``YYYYQn``. ``fit`` is the
    headline's Callaway-Sant'Anna result on ``d`` with these options when it was made already (it is not fitted
    again)."""
    reps = check_reps(reps)
    covariates = list(covariates or [])
    cluster = cluster or None
    if engine is not None and engine not in ENGINES:
        raise PowerError(f"engine must be one of {ENGINES}, not {engine!r}")
    unknown = [x for x in designs if x not in DESIGNS]
    if unknown:
        raise PowerError(f"designs must be among {DESIGNS}, not {unknown}")
    cs = fit if fit is not None else callaway_santanna(d, outcome, "household_id", "time", "cohort", control=control,
                                                       covariates=covariates or None, cluster=cluster, balanced=balanced)
    p = cs.panel
    n = len(p.units)
    few = few_clusters(cluster, cs.spec["clusters"])
    jk = None
    if few:
        jk = _jackknife_codes(d, p.units)
        test = cs.few_cluster_test(jk, "simple")
        se_head, mde_an, inference = test.se(), analytic_mde(test.se(), test.clusters), "county_jackknife_t"
    else:
        se_head = float(cs.aggregate("simple").loc["overall", "se"])
        mde_an = analytic_mde(se_head)
        inference = "clustered_normal" if cluster else "unit_normal"
    grid = np.array(effects if effects is not None else default_effects(mde_an), dtype=float)
    resample = p.cluster if p.cluster is not None else np.arange(n)
    n_resample = int(resample.max()) + 1
    if engine is None:
        engine = "clusters" if few else "cells"
    if engine == "cells" and few:
        raise PowerError("the closed form ('cells') is for the normal interval; the jackknife is 'clusters'")

    label = (lambda t: index_quarter(t)) if quarters else (lambda t: str(int(t)))  # noqa: E731
    cur = current_design(cs)
    built = {"current": cur}
    if "next_quarter" in designs:
        built["next_quarter"] = next_quarter_design(cs, cur.F, cur.R)
    batch = max(1, min(reps, BATCH // max(n_resample, 1)))
    engines = {"cells": _CellsEngine, "clusters": _ClustersEngine, "draws": _DrawsEngine}
    runs = {}
    for name in dict.fromkeys(("current", *designs)):        # the current design always: it sets the scale
        st = _Statistics(built[name], jk)
        runs[name] = _replicate(st, engines[engine](st, resample), built[name], resample, reps, batch, seed,
                                engine == "cells")
    se_raw = _rms(runs["current"].stats(0.0)[1])
    kappa = se_head / se_raw if math.isfinite(se_head) and se_head > 0 and se_raw > 0 else 1.0
    margin = ALPHA + 2 * math.sqrt(ALPHA * (1 - ALPHA) / reps)      # 5% and two binomial standard errors
    rows = []
    for name in designs:
        design, rep = built[name], runs[name]
        nominal = rep.st.critical
        t0, se0 = rep.t(0.0, kappa)
        size0 = float(np.mean(t0 > nominal))
        crit = nominal
        if size0 > margin:                                   # the headline's interval rejects too often here
            crit = max(nominal, float(np.quantile(t0, 1 - ALPHA, method="higher")))
        power = np.array([np.mean(rep.t(float(delta), kappa)[0] > crit) for delta in grid])
        mde, note = _mde(grid, power)
        res = design.res
        thin = bool(res.cells.thin[(res.cells_g <= res.cells_t) & ~res.cells.reference].any())
        if few:
            mde, note = float("nan"), "few_clusters"
        elif thin:
            mde, note = float("nan"), "thin_cells"
        elif not note and crit > nominal:
            note = "size_adjusted"
        last = res.panel.periods[-1]
        for delta, pw in zip(grid, power):
            rows.append({"program": program, "outcome": outcome, "design": name, "effect": float(delta),
                         "power": float(pw), "reps": reps, "mde": mde, "mde_note": note, "mde_analytic": mde_an,
                         "se_headline": se_head, "se_simulated": _rms(se0), "inference": inference,
                         "clusters": int(rep.st.k) if rep.st.jackknife is not None or cluster else n,
                         "resampling": "wild_webb", "engine": engine,
                         "first_quarter": label(p.periods[0]), "last_quarter": label(last),
                         "simulated_quarter": label(last) if design.simulated else "", "households": n,
                         "treated_households": int((p.G > 0).sum()), "control": control,
                         "covariates": ",".join(covariates), "cluster": cluster or "household_id",
                         "design_note": design.note, "size_at_zero": size0, "critical": crit,
                         "se_simulated_raw": _rms(rep.stats(0.0)[1]), "residual_scale": kappa})
    return pd.DataFrame(rows)


def _check(st: _Statistics, design: Design, V: dict[int, np.ndarray], resample: np.ndarray, got: np.ndarray) -> None:
    """The closed form's first replication against the estimator run on that replication's outcome."""
    Z = sum(np.where((design.role == r)[None, :], V[r][0, resample][:, None] * design.R, 0.0) for r in V)
    want = st(design.outcome(Z))
    scale = max(np.abs(want).max(), 1e-300)
    if not np.allclose(got, want, rtol=CHECK_RTOL, atol=CHECK_RTOL * scale):
        raise PowerError(f"internal check: the closed form of the simulation differs from the estimator by "
                         f"{np.abs(got - want).max():.3g} on the first replication; use engine='clusters'")


def power_frame(quarter: str, paths: Paths | None = None, program: str = "any", outcome: str = "income_pc",
                control: str = "not_yet", covariates: str = "", cluster: str = "village", balanced: bool = True,
                effects: str = "", reps: int = REPS, hq: pd.DataFrame | None = None) -> pd.DataFrame:
    """The ``power`` artifact: ``simulate`` on the program's estimation sample from the processed household quarters
    (``hq``, or read from ``paths.processed``) up to ``quarter``, with the headline's options; ``seconds`` is the
    wall time of the whole (panel included)."""
    t0 = time.perf_counter()
    grid = parse_effects(effects)
    reps = check_reps(reps)
    if program not in PROGRAMS:
        raise PowerError(f"program must be one of {list(PROGRAMS)}, not {program!r}")
    if outcome not in OUTCOMES:
        raise PowerError(f"outcome must be one of {list(OUTCOMES)}, not {outcome!r}")
    panel = build_panel(paths, quarter, balanced=balanced, hq=hq)
    covs = [c.strip() for c in covariates.split(",") if c.strip()]
    try:
        d = estimation_sample(panel, program, outcome, covs, cluster)
    except EstimationError as err:
        raise PowerError(str(err)) from None
    out = simulate(d, outcome, program, control, covs, cluster or None, panel.balanced, grid, reps, SEED,
                   quarters=True, fit=headline_fit(panel, program, outcome, control, covs, cluster))
    out["seconds"] = time.perf_counter() - t0
    del d
    release()
    return out
