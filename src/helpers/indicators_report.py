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

from helpers import figures
from helpers.display import disclose_value, indicator_label
from helpers.dictionary import COUNTIES
from helpers.indicators import ALL, CITY, INDICATORS

THRESHOLD_KEYS = ["missed_monitoring", "alleviated_income_growth", "income_growth_gap", "spending_progress",
                  "industry_share"]


def _counties(t: pd.DataFrame) -> list[str]:
    return [c for c in COUNTIES if c in set(t["county"])] + [CITY]


def _label(c: str, lang: str) -> str:
    return figures.county_label(c, lang) if c != CITY else ("全市" if lang == "zh" else "city")


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
            ax.text(j, i, text[i][j], ha="center", va="center", fontsize=10)
    ax.set_xticks(range(len(counties)), [_label(c, lang) for c in counties])
    ax.set_yticks(range(len(THRESHOLD_KEYS)), [indicator_label(k, lang, with_unit=False) for k in THRESHOLD_KEYS])
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
    parts = missed.groupby("indicator")["county"].apply(lambda s: "、".join(_label(c, lang) for c in s))
    if lang == "zh":
        return "未达标的有：" + "；".join(f"{indicator_label(k, lang, False)}（{v}）" for k, v in parts.items()) + "。"
    return "Not met: " + "; ".join(f"{indicator_label(k, lang, False)} ({v})" for k, v in parts.items()) + "."


def plot_income_growth(t: pd.DataFrame, quarter: str, lang: str = "zh"):
    """两个收入增速: 脱贫户 against 一般农户 per county, 95% intervals, the official rural growth line."""
    counties = _counties(t)
    fig, ax = plt.subplots(figsize=(8.5, 4.5))
    x = np.arange(len(counties))
    for off, key, color, name in ((-0.15, "alleviated_income_growth", "#c2413b", ("脱贫户", "poverty-alleviated")),
                                  (0.15, "general_income_growth", "#1b6ca8", ("一般农户", "ordinary households"))):
        vals = [_get(t, quarter, key, c) for c in counties]
        v = np.array([100 * r["value"] if r is not None else np.nan for r in vals])
        lo = np.array([100 * r["ci_low"] if r is not None else np.nan for r in vals])
        hi = np.array([100 * r["ci_high"] if r is not None else np.nan for r in vals])
        ax.errorbar(x + off, v, yerr=[v - lo, hi - v], fmt="o", color=color, capsize=3,
                    label=name[0] if lang == "zh" else name[1])
    official = _get(t, quarter, "alleviated_income_growth", CITY)
    if official is not None and not pd.isna(official["threshold"]):
        ax.axhline(100 * official["threshold"], color="#555555", ls="--", lw=1,
                   label="全国农村居民收入增速" if lang == "zh" else "official rural income growth")
    ax.set_xticks(x, [_label(c, lang) for c in counties])
    ax.set_ylabel("同比增速（%）" if lang == "zh" else "year-on-year growth (%)")
    ax.set_title("两个收入增速：近四季度人均纯收入同比" if lang == "zh" else "Income growth, trailing four quarters, year on year")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    figures.caption(fig, quarter, lang, "误差线为按村自助抽样的95%区间" if lang == "zh" else "bars: 95% interval, bootstrap over villages")
    return fig


def describe_income_growth(t: pd.DataFrame, quarter: str, lang: str = "zh") -> str:
    a, g, gap = (_get(t, quarter, k, CITY) for k in ("alleviated_income_growth", "general_income_growth", "income_growth_gap"))
    if a is None or a["status"] != "ok":
        return ("观察期不足两年，无法计算同比增速。" if lang == "zh" else "Fewer than eight quarters observed: no year-on-year growth.")
    if lang == "zh":
        return (f"全市脱贫户近四季度人均纯收入同比增长 {100 * a['value']:.1f}%（区间 {100 * a['ci_low']:.1f}%–{100 * a['ci_high']:.1f}%），"
                f"一般农户 {100 * g['value']:.1f}%，增速差 {100 * gap['value']:.1f} 个百分点"
                f"（区间 {100 * gap['ci_low']:.1f}–{100 * gap['ci_high']:.1f}）："
                + ("脱贫户增收快于一般农户，“两个收入增速”达标。" if gap["value"] > 0 else "脱贫户增收慢于一般农户，需关注。"))
    return (f"City-wide, poverty-alleviated households' income grew {100 * a['value']:.1f}% year on year, ordinary households "
            f"{100 * g['value']:.1f}%: a gap of {100 * gap['value']:.1f} points "
            f"({100 * gap['ci_low']:.1f} to {100 * gap['ci_high']:.1f}).")


def plot_funds(t: pd.DataFrame, quarter: str, lang: str = "zh"):
    """Spending progress against the quarter's milestone and the industry share against the year's threshold."""
    counties = _counties(t)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), sharey=False)
    for ax, key in zip(axes, ("spending_progress", "industry_share")):
        rows = [_get(t, quarter, key, c) for c in counties]
        v = [100 * r["value"] if r is not None and r["status"] == "ok" else np.nan for r in rows]
        colors = [figures.COUNTY_COLORS.get(c, "#555555") for c in counties]
        ax.bar([_label(c, lang) for c in counties], v, color=colors)
        thr = next((r["threshold"] for r in rows if r is not None and not pd.isna(r["threshold"])), np.nan)
        if not pd.isna(thr):
            ax.axhline(100 * thr, color="#c2413b", ls="--", lw=1.2)
            ax.text(len(counties) - 0.5, 100 * thr, ("标准 " if lang == "zh" else "threshold ") + f"{100 * thr:.0f}%",
                    ha="right", va="bottom", color="#c2413b", fontsize=9)
        for i, val in enumerate(v):
            ax.text(i, 0 if np.isnan(val) else val, "无数据" if np.isnan(val) and lang == "zh" else
                    ("no data" if np.isnan(val) else f"{val:.0f}%"), ha="center", va="bottom", fontsize=9)
        ax.set_title(indicator_label(key, lang, with_unit=False), fontsize=12)
        ax.set_ylabel("%")
        ax.tick_params(axis="x", rotation=30)
    fig.suptitle("资金项目：支出进度与产业比重" if lang == "zh" else "Funds: spending progress and industry share", fontsize=13)
    fig.tight_layout()
    figures.caption(fig, quarter, lang)
    return fig


def describe_funds(t: pd.DataFrame, quarter: str, lang: str = "zh") -> str:
    sp, sh = _get(t, quarter, "spending_progress", CITY), _get(t, quarter, "industry_share", CITY)
    behind = t[(t["quarter"] == quarter) & (t["indicator"] == "spending_progress") & (t["county"] != CITY) & (t["met"] == False)]  # noqa: E712
    names = "、".join(_label(c, lang) for c in behind["county"])
    if lang == "zh":
        s = f"全市衔接资金支出进度 {100 * sp['value']:.1f}%（本季度时序目标 {100 * sp['threshold']:.0f}%）"
        s += f"，{names}未达到时序进度" if names else "，各县区均达到时序进度"
        if sh is not None and sh["status"] == "ok":
            s += f"；用于产业发展的比重 {100 * sh['value']:.1f}%" + (
                f"（当年标准 {100 * sh['threshold']:.0f}%）。" if not pd.isna(sh["threshold"]) else "。")
        return s
    s = f"City-wide spending progress is {100 * sp['value']:.1f}% (milestone {100 * sp['threshold']:.0f}%)"
    s += f"; behind: {names}." if names else "; every county is on schedule."
    return s


def plot_trend(trend: pd.DataFrame, quarter: str, lang: str = "zh"):
    """Elimination rate and spending progress over the recent quarters, per county."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, key in zip(axes, ("elimination_rate", "spending_progress")):
        s = trend[(trend["indicator"] == key) & (trend["category"] == ALL) & (trend["county"] != CITY)]
        for c in [c for c in COUNTIES if c in set(s["county"])]:
            x = s[s["county"] == c].sort_values("quarter")
            y = np.where((x["status"] == "ok") & ~(x["denominator"] < 10), 100 * x["value"], np.nan)
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


def plot_ranking(rank: pd.DataFrame, quarter: str, lang: str = "zh"):
    """Composite scores with each county's rank range under weight perturbation."""
    r = rank.sort_values("composite")
    fig, ax = plt.subplots(figsize=(8, 3.8))
    labels = [figures.county_label(c, lang) for c in r["county"]]
    ax.barh(labels, r["composite"], color=[figures.COUNTY_COLORS[c] for c in r["county"]])
    for i, (s, rk, a, b, st) in enumerate(zip(r["composite"], r["rank"], r["rank_best"], r["rank_worst"], r["rank_stability"])):
        rng_text = f"第{rk}名（{a}–{b}，{st:.0%}不变）" if lang == "zh" else f"#{rk} (range {a}–{b}, {st:.0%} same)"
        ax.text(s + 0.01, i, rng_text, va="center", fontsize=9)
    ax.set_xlim(0, 1.25)
    ax.set_xlabel("综合得分（0–1）" if lang == "zh" else "composite score (0–1)")
    ax.set_title("综合评比：得分与名次稳定性" if lang == "zh" else "County comparison: score and rank stability")
    figures.caption(fig, quarter, lang, "权重各乘以0.8–1.2的随机因子1000次后的名次范围" if lang == "zh"
                    else "rank range over 1,000 draws of weights x U[0.8, 1.2]")
    return fig


def describe_ranking(rank: pd.DataFrame, lang: str = "zh") -> str:
    top, bottom = rank.iloc[0], rank.iloc[-1]
    unstable = rank[rank["rank_stability"] < 0.8]
    if lang == "zh":
        s = f"综合得分最高的是{top['county']}（{top['composite']:.2f}），最低的是{bottom['county']}（{bottom['composite']:.2f}）。"
        s += ("名次对权重不敏感。" if unstable.empty else
              "、".join(unstable["county"]) + "的名次随权重变化而变动，排名差距不宜过度解读。")
        return s
    s = f"Highest composite score: {figures.county_label(top['county'], 'en')} ({top['composite']:.2f}); lowest: " \
        f"{figures.county_label(bottom['county'], 'en')} ({bottom['composite']:.2f}). "
    return s + ("Ranks do not depend on the weights." if unstable.empty else
                "Some ranks move with the weights: do not over-read small gaps.")
