"""What every estimator does with its input: one validation, one panel layout, one record of the sample.

``validate_rows`` checks what all three estimators need (columns, a finite outcome, one row
per unit and period, periods on one axis); ``prepare`` adds the cohort checks of the robust
estimators and lays the data out as a units x periods matrix. Every refusal is an
``EstimationError`` whose message names the column and the offending values.

Periods are integers or quarters written ``YYYYQn`` (then consecutive integers inside).
A cohort is the first treated period on the same axis; never treated is 0, missing, or
``inf`` (accepted because some packages write it so). Anything else is refused: a negative
code, a fraction, text where time is numeric, numbers where time is quarters, a cohort inside
the window that is not one of its periods, or cohorts that all lie outside the window.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from helpers.domain.quarters import index_quarter, quarter_index

KINDS = ("simple", "dynamic", "group", "calendar")
Z95 = stats.norm.ppf(0.975)
_QUARTER = re.compile(r"^\d{4}Q[1-4]$")


class EstimationError(ValueError):
    """Input an estimator cannot use; the message says what is wrong."""


def _show(v) -> str:
    """One value as people read it: text quoted, whole numbers without a decimal point, others exactly."""
    if isinstance(v, str):
        return repr(v)
    if isinstance(v, float):
        return f"{v:.0f}" if np.isfinite(v) and v.is_integer() else repr(v)
    return str(v)


def _examples(values, k: int = 5) -> str:
    """Up to ``k`` distinct offending values, as people read them."""
    uniq = list(dict.fromkeys(v.item() if hasattr(v, "item") else v for v in values))
    return ", ".join(_show(v) for v in uniq[:k]) + (f" (and {len(uniq) - k} more)" if len(uniq) > k else "")


def _plain(s: pd.Series, name: str, what: str) -> pd.Series:
    """Categoricals as their values; dates refused with what to do instead."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(s.cat.categories.dtype if s.notna().all() else object)
    kind = s.dtype.kind if not isinstance(s.dtype, pd.PeriodDtype) else "period"
    inferred = pd.api.types.infer_dtype(s, skipna=True) if s.dtype == object else ""
    if kind in ("M", "m", "period") or inferred in ("datetime", "datetime64", "date", "period", "timedelta"):
        raise EstimationError(f"{what} column {name!r} holds dates: give periods as whole numbers or as quarters "
                              "written YYYYQn (2023Q2), and never treated as 0 or missing")
    return s


def _is_quarter_text(s: pd.Series) -> bool:
    """True when periods are written as text ('2023Q2'), False for numbers."""
    if pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
        return False
    return pd.api.types.infer_dtype(s, skipna=True) == "string"


def check_columns(data: pd.DataFrame, cols: list[str]) -> None:
    missing = [c for c in cols if c not in data.columns]
    if missing:
        raise EstimationError(f"unknown column(s) {missing}; the data has {list(data.columns)}")


def _whole(x: np.ndarray) -> np.ndarray:
    """Which values are not whole numbers."""
    return ~np.isfinite(x) | (x != np.round(x))


def time_codes(s: pd.Series, name: str) -> tuple[np.ndarray, bool]:
    """Periods as integers and whether they were quarters: 'YYYYQn' via quarter_index, whole numbers as they are."""
    if s.isna().any():
        raise EstimationError(f"time column {name!r} has {int(s.isna().sum())} missing values: every row needs its period")
    s = _plain(s, name, "time")
    if _is_quarter_text(s):
        text = s.astype("string").str.strip()
        bad = ~text.str.match(_QUARTER.pattern)
        if bad.any():
            raise EstimationError(f"time column {name!r} mixes quarters with other text: {_examples(s[bad])}; "
                                  "write every period as YYYYQn (2023Q2) or every period as a whole number")
        return quarter_index(text).astype("int64"), True
    x = _numbers(s)
    if np.isnan(x).any():
        raise EstimationError(f"time column {name!r} has values that are neither numbers nor quarters: "
                              f"{_examples(s[np.isnan(x)])}")
    frac = _whole(x)
    if frac.any():
        raise EstimationError(f"time column {name!r} must hold whole periods, not {_examples(x[frac])}")
    return x.astype("int64"), False


def _never_text(s: pd.Series) -> np.ndarray:
    """Never treated in a column with text: missing, empty, '0', 0 or inf."""
    def never(v) -> bool:
        if v is None or v is pd.NA or (isinstance(v, float) and (np.isnan(v) or v == np.inf)):
            return True
        return (isinstance(v, str) and v.strip() in ("", "0")) or (not isinstance(v, str) and v == 0)
    return np.fromiter((never(v) for v in s.to_numpy(dtype=object)), dtype=bool, count=len(s))


def cohort_codes(s: pd.Series, name: str, quarters: bool) -> np.ndarray:
    """First treated period as an integer on the time axis, 0 for never treated (0, missing, empty or inf)."""
    s = _plain(s, name, "cohort")
    has_text = _is_quarter_text(s) or (s.dtype == object and any(isinstance(v, str) for v in s.dropna().unique()))
    if has_text:
        never = _never_text(s)
        text = s.astype("string").str.strip().to_numpy(dtype=object)
        if not quarters:
            numbers = pd.to_numeric(pd.Series(text[~never]), errors="coerce")
            if numbers.notna().all():             # numbers written as text ('3'): read as numbers
                s = pd.Series(np.where(never, 0.0, pd.to_numeric(pd.Series(np.where(never, "0", text)))), index=s.index)
            else:
                raise EstimationError(f"cohort column {name!r} is written as text ({_examples(text[~never])}) but time "
                                      "is numeric: give cohorts as numbers on the time axis, 0 or missing for never treated")
        else:
            bad = ~never & ~pd.Series(text).fillna("").str.match(_QUARTER.pattern).to_numpy()
            if bad.any():
                raise EstimationError(f"cohort column {name!r} has values that are not quarters: {_examples(text[bad])}; "
                                      "write the first treated quarter as YYYYQn, empty or 0 for never treated")
            out = np.zeros(len(s), dtype="int64")
            out[~never] = quarter_index(pd.Series(text[~never]))
            return out
    x = pd.to_numeric(s, errors="coerce")
    unreadable = x.isna() & s.notna()
    if unreadable.any():
        raise EstimationError(f"cohort column {name!r} has values that are not periods: {_examples(s[unreadable])}")
    x = x.to_numpy(dtype="float64")
    never = np.isnan(x) | (x == 0) | (x == np.inf)
    if quarters and (~never).any():
        raise EstimationError(f"time is written as quarters (2023Q2) but cohort column {name!r} as numbers "
                              f"({_examples(x[~never])}): write cohorts as quarters too, empty or 0 for never treated")
    negative = ~never & (x < 0)
    if negative.any():
        raise EstimationError(f"cohort column {name!r} has negative values ({_examples(x[negative])}): never treated is "
                              "0 or missing (or inf), every other cohort is the first treated period")
    frac = ~never & _whole(x)
    if frac.any():
        raise EstimationError(f"cohort column {name!r} must hold whole periods, not {_examples(x[frac])}")
    return np.where(never, 0, x).astype("int64")


def _numbers(s: pd.Series) -> np.ndarray:
    """A column as float64, text that is not a number as NaN (numeric columns without a copy through pandas)."""
    if pd.api.types.is_numeric_dtype(s.dtype) and not isinstance(s.dtype, pd.CategoricalDtype):
        return s.to_numpy(dtype="float64", na_value=np.nan)
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def finite_outcome(data: pd.DataFrame, outcome: str) -> np.ndarray:
    y = _numbers(data[outcome])
    bad = ~np.isfinite(y)
    if bad.any():
        raise EstimationError(f"outcome {outcome!r} has {int(bad.sum())} missing or infinite values "
                              f"(e.g. {_examples(data[outcome].to_numpy()[bad], 3)}): drop or impute those rows first")
    return y


@dataclass
class Rows:
    """Validated rows: unit and period codes, outcome."""

    u: np.ndarray             # unit code per row
    units: np.ndarray         # unit ids (sorted)
    tcodes: np.ndarray        # integer period per row
    periods: np.ndarray       # sorted distinct periods
    tj: np.ndarray            # period index per row
    y: np.ndarray
    quarters: bool


def validate_rows(data: pd.DataFrame, outcome: str, unit: str, time: str, extra: list[str]) -> Rows:
    """What every estimator needs of its rows: known columns, finite outcome, whole periods, unique (unit, period)."""
    check_columns(data, [outcome, unit, time, *extra])
    if not len(data):              # e.g. a subgroup (a county that sent nothing this quarter) with no household left
        raise EstimationError("no rows to estimate on")
    if data[unit].isna().any():
        raise EstimationError(f"unit column {unit!r} has {int(data[unit].isna().sum())} missing values")
    y = finite_outcome(data, outcome)
    tcodes, quarters = time_codes(data[time], time)
    u, units = pd.factorize(data[unit], sort=True)
    periods = np.sort(pd.unique(tcodes))                       # hash, not a sort of every row
    span = periods[-1] - periods[0] + 1
    if span <= 4 * len(periods) + 1000:                        # a small axis: look the index up
        lut = np.zeros(span, dtype="int64")
        lut[periods - periods[0]] = np.arange(len(periods))
        tj = lut[tcodes - periods[0]]
    else:
        tj = np.searchsorted(periods, tcodes)
    counts = np.bincount(u * len(periods) + tj, minlength=len(units) * len(periods))
    if (counts > 1).any():
        dup = np.flatnonzero(counts > 1)
        raise EstimationError(f"{int((counts > 1).sum())} ({unit}, {time}) pairs have several rows, e.g. unit "
                              f"{_examples(np.asarray(units)[dup // len(periods)], 3)}: one row per unit and period is needed")
    return Rows(u, np.asarray(units), tcodes, periods, tj, y, quarters)


def unit_constant(codes: np.ndarray, u: np.ndarray, n: int, what: str) -> np.ndarray:
    """One value per unit from row values that must not change within a unit."""
    out = np.zeros(n, dtype=codes.dtype)
    out[u] = codes
    if (out[u] != codes).any():
        raise EstimationError(what)
    return out


@dataclass
class Panel:
    """Units x periods layout of the estimation sample, and what was left out on the way."""

    units: np.ndarray          # unit ids (n)
    periods: np.ndarray        # sorted integer periods (T)
    Y: np.ndarray              # n x T outcomes (NaN where not observed)
    G: np.ndarray              # n cohorts (0: not treated within the window)
    X: np.ndarray | None       # n x T x k covariates (NaN where not observed)
    cluster: np.ndarray | None  # n cluster codes 0..C-1
    label_quarters: bool
    balanced: bool
    dropped: dict = field(default_factory=dict)

    def label(self, t):
        return index_quarter(t) if self.label_quarters else int(t)

    @property
    def observed(self) -> np.ndarray:
        return ~np.isnan(self.Y)

    @property
    def treated(self) -> np.ndarray:
        """n x T: observed and at or after the unit's start."""
        return (self.G[:, None] > 0) & (self.periods[None, :] >= self.G[:, None]) & self.observed

    def with_outcome(self, Y: np.ndarray) -> "Panel":
        """The same design with another outcome (same missing cells): the estimators are linear in it."""
        out = Panel(**{k: getattr(self, k) for k in self.__dataclass_fields__})
        out.Y = Y
        return out

    def subset(self, keep: np.ndarray, clustered: bool = True) -> "Panel":
        """The units in ``keep`` (clusters renumbered, or none), with the same record of what was dropped."""
        cl = None if self.cluster is None or not clustered else pd.factorize(self.cluster[keep])[0]
        return Panel(self.units[keep], self.periods, self.Y[keep], self.G[keep], None if self.X is None else self.X[keep],
                     cl, self.label_quarters, self.balanced, dict(self.dropped))

    def spec(self, n_obs: int | None = None) -> dict:
        """The sample an estimate rests on, in numbers (for the side-by-side table)."""
        return {"sample": "balanced" if self.balanced else "unbalanced", "units": int(len(self.units)),
                "observations": int(self.observed.sum()) if n_obs is None else int(n_obs),
                "clusters": int(self.cluster.max() + 1) if self.cluster is not None else int(len(self.units)),
                **{("recoded_" if k == "treated_after_window" else "dropped_") + k: int(v) for k, v in self.dropped.items()}}


def prepare(data, outcome, unit, time, cohort, covariates=None, cluster=None, balanced=True) -> Panel:
    """Validate and lay out the data for the robust estimators (see the module docstring for the rules)."""
    covariates = [covariates] if isinstance(covariates, str) else list(covariates or [])
    rows = validate_rows(data, outcome, unit, time, [cohort, *covariates, *([cluster] if cluster else [])])
    n_all, T, periods = len(rows.units), len(rows.periods), rows.periods
    gcodes = cohort_codes(data[cohort], cohort, rows.quarters)
    G = unit_constant(gcodes, rows.u, n_all, f"some units have two cohorts in {cohort!r}: a unit's cohort must not change")
    inside = (G > periods[0]) & (G <= periods[-1])
    off_axis = inside & ~np.isin(G, periods)
    if off_axis.any():
        lab = (lambda v: index_quarter(v)) if rows.quarters else int
        raise EstimationError(f"cohorts {_examples([lab(g) for g in np.unique(G[off_axis])])} lie inside the window "
                              f"but are not among its periods ({_examples([lab(t) for t in periods], 8)}): "
                              "a cohort is the first treated period on the time axis")
    lab = (lambda v: index_quarter(v)) if rows.quarters else int
    if (G > 0).any() and not inside.any():
        raise EstimationError(f"no cohort falls within the periods {lab(periods[0])}–{lab(periods[-1])} "
                              f"(cohorts seen: {_examples([lab(g) for g in np.unique(G[G > 0])])}): cohort must be the "
                              "first treated period on the same axis as time, 0 or missing for never treated")
    span = periods[-1] - periods[0] + 1
    far = (G > 0) & ((G > periods[-1] + span) | (G <= periods[0] - span))
    if far.any():
        raise EstimationError(f"cohorts {_examples([lab(g) for g in np.unique(G[far])])} lie further from the periods "
                              f"{lab(periods[0])}–{lab(periods[-1])} than the window is long: they look like another "
                              "axis (years while time counts periods?). Cohorts are first treated periods on the time "
                              "axis; a cohort just after the window counts as not yet treated")
    if not (G > 0).any():
        raise EstimationError(f"no treated units: every unit has cohort 0 or missing in {cohort!r}")
    cl_all = None
    if cluster:
        if data[cluster].isna().any():
            raise EstimationError(f"cluster column {cluster!r} has {int(data[cluster].isna().sum())} missing values")
        ccodes, _ = pd.factorize(data[cluster])
        cl_all = unit_constant(ccodes, rows.u, n_all,
                               f"cluster column {cluster!r} changes within a unit; clusters must contain whole units")
    Y = np.full((n_all, T), np.nan)
    Y[rows.u, rows.tj] = rows.y
    X_all = None
    if covariates:
        X_all = np.full((n_all, T, len(covariates)), np.nan)
        xv = data[covariates].apply(pd.to_numeric, errors="coerce").to_numpy(dtype="float64")
        if not np.isfinite(xv).all():
            raise EstimationError(f"covariates {covariates} have missing or non-numeric values: drop or impute them first")
        X_all[rows.u, rows.tj] = xv
    keep = ~np.isnan(Y).any(axis=1) if balanced else np.ones(n_all, dtype=bool)
    dropped = {"unbalanced_units": int((~keep).sum())}
    dropped["treated_after_window"] = int(((G > periods[-1]) & keep).sum())   # kept, as not yet treated (R did too)
    G = np.where(G > periods[-1], 0, G)
    early = (G > 0) & (G <= periods[0])                        # treated in the first period: no pre-period
    dropped["treated_in_first_period"] = int((early & keep).sum())
    keep &= ~early
    if not (G[keep] > 0).any():
        raise EstimationError("no treated unit has a period before its start in the estimation sample "
                              f"({dropped['treated_in_first_period']} were treated in the first period or before"
                              + (f", {dropped['unbalanced_units']} left out for gaps)" if balanced else ")"))
    cl = None
    if cluster:
        cl = pd.factorize(cl_all[keep])[0]
        if cl.max() < 1:
            raise EstimationError(f"cluster column {cluster!r} has one value in the sample: clustered standard errors "
                                  "need at least two clusters")
    return Panel(rows.units[keep], periods, Y[keep], G[keep], None if X_all is None else X_all[keep], cl,
                 rows.quarters, balanced, dropped)


def se_from_if(inf: np.ndarray, n: int, cluster: np.ndarray | None) -> np.ndarray:
    """Standard errors from unit-level influence functions (columns): sqrt(sum(psi^2))/n, or clustered
    (cluster sums, with the G/(G-1) correction)."""
    inf = inf.reshape(len(inf), -1)
    if cluster is None:
        return np.sqrt((inf ** 2).sum(axis=0)) / n
    sums = cluster_sums(inf, cluster)
    n_cl = len(sums)
    return np.sqrt(n_cl / (n_cl - 1) * (sums ** 2).sum(axis=0)) / n


def covariance_from_if(inf: np.ndarray, n: int, cluster: np.ndarray | None) -> np.ndarray:
    """The covariance of estimates from their unit-level influence functions (columns), as ``se_from_if`` gives its
    diagonal: sum(psi psi')/n^2, or clustered (cluster sums, with the G/(G-1) correction)."""
    inf = inf.reshape(len(inf), -1)
    if cluster is None:
        return inf.T @ inf / n ** 2
    sums = cluster_sums(inf, cluster)
    g = len(sums)
    return g / (g - 1) * sums.T @ sums / n ** 2


def cluster_sums(inf: np.ndarray, cluster: np.ndarray, n_cl: int | None = None) -> np.ndarray:
    """Sums of unit-level values within clusters (rows: clusters)."""
    n_cl = int(cluster.max()) + 1 if n_cl is None else n_cl
    inf = inf.reshape(len(inf), -1)
    return np.column_stack([np.bincount(cluster, inf[:, j], n_cl) for j in range(inf.shape[1])]) if inf.shape[1] \
        else np.zeros((n_cl, 0))


def frame(index, att, se, name) -> pd.DataFrame:
    """The tidy result of an aggregation: att, se and the pointwise 95% interval."""
    att, se = np.asarray(att, dtype=float), np.asarray(se, dtype=float)
    return pd.DataFrame({"att": att, "se": se, "ci_low": att - Z95 * se, "ci_high": att + Z95 * se},
                        index=pd.Index(index, name=name, dtype=object))


def twoway_solve(M: np.ndarray, values_by_unit: np.ndarray, values_by_time: np.ndarray):
    """Solve the two-way fixed-effect normal equations restricted to cells in ``M`` (n x T, bool):
    [diag(N_i) M; M' diag(n_t)] [a; l] = [values_by_unit; values_by_time], with l normalized to sum 0.
    Never forms a dummy matrix: the unit effects are eliminated, leaving a T x T system.
    The cells must connect every period (``period_components``): otherwise the solution is not unique."""
    return TwoWay(M).solve(values_by_unit, values_by_time)


class TwoWay:
    """``twoway_solve`` for one set of cells ``M`` and several right-hand sides: what depends on the cells alone
    (the cells as numbers, the units' counts, the T x T system) is computed once; each ``solve`` is the same
    arithmetic as ``twoway_solve``, so it gives the same numbers."""

    def __init__(self, M: np.ndarray):
        self.Mf = Mf = M.astype(float)
        N_i = Mf.sum(axis=1)
        self.inv = np.where(N_i > 0, 1.0 / np.where(N_i > 0, N_i, 1), 0.0)
        A = np.diag(Mf.sum(axis=0)) - (Mf * self.inv[:, None]).T @ Mf
        self.A_aug = np.vstack([A, np.ones((1, A.shape[0]))])

    def solve(self, values_by_unit: np.ndarray, values_by_time: np.ndarray):
        rhs = values_by_time - self.Mf.T @ (values_by_unit * self.inv)
        l, *_ = np.linalg.lstsq(self.A_aug, np.append(rhs, 0.0), rcond=None)
        a = (values_by_unit - self.Mf @ l) * self.inv
        return a, l


def period_components(M: np.ndarray) -> np.ndarray:
    """Connected components of periods linked by units with cells in both (``M``: n x T, bool); -1 for a
    period with no cell. Unit and period effects fitted on ``M`` compare periods only within a component."""
    from scipy.sparse.csgraph import connected_components

    Mf = M.astype(np.float32)
    linked = (Mf.T @ Mf) > 0
    _, comp = connected_components(linked, directed=False)
    comp[~M.any(axis=0)] = -1
    return comp
