"""The three estimators on a Dask cluster: statistics summed over household partitions, the same numbers.

Each partition holds whole households (``partition_by_unit`` hashes them to partitions; a split that cuts a
household is refused). A partition is laid out once on its worker (units x periods, on the global period axis)
and stays there; the driver sends it small global quantities and gets back small sums:

- Callaway-Sant'Anna (no covariates): per cohort, the T x T counts and sums of outcome changes of the units
  observed in both periods (every cell's ATT is a difference of two means of those); then, given the cells'
  means, each unit's influence function is computed there exactly as ``callaway_santanna`` does and the partition
  returns its cluster sums (with the cohort counts per cluster, for the aggregations' weight terms) or, at unit
  level, the Gram matrix of the units' influence functions and cohort indicators.
- the imputation estimator and TWFE: the T x T reduced normal equations of the two-way system (the unit effects are
  per household, local to a partition) are summed and solved on the driver; residuals, effects and scores come
  back as cluster sums (or, at unit level, sums of squares and products) in later passes.

Clustered standard errors use only cluster sums of the influence functions (``se_from_if`` with clusters is
sqrt(G/(G-1) sum_k S_k^2)/n), so the results below keep one row per cluster where the local results keep one per
unit (``inf`` of ``DaskCSResult``; clusters in the local code's order: by their first unit). At unit level the rows
are a square root of the units' Gram matrix: every standard error, covariance and Wald test equals the local one,
but the rows are not units (``simultaneous_band`` and the few-cluster tests need units or clusters and are refused).
Nothing here gathers the rows of the data in one process.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from helpers.analysis.effects.callaway_santanna import CSResult, _Cells
from helpers.analysis.effects.panel import (EstimationError, _examples, _numbers, cohort_codes, frame, se_from_if,
                                           unit_constant, validate_rows)
from helpers.domain.quarters import index_quarter


# ---------------------------------------------------------------------------------------------------- partitions

def partition_by_unit(data: pd.DataFrame, unit: str, n: int) -> list[pd.DataFrame]:
    """``data`` cut into ``n`` partitions, every household (``unit``) whole in the partition its id hashes to."""
    if n < 1:
        raise EstimationError(f"the number of partitions must be 1 or more, not {n}")
    if unit not in data.columns:
        raise EstimationError(f"unknown unit column {unit!r}; the data has {list(data.columns)}")
    h = pd.util.hash_pandas_object(data[unit], index=False).to_numpy() % np.uint64(n)
    return [data[h == k] for k in range(n)]


class _Runner:
    """Tasks on the partitions: on the engine's Dask client (partitions and their states stay on the workers), or
    in this process for the local engine."""

    def __init__(self, engine, parts):
        self.client = getattr(engine, "client", None)
        if hasattr(parts, "to_delayed"):                     # a dask DataFrame: its partitions, computed on the workers
            if self.client is None:
                parts = [d.compute() for d in parts.to_delayed()]
            else:
                parts = self.client.compute(parts.to_delayed())
        elif self.client is not None:
            parts = self.client.scatter(list(parts))
        self.parts = list(parts)

    def map(self, func, items, **kw):
        """Futures (values locally) of ``func(item, **kw)``, kept where they are."""
        if self.client is None:
            return [func(x, **kw) for x in items]
        return self.client.map(func, items, pure=False, **kw)

    def gather(self, items):
        return items if self.client is None else self.client.gather(items)

    def run(self, func, items, **kw) -> list:
        return self.gather(self.map(func, items, **kw))


def _scan(df: pd.DataFrame, outcome, unit, time, extra, cohort=None) -> dict | None:
    """What the driver needs before any layout: the partition's periods, cohorts, and its households' hashes."""
    if not len(df):
        return None
    rows = validate_rows(df, outcome, unit, time, extra)
    out = {"quarters": rows.quarters, "periods": rows.periods, "hash": pd.util.hash_pandas_object(
        pd.Series(rows.units), index=False).to_numpy(), "units_dtype": str(pd.Series(rows.units).dtype)}
    if cohort is not None:
        out["cohorts"] = np.unique(cohort_codes(df[cohort], cohort, rows.quarters))
    return out


def _units_with_hash(df: pd.DataFrame, unit, hashes) -> list:
    if not len(df):
        return []
    u = pd.Series(pd.unique(df[unit]))
    return u[np.isin(pd.util.hash_pandas_object(u, index=False).to_numpy(), hashes)].tolist()


def _global_axis(run: _Runner, scans: list, unit: str, time: str) -> tuple[np.ndarray, bool]:
    """The periods of all partitions, checked: one way of writing time, and no household in two partitions."""
    scans = [s for s in scans if s is not None]
    if not scans:
        raise EstimationError("no rows to estimate on")
    if len({s["quarters"] for s in scans}) > 1:
        raise EstimationError(f"time column {time!r} is written as quarters in some partitions and as numbers in "
                              "others: write every period the same way")
    hashes = np.concatenate([s["hash"] for s in scans])
    uniq, counts = np.unique(hashes, return_counts=True)
    if (counts > 1).any():
        cut = uniq[counts > 1]
        seen = {}
        for part in run.run(_units_with_hash, run.parts, unit=unit, hashes=cut):
            for u in part:
                seen[u] = seen.get(u, 0) + 1
        split = [u for u, c in seen.items() if c > 1]
        raise EstimationError(f"{len(split)} households ({unit}) appear in more than one partition, e.g. "
                              f"{_examples(split, 3)}: each partition must hold whole households "
                              "(cut the data with partition_by_unit)")
    return np.unique(np.concatenate([s["periods"] for s in scans])), scans[0]["quarters"]


def _label(quarters: bool):
    return (lambda v: index_quarter(v)) if quarters else int


@dataclass
class _Part:
    """One partition laid out on the global period axis (what ``prepare`` makes of its households)."""

    units: np.ndarray
    Y: np.ndarray                  # n x T, NaN where not observed
    G: np.ndarray                  # cohorts (0: not treated within the window)
    cl: np.ndarray | None          # raw cluster labels per unit
    dropped: dict
    D: np.ndarray | None = None    # n x T treatment (TWFE)

    @property
    def observed(self):
        return ~np.isnan(self.Y)


def _layout(df: pd.DataFrame, periods, outcome, unit, time, cohort, cluster, balanced) -> _Part:
    """``prepare``'s layout of one partition's households, on the global periods (its checks that need every
    household are made by the driver from the summaries)."""
    T = len(periods)
    if not len(df):
        z = np.zeros(0, dtype="int64")
        return _Part(np.array([], dtype=object), np.zeros((0, T)), z, None if not cluster else np.array([], dtype=object),
                     {"unbalanced_units": 0, "treated_after_window": 0, "treated_in_first_period": 0})
    rows = validate_rows(df, outcome, unit, time, [cohort, *([cluster] if cluster else [])])
    n = len(rows.units)
    tj = np.searchsorted(periods, rows.tcodes)
    G = unit_constant(cohort_codes(df[cohort], cohort, rows.quarters), rows.u, n,
                      f"some units have two cohorts in {cohort!r}: a unit's cohort must not change")
    cl = None
    if cluster:
        if df[cluster].isna().any():
            raise EstimationError(f"cluster column {cluster!r} has {int(df[cluster].isna().sum())} missing values")
        codes, labels = pd.factorize(df[cluster])
        cl = np.asarray(labels, dtype=object)[unit_constant(
            codes, rows.u, n, f"cluster column {cluster!r} changes within a unit; clusters must contain whole units")]
    Y = np.full((n, T), np.nan)
    Y[rows.u, tj] = rows.y
    keep = ~np.isnan(Y).any(axis=1) if balanced else np.ones(n, dtype=bool)
    dropped = {"unbalanced_units": int((~keep).sum())}
    dropped["treated_after_window"] = int(((G > periods[-1]) & keep).sum())
    G = np.where(G > periods[-1], 0, G)
    early = (G > 0) & (G <= periods[0])
    dropped["treated_in_first_period"] = int((early & keep).sum())
    keep &= ~early
    return _Part(rows.units[keep], Y[keep], G[keep], None if cl is None else cl[keep], dropped)


def _first_units(part: _Part) -> pd.Series:
    """The first unit (in sorted order) of each cluster: the local code numbers clusters in that order."""
    if part.cl is None or not len(part.units):
        return pd.Series(dtype=object)
    return pd.Series(part.units).groupby(pd.Series(part.cl, dtype=object), sort=False).min()


def _cluster_order(firsts: list[pd.Series]) -> pd.Index:
    s = pd.concat([f for f in firsts if len(f)])
    s = s.groupby(level=0, sort=False).min()
    return pd.Index(s.sort_values(kind="stable").index)


def _sums_by_cluster(values: np.ndarray, cl: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Labels and sums (rows) of ``values`` (units x k) within the partition's clusters."""
    codes, labels = pd.factorize(pd.Series(cl, dtype=object))
    values = values.reshape(len(values), -1)
    sums = np.column_stack([np.bincount(codes, values[:, j], len(labels)) for j in range(values.shape[1])]) \
        if len(labels) else np.zeros((0, values.shape[1]))
    return np.asarray(labels, dtype=object), sums


def _combine_cluster_sums(pieces: list, order: pd.Index, k: int) -> np.ndarray:
    out = np.zeros((len(order), k))
    for labels, sums in pieces:
        if len(labels):
            np.add.at(out, order.get_indexer(pd.Index(labels, dtype=object)), sums)
    return out


def _rows_from_gram(gram: np.ndarray) -> np.ndarray:
    """Rows R with R'R = ``gram`` (a scaled symmetric square root): stand-ins for units in every quadratic form."""
    d = np.sqrt(np.clip(np.diag(gram), 0, None))
    live = d > 0                          # columns that are zero for every unit stay exactly zero
    s = d[live]
    lam, V = np.linalg.eigh(gram[np.ix_(live, live)] / np.outer(s, s))
    R = np.zeros((int(live.sum()), len(d)))
    R[:, live] = (np.sqrt(np.clip(lam, 0, None))[:, None] * V.T) * s[None, :]
    return R


class _PanelInfo:
    """What a result says about its sample (``Panel.spec`` and ``label``) without the panel's rows."""

    def __init__(self, periods, quarters, balanced, units, observations, clusters, dropped):
        self.periods, self.label_quarters, self.balanced = periods, quarters, balanced
        self.n_units, self.observations, self.n_clusters, self.dropped = units, observations, clusters, dropped

    def label(self, t):
        return index_quarter(t) if self.label_quarters else int(t)

    def spec(self, n_obs: int | None = None) -> dict:
        return {"sample": "balanced" if self.balanced else "unbalanced", "units": int(self.n_units),
                "observations": int(self.observations if n_obs is None else n_obs),
                "clusters": int(self.n_clusters if self.n_clusters is not None else self.n_units),
                **{("recoded_" if k == "treated_after_window" else "dropped_") + k: int(v) for k, v in self.dropped.items()}}


def _sum_dropped(parts: list[dict]) -> dict:
    out = {}
    for d in parts:
        for k, v in d.items():
            out[k] = out.get(k, 0) + v
    return out


def _prepare_dask(run: _Runner, outcome, unit, time, cohort, cluster, balanced):
    """``prepare`` over partitions: the global period axis, the checks that need every household, the laid out
    partitions (futures on the workers) and their summary."""
    scans = run.run(_scan, run.parts, outcome=outcome, unit=unit, time=time,
                    extra=[cohort, *([cluster] if cluster else [])], cohort=cohort)
    periods, quarters = _global_axis(run, scans, unit, time)
    G_all = np.unique(np.concatenate([s["cohorts"] for s in scans if s is not None]))
    lab = _label(quarters)
    inside = (G_all > periods[0]) & (G_all <= periods[-1])
    off_axis = inside & ~np.isin(G_all, periods)
    if off_axis.any():
        raise EstimationError(f"cohorts {_examples([lab(g) for g in G_all[off_axis]])} lie inside the window "
                              f"but are not among its periods ({_examples([lab(t) for t in periods], 8)}): "
                              "a cohort is the first treated period on the time axis")
    if (G_all > 0).any() and not inside.any():
        raise EstimationError(f"no cohort falls within the periods {lab(periods[0])}–{lab(periods[-1])} "
                              f"(cohorts seen: {_examples([lab(g) for g in G_all[G_all > 0]])}): cohort must be the "
                              "first treated period on the same axis as time, 0 or missing for never treated")
    span = periods[-1] - periods[0] + 1
    far = (G_all > 0) & ((G_all > periods[-1] + span) | (G_all <= periods[0] - span))
    if far.any():
        raise EstimationError(f"cohorts {_examples([lab(g) for g in G_all[far]])} lie further from the periods "
                              f"{lab(periods[0])}–{lab(periods[-1])} than the window is long: they look like another "
                              "axis (years while time counts periods?)")
    if not (G_all > 0).any():
        raise EstimationError(f"no treated units: every unit has cohort 0 or missing in {cohort!r}")
    states = run.map(_layout, run.parts, periods=periods, outcome=outcome, unit=unit, time=time, cohort=cohort,
                     cluster=cluster, balanced=balanced)
    return states, periods, quarters


# ---------------------------------------------------------------------------------------------------- Callaway-Sant'Anna

def _cs_stats(part: _Part) -> dict:
    """Per cohort: units, and the T x T counts and sums of outcome changes Y_j - Y_b of units observed in both."""
    obs = part.observed.astype(float)
    Y0 = np.where(part.observed, part.Y, 0.0)
    out = {}
    for g in np.unique(part.G):
        m = part.G == g
        S1 = Y0[m].T @ obs[m]                       # S1[j, b] = sum of Y_j over units observed in j and b
        out[int(g)] = (int(m.sum()), obs[m].T @ obs[m], S1 - S1.T)
    return {"cohorts": out, "observations": int(part.observed.sum()), "dropped": part.dropped,
            "firsts": _first_units(part)}


def _cs_cells(stats: dict, periods, control: str, base_period: str, balanced: bool):
    """``_cells`` from the cohorts' counts, with each cell's treated and comparison counts and sums."""
    T = len(periods)
    cohorts = np.array(sorted(stats))
    out = []
    for g in cohorts[cohorts > 0]:
        last_pre = np.flatnonzero(periods < g)[-1]
        for j in (range(1, T) if base_period == "varying" else range(T)):
            b = (j - 1 if periods[j] < g else last_pre) if base_period == "varying" else last_pre
            if j == b:
                out.append((g, periods[j], j, b, True, False, 0, 0, 0.0, 0.0))
                continue
            if control == "never":
                comp = [0] if 0 in stats else []
            else:
                m = max(periods[j], periods[b])
                comp = [c for c in cohorts if c == 0 or (c > m and c != g)]
            if balanced:
                nD, sD = stats[g][0], stats[g][2][j, b]
                nC = sum(stats[c][0] for c in comp)
            else:
                nD, sD = int(round(stats[g][1][j, b])), stats[g][2][j, b]
                nC = int(round(sum(stats[c][1][j, b] for c in comp)))
            sC = sum(stats[c][2][j, b] for c in comp)
            if nD and nC:
                out.append((g, periods[j], j, b, False, min(nD, nC) < 2, nD, nC, sD, sC))
    if not any(not c[4] for c in out):
        raise EstimationError("no (cohort, period) cell has both treated and comparison units")
    g, t, j, b, ref, thin, nD, nC, sD, sC = (np.array(x) for x in zip(*out))
    cells = _Cells(g, t, j.astype(int), b.astype(int), ref.astype(bool), thin.astype(bool))
    return cells, nD.astype(float), nC.astype(float), sD.astype(float), sC.astype(float)


def _cs_influence(part: _Part, cells: _Cells, periods, mD, mC, nD, nC, n: int, control: str, balanced: bool, groups,
                  clustered: bool):
    """The partition's units' influence functions (as ``_fit_cells``) and cohort indicators: cluster sums or Gram."""
    nl = len(part.Y)
    inf = np.zeros((nl, len(cells.g) + len(groups)), order="F")
    observed = part.observed
    never = part.G == 0
    Yt = np.ascontiguousarray(part.Y.T)
    for c in np.flatnonzero(~cells.reference):
        j, b, g = cells.j[c], cells.b[c], cells.g[c]
        D = part.G == g
        C = never if control == "never" else never | ((part.G > max(periods[j], periods[b])) & ~D)
        if not balanced:
            both = observed[:, j] & observed[:, b]
            D, C = D & both, C & both
        dy = Yt[j] - Yt[b]
        col = inf[:, c]
        col[D] = (dy[D] - mD[c]) * (n / nD[c])
        col[C] = -(dy[C] - mC[c]) * (n / nC[c])
    for k, g in enumerate(groups):
        inf[:, len(cells.g) + k] = part.G == g
    if clustered:
        return _sums_by_cluster(inf, part.cl)
    return inf.T @ inf


class _CohortSizes:
    """Stands in for the per-unit cohorts ``CSResult`` reads: ``(G == g).sum()`` and ``.mean()`` from counts."""

    def __init__(self, counts: dict, n: int):
        self.counts, self.n = counts, n

    def __eq__(self, g):
        return _Count(self.counts.get(int(g), 0), self.n)

    __hash__ = None


class _Count:
    def __init__(self, k: int, n: int):
        self.k, self.n = k, n

    def sum(self):
        return self.k

    def mean(self):
        return np.float64(self.k) / self.n


@dataclass
class DaskCSResult(CSResult):
    """A ``CSResult`` from partition sums: ``inf`` holds one row per cluster (cluster sums, ``cluster`` = 0..G-1),
    or at unit level rows whose Gram matrix is the units' (see the module docstring)."""

    Z: np.ndarray | None = field(default=None, repr=False)    # the rows' sums of cohort indicators (per group)
    groups: np.ndarray | None = field(default=None, repr=False)
    unit_level: bool = False

    def _alpha_rows(self, alpha: dict) -> np.ndarray:
        a = np.array([alpha.get(g, 0.0) for g in self.groups])
        return self.Z @ a

    def _wif_att(self, pg_cells, att, groups_of_cells):
        S = pg_cells.sum()
        b = (pg_cells * att).sum()
        per_group_att, per_group_count = {}, {}
        for g, a in zip(groups_of_cells, att):
            per_group_att[g] = per_group_att.get(g, 0.0) + a
            per_group_count[g] = per_group_count.get(g, 0) + 1
        return self._alpha_rows({g: per_group_att[g] / S - per_group_count[g] * b / S ** 2 for g in per_group_att})

    def _wif_group(self, groups, pg, g_est):
        S = pg.sum()
        b = (pg * g_est).sum()
        return self._alpha_rows({gg: est / S - b / S ** 2 for gg, est in zip(groups, g_est)})

    def simultaneous_band(self, kind: str = "dynamic", reps: int = 999, seed=None, level: float = 0.95):
        if self.unit_level:
            raise EstimationError("a simultaneous band at unit level draws one weight per household, which the "
                                  "partition sums do not keep: cluster the result (cluster=...) or use the local engine")
        return super().simultaneous_band(kind, reps, **({} if seed is None else {"seed": seed}), level=level)

    def few_cluster_test(self, *args, **kwargs):
        raise EstimationError("the few-cluster tests re-estimate on households and are not available from partition "
                              "sums: use the local engine")

    def _without(self, keep):
        self.few_cluster_test()

    def _overall_for_outcome(self, Y, kinds):
        self.few_cluster_test()


def callaway_santanna_dask(engine, parts, outcome: str, unit: str, time: str, cohort: str, control: str = "never",
                           covariates: list[str] | None = None, cluster: str | None = None,
                           base_period: str = "varying", balanced: bool = True) -> DaskCSResult:
    """``callaway_santanna`` on partitions of whole households (``partition_by_unit``), on ``engine``'s Dask
    client: the same estimates and standard errors from sums (module docstring). Covariates are not supported."""
    if control not in ("never", "not_yet"):
        raise EstimationError(f"control must be 'never' or 'not_yet', not {control!r}")
    if base_period not in ("varying", "universal"):
        raise EstimationError(f"base_period must be 'varying' or 'universal', not {base_period!r}")
    if covariates:
        raise EstimationError("covariates are not supported by the partitioned Callaway-Sant'Anna estimator "
                              "(each cell's regression needs a second pass of its own): use the local engine")
    run = _Runner(engine, parts)
    states, periods, quarters = _prepare_dask(run, outcome, unit, time, cohort, cluster, balanced)
    summaries = run.run(_cs_stats, states)
    stats, firsts = {}, []
    for s in summaries:
        firsts.append(s["firsts"])
        for g, (k, O, S) in s["cohorts"].items():
            if g in stats:
                k0, O0, S0 = stats[g]
                stats[g] = (k0 + k, O0 + O, S0 + S)
            else:
                stats[g] = (k, O, S)
    dropped = _sum_dropped([s["dropped"] for s in summaries])
    n = sum(v[0] for v in stats.values())
    if not any(g > 0 and v[0] for g, v in stats.items()):
        raise EstimationError("no treated unit has a period before its start in the estimation sample "
                              f"({dropped['treated_in_first_period']} were treated in the first period or before"
                              + (f", {dropped['unbalanced_units']} left out for gaps)" if balanced else ")"))
    stats = {g: v for g, v in stats.items() if v[0]}
    order = None
    if cluster:
        order = _cluster_order(firsts)
        if len(order) < 2:
            raise EstimationError(f"cluster column {cluster!r} has one value in the sample: clustered standard errors "
                                  "need at least two clusters")
    if n < 4:
        raise EstimationError(f"too few units ({n}) to estimate anything")
    if control == "never" and 0 not in stats:
        raise EstimationError("control='never' needs never-treated units (cohort 0 or missing), and there are none; "
                              "use control='not_yet'")
    cells, nD, nC, sD, sC = _cs_cells(stats, periods, control, base_period, balanced)
    live = ~cells.reference
    mD = np.divide(sD, nD, out=np.zeros_like(sD), where=live)
    mC = np.divide(sC, nC, out=np.zeros_like(sC), where=live)
    atts = np.where(live, mD - mC, 0.0)
    groups = np.unique(cells.g)
    pieces = run.run(_cs_influence, states, cells=cells, periods=periods, mD=mD, mC=mC, nD=nD, nC=nC, n=n, control=control,
                     balanced=balanced, groups=groups, clustered=bool(cluster))
    k = len(cells.g) + len(groups)
    if cluster:
        R = _combine_cluster_sums(pieces, order, k)
        cl = np.arange(len(order))
    else:
        R = _rows_from_gram(sum(pieces))
        cl = None
    inf, Z = R[:, :len(cells.g)], R[:, len(cells.g):]
    se = se_from_if(inf, n, cl)
    se[cells.reference | cells.thin] = np.nan
    lab = _label(quarters)
    att_gt = pd.DataFrame({"cohort": [lab(g) for g in cells.g], "time": [lab(t) for t in cells.t],
                           "att": atts, "se": se, "event_time": cells.t - cells.g})
    info = _PanelInfo(periods, quarters, balanced, n, sum(s["observations"] for s in summaries),
                      len(order) if cluster else None, dropped)
    sizes = _CohortSizes({g: v[0] for g, v in stats.items()}, n)
    return DaskCSResult(att_gt, inf, sizes, cells.g, cells.t, n, cl, info, control, [], base_period, cells,
                        Z=Z, groups=groups, unit_level=cluster is None)
