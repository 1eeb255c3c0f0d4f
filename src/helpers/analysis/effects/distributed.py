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
but the rows are not units (``simultaneous_band`` needs units or clusters and is refused).
Nothing here gathers the rows of the data in one process: the driver receives per partition one 64-bit hash per
household (the check that no household is cut), the first household of each cluster, and arrays of the size of the
cells, periods and clusters.

The few-cluster check (``few_cluster_test``, the cluster jackknife) of both robust estimators' results: the result
keeps its partitions laid out on the workers (futures) and the call's options; given the name of a column of the
partitions with one value per household (``"county"``; a value that changes within a household is refused), or a
Series indexed by household, the workers read each household's cluster and the estimator is run again on the
partitions without each cluster in turn (a filter on the workers; estimates only, from the same sums), as the local
``_without`` does on the laid out panel (same periods, same households left out). Clusters come in the local code's
order (by their first household), the leave-one-out runs are kept per column, and a cluster without which the estimate
cannot be computed is named in the same ``EstimationError``: the local ``ClusterJackknife`` to rounding, for every
statistic (Callaway-Sant'Anna's four aggregations and the event-time trend; the imputation estimator's two).

Not available from partition sums (each refused with an ``EstimationError`` that says so): Callaway-Sant'Anna with
covariates, the imputation estimator's ``aggregate(..., horizons=...)``, the wild cluster restricted bootstrap
(``few_cluster_test(..., method="wild")``: it runs the estimator with its influence functions on two-way residuals
inside each cluster), and the unit-level simultaneous band; ``DaskImputationResult.tau`` (one row per treated
observation) is left empty. TWFE leaves out
singleton households as pyfixest does, but not periods that only become singletons after that (pyfixest repeats the
removal). On unbalanced panels TWFE's standard error is exact here, while pyfixest's iterative demeaning (tolerance
1e-8) puts the local one within about 1e-7 of it; balanced, they agree to rounding.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import partial

import numpy as np
import pandas as pd

from helpers.analysis.effects.callaway_santanna import CSResult, _Cells
from helpers.analysis.effects.twfe import TWFEResult
from helpers.engine import lost_workers
from helpers.analysis.effects.few_clusters import ClusterJackknife, FewClusterInference
from helpers.analysis.effects.panel import (EstimationError, _examples, _numbers, cohort_codes, frame, se_from_if,
                                           unit_constant, validate_rows)
from helpers.config import SEED
from helpers.domain.quarters import index_quarter

__all__ = ["DaskCSResult", "DaskImputationResult", "DaskTWFEResult", "callaway_santanna_dask", "imputation_dask",
           "partition_by_unit", "twfe_dask"]


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

    WHAT = "estimation on household partitions"          # the step a lost worker's message names

    def __init__(self, engine, parts):
        self.client = getattr(engine, "client", None)
        if hasattr(parts, "to_delayed"):                     # a dask DataFrame: its partitions, computed on the workers
            if self.client is None:
                parts = [d.compute() for d in parts.to_delayed()]
            else:
                parts = self.client.compute(parts.to_delayed())
        elif self.client is not None:
            with self._lost():
                parts = self.client.scatter(list(parts), hash=False)   # own keys: a second call never shares them
        self.parts = list(parts)

    def _lost(self):
        """A worker lost under the block (the partitions it held are gone with it): ``WorkersLost``, one message."""
        return lost_workers(self.client, self.WHAT)

    def map(self, func, items, *more, **kw):
        """Futures (values locally) of ``func(item, *more_items, **kw)``, kept where they are."""
        if self.client is None:
            return [func(*x, **kw) for x in zip(items, *more)]
        return self.client.map(func, items, *more, pure=False, **kw)

    def share(self, value):
        """``value`` on every worker once (a future), to pass to many tasks; itself locally."""
        if self.client is None:
            return value
        with self._lost():
            return self.client.scatter(value, broadcast=True, hash=False)

    def alive(self) -> bool:
        return self.client is None or getattr(self.client, "status", "running") == "running"

    def gather(self, items):
        if self.client is None:
            return items
        with self._lost():
            return self.client.gather(items)

    def run(self, func, items, *more, **kw) -> list:
        return self.gather(self.map(func, items, *more, **kw))


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


def _unit_clusters(df: pd.DataFrame, cluster: str | None, rows, n: int) -> np.ndarray | None:
    """Each unit's cluster label (None without a cluster), checked: no missing value, whole units in a cluster."""
    if not cluster:
        return None
    if df[cluster].isna().any():
        raise EstimationError(f"cluster column {cluster!r} has {int(df[cluster].isna().sum())} missing values")
    codes, labels = pd.factorize(df[cluster])
    return np.asarray(labels, dtype=object)[unit_constant(
        codes, rows.u, n, f"cluster column {cluster!r} changes within a unit; clusters must contain whole units")]


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
    order: np.ndarray | None = None   # the units' places in the local code's sort order, where that is not theirs

    @property
    def observed(self):
        return ~np.isnan(self.Y)

    @property
    def sort_key(self) -> np.ndarray:
        return self.units if self.order is None else self.order


def _unit_order(column: pd.Series, units: np.ndarray) -> np.ndarray | None:
    """Where ``validate_rows`` does not sort units by value (categorical ids are sorted by their categories), each
    unit's place in that order, comparable across partitions of the same dtype; None otherwise."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return pd.Categorical(units, dtype=column.dtype).codes.astype("int64")
    return None


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
    cl = _unit_clusters(df, cluster, rows, n)
    Y = np.full((n, T), np.nan)
    Y[rows.u, tj] = rows.y
    keep = ~np.isnan(Y).any(axis=1) if balanced else np.ones(n, dtype=bool)
    dropped = {"unbalanced_units": int((~keep).sum())}
    dropped["treated_after_window"] = int(((G > periods[-1]) & keep).sum())
    G = np.where(G > periods[-1], 0, G)
    early = (G > 0) & (G <= periods[0])
    dropped["treated_in_first_period"] = int((early & keep).sum())
    keep &= ~early
    order = _unit_order(df[unit], rows.units)
    return _Part(rows.units[keep], Y[keep], G[keep], None if cl is None else cl[keep], dropped,
                 order=None if order is None else order[keep])


def _first_units(part: _Part) -> pd.Series:
    """The first unit (in the local code's sort order) of each cluster: the local code numbers clusters in that
    order."""
    if part.cl is None or not len(part.units):
        return pd.Series(dtype=object)
    return pd.Series(part.sort_key).groupby(pd.Series(part.cl, dtype=object), sort=False).min()


def _cluster_order(firsts: list[pd.Series]) -> pd.Index:
    s = pd.concat([f for f in firsts if len(f)])
    s = s.groupby(level=0, sort=False).min()
    return pd.Index(s.sort_values(kind="stable").index)


def _sums_by_cluster(values: np.ndarray, cl: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Labels and sums (rows) of ``values`` (units x k) within the partition's clusters."""
    codes, labels = pd.factorize(pd.Series(cl, dtype=object))
    values = values.reshape(len(values), values.shape[1] if values.ndim > 1 else 1)
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


# ---------------------------------------------------------------------------------------------------- few clusters

def _unit_values(df: pd.DataFrame, part: _Part, unit: str, cluster) -> np.ndarray:
    """The cluster of each laid out household of a partition: the value of column ``cluster`` (one per household,
    checked), or of a Series indexed by household (NaN where it has none)."""
    if not len(part.units):
        return np.array([], dtype=object)
    if isinstance(cluster, pd.Series):
        return cluster.reindex(part.units).to_numpy(dtype=object)
    if cluster not in df.columns:
        raise EstimationError(f"unknown cluster column {cluster!r}; the partitions have {list(df.columns)}")
    by = df.groupby(unit, sort=False, observed=True)[cluster]
    changes = by.nunique(dropna=False)
    if (changes > 1).any():
        cut = changes.index[changes > 1]
        raise EstimationError(f"cluster column {cluster!r} changes within {len(cut)} households ({unit}), e.g. "
                              f"{_examples(cut, 3)}: a cluster must contain whole households")
    return by.first().reindex(part.units).to_numpy(dtype=object)


def _no_base(part: _Part, periods) -> np.ndarray:
    """Households the imputation estimator leaves out: treated, with no untreated period (``_imp_design``)."""
    treated = (part.G[:, None] > 0) & (periods[None, :] >= part.G[:, None]) & part.observed
    return treated.any(axis=1) & ~(part.observed & ~treated).any(axis=1)


def _values_summary(part: _Part, values: np.ndarray, periods, drop_no_base: bool) -> tuple[int, pd.Series]:
    """Households of the estimate without a cluster, and the first household (sorted) of each cluster."""
    keep = ~_no_base(part, periods) if drop_no_base else np.ones(len(part.units), dtype=bool)
    v = pd.Series(values[keep], dtype=object)
    missing = v.isna().to_numpy()
    units = pd.Series(part.sort_key[keep][~missing])
    return int(missing.sum()), units.groupby(v[~missing].to_numpy(), sort=False).min()


def _value_codes(values: np.ndarray, labels: pd.Index) -> np.ndarray:
    return labels.get_indexer(pd.Index(values, dtype=object))


def _drop_code(part: _Part, codes: np.ndarray, code: int) -> _Part:
    """The partition without the households of one cluster (``Panel.subset`` without clusters)."""
    keep = codes != code
    return _Part(part.units[keep], part.Y[keep], part.G[keep], None, part.dropped,
                 order=None if part.order is None else part.order[keep])


WILD_ON_PARTITIONS = ("the wild cluster restricted bootstrap runs the estimator, with its influence functions, on the "
                      "two-way residuals of the outcome and of the treatment inside each cluster in turn (2G runs on "
                      "outcomes the partitions do not hold), which is not implemented on the engine: use "
                      "method='jackknife' (the default, whose size held with five counties) or the local engine")


class _Rerun:
    """What a result computed on partitions keeps to re-estimate without each cluster: the partitions laid out on
    the workers (futures), the estimator with the call's options, and the leave-one-out runs per cluster column."""

    def __init__(self, run: _Runner, states: list, periods: np.ndarray, unit: str, fit, drop_no_base: bool):
        self.run, self.states, self.periods, self.unit = run, states, periods, unit
        self.fit, self.drop_no_base = fit, drop_no_base
        self.cache: dict = {}

    def leave_one_out(self, cluster) -> tuple[pd.Index, list]:
        """The clusters (in the local code's order: by their first household) and the estimate-only result without
        each in turn; computed once per cluster column (an error too)."""
        if isinstance(cluster, str):
            key = ("column", cluster)
        elif isinstance(cluster, pd.Series) and not isinstance(cluster.index, pd.RangeIndex):
            cluster = cluster[~cluster.index.duplicated()]
            key = ("series", pd.util.hash_pandas_object(cluster, index=True).to_numpy().tobytes())
        else:
            raise EstimationError("a result computed on partitions does not hold its households in this process: give "
                                  "the clusters as the name of a column of the partitions (e.g. 'county') or as a "
                                  "Series indexed by household")
        if key not in self.cache:
            try:
                self.cache[key] = self._runs(cluster)
            except EstimationError as err:
                self.cache[key] = err
        out = self.cache[key]
        if isinstance(out, EstimationError):
            raise out
        return out

    def release(self) -> None:
        """Let the workers free the partitions; the runs made so far stay."""
        self.run = self.states = self.fit = None

    def _runs(self, cluster) -> tuple[pd.Index, list]:
        run = self.run
        if run is None:
            raise EstimationError("this result's partitions were released (release_partitions): re-estimate to run "
                                  "the few-cluster check on another column")
        if not run.alive():
            raise EstimationError("the engine this result was computed on is closed: re-estimate to run the "
                                  "few-cluster check")
        what = cluster if isinstance(cluster, str) else "Series"
        values = run.map(_unit_values, run.parts, self.states, unit=self.unit,
                         cluster=cluster if isinstance(cluster, str) else run.share(cluster))
        summaries = run.run(_values_summary, self.states, values, periods=self.periods,
                            drop_no_base=self.drop_no_base)
        missing = sum(m for m, _ in summaries)
        if missing:
            raise EstimationError(f"{missing} households of the estimate have no cluster in {what!r}: every "
                                  "household needs one")
        firsts = [f for _, f in summaries if len(f)]
        labels = _cluster_order(firsts) if firsts else pd.Index([], dtype=object)
        if len(labels) < 2:
            raise EstimationError("the few-cluster test needs at least two clusters")
        codes = run.map(_value_codes, values, labels=labels)
        others = []
        for g, label in enumerate(labels):
            kept = run.map(_drop_code, self.states, codes, code=g)
            try:
                others.append(self.fit(kept, estimate_only=True))
            except EstimationError as err:
                raise EstimationError(f"the cluster jackknife needs the estimate without each cluster, and without "
                                      f"cluster {label} it cannot be computed ({err})") from None
        return labels, others


class _FewClustersOnPartitions:
    """``few_cluster_test`` of a result computed on partitions: the cluster jackknife re-runs the estimator on the
    partitions without each cluster (on the workers; the driver receives the same sums as for the estimate)."""

    def few_cluster_test(self, cluster, kind: str = "simple", method: str = "jackknife", reps: int = 9999,
                         seed: int = SEED) -> ClusterJackknife:
        """The cluster jackknife of an aggregation's overall estimate (or, for Callaway-Sant'Anna, the event-time
        trend), clustered on ``cluster``: the name of a column of the partitions with one value per household
        (e.g. ``"county"``), or a Series indexed by household. The local ``few_cluster_test``'s numbers;
        ``method="wild"`` is refused (``WILD_ON_PARTITIONS``)."""
        if kind not in self._statistics():
            raise EstimationError(f"kind must be one of {self._statistics()}, not {kind!r}")
        if method not in ("jackknife", "wild"):
            raise EstimationError(f"method must be 'jackknife' or 'wild', not {method!r}")
        if method == "wild":
            raise EstimationError(WILD_ON_PARTITIONS)
        if self._jk is None:
            raise EstimationError("this result keeps no partitions to re-estimate on (it is a leave-one-out run)")
        labels, others = self._jk.leave_one_out(cluster)
        loo = np.array([self._leave_out_statistic(o, kind) for o in others])
        if np.isnan(loo).any():
            raise EstimationError(f"without cluster {labels[int(np.flatnonzero(np.isnan(loo))[0])]} the {kind} "
                                  "statistic is not defined (a term it rests on has no treated unit left): the "
                                  "cluster jackknife cannot be computed")
        return ClusterJackknife(self._statistic(kind), loo)

    def release_partitions(self) -> None:
        """Let the workers free the partitions this result keeps for ``few_cluster_test`` (the leave-one-out runs
        already made stay usable)."""
        if self._jk is not None:
            self._jk.release()


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
class DaskCSResult(_FewClustersOnPartitions, CSResult):
    """A ``CSResult`` from partition sums: ``inf`` holds one row per cluster (cluster sums, ``cluster`` = 0..G-1),
    or at unit level rows whose Gram matrix is the units' (see the module docstring). ``few_cluster_test``: the
    cluster jackknife on the partitions (``_FewClustersOnPartitions``)."""

    Z: np.ndarray | None = field(default=None, repr=False)    # the rows' sums of cohort indicators (per group)
    groups: np.ndarray | None = field(default=None, repr=False)
    unit_level: bool = False
    _jk: _Rerun | None = field(default=None, repr=False, compare=False)

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

    def _without(self, keep):
        raise EstimationError("a result computed on partitions re-estimates on them: few_cluster_test(column, ...)")

    def _overall_for_outcome(self, Y, kinds):
        raise EstimationError(WILD_ON_PARTITIONS)


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
    fit = partial(_cs_from_states, run, periods=periods, quarters=quarters, control=control, base_period=base_period,
                  balanced=balanced)
    out = fit(states, cluster=cluster)
    out._jk = _Rerun(run, states, periods, unit, fit, drop_no_base=False)
    return out


def _cs_from_states(run: _Runner, states: list, periods, quarters, control: str, base_period: str, balanced: bool,
                    cluster: str | None = None, estimate_only: bool = False) -> DaskCSResult:
    """The estimate on laid out partitions; ``estimate_only``: the cells' ATTs without influence functions and with
    the local ``_without``'s checks (a leave-one-out run of the cluster jackknife)."""
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
    if not estimate_only and not any(g > 0 and v[0] for g, v in stats.items()):
        raise EstimationError("no treated unit has a period before its start in the estimation sample "
                              f"({dropped['treated_in_first_period']} were treated in the first period or before"
                              + (f", {dropped['unbalanced_units']} left out for gaps)" if balanced else ")"))
    stats = {g: v for g, v in stats.items() if v[0]}
    lab = _label(quarters)
    if estimate_only:                                   # CSResult._without's checks, then _cells and _result's
        if not any(g > 0 for g in stats) or (control == "never" and 0 not in stats):
            raise EstimationError("no treated or no comparison units left")
        cells, nD, nC, sD, sC = _cs_cells(stats, periods, control, base_period, balanced)
        live = ~cells.reference
        atts = np.where(live, np.divide(sD, nD, out=np.zeros_like(sD), where=live)
                        - np.divide(sC, nC, out=np.zeros_like(sC), where=live), 0.0)
        att_gt = pd.DataFrame({"cohort": [lab(g) for g in cells.g], "time": [lab(t) for t in cells.t],
                               "att": atts, "se": np.full(len(atts), np.nan), "event_time": cells.t - cells.g})
        info = _PanelInfo(periods, quarters, balanced, n, sum(s["observations"] for s in summaries), None, dropped)
        return DaskCSResult(att_gt, None, _CohortSizes({g: v[0] for g, v in stats.items()}, n), cells.g, cells.t, n,
                            None, info, control, [], base_period, cells, groups=np.unique(cells.g))
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
    att_gt = pd.DataFrame({"cohort": [lab(g) for g in cells.g], "time": [lab(t) for t in cells.t],
                           "att": atts, "se": se, "event_time": cells.t - cells.g})
    info = _PanelInfo(periods, quarters, balanced, n, sum(s["observations"] for s in summaries),
                      len(order) if cluster else None, dropped)
    sizes = _CohortSizes({g: v[0] for g, v in stats.items()}, n)
    return DaskCSResult(att_gt, inf, sizes, cells.g, cells.t, n, cl, info, control, [], base_period, cells,
                        Z=Z, groups=groups, unit_level=cluster is None)


# ---------------------------------------------------------------------------------------------------- imputation

@dataclass
class _ImpPart:
    """A partition for the imputation estimator: its units with an untreated period, treated and untreated cells."""

    units: np.ndarray
    Y: np.ndarray
    G: np.ndarray
    cl: np.ndarray | None
    untreated: np.ndarray
    ti: np.ndarray
    tj: np.ndarray
    e: np.ndarray
    no_base: int
    observations: int
    resid0: np.ndarray | None = None
    tau: np.ndarray | None = None
    key: np.ndarray | None = None
    unlinked: int = 0
    order: np.ndarray | None = None    # as ``_Part.order``


def _imp_design(part: _Part, periods) -> _ImpPart:
    """``_identified_design``'s local part: units without an untreated period left out (counted)."""
    obs = part.observed
    treated = (part.G[:, None] > 0) & (periods[None, :] >= part.G[:, None]) & obs
    untreated = obs & ~treated
    no_base = treated.any(axis=1) & ~untreated.any(axis=1)
    keep = ~no_base
    treated, untreated = treated[keep], untreated[keep]
    ti, tj = np.nonzero(treated)
    G = part.G[keep]
    return _ImpPart(part.units[keep], part.Y[keep], G, None if part.cl is None else part.cl[keep], untreated, ti, tj,
                    periods[tj] - G[ti], int(no_base.sum()), int(obs[keep].sum()),
                    order=None if part.order is None else part.order[keep])


def _two_way_parts(M: np.ndarray, by_unit: list[np.ndarray], by_time: list[np.ndarray]):
    """A partition's share of ``TwoWay``: the T x T matrix and, for each right-hand side, the reduced T-vector."""
    Mf = M.astype(float)
    N_i = Mf.sum(axis=1)
    inv = np.where(N_i > 0, 1.0 / np.where(N_i > 0, N_i, 1), 0.0)
    A = np.diag(Mf.sum(axis=0)) - (Mf * inv[:, None]).T @ Mf
    return A, [bt - Mf.T @ (bu * inv) for bu, bt in zip(by_unit, by_time)], Mf, inv


def _solve(A: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """``TwoWay.solve``'s period effects (sum 0) from the summed T x T system."""
    l, *_ = np.linalg.lstsq(np.vstack([A, np.ones((1, A.shape[0]))]), np.append(rhs, 0.0), rcond=None)
    return l


def _imp_stats(part: _ImpPart, events) -> dict:
    """The T x T system of the untreated cells, the outcome's reduced right-hand side, and per event time the
    reduced right-hand side of its treated cells' indicator (any aggregation's weights are combinations of those)."""
    T = part.untreated.shape[1]
    Y0 = np.where(part.untreated, part.Y, 0.0)
    nl = len(part.Y)
    by_unit, by_time = [Y0.sum(axis=1)], [Y0.sum(axis=0)]
    counts = np.zeros((len(events), T))
    for k, h in enumerate(events):
        m = part.e == h
        by_unit.append(np.bincount(part.ti[m], minlength=nl).astype(float))
        by_time.append(np.bincount(part.tj[m], minlength=T).astype(float))
        counts[k] = by_time[-1]
    A, rhs, Mf, _ = _two_way_parts(part.untreated, by_unit, by_time)
    keys = pd.Series(1, index=pd.MultiIndex.from_arrays([part.G[part.ti], part.e])).groupby(level=[0, 1]).sum() \
        if len(part.ti) else pd.Series(dtype="int64")
    return {"A": A, "rhs": np.array(rhs), "link": Mf.T @ Mf, "untreated_t": Mf.sum(axis=0), "counts": counts,
            "keys": keys, "units": nl, "no_base": part.no_base, "observations": part.observations,
            "firsts": _first_units(_Part(part.units, part.Y, part.G, part.cl, {}, order=part.order))}


def _imp_events(part: _ImpPart) -> np.ndarray:
    return np.unique(part.e)


def _imp_fit(part: _ImpPart, l, comp, key_of) -> _ImpPart:
    """``_fit`` with the global period effects: residuals of the untreated cells and each treated cell's effect."""
    part = replace(part)                  # a new state: the one this task was given stays as it was
    Y0 = np.where(part.untreated, part.Y, 0.0)
    Mf = part.untreated.astype(float)
    N_i = Mf.sum(axis=1)
    inv = np.where(N_i > 0, 1.0 / np.where(N_i > 0, N_i, 1), 0.0)
    a = (Y0.sum(axis=1) - Mf @ l) * inv
    fitted = a[:, None] + l[None, :]
    part.resid0 = np.where(part.untreated, part.Y - fitted, 0.0)
    part.tau = part.Y[part.ti, part.tj] - fitted[part.ti, part.tj]
    unit_comp = comp[np.argmax(part.untreated, axis=1)]
    part.unlinked = int(((comp[None, :] != unit_comp[:, None]) & _treated(part)).sum())
    part.key = key_of(part.G[part.ti], part.e)
    return part


def _treated(part: _ImpPart) -> np.ndarray:
    out = np.zeros(part.untreated.shape, dtype=bool)
    out[part.ti, part.tj] = True
    return out


class _KeyOf:
    """Cohort x event-time group as one integer, as ``_identified_design`` numbers them."""

    def __init__(self, cohorts, emin, width):
        self.cohorts, self.emin, self.width = cohorts, emin, width

    def __call__(self, G, e):
        return np.searchsorted(self.cohorts, G) * self.width + (e - self.emin)


def _imp_tau_sums(part: _ImpPart, n_keys: int) -> tuple[np.ndarray, int]:
    return np.bincount(part.key, part.tau, n_keys), part.unlinked


def _imp_scores(part: _ImpPart, weights, lvs, tau_bar, n: int, clustered: bool):
    """Each aggregation's unit-level score (``_estimate`` with ``_v0``), times n: cluster sums or Gram."""
    nl, T = part.untreated.shape
    Mf = part.untreated.astype(float)
    N_i = Mf.sum(axis=1)
    inv = np.where(N_i > 0, 1.0 / np.where(N_i > 0, N_i, 1), 0.0)
    scores = np.zeros((nl, len(weights)))
    for k, (phi, lv, tb) in enumerate(zip(weights, lvs, tau_bar)):
        w = phi(part.e)
        Wsum = np.bincount(part.ti, w, nl)
        av = (Wsum - Mf @ lv) * inv
        v0 = -np.where(part.untreated, av[:, None] + lv[None, :], 0.0)
        scores[:, k] = (v0 * part.resid0).sum(axis=1) + np.bincount(part.ti, w * (part.tau - tb[part.key]), nl)
    scores *= n
    if clustered:
        return _sums_by_cluster(scores, part.cl)
    return scores.T @ scores


class _Phi:
    """An aggregation's weight of a treated cell as a function of its event time."""

    def __init__(self, events, values):
        self.events, self.values = np.asarray(events), np.asarray(values, dtype=float)

    def __call__(self, e):
        return self.values[np.searchsorted(self.events, e)]


@dataclass
class DaskImputationResult(_FewClustersOnPartitions, FewClusterInference):
    """The imputation estimator's aggregations from partition sums (``ImputationResult``'s numbers);
    ``few_cluster_test``: the cluster jackknife on the partitions (``_FewClustersOnPartitions``)."""

    n: int
    panel: _PanelInfo
    cluster: np.ndarray | None
    frames: dict
    influence: dict = field(repr=False)
    tau: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["unit", "time", "cohort", "event_time", "tau"]), repr=False)
    _jk: _Rerun | None = field(default=None, repr=False, compare=False)

    AGGREGATES = ("simple", "dynamic")

    @property
    def spec(self) -> dict:
        return {"estimator": "imputation", **self.panel.spec(), "control": "untreated", "covariates": "",
                "base_period": ""}

    def aggregate(self, kind: str = "simple", horizons: list[int] | None = None) -> pd.DataFrame:
        if kind not in self.AGGREGATES:
            raise EstimationError("the imputation estimator aggregates as 'simple' or 'dynamic'")
        if horizons is not None:
            raise EstimationError("horizons are not available from partition sums: use the local engine")
        return self.frames[kind]

    def overall_influence(self, kind: str = "simple") -> np.ndarray:
        """Rows of the overall estimate's score: cluster sums, or at unit level a square root of the Gram."""
        return self.influence[kind]


def imputation_dask(engine, parts, outcome: str, unit: str, time: str, cohort: str, cluster: str | None = None,
                    balanced: bool = True, covariates: list[str] | None = None) -> DaskImputationResult:
    """``imputation`` on partitions of whole households, on ``engine``'s Dask client (module docstring)."""
    if covariates:
        raise EstimationError("the imputation estimator adjusts for unit and period effects only and takes no "
                              f"covariates ({list(covariates)}); time-invariant ones are absorbed by the unit effects")
    run = _Runner(engine, parts)
    states, periods, quarters = _prepare_dask(run, outcome, unit, time, cohort, cluster, balanced)
    fit = partial(_imp_from_states, run, periods=periods, quarters=quarters, balanced=balanced)
    out = fit(states, cluster=cluster)
    out._jk = _Rerun(run, states, periods, unit, fit, drop_no_base=True)
    return out


def _imp_from_states(run: _Runner, states: list, periods, quarters, balanced: bool, cluster: str | None = None,
                     estimate_only: bool = False) -> DaskImputationResult:
    """The estimate on laid out partitions; ``estimate_only``: the aggregations' estimates without standard errors,
    with the checks of the local ``_result`` on a subset of units (a leave-one-out run of the cluster jackknife)."""
    lab = _label(quarters)
    dropped = {}
    if not estimate_only:
        first = run.run(_cs_stats, states)              # prepare's global checks, on the same summaries
        dropped = _sum_dropped([s["dropped"] for s in first])
        counts = {}
        for s in first:
            for g, v in s["cohorts"].items():
                counts[g] = counts.get(g, 0) + v[0]
        if not any(g > 0 and k for g, k in counts.items()):
            raise EstimationError("no treated unit has a period before its start in the estimation sample "
                                  f"({dropped['treated_in_first_period']} were treated in the first period or before"
                                  + (f", {dropped['unbalanced_units']} left out for gaps)" if balanced else ")"))
        if cluster and len(_cluster_order([s["firsts"] for s in first])) < 2:
            raise EstimationError(f"cluster column {cluster!r} has one value in the sample: clustered standard "
                                  "errors need at least two clusters")
    imp = run.map(_imp_design, states, periods=periods)
    # event times of the treated cells of the units kept (those with an untreated period), as the local design's
    events = np.unique(np.concatenate([np.zeros(0, dtype="int64"), *run.run(_imp_events, imp)]))
    if not len(events):
        raise EstimationError("no treated observations")
    st = run.run(_imp_stats, imp, events=events)
    A = sum(s["A"] for s in st)
    rhs = sum(s["rhs"] for s in st)
    n = sum(s["units"] for s in st)
    ev_counts = sum(s["counts"] for s in st)                    # event times x periods: treated cells
    untreated_t = sum(s["untreated_t"] for s in st)
    dropped["no_untreated_period"] = sum(s["no_base"] for s in st)
    from scipy.sparse.csgraph import connected_components
    _, comp = connected_components(sum(s["link"] for s in st) > 0, directed=False)
    comp[untreated_t == 0] = -1
    empty = (comp < 0) & (ev_counts.sum(axis=0) > 0)
    if empty.any():
        raise EstimationError(
            f"periods {', '.join(str(lab(t)) for t in periods[empty])} have no untreated household, so their "
            "period effects are not identified and no counterfactual can be imputed for them (every unit is treated "
            "by then and none is never treated). Use data with never-treated households, or end the window before "
            f"{lab(periods[empty][0])}.")
    keys = pd.concat([s["keys"] for s in st if len(s["keys"])]).groupby(level=[0, 1]).sum()
    cohorts = np.unique(keys.index.get_level_values(0).to_numpy())
    key_of = _KeyOf(cohorts, int(events.min()), int(events.max() - events.min() + 1))
    n_keys = len(cohorts) * key_of.width
    group_size = np.zeros(n_keys, dtype="int64")
    group_size[key_of(keys.index.get_level_values(0).to_numpy(), keys.index.get_level_values(1).to_numpy())] = keys
    # the aggregations' weights as functions of event time (``ImputationResult.aggregate``)
    n_e = ev_counts.sum(axis=1)
    N1 = n_e.sum()
    kinds = {"simple": [("overall", np.full(len(events), 1.0 / N1))]}
    dyn = [(int(h), np.where(events == h, 1.0 / n_e[k], 0.0)) for k, h in enumerate(events)]
    dyn.append(("overall", np.mean([w for _, w in dyn], axis=0)))
    kinds["dynamic"] = dyn
    l = _solve(A, rhs[0])
    fitted = run.map(_imp_fit, imp, l=l, comp=comp, key_of=key_of)
    tsums = run.run(_imp_tau_sums, fitted, n_keys=n_keys)
    unlinked = sum(u for _, u in tsums)
    if unlinked:
        groups = [", ".join(str(lab(t)) for t in periods[comp == c]) for c in np.unique(comp[comp >= 0])]
        raise EstimationError(
            f"the untreated observations fall into {len(groups)} groups of periods that share no household "
            f"({'; '.join(groups)}): period effects across the groups are not identified, so "
            f"{unlinked} treated observations have no counterfactual. Use a balanced panel or fewer gaps.")
    sumtau = sum(s for s, _ in tsums)
    key_e = np.tile(np.arange(key_of.width) + key_of.emin, len(cohorts))       # event time of each key
    weights, lvs, tau_bar, ests, supported, rows = [], [], [], [], [], []
    for kind, terms in kinds.items():
        for row, values in terms:
            phi = _Phi(events, values)
            weights.append(phi)
            lvs.append(_solve(A, values @ rhs[1:]))
            wk = np.where(np.isin(key_e, events), phi(np.clip(key_e, events.min(), events.max())), 0.0) \
                * (group_size > 0)
            sw, swt = wk * group_size, wk * sumtau
            tau_bar.append(np.divide(swt, sw, out=np.zeros_like(swt), where=sw != 0))
            ests.append(float(swt.sum()))
            used_t = (values[:, None] * ev_counts != 0).any(axis=0)
            supported.append(bool((group_size[wk != 0] >= 2).any() and (untreated_t[used_t] >= 2).all()))
            rows.append((kind, row))
    if estimate_only:
        frames = {kind: frame([r for k, r in rows if k == kind], [e for (k, _), e in zip(rows, ests) if k == kind],
                              np.full(sum(k == kind for k, _ in rows), np.nan), "aggregate") for kind in kinds}
        info = _PanelInfo(periods, quarters, balanced, n, sum(s["observations"] for s in st), None, dropped)
        return DaskImputationResult(n, info, None, frames, {})
    pieces = run.run(_imp_scores, fitted, weights=weights, lvs=lvs, tau_bar=tau_bar, n=n, clustered=bool(cluster))
    if cluster:
        order = _cluster_order(run.run(_imp_firsts, fitted))
        R, cl = _combine_cluster_sums(pieces, order, len(weights)), np.arange(len(order))
    else:
        R, cl, order = _rows_from_gram(sum(pieces)), None, None
    se = se_from_if(R, n, cl)
    se[~np.array(supported)] = np.nan
    frames, influence = {}, {}
    for kind in kinds:
        idx = [i for i, (k, _) in enumerate(rows) if k == kind]
        frames[kind] = frame([rows[i][1] for i in idx], [ests[i] for i in idx], se[idx],
                             "event_time" if kind == "dynamic" else "aggregate")
        influence[kind] = R[:, idx[-1]]
    info = _PanelInfo(periods, quarters, balanced, n, sum(s["observations"] for s in st),
                      len(order) if cluster else None, dropped)
    return DaskImputationResult(n, info, cl, frames, influence)


def _imp_firsts(part: _ImpPart) -> pd.Series:
    return _first_units(_Part(part.units, part.Y, part.G, part.cl, {}, order=part.order))


# ---------------------------------------------------------------------------------------------------- TWFE

@dataclass
class _TwPart:
    """A partition for TWFE: cells kept (``M``), outcome and treatment per cell, cluster labels per unit."""

    M: np.ndarray
    Y: np.ndarray
    D: np.ndarray
    cl: np.ndarray | None
    units: np.ndarray
    dropped: int
    yt: np.ndarray | None = None       # two-way residuals of the outcome and the treatment on M
    dt: np.ndarray | None = None


def _tw_layout(df: pd.DataFrame, periods, outcome, treatment, unit, time, cluster, balanced) -> _TwPart:
    """``twfe``'s checks and layout of one partition's households on the global periods."""
    T = len(periods)
    if not len(df):
        return _TwPart(np.zeros((0, T), dtype=bool), np.zeros((0, T)), np.zeros((0, T)),
                       None if not cluster else np.array([], dtype=object), np.array([], dtype=object), 0)
    rows = validate_rows(df, outcome, unit, time, [treatment, *([cluster] if cluster else [])])
    D = _numbers(df[treatment].astype("float64") if df[treatment].dtype == bool else df[treatment])
    bad = (D != 0) & (D != 1)
    if bad.any():
        raise EstimationError(f"treatment {treatment!r} must be 0/1 (or True/False), not {_examples(df[treatment][bad])}")
    n = len(rows.units)
    tj = np.searchsorted(periods, rows.tcodes)
    keep = np.ones(len(D), dtype=bool)
    dropped = 0
    if balanced:
        full = np.bincount(rows.u, minlength=n) == T
        dropped = int((~full).sum())
        keep = full[rows.u]
    cl = _unit_clusters(df, cluster, rows, n)
    M = np.zeros((n, T), dtype=bool)
    Ym, Dm = np.zeros((n, T)), np.zeros((n, T))
    M[rows.u[keep], tj[keep]] = True
    Ym[rows.u[keep], tj[keep]] = rows.y[keep]
    Dm[rows.u[keep], tj[keep]] = D[keep]
    has = M.any(axis=1)
    return _TwPart(M[has], Ym[has], Dm[has], None if cl is None else cl[has], rows.units[has], dropped)


def _tw_stats(part: _TwPart) -> dict:
    A, rhs, Mf, _ = _two_way_parts(part.M, [part.Y.sum(axis=1), part.D.sum(axis=1)],
                                  [part.Y.sum(axis=0), part.D.sum(axis=0)])
    d = part.D[part.M]
    N_i = part.M.sum(axis=1)
    single = N_i == 1                                 # pyfixest drops singleton fixed effects (fixef_rm="singleton")
    return {"A": A, "rhs": rhs, "cells": int(part.M.sum()), "units": len(part.M), "dropped": part.dropped,
            "dmin": float(d.min()) if len(d) else np.inf, "dmax": float(d.max()) if len(d) else -np.inf,
            "single_units": int(single.sum()), "fit_cells": int(part.M[~single].sum()),
            "period_cells_fit": part.M[~single].sum(axis=0),
            "fit_clusters": set() if part.cl is None else set(part.cl[~single].tolist()),
            "clusters": set() if part.cl is None else set(part.cl.tolist())}


def _tw_residuals(part: _TwPart, l_y, l_d) -> tuple:
    """Two-way residuals of outcome and treatment (``twoway_solve`` with the global period effects)."""
    part = replace(part)
    Mf = part.M.astype(float)
    N_i = Mf.sum(axis=1)
    inv = np.where(N_i > 0, 1.0 / np.where(N_i > 0, N_i, 1), 0.0)
    a_y = (part.Y.sum(axis=1) - Mf @ l_y) * inv
    a_d = (part.D.sum(axis=1) - Mf @ l_d) * inv
    part.yt = np.where(part.M, part.Y - a_y[:, None] - l_y[None, :], 0.0)
    part.dt = np.where(part.M, part.D - a_d[:, None] - l_d[None, :], 0.0)
    return part


def _tw_moments(part: _TwPart) -> tuple[float, float]:
    return float((part.dt * part.yt).sum()), float((part.dt ** 2).sum())


def _tw_scores(part: _TwPart, beta: float, clustered: bool):
    """Each unit's score sum_t d~ (y~ - beta d~): cluster sums, or the sum of squares over units."""
    s = (part.dt * (part.yt - beta * part.dt)).sum(axis=1)
    if clustered:
        return _sums_by_cluster(s, part.cl)
    return float((s ** 2).sum())


@dataclass
class DaskTWFEResult(TWFEResult):
    """``TWFEResult`` made from partition sums (its own type: a result computed on partitions)."""


def twfe_dask(engine, parts, outcome: str, treatment: str, unit: str, time: str, cluster: str | None = None,
              balanced: bool = True) -> DaskTWFEResult:
    """``twfe`` on partitions of whole households: the two-way normal equations summed over partitions (module
    docstring), CRV1 standard errors with pyfixest's small-sample correction as ``twfe`` gets it
    ((N-1)/(N-k) with k the coefficient, the period effects and one for the unit effects nested in the
    clusters, times G/(G-1); N and G without singletons, which pyfixest drops)."""
    run = _Runner(engine, parts)
    scans = run.run(_scan, run.parts, outcome=outcome, unit=unit, time=time,
                    extra=[treatment, *([cluster] if cluster else [])])
    periods, quarters = _global_axis(run, scans, unit, time)
    T = len(periods)
    states = run.map(_tw_layout, run.parts, periods=periods, outcome=outcome, treatment=treatment, unit=unit,
                     time=time, cluster=cluster, balanced=balanced)
    st = run.run(_tw_stats, states)
    clusters = set().union(*(s["clusters"] for s in st)) if cluster else set()
    if cluster and len(clusters) < 2:
        raise EstimationError(f"cluster column {cluster!r} has one value in the sample: clustered standard errors "
                              "need at least two clusters")
    cells = sum(s["cells"] for s in st)
    if cells == 0 or min(s["dmin"] for s in st) == max(s["dmax"] for s in st):
        raise EstimationError(f"{treatment} does not vary: nothing to estimate")
    A = sum(s["A"] for s in st)
    rhs = sum(np.array(s["rhs"]) for s in st)
    l_y, l_d = _solve(A, rhs[0]), _solve(A, rhs[1])
    res = run.map(_tw_residuals, states, l_y=l_y, l_d=l_d)
    mom = run.run(_tw_moments, res)
    dy, dd = sum(m[0] for m in mom), sum(m[1] for m in mom)
    if dd <= 1e-9 * cells:
        raise EstimationError(f"{treatment} is explained exactly by unit and period effects (every treated unit starts "
                              "in the same period and none is never treated, or no unit changes status): two-way "
                              "fixed effects cannot estimate its effect")
    if cells < 10:
        raise EstimationError("too few observations for two-way fixed effects")
    beta = dy / dd
    pieces = run.run(_tw_scores, res, beta=beta, clustered=bool(cluster))
    units = sum(s["units"] for s in st)
    N = sum(s["fit_cells"] for s in st)                     # pyfixest's observations: singletons left out
    fit_units = units - sum(s["single_units"] for s in st)
    fit_periods = int((sum(s["period_cells_fit"] for s in st) > 0).sum())
    if cluster:
        order = pd.Index(sorted(clusters, key=str), dtype=object)
        S = _combine_cluster_sums(pieces, order, 1)[:, 0]
        meat = float((S ** 2).sum())
        G = len(set().union(*(s["fit_clusters"] for s in st)))
    else:
        meat = float(sum(pieces))
        G = fit_units
    # k: the coefficient, the period effects (T - 1) and, for the unit effects nested in the clusters (households
    # are whole within clusters, checked in the layout), one: pyfixest's k_fixef="nonnested", as fixest does
    k = 1 + (fit_periods - 1) + 1
    se = float(np.sqrt((N - 1) / (N - k) * G / (G - 1) * meat) / dd)
    spec = {"estimator": "twfe", "sample": "balanced" if balanced else "unbalanced", "units": int(units),
            "observations": int(cells), "clusters": int(len(clusters)) if cluster else int(units),
            "dropped_unbalanced_units": int(sum(s["dropped"] for s in st)), "control": "all", "covariates": "",
            "base_period": ""}
    from scipy import stats
    q, tval = stats.t.ppf(0.975, G - 1), beta / se          # pyfixest's CRV1: t with G - 1 degrees of freedom
    table = pd.DataFrame({"Estimate": [beta], "Std. Error": [se], "t value": [tval],
                          "Pr(>|t|)": [2 * stats.t.sf(abs(tval), G - 1)], "2.5%": [beta - q * se],
                          "97.5%": [beta + q * se]}, index=pd.Index([treatment], name="Coefficient"))
    return DaskTWFEResult(float(beta), se, table, spec)
