"""The sensitivity figure and sentences of the effects page (03), from the ``sensitivity`` artifact's frame
(``helpers.analysis.robustness``): how far parallel trends may fail before the conclusion does (Rambachan and
Roth 2023), and which pre-start trends the pre-start test could have missed (Roth 2022). Nothing is computed
here but the choice of words, and each choice is a named predicate (``sensitivity_verdict``), tested both ways.
"""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from helpers.analysis.construct import SHARE_OUTCOMES
from helpers.analysis.program_effects import FEW_CLUSTERS, HEADLINE
from helpers.domain.labels import label
from helpers.present import figures
from helpers.present.findings import headline_interval, significant
from helpers.present.effects import _unit, _v, outcome_label


def _value(frame: pd.DataFrame, kind: str, column: str = "value") -> float:
    r = frame[frame["kind"] == kind]
    return float(r[column].iloc[0]) if len(r) else math.nan


def _amount(x: float, outcome: str, lang: str, digits: int | None = None) -> str:
    """An amount of the outcome with its unit: '213 元' / '213 yuan', or '0.050 对数点' / '0.050 log points'."""
    if outcome.startswith("log_"):
        return f"{_v(x, outcome)} {'对数点' if lang == 'zh' else 'log points'}"
    if outcome in SHARE_OUTCOMES:
        return f"{_v(x, outcome)} {'个百分点' if lang == 'zh' else 'percentage points'}"
    return f"{_v(x, outcome, digits)} {'元' if lang == 'zh' else 'yuan'}"


def sensitivity_verdict(frame: pd.DataFrame) -> str:
    """What the sensitivity analysis allows one to say about the target (the average effect over the first
    post-start quarters): 'refused' (not computed: ``code``), 'not_significant' (its usual 95% interval already
    includes zero: there is no conclusion to break), 'robust' (the breakdown Mbar is at least 1: the conclusion
    survives post-start changes in the gap as large as the largest pre-start one), 'fragile' (breakdown above 0 and
    below 1), 'none' (breakdown 0: any post-start change in the gap may overturn it), 'unbounded' (no breakdown on the
    grid searched)."""
    if (frame["kind"] == "refused").any() or not (frame["kind"] == "original").any():
        return "refused"
    lo, hi = _value(frame, "original", "lb"), _value(frame, "original", "ub")
    if lo <= 0 <= hi:
        return "not_significant"
    b = _value(frame, "breakdown_relative_magnitude")
    if math.isinf(b):
        return "unbounded"
    return "robust" if b >= 1 else "fragile" if b > 0 else "none"


def _window(frame: pd.DataFrame) -> tuple[int, int]:
    """(number of post-start quarters of the target, the earliest pre-start quarter of the window, counted back
    from the start) from the frame's window row. The quarter-to-quarter changes compared run from that quarter to
    the reference quarter (1 before the start), whose coefficient is 0 by construction."""
    r = frame[frame["kind"] == "window"]
    if not len(r):
        return 0, 0
    text = r["reason"].iloc[0]
    pre, post = text.split(", post ")
    a, b = (int(x) for x in post.split(".."))
    p0, _ = (int(x) for x in pre.replace("pre ", "").split(".."))
    return b - a + 1, -p0


def refusal(frame: pd.DataFrame, kind: str, lang: str = "zh") -> str:
    """Why the sensitivity analysis (``refused``) or the pre-start test's power (``pretrend_slope_refused``) was not
    computed, in the page's language, from the frame's codes."""
    r = frame[frame["kind"] == kind]
    if not len(r):
        return ""
    r = r.iloc[0]
    code, v, m = r.get("code", ""), r["value"], r["m"]
    zh = lang == "zh"
    if code == "rank":
        return (f"事件研究 {int(m)} 个系数的协方差矩阵的秩只有 {int(v)}（聚类太少，聚类稳健协方差的秩不超过聚类数减一），"
                "无法计算。请按村聚类，或减少事件时间。" if zh else
                f"the covariance of the event study's {int(m)} coefficients has rank {int(v)} only (too few clusters: a "
                "cluster-robust covariance has rank at most the number of clusters minus one); cluster by village, or use "
                "fewer event times.")
    if code == "few_treated":
        return ("开始前的部分系数只依据很少几户获帮扶的农户（每批一两户），没有可用的方差，与开始前检验的规则一致，不计算。" if zh else
                "some pre-start terms rest on too few supported households (cohorts of one or two) and have no usable "
                "variance; as for the pre-start test, nothing is computed.")
    if code == "window":
        return ("开始前或开始后的季度不足，无法计算。" if zh else "too few quarters before or after the start.")
    if code == "few_clusters":
        return (f"{int(v)} 个聚类不足以联合检验 {int(m)} 个开始前的系数。" if zh else
                f"{int(v)} clusters are too few to test {int(m)} pre-start terms jointly.")
    if code == "no_terms":
        return "没有可检验的开始前系数。" if zh else "no pre-start term to test."
    return "无法计算。" if zh else "it cannot be computed."


def _claim(outcome: str, up: bool, n: int, lang: str) -> str:
    """What the conclusion is, in the outcome's terms, for the target's quarters."""
    if lang == "zh":
        what = {"below_line": "低于监测线的概率", "earned_pc": "工资性和经营性收入"}.get(outcome, "收入")
        return f"帮扶在开始后前 {n} 个季度{'提高' if up else '降低'}了{what}"
    what = {"below_line": "the probability of being below the line", "earned_pc": "wage and business income"}.get(
        outcome, "income")
    return f"support {'raised' if up else 'lowered'} {what} over the first {n} quarters after the start"


def _few_cluster_caveat(frame: pd.DataFrame, lang: str) -> str:
    g = _value(frame, "clusters")
    if math.isnan(g) or math.isinf(g) or g >= FEW_CLUSTERS:
        return ""
    return (f"注意：只有 {int(g)} 个聚类，这里的置信集合按正态近似计算，可能偏窄。" if lang == "zh" else
            f" Note: with only {int(g)} clusters these sets rest on a normal approximation and may be too narrow.")


def describe_sensitivity(frame: pd.DataFrame, outcome: str, lang: str = "zh") -> str:
    """One or two sentences: whether the conclusion about the first post-start quarters survives violations of parallel
    trends, and how large (the breakdown Mbar, rounded down: never a larger number than computed)."""
    zh = lang == "zh"
    verdict = sensitivity_verdict(frame)
    if verdict == "refused":
        return (f"敏感性分析未计算：{refusal(frame, 'refused', lang)}" if zh else
                f"The sensitivity analysis was not computed: {refusal(frame, 'refused', lang)}")
    n, pre = _window(frame)
    target, lo, hi = _value(frame, "target"), _value(frame, "original", "lb"), _value(frame, "original", "ub")
    what = (f"开始后前 {n} 个季度的平均效应为 {_amount(target, outcome, lang)}（95%区间 {_v(lo, outcome)} 至 "
            f"{_amount(hi, outcome, lang)}）" if zh else
            f"The average effect over the first {n} quarters after the start is {_amount(target, outcome, lang)} "
            f"(95% CI {_v(lo, outcome)} to {_amount(hi, outcome, lang)})")
    caveat = _few_cluster_caveat(frame, lang)
    if verdict == "not_significant":
        return what + ("，本身就不能排除没有效果，敏感性分析没有可以推翻的结论。" if zh else
                       ": it does not rule out no effect, so there is no conclusion for the sensitivity analysis to test.")
    claim = _claim(outcome, target > 0, n, lang)
    b = _value(frame, "breakdown_relative_magnitude")
    if verdict == "unbounded":
        return what + (f"。在检查的范围内，“{claim}”的结论都成立。" if zh else
                       f". The conclusion that {claim} holds over the whole range examined.") + caveat
    if verdict == "none":
        return what + (f"。但只要开始后两组差距的季度变化与开始前稍有不同，“{claim}”的结论就可能不成立，需谨慎。" if zh else
                       f". But any change in the gap after the start beyond what parallel trends allow could overturn the "
                       f"conclusion that {claim}: read with care.") + caveat
    times = f"{math.floor(10 * b) / 10:.1f}"
    if zh:
        gap = "低于监测线比例的差距" if outcome == "below_line" else "收入差距"
        s = (what + f"。这里的“走势差异”指两组农户{gap}每个季度的变化：与开始前第 {pre} 个季度到第 1 个季度之间最大的一次"
             f"季度间变化相比，"
             f"只要开始后每个季度的变化不超过它的 **{times} 倍**，“{claim}”的结论就成立；超过这个倍数，95%置信集合就包含零。")
        s += ("即使开始后的变化和开始前最大的一样大，结论也成立。" if verdict == "robust" else
              "开始后的变化还没达到开始前最大的那一次，结论就可能不成立，需谨慎。")
        return s + caveat
    s = (what + f". Here a difference in trends is the quarter-to-quarter change in the gap between the two groups: "
         f"the conclusion that {claim} holds as long as each post-start change is at most **{times} times** the largest "
         f"quarter-to-quarter change seen between {pre} quarters and 1 quarter before the start; beyond that the 95% "
         "confidence set includes zero.")
    s += (" It survives post-start changes as large as the largest pre-start one." if verdict == "robust" else
          " Post-start changes smaller than the largest pre-start one would already overturn it: read with care.")
    return s + caveat


def describe_pretrend_power(frame: pd.DataFrame, outcome: str, lang: str = "zh") -> str:
    """Which linear pre-start trends the joint pre-start test would have found, with 50% and 80% probability."""
    zh = lang == "zh"
    s50, s80 = _value(frame, "pretrend_slope_50"), _value(frame, "pretrend_slope_80")
    if math.isnan(s80):
        reason = refusal(frame, "pretrend_slope_refused", lang) or ("无法计算。" if zh else "it cannot be computed.")
        return f"开始前检验的功效未计算：{reason}" if zh else f"The power of the pre-start test was not computed: {reason}"
    a80, a50 = _amount(s80, outcome, lang, 1), _amount(s50, outcome, lang, 1)
    if zh:
        return (f"开始前的联合检验有 80% 的把握发现每季度扩大 {a80}的线性走势差异（50% 的把握：每季度 {a50}）。"
                "比这更小的走势差异可能没有被发现，上面的敏感性分析回答的正是这种情况。")
    return (f"The joint pre-start test detects a linear difference in trends growing by {a80} a quarter with 80% "
            f"probability ({a50} with 50%). Smaller differences may have gone unnoticed: that is what the sensitivity "
            "analysis above is about.")


def plot_sensitivity(frame: pd.DataFrame, outcome: str, quarter: str, lang: str = "zh"):
    """The robust 95% confidence sets of the target (the average effect over the first post-start quarters, which
    the y axis names) against Mbar (relative magnitudes), the usual interval beside them, and zero. None when the
    analysis was refused or has no sets: the sentence says why, and no empty chart is shown."""
    zh = lang == "zh"
    if sensitivity_verdict(frame) == "refused" or not (frame["kind"] == "relative_magnitude").any():
        return None
    n, _ = _window(frame)
    fig, ax = plt.subplots(figsize=(8, 4.2))
    k = 100.0 if outcome in SHARE_OUTCOMES else 1.0        # a share is drawn in percentage points, as its label says
    rm = frame[frame["kind"] == "relative_magnitude"].sort_values("m")
    rm = rm.assign(lb=k * rm["lb"], ub=k * rm["ub"])
    if (frame["kind"] == "original").any() and len(rm):
        lo, hi, target = (k * _value(frame, "original", "lb"), k * _value(frame, "original", "ub"),
                          k * _value(frame, "target"))
        step = float(np.diff(rm["m"]).min()) if len(rm) > 1 else 0.5
        x0 = float(rm["m"].min()) - step
        ax.plot([x0, x0], [lo, hi], color="#555555", lw=3, solid_capstyle="butt")
        ax.plot([x0], [target], "o", color="#555555")
        ax.vlines(rm["m"], rm["lb"], rm["ub"], color="#1b6ca8", lw=3)
        open_top = rm["reason"] == "grid_end"
        ax.plot(rm.loc[open_top, "m"], rm.loc[open_top, "ub"], "^", color="#1b6ca8")
        ax.axhline(0, color="#c2413b", lw=1, ls="--")
        ticks = [x0] + rm["m"].tolist()
        ax.set_xticks(ticks, ["通常区间" if zh else "usual CI"] + [f"{m:g}" for m in rm["m"]])
        b = _value(frame, "breakdown_relative_magnitude")
        if np.isfinite(b) and b > 0:
            ax.axvline(b, color="#999999", lw=1, ls=":")
            ax.text(b, ax.get_ylim()[1], f" {math.floor(10 * b) / 10:.1f}", va="top", ha="left", fontsize=9,
                    color="#555555")                      # rounded down, as the sentence
    ax.set_xlabel("M̄：开始后每季度差距的变化，相对开始前最大一次季度间变化的倍数" if zh else
                  "M̄: each post-start quarter's change in the gap, relative to the largest pre-start change")
    ax.set_ylabel(f"开始后前 {n} 个季度的平均效应（{_unit(outcome, lang)}）" if zh else
                  f"average effect, first {n} quarters after start ({_unit(outcome, lang)})")
    ax.set_title("平行趋势不完全成立时的95%置信集合" if zh else "95% confidence sets when parallel trends hold only roughly")
    figures.caption(fig, quarter, lang, "相对幅度限制（Rambachan-Roth，条件-最不利混合方法）；虚点线为断点" if zh else
                    "relative magnitudes (Rambachan-Roth, conditional least-favourable hybrid); dotted: breakdown value")
    fig.tight_layout()
    return fig


# ---- could the data detect it? (the ``power`` artifact, helpers.analysis.power) ----------------------------------
def _mde(frame: pd.DataFrame, design: str) -> tuple[float, str, float]:
    r = frame[frame["design"] == design]
    if not len(r):
        return math.nan, "", math.nan
    return float(r["mde"].iloc[0]), str(r["mde_note"].iloc[0]), float(r["mde_analytic"].iloc[0])


def detectable(att: float, mde: float) -> bool | None:
    """The estimated effect is at least the minimum detectable effect (None without both)."""
    if any(x is None or (isinstance(x, float) and math.isnan(x)) for x in (att, mde)):
        return None
    return bool(abs(att) >= mde)


def describe_power(frame: pd.DataFrame, outcome: str, table: pd.DataFrame, lang: str = "zh") -> str:
    """The smallest effect the evaluation detects 80% of the time at 5% (simulated on the city's own data), now and
    with one more quarter, and whether the page's headline estimate (the side-by-side ``table``'s headline row) is
    above it (``detectable``)."""
    zh = lang == "zh"
    head = table[(table["estimator"] == HEADLINE[0]) & (table["aggregate"] == HEADLINE[1])]
    att = float(head["att"].iloc[0]) if len(head) else math.nan
    if frame is None or frame.empty:
        return "最小可检测效应尚未计算（运行 `workbook power`）。" if zh else "The minimum detectable effect was not computed (run `workbook power`)."
    now, note, analytic = _mde(frame, "current")
    nxt, note_next, _ = _mde(frame, "next_quarter")
    reps = int(frame["reps"].iloc[0])
    if math.isnan(now):
        a = lambda x: _amount(x, outcome, lang)  # noqa: E731
        why = {"not_reached": ("试过的效应都达不到 80% 的把握", "no effect tried reaches 80% power"),
               "below_grid": ("试过的最小效应已达到 80% 的把握", "the smallest effect tried already reaches 80% power"),
               "few_clusters": ("聚类太少：模拟的检验水平不可靠，标准误本身也估计得不准（例如按县区聚类只有几个县区），"
                                "由它算出的最小可检测效应会偏乐观，因此不给出；请按村聚类查看",
                                "too few clusters: the simulated test does not hold its size and the standard error itself is "
                                "poorly estimated (e.g. a handful of counties), so a detectable effect computed from it would "
                                "be optimistic and is not given; cluster by village to see it"),
               "thin_cells": ("有的批次在开始后的某个季度只有一户获帮扶或一户对照，无法如实模拟",
                              "some cohort has a quarter after its start with a single supported or comparison household, "
                              "so the design cannot be simulated honestly")}
        w = why.get(note, ("无法确定", "for a reason the data do not say"))[0 if zh else 1]
        return f"最小可检测效应未由模拟给出：{w}。" if zh else f"The minimum detectable effect is not simulated: {w}."
    a = lambda x: _amount(x, outcome, lang)  # noqa: E731
    verdict = detectable(att, now)
    row = head.iloc[0].to_dict() if len(head) else {}
    lo, hi, _ = headline_interval(row) if row else (math.nan, math.nan, "")
    sig = significant(lo, hi)
    cl = str(frame["cluster"].iloc[0]) if "cluster" in frame and str(frame["cluster"].iloc[0]) else "household_id"
    unit = label("cluster", cl, lang) if cl in ("village", "county", "household_id") else cl
    if zh:
        s = (f"按本市自己的数据模拟（{reps:,} 次：同样的农户、开始时间和聚类，残差乘以按{unit}抽取的随机权重，加入已知效应，"
             f"用同样的估计和检验），以现有数据，真实效应至少为 **{a(now)}** 时，才有 80% 的把握在 5% 水平上发现"
             f"（按标准误的解析近似为 {a(analytic)}）")
        s += (f"；再多一个季度的数据（不计新开始帮扶的农户），约为 {a(nxt)}。" if not math.isnan(nxt) else "。")
        if note == "size_adjusted":
            s += "（本页的检验在模拟中拒绝率超过 5%，这里按模拟的临界值校正了检验水平。）"
        if verdict is True:
            s += f"本页估计的效应（{a(att)}）大于这个值：如果真实效应有这么大，这样的数据有 80% 以上的把握发现它。"
        elif verdict is False and sig:
            s += (f"本页估计的效应（{a(att)}）统计上显著，但小于这个值：这样的数据下，显著的估计往往高估了真实效应"
                  "（真实效应小的时候，只有偶然偏大的估计才会显著），读数需谨慎。")
        elif verdict is False:
            s += f"本页估计的效应（{a(att)}）小于这个值：即使效应真实存在，这样的数据也常常发现不了，不显著不等于没有效果。"
        return s
    s = (f"Simulated on the city's own data ({reps:,} replications: the same households, starts and clusters, residuals "
         f"multiplied by random weights drawn by {unit}, a known effect added, the same estimator and test): with the data "
         f"so far a true effect must be at least **{a(now)}** to be detected 80% of the time at 5% (analytic "
         f"approximation from the standard error: {a(analytic)})")
    s += (f"; with one more quarter (no new starts), about {a(nxt)}." if not math.isnan(nxt) else ".")
    if note == "size_adjusted":
        s += " (The page's test rejected more than 5% of the time at zero in the simulation; its size was corrected.)"
    if verdict is True:
        s += f" The page's estimate ({a(att)}) is above it: a true effect that large would be detected more than 80% of the time."
    elif verdict is False and sig:
        s += (f" The page's estimate ({a(att)}) is significant but below it: with such data, significant estimates tend to "
              "exaggerate the true effect (when it is small, only estimates that happen to be large reach significance).")
    elif verdict is False:
        s += (f" The page's estimate ({a(att)}) is below it: even if real, such an effect would often go undetected, so "
              "'not significant' does not mean 'no effect'.")
    return s


def power_heading(lang: str = "zh") -> str:
    return "## 这些数据能发现多大的效应？" if lang == "zh" else "## How large an effect can these data detect?"
