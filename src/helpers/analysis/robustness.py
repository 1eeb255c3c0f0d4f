"""How sure and how robust the headline effect is: sensitivity to parallel-trends violations (Rambachan and
Roth 2023, ``helpers.analysis.sensitivity``) and the power of the pre-start test (Roth 2022,
``helpers.analysis.pretrend_power``), for one program and outcome, as one tidy frame (the ``sensitivity``
artifact). No language, no labels: ``helpers.present.robustness`` turns the frame into a figure and sentences.

The event study the sensitivity is computed on is Callaway-Sant'Anna's with a *universal* base period (every
coefficient compares with the quarter before the start, which is left out as the reference), as R's HonestDiD
recommends for ``did``: ``PRE`` quarters before the start (event times -PRE-1 .. -2) and ``POST`` quarters from
the start (0 .. POST-1). The target is the average effect over those ``POST`` quarters (equal weights). Its
covariance comes from the same influence functions as the standard errors, clustered as the headline.

The frame (columns ``kind, m, lb, ub, value, reason``):

- ``target``: the estimate of the target (value), ``original``: its usual 95% interval (lb, ub);
- ``relative_magnitude``: the robust 95% set (C-LF) for each Mbar in ``MBAR``: post-start violations at most
  Mbar times the largest pre-start one (quarter-to-quarter changes);
- ``smoothness``: the robust 95% set (FLCI) for each M in ``M_STEPS`` times the target's standard error: the
  slope of the violation changes by at most M per quarter;
- ``breakdown_relative_magnitude`` / ``breakdown_smoothness``: the largest Mbar / M at which the set still excludes
  zero (value; 0 when the original interval includes zero);
- ``pretrend_slope_50`` / ``pretrend_slope_80``: the slope (per quarter) of a linear difference in trends that the
  workbook's joint pre-start test (the terms it tests, clustered F) detects with 50% / 80% probability;
- ``refused``: why nothing could be computed (``reason``), e.g. a covariance of lower rank than the number of
  event-time coefficients when there are few clusters.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from helpers.analysis import pretrend_power as pp
from helpers.analysis.construct import build_panel
from helpers.analysis.effects import callaway_santanna
from helpers.analysis.effects.panel import covariance_from_if as covariance
from helpers.analysis.program_effects import estimation_sample, headline_fit
from helpers.analysis.sensitivity import SensitivityError, breakdown, honest_did, honest_did_original
from helpers.config import Paths
from helpers.store.memory import release

PRE, POST = 4, 4                      # event times -5..-2 (reference -1 left out) and 0..3
MBAR = (0.0, 0.5, 1.0, 1.5, 2.0)      # relative magnitudes shown
M_STEPS = (0.0, 0.25, 0.5, 0.75, 1.0)  # smoothness, in standard errors of the target
LEVEL = 0.95
GRID_SD, GRID_POINTS = 40, 2001       # the theta grid of the relative-magnitudes sets: target and 0 +- 40 SE


def event_study(cs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(event times, coefficients, covariance) of a universal-base Callaway-Sant'Anna event study, the reference
    period left out."""
    dyn = cs.aggregate("dynamic")
    inf = cs._agg["dynamic"][1][:, :-1]
    times = dyn.index[:-1].astype(int).to_numpy()
    keep = times != -1
    return times[keep], dyn["att"].to_numpy()[:-1][keep], covariance(inf[:, keep], cs.n, cs.cluster)


def _row(kind, m=np.nan, lb=np.nan, ub=np.nan, value=np.nan, reason="", code=""):
    return {"kind": kind, "m": float(m), "lb": float(lb), "ub": float(ub), "value": float(value), "reason": reason,
            "code": code}


def sensitivity(cs_universal, cs_varying=None) -> pd.DataFrame:
    """The frame described in the module docstring, from a universal-base Callaway-Sant'Anna result (and the
    headline's varying-base result, whose pre-start test the power is about)."""
    times, beta, sigma = event_study(cs_universal)
    pre = [e for e in range(-PRE - 1, -1) if e in set(times)]
    post = [e for e in range(0, POST) if e in set(times)]
    clusters = None if cs_universal.cluster is None else int(cs_universal.cluster.max()) + 1
    rows = [_row("clusters", value=np.inf if clusters is None else clusters)]
    power = power_rows(cs_varying) if cs_varying is not None else []      # the pre-start test's power, refused or not
    if not pre or not post:
        return pd.DataFrame(rows + [_row("refused", value=len(pre), m=len(post), code="window",
                                         reason=f"the event study has {len(pre)} pre-start and {len(post)} post-start "
                                                "quarters in the window; at least one of each is needed")] + power)
    # the pre-start test's rule: a term whose treated side rests on fewer than MIN_TERM_DF + 1 households has no
    # usable variance (cohorts of one or two): the sensitivity analysis is not computed on it either
    terms = cs_universal.pretest_terms()
    weak = {int(t) for t, w in zip(terms["times"], terms["weak"]) if w}
    if weak & set(pre):
        return pd.DataFrame(rows + [_row("refused", value=len(weak & set(pre)), code="few_treated",
                                         reason="pre-start terms rest on too few treated households: "
                                                f"{sorted(weak & set(pre))}")] + power)
    idx = [int(np.flatnonzero(times == e)[0]) for e in pre + post]
    b, s = beta[idx], sigma[np.ix_(idx, idx)]
    l_vec = np.full(len(post), 1.0 / len(post))
    target = float(l_vec @ b[len(pre):])
    sd = float(np.sqrt(l_vec @ s[len(pre):, len(pre):] @ l_vec))
    grid = dict(grid_lb=min(0.0, target) - GRID_SD * sd, grid_ub=max(0.0, target) + GRID_SD * sd,
                grid_points=GRID_POINTS)
    try:
        lo, hi = honest_did_original(b, s, len(pre), len(post), LEVEL, l_vec)
        rows += [_row("target", value=target), _row("original", lb=lo, ub=hi),
                 _row("window", value=len(pre), reason=f"pre {pre[0]}..{pre[-1]}, post {post[0]}..{post[-1]}")]
        with warnings.catch_warnings(record=True) as caught:        # a set reaching the grid's end says so
            warnings.simplefilter("always", RuntimeWarning)
            rm = honest_did(b, s, len(pre), len(post), "relative_magnitude", list(MBAR), LEVEL, l_vec, **grid)
        open_ended = {float(m) for m in MBAR if any(f"Mbar={m:g} " in str(w.message) for w in caught)}
        for m, lb, ub in rm[["m", "lb", "ub"]].itertuples(index=False):
            rows.append(_row("relative_magnitude", m, lb, ub, reason="grid_end" if m in open_ended else ""))
        for m, lb, ub in honest_did(b, s, len(pre), len(post), "smoothness", [k * sd for k in M_STEPS], LEVEL, l_vec)[
                ["m", "lb", "ub"]].itertuples(index=False):
            rows.append(_row("smoothness", m, lb, ub))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            rows.append(_row("breakdown_relative_magnitude",
                             value=breakdown(b, s, len(pre), len(post), "relative_magnitude", LEVEL, l_vec, **grid)))
        rows.append(_row("breakdown_smoothness", value=breakdown(b, s, len(pre), len(post), "smoothness", LEVEL, l_vec)))
    except SensitivityError as err:
        rank = np.linalg.matrix_rank(s / np.sqrt(np.outer(np.diag(s), np.diag(s))), tol=1e-10)
        rows = rows[:1] + [_row("refused", value=rank, m=len(pre) + len(post), code="rank", reason=str(err))]
    return pd.DataFrame(rows + power)


def power_rows(cs) -> list[dict]:
    """The slopes of a linear difference in trends that the headline's joint pre-start test detects with 50% and
    80% probability (its tested terms and their covariance; the clustered F when clustered)."""
    t = cs.pretest_terms()
    keep = ~t["weak"]
    times = t["times"][keep]
    if len(times) == 0:
        return [_row("pretrend_slope_refused", code="no_terms", reason="no pre-start term to test")]
    sigma = covariance(t["inf"][:, keep], cs.n, cs.cluster)
    clusters = None if cs.cluster is None else int(cs.cluster.max()) + 1
    if clusters is not None and clusters - 1 <= len(times):
        return [_row("pretrend_slope_refused", value=clusters, m=len(times), code="few_clusters",
                     reason=f"{clusters} clusters are too few to test {len(times)} terms")]
    try:
        out = []
        for power in (0.5, 0.8):
            slope = pp.slope_for_power(sigma, times, power, "wald", base_period="varying", clusters=clusters)
            out.append(_row(f"pretrend_slope_{int(power * 100)}", m=power, value=slope))
        return out
    except ValueError as err:
        return [_row("pretrend_slope_refused", code="other", reason=str(err))]


def sensitivity_frame(quarter: str, paths: Paths | None = None, program: str = "any", outcome: str = "income_pc",
                      control: str = "not_yet", covariates: str = "", cluster: str = "village",
                      balanced: bool = True) -> pd.DataFrame:
    """The ``sensitivity`` artifact: the frame of ``sensitivity`` for the program and outcome with the headline's
    options (sample, control, covariates, cluster). The headline's own fit is the varying-base result when the
    effects artifact made it in this process (``program_effects.headline_fit``), else it is fitted here."""
    panel = build_panel(paths, quarter, balanced=balanced)
    covs = [c.strip() for c in covariates.split(",") if c.strip()] or None
    d = estimation_sample(panel, program, outcome, covs, cluster)
    kw = dict(control=control, covariates=covs, cluster=cluster or None, balanced=panel.balanced)
    universal = callaway_santanna(d, outcome, "household_id", "time", "cohort", base_period="universal", **kw)
    # the varying-base fit is the headline estimate's: the one the effects artifact made in this process, when it did
    varying = headline_fit(panel, program, outcome, control, covs, cluster)
    if varying is None:
        varying = callaway_santanna(d, outcome, "household_id", "time", "cohort", **kw)
    out = sensitivity(universal, varying)
    out.insert(0, "outcome", outcome)
    out.insert(0, "program", program)
    del universal, varying, d
    release()
    return out
