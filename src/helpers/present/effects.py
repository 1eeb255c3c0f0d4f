"""What the effects notebook (03_effects) shows: estimates side by side, event study,
heterogeneity, subsidy bins, the county-level check, and the conclusion in plain language.

Every table here is built from the estimators' tidy results (``helpers.analysis.effects``); figures use
the workbook's style (``helpers.present.figures``). Only aggregates leave this module: no household rows.
"""
from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
from matplotlib.ticker import StrMethodFormatter
import numpy as np
import pandas as pd

from helpers.present import figures
from helpers.analysis.construct import OUTCOMES, PROGRAM_LABELS, Panel
from helpers.domain.dictionary import COUNTIES
from helpers.analysis.effects import EstimationError, callaway_santanna, imputation, twfe
from helpers.present.findings import (FEW_CLUSTERS, few_clusters, forbidden_comparisons, gap_direction,  # noqa: F401
                                      headline_interval, intervals_overlap, pretrends, robust_estimates_agree,
                                      significant, staggered_starts, trend_direction, twfe_position, words)
from helpers.domain.quarters import index_quarter

ESTIMATOR_LABELS = {"callaway_santanna": ("Callaway-Sant'Anna（稳健）", "Callaway-Sant'Anna (robust)"),
                    "imputation": ("插补估计 BJS（稳健）", "Imputation, BJS (robust)"),
                    "twfe": ("双向固定效应（朴素）", "Two-way FE (naive)")}
SEED = 20230711
# What the estimates and the figures built from them need of the panel (one narrow copy per estimate).
ESTIMATION_COLUMNS = ["household_id", "time", "cohort", "treated", "first_program", "county", "village"]


def _p(p: float) -> str:
    """A p-value as people read it in a table."""
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _p_is(p: float, lang: str) -> str:
    """A p-value in a sentence: 'p 值为 0.012' / 'p 值小于 0.001', 'p = 0.012' / 'p < 0.001'."""
    if lang == "zh":
        return " p 值小于 0.001" if p < 0.001 else f" p 值为 {p:.3f}"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _l(pair, lang):
    return pair[0] if lang == "zh" else pair[1]


def program_label(program: str, lang: str = "zh") -> str:
    return _l(PROGRAM_LABELS[program], lang)


def outcome_label(outcome: str, lang: str = "zh") -> str:
    return _l(OUTCOMES[outcome], lang)


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


def estimate(panel: Panel, program: str = "any", outcome: str = "income_pc", control: str = "not_yet",
             covariates: list[str] | None = None, cluster: str | None = "village") -> Effects:
    """Run the three estimators on the program's sample, each with every option it takes: the panel's
    balance, the cluster, the control group and covariates (Callaway-Sant'Anna). The imputation
    estimator and TWFE take no covariates and TWFE no control group: their rows say so (``spec``)."""
    covariates = list(covariates or [])
    if outcome not in OUTCOMES:
        raise EstimationError(f"outcome must be one of {list(OUTCOMES)}, not {outcome!r}")
    extra = [c for c in [*covariates, cluster] if c and c not in ESTIMATION_COLUMNS]
    unknown = [c for c in extra if c not in panel.data.columns]
    if unknown:
        usable = [c for c in panel.data.columns if c not in ("quarter", "cohort_quarter")]
        raise EstimationError(f"unknown covariate or cluster column(s) {unknown}; the panel has {usable}")
    d = panel.sample(program, outcome, ESTIMATION_COLUMNS + extra)
    if d.empty:
        raise EstimationError(f"no households in the sample for program {program!r}")
    balanced = panel.balanced
    cs = callaway_santanna(d, outcome, "household_id", "time", "cohort", control=control, covariates=covariates or None,
                           cluster=cluster, balanced=balanced)
    imp = imputation(d, outcome, "household_id", "time", "cohort", cluster=cluster, balanced=balanced)
    tw = twfe(d, outcome, "treated", "household_id", "time", cluster=cluster, balanced=balanced)
    return Effects(program, outcome, d, cs, imp, tw, control, cluster or "household_id", covariates, balanced)


def _spec_row(res, e: Effects) -> dict:
    """What a row of the side-by-side table was estimated on: sample, units, control, covariates, cluster."""
    s = res.spec
    return {"sample": s["sample"], "units": s["units"], "observations": s["observations"],
            "units_without_untreated_period": s.get("dropped_no_untreated_period", 0), "control": s["control"],
            "covariates": s["covariates"], "cluster": e.cluster, "clusters": s["clusters"]}


FEW_CLUSTER_FAILED_ZH = "县区少于两个，或去掉某个县区后没有获帮扶户或对照户（例如所有获帮扶户都在同一县区）。"
FEW_CLUSTER_METHODS = {"jackknife": ("刀切法", "cluster jackknife"), "wild": ("野聚类自助法", "wild cluster bootstrap"),
                       "": ("", "")}


def comparison(e: Effects, lang: str = "zh", reps: int = 9999, few_cluster: str = "jackknife") -> pd.DataFrame:
    """The estimators side by side: overall effect, SE, 95% CI, the sample and specification of each row,
    and for the robust ones the pre-trend test and the county-level few-cluster check (``few_cluster``:
    cluster jackknife with t(G-1), or the wild cluster restricted bootstrap; p-value and 95% interval;
    NaN with ``few_cluster_note`` where it cannot be computed)."""
    if few_cluster not in ("jackknife", "wild"):
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
                    test = res.few_cluster_test(e.county_codes(res), kind, few_cluster, reps, SEED)
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


SPEC_LABELS = {
    "sample": {"balanced": ("平衡面板", "balanced panel"), "unbalanced": ("非平衡面板", "unbalanced panel")},
    "control": {"not_yet": ("尚未获帮扶户", "not yet supported"), "never": ("从未获帮扶户", "never supported"),
                "untreated": ("所有未获帮扶的户-季", "all unsupported household-quarters"),
                "all": ("全部户-季（含已获帮扶）", "all household-quarters (incl. supported)")},
    "cluster": {"village": ("村", "village"), "county": ("县(区)", "county"), "household_id": ("户", "household")},
}


def _ci(lo: float, hi: float, outcome: str = "income_pc") -> str:
    """An interval as people read it; an unbounded side shows as ∞."""
    if pd.isna(lo) or pd.isna(hi):
        return "—"
    return f"[{_v(lo, outcome, 1)}, {_v(hi, outcome, 1)}]"


HEADLINE = ("callaway_santanna", "simple")     # the estimate the conclusion and the report state


def show_comparison(table: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
    """The comparison with readable labels and units, and on which sample and specification each row rests."""
    agg = {"simple": ("全部处理期平均", "all treated periods"), "dynamic": ("按事件时间平均", "average over event times")}
    zh = lang == "zh"
    none = "无" if zh else "none"
    o = table["outcome"].iloc[0]
    unit = _unit(o, lang)
    digits = 3 if o.startswith("log_") else 1
    method = next((m for m in table["few_cluster_method"] if m), "")
    method = f"（{_l(FEW_CLUSTER_METHODS[method], lang)}）" if zh and method else \
        f" ({_l(FEW_CLUSTER_METHODS[method], lang)})" if method else ""
    sample = [f"{_l(SPEC_LABELS['sample'][r.sample], lang)} {r.units:,}" + (
        (f"（{r.units_without_untreated_period:,} 户无未帮扶季度，未用）" if zh else
         f" ({r.units_without_untreated_period:,} without an unsupported quarter, not used)")
        if r.units_without_untreated_period else "") for r in table.itertuples()]
    out = pd.DataFrame({
        ("估计方法" if zh else "estimator"): [_l(ESTIMATOR_LABELS[x], lang) for x in table["estimator"]],
        ("汇总方式" if zh else "aggregate"): [_l(agg[x], lang) + (("（主要结果）" if zh else " (headline)")
                                                                  if (n, x) == HEADLINE else "")
                                            for n, x in zip(table["estimator"], table["aggregate"])],
        (f"效应（{unit}）" if zh else f"effect ({unit})"): table["att"].round(digits),
        ("标准误" if zh else "SE"): table["se"].round(digits),
        ("95%置信区间" if zh else "95% CI"): [_ci(a, b, o) for a, b in zip(table["ci_low"], table["ci_high"])],
        (f"县级少聚类检验{method} p 值" if zh else f"county few-cluster{method} p"): table["p_county"].map(
            lambda p: "—" if pd.isna(p) else _p(p)),
        ("县级少聚类95%区间" if zh else "county few-cluster 95% CI"):
            [_ci(a, b, o) for a, b in zip(table["ci_county_low"], table["ci_county_high"])],
        ("样本（户）" if zh else "sample (households)"): sample,
        ("户-季观测" if zh else "household-quarters"): [f"{x:,}" for x in table["observations"]],
        ("对照" if zh else "comparison"): [_l(SPEC_LABELS["control"][c], lang) for c in table["control"]],
        ("协变量" if zh else "covariates"): ["、".join(covariate_label(x, lang) for x in c.split(",")) if c else none
                                            for c in table["covariates"]],
        ("聚类（个数）" if zh else "clusters (number)"):
            [f"{_l(SPEC_LABELS['cluster'].get(c, (c, c)), lang)}（{k:,}）" if zh else
             f"{_l(SPEC_LABELS['cluster'].get(c, (c, c)), lang)} ({k:,})" for c, k in zip(table["cluster"], table["clusters"])],
    })
    return out.set_index(out.columns[0])


def describe_comparison(table: pd.DataFrame, lang: str = "zh") -> str:
    """What the side-by-side table is about, in a line or two: the outcome and its unit, and why a
    few-cluster result is missing where it is."""
    zh, o = lang == "zh", table["outcome"].iloc[0]
    text = (f"结果变量：{outcome_label(o, lang)}，单位：{_unit(o, lang)}。" if zh else
            f"Outcome: {outcome_label(o, lang)}, in {_unit(o, lang)}. ")
    head = table[(table["estimator"] == HEADLINE[0]) & (table["aggregate"] == HEADLINE[1])]
    dyn = table[(table["estimator"] == HEADLINE[0]) & (table["aggregate"] == "dynamic")]
    if len(head) and len(dyn):
        h, d = _v(head.iloc[0]["att"], o, 1), _v(dyn.iloc[0]["att"], o, 1)
        if o == "earned_pc":     # a supplementary table: the page's headline is total income
            text += (f"本表的主要行是 Callaway-Sant'Anna 的“全部处理期平均”（{h}），“按事件时间平均”（{d}）作为补充；"
                     "全页的主要结果仍是上面的人均纯收入。" if zh else
                     f"In this table the main row is Callaway-Sant'Anna's average over all treated periods ({h}); the "
                     f"average over event times ({d}) is a supplement. The page's headline remains total income above. ")
        else:
            text += (f"主要结果是 Callaway-Sant'Anna 的“全部处理期平均”（{h}）：所有获帮扶户在开始后各季度的平均效应，结论和季度报告用的就是它。"
                     f"“按事件时间平均”（{d}）先求开始后每个季度的效应，再把各季度等权平均，开始较久、户数较少的季度分量更重，作为补充。"
                     if zh else
                     f"The headline is Callaway-Sant'Anna's average over all treated periods ({h}): the average effect over "
                     f"every supported household-quarter, the number the conclusion and the report state. The average over "
                     f"event times ({d}) weights each quarter since start equally, so later quarters with fewer households "
                     "count more; it is a supplement. ")
    notes = table.loc[table["few_cluster_note"].astype(bool), ["estimator", "few_cluster_note"]].drop_duplicates("estimator")
    for r in notes.itertuples():
        text += (f"{_l(ESTIMATOR_LABELS[r.estimator], lang)}的县级少聚类检验无法计算：{FEW_CLUSTER_FAILED_ZH}" if zh else
                 f"The county-level check of {_l(ESTIMATOR_LABELS[r.estimator], lang)} cannot be computed: {r.few_cluster_note}. ")
    return text


def tidy(e: Effects, table: pd.DataFrame, quarter: str) -> pd.DataFrame:
    """Everything the report needs, in one long table (saved as results/effects_<program>.parquet): every
    aggregation of every estimator, the event-time trend of Callaway-Sant'Anna (term ``trend``), the
    few-cluster check and the specification of each estimator."""
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
    tr = trend_interval(e)
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
    out.insert(0, "outcome", e.outcome)
    out.insert(0, "program", e.program)
    out.insert(0, "quarter", quarter)
    return out


def counterfactual_mean(e: Effects, att: float) -> float:
    """Treated households' observed mean outcome after start minus the effect (analysis.md)."""
    post = e.sample[e.sample["treated"]]
    return float(post[e.outcome].mean() - att)


EXCLUDED = {"households": ("农户数", "households"), "always_treated": ("窗口前已获帮扶（不参与估计）", "supported before the window (left out)"),
            "start_disagreements": ("各季度起始季度不一致", "start quarters disagree"),
            "both_same_quarter": ("同季度获两项帮扶", "both programs in one quarter"),
            "industry_first": ("先获产业帮扶", "industry first"), "employment_first": ("先获就业帮扶", "employment first"),
            "dropped_for_gaps": ("有缺季（平衡面板中剔除）", "gaps (left out of the balanced panel)"),
            "nonpositive_income_log_only": ("收入≤0（仅对数版本剔除）", "income <= 0 (log version only)")}


def excluded_table(panel: Panel, lang: str = "zh") -> pd.DataFrame:
    """What construction left out, per county, with readable headers."""
    t = panel.excluded.reindex([c for c in COUNTIES if c in panel.excluded.index])
    t.index = [figures.county_label(c, lang) for c in t.index]
    t.index.name = "县(区)" if lang == "zh" else "county"
    t = t.map(lambda x: f"{int(x):,}" if pd.notna(x) else "—")
    return t.rename(columns={k: _l(v, lang) for k, v in EXCLUDED.items()})


def describe_cohorts(e: Effects, lang: str = "zh") -> str:
    """What the cohort chart shows: how many start quarters and households, and whether starts are staggered
    (``findings.staggered_starts``), which is what the robust estimators are for."""
    zh = lang == "zh"
    h = e.sample.groupby("household_id", observed=True)["cohort"].first()
    sizes = h[h > 0].value_counts()
    n, k = int(sizes.sum()), len(sizes)
    if staggered_starts(sizes.tolist()):
        return (f"柱子是每个季度开始获得帮扶的户数：{n:,} 户分 {k} 个季度开始，开始时间不同（交错开始），所以用适合交错开始的稳健方法。"
                "表中列出各县区未参与估计的农户数及原因。" if zh else
                f"Bars: households by the quarter support started. {n:,} households started in {k} different quarters "
                "(staggered starts), which is what the robust estimators are for. The table counts, per county, the "
                "households left out and why.")
    return (f"柱子是每个季度开始获得帮扶的户数：{n:,} 户都在同一个季度开始，没有交错开始。"
            "表中列出各县区未参与估计的农户数及原因。" if zh else
            f"Bars: households by the quarter support started. All {n:,} started in the same quarter: no staggered "
            "starts. The table counts, per county, the households left out and why.")


def plot_cohorts(e: Effects, quarter: str, lang: str = "zh"):
    """Who got support and when: households by start quarter and first program."""
    h = e.sample.groupby("household_id").first()
    h = h[h["cohort"] > 0]
    t = h.groupby(["cohort", "first_program"]).size().unstack(fill_value=0).sort_index()
    fig, ax = plt.subplots(figsize=(8, 4))
    labels = [index_quarter(c) for c in t.index]
    bottom = np.zeros(len(t))
    colors = {"industry": "#3a9e5c", "employment": "#1b6ca8", "both": "#7d5ba6"}
    for col in [c for c in ("industry", "employment", "both") if c in t.columns]:
        ax.bar(labels, t[col], bottom=bottom, color=colors[col],
               label=_l({"industry": ("先获产业帮扶", "industry first"), "employment": ("先获就业帮扶", "employment first"),
                         "both": ("同季度两项", "both in one quarter")}[col], lang))
        bottom += t[col].to_numpy()
    never = int((e.sample.groupby("household_id")["cohort"].first() == 0).sum())
    ax.set_title(("各季度开始获得帮扶的户数" if lang == "zh" else "Households by quarter support started"))
    ax.set_ylabel("户数" if lang == "zh" else "households")
    ax.tick_params(axis="x", rotation=45)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    figures.caption(fig, quarter, lang, (f"对照：窗口内未获帮扶 {never:,} 户" if lang == "zh" else f"{never:,} households never supported in the window"))
    return fig


def few_clusters_caption(e: Effects, lang: str) -> str:
    """A warning for a figure's caption when its intervals rest on fewer than FEW_CLUSTERS clusters."""
    k = e.cs.spec["clusters"]
    if e.cluster == "household_id" or k >= FEW_CLUSTERS:
        return ""
    return (f"；只有 {k} 个聚类，区间偏窄" if lang == "zh" else f"; only {k} clusters: intervals too narrow")


def plot_event_study(e: Effects, quarter: str, lang: str = "zh", max_e: int | None = None):
    """Effects by quarters since start: CS (with pre-periods), imputation, and the naive TWFE line."""
    cs = e.cs.aggregate("dynamic").drop(index="overall")
    imp = e.imp.aggregate("dynamic").drop(index="overall")
    if max_e is not None:
        cs, imp = cs[cs.index.astype(int) <= max_e], imp[imp.index.astype(int) <= max_e]
    fig, ax = plt.subplots(figsize=(8.5, 4.5))
    x = cs.index.astype(int)
    ax.axhline(0, color="#333333", lw=0.8)
    ax.axvline(-0.5, color="#999999", lw=0.8, ls="--")
    ax.errorbar(x - 0.12, cs["att"], yerr=[cs["att"] - cs["ci_low"], cs["ci_high"] - cs["att"]], fmt="o",
                color="#1b6ca8", capsize=3, label=_l(ESTIMATOR_LABELS["callaway_santanna"], lang))
    xi = imp.index.astype(int)
    ax.errorbar(xi + 0.12, imp["att"], yerr=[imp["att"] - imp["ci_low"], imp["ci_high"] - imp["att"]], fmt="s",
                color="#3a9e5c", capsize=3, label=_l(ESTIMATOR_LABELS["imputation"], lang))
    ax.axhline(e.tw.coef, color="#c2413b", ls=":", lw=1.5, label=_l(ESTIMATOR_LABELS["twfe"], lang))
    ax.set_xlabel("距开始帮扶的季度数（0 为开始季度）" if lang == "zh" else "quarters since support started (0 = first quarter)")
    ax.set_ylabel(f"对{outcome_label(e.outcome, lang)}的效应（{_unit(e.outcome, lang)}）" if lang == "zh"
                  else f"effect on {outcome_label(e.outcome, lang)} ({_unit(e.outcome, lang)})")
    if not e.outcome.startswith("log_"):
        ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))      # 1,000 元, as in the tables
    ax.set_title((f"{program_label(e.program, lang)}对{outcome_label(e.outcome, lang)}的影响：事件研究" if lang == "zh"
                  else f"Effect of {program_label(e.program, lang)} on {outcome_label(e.outcome, lang)}: event study"))
    ax.legend(loc="upper left", fontsize=9)
    figures.caption(fig, quarter, lang, ("竖线左侧为开始前（检验平行趋势），误差线为95%置信区间" if lang == "zh"
                                         else "left of the dashed line: before start (pre-trends); bars: 95% CI")
                    + few_clusters_caption(e, lang))
    return fig


def _subgroup_estimate(sub: pd.DataFrame, outcome: str, control: str, covariates: list[str], cluster: str | None,
                       balanced: bool) -> tuple[dict, str]:
    """Callaway-Sant'Anna overall effect on a subsample with the headline's options; NaN and a note
    (``too_few``, ``one_cluster``) where they cannot be applied."""
    kw = dict(control=control, covariates=covariates or None, balanced=balanced)
    note = ""
    if cluster and sub[cluster].nunique() < 2:     # e.g. one county under county clustering
        cluster, note = None, "one_cluster"
    try:
        a = callaway_santanna(sub, outcome, "household_id", "time", "cohort", cluster=cluster, **kw)
        a = a.aggregate("simple").loc["overall"]
    except EstimationError:
        return {"att": np.nan, "se": np.nan, "ci_low": np.nan, "ci_high": np.nan}, "too_few"
    if note:       # a point estimate, but no standard error clustered as the headline's
        return {"att": a["att"], "se": np.nan, "ci_low": np.nan, "ci_high": np.nan}, note
    return {k: a[k] for k in ("att", "se", "ci_low", "ci_high")}, note


SUBGROUP_NOTES = {"": ("", ""), "too_few": ("获帮扶户或对照户太少，无法估计", "too few supported or comparison households"),
                  "one_cluster": ("只有一个聚类，无法计算标准误", "a single cluster: no standard error")}


HOUSEHOLD_TYPE_EN = {"脱贫户": "formerly poor", "监测户": "monitored", "一般农户": "general"}


def covariate_label(name: str, lang: str = "zh") -> str:
    """A covariate as its Chinese header in the submission format (家庭人口), or its column name in English."""
    if lang != "zh":
        return name
    from helpers.domain.dictionary import HOUSEHOLDS

    return next((c.header for c in HOUSEHOLDS.columns if c.name == name), name)


def heterogeneity(panel: Panel, e: Effects, lang: str = "zh") -> pd.DataFrame:
    """CS overall effect within baseline subgroups (county, household type, relocated), each estimated
    on its own households with the headline's control group, covariates, cluster and panel balance.
    ``note`` says where that was not possible: ``too_few`` treated or comparison households (no
    estimate), ``one_cluster`` (the subgroup is one cluster, e.g. a county under county clustering:
    a point estimate without standard error)."""
    cluster = e.cluster if e.cluster != "household_id" else None
    cols = ["household_id", "time", "cohort", "county", "household_type", "relocated", *e.covariates]
    d = panel.sample(e.program, e.outcome, list(dict.fromkeys(cols + ([cluster] if cluster else []))))
    rows = []
    groups = [("county", c) for c in COUNTIES] + [("household_type", t) for t in ("脱贫户", "监测户", "一般农户")] + \
             [("relocated", True), ("relocated", False)]
    names = {"county": ("县(区)", "county"), "household_type": ("户类型", "household type"), "relocated": ("易地搬迁", "relocated")}
    for col, val in groups:
        sub = d[d[col] == val]
        label = (figures.county_label(val, lang) if col == "county" else
                 (("是" if val else "否") if lang == "zh" else ("yes" if val else "no")) if col == "relocated" else
                 (val if lang == "zh" else HOUSEHOLD_TYPE_EN.get(val, val)))
        n_treated = int(sub.loc[sub["cohort"] > 0, "household_id"].nunique())
        est, note = _subgroup_estimate(sub, e.outcome, e.control, e.covariates, cluster, panel.balanced)
        rows.append({"dimension": _l(names[col], lang), "group": label, "treated_households": n_treated, **est,
                     "cluster": e.cluster, "clusters": e.cs.spec["clusters"], "note": note})
    return pd.DataFrame(rows)


def dose_bins(panel: Panel, outcome: str, lang: str = "zh", covariates: list[str] | None = None,
              cluster: str | None = None) -> pd.DataFrame:
    """Industry-support effect by subsidy bin (subsidy in the first treated quarter, tertiles),
    each bin against never-supported households (so the control group is 'never' by design), with
    the headline's covariates, cluster and panel balance: heterogeneity, not a dose-response."""
    covariates = list(covariates or [])
    cols = ["household_id", "time", "cohort", "dose_bin", *covariates, *([cluster] if cluster else [])]
    d = panel.sample("industry", outcome, list(dict.fromkeys(cols)))
    h = panel.households.set_index("household_id")
    rows = []
    for b in ("低", "中", "高"):
        sub = d[(d["dose_bin"] == b) | (d["cohort"] == 0)]
        ids = sub.loc[sub["cohort"] > 0, "household_id"].unique()
        lo_d, hi_d = (h.loc[ids, "dose"].min(), h.loc[ids, "dose"].max()) if len(ids) else (np.nan, np.nan)
        est, note = _subgroup_estimate(sub, outcome, "never", covariates, cluster, panel.balanced)
        rows.append({"bin": b if lang == "zh" else {"低": "low", "中": "middle", "高": "high"}[b],
                     "subsidy_range": f"{lo_d:,.0f}–{hi_d:,.0f}", "treated_households": len(ids),
                     "att": est["att"], "se": est["se"], "note": note})
    return pd.DataFrame(rows)


def plot_heterogeneity(het: pd.DataFrame, e: Effects, quarter: str, lang: str = "zh"):
    """Forest plot of subgroup effects."""
    h = het.dropna(subset=["att", "ci_low", "ci_high"]).iloc[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.42 * len(h) + 1.5))
    y = np.arange(len(h))
    ax.errorbar(h["att"], y, xerr=[h["att"] - h["ci_low"], h["ci_high"] - h["att"]], fmt="o", color="#1b6ca8", capsize=3)
    ax.set_yticks(y, [f"{d}：{g}" if lang == "zh" else f"{d}: {g}" for d, g in zip(h["dimension"], h["group"])])
    overall = e.cs.aggregate("simple").loc["overall", "att"]
    ax.axvline(overall, color="#c2413b", ls="--", lw=1, label=("全体" if lang == "zh" else "all households"))
    ax.axvline(0, color="#333333", lw=0.8)
    ax.set_xlabel(f"效应（{_unit(e.outcome, lang)}）" if lang == "zh" else f"effect ({_unit(e.outcome, lang)})")
    ax.set_title((f"{program_label(e.program, lang)}效应的分组差异（基期分组）" if lang == "zh"
                  else f"Effect of {program_label(e.program, lang)} by baseline subgroup"))
    ax.legend(loc="lower right", fontsize=9)
    cluster = _l(SPEC_LABELS["cluster"].get(e.cluster, (e.cluster, e.cluster)), lang)
    single = het.loc[het["note"] == "one_cluster", "group"].tolist()
    figures.caption(fig, quarter, lang, (f"Callaway-Sant'Anna，按{cluster}聚类的95%置信区间" if lang == "zh"
                                         else f"Callaway-Sant'Anna, 95% CI clustered by {cluster}") + few_clusters_caption(e, lang)
                    + ((f"；{len(single)} 个分组只有一个聚类，未画出" if lang == "zh" else
                        f"; {len(single)} single-cluster subgroups not drawn") if single else ""))
    return fig


# ---- named predicates: defined once in helpers.present.findings (re-exported here) ---------------------------
def trend_interval(e: Effects) -> dict:
    """Callaway-Sant'Anna's event-time trend with the interval its word is judged on: the result's own, or with
    fewer than FEW_CLUSTERS clusters the county jackknife's (``basis``: ''/'few_cluster'/'none')."""
    tr = {**e.cs.event_time_trend(), "basis": ""}
    if few_clusters({"cluster": e.cluster, "clusters": e.cs.spec["clusters"]}) and not pd.isna(tr["slope"]):
        try:
            tr["ci_low"], tr["ci_high"] = e.cs.few_cluster_test(e.county_codes(e.cs), "trend").ci(0.95)
            tr["basis"] = "few_cluster"
        except EstimationError:
            tr.update(ci_low=np.nan, ci_high=np.nan, basis="none")
    return tr


# ---- how numbers of an outcome read --------------------------------------------------------------------------
OUTCOME_UNITS = {"income_pc": ("元/人/季", "yuan/person/quarter"), "earned_pc": ("元/人/季", "yuan/person/quarter"),
                 "log_income_pc": ("对数点", "log points")}


def _v(x: float, outcome: str, digits: int | None = None) -> str:
    """A number of an outcome as people read it: yuan without decimals, log points with three."""
    if pd.isna(x):
        return "—"
    if np.isinf(x):
        return "-∞" if x < 0 else "∞"
    if outcome.startswith("log_"):
        return f"{x:.3f}"
    return f"{x:,.{0 if digits is None else digits}f}"


def _unit(outcome: str, lang: str) -> str:
    return _l(OUTCOME_UNITS[outcome], lang)


QUARTERLY_LABELS = {"income_pc": ("人均季度纯收入", "quarterly per-capita net income"),
                    "earned_pc": ("人均季度工资性和经营性收入", "quarterly per-capita earned income (wages and business)"),
                    "log_income_pc": ("人均季度纯收入", "quarterly per-capita net income")}


def quarterly_label(outcome: str, lang: str = "zh") -> str:
    """The outcome as a level per person and quarter (log income reads as income, in percent)."""
    return _l(QUARTERLY_LABELS[outcome], lang)


def _effect_phrase(outcome: str, att: float, lo: float, hi: float, lang: str) -> str:
    """The effect as a level difference, sign-aware: '平均高 **330 元**（95%置信区间 290 至 370 元）', or for log
    income '平均高约 **8.1%**（0.078 对数点，…）'. Never 'grows by X every quarter' (analysis.md)."""
    higher = gap_direction(att) != "lower_point"
    hl = ("高", "higher") if higher else ("低", "lower")
    if outcome.startswith("log_"):
        pct = abs(100 * np.expm1(att))
        if lang == "zh":
            return f"平均{hl[0]}约 **{pct:.1f}%**（{att:.3f} 对数点，95%置信区间 {_v(lo, outcome)} 至 {_v(hi, outcome)}）"
        return f"about **{pct:.1f}%** {hl[1]} ({att:.3f} log points, 95% CI {_v(lo, outcome)} to {_v(hi, outcome)})"
    if lang == "zh":
        return f"平均{hl[0]} **{_v(abs(att), outcome)} 元**（95%置信区间 {_v(lo, outcome)} 至 {_v(hi, outcome)} 元）"
    return (f"**{_v(abs(att), outcome)} yuan** {hl[1]} per person on average (95% CI {_v(lo, outcome)} to "
            f"{_v(hi, outcome)})")


def page_heading(program: str, outcome: str, quarter: str, lang: str = "zh") -> str:
    """The effects page's title and first line: which program, which households, which outcome, which quarter."""
    zh = lang == "zh"
    prog = program_label(program, lang)
    who = {"any": ("开始获得任一帮扶（产业或就业）的农户", "households that started any support (industry or employment)"),
           "industry": ("第一项帮扶是产业帮扶的农户（先获就业帮扶的农户不在本页）",
                        "households whose first support was industry support (those that started with employment "
                        "support are on another page)"),
           "employment": ("第一项帮扶是就业帮扶的农户（先获产业帮扶的农户不在本页）",
                          "households whose first support was employment support (those that started with industry "
                          "support are on another page)")}[program]
    q = figures.quarter_label(quarter, lang)
    if zh:
        return (f"# 03 帮扶效果：{prog}\n\n本页估计**{prog}**对农户{quarterly_label(outcome, lang)}的效果（截至{q}）：对象是{who[0]}，"
                "与同期尚未获得帮扶的可比农户比较。先给结论，方法和各项结果在后。")
    return (f"# 03 Program effects: {prog}\n\nThis page estimates the effect of **{prog}** on households' "
            f"{quarterly_label(outcome, lang)} (up to {q}): {who[1]}, compared with comparable households not yet "
            "supported. The conclusion comes first, the method and the detailed results after it.")


def conclusion(e: Effects, table: pd.DataFrame, earned: Effects | None, lang: str = "zh",
               earned_table: pd.DataFrame | None = None) -> str:
    """The plain-language conclusion: the effect as a level difference (元 per person and quarter, or percent
    for log income) and in percent of the counterfactual; every qualitative word from a named predicate of
    ``helpers.present.findings``."""
    row = table[(table["estimator"] == "callaway_santanna") & (table["aggregate"] == "simple")].iloc[0]
    imp = table[(table["estimator"] == "imputation") & (table["aggregate"] == "simple")].iloc[0]
    tw = table[table["estimator"] == "twfe"].iloc[0]
    o, zh = e.outcome, lang == "zh"
    lo, hi, basis = headline_interval(row)
    sig = significant(lo, hi)
    agree = robust_estimates_agree(row, imp)
    position = twfe_position(tw["att"], {"ci_low": lo, "ci_high": hi})
    trend = trend_direction(trend_interval(e))
    prog = program_label(e.program, lang)
    what = quarterly_label(o, lang)
    phrase = _effect_phrase(o, row["att"], row["ci_low"], row["ci_high"], lang)
    text = (f"## 结论\n\n开始获得{prog}后，这些农户的{what}比没有帮扶时{phrase}" if zh else
            f"## Conclusion\n\nAfter {prog} starts, these households' {what} is {phrase} than without support")
    if not o.startswith("log_"):
        base = counterfactual_mean(e, row["att"])
        if base and base > 0:
            text += (f"，相当于没有帮扶时的 **{100 * abs(row['att']) / base:.1f}%**" if zh else
                     f", about **{100 * abs(row['att']) / base:.1f}%** of what they would have had without support")
    text += ("。这个数是每人每季度收入水平之差，不是逐季叠加的数。" if zh else
             ". This is a difference in the level of income per person and quarter, not an amount added every quarter. ")
    clusters = f"{int(row['clusters'])}"
    if basis == "few_cluster":
        text += (f"按{_l(SPEC_LABELS['cluster'].get(e.cluster, (e.cluster, e.cluster)), lang)}聚类只有 {clusters} 个聚类，"
                 "上面的区间偏窄，显著性按少聚类检验的区间判断：" if zh else
                 f"With only {clusters} clusters that interval is too narrow; significance is judged on the few-cluster "
                 "check's interval: ")
    elif basis == "none":
        text += (f"只有 {clusters} 个聚类且少聚类检验无法计算，不判断显著性。" if zh else
                 f"With only {clusters} clusters and no few-cluster check, significance is not judged. ")
    if sig is not None:
        text += ("这一效应" + words("significant", sig, lang) + "。") if zh else \
            f"The effect is {words('significant', sig, lang)}. "
    elif basis == "":
        text += "这一效应没有可用的置信区间，不判断显著性。" if zh else "The effect has no interval; significance is not judged. "
    text += (f"插补估计给出 {_v(imp['att'], o)}，{words('agree', agree, lang)}。" if zh else
             f"The imputation estimator gives {_v(imp['att'], o)}; {words('agree', agree, lang)}. ")
    text += (f"{words('trend', trend, lang)}（见事件研究）。" if zh else
             f"{words('trend', trend, lang)[0].upper()}{words('trend', trend, lang)[1:]} (see the event study). ")
    text += _twfe_sentence(tw["att"], o, position, trend, lang)
    if earned is not None:
        if earned_table is not None:
            er = earned_table[(earned_table["estimator"] == "callaway_santanna")
                              & (earned_table["aggregate"] == "simple")].iloc[0]
            e_lo, e_hi, _ = headline_interval(er)
        else:
            er = earned.cs.aggregate("simple").loc["overall"]
            e_lo, e_hi = er["ci_low"], er["ci_high"]
        e_sig = significant(e_lo, e_hi)
        eo = earned.outcome
        text += (f"扣除补贴等转移性收入，只看农户自己挣得的工资性和经营性收入，比没有帮扶时"
                 f"{_effect_phrase(eo, er['att'], e_lo, e_hi, lang)}"
                 + ("，" + words("significant", e_sig, lang) + "。" if e_sig is not None else "。")
                 if zh else f" On earned income alone (wages and business, what households earn themselves) it is "
                 f"{_effect_phrase(eo, er['att'], e_lo, e_hi, lang)}"
                 + (f", {words('significant', e_sig, lang)}." if e_sig is not None else "."))
    text += few_cluster_sentence(row, o, lang)
    return text


def _twfe_sentence(att: float, outcome: str, position: str, trend: str, lang: str) -> str:
    """TWFE against the robust estimate (below / above / inside its interval); the forbidden-comparison
    explanation only where the numbers show it (``findings.forbidden_comparisons``)."""
    zh = lang == "zh"
    text = (f"朴素的双向固定效应估计为 {_v(att, outcome)}，{words('twfe', position, lang)}" if zh else
            f"Naive two-way fixed effects gives {_v(att, outcome)}, {words('twfe', position, lang)}")
    why = forbidden_comparisons(position, trend)
    if why:
        return text + ("：" if zh else ": ") + words("forbidden", why, lang) + ("。" if zh else ".")
    return text + ("。" if zh else ".")


def few_cluster_sentence(row, outcome: str, lang: str) -> str:
    """The county-level check in one sentence (or why it is missing)."""
    zh = lang == "zh"
    if pd.isna(row["p_county"]):
        note = row.get("few_cluster_note", "")
        return ((f"县级少聚类检验无法计算：{FEW_CLUSTER_FAILED_ZH}" if zh else
                 f" The county-level few-cluster check cannot be computed ({note}).") if note else "")
    lo, hi = row["ci_county_low"], row["ci_county_high"]
    method = _l(FEW_CLUSTER_METHODS[row["few_cluster_method"]], lang)
    both, one = np.isinf(lo) and np.isinf(hi), np.isinf(lo) or np.isinf(hi)
    if zh:
        return (f"只按县区聚类（{int(row['counties'])} 个县区，{method}）的少聚类检验{_p_is(row['p_county'], lang)}，95%区间 "
                f"{_ci(lo, hi, outcome)}" + ("；区间两侧无界，只按县区聚类时数据不足以确定效应大小。" if both else
                                            "；区间一侧无界，只按县区聚类时数据只能确定效应的一侧。" if one else "。"))
    return (f" Clustered by county only ({int(row['counties'])} counties, {method}), the few-cluster check gives "
            f"{_p_is(row['p_county'], lang)} and a 95% interval of {_ci(lo, hi, outcome)}"
            + ("; the interval is unbounded on both sides: by county alone the data cannot pin the effect down." if both else
               "; the interval is unbounded on one side." if one else "."))


PRETEST_REASONS = {
    "no_pre_periods": ("没有开始帮扶前的季度可供检验", "there are no periods before support starts to test"),
    "few_clusters": ("聚类数太少", "there are too few clusters"),
    "few_treated": ("开始前的各项估计只依靠很少的获帮扶户（批次只有一两户）",
                    "the pre-start terms rest on too few supported households (cohorts of one or two)"),
    "singular": ("开始前各项估计的协方差矩阵奇异（常见于只有一两户的批次）",
                 "the covariance of the pre-start terms is singular (as with cohorts of one or two households)"),
    "no_variance": ("开始前某项估计没有抽样变异", "a pre-start term has no sampling variance"),
}


def pretrend_sentence(pre: dict, lang: str = "zh", shown: bool = False) -> str:
    """The joint pre-start test in a sentence (``findings.pretrends``): its p-value and verdict, or that it
    cannot be tested and why (``pre['reason_code']``/``pre['reason']``); ``shown``: pre-start points with
    intervals are in the figure to look at instead."""
    zh = lang == "zh"
    verdict = pretrends(pre)
    if verdict == "untestable":
        code, reason = pre.get("reason_code", ""), pre.get("reason", "") or ""
        why = _l(PRETEST_REASONS.get(code, (reason, reason)), lang)
        look = ("请看图中开始前各点及其区间。" if zh else " Look at the pre-start points and their intervals.") if shown else ""
        return ((f"无法做开始前差异的联合检验：{why}。" if zh else f"The joint pre-trend test cannot be computed: {why}.")
                + look + ("" if zh else " "))
    p = pre["pvalue"]
    text = (f"开始帮扶前的差异联合检验{_p_is(p, lang)}：{words('pretrends', verdict, lang)}。" if zh else
            f"The joint pre-trend test gives {_p_is(p, lang)}: {words('pretrends', verdict, lang)}. ")
    left = pre.get("left_out", 0) or 0
    if left:
        text += (f"（{left} 个开始前的季度只依靠不到五户获帮扶户或没有标准误，未纳入检验。）" if zh else
                 f"({left} pre-start terms resting on fewer than five supported households, or without a standard "
                 "error, are left out of the test.) ")
    return text


def trend_sentence(tr: dict, outcome: str, lang: str = "zh") -> str:
    """How the effect changes with time since start (``findings.trend_direction`` on the slope and its interval)."""
    zh = lang == "zh"
    direction = trend_direction(tr)
    step = ("对数点", "log points") if outcome.startswith("log_") else ("元", "yuan")
    slope = (f"{_v(tr['slope'], outcome, 1)} {step[0]}（95%区间 {_v(tr['ci_low'], outcome, 1)} 至 "
             f"{_v(tr['ci_high'], outcome, 1)}）" if zh else
             f"{_v(tr['slope'], outcome, 1)} {step[1]} (95% CI {_v(tr['ci_low'], outcome, 1)} to "
             f"{_v(tr['ci_high'], outcome, 1)})")
    w = words("trend", direction, lang)
    if not zh:
        w = w[0].upper() + w[1:]
    if direction == "grows":
        return f"{w}：开始后每多一个季度，效应平均增大 {slope}。" if zh else f"{w}: by {slope} per quarter since start."
    if direction == "fades":
        return f"{w}：开始后每多一个季度，效应平均变化 {slope}。" if zh else f"{w}: {slope} per quarter since start."
    if direction == "stays":
        return (f"{w}（开始后每多一个季度效应变化 {slope}，区间包含零）。" if zh else
                f"{w} ({slope} per quarter since start; the interval contains zero).")
    return f"{w}。" if zh else f"{w}."


def describe_event_study(e: Effects, lang: str = "zh") -> str:
    """Pre-trends (the joint test at 5%, or why it cannot be computed) and how the effect changes with time
    since start (grows / fades / stays, from the slope of the post-start effects and its interval)."""
    zh, o = lang == "zh", e.outcome
    dyn = e.cs.aggregate("dynamic").drop(index="overall")
    shown = bool(dyn[[int(i) < 0 for i in dyn.index]]["se"].notna().any())
    text = pretrend_sentence(e.cs.pretest(), lang, shown)
    post = dyn[[int(i) >= 0 for i in dyn.index]]
    first, last, k = post.iloc[0], post.iloc[-1], int(post.index[-1])
    tr = trend_interval(e)
    unit = _unit(o, lang)
    if k == 0:
        text += (f"开始当季效应为 {_v(first['att'], o)} {unit}。" if zh else
                 f"The effect is {_v(first['att'], o)} {unit} in the quarter support starts. ")
    else:      # event time k is the (k+1)-th quarter counting the start quarter
        text += (f"开始当季效应为 {_v(first['att'], o)} {unit}，开始后第 {k} 个季度为 {_v(last['att'], o)} {unit}。" if zh else
                 f"The effect is {_v(first['att'], o)} {unit} in the quarter support starts and {_v(last['att'], o)} "
                 f"{unit} {k} quarters later. ")
    if tr["basis"] == "few_cluster":
        text += ("（效应随时间变化的区间按县区刀切法计算：聚类太少，普通区间偏窄。）" if zh else
                 "(The trend's interval is the county jackknife's: with few clusters the usual one is too narrow.) ")
    return text + trend_sentence(tr, o, lang)


MIN_SUBGROUP = 30       # supported households a subgroup needs to be named in the sentence


def describe_heterogeneity(het: pd.DataFrame, lang: str = "zh", outcome: str = "income_pc") -> str:
    """The subgroups with the largest and smallest effects among those with an interval and at least
    MIN_SUBGROUP supported households (the sentence says so), and whether their intervals overlap; with fewer
    than FEW_CLUSTERS clusters no overlap is judged (the intervals are too narrow)."""
    zh = lang == "zh"
    h = het.dropna(subset=["att", "ci_low", "ci_high"])
    h = h[h["treated_households"] >= MIN_SUBGROUP]
    if len(h) < 2:
        return (f"可比较的分组（至少{MIN_SUBGROUP}户获帮扶且有置信区间）不足两个。" if zh else
                f"Fewer than two subgroups have an interval and at least {MIN_SUBGROUP} supported households to compare.")
    hi, lo = h.loc[h["att"].idxmax()], h.loc[h["att"].idxmin()]
    few = few_clusters(het.iloc[0])
    overlap = intervals_overlap(hi, lo)
    if zh:
        judged = "只有几个聚类，分组区间偏窄，不据此判断差异。" if few else words("overlap", overlap, lang) + "。"
        return (f"在至少有{MIN_SUBGROUP}户获帮扶且有置信区间的分组中，效应最大的是{hi['dimension']}“{hi['group']}”"
                f"（{_v(hi['att'], outcome)}），最小的是{lo['dimension']}“{lo['group']}”（{_v(lo['att'], outcome)}）；"
                + judged + "分组依据开始帮扶前的首个季度。")
    judged = ("with only a few clusters the subgroup intervals are too narrow to judge the difference. " if few else
              words("overlap", overlap, lang) + ". ")
    return (f"Among subgroups with an interval and at least {MIN_SUBGROUP} supported households, the largest effect is "
            f"for {hi['dimension']} '{hi['group']}' ({_v(hi['att'], outcome)}), the smallest for {lo['dimension']} "
            f"'{lo['group']}' ({_v(lo['att'], outcome)}); " + judged
            + "Subgroups are taken from the first quarter observed, before support.")


def show_dose(dose: pd.DataFrame, lang: str = "zh", outcome: str = "income_pc") -> pd.DataFrame:
    """The subsidy-bin table with readable headers and units (one row per bin, no household rows)."""
    unit = _unit(outcome, lang)
    labels = {"bin": ("补助档", "bin"), "subsidy_range": ("开始当季产业补助（元）", "subsidy in the first quarter (yuan)"),
              "treated_households": ("获帮扶户数", "supported households"),
              "att": (f"效应（{unit}）", f"effect ({unit})"), "se": ("标准误", "SE"), "note": ("说明", "note")}
    digits = 3 if outcome.startswith("log_") else 1
    out = dose.round({"att": digits, "se": digits}).assign(note=[_l(SUBGROUP_NOTES[n], lang) for n in dose["note"]])
    if not out["note"].astype(bool).any():
        out = out.drop(columns="note")
    out = out.rename(columns={k: _l(v, lang) for k, v in labels.items()})
    return out.set_index(out.columns[0])


def describe_dose(dose: pd.DataFrame, lang: str = "zh", outcome: str = "income_pc") -> str:
    """The subsidy-bin result, its comparison group, and the assumption a causal reading would need."""
    d = dose.dropna(subset=["att"])
    if d.empty:
        return "补助分档样本不足。" if lang == "zh" else "Too few households per subsidy bin."
    unit = _unit(outcome, lang)
    parts = ("、".join(f"{r['bin']}档 {_v(r['att'], outcome)}" for _, r in d.iterrows()) if lang == "zh" else
             ", ".join(f"{r['bin']} {_v(r['att'], outcome)}" for _, r in d.iterrows()))
    if lang == "zh":
        return (f"按开始当季的产业补助金额分三档，每档都与从未获帮扶的农户比较，效应分别为（{unit}）：{parts}。这是效应的分组差异，"
                "不是“多补一元增收多少”的因果剂量反应：补助金额不是随机分配的，要作因果解读，还需假定不同补助档的农户在补助额不同时的"
                "收入变化相同（更强的平行趋势假定）。")
    return (f"By industry subsidy in the first treated quarter (tertiles), each bin against never-supported households "
            f"({unit}): {parts}. This describes heterogeneity, not a causal dose-response: subsidies are not assigned at random, "
            "and a causal reading needs the stronger assumption that households in every bin would have responded alike to "
            "every subsidy level.")


def dose_section(program: str) -> bool:
    """Whether a program's page shows the subsidy bins: only industry support has a subsidy amount, and the
    'any' page would show the same table as the industry page (the bins are industry households)."""
    return program == "industry"


def no_dose(lang: str = "zh") -> str:
    """Why the employment-support notebook shows no subsidy bins."""
    return ("补助分档只针对产业帮扶（产业补助金额）；就业帮扶没有对应的补助金额，这一节不适用。" if lang == "zh" else
            "Subsidy bins concern industry support (the industry subsidy); employment support has no such amount, so this "
            "section does not apply.")
