"""The faster ways of computing the city-scale run's results give the same numbers as the straightforward ones.

docs/performance.md ("After issue 13"): the quantile effects' bootstrap on shared sorted blocks and ranks, the
estimators' cells on shared masks and contiguous periods, the imputation estimator's two-way system set up once,
the sensitivity analysis and the power simulation starting from the headline's own fit, earned income estimated
before the page's outcome, the below-line estimates freed once summarized, the processed table hashed once per
version. Each is checked here against the computation it replaced, exactly (the same floating-point numbers),
except where a number never was reproducible (TWFE: pyfixest's last bits vary between runs of the same code).
"""
from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from helpers.analysis import distribution as dist
from helpers.analysis.effects.panel import TwoWay, prepare, twoway_solve

cs_module = sys.modules["helpers.analysis.effects.callaway_santanna"]
Q = "2022Q2"


# ---- reference implementations: the code as it was before the faster one --------------------------------------
def _reference_cic(Y, G, periods, control, w, taus):
    """Changes-in-changes cell by cell (every cell's comparison households sorted and summed on its own, the pooled
    counterfactuals sorted in every draw): observed and counterfactual percentiles and the pooled weight."""
    y1, y0, wts = [], [], []
    for g in np.unique(G[G > 0]):
        jg = int(np.searchsorted(periods, g))
        if jg == 0 or jg >= len(periods) or periods[jg] != g:
            continue
        jb = jg - 1
        for jt in range(jg, len(periods)):
            t = periods[jt]
            both = ~np.isnan(Y[:, jb]) & ~np.isnan(Y[:, jt])
            tr = np.flatnonzero((G == g) & both)
            comp = (G == 0) if control == "never" else ((G == 0) | (G > t))
            cu = np.flatnonzero(comp & both)
            if not len(tr) or not len(cu):
                continue
            ob, ot = np.argsort(Y[cu, jb], kind="stable"), np.argsort(Y[cu, jt], kind="stable")
            tr = tr[np.argsort(Y[tr, jb], kind="stable")]
            cb_vals = Y[cu[ob], jb]
            cb, ct = np.cumsum(w[cu[ob]]), np.cumsum(w[cu[ot]])
            wb, wt = int(cb[-1]), int(ct[-1])
            if wb == 0 or wt == 0:
                continue
            j = np.searchsorted(cb_vals, Y[tr, jb], side="right")
            below = np.where(j > 0, cb[np.maximum(j - 1, 0)], 0)
            k = np.searchsorted(ct * wb, np.maximum(below * wt, 1), side="left")
            y0.append(Y[cu[ot], jt][np.minimum(k, len(cu) - 1)])
            y1.append(Y[tr, jt])
            wts.append(w[tr])
    if not y0:
        return np.full(len(taus), np.nan), np.full(len(taus), np.nan), 0
    y1, y0, wts = np.concatenate(y1), np.concatenate(y0), np.concatenate(wts)

    def quantiles(values):
        order = np.argsort(values, kind="stable")
        cw = np.cumsum(wts[order])
        if not len(cw) or cw[-1] <= 0:
            return np.full(len(taus), np.nan)
        k = np.searchsorted(cw, taus * cw[-1] * (1 - 1e-12), side="left")
        return values[order][np.minimum(k, len(values) - 1)]

    return quantiles(y1), quantiles(y0), int(wts.sum())


def _reference_fit_cells(p, cells, control, influence=True):
    """Callaway-Sant'Anna's cells with the masks made afresh for every cell and the outcome read by columns."""
    n = len(p.Y)
    never, observed = p.G == 0, p.observed
    atts = np.zeros(len(cells.g))
    inf_mat = np.zeros((n, len(cells.g)), order="F") if influence else None
    for c in np.flatnonzero(~cells.reference):
        j, b = cells.j[c], cells.b[c]
        D, C = cs_module._groups(p, cells.g[c], j, b, control, never)
        if not p.balanced:
            both = observed[:, j] & observed[:, b]
            D, C = D & both, C & both
        dy = p.Y[:, j] - p.Y[:, b]
        if p.X is None:
            dyD, dyC = dy[D], dy[C]
            mD, mC = dyD.mean(), dyC.mean()
            atts[c] = mD - mC
            if influence:
                inf = inf_mat[:, c]
                inf[D] = (dyD - mD) * (n / len(dyD))
                inf[C] = -(dyC - mC) * (n / len(dyC))
        else:
            idx = np.flatnonzero(D | C)
            atts[c], inf1 = cs_module._cell_reg(dy[idx], D[idx], p.X[idx, min(j, b)])
            if influence:
                inf_mat[:, c][idx] = inf1 * n / len(idx)
    return atts, inf_mat


def _reference_twoway(M, values_by_unit, values_by_time):
    Mf = M.astype(float)
    N_i = Mf.sum(axis=1)
    inv = np.where(N_i > 0, 1.0 / np.where(N_i > 0, N_i, 1), 0.0)
    A = np.diag(Mf.sum(axis=0)) - (Mf * inv[:, None]).T @ Mf
    rhs = values_by_time - Mf.T @ (values_by_unit * inv)
    l, *_ = np.linalg.lstsq(np.vstack([A, np.ones((1, A.shape[0]))]), np.append(rhs, 0.0), rcond=None)
    return (values_by_unit - Mf @ l) * inv, l


# ---- panels ----------------------------------------------------------------------------------------------------
def _panel(n=900, T=7, seed=0, gaps=0.0, ties=False, covariate=False) -> pd.DataFrame:
    """Staggered starts over T periods, never-treated households, villages; with ``gaps`` a share of household-
    periods missing, with ``ties`` incomes rounded to 50 so that many are equal."""
    rng = np.random.default_rng(seed)
    g = rng.choice([0, 3, 4, 5, 6], size=n, p=[0.4, 0.15, 0.15, 0.15, 0.15])
    level = rng.normal(8, 0.5, n)
    rows = []
    for t in range(1, T + 1):
        y = np.exp(level + 0.03 * t + rng.normal(0, 0.3, n)) + np.where((g > 0) & (t >= g), 150.0, 0.0)
        if ties:
            y = np.round(y / 50) * 50
        frame = pd.DataFrame({"household_id": np.arange(n), "time": t, "cohort": g, "village": np.arange(n) % 23,
                              "income_pc": y})
        if covariate:
            frame["household_size"] = rng.integers(1, 6, n).astype(float)
        rows.append(frame)
    data = pd.concat(rows, ignore_index=True)
    if gaps:
        data = data[rng.random(len(data)) > gaps]
    return data.reset_index(drop=True)


CIC_CASES = [dict(control="not_yet"), dict(control="never"), dict(control="not_yet", ties=True),
             dict(control="not_yet", gaps=0.08), dict(control="never", gaps=0.08, ties=True)]


@pytest.mark.parametrize("case", CIC_CASES, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_the_quantile_bootstrap_on_shared_blocks_and_ranks_is_the_cell_by_cell_computation(case):
    case = dict(case)
    control = case.pop("control")
    gaps = case.get("gaps", 0.0)
    data = _panel(seed=len(CIC_CASES), **case)
    p = prepare(data, "income_pc", "household_id", "time", "cohort", cluster="village", balanced=not gaps)
    design = dist._Design(p.Y, p.G, p.periods, control)
    taus = np.r_[dist.QUANTILES, dist.GAP, 0.9]
    rng = np.random.default_rng(4)
    n_cl = int(p.cluster.max()) + 1
    weights = [np.ones(len(p.Y), dtype="int64")]
    weights += [rng.multinomial(n_cl, np.full(n_cl, 1.0 / n_cl))[p.cluster].astype("int64") for _ in range(40)]
    few = np.zeros(n_cl, dtype="int64")
    few[[0, 1]] = [n_cl - 1, 1]                       # most cells' comparison households drawn zero times
    weights.append(few[p.cluster])
    for w in weights:
        got, want = dist._estimate(design, w, taus), _reference_cic(p.Y, p.G, p.periods, control, w, taus)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
        assert got[2] == want[2]
    if not gaps and control == "not_yet":             # blocks shared between a cohort's cells: fewer than cells
        assert len(design.block_units) < len(design.cells)


def test_changes_in_changes_frame_is_unchanged_by_the_faster_bootstrap():
    """The frame of changes_in_changes equals the one made with the cell-by-cell bootstrap (reference above)."""
    data = _panel(seed=9)
    out = dist.changes_in_changes(data, "income_pc", "household_id", "time", "cohort", cluster="village", reps=49)
    p = prepare(data, "income_pc", "household_id", "time", "cohort", cluster="village")
    taus = np.r_[dist.QUANTILES, dist.GAP]
    q1, q0, _ = _reference_cic(p.Y, p.G, p.periods, "not_yet", np.ones(len(p.Y), dtype="int64"), taus)
    np.testing.assert_array_equal(out["qtt"].to_numpy(), (q1 - q0)[:3])
    rng = np.random.default_rng(dist.SEED)
    n_cl = int(p.cluster.max()) + 1
    boot = []
    for _ in range(49):
        draws = rng.multinomial(n_cl, np.full(n_cl, 1.0 / n_cl))
        b1, b0, _ = _reference_cic(p.Y, p.G, p.periods, "not_yet", draws[p.cluster].astype("int64"), taus)
        boot.append(b1[:3] - b0[:3])
    np.testing.assert_array_equal(out["se"].to_numpy(), np.array(boot).std(axis=0, ddof=1))


FIT_CASES = [dict(control="not_yet", base_period="varying"), dict(control="never", base_period="varying"),
             dict(control="not_yet", base_period="universal"), dict(control="not_yet", gaps=0.05),
             dict(control="not_yet", covariate=True), dict(control="never", gaps=0.05, covariate=True)]


@pytest.mark.parametrize("case", FIT_CASES, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_callaway_santanna_cells_on_shared_masks_are_the_cells_made_afresh(case):
    case = dict(case)
    control, base = case.pop("control"), case.pop("base_period", "varying")
    gaps = case.get("gaps", 0.0)
    data = _panel(n=700, seed=2, **case)
    covariates = ["household_size"] if case.get("covariate") else None
    p = prepare(data, "income_pc", "household_id", "time", "cohort", covariates, "village", balanced=not gaps)
    cells = cs_module._cells(p, control, base)
    for influence in (True, False):
        got = cs_module._fit_cells(p, cells, control, influence)
        want = _reference_fit_cells(p, cells, control, influence)
        np.testing.assert_array_equal(got[0], want[0])
        if influence:
            np.testing.assert_array_equal(got[1], want[1])
    # the design itself: every cell's treated and comparison counts come from the same masks
    never = p.G == 0
    for c in np.flatnonzero(~cells.reference):
        D, C = cs_module._groups(p, cells.g[c], cells.j[c], cells.b[c], control, never)
        if not p.balanced:
            both = p.observed[:, cells.j[c]] & p.observed[:, cells.b[c]]
            D, C = D & both, C & both
        assert cells.thin[c] == (min(D.sum(), C.sum()) < 2)


def test_the_two_way_system_set_up_once_solves_as_before():
    rng = np.random.default_rng(1)
    M = rng.random((500, 8)) > 0.2
    system = TwoWay(M)
    for _ in range(3):
        u, t = rng.normal(size=500), rng.normal(size=8)
        want = _reference_twoway(M, u, t)
        for got in (system.solve(u, t), twoway_solve(M, u, t)):
            np.testing.assert_array_equal(got[0], want[0])
            np.testing.assert_array_equal(got[1], want[1])


# ---- the page: reuse of the headline fit, the order of the estimates, freeing them ----------------------------------
@pytest.fixture(scope="module")
def page(sample, tmp_path_factory):
    from helpers.analysis import program_effects as pe
    from helpers.config import Paths

    paths = Paths.make(processed=sample["paths"].processed, reports=tmp_path_factory.mktemp("reports"))
    frame = pe.effects_frame(Q, paths, program="industry", bootstrap_reps=199)
    return {"paths": paths, "frame": frame, "pe": pe}


def test_the_sensitivity_analysis_and_the_power_simulation_reuse_the_headline_fit_with_the_same_numbers(page):
    from helpers.analysis import power, robustness
    from helpers.analysis.construct import build_panel

    pe, paths = page["pe"], page["paths"]
    pe.page_results(Q, paths, program="industry", bootstrap_reps=199)
    panel = build_panel(paths, Q)
    fit = pe.headline_fit(panel, "industry", "income_pc", "not_yet", [], "village")
    assert fit is pe._LAST["effects"].cs
    for other in (dict(outcome="earned_pc"), dict(cluster="county"), dict(cluster=""), dict(control="never"),
                  dict(covariates=["household_size"]), dict(program="any")):
        args = {"program": "industry", "outcome": "income_pc", "control": "not_yet", "covariates": [],
                "cluster": "village", **other}
        assert pe.headline_fit(panel, **args) is None, other
    reused = robustness.sensitivity_frame(Q, paths, program="industry")
    reused_power = power.power_frame(Q, paths, program="industry", reps=200)
    saved = dict(pe._LAST)
    pe._LAST.clear()                                  # nothing to reuse: both fit afresh
    try:
        assert pe.headline_fit(panel, "industry", "income_pc") is None
        fresh = robustness.sensitivity_frame(Q, paths, program="industry")
        fresh_power = power.power_frame(Q, paths, program="industry", reps=200)
    finally:
        pe._LAST.update(saved)
    pd.testing.assert_frame_equal(reused, fresh, check_exact=True)
    pd.testing.assert_frame_equal(reused_power.drop(columns="seconds"), fresh_power.drop(columns="seconds"),
                                  check_exact=True)


def test_earned_income_first_gives_the_frame_of_the_page_outcome_first(page):
    pe = page["pe"]
    from helpers.analysis.construct import build_panel

    panel = build_panel(page["paths"], Q)
    r = pe.summarize(pe.estimate(panel, "industry", "income_pc"), Q, 199)
    er = pe.summarize(pe.estimate(panel, "industry", "earned_pc"), Q, 199)
    want = pd.concat([r.frame, er.frame], ignore_index=True)
    twfe = (want["estimator"] == "twfe").to_numpy()
    got = page["frame"]
    pd.testing.assert_frame_equal(got[~twfe], want[~twfe], check_exact=True)
    pd.testing.assert_frame_equal(got[twfe], want[twfe], rtol=1e-12)      # pyfixest: last bits vary between runs


def test_results_only_frees_the_estimates_and_asking_for_them_again_makes_them(page):
    pe, paths = page["pe"], page["paths"]
    kw = dict(program="industry", bootstrap_reps=199, outcome="below_line", earned=False)
    saved = pe.effects_frame(Q, paths, **kw)
    out = pe.page_results(Q, paths, saved=saved, estimates=False, **kw)
    assert "effects" not in out and out["result"] is not None and pe._LAST["effects"] is None
    again = pe.page_results(Q, paths, saved=saved, **kw)            # estimates asked for: made again
    assert again["effects"] is not None and again["effects"].outcome == "below_line"
    pd.testing.assert_frame_equal(again["result"].table, out["result"].table)


def test_the_processed_table_is_hashed_once_per_version(tmp_path, monkeypatch):
    from helpers.pipeline import artifacts
    from helpers.store import storage

    file = tmp_path / "household_quarters.parquet"
    pd.DataFrame({"x": [1, 2]}).to_parquet(file)
    calls = []
    real = storage.file_hash
    monkeypatch.setattr(storage, "file_hash", lambda p: calls.append(p) or real(p))
    first = artifacts._processed_hash(file)
    assert artifacts._processed_hash(file) == first and len(calls) == 1
    tmp = tmp_path / "new.parquet"                     # a rewrite (as write_table does: a new file renamed over it)
    pd.DataFrame({"x": [1, 3]}).to_parquet(tmp)
    tmp.replace(file)
    assert artifacts._processed_hash(file) == real(file) != first and len(calls) == 2


def test_releasing_memory_keeps_every_live_object():
    from helpers.store.memory import release

    x = np.arange(1_000_000, dtype="float64")
    release()
    assert x.sum() == 499999500000.0
