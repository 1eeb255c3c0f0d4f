"""Effects in the terms of the policy (防止返贫), from the saved artifacts: the effect of a program on the
probability of being below the monitoring line (the ``effects`` artifact with ``outcome="below_line"``) and on
the 10th, 25th and 50th percentiles of income among the supported (the ``distribution`` artifact,
changes-in-changes). Tables and sentences only; every qualitative word comes from a named predicate
(``helpers.present.findings``: ``significant``, ``headline_interval``, ``intervals_overlap``) or from
``bottom_vs_middle`` below, tested in both directions.
"""
from __future__ import annotations

import math

import pandas as pd

from helpers.domain.labels import label
from helpers.present.findings import county_check, headline_interval, intervals_overlap, significant, words


def _cs(frame: pd.DataFrame):
    r = frame[(frame["estimator"] == "callaway_santanna") & (frame["aggregate"] == "simple")
              & (frame["term"] == "overall") & (frame["outcome"] == "below_line")]
    return r.iloc[0] if len(r) else None


def _pp(x: float, digits: int = 1) -> str:
    v = 100 * x
    return f"{0:.{digits}f}" if round(v, digits) == 0 else f"{v:.{digits}f}"


def _digits(a: float, b: float, nonzero: bool = False) -> int:
    """Decimals of percentage points that tell an interval's ends apart (and with ``nonzero``, write no end other
    than zero as zero: a significant interval must not read 'from 0.0'): one, or up to three when one would write a
    narrow interval (a large sample's) as 'from 1.5 to 1.5' or a significant end near zero as '0.0'."""
    for d in (1, 2):
        zero = _pp(0.0, d)
        if _pp(a, d) != _pp(b, d) and not (nonzero and any(_pp(x, d) == zero for x in (a, b) if x != 0)):
            return d
    return 3


def _base_rate(row, lang: str) -> str:
    """The level the effect is read against: the share of supported household-quarters after start that is below
    the line (observed) and the share estimated without support (observed minus the effect). '' when the saved
    frame has no level (an older file) or the estimate falls outside 0-100%."""
    seen = float(row.get("treated_mean", math.nan)) if hasattr(row, "get") else math.nan
    if math.isnan(seen):
        return ""
    without = seen - float(row["att"])
    if not 0 <= without <= 1:
        return ""
    if lang == "zh":
        return (f"参照：开始帮扶后，这些农户的户季中有 {_pp(seen)}% 低于监测线；"
                f"没有帮扶时推算约为 {_pp(without)}%。")
    return (f" For reference: after support started, {_pp(seen)}% of these households' quarters were below the line; "
            f"without support an estimated {_pp(without)}%.")


def below_line_sentence(frame: pd.DataFrame, program: str, lang: str = "zh") -> str:
    """'产业帮扶使低于监测线的概率降低 X 个百分点（95%区间 a 至 b），统计上显著' from the saved below-line
    effects of a program (Callaway-Sant'Anna, the interval the significance claim rests on). Only a significant
    estimate is worded as what the program does; otherwise the sentence gives the point estimate and an interval
    that runs from a reduction to a rise, and says that no change can be claimed. The scope is said: supported
    household-quarters after support started."""
    zh = lang == "zh"
    row = _cs(frame)
    name = label("program", program, lang)
    if row is None:
        return (f"{name}：没有低于监测线概率的估计。" if zh else f"{name}: no estimate of the below-line probability.")
    lo, hi, basis = headline_interval(row)
    sig = significant(lo, hi)
    att = float(row["att"])
    down = att < 0
    doubt = words("county_check", county_check(sig, row.get("p_county", math.nan)), lang)
    few = ("（按少聚类检验判断）" if zh else " (by the few-cluster check)") if basis == "few_cluster" else ""
    if sig:
        a, b = (-hi, -lo) if down else (lo, hi)      # the interval of the change as it is named (a reduction, or a rise)
        d = _digits(a, b, nonzero=True)
        if zh:
            s = (f"**{name}**使开始帮扶后的农户人均收入低于当年监测线的概率{'降低' if down else '提高'} "
                 f"**{_pp(abs(att), d)} 个百分点**（{'降低' if down else '提高'}幅度的95%区间 {_pp(a, d)} 至 {_pp(b, d)} 个百分点），"
                 + words("significant", sig, lang) + few)
            return s + (f"，{doubt}" if doubt else "") + "。" + _base_rate(row, lang)
        s = (f"**{name.capitalize()}** {'lowers' if down else 'raises'} the probability that a supported household's "
             f"income is below the year's monitoring line, after support starts, by **{_pp(abs(att), d)} percentage "
             f"points** (95% CI of the {'reduction' if down else 'rise'}: {_pp(a, d)} to {_pp(b, d)}), "
             + words("significant", sig, lang) + few)
        return s + (f", {doubt}" if doubt else "") + "." + _base_rate(row, lang)
    bounded = not (lo is None or hi is None or math.isnan(lo) or math.isnan(hi))
    d = _digits(lo, hi) if bounded else 1
    if zh:                                           # not significant (or no interval): no claim of an effect
        end = lambda x, a, b: " 0" if _pp(abs(x), d) == _pp(0.0, d) else f"{a if x < 0 else b} {_pp(abs(x), d)}"  # noqa: E731
        span = f"，95%区间从{end(lo, '降低', '提高')} 到{end(hi, '降低', '提高')} 个百分点" if bounded else ""
        return (f"**{name}**：开始帮扶后低于当年监测线的概率，点估计{'降低' if down else '提高'} {_pp(abs(att), d)} 个百分点"
                f"{span}，" + words("significant", sig, lang) + few + "。" + _base_rate(row, lang))
    span = (f"; 95% CI from {_pp(abs(lo), d)} points {'lower' if lo < 0 else 'higher'} to {_pp(abs(hi), d)} points "
            f"{'higher' if hi > 0 else 'lower'}") if bounded else ""
    return (f"**{name.capitalize()}**: the probability of being below the year's monitoring line after support starts is "
            f"{_pp(abs(att), d)} percentage points {'lower' if down else 'higher'} as a point estimate{span}; "
            + words("significant", sig, lang) + few + "." + _base_rate(row, lang))


def below_line_heading(lang: str = "zh") -> str:
    if lang == "zh":
        return ("## 帮扶与防止返贫：低于监测线的概率\n\n结果变量：农户本季度人均纯收入乘以4是否低于当年的防返贫监测收入线"
                "（`config/indicators.yaml`）。效应是获得帮扶后低于监测线的概率比不帮扶时低（或高）多少个百分点，方法与上面相同。")
    return ("## Support and the monitoring line: the probability of being below it\n\nOutcome: whether a household's "
            "per-capita income this quarter times four is below the year's monitoring line (`config/indicators.yaml`). "
            "The effect is how many percentage points lower (or higher) that probability is with support than without, "
            "estimated as above.")


# ---- quantile effects --------------------------------------------------------------------------------------
def bottom_vs_middle(frame: pd.DataFrame) -> str:
    """Whether the low end of the distribution rises more than the middle: from the bootstrap interval of the gap
    QTT(0.10) - QTT(0.50) ('bottom' when it lies above zero, 'middle' below zero, 'similar' when it contains zero);
    without that interval (an older frame), from the two percentiles' intervals ('similar' when they overlap); ''
    without the numbers (e.g. intervals withheld with few clusters)."""
    if {"gap_10_50", "gap_ci_low", "gap_ci_high"} <= set(frame.columns) and len(frame):
        lo, hi = float(frame["gap_ci_low"].iloc[0]), float(frame["gap_ci_high"].iloc[0])
        if math.isnan(lo) or math.isnan(hi):
            return ""
        return "bottom" if lo > 0 else "middle" if hi < 0 else "similar"
    q = frame.set_index("quantile")
    if 0.1 not in q.index or 0.5 not in q.index:
        return ""
    lo, mid = q.loc[0.1], q.loc[0.5]
    if any(pd.isna(x) for x in (lo["ci_low"], lo["ci_high"], mid["ci_low"], mid["ci_high"])):
        return ""
    if intervals_overlap(lo, mid):
        return "similar"
    return "bottom" if lo["qtt"] > mid["qtt"] else "middle"


def _withheld(frame: pd.DataFrame) -> bool:
    return "note" in frame and len(frame) and str(frame["note"].iloc[0]) == "few_clusters"


def show_quantiles(frame: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
    """The quantile effects as a table for people."""
    zh = lang == "zh"
    name = (lambda q: f"第{int(round(100 * q))}百分位数" if q != 0.5 else "中位数") if zh else \
        (lambda q: f"{int(round(100 * q))}th percentile" if q != 0.5 else "median")
    out = pd.DataFrame({
        ("收入分位" if zh else "income percentile"): [name(q) for q in frame["quantile"]],
        ("帮扶后（元/人/季）" if zh else "with support (yuan/person/quarter)"): frame["observed"].map(lambda v: f"{v:,.0f}"),
        ("没有帮扶时（推算）" if zh else "without support (estimated)"): frame["counterfactual"].map(lambda v: f"{v:,.0f}"),
        ("效应（元/人/季）" if zh else "effect (yuan/person/quarter)"): frame["qtt"].map(lambda v: f"{v:,.0f}"),
        ("95%置信区间" if zh else "95% CI"): ["—" if pd.isna(a) or pd.isna(b) else f"[{a:,.0f}, {b:,.0f}]"
                                             for a, b in zip(frame["ci_low"], frame["ci_high"])],
    })
    return out.set_index(out.columns[0])


def describe_quantiles(frame: pd.DataFrame, program: str, lang: str = "zh") -> str:
    """The percentile effects in words, and whether support helps the lowest incomes most (``bottom_vs_middle``)."""
    zh = lang == "zh"
    if frame.empty:
        return "没有分位数效应的估计。" if zh else "No quantile effects were estimated."
    q = frame.set_index("quantile")
    name = label("program", program, lang)
    verdict = bottom_vs_middle(frame)
    parts = []
    for k in (0.1, 0.25, 0.5):
        if k in q.index:
            r = q.loc[k]
            w = (f"第{int(100 * k)}百分位数" if k != 0.5 else "中位数") if zh else \
                (f"the {int(100 * k)}th percentile" if k != 0.5 else "the median")
            sig = significant(r["ci_low"], r["ci_high"])
            tag = "" if sig is not False else ("（不显著）" if zh else " (not significant)")
            parts.append(f"{w}{'高' if r['qtt'] >= 0 else '低'} {abs(r['qtt']):,.0f} 元{tag}" if zh else
                         f"{w} {abs(r['qtt']):,.0f} yuan {'higher' if r['qtt'] >= 0 else 'lower'}{tag}")
    if zh:
        s = f"获得{name}的农户（按户-季合并）的人均季度收入分布，与没有帮扶时推算的分布相比：" + "，".join(parts) + "。"
        s += {"bottom": "对分布低端（第10百分位数）的效应大于对中位数的效应（两者之差的95%区间在0以上）。",
              "middle": "对分布低端（第10百分位数）的效应小于对中位数的效应（两者之差的95%区间在0以下），需关注。",
              "similar": "对分布低端与对中位数的效应在统计上没有区别，不能说帮扶对分布低端的作用更大或更小。",
              "": ""}[verdict]
        s += _quantile_notes(frame, lang)
        return s + ("这比较的是分布的分位数，不一定是同一批农户的收入变化。方法为逐批次的变化中的变化（Athey-Imbens）"
                    + ("。" if _withheld(frame) else "，区间来自按聚类自助抽样。"))
    s = (f"The distribution of per-capita quarterly income of households receiving {name} (household-quarters pooled), "
         "against the distribution estimated without support: " + "; ".join(parts) + ". ")
    s += {"bottom": "The effect at the low end of the distribution (10th percentile) is larger than at the median (the "
                    "95% CI of their difference lies above 0). ",
          "middle": "The effect at the low end of the distribution (10th percentile) is smaller than at the median (the "
                    "95% CI of their difference lies below 0); this needs attention. ",
          "similar": "The effects at the low end and at the median cannot be told apart statistically. ",
          "": ""}[verdict]
    s += _quantile_notes(frame, lang)
    return s + ("These are percentiles of the distribution, not necessarily the same households. Method: changes-in-"
                "changes (Athey-Imbens) by cohort" + ("." if _withheld(frame) else "; intervals from a bootstrap over clusters."))


def _quantile_notes(frame: pd.DataFrame, lang: str) -> str:
    """Intervals withheld with few clusters; the share of supported incomes outside the comparison's range."""
    zh, out = lang == "zh", ""
    if _withheld(frame):
        g = int(frame["clusters"].iloc[0]) if "clusters" in frame else 0
        out += (f"只有 {g} 个聚类，按聚类自助抽样的区间不可靠，未给出，也不判断显著性。" if zh else
                f"With only {g} clusters a cluster bootstrap is unreliable: no intervals, and no significance is judged. ")
    if "outside_support" in frame and len(frame):
        share = float(frame["outside_support"].iloc[0])
        if share >= 0.05:
            out += (f"有 {share:.0%} 的获帮扶户-季开始前的收入超出对照户的范围，其没有帮扶时的收入只能外推，分布两端的结果需谨慎。"
                    if zh else f"{share:.0%} of supported household-quarters had base incomes outside the comparison "
                               "households' range, so their counterfactual is extrapolated: read the tails with care. ")
    return out


def quantiles_caption(program: str, lang: str = "zh") -> str:
    """The line above a program's quantile table, so that no table is read as another program's."""
    name = label("program", program, lang)
    return (f"**{name}**：收入分位数的效应" if lang == "zh" else f"**{name.capitalize()}**: effects at income percentiles")


def quantiles_heading(lang: str = "zh") -> str:
    if lang == "zh":
        return ("## 帮扶对收入分布的影响：分布低端变化了多少\n\n平均效应可能掩盖差别。下面比较获得帮扶的农户收入的第10、25百分位数和"
                "中位数，与没有帮扶时推算的相应分位数之差。")
    return ("## Effects along the income distribution: how much the low end moved\n\nAn average can hide "
            "differences. Below, the 10th and 25th percentiles and the median of supported households' income are "
            "compared with what they would have been without support.")


def no_line_sentence(years, lang: str = "zh") -> str:
    """Why the below-line effects are missing: a year of the window has no monitoring line in the config (the other
    outcomes are estimated as usual), and what to do: no local path, no English on a Chinese page."""
    shown = "、".join(str(int(y)) for y in years) if lang == "zh" else ", ".join(str(int(y)) for y in years)
    if lang == "zh":
        return (f"低于监测线概率的效应未估计：`config/indicators.yaml` 中没有 {shown} 年的防返贫监测收入线"
                f"（monitoring_line）。省里公布 {shown} 年的监测线后，填入该文件重新运行即可；收入效应不受影响。")
    return (f"The effects on the probability of being below the monitoring line were not estimated: "
            f"`config/indicators.yaml` has no monitoring line (monitoring_line) for {shown}. Enter the province's line "
            f"for {shown} there and run again; the income effects are not affected.")
