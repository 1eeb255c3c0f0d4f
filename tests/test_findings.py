"""Every sentence that states a finding comes from a named predicate (helpers.present.findings): each predicate
in both directions on hand-made numbers, and the sentences of the effects pages and the report rendered for
hand-made results where effects grow and TWFE is below the robust estimate, and where they fade and TWFE is
above it (no "growth" or "understates" words in the second, none of "fades" or "overstates" in the first)."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from helpers.present import effects as er
from helpers.present import report
from helpers.present import findings as f

NAN = float("nan")


# ---- the predicates, each both ways ---------------------------------------------------------------------------
def test_significant_both_ways_and_without_an_interval():
    assert f.significant(1.0, 2.0) is True and f.significant(-2.0, -0.5) is True
    assert f.significant(-1.0, 1.0) is False and f.significant(0.0, 3.0) is False
    assert f.significant(NAN, 1.0) is None


def test_robust_estimates_agree_and_disagree():
    cs = {"att": 330.0, "ci_low": 290.0, "ci_high": 370.0}
    assert f.robust_estimates_agree(cs, {"att": 325.0, "ci_low": 294.0, "ci_high": 355.0}) is True
    # the imputation estimate outside the CS interval
    assert f.robust_estimates_agree(cs, {"att": 400.0, "ci_low": 360.0, "ci_high": 440.0}) is False
    # the CS estimate outside a narrow imputation interval although the imputation estimate is inside CS's
    assert f.robust_estimates_agree(cs, {"att": 300.0, "ci_low": 295.0, "ci_high": 305.0}) is False
    assert f.robust_estimates_agree(cs, {"att": 325.0, "ci_low": NAN, "ci_high": NAN}) is None
    # with few clusters the few-cluster intervals decide: wide ones agree where the narrow ones do not
    few = {"cluster": "county", "clusters": 5}
    a = {**few, "att": 330.0, "ci_low": 329.0, "ci_high": 331.0, "ci_county_low": 200.0, "ci_county_high": 460.0}
    b = {**few, "att": 300.0, "ci_low": 299.0, "ci_high": 301.0, "ci_county_low": 180.0, "ci_county_high": 420.0}
    assert f.robust_estimates_agree(a, b) is True
    assert f.robust_estimates_agree({**a, "clusters": 60}, {**b, "clusters": 60}) is False


def test_twfe_below_above_close():
    robust = {"ci_low": 290.0, "ci_high": 370.0}
    assert f.twfe_position(234.0, robust) == "below"
    assert f.twfe_position(420.0, robust) == "above"
    assert f.twfe_position(300.0, robust) == "inside"
    assert f.twfe_position(300.0, {"ci_low": NAN, "ci_high": NAN}) == ""


def test_effects_grow_fade_stay():
    assert f.trend_direction({"slope": 71.2, "ci_low": 58.7, "ci_high": 83.7}) == "grows"
    assert f.trend_direction({"slope": -40.0, "ci_low": -60.0, "ci_high": -20.0}) == "fades"
    assert f.trend_direction({"slope": 5.0, "ci_low": -10.0, "ci_high": 20.0}) == "stays"
    assert f.trend_direction({"slope": NAN, "ci_low": NAN, "ci_high": NAN}) == ""


def test_the_forbidden_comparison_explanation_only_where_the_numbers_show_it():
    assert f.forbidden_comparisons("below", "grows") == "understates"
    assert f.forbidden_comparisons("above", "fades") == "overstates"
    for position, trend in (("above", "grows"), ("below", "fades"), ("inside", "grows"), ("below", "stays"),
                            ("", "grows")):
        assert f.forbidden_comparisons(position, trend) == ""


def test_pretrends_both_ways_and_the_singular_covariance():
    assert f.pretrends({"pvalue": 0.766, "reason": ""}) == "no_evidence"
    assert f.pretrends({"pvalue": 0.01, "reason": ""}) == "diverging"
    assert f.pretrends({"pvalue": NAN, "reason": "singular covariance", "reason_code": "singular"}) == "untestable"


def test_overlap_staggering_gap_and_rank():
    assert f.intervals_overlap({"ci_low": 1, "ci_high": 3}, {"ci_low": 2, "ci_high": 4})
    assert not f.intervals_overlap({"ci_low": 1, "ci_high": 2}, {"ci_low": 3, "ci_high": 4})
    assert f.staggered_starts([120, 0, 80]) and not f.staggered_starts([200, 0])
    assert f.gap_direction(0.033, 0.021, 0.045) == "higher" and f.gap_direction(-0.03, -0.05, -0.01) == "lower"
    assert f.gap_direction(0.01, -0.01, 0.03) == "unclear" and f.gap_direction(0.02) == "higher_point"
    assert f.gap_direction(NAN) == ""
    assert f.rank_settled({"rank_best": 1, "rank_worst": 1}) is True
    assert f.rank_settled({"rank_best": 2, "rank_worst": 3}) is False
    assert f.rank_settled({"rank_best": NAN, "rank_worst": 3}) is None


def test_headline_interval_defers_to_the_few_cluster_check_only_with_few_clusters():
    few = {"cluster": "county", "clusters": 5, "ci_low": 1.0, "ci_high": 2.0, "ci_county_low": -1.0,
           "ci_county_high": 3.0}
    assert f.headline_interval(few) == (-1.0, 3.0, "few_cluster")
    assert f.headline_interval({**few, "cluster": "village", "clusters": 60}) == (1.0, 2.0, "")
    assert f.headline_interval({**few, "ci_county_low": NAN})[2] == "none"
    assert f.few_clusters(few) and not f.few_clusters({"cluster": "household_id", "clusters": 3})


def test_effects_report_reexports_the_predicates():
    for name in ("robust_estimates_agree", "significant", "twfe_position", "trend_direction", "headline_interval",
                 "few_clusters", "intervals_overlap", "FEW_CLUSTERS"):
        assert getattr(er, name) is getattr(f, name)


# ---- sentences rendered for hand-made results -----------------------------------------------------------------
GROWTH_WORDS = ("增大", "增长", "累积", "低估", "grows", "grow over time", "understates", "build up")
FADE_WORDS = ("减弱", "高估", "fades", "fade over time", "overstates")


def _tidy(cs_att, cs_ci, imp_att, imp_ci, twfe_att, slope_ci, pretrend_p=0.5, reason="", cluster="village",
          clusters=60, earned=True, program="any"):
    """A saved effects table (as notebook 03 writes it) with the numbers given."""
    rows = []

    def row(outcome, est, agg, term, att, lo, hi, **kw):
        rows.append({"quarter": "2023Q2", "program": program, "outcome": outcome, "estimator": est, "aggregate": agg,
                     "term": term, "att": att, "se": (hi - lo) / 3.92, "ci_low": lo, "ci_high": hi,
                     "p_county": NAN, "ci_county_low": NAN, "ci_county_high": NAN, "few_cluster_method": "",
                     "sample": "balanced", "units": 1000, "control": "not_yet", "covariates": "", "cluster": cluster,
                     "clusters": clusters,
                     "pretrend_p": pretrend_p if est == "callaway_santanna" else NAN,
                     "pretrend_reason": reason if est == "callaway_santanna" else "", **kw})

    for outcome, scale in (("income_pc", 1.0), ("earned_pc", 0.8)) if earned else (("income_pc", 1.0),):
        row(outcome, "callaway_santanna", "simple", "overall", scale * cs_att, scale * cs_ci[0], scale * cs_ci[1])
        row(outcome, "callaway_santanna", "dynamic", "overall", scale * cs_att * 1.2, scale * cs_ci[0] * 1.2,
            scale * cs_ci[1] * 1.2)
        row(outcome, "imputation", "simple", "overall", scale * imp_att, scale * imp_ci[0], scale * imp_ci[1])
        row(outcome, "twfe", "simple", "overall", scale * twfe_att, scale * twfe_att - 20, scale * twfe_att + 20)
        slope = (slope_ci[0] + slope_ci[1]) / 2
        row(outcome, "callaway_santanna", "dynamic", "trend", slope, slope_ci[0], slope_ci[1])
    return pd.DataFrame(rows)


GROWING = dict(cs_att=330.0, cs_ci=(290.0, 370.0), imp_att=325.0, imp_ci=(294.0, 355.0), twfe_att=234.0,
               slope_ci=(58.7, 83.7))
FADING = dict(cs_att=330.0, cs_ci=(290.0, 370.0), imp_att=325.0, imp_ci=(294.0, 355.0), twfe_att=420.0,
              slope_ci=(-60.0, -20.0))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_report_sentences_where_effects_fade_and_twfe_is_above(lang):
    saved = _tidy(**FADING)
    text = report.effect_sentence(saved, "any", lang) + report.event_study_sentence(saved, "any", lang)
    assert not any(w in text for w in GROWTH_WORDS), text
    if lang == "zh":
        assert "效应随开始后的季度减弱" in text and "高于稳健估计的95%置信区间" in text and "会高估效果" in text
        assert "比没有帮扶时平均高" in text and "每季度多增加" not in text
    else:
        assert "fades" in text and "above the robust estimate" in text and "overstates" in text


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_report_sentences_where_effects_grow_and_twfe_is_below(lang):
    saved = _tidy(**GROWING)
    text = report.effect_sentence(saved, "any", lang) + report.event_study_sentence(saved, "any", lang)
    assert not any(w in text for w in FADE_WORDS), text
    if lang == "zh":
        assert "效应随开始后的季度增大" in text and "低于稳健估计的95%置信区间" in text and "会低估效果" in text
    else:
        assert "grows" in text and "below the robust estimate" in text and "understates" in text


def test_report_sentence_with_twfe_above_while_effects_grow_gives_no_explanation():
    saved = _tidy(**{**GROWING, "twfe_att": 420.0})
    text = report.effect_sentence(saved, "any", "zh")
    assert "高于稳健估计" in text and "低估" not in text and "高估" not in text


def test_report_sentence_when_the_robust_estimates_disagree_and_the_effect_is_not_significant():
    saved = _tidy(**{**GROWING, "imp_att": 420.0, "imp_ci": (400.0, 440.0)})
    text = report.effect_sentence(saved, "any", "zh")
    assert "两种稳健方法不一致" in text and "两种稳健方法一致" not in text
    null = _tidy(**{**GROWING, "cs_att": 20.0, "cs_ci": (-20.0, 60.0), "imp_att": 15.0, "imp_ci": (-25.0, 55.0),
                    "twfe_att": 10.0})
    text = report.effect_sentence(null, "any", "zh")
    assert "统计上不显著" in text and "统计上显著" not in text
    negative = _tidy(**{**GROWING, "cs_att": -80.0, "cs_ci": (-120.0, -40.0), "imp_att": -75.0,
                        "imp_ci": (-110.0, -40.0), "twfe_att": -70.0})
    assert "比没有帮扶时平均低 **80 元**" in report.effect_sentence(negative, "any", "zh")


def test_report_event_study_sentence_with_a_singular_pretest_says_it_cannot_be_tested():
    saved = _tidy(**GROWING, pretrend_p=NAN, reason="singular")
    text = report.event_study_sentence(saved, "any", "zh")
    assert "无法做开始前差异的联合检验" in text and "协方差矩阵奇异" in text and "p 值" not in text
    assert "在5%水平上" not in text
    diverging = report.event_study_sentence(_tidy(**GROWING, pretrend_p=0.01), "any", "zh")
    assert "需警惕平行趋势不成立" in diverging and "没有发现" not in diverging
    assert "cannot be computed" in report.event_study_sentence(saved, "any", "en")


def _fake_effects(post, slope_ci, pretest=None, table=None):
    """What the effects page's sentences read of a program's results (``program_effects.EffectsResult``), with
    the numbers given: the event study (two pre-start points, then ``post``), the trend's interval, the
    pre-start test and the side-by-side table."""
    idx = [-2, -1] + list(range(len(post)))
    dyn = pd.DataFrame({"att": [5.0, -3.0] + list(post), "se": 10.0}, index=pd.Index(idx, name="event_time"))
    dyn["ci_low"], dyn["ci_high"] = dyn["att"] - 20, dyn["att"] + 20
    lo, hi = slope_ci
    return SimpleNamespace(outcome="income_pc", cluster="village", program="any", clusters=60, table=table,
                           treated_mean=float(np.mean([4300.0, 4200.0])),
                           pretest=pretest or {"pvalue": 0.6, "reason": "", "reason_code": "", "left_out": 0},
                           trend={"slope": (lo + hi) / 2, "se": (hi - lo) / 3.92, "ci_low": lo, "ci_high": hi,
                                  "basis": ""},
                           event_study=lambda estimator="callaway_santanna": dyn)


def _with(e, table):
    e.table = table
    return e


def _table(cs_att, cs_ci, imp_att, imp_ci, twfe_att):
    base = {"outcome": "income_pc", "se": 10.0, "p_county": NAN, "ci_county_low": NAN, "ci_county_high": NAN,
            "counties": 0, "few_cluster_method": "", "few_cluster_note": "", "cluster": "village", "clusters": 60}
    return pd.DataFrame([
        {**base, "estimator": "callaway_santanna", "aggregate": "simple", "att": cs_att, "ci_low": cs_ci[0],
         "ci_high": cs_ci[1]},
        {**base, "estimator": "imputation", "aggregate": "simple", "att": imp_att, "ci_low": imp_ci[0],
         "ci_high": imp_ci[1]},
        {**base, "estimator": "twfe", "aggregate": "simple", "att": twfe_att, "ci_low": twfe_att - 20,
         "ci_high": twfe_att + 20}])


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_effects_page_sentences_where_effects_fade_and_twfe_is_above(lang):
    e = _fake_effects([600.0, 500.0, 400.0, 300.0], (-120.0, -80.0))
    text = (er.conclusion(_with(e, _table(450.0, (400.0, 500.0), 440.0, (395.0, 485.0), 560.0)), lang)
            + er.describe_event_study(e, lang))
    assert not any(w in text for w in GROWTH_WORDS), text
    if lang == "zh":
        assert "效应随开始后的季度减弱" in text and "会高估效果" in text and "平均高 **450 元**" in text
    else:
        assert "fades" in text and "overstates" in text


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_effects_page_sentences_where_effects_grow_and_twfe_is_below(lang):
    e = _fake_effects([200.0, 300.0, 400.0, 500.0], (80.0, 120.0))
    text = (er.conclusion(_with(e, _table(330.0, (290.0, 370.0), 325.0, (294.0, 355.0), 234.0)), lang)
            + er.describe_event_study(e, lang))
    assert not any(w in text for w in FADE_WORDS), text
    assert ("会低估效果" in text) if lang == "zh" else ("understates" in text)


def test_effects_page_with_disagreeing_estimates_and_a_singular_pretest():
    pre = {"pvalue": NAN, "reason": "singular covariance", "reason_code": "singular", "left_out": 0}
    e = _fake_effects([300.0, 300.0, 310.0], (-15.0, 20.0), pre)
    text = er.conclusion(_with(e, _table(330.0, (290.0, 370.0), 420.0, (400.0, 440.0), 300.0)), "zh")
    assert "两种稳健方法不一致" in text and "落在稳健估计的95%置信区间内" in text and "低估" not in text
    event = er.describe_event_study(e, "zh")
    assert "无法做开始前差异的联合检验" in event and "协方差矩阵奇异" in event and "没有证据表明效应随开始后的季度增大或减弱" in event


def test_the_effect_reads_as_a_level_difference():
    zh = er._effect_phrase("income_pc", 330.2, 290.4, 369.9, "zh")
    assert "平均高 **330 元**" in zh and "每季度" not in zh
    assert "平均低 **50 元**" in er._effect_phrase("income_pc", -50.0, -80.0, -20.0, "zh")
    assert "lower" in er._effect_phrase("income_pc", -50.0, -80.0, -20.0, "en")
    heading = er.page_heading("employment", "income_pc", "2023Q2", "zh")
    assert heading.startswith("# 03 帮扶效果：就业帮扶") and "就业帮扶" in heading.splitlines()[2]


def test_with_few_clusters_the_interval_printed_is_the_one_the_twfe_claim_rests_on():
    """With county clusters the report printed the cluster-robust interval (213 to 385) and called a TWFE of
    206 'inside the robust interval', judged on the few-cluster interval it never showed (179 to 419)."""
    saved = _tidy(**{**GROWING, "cs_att": 299.0, "cs_ci": (213.0, 385.0), "twfe_att": 206.0}, cluster="county", clusters=5)
    cs = (saved["estimator"] == "callaway_santanna") & (saved["aggregate"] == "simple")
    saved.loc[cs, ["p_county", "ci_county_low", "ci_county_high"]] = [0.01, 178.8, 418.9]
    saved.loc[cs & (saved["outcome"] == "earned_pc"), ["ci_county_low", "ci_county_high"]] = [98.0, 331.0]
    text = report.effect_sentence(saved, "any", "zh")
    assert "179 至 419" in text and "213 至 385" not in text, text
    assert "落在稳健估计的95%置信区间内" in text or "稳健估计的95%置信区间" in text


def test_the_report_and_the_indicators_page_judge_rank_stability_by_the_same_rule():
    """02 said ranks do not depend on the weights (every county kept its rank in 99% of draws, over the 95%
    rule) while 04 said the first county's rank moves (best 1, worst 2)."""
    from helpers.analysis import composite

    rank = pd.DataFrame({"county": ["恩阳区", "巴州区"], "rank": [1, 2], "rank_best": [1, 1], "rank_worst": [2, 2],
                         "rank_stability": [0.99, 0.99]})
    assert composite.ranks_stable(rank, 0.95) is True
    assert all(f.rank_settled(r, 0.95) is True for r in rank.to_dict("records"))
    rank["rank_stability"] = 0.68
    assert composite.ranks_stable(rank, 0.95) is False
    assert all(f.rank_settled(r, 0.95) is False for r in rank.to_dict("records"))


@pytest.mark.parametrize("p, caveat", [(0.001, True), (0.4, False), (NAN, False)])
def test_a_failed_pretrend_test_reaches_the_report_paragraph_of_every_program(p, caveat):
    """The event-study section said 'p<0.001, parallel trends doubtful' while the conclusion and 04's
    industry and employment paragraphs called the effect significant without a word."""
    for program in ("any", "industry", "employment"):
        saved = _tidy(**GROWING, pretrend_p=p, program=program)
        for lang, word in (("zh", "平行趋势可能不成立"), ("en", "parallel trends may not hold")):
            assert (word in report.effect_sentence(saved, program, lang)) is caveat, (program, lang)


def test_the_summary_never_prints_nan_for_a_value_it_cannot_compute():
    from helpers.analysis.indicators import ALL, CITY

    rows = [dict(quarter="2023Q2", category=ALL, county=CITY, indicator="spending_progress", value=NAN,
                 denominator=NAN, status="no_data", threshold=0.5, met=None),
            dict(quarter="2023Q2", category=ALL, county=CITY, indicator="income_growth_gap", value=0.033,
                 denominator=500.0, status="ok", threshold=0.0, met=True, ci_low=0.021, ci_high=0.045),
            dict(quarter="2023Q2", category=ALL, county="通江县", indicator="missed_monitoring", value=0.0,
                 denominator=NAN, status="ok", threshold=0.0, met=True)]
    ranking = pd.DataFrame({"county": ["通江县"], "rank": [1], "rank_best": [1], "rank_worst": [1],
                            "rank_stability": [1.0]})
    for lang in ("zh", "en"):
        text = report.summary_sentence(pd.DataFrame(rows), ranking, "2023Q2", lang)
        assert "nan" not in text.lower() and ("无数据" in text if lang == "zh" else "no data" in text.lower()), text


def test_the_report_says_which_counties_the_city_workers_change_covers():
    from helpers.analysis.indicators import ALL, CITY

    rows = [dict(quarter="2023Q2", category=ALL, county=c, indicator="workers_change", value=v, status=st)
            for c, v, st in (("巴州区", 0.05, "ok"), ("南江县", NAN, "no_data"), (CITY, 0.055, "ok"))]
    note = report.headline_note(pd.DataFrame(rows), "2023Q2", "zh")
    assert "只合计巴州区" in note and "南江县" in note
    rows[1]["status"], rows[1]["value"] = "ok", 0.06
    assert report.headline_note(pd.DataFrame(rows), "2023Q2", "zh") == ""


def test_a_number_that_rounds_to_zero_is_never_minus_zero():
    from helpers.present.effects import _v

    assert _v(-0.3, "income_pc") == "0" and _v(-0.0004, "log_income_pc") == "0.000" and _v(-5.2, "income_pc", 1) == "-5.2"


def test_county_check_confirms_or_doubts_a_significant_headline():
    assert f.county_check(True, 0.01) == "confirms"
    assert f.county_check(True, 0.057) == "doubts"
    assert f.county_check(False, 0.01) == "" and f.county_check(True, NAN) == ""


def test_report_reconciles_a_significant_headline_with_a_county_check_that_is_not():
    doubted = _tidy(**GROWING)
    doubted.loc[doubted["estimator"] == "callaway_santanna", "p_county"] = 0.057
    text = report.effect_sentence(doubted, "any", "zh")
    assert "统计上显著" in text and "0.057" in text and "只按县区聚类时不显著" in text
    confirmed = _tidy(**GROWING)
    confirmed.loc[confirmed["estimator"] == "callaway_santanna", "p_county"] = 0.002
    assert "只按县区聚类时不显著" not in report.effect_sentence(confirmed, "any", "zh")


def test_report_says_whether_earned_income_is_significant():
    saved = _tidy(**GROWING)
    earned = (saved["outcome"] == "earned_pc") & (saved["estimator"] == "callaway_santanna") & (saved["term"] == "overall")
    saved.loc[earned, ["ci_low"]] = -7.0
    text = report.effect_sentence(saved, "any", "zh")
    part = text.split("只看工资性和经营性收入")[1].split("。")[0]
    assert "不显著" in part
    assert "不显著" not in report.effect_sentence(_tidy(**GROWING), "any", "zh").split("只看工资性和经营性收入")[1].split("。")[0]


def test_effects_page_reconciles_a_significant_headline_with_a_county_check_that_is_not():
    e = _fake_effects([300.0, 320.0, 340.0, 360.0], (5.0, 35.0))
    t = _table(330.0, (290.0, 370.0), 325.0, (294.0, 355.0), 250.0)
    t.loc[t["estimator"] == "callaway_santanna", ["p_county", "ci_county_low", "ci_county_high", "counties",
                                                   "few_cluster_method"]] = [0.057, -10.6, 465.7, 5, "jackknife"]
    text = er.conclusion(_with(e, t), "zh")
    assert "统计上显著" in text and "只按县区聚类时不显著" in text
    t.loc[t["estimator"] == "callaway_santanna", "p_county"] = 0.004
    assert "只按县区聚类时不显著" not in er.conclusion(_with(e, t), "zh")


def test_with_two_clusters_no_interval_is_used_and_no_significance_is_claimed():
    """Two counties: the jackknife's t on one degree of freedom said 'significant' (p = 0.012); below
    MIN_CLUSTERS_TO_JUDGE clusters nothing is judged, from three on the few-cluster check decides."""
    two = {"att": 300.0, "ci_low": 290.0, "ci_high": 310.0, "cluster": "county", "clusters": 2,
           "ci_county_low": 100.0, "ci_county_high": 500.0}
    lo, hi, basis = f.headline_interval(two)
    assert basis == "too_few" and f.significant(lo, hi) is None
    three = {**two, "clusters": 3}
    assert f.headline_interval(three) == (100.0, 500.0, "few_cluster") and f.significant(100.0, 500.0) is True
