"""Tables for people: Chinese (or English) headers, thousands separators, units, and the
disclosure rule of analysis.md applied to everything that leaves the analyst's own notebook:
counts under 5 show "<5", rates whose denominator is under 10 show "—", no household rows.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.figures import county_label
from helpers.indicators import CITY, INDICATORS, UNITS_EN

STATUS = {"unknown": ("未知", "unknown"), "no_data": ("无数据", "no data")}
MET = {True: ("达标", "met"), False: ("未达标", "not met")}


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
    from helpers.dictionary import COUNTIES

    counties = sorted(counties, key=lambda c: COUNTIES.index(c) if c in COUNTIES else 99)
    wide = wide.reindex(index=[k for k in keys if k in wide.index], columns=counties)
    if with_threshold:
        city = t[t["county"] == CITY].set_index("indicator")
        thr = []
        for k in wide.index:
            v = city["threshold"].get(k, np.nan) if k in city.index else np.nan
            thr.append("—" if pd.isna(v) else (f"{100 * v:.0f}%" if INDICATORS[k].kind == "rate" else f"{v:,.0f}"))
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
    from helpers.dictionary import COUNTIES

    cols = sorted(wide.columns, key=lambda c: COUNTIES.index(c) if c in COUNTIES else 99)
    wide = wide[cols]
    wide.columns = [county_label(c, lang) if c != CITY else ("全市" if lang == "zh" else "city") for c in wide.columns]
    wide.index.name = indicator_label(key, lang)
    return wide


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
