"""Tables for people: Chinese (or English) headers, thousands separators, units, and the
disclosure rule of analysis.md applied to everything that leaves the analyst's own notebook:
counts under 5 show "<5", rates whose denominator is under 10 show "—", no household rows.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.present.figures import county_label
from helpers.analysis.indicators import CITY, INDICATORS, UNITS_EN

STATUS = {"unknown": ("未知", "unknown"), "no_data": ("无数据", "no data")}
MET = {True: ("达标", "met"), False: ("未达标", "not met")}
# Category values that need words for a reader (the tables' rows are the categories as the counties type them).
CATEGORY_LABELS = {("workers", "无"): ("未享受就业帮扶", "no employment support")}
# What "—" means in a table by category: the county has no row of that category this quarter.
ABSENT = {"households_reached": ("该县区本季度没有这类项目", "the county has no project of this type this quarter"),
          "persons_reached": ("该县区本季度没有这类项目", "the county has no project of this type this quarter"),
          "income_per_wan": ("该县区本季度没有这类项目", "the county has no project of this type this quarter")}
ABSENT_DEFAULT = ("该县区本季度没有这一类", "the county has nothing in this category this quarter")


def _number(v: float, digits: int = 4) -> str:
    """A number with as many decimals as it has (up to ``digits``): 7.7, 50, 0.25."""
    text = f"{round(float(v), digits):,.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def percent(v: float) -> str:
    """A share as a percentage with the precision it has: 0.077 -> '7.7%', 0.5 -> '50%'."""
    return f"{_number(100 * v, 2)}%"


def format_threshold(key: str, value: float, lang: str = "zh") -> str:
    """An indicator's threshold as the rule applies it: with its comparison and the precision it has
    (7.7% is shown as “> 7.7%”, never rounded to 8%). A milestone that a count of projects is judged
    against is a share of each project's spending, not a count."""
    if value is None or pd.isna(value):
        return "—"
    ind = INDICATORS[key]
    op = {">=": "≥ ", ">": "> ", "==": "= "}.get(ind.meets, "")
    if key == "projects_behind":
        return (f"项目支出进度 < {percent(value)}" if lang == "zh" else f"project spending < {percent(value)}")
    if ind.kind == "rate":
        return op + percent(value)
    if ind.kind == "pp":
        return op + _number(100 * value, 2) + ("个百分点" if lang == "zh" else " pp")
    return op + _number(value)


def disclose_value(kind: str, value: float, denominator: float = np.nan, status: str = "ok", lang: str = "zh",
                   unit: str = "") -> str:
    """One indicator value as shown outside the analyst's notebook."""
    if status != "ok" or value is None or pd.isna(value):
        return STATUS.get(status, ("—", "—"))[0 if lang == "zh" else 1] if status != "ok" else "—"
    if kind == "count":
        return "<5" if value < 5 else f"{value:,.0f}"
    if kind == "rate":
        if not pd.isna(denominator) and denominator < 10:
            return "—"
        return f"{100 * value:.1f}%"
    if kind == "pp":               # a difference of two rates: percentage points, never “%”
        if not pd.isna(denominator) and denominator < 10:
            return "—"
        return f"{100 * value:.1f}" + ("个百分点" if lang == "zh" else " pp")
    if kind == "ratio":
        return f"{value:,.0f}"
    return f"{value:,.1f}"


def disclose(indicators: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
    """The tidy indicator table with a ``shown`` column holding the disclosed text."""
    out = indicators.copy()
    out["shown"] = [disclose_value(INDICATORS[k].kind, v, d, s, lang)
                    for k, v, d, s in zip(out["indicator"], out["value"], out["denominator"], out["status"])]
    return out


def indicator_label(key: str, lang: str = "zh", with_unit: bool = True) -> str:
    ind = INDICATORS[key]
    name = ind.zh if lang == "zh" else ind.en
    unit = ind.unit if lang == "zh" else UNITS_EN.get(ind.unit, ind.unit)
    return f"{name}（{unit}）" if with_unit and lang == "zh" else (f"{name} ({unit})" if with_unit else name)


def indicator_table(indicators: pd.DataFrame, keys: list[str], quarter: str, lang: str = "zh",
                    category: str = "", with_threshold: bool = True) -> pd.DataFrame:
    """Indicators as rows, counties (and the city) as columns, disclosed and labelled."""
    t = disclose(indicators[(indicators["quarter"] == quarter) & (indicators["category"] == category)
                            & indicators["indicator"].isin(keys)], lang)
    wide = t.pivot_table(index="indicator", columns="county", values="shown", aggfunc="first")
    counties = [c for c in wide.columns if c != CITY] + ([CITY] if CITY in wide.columns else [])
    from helpers.domain.dictionary import COUNTIES

    counties = sorted(counties, key=lambda c: COUNTIES.index(c) if c in COUNTIES else 99)
    wide = wide.reindex(index=[k for k in keys if k in wide.index], columns=counties)
    if with_threshold:
        city = t[t["county"] == CITY].set_index("indicator")
        thr = []
        for k in wide.index:
            v = city["threshold"].get(k, np.nan) if k in city.index else np.nan
            thr.append(format_threshold(k, v, lang))
        wide["标准" if lang == "zh" else "threshold"] = thr
    wide.index = [indicator_label(k, lang) for k in wide.index]
    wide.index.name = "指标" if lang == "zh" else "indicator"
    wide.columns = [county_label(c, lang) if c != CITY else ("全市" if lang == "zh" else "city") for c in wide.columns]
    return wide


def by_category(indicators: pd.DataFrame, key: str, quarter: str, lang: str = "zh") -> pd.DataFrame:
    """One indicator by category (monitoring type, support type, source, project type) and county."""
    t = disclose(indicators[(indicators["quarter"] == quarter) & (indicators["indicator"] == key)
                            & (indicators["category"] != "")], lang)
    wide = t.pivot_table(index="category", columns="county", values="shown", aggfunc="first")
    from helpers.domain.dictionary import COUNTIES

    cols = sorted(wide.columns, key=lambda c: COUNTIES.index(c) if c in COUNTIES else 99)
    wide = wide[cols].fillna("—")            # no row of that category for the county (see absent_note)
    wide.index = [CATEGORY_LABELS.get((key, c), (c, c))[0 if lang == "zh" else 1] for c in wide.index]
    wide.columns = [county_label(c, lang) if c != CITY else ("全市" if lang == "zh" else "city") for c in wide.columns]
    wide.index.name = indicator_label(key, lang)
    return wide


def category_note(indicators: pd.DataFrame, key: str, quarter: str, lang: str = "zh") -> str:
    """The footnote of ``by_category``'s table: what its “—” cells mean ("" when it has none). A cell
    is “—” either because the county has no row of that category (no project of that type) or because
    of the disclosure rule (a rate whose denominator is under 10)."""
    t = disclose(indicators[(indicators["quarter"] == quarter) & (indicators["indicator"] == key)
                            & (indicators["category"] != "")], lang)
    if t.empty:
        return ""
    present = t.pivot_table(index="category", columns="county", values="shown", aggfunc="first")
    absent = bool(present.isna().to_numpy().any())
    small = bool((t["shown"] == "—").any())
    zh = lang == "zh"
    why = []
    if absent:
        why.append(ABSENT.get(key, ABSENT_DEFAULT)[0 if zh else 1])
    if small:
        why.append("比率的分母少于10（披露规则）" if zh else "the rate's denominator is under 10 (disclosure rule)")
    note = ""
    if why:
        note = ("注：“—”表示" + "，或".join(why) + "。") if zh else ("Note: “—” means " + ", or ".join(why) + ".")
    if (t["status"] == "unknown").any():
        note += ("“未知”表示该县区本季度这一类的分母为0（没有可计算的对象）。" if zh else
                 " “unknown” means the county has nothing in this category to compute the rate on.")
    return note.strip()


def ranking_table(rank: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
    """The composite ranking for people."""
    zh = lang == "zh"
    out = pd.DataFrame({
        ("县(区)" if zh else "county"): [county_label(c, lang) for c in rank["county"]],
        ("综合得分" if zh else "composite score"): rank["composite"].map(lambda v: f"{v:.3f}"),
        ("排名" if zh else "rank"): rank["rank"],
        ("权重扰动下名次不变的比例" if zh else "share of draws with the same rank"): rank["rank_stability"].map(lambda v: f"{v:.0%}"),
        ("名次范围" if zh else "rank range"): [f"{a}–{b}" for a, b in zip(rank["rank_best"], rank["rank_worst"])],
        ("缺失指标数" if zh else "indicators missing"): rank["indicators_missing"],
    })
    return out.set_index(out.columns[0])
