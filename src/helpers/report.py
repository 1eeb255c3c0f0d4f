"""The quarter's summary (04_report) for people who don't read code, from the saved results.

``ensure_results`` builds any missing result (indicators, ranking, effects per program) and
its key figure on demand, so the report also runs on its own in JupyterLab; in the quarterly
run the other notebooks have made them already and nothing is recomputed.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from helpers import figures
from helpers.config import Paths
from helpers.construct import PROGRAMS
from helpers.indicators import ALL, CITY, INDICATORS

HEADLINE = ["monitored_households", "risk_eliminated", "elimination_rate", "missed_monitoring", "alleviated_income_growth",
            "general_income_growth", "income_growth_gap", "workers_change", "spending_progress", "industry_share",
            "fixing_rate"]


def result_paths(paths: Paths, quarter: str) -> dict[str, Path]:
    res = paths.reports / quarter / "results"
    out = {"indicators": res / "indicators.parquet", "ranking": res / "ranking.parquet"}
    out.update({f"effects_{p}": res / f"effects_{p}.parquet" for p in PROGRAMS})
    return out


def ensure_results(paths: Paths, quarter: str, lang: str = "zh") -> dict[str, Path]:
    """Make every missing result and key figure of the quarter (interactive use without the run)."""
    from helpers.storage import write_table

    rp = result_paths(paths, quarter)
    figdir = paths.reports / quarter / "figures"
    if not (rp["indicators"].exists() and rp["ranking"].exists()):
        from helpers import composite, indicators, indicators_report

        inp = indicators.Inputs.load(paths, quarter)
        trend = indicators.compute_trend(inp, quarter)
        table = trend[trend["quarter"] == quarter]
        rank = composite.ranking(table, quarter)
        write_table(trend, rp["indicators"], ["quarter", "county", "indicator", "category"], "indicators")
        write_table(rank, rp["ranking"], ["county"], "ranking")
        figures.use_style(lang)
        figures.save(indicators_report.plot_thresholds(table, quarter, lang), figdir / "02_thresholds.png")
        figures.save(indicators_report.plot_ranking(rank, quarter, lang), figdir / "02_ranking.png")
    missing = [p for p in PROGRAMS if not rp[f"effects_{p}"].exists()]
    if missing:
        from helpers import effects_report as er
        from helpers.construct import build_panel

        panel = build_panel(paths, quarter)
        figures.use_style(lang)
        for program in missing:
            e = er.estimate(panel, program)
            table = er.comparison(e, lang, reps=999)
            write_table(er.tidy(e, table, quarter), rp[f"effects_{program}"], None, "effects")
            figures.save(er.plot_event_study(e, quarter, lang), figdir / f"03_{program}_event_study.png")
    return rp


def headline(indicators: pd.DataFrame, quarter: str, lang: str = "zh") -> pd.DataFrame:
    """The city's headline indicators against their thresholds, with the counties that miss them."""
    from helpers.display import disclose_value, indicator_label

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
        thr_text = "—" if pd.isna(thr) else (f"{100 * thr:.0f}%" if kind == "rate" else f"{thr:,.0f}")
        met = "—" if pd.isna(c["met"]) else (("达标" if c["met"] else "未达标") if lang == "zh" else ("met" if c["met"] else "not met"))
        rows.append({("指标" if lang == "zh" else "indicator"): indicator_label(key, lang),
                     ("全市" if lang == "zh" else "city"): disclose_value(kind, c["value"], c["denominator"], c["status"], lang),
                     ("标准" if lang == "zh" else "threshold"): thr_text,
                     ("全市是否达标" if lang == "zh" else "city meets it"): met,
                     ("未达标县区" if lang == "zh" else "counties not meeting it"):
                         "、".join(figures.county_label(x, lang) for x in not_met) or "—"})
    out = pd.DataFrame(rows)
    return out.set_index(out.columns[0]) if len(out) else out


def _p(p: float) -> str:
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def effect_sentence(effects: pd.DataFrame, program: str, lang: str = "zh") -> str:
    """One plain-language sentence per program from its saved results, for the outcome notebook 03 estimated
    (per-capita income unless it was run on another); every qualitative word comes from the predicates of
    ``effects_report`` applied to the same saved numbers notebook 03 shows."""
    from helpers.effects_report import (_effect_phrase, _v, headline_interval, outcome_label, program_label,
                                        significant, trend_direction, twfe_position)

    outcomes = list(dict.fromkeys(effects["outcome"]))
    o = next((x for x in outcomes if x != "earned_pc"), "earned_pc")
    e = effects[(effects["outcome"] == o) & (effects["term"] == "overall")]
    cs = e[(e["estimator"] == "callaway_santanna") & (e["aggregate"] == "simple")]
    tw = e[e["estimator"] == "twfe"]
    if cs.empty:
        return ""
    cs, tw = cs.iloc[0], tw.iloc[0]
    trend_row = effects[(effects["outcome"] == o) & (effects["term"] == "trend")]
    trend = trend_direction(trend_row.iloc[0].to_dict()) if len(trend_row) else ""
    earned = effects[(effects["outcome"] == "earned_pc") & (effects["term"] == "overall") &
                     (effects["estimator"] == "callaway_santanna") & (effects["aggregate"] == "simple")]
    lo, hi, basis = headline_interval(cs)
    sig = significant(lo, hi)
    position = twfe_position(tw["att"], {"ci_low": lo, "ci_high": hi})
    p = cs.get("p_county", np.nan)
    name = program_label(program, lang)
    what = outcome_label("income_pc" if o.startswith("log_") else o, lang)
    unit = "" if o.startswith("log_") else (" 元" if lang == "zh" else "")
    if lang == "zh":
        s = (f"**{name}**：开始帮扶后，{what}比可比农户{_effect_phrase(o, cs['att'], cs['ci_low'], cs['ci_high'], lang)}"
             + {True: "，效果显著", False: "，统计上不显著", None: "，不判断显著性"}[sig]
             + ("（按少聚类检验判断）" if basis == "few_cluster" else ""))
        if len(earned) and o != "earned_pc":
            s += f"；其中工资性和经营性收入多 {earned.iloc[0]['att']:,.0f} 元/人/季"
        s += f"。朴素方法估计为 {_v(tw['att'], o)}{unit}，" + {
            "below": "低于稳健估计的置信区间" + ("（效果随时间增长，朴素方法会低估）" if trend == "grows" else ""),
            "above": "高于稳健估计的置信区间", "inside": "落在稳健估计的置信区间内", "": "无法比较"}[position] + "。"
        if not pd.isna(p):
            s += f"按县区聚类的少聚类检验 p 值{'小于 0.001' if p < 0.001 else f'为 {p:.3f}'}。"
        return s
    s = (f"**{name}**: after support starts, {what} is {_effect_phrase(o, cs['att'], cs['ci_low'], cs['ci_high'], lang)} "
         "than in comparable households"
         + {True: ", a significant effect", False: ", not significant", None: ", significance not judged"}[sig]
         + (" (by the few-cluster check)" if basis == "few_cluster" else ""))
    if len(earned) and o != "earned_pc":
        s += f"; earned income by {earned.iloc[0]['att']:,.0f} yuan per person per quarter"
    s += f". The naive estimate is {_v(tw['att'], o)}, " + {
        "below": "below the robust interval" + (" (effects grow over time, which the naive method understates)"
                                                if trend == "grows" else ""),
        "above": "above the robust interval", "inside": "inside the robust interval", "": "not comparable"}[position] + "."
    if not pd.isna(p):
        s += f" County-level few-cluster {'p < 0.001' if p < 0.001 else f'p = {p:.3f}'}."
    return s


def summary_sentence(indicators: pd.DataFrame, ranking: pd.DataFrame, quarter: str, lang: str = "zh") -> str:
    """The opening paragraph: what the quarter looks like in three sentences."""
    q = indicators[(indicators["quarter"] == quarter) & (indicators["category"] == ALL)]
    get = lambda k: q[(q["indicator"] == k) & (q["county"] == CITY)].iloc[0]  # noqa: E731
    missed = q[(q["indicator"] == "missed_monitoring") & (q["county"] != CITY) & (q["met"] == False)]["county"]  # noqa: E712
    sp, gap = get("spending_progress"), get("income_growth_gap")
    top = ranking.sort_values("rank").iloc[0]["county"]
    if lang == "zh":
        s = f"{figures.quarter_label(quarter)}，"
        s += ("各县区均未发现疑似漏测农户；" if missed.empty else
              f"{'、'.join(missed)}发现疑似漏测农户，需逐户核实（清单在 private/{quarter}/）；")
        if gap["status"] == "ok":
            s += f"脱贫户收入增速比一般农户{'高' if gap['value'] > 0 else '低'} {abs(100 * gap['value']):.1f} 个百分点；"
        s += f"全市衔接资金支出进度 {100 * sp['value']:.1f}%（时序目标 {100 * sp['threshold']:.0f}%）。综合评比第一名为{top}。"
        return s
    s = f"{quarter}: " + ("no possibly missed households; " if missed.empty else
                          f"possibly missed households in {', '.join(figures.county_label(c, 'en') for c in missed)}; ")
    s += f"spending progress {100 * sp['value']:.1f}% (milestone {100 * sp['threshold']:.0f}%). First in the comparison: " \
         f"{figures.county_label(top, 'en')}."
    return s
