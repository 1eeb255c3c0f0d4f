"""What the effects notebook (03_effects) shows: estimates side by side, event study,
heterogeneity, subsidy bins, the county-level check, and the conclusion in plain language.

Every table here is built from the estimators' tidy results (``helpers.effects``); figures use
the workbook's style (``helpers.figures``). Only aggregates leave this module: no household rows.
"""
from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from helpers import figures
from helpers.construct import OUTCOMES, PROGRAM_LABELS, Panel
from helpers.dictionary import COUNTIES
from helpers.effects import EstimationError, callaway_santanna, imputation, twfe
from helpers.quarters import index_quarter

ESTIMATOR_LABELS = {"callaway_santanna": ("Callaway-Sant'Anna（稳健）", "Callaway-Sant'Anna (robust)"),
                    "imputation": ("插补估计 BJS（稳健）", "Imputation, BJS (robust)"),
                    "twfe": ("双向固定效应（朴素）", "Two-way FE (naive)")}
SEED = 20230711
# What the estimates and the figures built from them need of the panel (one narrow copy per estimate).
ESTIMATION_COLUMNS = ["household_id", "time", "cohort", "treated", "first_program", "county", "village"]


def _p(p: float) -> str:
    """A p-value as people read it."""
    return "<0.001" if p < 0.001 else f"{p:.3f}"


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
        county = self.sample.groupby("household_id", observed=True)["county"].first().astype(str)
        return county.reindex(result.panel.units).to_numpy()


def estimate(panel: Panel, program: str = "any", outcome: str = "income_pc", control: str = "not_yet",
             covariates: list[str] | None = None, cluster: str | None = "village") -> Effects:
    """Run the three estimators on the program's sample, each with every option it takes: the panel's
    balance, the cluster, the control group and covariates (Callaway-Sant'Anna). The imputation
    estimator and TWFE take no covariates and TWFE no control group: their rows say so (``spec``)."""
    covariates = list(covariates or [])
    extra = [c for c in [*covariates, cluster] if c and c not in ESTIMATION_COLUMNS]
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
    return {"sample": s["sample"], "units": s["units"], "observations": s["observations"], "control": s["control"],
            "covariates": s["covariates"], "cluster": e.cluster, "clusters": s["clusters"]}


def comparison(e: Effects, lang: str = "zh", reps: int = 9999, few_cluster: str = "jackknife") -> pd.DataFrame:
    """The estimators side by side: overall effect (元 per person per quarter), SE, 95% CI, the sample
    and specification of each row, and for the robust ones the pre-trend test and the county-level
    few-cluster check (``few_cluster``: cluster jackknife with t(G-1), or the wild cluster restricted
    bootstrap; p-value and 95% interval; NaN with ``few_cluster_note`` where it cannot be computed)."""
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
            rows.append({"estimator": name, "aggregate": kind, "att": a["att"], "se": a["se"],
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


def _ci(lo: float, hi: float) -> str:
    """An interval as people read it; an unbounded side shows as ∞."""
    if pd.isna(lo) or pd.isna(hi):
        return "—"
    side = lambda x: ("-∞" if x < 0 else "∞") if np.isinf(x) else f"{x:,.1f}"  # noqa: E731
    return f"[{side(lo)}, {side(hi)}]"


def show_comparison(table: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
    """The comparison with readable labels and units, and on which sample and specification each row rests."""
    agg = {"simple": ("全部处理期平均", "all treated periods"), "dynamic": ("按事件时间平均", "average over event times")}
    none = "无" if lang == "zh" else "none"
    out = pd.DataFrame({
        ("估计方法" if lang == "zh" else "estimator"): [_l(ESTIMATOR_LABELS[x], lang) for x in table["estimator"]],
        ("汇总方式" if lang == "zh" else "aggregate"): [_l(agg[x], lang) for x in table["aggregate"]],
        ("效应（元/人/季）" if lang == "zh" else "effect (yuan/person/quarter)"): table["att"].round(1),
        ("标准误" if lang == "zh" else "SE"): table["se"].round(1),
        ("95%置信区间" if lang == "zh" else "95% CI"): [_ci(a, b) for a, b in zip(table["ci_low"], table["ci_high"])],
        ("县级少聚类检验 p 值" if lang == "zh" else "county few-cluster p"): table["p_county"].map(
            lambda p: "—" if pd.isna(p) else _p(p)),
        ("县级少聚类95%区间" if lang == "zh" else "county few-cluster 95% CI"):
            [_ci(a, b) for a, b in zip(table["ci_county_low"], table["ci_county_high"])],
        ("样本（户）" if lang == "zh" else "sample (households)"):
            [f"{_l(SPEC_LABELS['sample'][s], lang)} {u:,}" for s, u in zip(table["sample"], table["units"])],
        ("对照" if lang == "zh" else "comparison"): [_l(SPEC_LABELS["control"][c], lang) for c in table["control"]],
        ("协变量" if lang == "zh" else "covariates"): [c or none for c in table["covariates"]],
        ("聚类（个数）" if lang == "zh" else "clusters (number)"):
            [f"{_l(SPEC_LABELS['cluster'].get(c, (c, c)), lang)}（{k:,}）" if lang == "zh" else
             f"{_l(SPEC_LABELS['cluster'].get(c, (c, c)), lang)} ({k:,})" for c, k in zip(table["cluster"], table["clusters"])],
    })
    return out.set_index(out.columns[0])


def tidy(e: Effects, table: pd.DataFrame, quarter: str) -> pd.DataFrame:
    """Everything the report needs, in one long table (saved as results/effects_<program>.parquet)."""
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
    out = pd.concat(parts, ignore_index=True)
    over = table.set_index(["estimator", "aggregate"])
    for col in ("p_county", "ci_county_low", "ci_county_high", "few_cluster_method"):
        out[col] = [over[col].get((r.estimator, r.aggregate), np.nan) if r.term == "overall" else np.nan
                    for r in out.itertuples()]
    for col in ("sample", "units", "control", "covariates", "cluster", "clusters"):
        spec = over[col].groupby(level=0).first()
        out[col] = out["estimator"].map(spec)
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
    return t.rename(columns={k: _l(v, lang) for k, v in EXCLUDED.items()})


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
    ax.set_ylabel(f"{outcome_label(e.outcome, lang)}（元/人/季）" if lang == "zh" else f"{outcome_label(e.outcome, lang)} (yuan/person/quarter)")
    ax.set_title((f"{program_label(e.program, lang)}对{outcome_label(e.outcome, lang)}的影响：事件研究" if lang == "zh"
                  else f"Effect of {program_label(e.program, lang)} on {outcome_label(e.outcome, lang)}: event study"))
    ax.legend(loc="upper left", fontsize=9)
    figures.caption(fig, quarter, lang, ("竖线左侧为开始前（检验平行趋势），误差线为95%置信区间" if lang == "zh"
                                         else "left of the dashed line: before start (pre-trends); bars: 95% CI"))
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
                 (("是" if val else "否") if lang == "zh" else ("yes" if val else "no")) if col == "relocated" else val)
        n_treated = int(sub.loc[sub["cohort"] > 0, "household_id"].nunique())
        est, note = _subgroup_estimate(sub, e.outcome, e.control, e.covariates, cluster, panel.balanced)
        rows.append({"dimension": _l(names[col], lang), "group": label, "treated_households": n_treated, **est,
                     "cluster": e.cluster, "note": note})
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
    ax.set_xlabel("效应（元/人/季）" if lang == "zh" else "effect (yuan/person/quarter)")
    ax.set_title((f"{program_label(e.program, lang)}效应的分组差异（基期分组）" if lang == "zh"
                  else f"Effect of {program_label(e.program, lang)} by baseline subgroup"))
    ax.legend(loc="lower right", fontsize=9)
    cluster = _l(SPEC_LABELS["cluster"].get(e.cluster, (e.cluster, e.cluster)), lang)
    single = het.loc[het["note"] == "one_cluster", "group"].tolist()
    figures.caption(fig, quarter, lang, (f"Callaway-Sant'Anna，按{cluster}聚类的95%置信区间" if lang == "zh"
                                         else f"Callaway-Sant'Anna, 95% CI clustered by {cluster}")
                    + ((f"；{'、'.join(map(str, single))}各为一个聚类，没有区间，未画出" if lang == "zh" else
                        f"; {', '.join(map(str, single))} are single clusters without an interval, not drawn") if single else ""))
    return fig


def robust_estimates_agree(a, b) -> bool:
    """The two robust estimates agree: each lies within the other's 95% interval (analysis.md)."""
    return bool(b["ci_low"] <= a["att"] <= b["ci_high"] and a["ci_low"] <= b["att"] <= a["ci_high"])


def conclusion(e: Effects, table: pd.DataFrame, earned: Effects | None, lang: str = "zh") -> str:
    """The plain-language conclusion: effect in 元 per person per quarter and in percent."""
    row = table[(table["estimator"] == "callaway_santanna") & (table["aggregate"] == "simple")].iloc[0]
    imp = table[(table["estimator"] == "imputation") & (table["aggregate"] == "simple")].iloc[0]
    tw = table[table["estimator"] == "twfe"].iloc[0]
    base = counterfactual_mean(e, row["att"])
    pct = 100 * row["att"] / base if base else np.nan
    significant = row["ci_low"] > 0 or row["ci_high"] < 0
    agree = robust_estimates_agree(row, imp)
    unbounded = bool(np.isinf(row["ci_county_low"]) or np.isinf(row["ci_county_high"]))
    prog = program_label(e.program, lang)
    if lang == "zh":
        text = (f"**结论：** 开始获得{prog}后，户人均纯收入比可比农户平均每季度多增加 **{row['att']:,.0f} 元**"
                f"（95%置信区间 {row['ci_low']:,.0f} 至 {row['ci_high']:,.0f} 元），约为这些农户在没有帮扶时收入的 "
                f"**{pct:.1f}%**。" + ("这一效应在统计上显著。" if significant else "这一效应在统计上不显著，不能排除没有效果。")
                + f"插补估计给出 {imp['att']:,.0f} 元，" + ("两种稳健方法一致（各自落在对方的95%置信区间内）。" if agree else
                                                         "两种稳健方法不一致（至少一个落在对方的95%置信区间外），结论需谨慎。")
                + f"朴素的双向固定效应估计为 {tw['att']:,.0f} 元："
                f"{'明显低估' if tw['att'] < row['att'] - 2 * row['se'] else ('明显高估' if tw['att'] > row['att'] + 2 * row['se'] else '与稳健估计接近')}，"
                "原因是帮扶效果随时间增长、各批次不同时，它会把较早开始帮扶的农户当作对照。")
        if earned is not None:
            er = earned.cs.aggregate("simple").loc["overall"]
            text += (f"扣除补贴等转移性收入后，工资性和经营性收入的效应为 {er['att']:,.0f} 元/人/季"
                     f"（{er['ci_low']:,.0f} 至 {er['ci_high']:,.0f}），这部分是农户自身挣得的增收。")
        if not np.isnan(row["p_county"]):
            text += (f"只按县区聚类（{int(row['counties'])} 个县区）的少聚类检验 p 值为 {_p(row['p_county'])}，"
                     f"95%区间 {_ci(row['ci_county_low'], row['ci_county_high'])} 元"
                     + ("；区间一侧无界，只按县区聚类时数据不足以确定效应大小。" if unbounded else "。"))
        return text
    text = (f"**Conclusion:** after support with {prog} starts, per-capita income grows by **{row['att']:,.0f} yuan per person "
            f"per quarter** more than in comparable households (95% CI {row['ci_low']:,.0f} to {row['ci_high']:,.0f}), about "
            f"**{pct:.1f}%** of what these households would have earned without support. "
            + ("The effect is statistically significant. " if significant else "The effect is not statistically significant. ")
            + f"The imputation estimator gives {imp['att']:,.0f}"
            + ("; the two robust estimates agree (each lies in the other's 95% CI). " if agree else
               "; the two robust estimates disagree (one lies outside the other's 95% CI): read with care. ")
            + f"Naive two-way fixed effects gives {tw['att']:,.0f}: with effects "
            "that grow over time and differ by cohort it uses earlier-supported households as controls.")
    if earned is not None:
        er = earned.cs.aggregate("simple").loc["overall"]
        text += f" On earned income (wages and business) the effect is {er['att']:,.0f} ({er['ci_low']:,.0f} to {er['ci_high']:,.0f})."
    if not np.isnan(row["p_county"]):
        text += (f" Clustered by county only ({int(row['counties'])} counties), the few-cluster test gives p = "
                 f"{_p(row['p_county'])} and a 95% interval of {_ci(row['ci_county_low'], row['ci_county_high'])}"
                 + ("; the interval is unbounded on one side: by county alone the data cannot pin the effect down." if unbounded
                    else "."))
    return text


PRETEST_REASONS = {
    "no_pre_periods": ("没有开始帮扶前的季度可供检验", "there are no periods before support starts to test"),
    "few_clusters": ("聚类数太少", "there are too few clusters"),
    "few_treated": ("开始前的各项估计只依靠很少的获帮扶户（批次只有一两户）",
                    "the pre-start terms rest on too few supported households (cohorts of one or two)"),
    "singular": ("开始前各项估计的协方差矩阵奇异（常见于只有一两户的批次）",
                 "the covariance of the pre-start terms is singular (as with cohorts of one or two households)"),
    "no_variance": ("开始前某项估计没有抽样变异", "a pre-start term has no sampling variance"),
}


def describe_event_study(e: Effects, lang: str = "zh") -> str:
    """One sentence on pre-trends and how the effect grows."""
    pre = e.cs.pretest()
    dyn = e.cs.aggregate("dynamic").drop(index="overall")
    post = dyn[[int(i) >= 0 for i in dyn.index]]
    first, last = post.iloc[0], post.iloc[-1]
    p = pre["pvalue"]
    why = _l(PRETEST_REASONS.get(pre["reason_code"], (pre["reason"], pre["reason"])), lang)
    if lang == "zh":
        trend = ("开始帮扶前各季度的差异都接近零，联合检验 p 值为 {:.2f}，没有证据表明两组农户原本的收入走势不同。".format(p)
                 if p == p and p > 0.05 else
                 ("开始帮扶前的差异联合检验 p 值为 {:.3f}，需警惕两组农户原本走势不同。".format(p) if p == p else
                  f"无法做开始前差异的联合检验：{why}。请看图中开始前各点及其区间。"))
        return (trend + f"开始当季效应为 {first['att']:,.0f} 元/人/季，到第 {int(post.index[-1])} 个季度增至 "
                f"{last['att']:,.0f} 元：帮扶效果随时间累积。")
    trend = (f"Before support starts the differences are close to zero (joint test p = {p:.2f}): no sign that the groups' incomes "
             "were already diverging." if p == p and p > 0.05 else
             (f"The joint pre-trend test gives p = {p:.3f}: be cautious." if p == p else
              f"The joint pre-trend test cannot be computed: {why}. Look at the pre-start points and their intervals."))
    return trend + (f" The effect is {first['att']:,.0f} yuan in the first quarter and {last['att']:,.0f} by quarter "
                    f"{int(post.index[-1])}: effects build up over time.")


def describe_heterogeneity(het: pd.DataFrame, lang: str = "zh") -> str:
    """One sentence naming the subgroups with the largest and smallest effects."""
    h = het.dropna(subset=["att"])
    h = h[h["treated_households"] >= 30]
    if h.empty:
        return "各分组样本太少，无法比较。" if lang == "zh" else "Subgroups are too small to compare."
    hi, lo = h.loc[h["att"].idxmax()], h.loc[h["att"].idxmin()]
    if lang == "zh":
        return (f"效应最大的是{hi['dimension']}“{hi['group']}”（{hi['att']:,.0f} 元），最小的是{lo['dimension']}“{lo['group']}”"
                f"（{lo['att']:,.0f} 元）；置信区间重叠时，差异可能只是抽样波动。分组依据开始帮扶前的首个季度。")
    return (f"The largest effect is for {hi['dimension']} '{hi['group']}' ({hi['att']:,.0f}), the smallest for {lo['dimension']} "
            f"'{lo['group']}' ({lo['att']:,.0f}); where intervals overlap the difference may be noise. Subgroups are taken "
            "from the first quarter observed, before support.")


def show_dose(dose: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
    """The subsidy-bin table with readable headers and units (one row per bin, no household rows)."""
    labels = {"bin": ("补助档", "bin"), "subsidy_range": ("开始当季产业补助（元）", "subsidy in the first quarter (yuan)"),
              "treated_households": ("获帮扶户数", "supported households"),
              "att": ("效应（元/人/季）", "effect (yuan/person/quarter)"), "se": ("标准误", "SE")}
    out = dose.round({"att": 1, "se": 1}).assign(note=[_l(SUBGROUP_NOTES[n], lang) for n in dose["note"]])
    if not out["note"].astype(bool).any():
        out = out.drop(columns="note")
    labels["note"] = ("说明", "note")
    out = out.rename(columns={k: _l(v, lang) for k, v in labels.items()})
    return out.set_index(out.columns[0])


def describe_dose(dose: pd.DataFrame, lang: str = "zh") -> str:
    """The subsidy-bin result with the assumption a causal reading would need."""
    d = dose.dropna(subset=["att"])
    if d.empty:
        return "补助分档样本不足。" if lang == "zh" else "Too few households per subsidy bin."
    parts = "、".join(f"{r['bin']}档 {r['att']:,.0f} 元" for _, r in d.iterrows()) if lang == "zh" else \
        ", ".join(f"{r['bin']} {r['att']:,.0f}" for _, r in d.iterrows())
    if lang == "zh":
        return (f"按开始当季的产业补助金额分三档，效应分别为：{parts}。这是效应的分组差异，不是“多补一元增收多少”的因果剂量反应："
                "补助金额不是随机分配的，要作因果解读，还需假定不同补助档的农户在补助额不同时的收入变化相同（更强的平行趋势假定）。")
    return (f"By industry subsidy in the first treated quarter (tertiles): {parts}. This describes heterogeneity, not a causal "
            "dose-response: subsidies are not assigned at random, and a causal reading needs the stronger assumption that "
            "households in every bin would have responded alike to every subsidy level.")
