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
from helpers.analysis.program_effects import HEADLINE
from helpers.present import figures
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
    post-start quarters): 'refused' (not computed: ``reason``), 'not_significant' (its usual 95% interval already
    includes zero: there is no conclusion to break), 'robust' (the breakdown Mbar is at least 1: the conclusion
    survives post-start violations as large as the largest pre-start one), 'fragile' (breakdown below 1),
    'unbounded' (no breakdown found on the grid searched)."""
    if (frame["kind"] == "refused").any() or not (frame["kind"] == "original").any():
        return "refused"
    lo, hi = _value(frame, "original", "lb"), _value(frame, "original", "ub")
    if lo <= 0 <= hi:
        return "not_significant"
    b = _value(frame, "breakdown_relative_magnitude")
    if math.isinf(b):
        return "unbounded"
    return "robust" if b >= 1 else "fragile"


def _window(frame: pd.DataFrame) -> int:
    r = frame[frame["kind"] == "window"]
    if not len(r):
        return 0
    post = r["reason"].iloc[0].split("post ")[-1]
    a, b = (int(x) for x in post.split(".."))
    return b - a + 1


def describe_sensitivity(frame: pd.DataFrame, outcome: str, lang: str = "zh") -> str:
    """One or two sentences: whether the conclusion survives violations of parallel trends, and how large."""
    zh = lang == "zh"
    verdict = sensitivity_verdict(frame)
    if verdict == "refused":
        reason = "; ".join(frame.loc[frame["kind"] == "refused", "reason"]) or "—"
        return (f"敏感性分析无法计算：{reason}" if zh else f"The sensitivity analysis could not be computed: {reason}")
    n = _window(frame)
    target, lo, hi = _value(frame, "target"), _value(frame, "original", "lb"), _value(frame, "original", "ub")
    up = target > 0
    what = (f"开始后前 {n} 个季度的平均效应为 {_amount(target, outcome, lang)}（95%区间 {_v(lo, outcome)} 至 "
            f"{_amount(hi, outcome, lang)}）" if zh else
            f"The average effect over the first {n} quarters after the start is {_amount(target, outcome, lang)} "
            f"(95% CI {_v(lo, outcome)} to {_amount(hi, outcome, lang)})")
    if verdict == "not_significant":
        return what + ("，本身就不能排除没有效果，敏感性分析没有可以推翻的结论。" if zh else
                       ": it does not rule out no effect, so there is no conclusion for the sensitivity analysis to test.")
    claim = ("帮扶提高了收入" if up else "帮扶降低了收入") if zh else ("support raised income" if up else "support lowered income")
    b = _value(frame, "breakdown_relative_magnitude")
    if verdict == "unbounded":
        return what + (f"。在检查的范围内，“{claim}”的结论都成立。" if zh else
                       f". The conclusion that {claim} holds over the whole range examined.")
    times = f"{b:.1f}"
    if zh:
        s = (what + f"。只要开始帮扶后两组农户收入走势的差异不超过开始前最大差异的 **{times} 倍**，“{claim}”的结论就成立；"
             "超过这个倍数，95%置信集合就包含零。")
        s += ("即使开始后的走势差异和开始前最大的一样大，结论也成立。" if verdict == "robust" else
              "开始后的走势差异还不到开始前最大差异的程度，结论就可能不成立，需谨慎。")
        return s
    s = (what + f". The conclusion that {claim} holds unless post-start trend differences exceed **{times} times** the "
         "largest pre-start difference; beyond that the 95% confidence set includes zero.")
    s += (" It survives post-start differences as large as the largest pre-start one." if verdict == "robust" else
          " Post-start differences smaller than the largest pre-start one would already overturn it: read with care.")
    return s


def describe_pretrend_power(frame: pd.DataFrame, outcome: str, lang: str = "zh") -> str:
    """Which linear pre-start trends the joint pre-start test would have found, with 50% and 80% probability."""
    zh = lang == "zh"
    s50, s80 = _value(frame, "pretrend_slope_50"), _value(frame, "pretrend_slope_80")
    if math.isnan(s80):
        reason = "; ".join(frame.loc[frame["kind"] == "pretrend_slope_refused", "reason"]) or "—"
        return f"开始前检验的功效无法计算：{reason}。" if zh else f"The power of the pre-start test cannot be computed: {reason}."
    a80, a50 = _amount(s80, outcome, lang, 1), _amount(s50, outcome, lang, 1)
    if zh:
        return (f"开始前的联合检验有 80% 的把握发现每季度扩大 {a80}的线性走势差异（50% 的把握：每季度 {a50}）。"
                "比这更小的走势差异可能没有被发现，上面的敏感性分析回答的正是这种情况。")
    return (f"The joint pre-start test detects a linear difference in trends growing by {a80} a quarter with 80% "
            f"probability ({a50} with 50%). Smaller differences may have gone unnoticed: that is what the sensitivity "
            "analysis above is about.")


def plot_sensitivity(frame: pd.DataFrame, outcome: str, quarter: str, lang: str = "zh"):
    """The robust 95% confidence sets of the target against Mbar (relative magnitudes), the usual interval beside
    them, and zero."""
    zh = lang == "zh"
    fig, ax = plt.subplots(figsize=(8, 4.2))
    rm = frame[frame["kind"] == "relative_magnitude"].sort_values("m")
    if (frame["kind"] == "original").any() and len(rm):
        lo, hi, target = _value(frame, "original", "lb"), _value(frame, "original", "ub"), _value(frame, "target")
        step = float(np.diff(rm["m"]).min()) if len(rm) > 1 else 0.5
        x0 = float(rm["m"].min()) - step
        ax.plot([x0, x0], [lo, hi], color="#555555", lw=3, solid_capstyle="butt")
        ax.plot([x0], [target], "o", color="#555555")
        ax.vlines(rm["m"], rm["lb"], rm["ub"], color="#1b6ca8", lw=3)
        open_top = rm["reason"] == "grid_end"
        ax.plot(rm.loc[open_top, "m"], rm.loc[open_top, "ub"], "^", color="#1b6ca8")
        ax.axhline(0, color="#c2413b", lw=1, ls="--")
        ticks = [x0] + rm["m"].tolist()
        ax.set_xticks(ticks, ["原始区间" if zh else "original"] + [f"{m:g}" for m in rm["m"]])
        b = _value(frame, "breakdown_relative_magnitude")
        if np.isfinite(b) and b > 0:
            ax.axvline(b, color="#999999", lw=1, ls=":")
            ax.text(b, ax.get_ylim()[1], f" {b:.1f}", va="top", ha="left", fontsize=9, color="#555555")
    else:
        ax.text(0.5, 0.5, "敏感性分析无法计算" if zh else "The sensitivity analysis could not be computed",
                transform=ax.transAxes, ha="center", va="center", color="#555555")
    ax.set_xlabel("M̄：开始后走势差异相对开始前最大差异的倍数" if zh else
                  "M̄: post-start trend differences relative to the largest pre-start one")
    ax.set_ylabel(f"对{outcome_label(outcome, lang)}的效应（{_unit(outcome, lang)}）" if zh else
                  f"effect on {outcome_label(outcome, lang)} ({_unit(outcome, lang)})")
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
        why = {"not_reached": ("试过的效应都达不到 80% 的把握", "no effect tried reaches 80% power"),
               "below_grid": ("试过的最小效应已达到 80% 的把握", "the smallest effect tried already reaches 80% power")}
        w = why.get(note, ("无法确定", "cannot be determined"))[0 if zh else 1]
        return f"最小可检测效应无法确定：{w}。" if zh else f"The minimum detectable effect cannot be determined: {w}."
    a = lambda x: _amount(x, outcome, lang)  # noqa: E731
    verdict = detectable(att, now)
    if zh:
        s = (f"按本市自己的数据模拟（{reps:,} 次：同样的农户、开始时间和村，残差按村重抽，加入已知效应，用同样的估计和检验），"
             f"以现有数据，效应至少为 **{a(now)}** 时，才有 80% 的把握在 5% 水平上发现（按标准误的解析近似为 {a(analytic)}）")
        s += (f"；再多一个季度的数据（不计新开始帮扶的农户），约为 {a(nxt)}。" if not math.isnan(nxt) else "。")
        if verdict is True:
            s += f"本页估计的效应（{a(att)}）大于这个值，这样大小的效应这些数据能够可靠地发现。"
        elif verdict is False:
            s += f"本页估计的效应（{a(att)}）小于这个值：即使效应真实存在，这样的数据也常常发现不了，不显著不等于没有效果。"
        return s
    s = (f"Simulated on the city's own data ({reps:,} replications: the same households, starts and villages, residuals "
         f"redrawn by village, a known effect added, the same estimator and test): with the data so far an effect must be "
         f"at least **{a(now)}** to be detected 80% of the time at 5% (analytic approximation from the standard error: "
         f"{a(analytic)})")
    s += (f"; with one more quarter (no new starts), about {a(nxt)}." if not math.isnan(nxt) else ".")
    if verdict is True:
        s += f" The page's estimate ({a(att)}) is above it: an effect of that size is reliably detected with these data."
    elif verdict is False:
        s += (f" The page's estimate ({a(att)}) is below it: even if real, such an effect would often go undetected, so "
              "'not significant' does not mean 'no effect'.")
    return s


def power_heading(lang: str = "zh") -> str:
    return "## 这些数据能发现多大的效应？" if lang == "zh" else "## How large an effect can these data detect?"
