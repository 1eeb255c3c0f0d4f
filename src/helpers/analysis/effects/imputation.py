"""Borusyak, Jaravel and Spiess (2024): the imputation estimator with unit and period effects.

Unit and period effects are estimated on untreated observations by solving the T x T reduced
normal equations (no dummy matrix), so memory grows with units x periods only; each treated
observation's effect is its outcome minus the imputed untreated outcome. Conservative
standard errors from the estimator's linear weights.

The imputed counterfactual of a treated observation rests on its period's effect, and that
is identified only if some untreated household is observed in that period and linked to the
household's own untreated periods. The estimator refuses designs where it is not (everyone
treated by some period and no never-treated units, or untreated observations that split into
groups of periods sharing no household), naming the periods.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from helpers.analysis.effects.few_clusters import FewClusterInference
from helpers.analysis.effects.panel import EstimationError, Panel, TwoWay, frame, period_components, prepare, se_from_if


@dataclass
class _Design:
    """Which cells are treated and untreated; the cohort x event-time group of each treated cell."""

    untreated: np.ndarray     # n x T
    ti: np.ndarray            # unit index of each treated observation
    tj: np.ndarray            # period index of each treated observation
    e: np.ndarray             # event time of each treated observation
    key: np.ndarray           # cohort x event-time group of each treated observation
    n_keys: int
    _two_way: TwoWay | None = field(default=None, repr=False)

    @property
    def two_way(self) -> TwoWay:
        """The two-way system of the untreated cells, set up once for the outcome and every weight vector."""
        if self._two_way is None:
            self._two_way = TwoWay(self.untreated)
        return self._two_way


def _identified_design(p: Panel) -> tuple[Panel, _Design]:
    """Drop units with no untreated observation (nothing to impute from; counted), then refuse
    treated cells whose period effect is not identified from untreated observations."""
    treated = p.treated
    untreated = p.observed & ~treated
    no_base = treated.any(axis=1) & ~untreated.any(axis=1)
    p.dropped["no_untreated_period"] = int(no_base.sum())
    if no_base.any():
        p = p.subset(~no_base)
        treated, untreated = treated[~no_base], untreated[~no_base]
    if not treated.any():
        raise EstimationError("no treated observations")
    comp = period_components(untreated)
    empty = (comp < 0) & treated.any(axis=0)
    if empty.any():
        raise EstimationError(
            f"periods {', '.join(str(p.label(t)) for t in p.periods[empty])} have no untreated household, so their "
            "period effects are not identified and no counterfactual can be imputed for them (every unit is treated "
            "by then and none is never treated). Use data with never-treated households, or end the window before "
            f"{p.label(p.periods[empty][0])}.")
    unit_comp = comp[np.argmax(untreated, axis=1)]
    unlinked = treated & (comp[None, :] != unit_comp[:, None])
    if unlinked.any():
        groups = [", ".join(str(p.label(t)) for t in p.periods[comp == c]) for c in np.unique(comp[comp >= 0])]
        raise EstimationError(
            f"the untreated observations fall into {len(groups)} groups of periods that share no household "
            f"({'; '.join(groups)}): period effects across the groups are not identified, so "
            f"{int(unlinked.sum())} treated observations have no counterfactual. Use a balanced panel or fewer gaps.")
    ti, tj = np.nonzero(treated)
    e = p.periods[tj] - p.G[ti]
    cohort = np.searchsorted(np.unique(p.G[ti]), p.G[ti])            # cohort x event-time group as one integer
    key = cohort * (e.max() - e.min() + 1) + (e - e.min())
    return p, _Design(untreated, ti, tj, e, key, int(key.max()) + 1 if len(key) else 0)


def _fit(d: _Design, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Residuals of the untreated cells (0 elsewhere) and the effect of each treated cell, for outcome ``Y``."""
    Y0 = np.where(d.untreated, Y, 0.0)
    a, l = d.two_way.solve(Y0.sum(axis=1), Y0.sum(axis=0))
    fitted = a[:, None] + l[None, :]
    resid0 = np.where(d.untreated, Y - fitted, 0.0)
    return resid0, Y[d.ti, d.tj] - fitted[d.ti, d.tj]


@dataclass
class ImputationResult(FewClusterInference):
    """Imputed treatment effects per treated observation, aggregated with conservative SEs."""

    tau: pd.DataFrame               # unit, time, event_time, cohort, tau for treated observations
    n: int
    panel: Panel
    cluster: np.ndarray | None
    design: _Design = field(repr=False)
    resid0: np.ndarray = field(repr=False)
    tau_vec: np.ndarray = field(repr=False)
    _agg: dict = field(default_factory=dict, repr=False)

    AGGREGATES = ("simple", "dynamic")

    @property
    def spec(self) -> dict:
        """The sample and specification this result was estimated on."""
        return {"estimator": "imputation", **self.panel.spec(), "control": "untreated",
                "covariates": "", "base_period": ""}

    def _v0(self, w: np.ndarray) -> np.ndarray:
        """Weights of the untreated cells implied by treated weights ``w`` (BJS: v0 = -Z0 (Z0'Z0)^-1 Z1'w)."""
        d = self.design
        n, T = d.untreated.shape
        W = np.zeros((n, T))
        W[d.ti, d.tj] = w
        av, lv = d.two_way.solve(W.sum(axis=1), W.sum(axis=0))
        return -np.where(d.untreated, av[:, None] + lv[None, :], 0.0)

    def _estimate(self, w, v0, resid0, tau) -> tuple[float, np.ndarray]:
        """Estimate and unit-level score: untreated residuals times their weights, plus treated residuals
        around their weighted cohort x event-time means."""
        d = self.design
        sw = np.bincount(d.key, w, d.n_keys)
        swt = np.bincount(d.key, w * tau, d.n_keys)
        tau_bar = np.divide(swt, sw, out=np.zeros_like(swt), where=sw != 0)[d.key]
        score = (v0 * resid0).sum(axis=1) + np.bincount(d.ti, w * (tau - tau_bar), len(resid0))
        return float((w * tau).sum()), score

    def _supported(self, w: np.ndarray) -> bool:
        """Whether the variance of the estimate with weights ``w`` can be estimated: some cohort x event-time
        group it uses holds two treated units or more (treated residuals are taken around those groups' means,
        so a group of one adds no variance), and every period it imputes has at least two untreated units
        (with one, that unit's residual is zero and the period effect's error never enters the variance)."""
        d = self.design
        used = w != 0
        group_size = np.bincount(d.key, minlength=d.n_keys)          # treated units per cohort x event time
        return bool((group_size[np.unique(d.key[used])] >= 2).any()
                    and (d.untreated.sum(axis=0)[np.unique(d.tj[used])] >= 2).all())

    def aggregate(self, kind: str = "simple", horizons: list[int] | None = None) -> pd.DataFrame:
        """``simple`` (all treated observations equally) or ``dynamic`` (by event time, with the
        average over event times >= 0 as overall, like did's dynamic aggregation). A term resting on
        one treated unit, or imputing a period from one untreated unit, has no standard error (NaN)."""
        if kind not in self.AGGREGATES:
            raise EstimationError("the imputation estimator aggregates as 'simple' or 'dynamic'")
        if kind in self._agg and horizons is None:
            return self._agg[kind][0]
        e = self.design.e
        weights, rows = [], []
        if kind == "simple":
            weights.append(np.full(len(e), 1.0 / len(e)))
            rows.append("overall")
        else:
            if horizons is not None and not set(horizons) <= set(np.unique(e).tolist()):
                raise EstimationError(f"horizons {sorted(set(horizons) - set(np.unique(e).tolist()))} have no treated "
                                      f"observation; event times in the data: {sorted(np.unique(e).tolist())}")
            for h in (sorted(np.unique(e)) if horizons is None else horizons):
                w = (e == h).astype(float)
                weights.append(w / w.sum())
                rows.append(int(h))
            weights.append(np.mean(weights, axis=0))
            rows.append("overall")
        if self.resid0 is None:                  # an estimate-only result (the cluster jackknife)
            out = frame(rows, [float(w @ self.tau_vec) for w in weights], np.full(len(rows), np.nan), "aggregate")
            self._agg[kind] = (out, None, weights[-1], None)
            return out
        ests, scores = [], []
        for w in weights:
            est, score = self._estimate(w, self._v0(w), self.resid0, self.tau_vec)
            ests.append(est)
            scores.append(score)
        score_mat = np.column_stack(scores)
        se = se_from_if(score_mat * self.n, self.n, self.cluster)
        se[[not self._supported(w) for w in weights]] = np.nan
        out = frame(rows, ests, se, "event_time" if kind == "dynamic" else "aggregate")
        if horizons is None:
            self._agg[kind] = (out, score_mat[:, -1] * self.n, weights[-1], None)
        return out

    def overall_influence(self, kind: str = "simple") -> np.ndarray:
        self.aggregate(kind)
        return self._agg[kind][1]

    def _without(self, keep: np.ndarray) -> "ImputationResult":
        """The same estimator on the units in ``keep`` (the cluster jackknife)."""
        return _result(self.panel.subset(keep, clustered=False), influence=False)

    def _overall_for_outcome(self, Y: np.ndarray, kinds) -> dict:
        """Overall estimate and influence function of each aggregation for another outcome on the same design."""
        resid0, tau = _fit(self.design, Y)
        out = {}
        for k in kinds:
            self.aggregate(k)
            frame_, psi, w, v0 = self._agg[k]
            if v0 is None:
                v0 = self._v0(w)
                self._agg[k] = (frame_, psi, w, v0)
            est, score = self._estimate(w, v0, resid0, tau)
            out[k] = (est, score * self.n)
        return out


def imputation(data: pd.DataFrame, outcome: str, unit: str, time: str, cohort: str,
               cluster: str | None = None, balanced: bool = True, covariates: list[str] | None = None) -> ImputationResult:
    """Borusyak-Jaravel-Spiess imputation estimator with unit and period fixed effects.

    Fixed effects are estimated on untreated observations (never treated, and treated units
    before their start); each treated observation's effect is its outcome minus the imputed
    untreated outcome. Standard errors are BJS's conservative ones, from the estimator's
    linear weights and residuals (treated residuals around cohort x event-time means),
    unit level or clustered on ``cluster``. ``balanced=False`` keeps units with gaps (the
    fixed effects use every untreated cell observed). Units with no untreated observation are
    left out (counted in ``spec``); a design in which some treated period has no untreated
    household is refused (module docstring). ``covariates`` are refused: this estimator adjusts
    for unit and period effects only. Memory is O(units x periods).
    """
    if covariates:
        raise EstimationError("the imputation estimator adjusts for unit and period effects only and takes no "
                              f"covariates ({list(covariates)}); time-invariant ones are absorbed by the unit effects")
    return _result(prepare(data, outcome, unit, time, cohort, None, cluster, balanced))


def _result(p: Panel, influence: bool = True) -> ImputationResult:
    """A result from a panel; with ``influence=False`` estimates only (no residuals kept, no standard errors)."""
    p, d = _identified_design(p)
    resid0, tau_vec = _fit(d, p.Y)
    resid0 = resid0 if influence else None
    labels = np.array([p.label(t) for t in p.periods], dtype=object)     # cohorts are periods of the window
    tau = pd.DataFrame({"unit": p.units[d.ti], "time": labels[d.tj], "cohort": labels[np.searchsorted(p.periods, p.G[d.ti])],
                        "event_time": d.e, "tau": tau_vec}) if influence else pd.DataFrame()
    return ImputationResult(tau, len(p.Y), p, p.cluster, d, resid0, tau_vec)
