"""What the effects notebook (03_effects) shows: estimates side by side, event study,
heterogeneity, subsidy bins, the county-level check, and the conclusion in plain language.

Every table, figure and sentence here is a function of results and a language: the plain result objects and
tidy frames of ``helpers.analysis.program_effects`` (``EffectsResult``, the ``effects`` artifact's frame, the
subgroup and subsidy-bin frames). Nothing here runs an estimator. Figures use the workbook's style
(``helpers.present.figures``). Only aggregates leave this module: no household rows.

Every name shown here (estimators, aggregations, specification choices, outcomes and their units, household
types, subgroups, subsidy bins, pretest reasons, table headers) comes from the label catalogue
(``helpers.domain.labels``); the sentences that use them are written here, in both languages.
"""
from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator
from matplotlib.ticker import PercentFormatter
from matplotlib.ticker import StrMethodFormatter
import numpy as np
import pandas as pd

from helpers.present import figures
from helpers.present.display import disclose_value
from helpers.analysis.construct import SHARE_OUTCOMES, Panel
from helpers.analysis.program_effects import HEADLINE, EffectsResult, event_study
from helpers.domain.dictionary import COUNTIES
from helpers.present.findings import (FEW_CLUSTERS, county_check, few_clusters, forbidden_comparisons, gap_direction,  # noqa: F401
                                      headline_interval, intervals_overlap, pretrends, robust_estimates_agree,
                                      significant, staggered_starts, trend_direction, twfe_position, words)
from helpers.domain.labels import label
from helpers.domain.quarters import index_quarter


def _p(p: float) -> str:
    """A p-value as people read it in a table."""
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _p_is(p: float, lang: str) -> str:
    """A p-value in a sentence: 'p 值为 0.012' / 'p 值小于 0.001', 'p = 0.012' / 'p < 0.001'."""
    if lang == "zh":
        return " p 值小于 0.001" if p < 0.001 else f" p 值为 {p:.3f}"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _paren(text: str, inside: str, lang: str) -> str:
    """``text`` with ``inside`` in brackets as each language writes them: “效应（元）”, “effect (yuan)”."""
    return f"{text}（{inside}）" if lang == "zh" else f"{text} ({inside})"


def program_label(program: str, lang: str = "zh") -> str:
    return label("program", program, lang)


def outcome_label(outcome: str, lang: str = "zh") -> str:
    return label("outcome", outcome, lang)


def estimator_label(estimator: str, lang: str = "zh") -> str:
    return label("estimator", estimator, lang)


def cluster_label(cluster: str, lang: str = "zh") -> str:
    return label("cluster", cluster, lang)


# Why the county-level check cannot be computed, in Chinese (the English sentence quotes the estimator's note).
FEW_CLUSTER_FAILED_ZH = "县区少于两个，或去掉某个县区后没有获帮扶户或对照户（例如所有获帮扶户都在同一县区）。"


def _ci(lo: float, hi: float, outcome: str = "income_pc") -> str:
    """An interval as people read it; an unbounded side shows as ∞."""
    if pd.isna(lo) or pd.isna(hi):
        return "—"
    return f"[{_v(lo, outcome, 1)}, {_v(hi, outcome, 1)}]"


def show_comparison(table: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
    """The comparison with readable labels and units, and on which sample and specification each row rests."""
    zh = lang == "zh"
    h = lambda key: label("header", key, lang)  # noqa: E731
    o = table["outcome"].iloc[0]
    unit = _unit(o, lang)
    digits = 3 if o.startswith("log_") else 1
    shown = (lambda x: 100 * x) if o in SHARE_OUTCOMES else (lambda x: x)  # noqa: E731  a share reads in points
    method = next((m for m in table["few_cluster_method"] if m), "")
    check = _paren(h("few_cluster_check"), label("few_cluster_method", method, lang), lang) if method else \
        h("few_cluster_check")
    sample = [f"{label('sample', r.sample, lang)} {r.units:,}" + (
        (f"（{r.units_without_untreated_period:,} 户无未帮扶季度，未用）" if zh else
         f" ({r.units_without_untreated_period:,} without an unsupported quarter, not used)")
        if r.units_without_untreated_period else "") for r in table.itertuples()]
    out = pd.DataFrame({
        h("estimator"): [estimator_label(x, lang) for x in table["estimator"]],
        h("aggregate"): [_paren(label("aggregate", x, lang), h("headline"), lang) if (n, x) == HEADLINE else
                         label("aggregate", x, lang) for n, x in zip(table["estimator"], table["aggregate"])],
        _paren(h("effect"), unit, lang): shown(table["att"]).round(digits) + 0.0,      # + 0.0: never "-0.0"
        h("se"): shown(table["se"]).round(digits),
        h("ci95"): [_ci(a, b, o) for a, b in zip(table["ci_low"], table["ci_high"])],
        f"{check} {h('p_value')}": table["p_county"].map(lambda p: "—" if pd.isna(p) else _p(p)),
        h("few_cluster_ci95"): [_ci(a, b, o) for a, b in zip(table["ci_county_low"], table["ci_county_high"])],
        h("sample_households"): sample,
        h("household_quarters"): [f"{x:,}" for x in table["observations"]],
        h("comparison"): [label("control", c, lang) for c in table["control"]],
        h("covariates"): [("、" if zh else ", ").join(covariate_label(x, lang) for x in c.split(",")) if c else h("none")
                          for c in table["covariates"]],
        h("clusters_number"): [_paren(cluster_label(c, lang), f"{k:,}", lang)
                               for c, k in zip(table["cluster"], table["clusters"])],
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
        text += (f"{estimator_label(r.estimator, lang)}的县级少聚类检验无法计算：{FEW_CLUSTER_FAILED_ZH}" if zh else
                 f"The county-level check of {estimator_label(r.estimator, lang)} cannot be computed: {r.few_cluster_note}. ")
    return text


ACCOUNTING_LABELS = {"households": "window_households", "dropped_for_gaps": "gaps_out", "always_treated": "always_out",
                     "other_program": "other_program_out", "estimated": "estimated",
                     "start_disagreements": "start_earliest"}


def excluded_table(panel: Panel, lang: str = "zh", program: str = "any") -> pd.DataFrame:
    """Every household of the window, per county, once: left out for gaps, supported before the window, the other
    program first (a program's page), in the estimation (``Panel.accounting``), with a total row; counts under 5
    show "<5" (analysis.md)."""
    t = panel.accounting(program)
    t = t.reindex([c for c in COUNTIES if c in t.index])
    if program == "any":
        t = t.drop(columns="other_program")
    t.loc[label("header", "total", lang)] = t.sum()
    t.index = [figures.county_label(c, lang) if c in COUNTIES else c for c in t.index]
    t.index.name = label("header", "county", lang)
    t = t.map(lambda x: disclose_value("count", float(x)))
    return t.rename(columns={k: label("excluded", ACCOUNTING_LABELS[k], lang) for k in t.columns})


def describe_excluded(panel: Panel, lang: str = "zh", program: str = "any") -> str:
    """What the table of households says, in the order the rules apply (each household counted once)."""
    t = panel.accounting(program).sum()
    zh = lang == "zh"
    n = lambda k: disclose_value("count", float(t[k]))  # noqa: E731
    out = [(k, n(k)) for k in ("dropped_for_gaps", "always_treated", "other_program") if t[k] and
           (program != "any" or k != "other_program")]
    if zh:
        s = f"窗口内共 {n('households')} 户：" + "".join(f"{label('excluded', ACCOUNTING_LABELS[k], lang).split('（')[0]} {v} 户，"
                                                      for k, v in out)
        s += f"参与估计的 {n('estimated')} 户。"
        if t["start_disagreements"]:
            s += f"其中 {n('start_disagreements')} 户在不同季度报送的开始帮扶季度不一致，按最早的季度计。"
        return s
    s = f"{n('households')} households in the window: " + "".join(
        f"{v} {label('excluded', ACCOUNTING_LABELS[k], lang).split(' (')[0]}; " for k, v in out)
    s += f"{n('estimated')} in the estimation."
    if t["start_disagreements"]:
        s += f" Of these, {n('start_disagreements')} reported different start quarters; the earliest is used."
    return s


def earned_heading(lang: str = "zh") -> str:
    """The heading and first lines of the earned-income section."""
    if lang == "zh":
        return ("## 扣除转移性收入后的效果\n\n补贴和公益性岗位工资本身就是帮扶的一部分；工资性和经营性收入显示农户自己多挣了多少。"
                "主要结果仍是上面的人均纯收入。")
    return ("## Earned income\n\nSubsidies and public-welfare job wages are part of the support itself; wages and business "
            "income show what households earn themselves. The headline remains total income above.")


def dose_heading(lang: str = "zh") -> str:
    """The heading of the industry-subsidy bins section."""
    return "## 产业补助分档" if lang == "zh" else "## Industry subsidy bins"


def describe_cohorts(r: EffectsResult, lang: str = "zh") -> str:
    """What the cohort chart shows: how many start quarters and households, and whether starts are staggered
    (``findings.staggered_starts``), which is what the robust estimators are for."""
    zh = lang == "zh"
    c = r.cohorts[r.cohorts["cohort"] > 0]
    sizes = c.groupby("cohort")["households"].sum()
    sizes = sizes[sizes > 0]
    n, k = int(sizes.sum()), len(sizes)
    if staggered_starts(sizes.tolist()):
        return (f"柱子是每个季度开始获得帮扶的户数：{n:,} 户分 {k} 个季度开始，开始时间不同（交错开始），所以用适合交错开始的稳健方法。"
                "下表按县区列出窗口内每户的去向：因何未参与估计，多少户参与估计。" if zh else
                f"Bars: households by the quarter support started. {n:,} households started in {k} different quarters "
                "(staggered starts), which is what the robust estimators are for. The table below follows every household of the window, per county: "
                "left out, and why, or in the estimation.")
    return (f"柱子是每个季度开始获得帮扶的户数：{n:,} 户都在同一个季度开始，没有交错开始。"
            "下表按县区列出窗口内每户的去向：因何未参与估计，多少户参与估计。" if zh else
            f"Bars: households by the quarter support started. All {n:,} started in the same quarter: no staggered "
            "starts. The table below counts, per county, the households left out and why.")


def plot_cohorts(r: EffectsResult, quarter: str, lang: str = "zh"):
    """Who got support and when: households by start quarter and first program."""
    c = r.cohorts[r.cohorts["cohort"] > 0]
    t = c.pivot_table(index="cohort", columns="first_program", values="households", aggfunc="sum",
                      fill_value=0).sort_index()
    fig, ax = plt.subplots(figsize=(8, 4))
    quarters = [index_quarter(c) for c in t.index]
    bottom = np.zeros(len(t))
    colors = {"industry": "#3a9e5c", "employment": "#1b6ca8", "both": "#7d5ba6"}
    cols = [c for c in ("industry", "employment", "both") if c in t.columns]
    if ((t[cols] > 0) & (t[cols] < 5)).to_numpy().any():
        # a segment under 5 households would show a count the disclosure rule hides: totals only, and a total
        # under 5 as a hatched bar of height 5 labelled "<5"
        total = t[cols].sum(axis=1).to_numpy()
        small = total < 5
        ax.bar(quarters, np.where(small, 5, total), color=np.where(small, "white", "#555555"), edgecolor="#555555",
               hatch=None, label=label("header", "households", lang))
        for i, v in enumerate(total):
            if small[i]:
                ax.text(i, 5, "<5", ha="center", va="bottom", fontsize=9)
    else:
        for col in cols:
            ax.bar(quarters, t[col], bottom=bottom, color=colors[col], label=label("first_program", col, lang))
            bottom += t[col].to_numpy()
    never = int(r.cohorts.loc[r.cohorts["cohort"] == 0, "households"].sum())
    ax.set_title(("各季度开始获得帮扶的户数" if lang == "zh" else "Households by quarter support started"))
    ax.set_ylabel(label("header", "households", lang))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))          # households are whole numbers
    ax.tick_params(axis="x", rotation=45)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    nv = disclose_value("count", float(never))
    figures.caption(fig, quarter, lang, (f"对照：窗口内未获帮扶 {nv} 户" if lang == "zh" else f"{nv} households never supported in the window"))
    return fig


def few_clusters_caption(cluster: str, k: int, lang: str) -> str:
    """A warning for a figure's caption when its intervals rest on fewer than FEW_CLUSTERS clusters."""
    if not few_clusters({"cluster": cluster, "clusters": k}):
        return ""
    return (f"；只有 {k} 个聚类，区间偏窄" if lang == "zh" else f"; only {k} clusters: intervals too narrow")


def main_outcome(frame: pd.DataFrame) -> str:
    """The outcome an effects frame is about (earned income is the supplement when there is another)."""
    outcomes = list(dict.fromkeys(frame["outcome"]))
    return next((x for x in outcomes if x != "earned_pc"), "earned_pc")


def plot_event_study(frame: pd.DataFrame, quarter: str, lang: str = "zh", max_e: int | None = None):
    """Effects by quarters since start: CS (with pre-periods), imputation, and the naive TWFE line, from the
    ``effects`` artifact's frame (its main outcome) or an ``EffectsResult``."""
    if isinstance(frame, EffectsResult):
        frame = frame.frame
    o = main_outcome(frame)
    frame = frame[frame["outcome"] == o]
    program = frame["program"].iloc[0]
    cs, imp = event_study(frame, "callaway_santanna"), event_study(frame, "imputation")
    tw = frame[(frame["estimator"] == "twfe") & (frame["term"] == "overall")]
    head = frame[(frame["estimator"] == "callaway_santanna") & (frame["term"] == "overall")].iloc[0]
    if max_e is not None:
        cs, imp = cs[cs.index <= max_e], imp[imp.index <= max_e]
    fig, ax = plt.subplots(figsize=(8.5, 4.5))
    x = cs.index.astype(int)
    ax.axhline(0, color="#333333", lw=0.8)
    ax.axvline(-0.5, color="#999999", lw=0.8, ls="--")
    ax.errorbar(x - 0.12, cs["att"], yerr=[cs["att"] - cs["ci_low"], cs["ci_high"] - cs["att"]], fmt="o",
                color="#1b6ca8", capsize=3, label=estimator_label("callaway_santanna", lang))
    xi = imp.index.astype(int)
    ax.errorbar(xi + 0.12, imp["att"], yerr=[imp["att"] - imp["ci_low"], imp["ci_high"] - imp["att"]], fmt="s",
                color="#3a9e5c", capsize=3, label=estimator_label("imputation", lang))
    ax.axhline(tw["att"].iloc[0], color="#c2413b", ls=":", lw=1.5, label=estimator_label("twfe", lang))
    ax.set_xlabel(label("header", "quarters_since_start", lang))
    ax.set_ylabel(f"对{outcome_label(o, lang)}的效应（{_unit(o, lang)}）" if lang == "zh"
                  else f"effect on {outcome_label(o, lang)} ({_unit(o, lang)})")
    if o in SHARE_OUTCOMES:
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, symbol=""))    # a share on the axis, in points
    elif not o.startswith("log_"):
        ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))      # 1,000 元, as in the tables
    ax.set_title((f"{program_label(program, lang)}对{outcome_label(o, lang)}的影响：事件研究" if lang == "zh"
                  else f"Effect of {program_label(program, lang)} on {outcome_label(o, lang)}: event study"))
    ax.legend(loc="upper left", fontsize=9)
    figures.caption(fig, quarter, lang, ("竖线左侧为开始前（检验平行趋势），误差线为95%置信区间" if lang == "zh"
                                         else "left of the dashed line: before start (pre-trends); bars: 95% CI")
                    + few_clusters_caption(head["cluster"], head["clusters"], lang))
    return fig


def subgroup_note(note: str, lang: str = "zh") -> str:
    """Why a subgroup's or a bin's effect is missing or has no standard error ('' when nothing is)."""
    return label("subgroup_note", note, lang) if note else ""


def covariate_label(name: str, lang: str = "zh") -> str:
    """A covariate as its Chinese header in the submission format (家庭人口), or its column name in English."""
    if lang != "zh":
        return name
    from helpers.domain.dictionary import HOUSEHOLDS

    return next((c.header for c in HOUSEHOLDS.columns if c.name == name), name)


def label_heterogeneity(het: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
    """The subgroup frame (``program_effects.heterogeneity``: codes) with its dimensions and groups as readers
    name them."""
    def group(col, val):
        if col == "county":
            return figures.county_label(val, lang)
        if col == "relocated":
            return label("yes_no", bool(val), lang)
        return label(col, val, lang)
    return het.assign(group=[group(c, v) for c, v in zip(het["dimension"], het["group"])],
                      dimension=[label("dimension", c, lang) for c in het["dimension"]])


def plot_heterogeneity(het: pd.DataFrame, r: EffectsResult, quarter: str, lang: str = "zh"):
    """Forest plot of subgroup effects."""
    het = label_heterogeneity(het, lang)
    h = het.dropna(subset=["att", "ci_low", "ci_high"]).iloc[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.42 * len(h) + 1.5))
    y = np.arange(len(h))
    ax.errorbar(h["att"], y, xerr=[h["att"] - h["ci_low"], h["ci_high"] - h["att"]], fmt="o", color="#1b6ca8", capsize=3)
    ax.set_yticks(y, [f"{d}：{g}" if lang == "zh" else f"{d}: {g}" for d, g in zip(h["dimension"], h["group"])])
    overall = _row(r.table, *HEADLINE)["att"]
    ax.axvline(overall, color="#c2413b", ls="--", lw=1, label=label("header", "all_households", lang))
    ax.axvline(0, color="#333333", lw=0.8)
    ax.set_xlabel(_paren(label("header", "effect", lang), _unit(r.outcome, lang), lang))
    if r.outcome in SHARE_OUTCOMES:
        ax.xaxis.set_major_formatter(PercentFormatter(xmax=1.0, symbol=""))    # a share on the axis, in points
    ax.set_title((f"{program_label(r.program, lang)}效应的分组差异（基期分组）" if lang == "zh"
                  else f"Effect of {program_label(r.program, lang)} by baseline subgroup"))
    ax.legend(loc="lower right", fontsize=9)
    cluster = cluster_label(r.cluster, lang)
    single = het.loc[het["note"] == "one_cluster", "group"].tolist()
    figures.caption(fig, quarter, lang, (f"Callaway-Sant'Anna，按{cluster}聚类的95%置信区间" if lang == "zh"
                                         else f"Callaway-Sant'Anna, 95% CI clustered by {cluster}") + few_clusters_caption(r.cluster, r.clusters, lang)
                    + ((f"；{len(single)} 个分组只有一个聚类，未画出" if lang == "zh" else
                        f"; {len(single)} single-cluster subgroups not drawn") if single else ""))
    return fig


# ---- how numbers of an outcome read --------------------------------------------------------------------------
# The unit of each outcome, a key of the catalogue's kind "unit".
OUTCOME_UNITS = {"income_pc": "元/人/季", "earned_pc": "元/人/季", "log_income_pc": "对数点", "below_line": "个百分点"}


def _v(x: float, outcome: str, digits: int | None = None) -> str:
    """A number of an outcome as people read it: yuan without decimals, log points with three, a share (a 0/1
    outcome's effect) in percentage points with one."""
    if pd.isna(x):
        return "—"
    if np.isinf(x):
        return "-∞" if x < 0 else "∞"
    if outcome in SHARE_OUTCOMES:
        x, digits = 100 * x, 1 if digits is None else digits
    d = 3 if outcome.startswith("log_") else (0 if digits is None else digits)
    if round(x, d) == 0:
        x = 0.0                                  # never “-0 元”
    return f"{x:.3f}" if outcome.startswith("log_") else f"{x:,.{d}f}"


def _unit(outcome: str, lang: str) -> str:
    return label("unit", OUTCOME_UNITS[outcome], lang)


def quarterly_label(outcome: str, lang: str = "zh") -> str:
    """The outcome as a level per person and quarter (log income reads as income, in percent)."""
    return label("outcome_quarterly", outcome, lang)


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
    if outcome in SHARE_OUTCOMES:        # a difference in probability, in percentage points
        pp = label("unit", "个百分点", lang)
        if lang == "zh":
            return f"平均{hl[0]} **{_v(abs(att), outcome)} {pp}**（95%置信区间 {_v(lo, outcome)} 至 {_v(hi, outcome)} {pp}）"
        return f"**{_v(abs(att), outcome)} {pp}** {hl[1]} on average (95% CI {_v(lo, outcome)} to {_v(hi, outcome)})"
    if lang == "zh":
        return f"平均{hl[0]} **{_v(abs(att), outcome)} 元**（95%置信区间 {_v(lo, outcome)} 至 {_v(hi, outcome)} 元）"
    return (f"**{_v(abs(att), outcome)} yuan** {hl[1]} per person on average (95% CI {_v(lo, outcome)} to "
            f"{_v(hi, outcome)})")


def page_heading(program: str, outcome: str, quarter: str, lang: str = "zh") -> str:
    """The effects page's title and first line: which program, which households, which outcome, which quarter."""
    zh = lang == "zh"
    prog = program_label(program, lang)
    who = label("program_households", program, lang)
    q = figures.quarter_label(quarter, lang)
    if zh:
        return (f"# 03 帮扶效果：{prog}\n\n本页估计**{prog}**对农户{quarterly_label(outcome, lang)}的效果（截至{q}）：对象是{who}，"
                "与同期尚未获得帮扶的可比农户比较。先给结论，方法和各项结果在后。")
    return (f"# 03 Program effects: {prog}\n\nThis page estimates the effect of **{prog}** on households' "
            f"{quarterly_label(outcome, lang)} (up to {q}): {who}, compared with comparable households not yet "
            "supported. The conclusion comes first, the method and the detailed results after it.")


def _row(table: pd.DataFrame, estimator: str, aggregate: str = "simple") -> pd.Series:
    return table[(table["estimator"] == estimator) & (table["aggregate"] == aggregate)].iloc[0]


def conclusion(r: EffectsResult, lang: str = "zh", earned: EffectsResult | None = None) -> str:
    """The plain-language conclusion: the effect as a level difference (元 per person and quarter, or percent
    for log income) and in percent of the counterfactual; every qualitative word from a named predicate of
    ``helpers.present.findings``."""
    table = r.table
    row, imp, tw = _row(table, *HEADLINE), _row(table, "imputation"), _row(table, "twfe")
    o, zh = r.outcome, lang == "zh"
    lo, hi, basis = headline_interval(row)
    sig = significant(lo, hi)
    agree = robust_estimates_agree(row, imp)
    position = twfe_position(tw["att"], {"ci_low": lo, "ci_high": hi})
    trend = trend_direction(r.trend)
    prog = program_label(r.program, lang)
    what = quarterly_label(o, lang)
    # the interval printed is the one every claim below rests on (with few clusters, the few-cluster check's)
    phrase = _effect_phrase(o, row["att"], lo, hi, lang)
    text = (f"## 结论\n\n开始获得{prog}后，这些农户的{what}比没有帮扶时{phrase}" if zh else
            f"## Conclusion\n\nAfter {prog} starts, these households' {what} is {phrase} than without support")
    if not o.startswith("log_") and o not in SHARE_OUTCOMES:
        base = r.treated_mean - row["att"]       # the counterfactual mean (analysis.md)
        if base and base > 0:
            text += (f"，相当于没有帮扶时的 **{100 * abs(row['att']) / base:.1f}%**" if zh else
                     f", about **{100 * abs(row['att']) / base:.1f}%** of what they would have had without support")
    if o in SHARE_OUTCOMES:
        text += ("。这个数是某季度收入折成全年后低于当年监测线的可能性之差，以百分点计。" if zh else
                 ". This is a difference in the chance that a quarter's income, annualized, is below that year's "
                 "monitoring line, in percentage points. ")
    else:
        text += ("。这个数是每人每季度收入水平之差，不是逐季叠加的数。" if zh else
                 ". This is a difference in the level of income per person and quarter, not an amount added every "
                 "quarter. ")
    clusters = f"{int(row['clusters'])}"
    if basis == "few_cluster":
        text += (f"按{cluster_label(r.cluster, lang)}聚类只有 {clusters} 个聚类，聚类稳健区间偏窄，"
                 "上面给出的是少聚类检验的95%区间，显著性和下面的比较都按它判断：" if zh else
                 f"With only {clusters} clusters the cluster-robust interval is too narrow; the interval above is the "
                 "few-cluster check's, and significance and the comparisons below are judged on it: ")
    elif basis == "none":
        text += (f"只有 {clusters} 个聚类且少聚类检验无法计算，不判断显著性。" if zh else
                 f"With only {clusters} clusters and no few-cluster check, significance is not judged. ")
    elif basis == "too_few":
        text += (f"按{cluster_label(r.cluster, lang)}聚类只有 {clusters} 个聚类，任何检验（包括少聚类检验）都无法可靠判断，"
                 "不判断显著性；请按村聚类。" if zh else
                 f"With only {clusters} clusters no test (the few-cluster check included) can be relied on: significance "
                 "is not judged; cluster by village. ")
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
    text += pretrend_caveat(r.pretest, lang)
    if earned is not None:
        er = _row(earned.table, *HEADLINE)
        e_lo, e_hi, _ = headline_interval(er)
        e_sig = significant(e_lo, e_hi)
        eo = earned.outcome
        text += (f"扣除补贴等转移性收入，只看农户自己挣得的工资性和经营性收入，比没有帮扶时"
                 f"{_effect_phrase(eo, er['att'], e_lo, e_hi, lang)}"
                 + ("，" + words("significant", e_sig, lang) + "。" if e_sig is not None else "。")
                 if zh else f" Leaving out transfers such as subsidies, the wage and business income households earn themselves is "
                 f"{_effect_phrase(eo, er['att'], e_lo, e_hi, lang)} than without support"
                 + (f", {words('significant', e_sig, lang)}." if e_sig is not None else "."))
    text += few_cluster_sentence(row, o, lang)
    doubt = words("county_check", county_check(sig, row.get("p_county", np.nan)), lang)
    if doubt:
        text += (f"主要结果显著，{doubt}。" if zh else f" The headline is significant, {doubt}.")
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
    method = label("few_cluster_method", row["few_cluster_method"], lang)
    both, one = np.isinf(lo) and np.isinf(hi), np.isinf(lo) or np.isinf(hi)
    if zh:
        return (f"只按县区聚类（{int(row['counties'])} 个县区，{method}）的少聚类检验{_p_is(row['p_county'], lang)}，95%区间 "
                f"{_ci(lo, hi, outcome)}" + ("；区间两侧无界，只按县区聚类时数据不足以确定效应大小。" if both else
                                            "；区间一侧无界，只按县区聚类时数据只能确定效应的一侧。" if one else "。"))
    return (f" Clustered by county only ({int(row['counties'])} counties, {method}), the few-cluster check gives "
            f"{_p_is(row['p_county'], lang)} and a 95% interval of {_ci(lo, hi, outcome)}"
            + ("; the interval is unbounded on both sides: by county alone the data cannot pin the effect down." if both else
               "; the interval is unbounded on one side." if one else "."))


def pretrend_caveat(pre: dict, lang: str = "zh") -> str:
    """The caveat a conclusion carries when the joint pre-start test rejects (``findings.pretrends``
    'diverging'); '' otherwise (the event-study section says what the test found either way)."""
    if pretrends(pre) != "diverging":
        return ""
    p = _p_is(pre["pvalue"], lang)
    return (f"但开始帮扶前两组已有差异（联合检验{p}），平行趋势可能不成立，上面的效应可能有偏，需谨慎解读。"
            if lang == "zh" else
            f" But the two groups already differed before support started (joint pre-trend test {p}): parallel "
            "trends may not hold and the effect above may be biased; read it with care.")


def pretrend_sentence(pre: dict, lang: str = "zh", shown: bool = False) -> str:
    """The joint pre-start test in a sentence (``findings.pretrends``): its p-value and verdict, or that it
    cannot be tested and why (``pre['reason_code']``/``pre['reason']``); ``shown``: pre-start points with
    intervals are in the figure to look at instead."""
    zh = lang == "zh"
    verdict = pretrends(pre)
    if verdict == "untestable":
        code, reason = pre.get("reason_code", ""), pre.get("reason", "") or ""
        why = label("pretest_reason", code, lang) if code else reason
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
    step = label("unit", "对数点" if outcome.startswith("log_") else "个百分点" if outcome in SHARE_OUTCOMES else "元", lang)
    slope = (f"{_v(tr['slope'], outcome, 1)} {step}（95%区间 {_v(tr['ci_low'], outcome, 1)} 至 "
             f"{_v(tr['ci_high'], outcome, 1)}）" if zh else
             f"{_v(tr['slope'], outcome, 1)} {step} (95% CI {_v(tr['ci_low'], outcome, 1)} to "
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


def describe_event_study(r: EffectsResult, lang: str = "zh") -> str:
    """Pre-trends (the joint test at 5%, or why it cannot be computed) and how the effect changes with time
    since start (grows / fades / stays, from the slope of the post-start effects and its interval)."""
    zh, o = lang == "zh", r.outcome
    dyn = r.event_study("callaway_santanna")
    shown = bool(dyn[dyn.index < 0]["se"].notna().any())
    text = pretrend_sentence(r.pretest, lang, shown)
    post = dyn[dyn.index >= 0]
    first, last, k = post.iloc[0], post.iloc[-1], int(post.index[-1])
    tr = r.trend
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
    het = label_heterogeneity(het, lang)
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


def _label_dose(dose: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The subsidy-bin frame (``program_effects.dose_bins``: codes and numbers) with its bins and ranges as read."""
    rng = [f"{lo:,.0f}–{hi:,.0f}" for lo, hi in zip(dose["subsidy_low"], dose["subsidy_high"])]
    out = dose.assign(bin=[label("dose_bin", b, lang) for b in dose["bin"]])
    out.insert(1, "subsidy_range", rng)
    return out.drop(columns=["subsidy_low", "subsidy_high"])


def show_dose(dose: pd.DataFrame, lang: str = "zh", outcome: str = "income_pc") -> pd.DataFrame:
    """The subsidy-bin table with readable headers and units (one row per bin, no household rows)."""
    h = lambda key: label("header", key, lang)  # noqa: E731
    headers = {"bin": h("dose_bin"), "subsidy_range": h("first_quarter_subsidy"),
               "treated_households": h("supported_households"), "att": _paren(h("effect"), _unit(outcome, lang), lang),
               "se": h("se"), "note": h("explanation")}
    digits = 3 if outcome.startswith("log_") else 1
    if outcome in SHARE_OUTCOMES:      # a share reads in percentage points
        dose = dose.assign(att=100 * dose["att"], se=100 * dose["se"])
    out = _label_dose(dose, lang).round({"att": digits, "se": digits})
    out["treated_households"] = out["treated_households"].map(lambda v: disclose_value("count", float(v)))
    out = out.assign(note=[subgroup_note(n, lang) for n in dose["note"]])
    if not out["note"].astype(bool).any():
        out = out.drop(columns="note")
    out = out.rename(columns=headers)
    return out.set_index(out.columns[0])


def describe_dose(dose: pd.DataFrame, lang: str = "zh", outcome: str = "income_pc") -> str:
    """The subsidy-bin result, its comparison group, and the assumption a causal reading would need."""
    d = _label_dose(dose, lang).dropna(subset=["att"])
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
