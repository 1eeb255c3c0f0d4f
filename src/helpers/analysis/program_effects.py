"""Program effects as results: the estimators run on a program's sample, and tidy frames of what they give.

Everything the effects page (03) and the report (04) state about a program's effect is computed here and
nowhere else: the three estimators with the run's options (``estimate``), the side-by-side table with the
county-level few-cluster check (``comparison``), the event-time trend and the interval its word is judged on
(``trend_interval``), the long table saved as the ``effects`` artifact (``tidy``, ``effects_frame``), the
subgroup and subsidy-bin estimates (``heterogeneity``, ``dose_bins``), and a plain result object of frames
and numbers for one program and outcome (``summarize`` → ``EffectsResult``). Nothing here knows a language
or a label: codes in, codes out (``helpers.present.effects`` turns them into tables, figures and sentences).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from helpers.analysis.construct import OUTCOMES, Panel, build_panel
from helpers.analysis.effects import EstimationError, callaway_santanna, imputation, twfe
from helpers.config import SEED, Paths
from helpers.domain.dictionary import COUNTIES
from helpers.engine import current as current_engine
from helpers.store.memory import release

PARTITIONS_PER_WORKER = 4   # household partitions per Dask worker (the dask engine): small enough to balance the work
FEW_CLUSTERS = 10       # below this many clusters a clustered interval is too narrow: the few-cluster check decides
# What the estimates and the figures built from them need of the panel (one narrow copy per estimate).
ESTIMATION_COLUMNS = ["household_id", "time", "cohort", "treated", "first_program", "county", "village"]
ESTIMATORS = ("callaway_santanna", "imputation", "twfe")
HEADLINE = ("callaway_santanna", "simple")     # the estimate the conclusion and the report state
FEW_CLUSTER_METHODS = ("jackknife", "wild")
HOUSEHOLD_TYPES = ("脱贫户", "监测户", "一般农户")      # values of the data (household_type), not labels
DOSE_BINS = {"低": "low", "中": "middle", "高": "high"}     # the panel's dose_bin values → codes


def few_clusters(cluster: str | None, clusters) -> bool:
    """Fewer than FEW_CLUSTERS clusters (intervals clustered so are too narrow); households are never few."""
    try:
        k = float(clusters)
    except (TypeError, ValueError):
        return False
    return bool(cluster not in (None, "", "household_id") and not np.isnan(k) and k < FEW_CLUSTERS)


@dataclass
class Effects:
    """All estimates for one program and outcome, with the options they were asked for."""

    program: str
    outcome: str
    sample: pd.DataFrame
    cs: object
    imp: object
    tw: object
    control: str
    cluster: str
    covariates: list[str]
    balanced: bool

    def county_codes(self, result) -> np.ndarray:
        """County of each unit of a robust result (in the order of its panel), for the few-cluster check."""
        if "_county" not in self.__dict__:
            county = self.sample.groupby("household_id", observed=True)["county"].first().astype(str)
            self.__dict__["_county"] = county.set_axis(county.index.astype(str))     # plain index: fast lookups
        return self.__dict__["_county"].reindex(result.panel.units).to_numpy()


def estimation_sample(panel: Panel, program: str, outcome: str, covariates: list[str] | None = None,
                      cluster: str | None = "village") -> pd.DataFrame:
    """The narrow copy of the program's sample every estimate of it runs on (the estimation columns, the covariates
    and the cluster), checked: a known outcome, covariate and cluster columns that exist, at least one household
    (``EstimationError`` otherwise)."""
    if outcome not in OUTCOMES:
        raise EstimationError(f"outcome must be one of {list(OUTCOMES)}, not {outcome!r}")
    extra = [c for c in [*(covariates or []), cluster] if c and c not in ESTIMATION_COLUMNS]
    unknown = [c for c in extra if c not in panel.data.columns]
    if unknown:
        usable = [c for c in panel.data.columns if c not in ("quarter", "cohort_quarter")]
        raise EstimationError(f"unknown covariate or cluster column(s) {unknown}; the panel has {usable}")
    d = panel.sample(program, outcome, ESTIMATION_COLUMNS + extra)
    if d.empty:
        raise EstimationError(f"no households in the sample for program {program!r}")
    return d


def estimate(panel: Panel, program: str = "any", outcome: str = "income_pc", control: str = "not_yet",
             covariates: list[str] | None = None, cluster: str | None = "village") -> Effects:
    """Run the three estimators on the program's sample, each with every option it takes: the panel's
    balance, the cluster, the control group and covariates (Callaway-Sant'Anna). The imputation
    estimator and TWFE take no covariates and TWFE no control group: their rows say so (``spec``)."""
    covariates = list(covariates or [])
    d = estimation_sample(panel, program, outcome, covariates, cluster)
    balanced = panel.balanced
    engine, parts = _engine_partitions(d, covariates)
    if parts is not None:
        # the same estimators from sums over household partitions on the cluster (same numbers: 1e-12 in the tests)
        from helpers.analysis.effects.distributed import callaway_santanna_dask, imputation_dask, twfe_dask
        cs = callaway_santanna_dask(engine, parts, outcome, "household_id", "time", "cohort", control=control,
                                    cluster=cluster, balanced=balanced)
        imp = imputation_dask(engine, parts, outcome, "household_id", "time", "cohort", cluster=cluster,
                              balanced=balanced)
        tw = twfe_dask(engine, parts, outcome, "treated", "household_id", "time", cluster=cluster, balanced=balanced)
        return Effects(program, outcome, d, cs, imp, tw, control, cluster or "household_id", covariates, balanced)
    cs = callaway_santanna(d, outcome, "household_id", "time", "cohort", control=control, covariates=covariates or None,
                           cluster=cluster, balanced=balanced)
    imp = imputation(d, outcome, "household_id", "time", "cohort", cluster=cluster, balanced=balanced)
    tw = twfe(d, outcome, "treated", "household_id", "time", cluster=cluster, balanced=balanced)
    return Effects(program, outcome, d, cs, imp, tw, control, cluster or "household_id", covariates, balanced)


def _engine_partitions(d: pd.DataFrame, covariates) -> tuple[object, list | None]:
    """The engine and ``d`` cut into household partitions for its workers when the estimate runs on the Dask engine
    (no covariates: the partitioned Callaway-Sant'Anna takes none); ``(engine, None)`` when it runs in this process."""
    engine = current_engine()
    if not engine.is_dask or covariates:
        return engine, None
    from helpers.analysis.effects.distributed import partition_by_unit
    return engine, partition_by_unit(d, "household_id", PARTITIONS_PER_WORKER * max(1, engine.workers))


def _on_partitions(res) -> bool:
    """Whether a result was computed on the engine's household partitions (``effects.distributed``)."""
    return type(res).__module__.endswith("effects.distributed")


def _county_clusters(e: Effects, res):
    """The county of each unit of a result (its few-cluster check); for a result computed on partitions, the name
    of the partitions' county column (the check runs there)."""
    return "county" if _on_partitions(res) else e.county_codes(res)


def _spec_row(res, e: Effects) -> dict:
    """What a row of the side-by-side table was estimated on: sample, units, control, covariates, cluster."""
    s = res.spec
    return {"sample": s["sample"], "units": s["units"], "observations": s["observations"],
            "units_without_untreated_period": s.get("dropped_no_untreated_period", 0), "control": s["control"],
            "covariates": s["covariates"], "cluster": e.cluster, "clusters": s["clusters"]}


def comparison(e: Effects, reps: int = 9999, few_cluster: str = "jackknife") -> pd.DataFrame:
    """The estimators side by side: overall effect, SE, 95% CI, the sample and specification of each row,
    and for the robust ones the pre-trend test and the county-level few-cluster check (``few_cluster``:
    cluster jackknife with t(G-1), or the wild cluster restricted bootstrap; p-value and 95% interval;
    NaN with ``few_cluster_note`` where it cannot be computed)."""
    if few_cluster not in FEW_CLUSTER_METHODS:
        raise EstimationError(f"few_cluster must be 'jackknife' or 'wild', not {few_cluster!r}")
    rows = []
    pre = e.cs.pretest()
    for name, res, kinds in (("callaway_santanna", e.cs, ("simple", "dynamic")),
                             ("imputation", e.imp, ("simple", "dynamic")), ("twfe", e.tw, ("simple",))):
        for kind in kinds:
            a = res.aggregate(kind).loc["overall"]
            few = {"p_county": np.nan, "ci_county_low": np.nan, "ci_county_high": np.nan, "counties": 0,
                   "few_cluster_method": "", "few_cluster_note": ""}
            if name != "twfe":
                try:
                    test = res.few_cluster_test(_county_clusters(e, res), kind, few_cluster, reps, SEED)
                    few.update(p_county=test.pvalue(0.0), counties=test.clusters, few_cluster_method=few_cluster)
                    few["ci_county_low"], few["ci_county_high"] = test.ci(0.95)
                except EstimationError as err:
                    few["few_cluster_note"] = str(err)
            rows.append({"outcome": e.outcome, "estimator": name, "aggregate": kind, "att": a["att"], "se": a["se"],
                         "ci_low": a["ci_low"], "ci_high": a["ci_high"], **few,
                         "pretrend_p": pre["pvalue"] if name == "callaway_santanna" else np.nan,
                         "pretrend_reason": pre["reason"] if name == "callaway_santanna" else "",
                         **_spec_row(res, e)})
    return pd.DataFrame(rows)


def trend_interval(e: Effects) -> dict:
    """Callaway-Sant'Anna's event-time trend with the interval its word is judged on: the result's own, or with
    fewer than FEW_CLUSTERS clusters the county jackknife's (``basis``: ''/'few_cluster'/'none')."""
    tr = {**e.cs.event_time_trend(), "basis": ""}
    if few_clusters(e.cluster, e.cs.spec["clusters"]) and not pd.isna(tr["slope"]):
        try:
            tr["ci_low"], tr["ci_high"] = e.cs.few_cluster_test(_county_clusters(e, e.cs), "trend").ci(0.95)
            tr["basis"] = "few_cluster"
        except EstimationError:
            tr.update(ci_low=np.nan, ci_high=np.nan, basis="none")
    return tr


def tidy(e: Effects, table: pd.DataFrame, quarter: str, trend: dict | None = None) -> pd.DataFrame:
    """Everything the report needs, in one long table (the ``effects`` artifact): every aggregation of every
    estimator, the event-time trend of Callaway-Sant'Anna (term ``trend``), the few-cluster check and the
    specification of each estimator."""
    parts = []
    for name, res, kinds in (("callaway_santanna", e.cs, ("simple", "dynamic", "group", "calendar")),
                             ("imputation", e.imp, ("simple", "dynamic")), ("twfe", e.tw, ("simple",))):
        for kind in kinds:
            a = res.aggregate(kind).reset_index()
            a = a.rename(columns={a.columns[0]: "term"})
            a["term"] = a["term"].astype(str)
            a.insert(0, "aggregate", kind)
            a.insert(0, "estimator", name)
            parts.append(a)
    tr = trend if trend is not None else trend_interval(e)
    parts.append(pd.DataFrame([{"estimator": "callaway_santanna", "aggregate": "dynamic", "term": "trend",
                                "att": tr["slope"], "se": tr["se"], "ci_low": tr["ci_low"], "ci_high": tr["ci_high"]}]))
    out = pd.concat(parts, ignore_index=True)
    over = table.set_index(["estimator", "aggregate"])
    for col in ("p_county", "ci_county_low", "ci_county_high", "few_cluster_method"):
        out[col] = [over[col].get((r.estimator, r.aggregate), np.nan) if r.term == "overall" else np.nan
                    for r in out.itertuples()]
    for col in ("sample", "units", "control", "covariates", "cluster", "clusters"):
        spec = over[col].groupby(level=0).first()
        out[col] = out["estimator"].map(spec)
    pre = e.cs.pretest()
    cs_rows = out["estimator"] == "callaway_santanna"
    out["pretrend_p"] = np.where(cs_rows, pre["pvalue"], np.nan)
    out["pretrend_reason"] = np.where(cs_rows, pre.get("reason_code", "") or "", "")
    out["treated_mean"] = treated_mean(e)       # observed mean of supported household-quarters after start
    out.insert(0, "outcome", e.outcome)
    out.insert(0, "program", e.program)
    out.insert(0, "quarter", quarter)
    return out


def counterfactual_mean(e: Effects, att: float) -> float:
    """Treated households' observed mean outcome after start minus the effect (analysis.md)."""
    return treated_mean(e) - att


def treated_mean(e: Effects) -> float:
    """Treated households' observed mean outcome after start."""
    return float(e.sample.loc[e.sample["treated"], e.outcome].mean())


def cohorts(e: Effects) -> pd.DataFrame:
    """Households of the sample by start quarter (``cohort``, 0 = not supported in the window) and first program."""
    h = e.sample.groupby("household_id", observed=True)[["cohort", "first_program"]].first()
    out = h.groupby(["cohort", "first_program"], observed=True).size().rename("households").reset_index()
    return out.astype({"first_program": str})


@dataclass
class EffectsResult:
    """One program and outcome as frames and numbers: what the effects page and the report read."""

    program: str
    outcome: str
    control: str
    cluster: str
    covariates: list[str]
    balanced: bool
    table: pd.DataFrame                # comparison(): the estimators side by side
    frame: pd.DataFrame                # tidy(): every aggregation, the trend, the specification
    pretest: dict                      # Callaway-Sant'Anna's joint pre-start test
    trend: dict                        # trend_interval()
    cohorts: pd.DataFrame              # cohorts()
    treated_mean: float                # observed mean outcome of supported household-quarters
    clusters: int                      # Callaway-Sant'Anna's number of clusters
    extra: dict = field(default_factory=dict)

    def event_study(self, estimator: str = "callaway_santanna") -> pd.DataFrame:
        return event_study(self.frame, estimator)


def event_study(frame: pd.DataFrame, estimator: str = "callaway_santanna") -> pd.DataFrame:
    """Effects by event time of one estimator from a tidy frame (one outcome): index = event time (int)."""
    d = frame[(frame["estimator"] == estimator) & (frame["aggregate"] == "dynamic")
              & ~frame["term"].isin(["overall", "trend"])]
    d = d.set_index(d["term"].astype(int))[["att", "se", "ci_low", "ci_high"]]
    d.index.name = "event_time"
    return d


def summarize(e: Effects, quarter: str, reps: int = 9999, few_cluster: str = "jackknife") -> EffectsResult:
    """Every number of one program and outcome that the page and the report show."""
    table = comparison(e, reps=reps, few_cluster=few_cluster)
    tr = trend_interval(e)
    return EffectsResult(e.program, e.outcome, e.control, e.cluster, list(e.covariates), e.balanced, table,
                         tidy(e, table, quarter, tr), e.cs.pretest(), tr, cohorts(e), treated_mean(e),
                         int(e.cs.spec["clusters"]))


def _subgroup_estimate(sub: pd.DataFrame, outcome: str, control: str, covariates: list[str], cluster: str | None,
                       balanced: bool) -> tuple[dict, str]:
    """Callaway-Sant'Anna overall effect on a subsample with the headline's options; NaN and a note
    (``too_few``, ``one_cluster``) where they cannot be applied."""
    kw = dict(control=control, covariates=covariates or None, balanced=balanced)
    note = ""
    if cluster and sub[cluster].nunique() < 2:     # e.g. one county under county clustering
        cluster, note = None, "one_cluster"
    try:
        a = _fit_cs(sub, outcome, cluster, **kw).aggregate("simple").loc["overall"]
    except EstimationError:
        return {"att": np.nan, "se": np.nan, "ci_low": np.nan, "ci_high": np.nan}, "too_few"
    if note:       # a point estimate, but no standard error clustered as the headline's
        return {"att": a["att"], "se": np.nan, "ci_low": np.nan, "ci_high": np.nan}, note
    return {k: a[k] for k in ("att", "se", "ci_low", "ci_high")}, note


def _fit_cs(d: pd.DataFrame, outcome: str, cluster: str | None, control: str, covariates: list[str] | None,
            balanced: bool):
    """Callaway-Sant'Anna on ``d``: on the engine's household partitions when the engine is Dask and there are no
    covariates (the same numbers; the partitions are freed at once, no county jackknife is asked of a subgroup),
    else in this process."""
    engine, parts = _engine_partitions(d, covariates)
    if parts is None:
        return callaway_santanna(d, outcome, "household_id", "time", "cohort", control=control, covariates=covariates,
                                 cluster=cluster, balanced=balanced)
    from helpers.analysis.effects.distributed import callaway_santanna_dask
    res = callaway_santanna_dask(engine, parts, outcome, "household_id", "time", "cohort", control=control,
                                 cluster=cluster, balanced=balanced)
    res.release_partitions()
    return res


def heterogeneity(panel: Panel, e: Effects) -> pd.DataFrame:
    """CS overall effect within baseline subgroups (``dimension`` county, household_type, relocated; ``group``
    the value), each estimated on its own households with the headline's control group, covariates, cluster and
    panel balance. ``note`` says where that was not possible: ``too_few`` treated or comparison households (no
    estimate), ``one_cluster`` (the subgroup is one cluster, e.g. a county under county clustering: a point
    estimate without standard error)."""
    cluster = e.cluster if e.cluster != "household_id" else None
    cols = ["household_id", "time", "cohort", "county", "household_type", "relocated", *e.covariates]
    d = panel.sample(e.program, e.outcome, list(dict.fromkeys(cols + ([cluster] if cluster else []))))
    rows = []
    groups = [("county", c) for c in COUNTIES] + [("household_type", t) for t in HOUSEHOLD_TYPES] + \
             [("relocated", True), ("relocated", False)]
    for col, val in groups:
        sub = d[d[col] == val]
        n_treated = int(sub.loc[sub["cohort"] > 0, "household_id"].nunique())
        est, note = _subgroup_estimate(sub, e.outcome, e.control, e.covariates, cluster, panel.balanced)
        rows.append({"dimension": col, "group": val, "treated_households": n_treated, **est,
                     "cluster": e.cluster, "clusters": e.cs.spec["clusters"], "note": note})
    return pd.DataFrame(rows)


def dose_bins(panel: Panel, outcome: str, covariates: list[str] | None = None,
              cluster: str | None = None) -> pd.DataFrame:
    """Industry-support effect by subsidy bin (``bin``: low/middle/high, the tertiles of the subsidy in the first
    treated quarter, with its range ``subsidy_low``–``subsidy_high``), each bin against never-supported households
    (so the control group is 'never' by design), with the headline's covariates, cluster and panel balance:
    heterogeneity, not a dose-response."""
    covariates = list(covariates or [])
    cols = ["household_id", "time", "cohort", "dose_bin", *covariates, *([cluster] if cluster else [])]
    d = panel.sample("industry", outcome, list(dict.fromkeys(cols)))
    h = panel.households.set_index("household_id")
    rows = []
    for b, code in DOSE_BINS.items():
        sub = d[(d["dose_bin"] == b) | (d["cohort"] == 0)]
        ids = sub.loc[sub["cohort"] > 0, "household_id"].unique()
        lo_d, hi_d = (h.loc[ids, "dose"].min(), h.loc[ids, "dose"].max()) if len(ids) else (np.nan, np.nan)
        est, note = _subgroup_estimate(sub, outcome, "never", covariates, cluster, panel.balanced)
        rows.append({"bin": code, "subsidy_low": float(lo_d), "subsidy_high": float(hi_d),
                     "treated_households": len(ids), "att": est["att"], "se": est["se"], "note": note})
    return pd.DataFrame(rows)


# ---- the effects artifact: one program, its outcome and earned income ---------------------------------------
_LAST: dict = {}        # the last program's panel, estimates and results made in this process


def run(panel: Panel, quarter: str, program: str = "any", outcome: str = "income_pc", control: str = "not_yet",
        covariates: list[str] | None = None, cluster: str | None = "village", few_cluster: str = "jackknife",
        bootstrap_reps: int = 9999, earned: bool = True) -> tuple[Effects, EffectsResult, EffectsResult | None]:
    """The program's estimates and results for its outcome and, unless the outcome is earned income already
    (or ``earned`` is off), the results for earned income with the same options. Earned income comes first and
    its estimates are freed once summarized (only its results are kept), so the two sets of estimates are never
    held at once; each estimate depends only on the panel and its options, so the order changes no number."""
    er = None
    if earned and outcome != "earned_pc":
        e_earned = estimate(panel, program, "earned_pc", control, covariates, cluster)
        er = summarize(e_earned, quarter, bootstrap_reps, few_cluster)
        _free_partitions(e_earned)
        del e_earned
        release()
    e = estimate(panel, program, outcome, control, covariates, cluster)
    r = summarize(e, quarter, bootstrap_reps, few_cluster)
    _free_partitions(e)
    return e, r, er


def _free_partitions(e: Effects) -> None:
    """Free the household partitions that results computed on the Dask engine keep on the workers (for the county
    jackknife, done once summarized); the results stay usable. Nothing for local results."""
    for res in (e.cs, e.imp, e.tw):
        getattr(res, "release_partitions", lambda: None)()


def effects_frame(quarter: str, paths: Paths | None = None, hq: pd.DataFrame | None = None, program: str = "any",
                  outcome: str = "income_pc", control: str = "not_yet", covariates: str = "",
                  cluster: str = "village", balanced: bool = True, few_cluster: str = "jackknife",
                  bootstrap_reps: int = 9999, earned: bool = True) -> pd.DataFrame:
    """The ``effects`` artifact: the tidy results of the program for its outcome and earned income, from the
    processed household quarters (``hq``, or read from ``paths.processed``). The panel, the estimates of the outcome
    and the results stay available to the page that asked for them in this process (``page_results``); those of
    the previous call are dropped first."""
    options = dict(program=program, outcome=outcome, control=control, covariates=covariates, cluster=cluster,
                   balanced=balanced, few_cluster=few_cluster, bootstrap_reps=bootstrap_reps, earned=earned)
    _LAST.clear()
    panel = build_panel(paths, quarter, balanced=balanced, hq=hq)
    covs = [c.strip() for c in covariates.split(",") if c.strip()] or None
    e, r, er = run(panel, quarter, program, outcome, control, covs, cluster, few_cluster, bootstrap_reps, earned)
    frame = r.frame if er is None else pd.concat([r.frame, er.frame], ignore_index=True)
    _LAST.update(panel=panel, effects=e, result=r, earned=er, cluster=cluster or None,
                 key=_key(quarter, paths, options) if hq is None else None)
    del e
    release()
    return frame


def headline_fit(panel: Panel, program: str, outcome: str, control: str = "not_yet",
                 covariates: list[str] | None = None, cluster: str | None = "village"):
    """The Callaway-Sant'Anna result of the program's estimate for ``outcome`` with these options when
    ``effects_frame`` made it in this process from this very panel, else None. The sensitivity analysis (its
    varying-base event study) and the power simulation (its design) start from this fit instead of fitting again:
    the same sample, options and code give the same result (``tests/test_robustness.py``, ``tests/test_power.py``)."""
    e = _LAST.get("effects")
    if e is None or _LAST.get("panel") is not panel or _on_partitions(e.cs):   # a partition result has no units
        return None
    if (e.program, e.outcome, e.control, list(e.covariates), _LAST.get("cluster")) != \
            (program, outcome, control, list(covariates or []), cluster or None):
        return None
    return e.cs


def _key(quarter: str, paths: Paths | None, options: dict) -> tuple:
    return quarter, str((paths or Paths()).processed), tuple(sorted(options.items()))


def page_results(quarter: str, paths: Paths | None = None, saved: pd.DataFrame | None = None, estimates: bool = True,
                 **options) -> dict:
    """What the effects page shows beside the saved frame: the panel, the estimates (``effects``) and the results
    (``result``, ``earned``) with these options: those ``effects_frame`` made in this process, else made again (same
    code, same options). With ``saved`` (the artifact's frame), the results are checked to be the saved ones, so the
    page cannot show other numbers than the file 04 reads: ``EstimationError`` when any estimate differs by more
    than 1e-9 (relative) or a row is missing. With ``estimates=False`` the caller wants the results only: the
    estimates are not returned and no longer kept in this process (they are the largest objects a page holds)."""
    defaults = dict(program="any", outcome="income_pc", control="not_yet", covariates="", cluster="village",
                    balanced=True, few_cluster="jackknife", bootstrap_reps=9999, earned=True)
    options = {**defaults, **options}
    if _LAST.get("key") != _key(quarter, paths, options) or (estimates and _LAST.get("effects") is None):
        effects_frame(quarter, paths, **options)
    if saved is not None:
        same_as_saved(saved, _LAST["result"], _LAST["earned"])
    if not estimates:
        _LAST["effects"] = None
        return {k: v for k, v in _LAST.items() if k != "effects"}
    return dict(_LAST)


def same_as_saved(saved: pd.DataFrame, result: EffectsResult, earned: EffectsResult | None = None) -> None:
    """Raise ``EstimationError`` unless the results' tidy frames are the saved frame (same rows, same text, numbers
    within 1e-9 relative: summing in another order moves the last digits)."""
    made = result.frame if earned is None else pd.concat([result.frame, earned.frame], ignore_index=True)
    if len(made) != len(saved) or list(made.columns) != list(saved.columns):
        raise EstimationError(f"the page's results have {len(made)} rows and the saved ones {len(saved)}: "
                              "make them again (delete the results file) and re-run")
    for c in made.columns:
        a, b = made[c].reset_index(drop=True), saved[c].reset_index(drop=True)
        if pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b):
            x, y = a.to_numpy(dtype="float64"), b.to_numpy(dtype="float64")
            if not np.allclose(x, y, rtol=1e-9, atol=1e-9, equal_nan=True):
                raise EstimationError(f"the page's column {c!r} differs from the saved results by up to "
                                      f"{np.nanmax(np.abs(x - y)):.3g}: make them again (delete the results file)")
        elif not a.astype("string").fillna("").equals(b.astype("string").fillna("")):
            raise EstimationError(f"the page's column {c!r} differs from the saved results")
