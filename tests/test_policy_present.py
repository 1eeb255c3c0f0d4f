"""The words of the policy-native effects (helpers.present.policy) follow the saved numbers, in both directions."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from helpers.present import policy

NAN = math.nan


def _below(att, lo, hi, p_county=NAN, clusters=60):
    return pd.DataFrame([{"estimator": "callaway_santanna", "aggregate": "simple", "term": "overall", "outcome": "below_line",
                          "att": att, "ci_low": lo, "ci_high": hi, "cluster": "village", "clusters": clusters,
                          "p_county": p_county, "ci_county_low": NAN, "ci_county_high": NAN}])


@pytest.mark.parametrize("att, lo, hi, has, lacks", [
    (-0.05, -0.08, -0.02, ["降低 **5.0 个百分点**", "降低幅度的95%区间 2.0 至 8.0", "统计上显著"], ["不显著", "提高"]),
    (0.006, -0.002, 0.013, ["点估计提高 0.6 个百分点", "从降低 0.2 到提高 1.3 个百分点", "不显著，不能排除没有效果"], ["使"]),
    (-0.049, -0.066, 0.292, ["点估计降低 4.9 个百分点", "从降低 6.6 到提高 29.2", "不显著，不能排除没有效果"], ["使", "-6.6"]),
])
def test_below_line_sentence_reads_direction_and_significance(att, lo, hi, has, lacks):
    """Only a significant estimate is worded as what the program does (the reviewer's "使…降低 4.9 个百分点" beside an
    interval of -6.6 to 29.2 was a claim the numbers do not imply); the interval runs from a reduction to a rise."""
    text = policy.below_line_sentence(_below(att, lo, hi), "industry", "zh")
    assert text.startswith("**产业帮扶**") and all(x in text for x in has) and not any(x in text for x in lacks), text
    en = policy.below_line_sentence(_below(att, lo, hi), "industry", "en")
    sig = lo > 0 or hi < 0
    assert ((("lowers" if att < 0 else "raises") in en) == sig) and "percentage points" in en
    assert ("cannot be ruled out" in en) == (not sig)
    if sig:
        assert "开始帮扶后" in text and "after support starts" in en           # the scope is said


def test_below_line_sentence_doubts_a_significant_effect_the_county_check_does_not_bear_out():
    assert "只按县区聚类时不显著" in policy.below_line_sentence(_below(-0.05, -0.08, -0.02, p_county=0.2), "any", "zh")


def _quant(q10, q50, w10=20, w50=20):
    return pd.DataFrame({"quantile": [0.1, 0.25, 0.5], "qtt": [q10, (q10 + q50) / 2, q50],
                         "ci_low": [q10 - w10, (q10 + q50) / 2 - 20, q50 - w50],
                         "ci_high": [q10 + w10, (q10 + q50) / 2 + 20, q50 + w50],
                         "observed": [3000, 3600, 4300], "counterfactual": [2600, 3300, 4000]})


def test_quantile_verdicts_in_both_directions_and_when_they_overlap():
    assert policy.bottom_vs_middle(_quant(450, 250)) == "bottom"
    assert policy.bottom_vs_middle(_quant(150, 350)) == "middle"
    assert policy.bottom_vs_middle(_quant(300, 320, 50, 50)) == "similar"
    assert "对分布低端（第10百分位数）的效应大于对中位数的效应" in policy.describe_quantiles(_quant(450, 250), "any", "zh")
    assert "需关注" in policy.describe_quantiles(_quant(150, 350), "any", "zh")
    similar = policy.describe_quantiles(_quant(300, 320, 50, 50), "any", "zh")
    assert "没有区别" in similar and "大于" not in similar
    assert "不一定是同一批农户" in similar                # percentiles, not the same households (no rank invariance)
    assert "第10百分位数高 450 元" in policy.describe_quantiles(_quant(450, 250), "any", "zh")
    assert "(not significant)" in policy.describe_quantiles(_quant(10, 320, 50, 50), "any", "en")


def test_the_gap_interval_decides_and_withheld_intervals_are_said():
    gap = lambda lo, hi: _quant(300, 320, 50, 50).assign(gap_10_50=(lo + hi) / 2, gap_ci_low=lo, gap_ci_high=hi)  # noqa: E731
    assert policy.bottom_vs_middle(gap(10.0, 90.0)) == "bottom"          # intervals overlap, the gap's does not
    assert policy.bottom_vs_middle(gap(-90.0, -10.0)) == "middle"
    assert policy.bottom_vs_middle(gap(-40.0, 60.0)) == "similar"
    few = _quant(300, 320).assign(ci_low=NAN, ci_high=NAN, gap_10_50=-20.0, gap_ci_low=NAN, gap_ci_high=NAN,
                                  note="few_clusters", clusters=5)
    text = policy.describe_quantiles(few, "any", "zh")
    assert "只有 5 个聚类" in text and "不显著" not in text and "大于" not in text
    assert "自助抽样的区间不可靠" in text and "区间来自按聚类自助抽样" not in text     # no interval, so no method of it
    assert "—" in set(policy.show_quantiles(few, "zh").iloc[:, -1]) and "nan" not in policy.show_quantiles(few, "zh").to_string()
    outside = _quant(300, 320).assign(outside_support=0.08)
    assert "8% 的获帮扶户-季" in policy.describe_quantiles(outside, "any", "zh")
    assert "超出对照户" not in policy.describe_quantiles(_quant(300, 320).assign(outside_support=0.01), "any", "zh")


def test_negative_quantile_effects_never_read_as_a_rise():
    """QTT -50 / -120 / -200 with the gap's interval above 0: the low end's effect is larger (less negative), which
    must not be worded as the low end rising (the reviewer's case)."""
    neg = _quant(-50, -200).assign(gap_10_50=150.0, gap_ci_low=60.0, gap_ci_high=240.0)
    zh, en = policy.describe_quantiles(neg, "any", "zh"), policy.describe_quantiles(neg, "any", "en")
    assert "第10百分位数低 50 元" in zh and "中位数低 200 元" in zh
    assert "效应大于对中位数的效应" in zh and "提高" not in zh
    assert "rose" not in en and "larger than at the median" in en


def test_each_quantile_table_is_captioned_with_its_program():
    assert policy.quantiles_caption("any", "zh") == "**任一帮扶**：收入分位数的效应"
    assert "employment" in policy.quantiles_caption("employment", "en").lower()


def test_a_year_without_a_line_is_said_in_the_pages_language_without_a_path():
    zh, en = policy.no_line_sentence((2024,), "zh"), policy.no_line_sentence((2024, 2025), "en")
    assert "2024 年的防返贫监测收入线" in zh and "config/indicators.yaml" in zh and "/" not in zh.replace("config/indicators.yaml", "")
    assert "2024, 2025" in en and "income effects are not affected" in en


def test_an_interval_end_that_rounds_to_zero_reads_as_zero_not_as_a_reduction_of_zero():
    text = policy.below_line_sentence(_below(0.005, -0.0004, 0.009), "any", "zh")
    assert "从 0 到提高 0.9 个百分点" in text and "降低 0.0" not in text


@pytest.mark.parametrize("att, lo, hi", [(-0.05, -0.08, -0.02), (0.006, -0.002, 0.013)])
def test_below_line_sentence_gives_the_base_rate_it_is_read_against(att, lo, hi):
    """A county head cannot judge '5 points' without the level: the sentence gives the observed share of supported
    household-quarters below the line and the share estimated without support (observed minus the effect)."""
    frame = _below(att, lo, hi).assign(treated_mean=0.12)
    zh, en = (policy.below_line_sentence(frame, "any", lang) for lang in ("zh", "en"))
    without = 100 * (0.12 - att)
    assert "有 12.0% 低于监测线" in zh and f"推算约为 {without:.1f}%" in zh, zh
    assert "12.0% of these households' quarters" in en and f"an estimated {without:.1f}%" in en, en
    # no level saved (an older file) or an impossible one: no reference clause, never a negative share
    assert "参照" not in policy.below_line_sentence(_below(att, lo, hi), "any", "zh")
    assert "参照" not in policy.below_line_sentence(_below(0.05, 0.02, 0.08).assign(treated_mean=0.01), "any", "zh")


@pytest.mark.parametrize("att, lo, hi, zh, en", [
    (-0.0152, -0.0154, -0.0151, "降低 **1.52 个百分点**（降低幅度的95%区间 1.51 至 1.54", "by **1.52 percentage points** (95% CI of the reduction: 1.51 to 1.54)"),
    (-0.01503, -0.01504, -0.01501, "降低 **1.503 个百分点**（降低幅度的95%区间 1.501 至 1.504", "1.501 to 1.504"),
    (-0.05, -0.08, -0.02, "降低 **5.0 个百分点**（降低幅度的95%区间 2.0 至 8.0", "by **5.0 percentage points** (95% CI of the reduction: 2.0 to 8.0)"),
])
def test_a_narrow_interval_is_written_with_the_decimals_that_tell_its_ends_apart(att, lo, hi, zh, en):
    """At 2,000,000 households the report read '降低幅度的95%区间 1.5 至 1.5 个百分点': true to one decimal, and no
    interval. The decimals now tell the ends apart (up to three); a usual interval keeps one."""
    assert zh in policy.below_line_sentence(_below(att, lo, hi), "any", "zh")
    assert en in policy.below_line_sentence(_below(att, lo, hi), "any", "en")


@pytest.mark.parametrize("att, lo, hi, zh, en", [
    (0.01, 0.0004, 0.02, "提高幅度的95%区间 0.04 至 2.00 个百分点", "0.04 to 2.00"),      # a significant end near zero
    (-0.0001, -0.0003, 0.0004, "点估计降低 0.01 个百分点，95%区间从降低 0.03 到提高 0.04 个百分点",
     "0.01 percentage points lower as a point estimate; 95% CI from 0.03 points lower to 0.04 points higher"),
    (0.006, -0.002, 0.013, "点估计提高 0.6 个百分点，95%区间从降低 0.2 到提高 1.3 个百分点", "from 0.2 points lower to 1.3"),
])
def test_no_interval_end_reads_as_zero_unless_it_is(att, lo, hi, zh, en):
    """A reviewer's cases: a significant interval from '0.0' (beside '统计上显著'), and a tight non-significant one that
    read '从 0 到 0'. The decimals show a significant end near zero and tell a tight interval's ends apart; a usual
    interval keeps one decimal (and a non-significant end that rounds to zero reads as 0: the test above)."""
    assert zh in policy.below_line_sentence(_below(att, lo, hi), "any", "zh")
    assert en in policy.below_line_sentence(_below(att, lo, hi), "any", "en")
