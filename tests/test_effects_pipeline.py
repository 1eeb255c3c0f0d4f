"""From county submissions to effects: intake, construction and estimators recover the simulator's truth,
and the effects notebook runs for every program."""
from __future__ import annotations

import numpy as np
import pandas as pd
import papermill as pm
import pytest

from helpers.analysis import program_effects as pe
from helpers.present import effects as er
from helpers.analysis.effects import EstimationError
from helpers.config import KERNEL_NAME, NOTEBOOKS
from helpers.analysis.construct import build_panel


def _truth(sample, program):
    e = sample["truth"].effects
    e = e[e["treatment"] == program]
    simple = (e["att"] * e["n_households"]).sum() / e["n_households"].sum()
    return simple


@pytest.mark.parametrize("program", ["any", "industry", "employment"])
def test_robust_estimators_recover_the_truth_through_intake_and_naive_twfe_does_not(sample, program):
    panel = build_panel(sample["paths"])
    e = pe.estimate(panel, program, "income_pc", "not_yet", None, "village")
    truth = _truth(sample, program)
    cs = e.cs.aggregate("simple").loc["overall"]
    imp = e.imp.aggregate("simple").loc["overall"]
    assert abs(cs["att"] - truth) < 3.5 * cs["se"], (cs["att"], truth, cs["se"])
    assert abs(imp["att"] - truth) < 3.5 * imp["se"], (imp["att"], truth, imp["se"])
    assert e.tw.coef < truth                     # effects grow with time: TWFE understates them here


def test_comparison_table_and_conclusion(sample):
    panel = build_panel(sample["paths"])
    e = pe.estimate(panel, "any", "income_pc", "not_yet", None, "village")
    table = pe.comparison(e, reps=199)
    assert list(table["estimator"]) == ["callaway_santanna", "callaway_santanna", "imputation", "imputation", "twfe"]
    assert table.loc[table["estimator"] != "twfe", "p_county"].between(0, 1).all()
    text = er.conclusion(pe.summarize(e, "2023Q2", reps=199), "zh")
    att = table.loc[0, "att"]
    assert f"{att:,.0f} 元" in text and "%" in text
    post = e.sample[e.sample["treated"]]["income_pc"].mean()
    assert pe.counterfactual_mean(e, att) == pytest.approx(post - att)


def test_subsidy_bins_cover_the_industry_households_and_read_in_both_languages(sample):
    panel = build_panel(sample["paths"])
    dose = pe.dose_bins(panel, "income_pc")
    binned = panel.households[panel.households["dose_bin"].notna()]
    assert dose["treated_households"].sum() == len(binned)          # every binned household in one bin
    assert dose["att"].notna().all()
    zh, en = er.show_dose(dose, "zh"), er.show_dose(dose, "en")
    assert list(zh.index) == ["低", "中", "高"] and list(en.index) == ["low", "middle", "high"]
    assert "效应（元/人/季）" in zh.columns and "effect (yuan/person/quarter)" in en.columns
    assert not any(c in zh.columns for c in ("att", "se", "treated_households"))


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("program", ["any", "industry", "employment"])
def test_effects_notebook_runs_for_each_program(sample, tmp_path_factory, program):
    reports = tmp_path_factory.getbasetemp() / "reports_effects"
    out = reports / f"03_effects_{program}.ipynb"
    out.parent.mkdir(parents=True, exist_ok=True)
    pm.execute_notebook(str(NOTEBOOKS / "03_effects.ipynb"), str(out), kernel_name=KERNEL_NAME, progress_bar=False,
                        parameters=dict(quarter="2022Q2", program=program, processed_dir=str(sample["paths"].processed),
                                        reports_dir=str(reports), bootstrap_reps=199, lang="zh"))
    res = pd.read_parquet(reports / "2022Q2" / "results" / f"effects_{program}__bootstrap_reps-199.parquet")
    assert set(res["estimator"]) == {"callaway_santanna", "imputation", "twfe"}
    assert set(res["outcome"]) == {"income_pc", "earned_pc"} and (res["program"] == program).all()
    figs = {p.name for p in (reports / "2022Q2" / "figures").glob(f"03_{program}_*.png")}
    assert figs == {f"03_{program}_cohorts.png", f"03_{program}_event_study.png", f"03_{program}_heterogeneity.png",
                    f"03_{program}_sensitivity.png", f"03_{program}_below_line_event_study.png"}
    text = out.read_text(encoding="utf-8")
    assert "结论" in text and "元" in text
    # the page names its program in its title and first line, and leads with its conclusion
    import nbformat

    nb = nbformat.read(out, as_version=4)
    shown = [o["data"]["text/markdown"] for c in nb.cells if c.cell_type == "code" for o in c.outputs
             if "text/markdown" in o.get("data", {})]
    label = er.program_label(program, "zh")
    assert shown[0].startswith(f"# 03 帮扶效果：{label}") and label in shown[0].splitlines()[2]
    assert shown[1].startswith("## 结论")
    assert any("产业补助分档" in s for s in shown) == (program == "industry")     # the bins only on the industry page
    assert "saved:" not in text and str(reports) not in "".join(shown)   # no local paths on the page
    assert not np.isnan(res.loc[res["term"] == "overall", "att"]).any()


def test_every_option_reaches_every_estimator_and_the_table_says_on_what_each_row_rests(sample):
    panel = build_panel(sample["paths"], balanced=False)
    gaps = int(panel.excluded["dropped_for_gaps"].sum())
    e = pe.estimate(panel, "any", "income_pc", "never", ["household_size"], "county")
    table = pe.comparison(e, reps=199)
    # the unbalanced panel reaches all three estimators: none drops households with gaps again
    assert gaps == 0 and (table["sample"] == "unbalanced").all()
    households = panel.sample("any")["household_id"].nunique()
    first_quarter = e.cs.spec["dropped_treated_in_first_period"]
    assert e.cs.spec["dropped_unbalanced_units"] == 0 and e.cs.spec["units"] == households - first_quarter
    assert e.tw.spec["units"] == households and e.tw.spec["dropped_unbalanced_units"] == 0
    assert e.imp.spec["units"] == households - first_quarter - e.imp.spec["dropped_no_untreated_period"]
    rows = table.set_index("estimator")
    assert rows.loc["callaway_santanna", "control"].tolist() == ["never", "never"]
    assert rows.loc["callaway_santanna", "covariates"].tolist() == ["household_size"] * 2
    assert rows.loc["imputation", "covariates"].tolist() == ["", ""] and rows.loc["twfe", "control"] == "all"
    assert (table["cluster"] == "county").all() and (table["clusters"] == 5).all()
    shown = er.show_comparison(table, "zh")
    assert shown["样本（户）"].str.startswith("非平衡面板").all() and (shown["聚类（个数）"] == "县(区)（5）").all()
    # subgroups use the headline's options; a county is one cluster under county clustering: no SE, said so
    het = pe.heterogeneity(panel, e).set_index(["dimension", "group"])
    county = het.loc["county"]
    assert (county["note"] == "one_cluster").all() and county["se"].isna().all() and county["att"].notna().all()
    sub = panel.sample("any", "income_pc", ["household_id", "time", "cohort", "household_type", "county",
                                            "household_size"])
    sub = sub[sub["household_type"] == "一般农户"]
    from helpers.analysis.effects import callaway_santanna

    direct = callaway_santanna(sub, "income_pc", "household_id", "time", "cohort", control="never",
                               covariates=["household_size"], cluster="county", balanced=False)
    assert het.loc[("household_type", "一般农户"), "se"] == pytest.approx(direct.aggregate("simple").loc["overall", "se"])


def test_the_pretest_sentence_says_why_a_test_cannot_be_computed(sample):
    panel = build_panel(sample["paths"])
    e = pe.estimate(panel, "any", "income_pc", "not_yet", None, "county")
    e.cs.pretest = lambda kind="event": {"pvalue": float("nan"), "reason": "x", "reason_code": "singular"}
    r = pe.summarize(e, "2023Q2", reps=199)
    assert "协方差矩阵奇异" in er.describe_event_study(r, "zh")
    assert "singular" in er.describe_event_study(r, "en")


# ---- every qualitative word is a named predicate, tested both ways --------------------------------------------
def _staggered(effect_at, seed=3, n=300):
    """A panel whose effect at event time e is effect_at(e): unit and period effects, noise, cohorts 3 and 5."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        g = (0, 3, 5)[i % 3]
        a = rng.normal()
        for t in range(1, 9):
            tau = effect_at(t - g) if g and t >= g else 0.0
            rows.append((f"h{i}", t, g, a + 0.2 * t + rng.normal(0, 0.5) + tau))
    return pd.DataFrame(rows, columns=["household_id", "time", "cohort", "income_pc"])


@pytest.mark.parametrize("effect_at,direction,zh_word", [(lambda e: 100.0 * (e + 1), "grows", "效应随开始后的季度增大"),
                                                        (lambda e: 600.0 - 100.0 * e, "fades", "效应随开始后的季度减弱"),
                                                        (lambda e: 300.0, "stays", "没有证据表明效应随开始后的季度增大或减弱")])
def test_the_event_study_sentence_says_grows_fades_or_stays_as_the_slope_does(effect_at, direction, zh_word):
    from types import SimpleNamespace

    from helpers.analysis.effects import callaway_santanna

    cs = callaway_santanna(_staggered(effect_at), "income_pc", "household_id", "time", "cohort", control="not_yet")
    assert er.trend_direction(cs.event_time_trend()) == direction
    dyn = cs.aggregate("dynamic").drop(index="overall")
    dyn.index = dyn.index.astype(int)
    result = SimpleNamespace(outcome="income_pc", cluster="household_id", pretest=cs.pretest(),
                             trend={**cs.event_time_trend(), "basis": ""}, event_study=lambda estimator="": dyn)
    text = er.describe_event_study(result, "zh")
    assert zh_word in text and ("累积" not in text or direction == "grows")


def test_predicates_in_both_directions():
    ci = {"att": 10.0, "ci_low": 8.0, "ci_high": 12.0}
    assert er.twfe_position(7.0, ci) == "below" and er.twfe_position(13.0, ci) == "above"
    assert er.twfe_position(9.0, ci) == "inside"
    assert er.significant(1.0, 2.0) and er.significant(-2.0, -1.0) and er.significant(-1.0, 1.0) is False
    assert er.robust_estimates_agree(ci, {"att": 9.0, "ci_low": 7.5, "ci_high": 10.5})
    assert not er.robust_estimates_agree(ci, {"att": 13.0, "ci_low": 12.5, "ci_high": 13.5})
    assert er.trend_direction({"ci_low": -1.0, "ci_high": 1.0}) == "stays"
    few = {"cluster": "county", "clusters": 5, "ci_low": 1.0, "ci_high": 2.0, "ci_county_low": -1.0, "ci_county_high": 3.0}
    assert er.headline_interval(few) == (-1.0, 3.0, "few_cluster")
    assert er.headline_interval({**few, "cluster": "village", "clusters": 60}) == (1.0, 2.0, "")
    with_slope = _staggered(lambda e: 100.0 * (e + 1))
    from helpers.analysis.effects import callaway_santanna, twfe

    cs = callaway_santanna(with_slope, "income_pc", "household_id", "time", "cohort", control="not_yet")
    robust = cs.aggregate("simple").loc["overall"]
    with_slope["treated"] = ((with_slope["cohort"] > 0) & (with_slope["time"] >= with_slope["cohort"])).astype(int)
    naive = twfe(with_slope, "income_pc", "treated", "household_id", "time").coef
    assert er.twfe_position(naive, robust) == "below"           # growing effects: the forbidden comparisons bite
    assert "低估" in er._twfe_sentence(naive, "income_pc", "below", "grows", "zh")
    assert "低估" not in er._twfe_sentence(naive, "income_pc", "inside", "grows", "zh")
    assert "原因" not in er._twfe_sentence(naive, "income_pc", "above", "fades", "zh")


def test_the_log_outcome_reads_in_log_points_and_percent_and_county_clusters_defer_to_the_few_cluster_check(sample):
    panel = build_panel(sample["paths"])
    e = pe.estimate(panel, "any", "log_income_pc", "not_yet", None, "county")
    table = pe.comparison(e, reps=199)
    shown = er.show_comparison(table, "zh")
    assert "效应（对数点）" in shown.columns and "刀切法" in " ".join(shown.columns)
    text = er.conclusion(pe.summarize(e, "2023Q2", reps=199), "zh")
    assert "对数点" in text and "元/人/季" not in text and "%" in text
    assert "上面给出的是少聚类检验的95%区间，显著性和下面的比较都按它判断" in text    # 5 county clusters: the headline defers
    assert "结果变量：人均纯收入（对数），单位：对数点" in er.describe_comparison(table, "zh")
    with pytest.raises(EstimationError, match="few_cluster must be"):
        pe.comparison(e, few_cluster="Wild")
    with pytest.raises(EstimationError, match="unknown covariate or cluster"):
        pe.estimate(panel, "any", "income_pc", "not_yet", None, "township")


def test_with_few_clusters_every_word_is_judged_on_the_few_cluster_intervals(sample):
    panel = build_panel(sample["paths"])
    e = pe.estimate(panel, "any", "income_pc", "not_yet", None, "county")
    table = pe.comparison(e, reps=199)
    row = table[(table["estimator"] == "callaway_santanna") & (table["aggregate"] == "simple")].iloc[0]
    lo, hi, basis = er.headline_interval(row)
    assert basis == "few_cluster" and (lo, hi) == (row["ci_county_low"], row["ci_county_high"])
    tr = pe.trend_interval(e)
    assert tr["basis"] == "few_cluster"
    jk = e.cs.few_cluster_test(e.county_codes(e.cs), "trend").ci()
    assert (tr["ci_low"], tr["ci_high"]) == pytest.approx(jk)
    het = pe.heterogeneity(panel, e)
    assert "不据此判断差异" in er.describe_heterogeneity(het, "zh")
    # the TWFE word follows the interval the paragraph judges by: inside it, no "understates"
    tw = table[table["estimator"] == "twfe"].iloc[0]
    inside = table.copy()
    inside.loc[inside["estimator"] == "twfe", "att"] = (lo + hi) / 2
    from dataclasses import replace

    result = replace(pe.summarize(e, "2023Q2", reps=199), table=inside)
    assert "落在稳健估计的95%置信区间内" in er.conclusion(result, "zh")
    assert er.twfe_position(tw["att"], {"ci_low": lo, "ci_high": hi}) in ("below", "inside", "above")


def test_robust_estimates_without_an_interval_are_not_called_in_disagreement():
    a = {"att": 367.1, "ci_low": np.nan, "ci_high": np.nan}
    b = {"att": 361.1, "ci_low": 331.0, "ci_high": 391.1}
    assert er.robust_estimates_agree(a, b) is None


def test_short_windows_and_the_log_outcome_read_right(sample):
    panel = build_panel(sample["paths"], "2021Q2")                    # two quarters: no pre-start point to look at
    e = pe.estimate(panel, "any", "income_pc", "not_yet", None, "village")
    text = er.describe_event_study(pe.summarize(e, "2021Q2", reps=199), "zh")
    assert "请看图" not in text and "第 0 个季度" not in text and "开始当季效应为" in text
    log = pe.estimate(build_panel(sample["paths"]), "any", "log_income_pc", "not_yet", None, "village")
    text = er.conclusion(pe.summarize(log, "2023Q2", reps=199), "zh")
    assert "人均季度纯收入比没有帮扶时平均高约" in text and "（对数）比" not in text


def test_the_report_sentence_follows_the_saved_results_for_any_outcome(sample):
    from helpers.present.report import effect_sentence

    panel = build_panel(sample["paths"])
    for outcome, cluster, expect in (("income_pc", "village", "比没有帮扶时平均高 **"), ("log_income_pc", "county", "对数点")):
        e = pe.estimate(panel, "industry", outcome, "not_yet", None, cluster)
        saved = pe.tidy(e, pe.comparison(e, reps=199), "2022Q2")
        text = effect_sentence(saved, "industry", "zh")
        assert text and expect in text
        assert ("按少聚类检验判断" in text) == (cluster == "county")
        cs = saved[(saved["estimator"] == "callaway_santanna") & (saved["aggregate"] == "simple")
                   & (saved["term"] == "overall")].iloc[0]
        inside = saved.copy()
        inside.loc[inside["estimator"] == "twfe", "att"] = cs["att"]
        assert "低估" not in effect_sentence(inside, "industry", "zh")
