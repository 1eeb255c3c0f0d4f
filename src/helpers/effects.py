"""Program effects under staggered adoption: Callaway-Sant'Anna, the imputation estimator, TWFE.

All estimators answer through one small interface: ``.aggregate(kind)`` returns a DataFrame
with columns ``att, se`` (and ``ci_low, ci_high``) indexed by event time, cohort or period,
with the overall estimate in the row labelled ``overall``. Estimation, inference and
reporting are separate: each result keeps its unit-level influence function (or score), so
clustered standard errors and the few-cluster bootstrap are computed on the fitted result.

- ``callaway_santanna``: group-time ATTs with never-treated or not-yet-treated controls,
  outcome-regression covariate adjustment (R ``did`` with ``est_method="reg"``), analytic
  influence-function standard errors (unit level, or clustered), the four aggregations of
  ``did::aggte`` and a joint Wald test of pre-treatment effects. Vectorized over units:
  the only Python loop is over (cohort, period) cells.
- ``imputation``: Borusyak, Jaravel and Spiess (2024). Unit and period effects are
  estimated on untreated observations by solving the T x T reduced normal equations (no
  dummy matrix), so memory grows with units x periods only; conservative standard errors
  from the estimator's linear weights.
- ``twfe``: the naive two-way fixed-effects regression through pyfixest, CRV1 by cluster.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from helpers.quarters import index_quarter, quarter_index

KINDS = ("simple", "dynamic", "group", "calendar")
Z95 = stats.norm.ppf(0.975)


class EstimationError(ValueError):
    """Input an estimator cannot use; the message says what is wrong."""


# --------------------------------------------------------------------------------------
# Input handling shared by the estimators
# --------------------------------------------------------------------------------------
def _is_quarter_text(s: pd.Series) -> bool:
    """True when periods are written as text ('2023Q2'), False for numbers."""
    if pd.api.types.is_numeric_dtype(s.dtype):
        return False
    return pd.api.types.infer_dtype(s, skipna=True) == "string"


def _time_codes(s: pd.Series) -> np.ndarray:
    """Periods as integers: 'YYYYQn' quarters via quarter_index, numbers as they are."""
    if _is_quarter_text(s):
        return quarter_index(s).astype("int64")
    return pd.to_numeric(s).to_numpy(dtype="int64")


def _cohort_codes(s: pd.Series) -> np.ndarray:
    """First treated period as an integer, 0 for never treated (0, missing or empty)."""
    if _is_quarter_text(s):
        out = np.zeros(len(s), dtype="int64")
        ok = np.array([isinstance(v, str) and v.strip() not in ("", "0") for v in s], dtype=bool)
        out[ok] = quarter_index(s[ok])
        return out
    return pd.to_numeric(s).fillna(0).to_numpy(dtype="int64")


def _check_columns(data: pd.DataFrame, cols: list[str]) -> None:
    missing = [c for c in cols if c not in data.columns]
    if missing:
        raise EstimationError(f"unknown column(s) {missing}; the data has {list(data.columns)}")


@dataclass
class _Panel:
    units: np.ndarray          # unit ids (n)
    periods: np.ndarray        # sorted integer periods (T)
    Y: np.ndarray              # n x T outcomes (NaN where missing)
    G: np.ndarray              # n cohorts (0 never)
    X: np.ndarray | None       # n x k covariates (first period)
    cluster: np.ndarray | None # n cluster codes
    label_quarters: bool
    dropped: dict = field(default_factory=dict)

    def label(self, t):
        return index_quarter(t) if self.label_quarters else int(t)


def _prepare(data, outcome, unit, time, cohort, covariates=None, cluster=None, balanced=True) -> _Panel:
    covariates = list(covariates or [])
    _check_columns(data, [outcome, unit, time, cohort] + covariates + ([cluster] if cluster else []))
    y = data[outcome].to_numpy(dtype="float64")
    if np.isnan(y).any():
        raise EstimationError(f"{outcome} has {int(np.isnan(y).sum())} missing values; drop or impute them first")
    u, units = pd.factorize(data[unit], sort=True)
    tcodes = _time_codes(data[time])
    gcodes = _cohort_codes(data[cohort])
    periods = np.unique(tcodes)
    T, n_all = len(periods), len(units)
    tj = np.searchsorted(periods, tcodes)
    if (np.bincount(u * T + tj, minlength=n_all * T) > 1).any():
        raise EstimationError(f"several rows share a ({unit}, {time}) pair: one row per unit and period is needed")
    G = np.zeros(n_all, dtype="int64")
    G[u] = gcodes
    if (G[u] != gcodes).any():
        bad = units[np.unique(u[G[u] != gcodes])][:3].tolist()
        raise EstimationError(f"units with two cohorts in {cohort!r}, e.g. {bad}: a unit's cohort must not change")
    cl_all = None
    if cluster:
        ccodes, _ = pd.factorize(data[cluster])
        cl_all = np.zeros(n_all, dtype="int64")
        cl_all[u] = ccodes
        if (cl_all[u] != ccodes).any():
            raise EstimationError(f"cluster column {cluster!r} changes within a unit; clusters must contain whole units")
    Y = np.full((n_all, T), np.nan)
    Y[u, tj] = y
    X_all = None
    if covariates:
        order = np.lexsort((tj, u))
        first_rows = order[np.r_[True, u[order][1:] != u[order][:-1]]]       # each unit's first period
        X_all = np.empty((n_all, len(covariates)))
        X_all[u[first_rows]] = data[covariates].to_numpy(dtype="float64")[first_rows]
        if np.isnan(X_all).any():
            raise EstimationError(f"covariates {covariates} have missing values")
    dropped = {}
    keep = np.ones(n_all, dtype=bool)
    if balanced:
        full = ~np.isnan(Y).any(axis=1)
        dropped["unbalanced_units"] = int((~full).sum())
        keep &= full
    G = np.where(G > periods[-1], 0, G)                        # treated after the window: not yet, never seen
    early = (G > 0) & (G <= periods[0])                        # treated in the first period: no pre-period
    dropped["treated_in_first_period"] = int((early & keep).sum())
    keep &= ~early
    cl = pd.factorize(cl_all[keep])[0] if cluster else None
    return _Panel(np.asarray(units)[keep], periods, Y[keep], G[keep], None if X_all is None else X_all[keep], cl,
                  _is_quarter_text(data[time]), dropped)


def _se_from_if(inf: np.ndarray, n: int, cluster: np.ndarray | None) -> np.ndarray:
    """Standard errors from unit-level influence functions (columns): sqrt(mean(psi^2)/n), or clustered."""
    inf = inf.reshape(len(inf), -1)
    if cluster is None:
        return np.sqrt((inf ** 2).sum(axis=0)) / n
    n_cl = cluster.max() + 1
    sums = np.zeros((n_cl, inf.shape[1]))
    np.add.at(sums, cluster, inf)
    return np.sqrt(n_cl / (n_cl - 1) * (sums ** 2).sum(axis=0)) / n


def _frame(index, att, se, name) -> pd.DataFrame:
    att, se = np.asarray(att, dtype=float), np.asarray(se, dtype=float)
    out = pd.DataFrame({"att": att, "se": se, "ci_low": att - Z95 * se, "ci_high": att + Z95 * se},
                       index=pd.Index(index, name=name, dtype=object))
    return out


WEBB = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])


def webb_bootstrap_pvalue(score: np.ndarray, estimate: float, n: int, cluster: np.ndarray,
                          reps: int = 9999, seed: int = 20230711) -> float:
    """Few-cluster p-value for H0: effect = 0 from a wild (multiplier) bootstrap of the estimator's
    unit-level influence function summed within clusters, with Webb's six-point weights.

    Each draw multiplies every cluster's summed score by a Webb weight; the p-value is the
    share of draws whose |t| reaches the estimate's |t| (studentized by the bootstrap spread).
    With five clusters there are 6^5 = 7,776 distinct draws, so the p-value is informative
    where a normal approximation with five clusters is not.
    """
    n_cl = int(cluster.max()) + 1
    sums = np.zeros(n_cl)
    np.add.at(sums, cluster, score)
    rng = np.random.default_rng(seed)
    w = WEBB[rng.integers(0, 6, size=(reps, n_cl))]
    draws = (w @ sums) / n
    spread = draws.std()
    if spread == 0:
        return float("nan")
    t_obs = abs(estimate) / spread
    return float((1 + (np.abs(draws) / spread >= t_obs).sum()) / (reps + 1))


# --------------------------------------------------------------------------------------
# Callaway and Sant'Anna (2021)
# --------------------------------------------------------------------------------------
@dataclass
class CSResult:
    """Group-time ATTs with their influence functions; aggregations on demand."""

    att_gt: pd.DataFrame            # cohort, time, att, se (labels as in the input), plus event_time
    inf: np.ndarray                 # n x cells influence functions (rescaled to the full sample)
    G: np.ndarray
    cells_g: np.ndarray
    cells_t: np.ndarray
    n: int
    cluster: np.ndarray | None
    panel: _Panel
    control: str
    covariates: list[str]
    _agg: dict = field(default_factory=dict, repr=False)

    def _pg(self):
        groups = np.unique(self.cells_g)
        pg = np.array([(self.G == g).mean() for g in groups])
        return groups, pg

    def _wif_att(self, keep: np.ndarray, pg_cells: np.ndarray, att: np.ndarray, groups_of_cells: np.ndarray) -> np.ndarray:
        """wif(keepers) %*% att of did::aggte without forming the n x k matrix."""
        S = pg_cells.sum()
        b = (pg_cells * att).sum()
        per_group_att, per_group_count = {}, {}
        for g, a in zip(groups_of_cells, att):
            per_group_att[g] = per_group_att.get(g, 0.0) + a
            per_group_count[g] = per_group_count.get(g, 0) + 1
        a_i = np.zeros(self.n)
        c_i = np.zeros(self.n)
        for g in per_group_att:
            m = self.G == g
            a_i[m] = per_group_att[g]
            c_i[m] = per_group_count[g]
        return (a_i - b) / S - (c_i - S) * b / S ** 2

    def _combine(self, keep: np.ndarray, weights: np.ndarray, with_wif: bool, pg_cells: np.ndarray | None = None):
        att = self.att_gt["att"].to_numpy()[keep]
        est = float((weights * att).sum())
        inf = self.inf[:, keep] @ weights
        if with_wif:
            inf = inf + self._wif_att(keep, pg_cells, att, self.cells_g[keep])
        return est, inf

    def aggregate(self, kind: str = "simple") -> pd.DataFrame:
        """did::aggte aggregations: simple, dynamic (event time), group (cohort), calendar (period)."""
        if kind not in KINDS:
            raise EstimationError(f"kind must be one of {KINDS}, not {kind!r}")
        if kind in self._agg:
            return self._agg[kind][0]
        groups, pg = self._pg()
        pgc = pg[np.searchsorted(groups, self.cells_g)]
        g, t = self.cells_g, self.cells_t
        post = g <= t
        rows, ests, infs = [], [], []
        if kind == "simple":
            est, inf = self._combine(post, pgc[post] / pgc[post].sum(), True, pgc[post])
            rows, ests, infs = ["overall"], [est], [inf]
            overall_inf = inf
        elif kind == "dynamic":
            e_all = t - g
            for e in np.unique(e_all):
                k = e_all == e
                est, inf = self._combine(k, pgc[k] / pgc[k].sum(), True, pgc[k])
                rows.append(int(e)), ests.append(est), infs.append(inf)
            pos = np.array([r >= 0 for r in rows])
            inf_e = np.column_stack(infs)
            overall = float(np.mean(np.array(ests)[pos]))
            overall_inf = inf_e[:, pos].mean(axis=1)
            rows.append("overall"), ests.append(overall), infs.append(overall_inf)
        elif kind == "group":
            g_est, g_inf = [], []
            for gg in groups:
                k = (g == gg) & post
                est, inf = self._combine(k, pgc[k] / pgc[k].sum(), False)
                g_est.append(est), g_inf.append(inf)
                rows.append(self.panel.label(gg)), ests.append(est), infs.append(inf)
            g_est = np.array(g_est)
            w = pg / pg.sum()
            overall = float((w * g_est).sum())
            overall_inf = np.column_stack(g_inf) @ w + self._wif_group(groups, pg, g_est)
            rows.append("overall"), ests.append(overall), infs.append(overall_inf)
        else:  # calendar
            c_est, c_inf = [], []
            for tt in np.unique(t[t >= groups.min()]):
                k = (t == tt) & post
                if not k.any():
                    continue
                est, inf = self._combine(k, pgc[k] / pgc[k].sum(), True, pgc[k])
                c_est.append(est), c_inf.append(inf)
                rows.append(self.panel.label(tt)), ests.append(est), infs.append(inf)
            overall = float(np.mean(c_est))
            overall_inf = np.column_stack(c_inf).mean(axis=1)
            rows.append("overall"), ests.append(overall), infs.append(overall_inf)
        inf_mat = np.column_stack(infs)
        se = _se_from_if(inf_mat, self.n, self.cluster)
        out = _frame(rows, ests, se, {"dynamic": "event_time", "group": "cohort", "calendar": "period",
                                      "simple": "aggregate"}[kind])
        self._agg[kind] = (out, inf_mat)     # one influence function per row, overall last
        return out

    def _wif_group(self, groups, pg, g_est):
        S = pg.sum()
        b = (pg * g_est).sum()
        a_i = np.zeros(self.n)
        c_i = np.zeros(self.n)
        for gg, est in zip(groups, g_est):
            m = self.G == gg
            a_i[m] = est
            c_i[m] = 1.0
        return (a_i - b) / S - (c_i - S) * b / S ** 2

    def simultaneous_band(self, kind: str = "dynamic", reps: int = 999, seed: int = 20230711, level: float = 0.95) -> pd.DataFrame:
        """Simultaneous confidence band over the terms of an aggregation (e.g. all event times):
        sup-t critical value from a multiplier bootstrap of the influence functions (Mammen
        weights, by cluster when clustered), as did's ``cband=TRUE``. Adds ``cb_low, cb_high``."""
        out = self.aggregate(kind).copy()
        terms = [i for i in out.index if i != "overall"]
        if not terms:
            return out
        inf = self._dynamic_influence() if kind == "dynamic" else None
        if inf is None:
            raise EstimationError("simultaneous bands are available for the dynamic aggregation")
        se = out.loc[terms, "se"].to_numpy()
        if self.cluster is not None:
            n_cl = int(self.cluster.max()) + 1
            sums = np.zeros((n_cl, inf.shape[1]))
            np.add.at(sums, self.cluster, inf)
            inf = sums * np.sqrt(n_cl / (n_cl - 1))
        rng = np.random.default_rng(seed)
        kappa = (np.sqrt(5) + 1) / 2
        p_low = kappa / np.sqrt(5)
        tmax = []
        for start in range(0, reps, 100):
            b = min(100, reps - start)
            v = np.where(rng.random((b, inf.shape[0])) < p_low, 1 - kappa, kappa)   # Mammen two-point weights
            tmax.append(np.abs(v @ inf / self.n / se).max(axis=1))
        crit = float(np.quantile(np.concatenate(tmax), level))
        out.loc[terms, "cb_low"] = out.loc[terms, "att"] - crit * se
        out.loc[terms, "cb_high"] = out.loc[terms, "att"] + crit * se
        out.attrs["critical_value"] = crit
        return out

    def overall_influence(self, kind: str = "simple") -> np.ndarray:
        """The unit-level influence function of the overall estimate of an aggregation."""
        self.aggregate(kind)
        return self._agg[kind][1][:, -1]

    def pretest(self, kind: str = "event") -> dict:
        """Joint test that there are no effects before treatment starts.

        ``kind="cells"`` is R did's test: every pre-treatment ATT(g,t), Wald with chi-squared
        (unit level only). It over-rejects in small cohorts: with many cells its covariance is
        estimated from few treated units per cohort (in the simulation check, 26% rejections at
        5% with 400 households). ``kind="event"`` (the default) tests the pre-period event-time
        aggregates instead: few restrictions and a stable covariance; chi-squared at unit level,
        and with clusters the Hotelling-type F = (G-k)/(k(G-1)) W with (k, G-k) degrees of freedom."""
        if kind not in ("event", "cells"):
            raise EstimationError("pretest kind must be 'event' or 'cells'")
        pre = self.cells_t < self.cells_g
        if not pre.any():
            return {"stat": float("nan"), "df": 0, "pvalue": float("nan"), "test": "none"}
        if kind == "cells":
            if self.cluster is not None:
                raise EstimationError("the cell-level (R) pre-test is unit level; use kind='event' with clusters")
            att, inf = self.att_gt["att"].to_numpy()[pre], self.inf[:, pre]
        else:
            dyn = self.aggregate("dynamic").drop(index="overall")
            keep = np.array([int(e) < 0 for e in dyn.index])
            att, inf = dyn["att"].to_numpy()[keep], self._dynamic_influence()[:, keep]
        if self.cluster is None:
            V = inf.T @ inf / self.n ** 2
            stat = float(att @ np.linalg.pinv(V) @ att)
            df = int(np.linalg.matrix_rank(V))
            return {"stat": stat, "df": df, "pvalue": float(stats.chi2.sf(stat, df)), "test": f"chi2 ({kind})"}
        n_cl = int(self.cluster.max()) + 1
        if len(att) >= n_cl - 1:
            return {"stat": float("nan"), "df": len(att), "pvalue": float("nan"), "test": "too few clusters"}
        sums = np.zeros((n_cl, inf.shape[1]))
        np.add.at(sums, self.cluster, inf)
        V = n_cl / (n_cl - 1) * sums.T @ sums / self.n ** 2
        k = int(np.linalg.matrix_rank(V))
        wald = float(att @ np.linalg.pinv(V) @ att)
        F = (n_cl - k) / (k * (n_cl - 1)) * wald
        return {"stat": F, "df": k, "pvalue": float(stats.f.sf(F, k, n_cl - k)), "test": "F (clustered, Hotelling)"}

    def _dynamic_influence(self) -> np.ndarray:
        """Influence functions of the event-time aggregates (columns in the order of aggregate('dynamic'))."""
        self.aggregate("dynamic")
        return self._agg["dynamic"][1][:, :-1]

    def few_cluster_pvalue(self, cluster: np.ndarray, kind: str = "simple", reps: int = 9999, seed: int = 20230711) -> float:
        """Webb wild-bootstrap p-value of an aggregation's overall estimate, clustered by ``cluster`` (unit-level codes)."""
        est = self.aggregate(kind).loc["overall", "att"]
        return webb_bootstrap_pvalue(self.overall_influence(kind), est, self.n, cluster, reps, seed)


def _cell_reg(dy: np.ndarray, D: np.ndarray, X: np.ndarray | None) -> tuple[float, np.ndarray]:
    """ATT and influence function of one 2x2 cell: DRDID's reg_did_panel (outcome regression)."""
    n1 = len(dy)
    Xc = np.ones((n1, 1)) if X is None else np.column_stack([np.ones(n1), X])
    C = ~D
    Df = D.astype(float)
    if X is None:
        beta = np.array([dy[C].mean()])
    else:
        beta, *_ = np.linalg.lstsq(Xc[C], dy[C], rcond=None)
    out_delta = Xc @ beta
    mD = Df.mean()
    eta_treat = (Df * dy).sum() / Df.sum()
    eta_cont = (Df * out_delta).sum() / Df.sum()
    att = eta_treat - eta_cont
    inf_treat = Df * (dy - eta_treat) / mD
    inf_cont_1 = Df * (out_delta - eta_cont)
    w0 = (1.0 - Df)
    XpX = (Xc * w0[:, None]).T @ Xc / n1
    asy = (w0 * (dy - out_delta))[:, None] * Xc @ np.linalg.inv(XpX)
    M1 = (Df[:, None] * Xc).mean(axis=0)
    inf_control = (inf_cont_1 + asy @ M1) / mD
    return float(att), inf_treat - inf_control


def callaway_santanna(data: pd.DataFrame, outcome: str, unit: str, time: str, cohort: str,
                      control: str = "never", covariates: list[str] | None = None, cluster: str | None = None,
                      base_period: str = "varying", balanced: bool = True) -> CSResult:
    """Callaway and Sant'Anna (2021) group-time average treatment effects.

    ``cohort`` is the first treated period (same units as ``time``), 0 or missing for never
    treated. ``control`` is ``"never"`` (never-treated units) or ``"not_yet"`` (units not yet
    treated by the later of the current and the base period). With ``covariates`` the
    comparison is adjusted by outcome regression on the covariates' first-period values.
    Standard errors are analytic, from the influence function: unit level by default, or
    clustered on ``cluster`` (which must contain whole units). ``balanced=False`` keeps units
    with gaps and uses, for each (g,t) cell, the units observed in both periods.
    """
    if control not in ("never", "not_yet"):
        raise EstimationError(f"control must be 'never' or 'not_yet', not {control!r}")
    if base_period not in ("varying", "universal"):
        raise EstimationError(f"base_period must be 'varying' or 'universal', not {base_period!r}")
    p = _prepare(data, outcome, unit, time, cohort, covariates, cluster, balanced)
    n, T = p.Y.shape
    if n < 4:
        raise EstimationError(f"too few units ({n}) to estimate anything")
    groups = np.unique(p.G[p.G > 0])
    if len(groups) == 0:
        raise EstimationError("no treated units: every unit has cohort 0 or missing")
    if control == "never" and not (p.G == 0).any():
        raise EstimationError("control='never' needs never-treated units (cohort 0 or missing), and there are none; "
                              "use control='not_yet'")
    periods = p.periods
    cells, atts = [], []
    inf_mat = np.zeros((n, len(groups) * (T - 1)), order="F")   # filled column by column: no list to stack
    never = p.G == 0
    observed = ~np.isnan(p.Y)
    for g in groups:
        D_all = p.G == g
        last_pre = np.flatnonzero(periods < g)[-1]
        for j in range(1, T):
            if base_period == "varying":
                b = j - 1 if periods[j] < g else last_pre
            else:
                b = last_pre
                if j == b:
                    continue
            C = never if control == "never" else never | ((p.G > max(periods[j], periods[b])) & ~D_all)
            D = D_all
            if not balanced:
                both = observed[:, j] & observed[:, b]
                D, C = D & both, C & both
            nD, nC = int(D.sum()), int(C.sum())
            if nD == 0 or nC == 0:
                continue
            dy = p.Y[:, j] - p.Y[:, b]
            inf = inf_mat[:, len(cells)]
            if p.X is None:
                # outcome regression on an intercept: difference in mean changes; closed-form influence function
                dyD, dyC = dy[D], dy[C]
                mD, mC = dyD.mean(), dyC.mean()
                att = mD - mC
                inf[D] = (dyD - mD) * (n / nD)
                inf[C] = -(dyC - mC) * (n / nC)
            else:
                idx = np.flatnonzero(D | C)
                att, inf1 = _cell_reg(dy[idx], D[idx], p.X[idx])
                inf[idx] = inf1 * n / len(idx)
            cells.append((g, periods[j]))
            atts.append(att)
    if not cells:
        raise EstimationError("no (cohort, period) cell has both treated and comparison units")
    inf_mat = inf_mat[:, :len(cells)]
    se = _se_from_if(inf_mat, n, p.cluster)
    cg = np.array([c[0] for c in cells])
    ct = np.array([c[1] for c in cells])
    att_gt = pd.DataFrame({"cohort": [p.label(g) for g in cg], "time": [p.label(t) for t in ct],
                           "att": atts, "se": se, "event_time": ct - cg})
    return CSResult(att_gt, inf_mat, p.G, cg, ct, n, p.cluster, p, control, list(covariates or []))


# --------------------------------------------------------------------------------------
# Borusyak, Jaravel and Spiess (2024): the imputation estimator
# --------------------------------------------------------------------------------------
@dataclass
class ImputationResult:
    """Imputed treatment effects per treated observation, aggregated with conservative SEs."""

    tau: pd.DataFrame               # unit, time, event_time, cohort, tau for treated observations
    n: int
    _solve: object = field(repr=False, default=None)
    cluster: np.ndarray | None = None
    _agg: dict = field(default_factory=dict, repr=False)

    def aggregate(self, kind: str = "simple", horizons: list[int] | None = None) -> pd.DataFrame:
        """``simple`` (all treated observations equally) or ``dynamic`` (by event time, with the
        average over event times >= 0 as overall, like did's dynamic aggregation)."""
        if kind not in ("simple", "dynamic"):
            raise EstimationError("the imputation estimator aggregates as 'simple' or 'dynamic'")
        if kind in self._agg:
            return self._agg[kind][0]
        e = self.tau["event_time"].to_numpy()
        weights, rows = [], []
        if kind == "simple":
            weights.append(np.full(len(e), 1.0 / len(e)))
            rows.append("overall")
        else:
            hs = sorted(np.unique(e)) if horizons is None else horizons
            for h in hs:
                w = (e == h).astype(float)
                weights.append(w / w.sum())
                rows.append(int(h))
            weights.append(np.mean(weights, axis=0))
            rows.append("overall")
        ests, ses, scores = [], [], []
        for w in weights:
            est, score = self._solve(w)
            ests.append(est)
            scores.append(score)
        score_mat = np.column_stack(scores)
        se = _se_from_if(score_mat * self.n, self.n, self.cluster)
        out = _frame(rows, ests, se, "event_time" if kind == "dynamic" else "aggregate")
        self._agg[kind] = (out, score_mat[:, -1] * self.n)
        return out

    def overall_influence(self, kind: str = "simple") -> np.ndarray:
        self.aggregate(kind)
        return self._agg[kind][1]

    def few_cluster_pvalue(self, cluster: np.ndarray, kind: str = "simple", reps: int = 9999, seed: int = 20230711) -> float:
        est = self.aggregate(kind).loc["overall", "att"]
        return webb_bootstrap_pvalue(self.overall_influence(kind), est, self.n, cluster, reps, seed)


def _twoway_solve(M: np.ndarray, values_by_unit: np.ndarray, values_by_time: np.ndarray):
    """Solve the two-way fixed-effect normal equations restricted to cells in ``M`` (n x T, bool):
    [diag(N_i) M; M' diag(n_t)] [a; l] = [values_by_unit; values_by_time], with l normalized to sum 0.
    Never forms a dummy matrix: the unit effects are eliminated, leaving a T x T system."""
    Mf = M.astype(float)
    N_i = Mf.sum(axis=1)
    inv = np.where(N_i > 0, 1.0 / np.where(N_i > 0, N_i, 1), 0.0)
    A = np.diag(Mf.sum(axis=0)) - (Mf * inv[:, None]).T @ Mf
    rhs = values_by_time - Mf.T @ (values_by_unit * inv)
    T = A.shape[0]
    A_aug = np.vstack([A, np.ones((1, T))])
    l, *_ = np.linalg.lstsq(A_aug, np.append(rhs, 0.0), rcond=None)
    a = (values_by_unit - Mf @ l) * inv
    return a, l


def imputation(data: pd.DataFrame, outcome: str, unit: str, time: str, cohort: str,
               cluster: str | None = None, balanced: bool = True) -> ImputationResult:
    """Borusyak-Jaravel-Spiess imputation estimator with unit and period fixed effects.

    Fixed effects are estimated on untreated observations (never treated, and treated units
    before their start); each treated observation's effect is its outcome minus the imputed
    untreated outcome. Standard errors are BJS's conservative ones, from the estimator's
    linear weights and residuals (treated residuals around cohort x event-time means).
    Memory is O(units x periods): fine for 200,000 households by 12 quarters.
    """
    p = _prepare(data, outcome, unit, time, cohort, None, cluster, balanced)
    n, T = p.Y.shape
    t_grid = np.broadcast_to(p.periods, (n, T))
    obs = ~np.isnan(p.Y)
    treated = (p.G[:, None] > 0) & (t_grid >= p.G[:, None]) & obs
    untreated = obs & ~treated
    if not treated.any():
        raise EstimationError("no treated observations")
    if (untreated.sum(axis=1)[treated.any(axis=1)] == 0).any():
        raise EstimationError("some treated units have no untreated period to impute from")
    Y0 = np.where(untreated, p.Y, 0.0)
    a, l = _twoway_solve(untreated, Y0.sum(axis=1), Y0.sum(axis=0))
    fitted = a[:, None] + l[None, :]
    resid0 = np.where(untreated, p.Y - fitted, 0.0)
    tau_mat = np.where(treated, p.Y - fitted, np.nan)
    ti, tj = np.nonzero(treated)
    e = p.periods[tj] - p.G[ti]
    tau = pd.DataFrame({"unit": p.units[ti], "time": [p.label(t) for t in p.periods[tj]],
                        "cohort": [p.label(g) for g in p.G[ti]], "event_time": e, "tau": tau_mat[ti, tj]})

    def solve(w_treated: np.ndarray):
        """Estimate and unit-level score (sum over t of v_it * residual_it) for treated weights w."""
        W = np.zeros((n, T))
        W[ti, tj] = w_treated
        est = float((W[ti, tj] * tau_mat[ti, tj]).sum())
        # untreated weights: v0 = -(a_i + l_t) solving the FE normal equations with Z1'w
        av, lv = _twoway_solve(untreated, W.sum(axis=1), W.sum(axis=0))
        v0 = -np.where(untreated, av[:, None] + lv[None, :], 0.0)
        # treated residuals: tau minus its v-weighted mean within cohort x event time
        key = pd.MultiIndex.from_arrays([p.G[ti], e])
        wt = W[ti, tj]
        frame = pd.DataFrame({"k": np.arange(len(ti)), "w": wt, "wt": wt * tau_mat[ti, tj]}, index=key)
        sums = frame.groupby(level=[0, 1])[["w", "wt"]].transform("sum")
        tau_bar = np.where(sums["w"].to_numpy() != 0, sums["wt"].to_numpy() / np.where(sums["w"].to_numpy() != 0,
                                                                                         sums["w"].to_numpy(), 1), 0.0)
        eps1 = tau_mat[ti, tj] - tau_bar
        score = (v0 * resid0).sum(axis=1)
        np.add.at(score, ti, wt * eps1)
        return est, score

    return ImputationResult(tau, n, solve, p.cluster)


# --------------------------------------------------------------------------------------
# Naive two-way fixed effects (pyfixest)
# --------------------------------------------------------------------------------------
@dataclass
class TWFEResult:
    coef: float
    se: float
    table: pd.DataFrame

    def aggregate(self, kind: str = "simple") -> pd.DataFrame:
        if kind != "simple":
            raise EstimationError("TWFE gives one coefficient: aggregate('simple')")
        return _frame(["overall"], [self.coef], [self.se], "aggregate")


def twfe(data: pd.DataFrame, outcome: str, treatment: str, unit: str, time: str,
         cluster: str | None = None) -> TWFEResult:
    """Two-way fixed effects: outcome on a 0/1 treatment with unit and period effects (pyfixest),
    CRV1 standard errors by ``cluster`` (fixest's small-sample correction), or by unit."""
    import pyfixest as pf

    _check_columns(data, [outcome, treatment, unit, time] + ([cluster] if cluster else []))
    d = data[[outcome, treatment, unit, time] + ([cluster] if cluster and cluster not in (unit, time) else [])].copy()
    d[treatment] = d[treatment].astype(float)
    if d[treatment].nunique() < 2:
        raise EstimationError(f"{treatment} does not vary: nothing to estimate")
    if len(d) < 10:
        raise EstimationError("too few observations for two-way fixed effects")
    fit = pf.feols(f"{outcome} ~ {treatment} | {unit} + {time}", d, vcov={"CRV1": cluster or unit},
                   copy_data=False, store_data=False, lean=True)
    tidy = fit.tidy()
    coef, se = float(tidy.loc[treatment, "Estimate"]), float(tidy.loc[treatment, "Std. Error"])
    return TWFEResult(coef, se, tidy)
