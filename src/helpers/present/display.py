"""Tables for people: Chinese (or English) headers, thousands separators, units, and the
disclosure rule of analysis.md applied to everything that leaves the analyst's own notebook:
counts under 5 show "<5", rates whose denominator is under 10 show "—", no household rows.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.domain.labels import label
from helpers.present.figures import county_label
from helpers.analysis.indicators import CITY, INDICATORS, MIN_RATE_DENOMINATOR

# Indicators by project type: their “—” means the county has no project of that type this quarter
# (label catalogue, kind "note").
BY_PROJECT_TYPE = ("households_reached", "persons_reached", "income_per_wan")


def _number(v: float, digits: int = 4) -> str:
    """A number with as many decimals as it has (up to ``digits``): 7.7, 50, 0.25."""
    text = f"{round(float(v), digits):,.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def percent(v: float) -> str:
    """A share as a percentage with the precision it has: 0.077 -> '7.7%', 0.5 -> '50%'."""
    return f"{_number(100 * v, 2)}%"


def share_shown(v: float) -> str:
    """A share of draws as a whole percentage, with a decimal more wherever rounding would otherwise print a
    certainty the draws do not have: 0.995 -> '99.5%' (not '100%'), 0.0004 -> '0.04%' (not '0%'), 1 -> '100%'."""
    v = float(v)
    for d in range(0, 4):
        text = f"{100 * v:.{d}f}"
        if (float(text) < 100 or v >= 1) and (float(text) > 0 or v <= 0):
            return text + "%"
    return f"{100 * v:.4f}%"


def format_threshold(key: str, value: float, lang: str = "zh") -> str:
    """An indicator's threshold as the rule applies it: with its comparison and the precision it has
    (7.7% is shown as “> 7.7%”, never rounded to 8%). A milestone that a count of projects is judged
    against is a share of each project's spending, not a count."""
    if value is None or pd.isna(value):
        return "—"
    ind = INDICATORS[key]
    op = {">=": "≥ ", ">": "> ", "==": "= "}.get(ind.meets, "")
    if key == "projects_behind":
        return f"{label('header', 'project_spending_progress', lang)} < {percent(value)}"
    if ind.kind == "rate":
        return op + percent(value)
    if ind.kind == "pp":
        return op + _number(100 * value, 2) + label("unit_after_number", "个百分点", lang)
    return op + _number(value)


def withheld(kind: str, value: float, denominator: float = np.nan, status: str = "ok", lang: str = "zh") -> str | None:
    """The disclosure rule for one indicator value: the text shown *instead of* the number (“<5” for a count under
    5, “—” for a rate or a difference of rates whose denominator is under 10 or a missing value, “未知” / “无数据”
    for a value that cannot be computed), or None when the number itself may be shown. Every table that leaves
    the analyst's notebook (the HTML pages through ``disclose_value``, the Excel workbook) asks this function."""
    if status != "ok" or value is None or pd.isna(value):
        return label("status", status, lang) if status in ("unknown", "no_data") else "—"
    if kind == "count" and value < 5:
        return "<5"
    if kind in ("rate", "pp") and not pd.isna(denominator) and denominator < MIN_RATE_DENOMINATOR:
        return "—"
    return None


def disclose_value(kind: str, value: float, denominator: float = np.nan, status: str = "ok", lang: str = "zh",
                   unit: str = "") -> str:
    """One indicator value as shown outside the analyst's notebook."""
    hidden = withheld(kind, value, denominator, status, lang)
    if hidden is not None:
        return hidden
    if kind == "count":
        return f"{value:,.0f}"
    if kind == "rate":
        return f"{100 * value:.1f}%"
    if kind == "pp":               # a difference of two rates: percentage points, never “%”
        return f"{100 * value:.1f}" + label("unit_after_number", "个百分点", lang)
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
    """An indicator's name, with its unit in brackets unless ``with_unit`` is false."""
    name = label("indicator", key, lang)
    if not with_unit:
        return name
    unit = label("unit", INDICATORS[key].unit, lang)
    return f"{name}（{unit}）" if lang == "zh" else f"{name} ({unit})"


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
    wide.columns = [county_label(c, lang) for c in wide.columns]
    if with_threshold:
        city = t[t["county"] == CITY].set_index("indicator")
        thr = []
        for k in wide.index:
            v = city["threshold"].get(k, np.nan) if k in city.index else np.nan
            thr.append(format_threshold(k, v, lang))
        wide[label("header", "threshold", lang)] = thr
    wide.index = [indicator_label(k, lang) for k in wide.index]
    wide.index.name = label("header", "indicator", lang)
    return wide


def by_category(indicators: pd.DataFrame, key: str, quarter: str, lang: str = "zh") -> pd.DataFrame:
    """One indicator by category (monitoring type, support type, source, project type) and county."""
    t = disclose(indicators[(indicators["quarter"] == quarter) & (indicators["indicator"] == key)
                            & (indicators["category"] != "")], lang)
    wide = t.pivot_table(index="category", columns="county", values="shown", aggfunc="first")
    from helpers.domain.dictionary import COUNTIES

    cols = sorted(wide.columns, key=lambda c: COUNTIES.index(c) if c in COUNTIES else 99)
    wide = wide[cols].fillna("—")            # no row of that category for the county (see absent_note)
    wide.index = [label("category", c, lang) for c in wide.index]
    wide.columns = [county_label(c, lang) for c in wide.columns]
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
        why.append(label("note", "no_project_of_type" if key in BY_PROJECT_TYPE else "nothing_in_category", lang))
    if small:
        why.append(label("note", "small_denominator", lang))
    note = ""
    if why:
        note = ("注：“—”表示" + "，或".join(why) + "。") if zh else ("Note: “—” means " + ", or ".join(why) + ".")
    if (t["status"] == "unknown").any():
        note += ("“未知”表示该县区本季度这一类的分母为0（没有可计算的对象）。" if zh else
                 " “unknown” means the county has nothing in this category to compute the rate on.")
    return note.strip()


def ranking_table(rank: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
    """The composite ranking for people."""
    h = lambda key: label("header", key, lang)  # noqa: E731
    out = pd.DataFrame({
        h("county"): [county_label(c, lang) for c in rank["county"]],
        h("composite"): rank["composite"].map(lambda v: f"{v:.3f}"),
        h("rank"): rank["rank"],
        h("rank_stability"): rank["rank_stability"].map(share_shown),
        h("rank_range"): [f"{a}–{b}" for a, b in zip(rank["rank_best"], rank["rank_worst"])],
        h("indicators_missing"): rank["indicators_missing"],
    })
    return out.set_index(out.columns[0])
