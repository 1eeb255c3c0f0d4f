"""Distributional effects: how support moved the low, middle and upper parts of supported households' income.

A mean effect cannot say whether support helps most the households nearest the monitoring line. This module
estimates quantile treatment effects on the treated (QTT) at the 10th, 25th and 50th percentiles of per-capita
income, under the same staggered design as the mean effects (``helpers.analysis.program_effects``): the same
estimation sample (``effects.panel.prepare``: always-treated and first-period starters out), the same control
group (not yet treated, or never treated), the same clusters.

Method: changes-in-changes (Athey and Imbens 2006, *Econometrica* 74(2)), cell by cell. For each start cohort
g and each quarter t >= g, cohort g's income distribution in its base quarter g-1 is carried forward to t by the
change the comparison households (not yet treated at t, or never treated) went through between g-1 and t:

    F_{Y0|g,t}(y) = F_{g,g-1}( F^{-1}_{c,g-1}( F_{c,t}(y) ) ),

i.e. each supported household's base income y becomes F^{-1}_{c,t}(F_{c,g-1}(y)): the income that holds, among
the comparison households at t, the rank that y held among them at g-1. The cells' counterfactual incomes and
observed incomes are pooled, each supported household-quarter counting once (so each cell weighs by its number
of supported households, the weights of the simple average ATT), and QTT(tau) = Q_{Y1}(tau) - Q_{Y0}(tau): the
tau-th percentile of supported household-quarters' income minus the tau-th percentile they would have had
without support. Q is the inverse of the empirical distribution, inf{y : F(y) >= tau} (numpy's
``inverted_cdf``), as in Athey and Imbens.

Why changes-in-changes. (1) It makes no assumption about the scale of income: it is invariant to monotone
transformations (the same percentiles whether income is in 元, in logs or per year), whereas mean
difference-in-differences assumes parallel trends on one particular scale and a distributional DiD assumes that
each percentile moves in parallel on that scale. (2) It lets the effect differ along the distribution, which is
the question. (3) Quantile regression with unit and period effects estimates conditional quantiles under a
linear model, and with staggered starts it inherits the forbidden comparisons of two-way fixed effects.
Assumptions: a household's untreated income is a strictly increasing function of an unobserved level u and of
time, the same function for supported and comparison households (any household with the same u would earn the
same without support); within a group (a cohort, the comparison households) the distribution of u does not change
between g-1 and t; and the supported households' base incomes lie within the comparison households' (outside it
the counterfactual is pinned at the comparison's lowest or highest income). Income is continuous; with many tied
values the method only bounds the effect. No covariates.

Inference: cluster bootstrap over the headline's clusters (villages by default; households when
``cluster`` is None or ``"household_id"``): clusters drawn with replacement, every cell and the pooling
recomputed, ``reps`` times (default 199: enough for a standard error and a 95% interval that is stable to about a
tenth of its width, in seconds on the city's data), seeded from ``helpers.config.SEED``. The interval is the
bootstrap's 2.5th and 97.5th percentiles (``interval="percentile"``, the default) or the estimate plus or minus
1.96 bootstrap standard errors (``"normal"``); ``se`` is the bootstrap standard deviation. A draw in which a cell
has no comparison household leaves that cell out of that draw. With fewer than ``FEW_CLUSTERS`` clusters
(``helpers.analysis.program_effects``: ten) a cluster bootstrap is unreliable (with five counties its intervals can
come out narrower than with sixty villages): no bootstrap is drawn, ``ci_low``, ``ci_high``, ``se`` and the gap's
interval are NaN, ``reps`` is 0, ``few_clusters`` is True and ``note`` says ``"few_clusters"``; the point estimates
stand. Households as clusters are never few.

What the frame adds to each percentile's effect (the same values on every row, since each describes the whole
estimate):

- ``gap_10_50``: QTT(0.10) - QTT(0.50), how much more (positive) or less (negative) the 10th percentile gains than
  the median, with ``gap_ci_low``, ``gap_ci_high`` and ``gap_se`` computed from the same bootstrap draws as the
  percentiles' own (the difference taken draw by draw, the same kind of interval), so whether the lowest incomes
  gain more than the middle is read off one interval, not off two overlapping ones. The 10th and 50th percentiles
  are always estimated for it, whatever ``quantiles`` asks for. It is a column, not a row: the artifact's key
  (quarter, program, outcome, quantile) admits no missing quantile, and every row stays one percentile.
- ``outside_support``: the share of supported household-quarters (those pooled, ``treated_obs``) whose base-period
  income lies strictly below the lowest or above the highest base-period income of their cell's comparison
  households; their counterfactual is clamped to the comparison's lowest or highest income at t, not identified
  (the attributes ``outside_below`` and ``outside_above`` count them by side).
- ``few_clusters`` (bool) and ``note``: ``"few_clusters"`` when the intervals were withheld as above, else ``""``.

The distributions are computed with integer frequency weights (1 for the estimate, a cluster's draw count in the
bootstrap) on values sorted once, so no draw sorts the comparison incomes again; statsmodels' ``ECDF`` takes no
weights, and the tests check the estimate against statsmodels' ``ECDF`` and numpy's ``inverted_cdf`` quantiles.

Nothing here knows a language: codes in, a tidy frame out (``quantile_effects``, ``distribution_frame``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from helpers.analysis.construct import PROGRAMS, Panel, build_panel
from helpers.analysis.effects.panel import EstimationError, prepare
from helpers.analysis.program_effects import FEW_CLUSTERS, few_clusters
from helpers.config import SEED, Paths
from helpers.store.memory import release

QUANTILES = (0.10, 0.25, 0.50)
GAP = (0.10, 0.50)                 # gap_10_50 = QTT(0.10) - QTT(0.50)
FEW_CLUSTERS_NOTE = "few_clusters"
DEFAULT_REPS = 199
CONTROLS = ("not_yet", "never")
INTERVALS = ("percentile", "normal")
DISTRIBUTION_OUTCOMES = ("income_pc", "earned_pc")     # continuous outcomes (log income gives the same percentiles)
COLUMNS = ["program", "outcome", "quantile", "qtt", "ci_low", "ci_high", "se", "treated_obs", "reps", "observed",
           "counterfactual", "control", "cluster", "clusters", "cells", "gap_10_50", "gap_ci_low", "gap_ci_high",
           "gap_se", "outside_support", "few_clusters", "note"]


@dataclass
class _Cell:
    """One cohort g and one quarter t >= g: the supported households, sorted by base income, and where their
    comparison households are kept (``_Design``)."""

    g: int
    t: int
    treated: np.ndarray        # unit positions of cohort g observed at g-1 and t, by income at g-1
    base: np.ndarray           # their incomes at g-1
    post: np.ndarray           # their incomes at t (observed under support)
    low: float                 # the comparison households' lowest and highest income at g-1
    high: float
    group: int                 # its comparison households sorted by income at t (``_Design.ct_units``)
    blocks: np.ndarray         # the blocks of comparison households sorted by income at g-1 that make up its own
    pos: np.ndarray            # treated x blocks: how many of each block's incomes at g-1 are <= each base income


class _Design:
    """Every (g, t) cell with supported and comparison households observed in both quarters, laid out so that a
    bootstrap draw costs little: the comparison households of the cells with the same quarter t and the same
    households are sorted by income at t once (``ct_units``, shared); those of the cells of one cohort are cut into
    blocks of households that are comparison households in the same cells (with a balanced panel and not-yet-treated
    comparisons: the never supported, and each later cohort), each sorted by income at g-1 once, where that costs
    less than sorting each cell's own (``block_units``); the incomes at t a counterfactual can take are numbered in
    order (``values``), so the pooled counterfactuals are found by their ranks. All weights are integers: every sum
    is exact, so the draws give the same numbers as the cell-by-cell computation of the module docstring."""

    def __init__(self, Y: np.ndarray, G: np.ndarray, periods: np.ndarray, control: str):
        self.cells: list[_Cell] = []
        self.empty = 0
        self.block_units: list[np.ndarray] = []
        self.ct_units: list[np.ndarray] = []
        ct_vals, groups = [], {}
        for g in np.unique(G[G > 0]):
            jg = int(np.searchsorted(periods, g))
            if jg == 0 or jg >= len(periods) or periods[jg] != g:
                continue
            jb = jg - 1
            specs = []                                     # (t, jt, supported units, comparison mask)
            for jt in range(jg, len(periods)):
                t = periods[jt]
                both = ~np.isnan(Y[:, jb]) & ~np.isnan(Y[:, jt])
                tr = np.flatnonzero((G == g) & both)
                comp = ((G == 0) if control == "never" else ((G == 0) | (G > t))) & both
                if not len(tr):
                    continue
                if not comp.any():
                    self.empty += 1
                    continue
                specs.append((t, jt, tr[np.argsort(Y[tr, jb], kind="stable")], comp))
            if specs:
                self._cohort(Y, int(g), jb, specs, ct_vals, groups)
        if self.cells:
            self.values = np.unique(np.concatenate(ct_vals))
            self.ct_rank = [np.searchsorted(self.values, v) for v in ct_vals]
            self.offsets = np.r_[0, np.cumsum([len(c.treated) for c in self.cells])]
            post = np.concatenate([c.post for c in self.cells])
            self.post_order = np.argsort(post, kind="stable")
            self.post_sorted = post[self.post_order]

    def _cohort(self, Y, g, jb, specs, ct_vals, groups) -> None:
        """The cells of cohort g: their comparison blocks at g-1 and their comparison households at t."""
        mem = np.column_stack([s[3] for s in specs])       # units x cells: comparison household of the cell
        anyc = mem.any(axis=1)
        if mem.shape[1] < 63:                             # each unit's cells as the bits of one integer
            bits = mem[anyc].astype("int64") @ (np.int64(1) << np.arange(mem.shape[1], dtype="int64"))
            code, which = np.unique(bits, return_inverse=True)
            sig = ((code[:, None] >> np.arange(mem.shape[1], dtype="int64")[None, :]) & 1).astype(bool)
        else:
            sig, which = np.unique(mem[anyc], axis=0, return_inverse=True)
        which = which.ravel()
        n_tr = np.array([len(s[2]) for s in specs])
        per_cell = int(mem.sum()) + int(n_tr.sum())                  # the work of a draw, sorted cell by cell
        by_blocks = int(anyc.sum()) + int((n_tr * sig.sum(axis=0)).sum())   # ... in shared blocks
        first = len(self.block_units)
        vals = {}                                          # each block's incomes at g-1, sorted
        if by_blocks < per_cell:
            units = np.flatnonzero(anyc)
            for k in range(len(sig)):
                u = units[which == k]
                order = np.argsort(Y[u, jb], kind="stable")
                vals[len(self.block_units)] = Y[u, jb][order]
                self.block_units.append(u[order])
            blocks_of = [first + np.flatnonzero(sig[:, m]) for m in range(len(specs))]
        else:
            for t, jt, tr, comp in specs:
                u = np.flatnonzero(comp)
                order = np.argsort(Y[u, jb], kind="stable")
                vals[len(self.block_units)] = Y[u, jb][order]
                self.block_units.append(u[order])
            blocks_of = [np.array([first + m]) for m in range(len(specs))]
        for m, (t, jt, tr, comp) in enumerate(specs):
            cu = np.flatnonzero(comp)
            key = (jt, cu.tobytes())
            if key not in groups:
                groups[key] = len(self.ct_units)
                u = cu[np.argsort(Y[cu, jt], kind="stable")]
                self.ct_units.append(u)
                ct_vals.append(Y[u, jt])
            base = Y[tr, jb]
            pos = np.column_stack([np.searchsorted(vals[b], base, side="right") for b in blocks_of[m]])
            cb = Y[cu, jb]
            self.cells.append(_Cell(g, int(t), tr, base, Y[tr, jt], float(cb.min()), float(cb.max()), groups[key],
                                    blocks_of[m], pos))

    def counterfactual_ranks(self, w: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """For each cell, the ranks (in ``values``) of its supported households' untreated incomes at t,
        F^{-1}_{c,t}(F_{c,g-1}(base)), and their weights, with unit weights ``w`` (integers); a cell whose comparison
        households have no weight gets weight 0 (it is left out of the draw)."""
        cum = []
        for u in self.block_units:                       # weight of a block's first k households at g-1: cum[k]
            c = np.empty(len(u) + 1, dtype="int64")
            c[0] = 0
            np.cumsum(w[u], out=c[1:])
            cum.append(c)
        # the comparison households at t, each repeated as often as its weight: the v-th unit of cumulative weight
        # (v = 1, 2, ...) belongs to the household at rank inv[v - 1]
        inv = [np.repeat(r, w[u]) for u, r in zip(self.ct_units, self.ct_rank)]
        ranks, wts = [], []
        for c in self.cells:
            tw = w[c.treated]
            below = cum[c.blocks[0]][c.pos[:, 0]]        # comparison weight at g-1 at or below each base income
            wb = cum[c.blocks[0]][-1]
            for i in range(1, len(c.blocks)):
                below = below + cum[c.blocks[i]][c.pos[:, i]]
                wb = wb + cum[c.blocks[i]][-1]
            ranked = inv[c.group]
            wt = len(ranked)
            if wb == 0 or wt == 0:
                ranks.append(np.zeros(len(tw), dtype="int64"))
                wts.append(np.zeros_like(tw))
                continue
            # F^{-1}_{c,t}(u) = the first income whose cumulative weight reaches u * wt, compared exactly in integers:
            # the first whose cumulative weight reaches v = ceil(below * wt / wb), at least 1 (u = 0, below every
            # comparison income, gives the lowest income with weight); v <= wt as below <= wb.
            ranks.append(ranked[-(-np.maximum(below * wt, 1) // wb) - 1])
            wts.append(tw)
        return ranks, wts


def _weighted_quantile_sorted(values: np.ndarray, cw: np.ndarray, taus: np.ndarray) -> np.ndarray:
    """inf{y : F(y) >= tau} of sorted ``values`` with cumulative integer weights ``cw`` (numpy's ``inverted_cdf`` for
    unit weights); values of weight zero never count (their cumulative weight does not rise)."""
    if not len(cw) or cw[-1] <= 0:
        return np.full(len(taus), np.nan)
    k = np.searchsorted(cw, taus * cw[-1] * (1 - 1e-12), side="left")
    return values[np.minimum(k, len(values) - 1)]


def _quantiles(values: np.ndarray, weights: np.ndarray, taus: np.ndarray) -> np.ndarray:
    """Weighted inf{y : F(y) >= tau} (numpy's ``inverted_cdf`` for unit weights)."""
    order = np.argsort(values, kind="stable")
    return _weighted_quantile_sorted(values[order], np.cumsum(weights[order]), taus)


def _estimate(design: _Design, w: np.ndarray, taus: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Observed and counterfactual percentiles of the pooled supported household-quarters, and their number.

    The pooled observed incomes are the same in every draw (only their weights change): sorted once. Each cell's
    counterfactuals come sorted (households ordered by base income, a monotone map) and are ranks among the
    comparison incomes, so the pooled percentile is found by bisection on the rank: the weight at or below a rank
    is, cell by cell, a search in its sorted run. The same percentile as sorting the pooled values: the smallest
    value whose cumulative weight reaches tau times the total (with the same tolerance)."""
    ranks, wts = design.counterfactual_ranks(w)
    wts = np.concatenate(wts)
    total = int(wts.sum())
    if total == 0:
        return np.full(len(taus), np.nan), np.full(len(taus), np.nan), 0
    q1 = _weighted_quantile_sorted(design.post_sorted, np.cumsum(wts[design.post_order]), taus)
    m = len(design.values)
    keys = np.concatenate([r + i * m for i, r in enumerate(ranks)])      # sorted: cell by cell, ranks ascending
    cw = np.empty(len(wts) + 1, dtype="int64")
    cw[0] = 0
    np.cumsum(wts, out=cw[1:])
    thr = taus * cw[-1] * (1 - 1e-12)
    starts = cw[design.offsets[:-1]].sum()
    cell_keys = np.arange(len(ranks), dtype="int64") * m
    lo, hi = np.zeros(len(taus), dtype="int64"), np.full(len(taus), m - 1, dtype="int64")
    while (lo < hi).any():
        mid = (lo + hi) // 2
        p = np.searchsorted(keys, (mid[:, None] + cell_keys[None, :]).ravel(), side="right")
        ok = cw[p].reshape(len(taus), -1).sum(axis=1) - starts >= thr
        hi, lo = np.where(ok, mid, hi), np.where(ok, lo, mid + 1)
    return q1, design.values[lo], total


def _outside_support(cells: list[_Cell]) -> tuple[int, int, int]:
    """Supported household-quarters whose base income lies below, and above, the range of their cell's comparison
    base incomes (their counterfactual is clamped, not identified); and how many there are in all."""
    below = sum(int((c.base < c.low).sum()) for c in cells)
    above = sum(int((c.base > c.high).sum()) for c in cells)
    return below, above, sum(len(c.base) for c in cells)


def changes_in_changes(data: pd.DataFrame, outcome: str, unit: str, time: str, cohort: str,
                       quantiles=QUANTILES, control: str = "not_yet", cluster: str | None = None,
                       balanced: bool = True, reps: int = DEFAULT_REPS, seed: int = SEED, level: float = 0.95,
                       interval: str = "percentile") -> pd.DataFrame:
    """Quantile effects on the treated by changes-in-changes (module docstring) on long data: one row per unit and
    period, ``cohort`` the first treated period (0 or missing: never). Returns one row per quantile: ``qtt``,
    ``ci_low``, ``ci_high``, ``se`` (bootstrap; NaN with ``reps`` 0 or with fewer than ``FEW_CLUSTERS`` clusters),
    ``observed`` and ``counterfactual`` (the percentile of supported household-quarters' income with and without
    support), ``treated_obs`` (supported household-quarters pooled), ``reps`` (bootstrap draws that gave an
    estimate), ``clusters``, ``cells``; and, the same on every row, ``gap_10_50``, ``gap_ci_low``, ``gap_ci_high``,
    ``gap_se``, ``outside_support``, ``few_clusters``, ``note`` (module docstring)."""
    if control not in CONTROLS:
        raise EstimationError(f"control must be one of {list(CONTROLS)}, not {control!r}")
    if interval not in INTERVALS:
        raise EstimationError(f"interval must be one of {list(INTERVALS)}, not {interval!r}")
    taus = np.asarray(quantiles, dtype="float64")
    if not len(taus) or ((taus <= 0) | (taus >= 1)).any():
        raise EstimationError(f"quantiles must lie strictly between 0 and 1, not {list(quantiles)}")
    if int(reps) != reps or reps < 0:
        raise EstimationError(f"reps must be a whole number, 0 or more, not {reps!r}")
    cluster = None if cluster in (None, "", unit, "household_id") else cluster
    p = prepare(data, outcome, unit, time, cohort, cluster=cluster, balanced=balanced)
    design = _Design(p.Y, p.G, p.periods, control)
    cells, empty = design.cells, design.empty
    if not cells:
        raise EstimationError("no cohort has a quarter after its start with comparison households observed in it "
                              f"and in the quarter before the start (control {control!r})")
    n = len(p.units)
    k = len(taus)
    # the percentiles asked for, then those of the gap (estimated even when not asked for; a repeat costs nothing)
    all_taus = np.r_[taus, GAP]
    ones = np.ones(n, dtype="int64")
    q1, q0, n_obs = _estimate(design, ones, all_taus)
    est = q1 - q0
    est = np.r_[est, est[k] - est[k + 1]]                        # the percentiles' effects, then the gap
    cl = p.cluster if p.cluster is not None else np.arange(n)
    n_cl = int(cl.max()) + 1
    few = few_clusters(cluster, n_cl)                            # households (cluster None) are never few
    boot = np.full((0 if few else int(reps), k + 3), np.nan)
    rng = np.random.default_rng(seed)
    for r in range(len(boot)):
        draws = rng.multinomial(n_cl, np.full(n_cl, 1.0 / n_cl))
        b1, b0, m = _estimate(design, draws[cl].astype("int64"), all_taus)
        if m:
            boot[r, :-1] = b1 - b0
            boot[r, -1] = boot[r, k] - boot[r, k + 1]
    ok = ~np.isnan(boot).any(axis=1)
    boot = boot[ok]
    alpha = 1 - level
    if len(boot) >= 2:
        se = boot.std(axis=0, ddof=1)
        if interval == "percentile":
            lo, hi = np.quantile(boot, alpha / 2, axis=0), np.quantile(boot, 1 - alpha / 2, axis=0)
        else:
            z = stats.norm.ppf(1 - alpha / 2)
            lo, hi = est - z * se, est + z * se
    else:
        se = lo = hi = np.full(k + 3, np.nan)
    below, above, pooled = _outside_support(cells)
    out = pd.DataFrame({"quantile": taus, "qtt": est[:k], "ci_low": lo[:k], "ci_high": hi[:k], "se": se[:k],
                        "treated_obs": n_obs, "reps": int(ok.sum()), "observed": q1[:k], "counterfactual": q0[:k],
                        "clusters": n_cl, "cells": len(cells), "gap_10_50": est[-1], "gap_ci_low": lo[-1],
                        "gap_ci_high": hi[-1], "gap_se": se[-1],
                        "outside_support": (below + above) / pooled if pooled else np.nan,
                        "few_clusters": few, "note": FEW_CLUSTERS_NOTE if few else ""})
    out.attrs.update(interval=interval, level=level, seed=seed, cells_without_comparison=empty,
                     dropped=dict(p.dropped), units=n, outside_below=below, outside_above=above,
                     few_clusters_below=FEW_CLUSTERS)
    return out


def quantile_effects(panel: Panel, program: str = "any", outcome: str = "income_pc", quantiles=QUANTILES,
                     control: str = "not_yet", cluster: str | None = "village", reps: int = DEFAULT_REPS,
                     seed: int = SEED, level: float = 0.95, interval: str = "percentile") -> pd.DataFrame:
    """The program's quantile effects on the treated (``changes_in_changes``) on the constructed panel's
    estimation sample for the program (``Panel.sample``), with the headline's control group and clusters: the tidy
    frame of ``COLUMNS`` (codes, no labels)."""
    if program not in PROGRAMS:
        raise EstimationError(f"program must be one of {list(PROGRAMS)}, not {program!r}")
    if outcome not in DISTRIBUTION_OUTCOMES:
        raise EstimationError(f"outcome must be one of {list(DISTRIBUTION_OUTCOMES)} (a continuous income), "
                              f"not {outcome!r}")
    cols = ["household_id", "time", "cohort", *([cluster] if cluster and cluster != "household_id" else [])]
    d = panel.sample(program, outcome, cols)
    if d.empty:
        raise EstimationError(f"no households in the sample for program {program!r}")
    out = changes_in_changes(d, outcome, "household_id", "time", "cohort", quantiles, control, cluster,
                             panel.balanced, reps, seed, level, interval)
    out.insert(0, "outcome", outcome)
    out.insert(0, "program", program)
    out["control"] = control
    out["cluster"] = cluster or "household_id"
    res = out[COLUMNS].reset_index(drop=True)
    res.attrs = dict(out.attrs)
    return res


def distribution_frame(quarter: str, paths: Paths | None = None, hq: pd.DataFrame | None = None,
                       program: str = "any", outcome: str = "income_pc", control: str = "not_yet",
                       cluster: str = "village", balanced: bool = True, reps: int = DEFAULT_REPS,
                       interval: str = "percentile") -> pd.DataFrame:
    """The program's quantile effects up to ``quarter`` from the processed household quarters (``hq``, or read from
    ``paths.processed``), with a first column ``quarter``: what an artifact saves."""
    panel = build_panel(paths, quarter, balanced=balanced, hq=hq)
    out = quantile_effects(panel, program, outcome, QUANTILES, control, cluster, reps, SEED, 0.95, interval)
    out.insert(0, "quarter", quarter)
    release()
    return out
