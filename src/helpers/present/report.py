"""The quarter's summary (04_report) for people who don't read code, from the saved results.

Every function here is a table or a sentence of the artifacts' frames (``helpers.pipeline.artifacts``:
indicators, ranking, effects per program) and a language; notebook 04 asks the artifacts layer for the
same artifacts with the same parameters as 02 and 03, so it prints the run's numbers on its own too.
Names (indicators, counties, household types, verdicts, headers, units) come from the label catalogue
(``helpers.domain.labels``); the sentences are written here in both languages.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.present import figures
from helpers.present.display import disclose_value, format_threshold
from helpers.analysis.indicators import ALL, CITY, INDICATORS
from helpers.domain.labels import label

HEADLINE = ["monitored_households", "risk_eliminated", "elimination_rate", "missed_monitoring", "alleviated_income_growth",
            "general_income_growth", "income_growth_gap", "workers_change", "spending_progress", "industry_share",
            "fixing_rate"]


def headline(indicators: pd.DataFrame, quarter: str, lang: str = "zh") -> pd.DataFrame:
    """The city's headline indicators against their thresholds, with the counties that miss them."""
    from helpers.present.display import disclose_value, indicator_label

    q = indicators[(indicators["quarter"] == quarter) & (indicators["category"] == ALL)]
    rows = []
    for key in HEADLINE:
        city = q[(q["indicator"] == key) & (q["county"] == CITY)]
        if city.empty:
            continue
        c = city.iloc[0]
        kind = INDICATORS[key].kind
        thr = c["threshold"]
        not_met = q[(q["indicator"] == key) & (q["county"] != CITY) & (q["met"] == False)]["county"]  # noqa: E712
        thr_text = format_threshold(key, thr, lang)            # as the rule applies it: “> 7.7%”, never “8%”
        met = "—" if pd.isna(c["met"]) else label("verdict", "met" if c["met"] else "not_met", lang)
        h = lambda key: label("header", key, lang)  # noqa: E731
        rows.append({h("indicator"): indicator_label(key, lang),
                     label("county", CITY, lang): disclose_value(kind, c["value"], c["denominator"], c["status"], lang),
                     h("threshold"): thr_text,
                     h("city_met"): met,
                     h("counties_not_met"): ("、" if lang == "zh" else ", ").join(figures.county_label(x, lang)
                                                                                  for x in not_met) or "—"})
    out = pd.DataFrame(rows)
    return out.set_index(out.columns[0]) if len(out) else out


def _p(p: float) -> str:
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _cap(text: str) -> str:
    """``text`` with its first letter capitalized and the rest as it is (“95% CI” stays “95% CI”)."""
    return text[:1].upper() + text[1:]


def _cs_overall(effects: pd.DataFrame, outcome: str, estimator: str = "callaway_santanna"):
    rows = effects[(effects["outcome"] == outcome) & (effects["term"] == "overall") & (effects["estimator"] == estimator)
                   & (effects["aggregate"] == "simple")]
    return rows.iloc[0] if len(rows) else None


def _report_outcome(effects: pd.DataFrame) -> str:
    outcomes = list(dict.fromkeys(effects["outcome"]))
    return next((x for x in outcomes if x != "earned_pc"), "earned_pc")


def effect_sentence(effects: pd.DataFrame, program: str, lang: str = "zh") -> str:
    """One plain-language paragraph per program from its saved results, for the outcome notebook 03 estimated
    (per-capita income unless it was run on another): the effect as a level difference; every qualitative word
    (significant, robust estimates agree, grows/fades/stays, TWFE below/above/close and why) from the named
    predicates of ``helpers.present.findings`` applied to the same saved numbers notebook 03 shows."""
    from helpers.present.effects import _effect_phrase, _v, program_label, quarterly_label
    from helpers.present.findings import (county_check, forbidden_comparisons, headline_interval,
                                          robust_estimates_agree, significant, trend_direction, twfe_position, words)

    o = _report_outcome(effects)
    cs, imp = _cs_overall(effects, o), _cs_overall(effects, o, "imputation")
    tw = effects[(effects["outcome"] == o) & (effects["term"] == "overall") & (effects["estimator"] == "twfe")]
    if cs is None or tw.empty:
        return ""
    tw = tw.iloc[0]
    trend_row = effects[(effects["outcome"] == o) & (effects["term"] == "trend")]
    trend = trend_direction(trend_row.iloc[0].to_dict()) if len(trend_row) else ""
    earned = _cs_overall(effects, "earned_pc") if o != "earned_pc" else None
    lo, hi, basis = headline_interval(cs)
    sig = significant(lo, hi)
    agree = robust_estimates_agree(cs, imp) if imp is not None else None
    position = twfe_position(tw["att"], {"ci_low": lo, "ci_high": hi})
    why = forbidden_comparisons(position, trend)
    p = cs.get("p_county", np.nan)
    name = program_label(program, lang)
    what = quarterly_label(o, lang)
    from helpers.present.effects import _unit

    unit = "" if o.startswith("log_") else " " + _unit(o, lang).split("/")[0]      # 元 (per person-quarter), 个百分点
    phrase = _effect_phrase(o, cs["att"], lo, hi, lang)      # the interval the claims rest on
    from helpers.present.effects import pretrend_caveat

    caveat = pretrend_caveat({"pvalue": cs.get("pretrend_p", np.nan)}, lang)
    if lang == "zh":
        s = (f"**{name}**：开始帮扶后，{what}比没有帮扶时{phrase}，" + words("significant", sig, lang)
             + ("（按少聚类检验判断）" if basis == "few_cluster" else ""))
        if earned is not None:
            e_lo, e_hi, _ = headline_interval(earned)
            s += (f"；只看工资性和经营性收入，{_effect_phrase('earned_pc', earned['att'], e_lo, e_hi, lang)}"
                  .replace("**", "") + "，" + words("significant", significant(e_lo, e_hi), lang))
        s += "。" + (words("agree", agree, lang) + "。" if imp is not None else "")
        s += words("trend", trend, lang) + "。"
        s += f"朴素方法估计为 {_v(tw['att'], o)}{unit}，{words('twfe', position, lang)}"
        s += ("：" + words("forbidden", why, lang) if why else "") + "。"
        if not pd.isna(p):
            doubt = words("county_check", county_check(sig, p), lang)
            s += f"按县区聚类的少聚类检验 p 值{'小于 0.001' if p < 0.001 else f'为 {p:.3f}'}" + (f"，{doubt}" if doubt else "") + "。"
        return s + caveat
    s = (f"**{_cap(name)}**: after support starts, {what} is {phrase} than without support, "
         + words("significant", sig, lang) + (" (by the few-cluster check)" if basis == "few_cluster" else ""))
    if earned is not None:
        e_lo, e_hi, _ = headline_interval(earned)
        s += (f"; wage and business income alone is {_effect_phrase('earned_pc', earned['att'], e_lo, e_hi, lang)}"
              .replace("**", "") + ", " + words("significant", significant(e_lo, e_hi), lang))
    s += ". " + (_cap(words("agree", agree, lang)) + ". " if imp is not None else "")
    s += _cap(words("trend", trend, lang)) + ". "
    s += f"The naive estimate is {_v(tw['att'], o)}{unit}, {words('twfe', position, lang)}"
    s += (": " + words("forbidden", why, lang) if why else "") + "."
    if not pd.isna(p):
        doubt = words("county_check", county_check(sig, p), lang)
        s += f" County-level few-cluster {'p < 0.001' if p < 0.001 else f'p = {p:.3f}'}" + (f", {doubt}" if doubt else "") + "."
    return s + caveat


def event_study_sentence(effects: pd.DataFrame, program: str = "any", lang: str = "zh") -> str:
    """What the event-study figure of a program shows, from its saved results: the joint pre-start test
    (``findings.pretrends``, or why it cannot be tested) and grows / fades / stays (``findings.trend_direction``)."""
    from helpers.present.effects import pretrend_sentence, program_label, trend_sentence

    o = _report_outcome(effects)
    cs = _cs_overall(effects, o)
    trend_row = effects[(effects["outcome"] == o) & (effects["term"] == "trend")]
    text = f"{program_label(program, lang)}：" if lang == "zh" else f"{_cap(program_label(program, lang))}: "
    if cs is not None and "pretrend_p" in effects.columns:
        reason = cs.get("pretrend_reason", "") or ""
        text += pretrend_sentence({"pvalue": cs["pretrend_p"], "reason_code": reason, "reason": reason}, lang,
                                  shown=True)
    if len(trend_row):
        t = trend_row.iloc[0]
        text += trend_sentence({"slope": t["att"], "ci_low": t["ci_low"], "ci_high": t["ci_high"]}, o, lang)
    return text


def headline_note(indicators: pd.DataFrame, quarter: str, lang: str = "zh") -> str:
    """The sentence under the headline table: which counties the city's 务工人数 change covers when some did
    not send the column (02 says the same, ``present.indicators.describe_workers``); '' when all did."""
    q = indicators[(indicators["quarter"] == quarter) & (indicators["category"] == ALL)
                   & (indicators["indicator"] == "workers_change") & (indicators["county"] != CITY)]
    covered, missing = q[q["status"] == "ok"]["county"].tolist(), q[q["status"] != "ok"]["county"].tolist()
    if not missing or not covered:
        return ""
    sep = "、" if lang == "zh" else ", "
    names = lambda cs: sep.join(figures.county_label(c, lang) for c in cs)  # noqa: E731
    change = label("indicator", "workers_change", lang)
    if lang == "zh":
        return f"全市{change}只合计{names(covered)}；{names(missing)}没有可比的“务工人数”（未报送该列），不在其中。"
    return f" The city's {change} covers {names(covered)} only; {names(missing)} sent no comparable column of members in work."


def ranking_note(ranking: pd.DataFrame, lang: str = "zh", spec: dict | None = None) -> str:
    """What the ranking table says and how it was made: the same sentences as 02 (``describe_ranking``, whose
    claim about the weights is ``composite.ranks_stable``, and ``ranking_method``), from the run's spec."""
    from helpers.present.indicators import describe_ranking, ranking_method

    return describe_ranking(ranking, lang, spec) + ("" if lang == "zh" else " ") + ranking_method(spec, lang)


def summary_sentence(indicators: pd.DataFrame, ranking: pd.DataFrame, quarter: str, lang: str = "zh") -> str:
    """The opening paragraph: what the quarter looks like in three sentences; the growth gap's word from
    ``findings.gap_direction`` (its interval), the first county's from ``findings.rank_settled``."""
    from helpers.present.findings import gap_direction, rank_settled

    q = indicators[(indicators["quarter"] == quarter) & (indicators["category"] == ALL)]
    get = lambda k: q[(q["indicator"] == k) & (q["county"] == CITY)].iloc[0]  # noqa: E731
    missed = q[(q["indicator"] == "missed_monitoring") & (q["county"] != CITY) & (q["met"] == False)]["county"]  # noqa: E712
    sp, gap = get("spending_progress"), get("income_growth_gap")
    first = ranking.sort_values("rank").iloc[0]
    from helpers.analysis.composite import load_spec, stability_settings

    top, settled = first["county"], rank_settled(first, stability_settings(load_spec())["stable_share"])
    direction = gap_direction(gap["value"], gap.get("ci_low", np.nan), gap.get("ci_high", np.nan)) \
        if gap["status"] == "ok" else ""
    pp = abs(100 * gap["value"]) if direction else np.nan
    ci = (f"（95%区间 {100 * gap['ci_low']:.1f} 至 {100 * gap['ci_high']:.1f}）" if lang == "zh" else
          f" (95% CI {100 * gap['ci_low']:.1f} to {100 * gap['ci_high']:.1f})") \
        if direction and not pd.isna(gap.get("ci_low", np.nan)) else ""
    alleviated, general = label("household_type", "脱贫户", lang), label("household_type", "一般农户", lang)
    points, city = label("unit", "个百分点", lang), label("county", CITY, lang)
    progress = label("indicator", "spending_progress", lang)
    counties = ("、" if lang == "zh" else ", ").join(figures.county_label(c, lang) for c in missed)
    target = format_threshold("spending_progress", sp["threshold"], lang)
    # the city's value as every table shows it (disclosure rule, "未知" / "—" when it cannot be computed)
    progress_value = disclose_value("rate", sp["value"], sp.get("denominator", np.nan), sp["status"], lang)
    if lang == "zh":
        s = f"{figures.quarter_label(quarter)}，"
        s += ("各县区均未发现疑似漏测农户；" if missed.empty else
              f"{counties}发现疑似漏测农户，需逐户核实（清单在 private/{quarter}/）；")
        if direction in ("higher", "lower", "higher_point", "lower_point"):
            s += f"{alleviated}收入增速比{general}{words_gap(direction, lang)} {pp:.1f} {points}{ci}；"
        elif direction == "unclear":
            s += (f"{alleviated}与{general}的收入增速之差为 {100 * gap['value']:+.1f} {points}{ci}，区间包含零，"
                  "差异在统计上不显著；")
        s += f"{city}{progress} {progress_value}（时序目标 {target}）。综合评比第一名为{figures.county_label(top, lang)}"
        s += ("（权重浮动时名次不变）。" if settled else
              f"，但权重浮动时其名次在 {first['rank_best']}–{first['rank_worst']} 之间变动。" if settled is False else "。")
        return s
    s = f"{quarter}: " + ("no county has possibly missed households; " if missed.empty else
                          f"possibly missed households in {counties}, to be checked one by one (lists in "
                          f"private/{quarter}/); ")
    if direction in ("higher", "lower", "higher_point", "lower_point"):
        s += f"income growth of {alleviated} {pp:.1f} {points} {words_gap(direction, lang)} than of {general}{ci}; "
    elif direction == "unclear":
        s += (f"income growth of {alleviated} minus that of {general}: {100 * gap['value']:+.1f} {points}{ci}; the "
              "interval contains zero, the difference is not statistically significant; ")
    s += f"{city} {progress} {progress_value} (milestone {target}). First in the county comparison: " \
         f"{figures.county_label(top, lang)}"
    s += (" (same rank in every weight draw)." if settled else
          f", though its rank moves between {first['rank_best']} and {first['rank_worst']} as the weights do."
          if settled is False else ".")
    return s


def words_gap(direction: str, lang: str) -> str:
    from helpers.present.findings import words

    return words("gap", direction, lang)
