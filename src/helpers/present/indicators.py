"""Figures and sentences of the indicators notebook (02_indicators), from the tidy indicator table.

Figures show rates and disclosed values only (the disclosure rule of analysis.md applies to
everything shared): a rate whose denominator is under 10 is not drawn, and cell labels use
``display.disclose_value``.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import ListedColormap

from matplotlib.ticker import MultipleLocator

from helpers.analysis import composite

from helpers.present import figures
from helpers.present.display import disclose_value, format_threshold, indicator_label, percent, share_shown
from helpers.domain.dictionary import COUNTIES
from helpers.domain.labels import label
from helpers.analysis.indicators import ALL, CITY, INDICATORS, judgeable

THRESHOLD_KEYS = ["missed_monitoring", "alleviated_income_growth", "income_growth_gap", "spending_progress",
                  "industry_share"]


def _counties(t: pd.DataFrame) -> list[str]:
    return [c for c in COUNTIES if c in set(t["county"])] + [CITY]


def _label(c: str, lang: str) -> str:
    return figures.county_label(c, lang)


def _join(names: list[str], lang: str) -> str:
    return ("、" if lang == "zh" else ", ").join(names)


def _get(t, quarter, key, county, category=ALL):
    r = t[(t["quarter"] == quarter) & (t["indicator"] == key) & (t["county"] == county) & (t["category"] == category)]
    return r.iloc[0] if len(r) else None


def plot_thresholds(t: pd.DataFrame, quarter: str, lang: str = "zh"):
    """At a glance: each indicator with a policy threshold, per county: met (green), not met (red), unknown (grey)."""
    counties = _counties(t)
    status = np.full((len(THRESHOLD_KEYS), len(counties)), 2.0)
    text = [["" for _ in counties] for _ in THRESHOLD_KEYS]
    for i, k in enumerate(THRESHOLD_KEYS):
        for j, c in enumerate(counties):
            r = _get(t, quarter, k, c)
            if r is None:
                continue
            shown = disclose_value(INDICATORS[k].kind, r["value"], r["denominator"], r["status"], lang)
            text[i][j] = shown
            if r["status"] == "ok" and not pd.isna(r["met"]):
                status[i, j] = 0.0 if bool(r["met"]) else 1.0
    fig, ax = plt.subplots(figsize=(9, 0.6 * len(THRESHOLD_KEYS) + 1.6))
    ax.imshow(status, cmap=ListedColormap(["#cfe8d5", "#f4c7c3", "#e6e6e6"]), vmin=0, vmax=2, aspect="auto")
    for i in range(len(THRESHOLD_KEYS)):
        for j in range(len(counties)):
            ax.text(j, i, text[i][j], ha="center", va="center", fontsize=10 if len(text[i][j]) <= 6 else 9)
    ax.set_xticks(range(len(counties)), [_label(c, lang) for c in counties])
    def ylabel(k):
        r = _get(t, quarter, k, CITY)
        thr = format_threshold(k, r["threshold"], lang) if r is not None else "—"
        name = indicator_label(k, lang, with_unit=False)
        return name if thr == "—" else f"{name}\n{label('header', 'threshold', lang)} {thr}"

    ax.set_yticks(range(len(THRESHOLD_KEYS)), [ylabel(k) for k in THRESHOLD_KEYS])
    ax.tick_params(axis="x", top=True, labeltop=True, bottom=False, labelbottom=False)
    ax.grid(False)
    ax.set_title("对照政策标准：绿色达标、红色未达标、灰色无法判断" if lang == "zh"
                 else "Against policy thresholds: green met, red not met, grey unknown", pad=28)
    figures.caption(fig, quarter, lang, "标准见 config/indicators.yaml" if lang == "zh" else "thresholds: config/indicators.yaml")
    return fig


def describe_thresholds(t: pd.DataFrame, quarter: str, lang: str = "zh") -> str:
    q = t[(t["quarter"] == quarter) & t["indicator"].isin(THRESHOLD_KEYS) & (t["county"] != CITY) & (t["category"] == ALL)]
    missed = q[(q["met"] == False)]  # noqa: E712
    if missed.empty:
        return "所有县区在各项有标准的指标上均达标。" if lang == "zh" else "Every county meets every threshold."
    parts = missed.groupby("indicator")["county"].apply(lambda s: _join([_label(c, lang) for c in s], lang))
    if lang == "zh":
        return "未达标的有：" + "；".join(f"{indicator_label(k, lang, False)}（{v}）" for k, v in parts.items()) + "。"
    return "Not met: " + "; ".join(f"{indicator_label(k, lang, False)} ({v})" for k, v in parts.items()) + "."


def plot_income_growth(t: pd.DataFrame, quarter: str, lang: str = "zh"):
    """两个收入增速: 脱贫户 against 一般农户 per county, 95% intervals, the official rural growth line."""
    counties = _counties(t)
    fig, ax = plt.subplots(figsize=(8.5, 4.5))
    x = np.arange(len(counties))
    shown = False
    for off, key, color, group in ((-0.15, "alleviated_income_growth", "#c2413b", "脱贫户"),
                                   (0.15, "general_income_growth", "#1b6ca8", "一般农户")):
        vals = [_get(t, quarter, key, c) for c in counties]
        vals = [r if _comparable(r) else None for r in vals]     # a rate the table hides is not drawn either
        v = np.array([100 * r["value"] if r is not None else np.nan for r in vals])
        lo = np.array([100 * r["ci_low"] if r is not None else np.nan for r in vals])
        hi = np.array([100 * r["ci_high"] if r is not None else np.nan for r in vals])
        ax.errorbar(x + off, v, yerr=[v - lo, hi - v], fmt="o", color=color, capsize=3,
                    label=label("household_type", group, lang))
        shown = shown or bool(np.isfinite(v).any())
    if not shown:           # no county has a growth rate: say so in the plot instead of empty axes
        ax.text(0.5, 0.5, "观察期不足两年，无法计算同比增速" if lang == "zh" else
                "Fewer than eight quarters observed: no year-on-year growth", transform=ax.transAxes,
                ha="center", va="center", color="#555555")
        ax.set_yticks([])
    official = _get(t, quarter, "alleviated_income_growth", CITY)
    if official is not None and not pd.isna(official["threshold"]):
        ax.axhline(100 * official["threshold"], color="#555555", ls="--", lw=1,
                   label=label("header", "official_rural_growth", lang))
    ax.set_xticks(x, [_label(c, lang) for c in counties])
    ax.set_ylabel(label("header", "growth", lang))
    ax.set_title("两个收入增速：近四季度人均纯收入同比" if lang == "zh" else "Income growth, trailing four quarters, year on year")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    figures.caption(fig, quarter, lang, "误差线为按村自助抽样的95%区间" if lang == "zh" else "bars: 95% interval, bootstrap over villages")
    return fig


def describe_income_growth(t: pd.DataFrame, quarter: str, lang: str = "zh") -> str:
    a, g, gap = (_get(t, quarter, k, CITY) for k in ("alleviated_income_growth", "general_income_growth", "income_growth_gap"))
    if a is None or a["status"] != "ok":
        return ("观察期不足两年，无法计算同比增速。" if lang == "zh" else "Fewer than eight quarters observed: no year-on-year growth.")
    official = "" if pd.isna(a["threshold"]) else (
        f"当年全国农村居民人均可支配收入增速为 {percent(a['threshold'])}，脱贫户增速须高于它才算达标"
        f"（{'全市达标' if a['met'] else '全市未达标'}）。" if lang == "zh" else
        f" The year's official rural income growth is {percent(a['threshold'])}; a county meets the standard when its "
        f"poverty-alleviated households grew faster ({'the city does' if a['met'] else 'the city does not'}).")
    from helpers.present.findings import gap_direction

    way = gap_direction(gap["value"], gap["ci_low"], gap["ci_high"])     # judged on the interval, as 04 does
    if lang == "zh":
        verdict = {"higher": "脱贫户增收快于一般农户。", "lower": "脱贫户增收慢于一般农户，需关注。",
                   "higher_point": "脱贫户增速高于一般农户（没有区间，不判断显著性）。",
                   "lower_point": "脱贫户增速低于一般农户（没有区间，不判断显著性），需关注。",
                   "unclear": "区间包含零，两者的差异在统计上不显著。", "": ""}[way]
        return (f"全市脱贫户近四季度人均纯收入同比增长 {100 * a['value']:.1f}%（95%自助区间 {100 * a['ci_low']:.1f}%–"
                f"{100 * a['ci_high']:.1f}%），一般农户 {100 * g['value']:.1f}%，增速差 {100 * gap['value']:.1f} 个百分点"
                f"（95%自助区间 {100 * gap['ci_low']:.1f}–{100 * gap['ci_high']:.1f} 个百分点）：" + verdict + official)
    verdict = {"higher": "poverty-alleviated households' income grew faster than ordinary households'.",
               "lower": "poverty-alleviated households' income grew more slowly than ordinary households'; this needs attention.",
               "higher_point": "poverty-alleviated households grew faster (no interval: significance not judged).",
               "lower_point": "poverty-alleviated households grew more slowly (no interval: significance not judged).",
               "unclear": "the interval includes zero: the difference is not statistically significant.", "": ""}[way]
    return (f"City-wide, poverty-alleviated households' per-capita net income over the last four quarters grew "
            f"{100 * a['value']:.1f}% year on year (95% bootstrap interval {100 * a['ci_low']:.1f}%–{100 * a['ci_high']:.1f}%), "
            f"ordinary households' {100 * g['value']:.1f}%: a gap of {100 * gap['value']:.1f} percentage points "
            f"(95% bootstrap interval {100 * gap['ci_low']:.1f} to {100 * gap['ci_high']:.1f}): " + verdict + official)


def plot_funds(t: pd.DataFrame, quarter: str, lang: str = "zh"):
    """Spending progress against the quarter's milestone and the industry share against the year's threshold."""
    counties = _counties(t)
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 4.6), sharey=False)
    for ax, key in zip(axes, ("spending_progress", "industry_share")):
        rows = [_get(t, quarter, key, c) for c in counties]
        v = np.array([100 * r["value"] if r is not None and r["status"] == "ok" else np.nan for r in rows])
        colors = [figures.COUNTY_COLORS.get(c, "#555555") for c in counties]
        ax.bar([_label(c, lang) for c in counties], v, color=colors)
        thr = next((r["threshold"] for r in rows if r is not None and not pd.isna(r["threshold"])), np.nan)
        top = np.nanmax(np.append(v, 100 * thr if not pd.isna(thr) else np.nan)) if np.isfinite(v).any() else 100
        ax.set_ylim(0, 1.18 * top)
        label_h = 0.075 * ax.get_ylim()[1]          # height of a value label in data units (fontsize 9)
        title = indicator_label(key, lang, with_unit=False)
        if not pd.isna(thr):
            # The threshold is named in the title (never as text on the plot, where it met the bars' labels).
            ax.axhline(100 * thr, color="#c2413b", ls="--", lw=1.2)
            title += (f"\n红色虚线：标准 {format_threshold(key, thr, lang)}" if lang == "zh"
                      else f"\nred dashed line: threshold {format_threshold(key, thr, lang)}")
        for i, val in enumerate(v):
            if np.isnan(val):
                ax.text(i, 0, label("status", "no_data", lang), ha="center", va="bottom", fontsize=9)
                continue
            # Above the bar, unless the threshold line would run through the label: then inside the bar's top.
            inside = not pd.isna(thr) and val - 0.3 * label_h <= 100 * thr <= val + label_h
            ax.text(i, val - 0.2 * label_h if inside else val, f"{val:.1f}%", ha="center",
                    va="top" if inside else "bottom", fontsize=9, color="white" if inside else "#222222")
        ax.set_title(title, fontsize=11)
        ax.set_ylabel("%")
        ax.tick_params(axis="x", rotation=30)
    fig.suptitle("资金项目：支出进度与产业比重" if lang == "zh" else "Funds: spending progress and industry share", fontsize=13)
    fig.tight_layout()
    figures.caption(fig, quarter, lang)
    return fig


def describe_funds(t: pd.DataFrame, quarter: str, lang: str = "zh") -> str:
    sp, sh = _get(t, quarter, "spending_progress", CITY), _get(t, quarter, "industry_share", CITY)
    behind = t[(t["quarter"] == quarter) & (t["indicator"] == "spending_progress") & (t["county"] != CITY) & (t["met"] == False)]  # noqa: E712
    names = _join([_label(c, lang) for c in behind["county"]], lang)
    if lang == "zh":
        s = (f"全市衔接资金（中央和省级衔接资金项目）支出进度 {100 * sp['value']:.1f}%"
             f"（本季度时序目标 {percent(sp['threshold'])}）")
        s += f"，{names}未达到时序进度" if names else "，各县区均达到时序进度"
        if sh is not None and sh["status"] == "ok":
            s += f"；用于产业发展的比重 {100 * sh['value']:.1f}%" + (
                f"（当年标准 {percent(sh['threshold'])}）。" if not pd.isna(sh["threshold"]) else "。")
        return s
    s = (f"City-wide spending progress of the linking funds (central and provincial) is {100 * sp['value']:.1f}% "
         f"(milestone {percent(sp['threshold'])})")
    s += f"; behind the milestone: {names}" if names else "; every county is on schedule"
    if sh is not None and sh["status"] == "ok":
        s += f"; the share for industry development is {100 * sh['value']:.1f}%" + (
            f" (the year's threshold {percent(sh['threshold'])})." if not pd.isna(sh["threshold"]) else ".")
    else:
        s += "."
    return s


def plot_trend(trend: pd.DataFrame, quarter: str, lang: str = "zh"):
    """Elimination rate and spending progress over the recent quarters, per county."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, key in zip(axes, ("elimination_rate", "spending_progress")):
        s = trend[(trend["indicator"] == key) & (trend["category"] == ALL) & (trend["county"] != CITY)]
        for c in [c for c in COUNTIES if c in set(s["county"])]:
            x = s[s["county"] == c].sort_values("quarter")
            y = np.where((x["status"] == "ok") & judgeable(x).to_numpy(), 100 * x["value"], np.nan)
            ax.plot(x["quarter"], y, marker="o", color=figures.COUNTY_COLORS[c], label=figures.county_label(c, lang))
        ax.set_title(indicator_label(key, lang, with_unit=False), fontsize=12)
        ax.set_ylabel("%")
        ax.tick_params(axis="x", rotation=45)
    axes[1].legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    fig.suptitle("近几个季度的变化" if lang == "zh" else "Recent quarters", fontsize=13)
    fig.tight_layout()
    figures.caption(fig, quarter, lang, "支出进度按年度台账累计，每年一季度重新起算" if lang == "zh"
                    else "spending progress is cumulative within each year")
    return fig


def stability_method(spec: dict | None = None, lang: str = "zh") -> str:
    """How rank stability was measured, from config/composite.yaml (never typed in a caption)."""
    st = composite.stability_settings(spec if spec is not None else composite.load_spec())
    lo, hi, n = _num(st["low"]), _num(st["high"]), st["draws"]
    if lang == "zh":
        return f"把各项权重各乘以 {lo}–{hi} 之间的随机因子（再归一化），共抽样 {n:,} 次"
    return f"{n:,} draws of the weights, each multiplied by a uniform factor in [{lo}, {hi}] and renormalized"


def ranking_method(spec: dict | None = None, lang: str = "zh") -> str:
    """How the composite score and its rank stability are made (the numbers from the spec)."""
    if lang == "zh":
        return ("综合得分把各指标在各县区之间按最好=1、最差=0 标准化后，按 `config/composite.yaml` 的权重加权；"
                "名次范围和名次不变的比例来自" + stability_method(spec, lang) + "。")
    return ("Each indicator is scaled across the counties (best 1, worst 0) and weighted as in `config/composite.yaml`; "
            "rank ranges and the share of the same rank come from " + stability_method(spec, lang) + ".")


def _num(v: float) -> str:
    return f"{v:g}"


def plot_ranking(rank: pd.DataFrame, quarter: str, lang: str = "zh", spec: dict | None = None):
    """Composite scores (0-1) with each county's rank range under weight perturbation (right of the axis)."""
    r = rank.sort_values("composite")
    fig, ax = plt.subplots(figsize=(8.5, 3.8))
    labels = [figures.county_label(c, lang) for c in r["county"]]
    ax.barh(labels, r["composite"], color=[figures.COUNTY_COLORS[c] for c in r["county"]])
    for i, (s, rk, a, b, st) in enumerate(zip(r["composite"], r["rank"], r["rank_best"], r["rank_worst"], r["rank_stability"])):
        ax.text(s + 0.01, i, f"{s:.2f}", va="center", fontsize=9)
        rng_text = (f"第{rk}名（范围 {a}–{b}，{share_shown(st)} 不变）" if lang == "zh"
                    else f"#{rk} (range {a}–{b}, {share_shown(st)} same)")
        ax.text(1.03, i, rng_text, va="center", ha="left", fontsize=9, transform=ax.get_yaxis_transform(), clip_on=False)
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_locator(MultipleLocator(0.2))
    ax.grid(axis="y", visible=False)          # no line through the score labels
    ax.set_xlabel(label("header", "composite_axis", lang))
    ax.set_title("综合评比：得分与名次稳定性" if lang == "zh" else "County comparison: score and rank stability")
    fig.tight_layout()
    figures.caption(fig, quarter, lang, (f"名次范围：{stability_method(spec, lang)}中的最好和最差名次" if lang == "zh"
                                         else f"rank range: best and worst rank over {stability_method(spec, lang)}"))
    return fig


def describe_ranking(rank: pd.DataFrame, lang: str = "zh", spec: dict | None = None) -> str:
    """The ranking in one or two sentences; whether ranks depend on the weights is ``composite.ranks_stable``."""
    st = composite.stability_settings(spec if spec is not None else composite.load_spec())
    share = st["stable_share"]
    top, bottom = rank.iloc[0], rank.iloc[-1]
    unstable = composite.unstable_counties(rank, share)
    if lang == "zh":
        s = f"综合得分最高的是{top['county']}（{top['composite']:.2f}），最低的是{bottom['county']}（{bottom['composite']:.2f}）。"
        if composite.ranks_stable(rank, share):
            return s + (f"名次对权重不敏感：{st['draws']:,} 次权重扰动中，每个县区至少在 {share:.0%} 的抽样中名次不变。")
        moving = "；".join(f"{r['county']}名次范围 {r['rank_best']}–{r['rank_worst']}，{share_shown(r['rank_stability'])} 的抽样中名次不变"
                          for _, r in unstable.iterrows())
        return s + f"名次随权重变化：{moving}（低于 {share:.0%}）。这些县区之间的名次差距不宜过度解读。"
    s = f"Highest composite score: {figures.county_label(top['county'], 'en')} ({top['composite']:.2f}); lowest: " \
        f"{figures.county_label(bottom['county'], 'en')} ({bottom['composite']:.2f}). "
    if composite.ranks_stable(rank, share):
        return s + f"Ranks do not depend on the weights: every county keeps its rank in at least {share:.0%} of {st['draws']:,} draws."
    moving = "; ".join(f"{figures.county_label(r['county'], 'en')} ranks {r['rank_best']}–{r['rank_worst']}, same rank in "
                       f"{share_shown(r['rank_stability'])} of draws" for _, r in unstable.iterrows())
    return s + f"Ranks move with the weights: {moving} (below {share:.0%}). Do not over-read the gaps between them."


def describe_workers(t: pd.DataFrame, quarter: str, lang: str = "zh") -> str:
    """Which counties the city's 务工人数 and its change cover (counties that did not send the column are left out)."""
    def ok(key):
        return [c for c in COUNTIES if (r := _get(t, quarter, key, c)) is not None and r["status"] == "ok"]

    all_c = [c for c in COUNTIES if _get(t, quarter, "workers", c) is not None]
    now, change = ok("workers"), ok("workers_change")
    missing = [c for c in all_c if c not in now]
    zh = lang == "zh"
    names = lambda cs: ("、" if zh else ", ").join(figures.county_label(c, lang) for c in cs)  # noqa: E731
    if not now:
        return "各县区均未报送“务工人数”列，本季度无数据。" if zh else "No county sent the column of members in work."
    if zh:
        s = f"分类表按农户享受的就业帮扶类型分行，“{label('category', '无', lang)}”一行是没有享受就业帮扶的农户的务工人数。"
        if missing:
            s += f"{names(missing)}未报送“务工人数”列，显示“无数据”；全市务工人数只合计{names(now)}。"
        else:
            s += f"全市为{names(now)}合计。"
        if change and change != now:
            s += f"全市同比变化只比较两个季度都报送了该列的{names(change)}。"
        return s + "同比变化与上年同季度比较。"
    s = f"Rows are households by the employment support they receive; “{label('category', '无', lang)}” are the others."
    if missing:
        s += f" {names(missing)} did not send the column (no data): the city's total covers {names(now)} only."
    else:
        s += f" The city's total covers {names(now)}."
    if change and change != now:
        s += f" The city's change compares {names(change)}, which sent it in both quarters."
    return s + " Change is against the same quarter last year."


# ---- sentences that read the tables and figures of 02 and 04 -------------------------------------------------
def _shown(t: pd.DataFrame, quarter: str, key: str, lang: str, county: str = CITY, category: str = ALL) -> str | None:
    """One indicator value as the tables show it (the disclosure rule applies to sentences too)."""
    r = _get(t, quarter, key, county, category)
    if r is None:
        return None
    return disclose_value(INDICATORS[key].kind, r["value"], r["denominator"], r["status"], lang)


def _with_unit(shown: str, key: str, lang: str) -> str:
    """A disclosed value with its unit when the value is a count or a ratio ('31 户', '<5 户', '2,977 元/万元')."""
    if INDICATORS[key].kind in ("rate", "pp") or not (shown[:1].isdigit() or shown.startswith("<")):
        return shown
    return f"{shown} {label('unit', INDICATORS[key].unit, lang)}"


def _phrase(t: pd.DataFrame, quarter: str, key: str, lang: str, county: str = CITY, category: str = ALL) -> str:
    """'<indicator name> <value with unit>' ('' when the indicator is absent)."""
    shown = _shown(t, quarter, key, lang, county, category)
    if shown is None:
        return ""
    name = indicator_label(key, lang, with_unit=False)
    return f"{name}{'' if name.endswith('）') else ' '}{_with_unit(shown, key, lang)}"


def _comparable(r) -> bool:
    """A value that may be compared in a sentence: computed, and shown (a rate whose denominator is under 10 is not)."""
    if r is None or r["status"] != "ok" or pd.isna(r["value"]):
        return False
    if INDICATORS[r["indicator"]].kind == "count" and r["value"] < 5:
        return False                                 # shown as "<5": not ranked against others in a sentence
    return bool(judgeable(pd.DataFrame([dict(r)])).iloc[0])


def _extremes(t: pd.DataFrame, quarter: str, key: str, lang: str, where: str = "county") -> str:
    """'(highest: A 73.3%, lowest: B 56.3%)' over the counties (or, with ``where="category"``, the city's
    categories) whose value is shown; ties are named together; '' with fewer than two distinct shown values."""
    if where == "county":
        rows = [(c, _get(t, quarter, key, c)) for c in COUNTIES]
        name = lambda c: _label(c, lang)  # noqa: E731
    else:
        cats = t[(t["quarter"] == quarter) & (t["indicator"] == key) & (t["county"] == CITY) & (t["category"] != ALL)]
        rows = [(c, _get(t, quarter, key, CITY, c)) for c in cats["category"]]
        name = lambda c: label("category", c, lang)  # noqa: E731
    vals = {c: r for c, r in rows if _comparable(r)}
    if len({round(float(r["value"]), 6) for r in vals.values()}) < 2:
        return ""
    hi, lo = max(float(r["value"]) for r in vals.values()), min(float(r["value"]) for r in vals.values())
    shown = lambda v: _with_unit(disclose_value(INDICATORS[key].kind, v, lang=lang), key, lang)  # noqa: E731
    top = _join([name(c) for c, r in vals.items() if np.isclose(r["value"], hi)], lang)
    bottom = _join([name(c) for c, r in vals.items() if np.isclose(r["value"], lo)], lang)
    if lang == "zh":
        return f"（最高为{top} {shown(hi)}，最低为{bottom} {shown(lo)}）"
    return f" (highest: {top} {shown(hi)}; lowest: {bottom} {shown(lo)})"


def describe_city(t: pd.DataFrame, quarter: str, keys: list[str], lang: str = "zh", spread: tuple[str, ...] = ()) -> str:
    """The city's values of ``keys`` in one sentence, as the table above shows them, with the highest and lowest
    county for the indicators in ``spread``."""
    parts = [p + (_extremes(t, quarter, k, lang) if k in spread else "") for k in keys
             if (p := _phrase(t, quarter, k, lang))]
    if not parts:
        return label("status", "no_data", lang) + ("。" if lang == "zh" else ".")
    return ("全市" + "，".join(parts) + "。") if lang == "zh" else ("City-wide: " + "; ".join(parts) + ".")


def describe_monitoring(t: pd.DataFrame, quarter: str, lang: str = "zh") -> str:
    """What the monitoring table says: the city's monitored households, the elimination rate across counties, and
    the households to check (possibly missed, eliminated but below the line, income test unknown)."""
    s = describe_city(t, quarter, ["monitored_households", "monitored_persons", "new_monitored",
                                   "eliminated_this_quarter", "elimination_rate"], lang, spread=("elimination_rate",))
    missed, below = _get(t, quarter, "missed_monitoring", CITY), _get(t, quarter, "eliminated_below_line", CITY)
    unknown = _get(t, quarter, "income_unknown", CITY)
    zh = lang == "zh"
    if missed is not None and missed["status"] == "ok":
        check = [_phrase(t, quarter, k, lang) for k in ("missed_monitoring", "eliminated_below_line")
                 if (r := _get(t, quarter, k, CITY)) is not None and r["status"] == "ok" and r["value"] > 0]
        if check:
            s += ("，".join(check) + "，需县区逐户核实。") if zh else (" To check household by household: " + "; ".join(check) + ".")
        elif below is not None:
            s += "没有发现疑似漏测户，也没有消除风险但收入低于监测线的农户。" if zh else \
                " No possibly missed household and no eliminated household below the line."
    if unknown is not None and unknown["status"] == "ok" and unknown["value"] > 0:
        n = _with_unit(_shown(t, quarter, "income_unknown", lang), "income_unknown", lang)
        s += (f"另有 {n}近四个季度收入不全，无法判断是否漏测。" if zh else
              f" For {n} the last four quarters' income is incomplete, so whether they were missed is unknown.")
    return s


def private_list_note(quarter: str, filename: str, lang: str = "zh") -> str:
    """Where the list of households to check is written (the analyst's private folder, never a shared page)."""
    if lang == "zh":
        return f"疑似漏测和“消除风险但收入低于监测线”的农户清单（含户编码）只写入 `private/{quarter}/{filename}`，不在本报告中显示。"
    return (f"The list of these households (with household codes) is written to `private/{quarter}/{filename}` only, "
            "never shown in this report.")


def describe_by_category(t: pd.DataFrame, key: str, quarter: str, lang: str = "zh") -> str:
    """What a by-category table (``display.by_category``) says at city level: the largest and smallest category."""
    spread = _extremes(t, quarter, key, lang, where="category")
    if not spread:
        return ""
    name = indicator_label(key, lang, with_unit=False)
    if lang == "zh":
        return f"全市分类看，{name}" + spread.replace("（", "", 1).rstrip("）") + "。"
    return f"By category, city-wide, {name}:" + spread.replace(" (", " ", 1).rstrip(")") + "."


def describe_trend(trend: pd.DataFrame, quarter: str, lang: str = "zh") -> str:
    """What the trend figure shows: the city's elimination rate and spending progress against the previous quarter
    (``findings.change_direction`` at the precision shown), and which counties moved which way. Spending progress
    starts again each first quarter, so it is not compared across a year's turn."""
    from helpers.present.findings import change_direction, change_phrase

    quarters = sorted(trend["quarter"].unique())
    if quarter not in quarters or quarters.index(quarter) == 0:
        return "只有一个季度的数据，还看不出变化。" if lang == "zh" else "One quarter only: no change to read yet."
    prev = quarters[quarters.index(quarter) - 1]
    zh, out = lang == "zh", []
    for key in ("elimination_rate", "spending_progress"):
        name = indicator_label(key, lang, with_unit=False)
        if key == "spending_progress" and quarter.endswith("Q1"):
            out.append(f"{name}每年一季度重新累计，不与上季度比较" if zh else f"{name} starts again each first quarter")
            continue
        now, before = _get(trend, quarter, key, CITY), _get(trend, prev, key, CITY)
        if not (_comparable(now) and _comparable(before)):
            out.append(f"{name}无法与上季度比较" if zh else f"{name} cannot be compared with the previous quarter")
            continue
        way = change_direction(now["value"], before["value"], resolution=0.001)
        moved = {d: [_label(c, lang) for c in COUNTIES
                     if _comparable(a := _get(trend, quarter, key, c)) and _comparable(b := _get(trend, prev, key, c))
                     and change_direction(a["value"], b["value"], resolution=0.001) == d] for d in ("up", "down")}
        a, b = percent_1(before["value"]), percent_1(now["value"])
        if zh:
            s = f"全市{name}{change_phrase(way, a, b, lang)}"
            s += "".join(f"，{_join(v, lang)}{'上升' if d == 'up' else '下降'}" for d, v in moved.items() if v)
        else:
            s = f"the city's {name} {change_phrase(way, a, b, lang)}"
            s += "".join(f"; {'up' if d == 'up' else 'down'}: {_join(v, lang)}" for d, v in moved.items() if v)
        out.append(s)
    prev_label = figures.quarter_label(prev) if zh else prev
    return (f"与{prev_label}相比，" + "；".join(out) + "。") if zh else (f"Against {prev_label}: " + "; ".join(out) + ".")


def percent_1(v: float) -> str:
    """A share with one decimal, as the trend figure and the tables show it."""
    return f"{100 * v:.1f}%"
