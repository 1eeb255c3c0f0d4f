"""Every table and figure of the shared pages is followed by a sentence that reads it, and each of those
sentences follows from the numbers: tested on hand-made tables in both directions (up and down, met and not,
something to check and nothing), with the disclosure rule applied to the sentence as to the table."""
from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import nbformat
import numpy as np
import pandas as pd
import pytest

from helpers.analysis.indicators import CITY
from helpers.present import effects as er, findings, indicators as ir, intake as pi

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
Q, P = "2023Q2", "2023Q1"


def row(q, county, ind, value, den=np.nan, cat="", status="ok", threshold=np.nan, met=pd.NA):
    return dict(quarter=q, county=county, indicator=ind, category=cat, value=value, numerator=np.nan,
                denominator=den, ci_low=np.nan, ci_high=np.nan, status=status, threshold=threshold, met=met)


def frame(rows):
    return pd.DataFrame(rows)


# ---- the predicate -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("now, before, way", [(0.64, 0.60, "up"), (0.58, 0.60, "down"), (0.6004, 0.6, "same"),
                                              (np.nan, 0.6, ""), (0.6, None, "")])
def test_change_direction_reads_a_change_at_the_precision_shown(now, before, way):
    assert findings.change_direction(now, before) == way


# ---- 02: trend ------------------------------------------------------------------------------------------------
def _trend(city_now, city_before, tj_now, tj_before, pc_den=20):
    rows = []
    for q, city, tj, pc in ((P, city_before, tj_before, 0.5), (Q, city_now, tj_now, 0.9)):
        rows += [row(q, CITY, "elimination_rate", city, 50), row(q, "通江县", "elimination_rate", tj, 30),
                 row(q, "平昌县", "elimination_rate", pc, pc_den),
                 row(q, CITY, "spending_progress", 0.2 if q == P else 0.45, 1e6)]
    return frame(rows)


def test_trend_sentence_says_up_when_the_rate_rose_and_down_when_it_fell():
    up = ir.describe_trend(_trend(0.70, 0.60, 0.8, 0.5), Q, "zh")
    assert "从 60.0% 升至 70.0%" in up and "通江县" in up and "上升" in up
    down = ir.describe_trend(_trend(0.55, 0.60, 0.4, 0.5), Q, "zh")
    assert "从 60.0% 降至 55.0%" in down and "升至 55.0%" not in down and "通江县下降" in down.replace("、平昌县", "")
    same = ir.describe_trend(_trend(0.6, 0.6, 0.5, 0.5), Q, "en")
    assert "stayed at 60.0%" in same


def test_trend_sentence_names_no_county_whose_rate_is_not_shown_and_does_not_compare_across_the_year():
    text = ir.describe_trend(_trend(0.70, 0.60, 0.8, 0.5, pc_den=5), Q, "zh")
    assert "平昌县" not in text                       # denominator under 10: shown as “—” in the figure and table
    t = _trend(0.70, 0.60, 0.8, 0.5).replace({"quarter": {Q: "2024Q1", P: "2023Q4"}})
    q1 = ir.describe_trend(t, "2024Q1", "zh")
    assert "重新累计" in q1 and "从 20.0%" not in q1


# ---- 02: monitoring, categories, problem fixing -------------------------------------------------------------
def _monitoring(missed, below, unknown=0):
    return frame([row(Q, CITY, "monitored_households", 31), row(Q, CITY, "monitored_persons", 127),
                  row(Q, CITY, "new_monitored", 3), row(Q, CITY, "eliminated_this_quarter", 12),
                  row(Q, CITY, "elimination_rate", 0.6, 85), row(Q, "通江县", "elimination_rate", 0.7, 20),
                  row(Q, "平昌县", "elimination_rate", 0.5, 20), row(Q, CITY, "missed_monitoring", missed),
                  row(Q, CITY, "eliminated_below_line", below), row(Q, CITY, "income_unknown", unknown)])


def test_monitoring_sentence_asks_for_checks_only_when_there_is_something_to_check():
    some = ir.describe_monitoring(_monitoring(7, 3), Q, "zh")
    assert "疑似漏测户数 7 户" in some and "逐户核实" in some
    assert "最高为通江县 70.0%" in some and "最低为平昌县 50.0%" in some
    none = ir.describe_monitoring(_monitoring(0, 0), Q, "zh")
    assert "没有发现疑似漏测户" in none and "逐户核实" not in none
    assert "无法判断" in ir.describe_monitoring(_monitoring(0, 0, unknown=40), Q, "zh")


def test_reading_sentences_follow_the_disclosure_rule():
    text = ir.describe_monitoring(_monitoring(7, 3), Q, "zh")
    assert "<5 户" in text and not re.search(r"\b3 户", text)       # new_monitored and eliminated_below_line
    en = ir.describe_monitoring(_monitoring(7, 3), Q, "en")
    assert "<5 households" in en and " 3 households" not in en


def test_category_sentence_names_the_largest_and_smallest_category_ties_together_and_nothing_for_one_category():
    t = frame([row(Q, CITY, "households_reached", 900, cat="产业发展"), row(Q, CITY, "households_reached", 100, cat="乡村建设"),
               row(Q, CITY, "households_reached", 100, cat="基础设施")])
    text = ir.describe_by_category(t, "households_reached", Q, "zh")
    assert "最高为产业发展 900 户" in text and "最低为乡村建设、基础设施 100 户" in text
    assert ir.describe_by_category(t[t["category"] == "产业发展"], "households_reached", Q, "zh") == ""
    small = frame([row(Q, CITY, "fixing_rate", 0.9, 5, cat="审计反馈"), row(Q, CITY, "fixing_rate", 0.3, 20, cat="集中排查"),
                   row(Q, CITY, "fixing_rate", 0.5, 20, cat="国省考核")])
    text = ir.describe_by_category(small, "fixing_rate", Q, "zh")
    assert "审计反馈" not in text and "最高为国省考核 50.0%" in text


def test_city_sentence_reads_the_table_and_the_spread_across_counties():
    t = frame([row(Q, CITY, "problems_found", 58), row(Q, CITY, "problems_fixed", 24), row(Q, CITY, "fixing_rate", 24 / 58, 58),
               row(Q, "恩阳区", "fixing_rate", 0.5, 12), row(Q, "南江县", "fixing_rate", 0.3, 10)])
    text = ir.describe_city(t, Q, ["problems_found", "problems_fixed", "fixing_rate"], "zh", spread=("fixing_rate",))
    assert text.startswith("全市发现问题数 58 个") and "41.4%" in text and "最高为恩阳区 50.0%，最低为南江县 30.0%" in text


# ---- 01: quality trend ---------------------------------------------------------------------------------------
def _log(share_now, share_before):
    return pd.DataFrame([dict(quarter=q, county=c, sheet="农户监测", rows_in=1000, rows_quarantined=int(1000 * s))
                         for q, s in ((P, share_before), (Q, share_now)) for c in ("通江县", "平昌县")])


def test_quality_trend_sentence_says_which_way_the_share_set_aside_moved():
    up = pi.describe_quality_trend(_log(0.05, 0.02), Q, "zh")
    assert "从 2.0% 升至 5.0%" in up and "暂存比例上升的有通江县、平昌县" in up
    down = pi.describe_quality_trend(_log(0.01, 0.02), Q, "zh")
    assert "降至 1.0%" in down and "上升的有" not in down
    assert "One quarter only" in pi.describe_quality_trend(_log(0.01, 0.02)[lambda d: d["quarter"] == Q], Q, "en")


# ---- 03: households left out --------------------------------------------------------------------------------
def test_excluded_sentence_counts_each_household_once_as_the_table_does():
    acc = pd.DataFrame({"households": [100, 50], "dropped_for_gaps": [5, 0], "always_treated": [10, 3],
                        "other_program": [20, 7], "estimated": [65, 40], "start_disagreements": [2, 0]},
                       index=pd.Index(["通江县", "平昌县"], name="county"))
    panel = SimpleNamespace(accounting=lambda program: acc if program != "any" else
                            acc.assign(other_program=0, estimated=acc["estimated"] + acc["other_program"]))
    text = er.describe_excluded(panel, "zh", "industry")
    assert "共 150 户" in text and "有缺季 5 户" in text and "窗口前已获帮扶 13 户" in text
    assert "先获另一项帮扶 27 户" in text and "参与估计的 105 户" in text and "<5 户在不同季度" in text
    table = er.excluded_table(panel, "zh", "industry")
    assert table.loc["平昌县", "有缺季（剔除）"] == "<5" and table.loc["合计", "参与估计"] == "105"
    assert "先获另一项帮扶" not in er.describe_excluded(panel, "zh", "any")
    assert "先获另一项帮扶（本页不计）" not in er.excluded_table(panel, "zh", "any").columns


def test_the_accounting_adds_up_on_a_real_panel(sample):
    from helpers.analysis.construct import build_panel

    panel = build_panel(sample["paths"], "2022Q2")
    for program in ("any", "industry", "employment"):
        acc = panel.accounting(program)
        parts = acc[["dropped_for_gaps", "always_treated", "other_program", "estimated"]].sum(axis=1)
        assert (parts == acc["households"]).all(), program
        assert acc["estimated"].sum() == panel.sample(program)["household_id"].nunique(), program


# ---- every table and figure of the notebooks has its sentence -----------------------------------------------
SHOWS = re.compile(r"figures\.save\(|show\.(indicator_table|by_category|ranking_table)\(|ranking_table\(|"
                   r"ir\.(rows_by_county|reasons_table)\(|er\.(excluded_table|show_comparison|show_dose)\(|report\.headline\(|po\.show_quantiles\(")
READS = re.compile(r"Markdown\((ir|er|rr|po|report|show)\.\w+\(")


@pytest.mark.parametrize("name", ["01_intake", "02_indicators", "03_effects", "04_report"])
def test_every_cell_that_shows_a_table_or_figure_also_shows_a_sentence_that_reads_it(name):
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", 4)
    bare = [c.source.splitlines()[0] for c in nb.cells if c.cell_type == "code" and SHOWS.search(c.source)
            and not READS.search(c.source)]
    assert bare == []


def test_intake_sentence_does_not_say_zero_quarters_were_read_when_the_tables_were_current():
    current = SimpleNamespace(quarters=["2022Q1", "2023Q2"], quarter=Q, processed=[], cached=["2022Q1", "2023Q2"])
    text = pi.describe_intake(current, "zh")
    assert "0 个季度" not in text and "均已是最新" in text and "2 个季度" in text and "没有变化" not in text
    fresh = SimpleNamespace(quarters=["2022Q1", "2023Q2"], quarter=Q, processed=["2023Q2"], cached=["2022Q1"])
    assert "重新读取 1 个季度" in pi.describe_intake(fresh, "zh")


def _ranking(stability):
    return pd.DataFrame({"county": ["南江县", "恩阳区", "巴州区"], "composite": [0.8, 0.66, 0.65], "rank": [1, 2, 3],
                         "rank_best": [1, 2, 2], "rank_worst": [1, 3, 3], "rank_stability": [1.0, stability, stability],
                         "indicators_missing": [0, 0, 0]})


def test_the_reports_ranking_note_uses_the_runs_spec_and_claims_stability_only_by_the_predicate():
    from helpers.present import report

    spec = {"indicators": [], "stability": {"draws": 200, "low": 0.5, "high": 1.5, "stable_share": 0.6}}
    settled = report.ranking_note(_ranking(0.68), "zh", spec)
    assert "200 次" in settled and "0.5–1.5" in settled and "名次对权重不敏感" in settled
    assert "所有权重扰动下都不变" not in settled                 # 68% is not “every draw”
    moving = report.ranking_note(_ranking(0.68), "zh", {**spec, "stability": {**spec["stability"], "stable_share": 0.95}})
    assert "名次随权重变化" in moving and "名次对权重不敏感" not in moving


def test_income_growth_sentence_judges_the_gap_on_its_interval_as_the_report_does():
    def t(lo, hi):
        return frame([row(Q, CITY, "alleviated_income_growth", 0.09, 300) | dict(ci_low=0.08, ci_high=0.10),
                      row(Q, CITY, "general_income_growth", 0.078, 1500) | dict(ci_low=0.07, ci_high=0.09),
                      row(Q, CITY, "income_growth_gap", 0.012, 300) | dict(ci_low=lo, ci_high=hi)])
    unclear = ir.describe_income_growth(t(-0.013, 0.040), Q, "zh")
    assert "不显著" in unclear and "快于" not in unclear
    assert "快于一般农户" in ir.describe_income_growth(t(0.002, 0.03), Q, "zh")
    assert "慢于" in ir.describe_income_growth(frame([r | ({"value": -0.02, "ci_low": -0.03, "ci_high": -0.01}
                                                         if r["indicator"] == "income_growth_gap" else {})
                                                     for r in t(0, 0).to_dict("records")]), Q, "zh")


def test_rows_sentence_flags_a_submission_that_shrank_and_only_then():
    log = pd.DataFrame([dict(quarter=q, county=c, sheet="农户监测", rows_in=n, rows_quarantined=0)
                        for q, c, n in ((P, "通江县", 500), (P, "平昌县", 490), (Q, "通江县", 505), (Q, "平昌县", 7))])
    text = pi.describe_rows(log, Q, "zh")
    assert "平昌县本季度只报送 7 行（上季度 490 行）" in text and "通江县本季度只报送" not in text and "2 个县区" in text
    steady = log.assign(rows_in=[500, 490, 505, 480])
    assert "可能不完整" not in pi.describe_rows(steady, Q, "zh")
    assert not findings.submission_shrank(260, 500) and findings.submission_shrank(240, 500)


def test_category_sentence_does_not_rank_counts_shown_as_under_five():
    t = frame([row(Q, CITY, "monitored_households", 4, cat="脱贫不稳定户"), row(Q, CITY, "monitored_households", 2, cat="边缘易致贫户"),
               row(Q, CITY, "monitored_households", 3, cat="突发严重困难户")])
    assert ir.describe_by_category(t, "monitored_households", Q, "zh") == ""


def test_cohort_figure_shows_no_count_under_five():
    import matplotlib.pyplot as plt

    cohorts = pd.DataFrame({"cohort": [0, 5, 5, 6, 7], "first_program": ["none", "industry", "employment", "industry",
                                                                         "industry"],
                            "households": [300, 40, 3, 50, 2]})
    fig = er.plot_cohorts(SimpleNamespace(cohorts=cohorts), Q, "zh")
    heights = sorted(round(b.get_height()) for b in fig.axes[0].patches)
    texts = [t.get_text() for t in fig.axes[0].texts]
    plt.close(fig)
    assert heights == [5, 43, 50] and texts == ["<5"]          # totals only; the small start quarter as "<5"
    fine = cohorts.assign(households=[300, 40, 30, 50, 20])
    fig = er.plot_cohorts(SimpleNamespace(cohorts=fine), Q, "zh")
    assert sorted(round(b.get_height()) for b in fig.axes[0].patches if b.get_height() > 0) == [20, 30, 40, 50]
    plt.close(fig)
