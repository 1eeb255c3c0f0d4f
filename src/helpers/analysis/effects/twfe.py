"""The naive two-way fixed-effects regression (pyfixest), with the same input checks as the robust estimators."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from helpers.analysis.effects.panel import EstimationError, _examples, _numbers, frame, twoway_solve, unit_constant, validate_rows


@dataclass
class TWFEResult:
    coef: float
    se: float
    table: pd.DataFrame
    spec: dict = field(default_factory=dict)

    def aggregate(self, kind: str = "simple") -> pd.DataFrame:
        if kind != "simple":
            raise EstimationError("TWFE gives one coefficient: aggregate('simple')")
        return frame(["overall"], [self.coef], [self.se], "aggregate")


def twfe(data: pd.DataFrame, outcome: str, treatment: str, unit: str, time: str,
         cluster: str | None = None, balanced: bool = True) -> TWFEResult:
    """Two-way fixed effects: outcome on a 0/1 treatment with unit and period effects (pyfixest),
    CRV1 standard errors by ``cluster`` (fixest's small-sample correction), or by unit.

    The rows are checked as for the robust estimators (finite outcome, one row per unit and
    period, whole periods); ``balanced`` (default, as theirs) keeps only units seen in every
    period. A treatment that unit and period effects explain exactly (everyone starts in the
    same period and no unit is never treated, or no unit changes status) is refused."""
    import pyfixest as pf

    rows = validate_rows(data, outcome, unit, time, [treatment, *([cluster] if cluster else [])])
    D = _numbers(data[treatment].astype("float64") if data[treatment].dtype == bool else data[treatment])
    bad = (D != 0) & (D != 1)
    if bad.any():
        raise EstimationError(f"treatment {treatment!r} must be 0/1 (or True/False), not {_examples(data[treatment][bad])}")
    n, T = len(rows.units), len(rows.periods)
    keep_rows = np.ones(len(D), dtype=bool)
    dropped = 0
    if balanced:
        full = np.bincount(rows.u, minlength=n) == T
        dropped = int((~full).sum())
        keep_rows = full[rows.u]
    cl = None
    if cluster:
        if data[cluster].isna().any():
            raise EstimationError(f"cluster column {cluster!r} has {int(data[cluster].isna().sum())} missing values")
        codes = pd.factorize(data[cluster])[0]
        unit_constant(codes, rows.u, n, f"cluster column {cluster!r} changes within a unit; clusters must contain whole units")
        cl = codes[keep_rows]
        if len(np.unique(cl)) < 2:
            raise EstimationError(f"cluster column {cluster!r} has one value in the sample: clustered standard errors "
                                  "need at least two clusters")
    M = np.zeros((n, T), dtype=bool)
    Dm = np.zeros((n, T))
    if keep_rows.all():
        M[rows.u, rows.tj] = True
        Dm[rows.u, rows.tj] = D
    else:
        M[rows.u[keep_rows], rows.tj[keep_rows]] = True
        Dm[rows.u[keep_rows], rows.tj[keep_rows]] = D[keep_rows]
    if Dm[M].min() == Dm[M].max():
        raise EstimationError(f"{treatment} does not vary: nothing to estimate")
    a, l = twoway_solve(M, Dm.sum(axis=1), Dm.sum(axis=0))
    if (np.where(M, Dm - a[:, None] - l[None, :], 0.0) ** 2).sum() <= 1e-9 * M.sum():
        raise EstimationError(f"{treatment} is explained exactly by unit and period effects (every treated unit starts "
                              "in the same period and none is never treated, or no unit changes status): two-way "
                              "fixed effects cannot estimate its effect")
    if keep_rows.sum() < 10:
        raise EstimationError("too few observations for two-way fixed effects")
    # pyfixest on validated numbers under plain names, the outcome scaled to unit spread (its demeaning
    # converges to a tolerance that an outcome in the trillions never meets); coefficient scaled back
    pick = (lambda a: a) if keep_rows.all() else (lambda a: a[keep_rows])  # noqa: E731
    y = pick(rows.y)
    scale = float(np.std(y)) or 1.0
    columns = {"y": y / scale, "d": pick(D), "u": pick(rows.u), "t": pick(rows.tj)}
    if cl is not None:
        columns["c"] = cl
    d = pd.DataFrame(columns, copy=False)
    fit = pf.feols("y ~ d | u + t", d, vcov={"CRV1": "c" if cl is not None else "u"},
                   copy_data=False, store_data=False, lean=True)
    tidy = fit.tidy().rename(index={"d": treatment})
    tidy[["Estimate", "Std. Error", "2.5%", "97.5%"]] *= scale
    coef, se = float(tidy.loc[treatment, "Estimate"]), float(tidy.loc[treatment, "Std. Error"])
    units_kept = int(M.any(axis=1).sum())
    spec = {"estimator": "twfe", "sample": "balanced" if balanced else "unbalanced", "units": units_kept,
            "observations": int(M.sum()), "clusters": int(len(np.unique(cl))) if cl is not None else units_kept,
            "dropped_unbalanced_units": dropped, "control": "all", "covariates": "", "base_period": ""}
    return TWFEResult(coef, se, tidy, spec)
