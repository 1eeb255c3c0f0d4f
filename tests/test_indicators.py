"""Each indicator on small hand-made tables whose right answers are worked out here."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.analysis import composite

from helpers.present import display
from helpers.config import Paths
from helpers.analysis.indicators import CITY, Inputs, compute, load_config, missed_monitoring_list

CFG = load_config()
Q = "2023Q2"
QS8 = ["2021Q3", "2021Q4", "2022Q1", "2022Q2", "2022Q3", "2022Q4", "2023Q1", "2023Q2"]


def hh(hid, q, county="通江县", village="太平场村", htype="一般农户", mtype=None, elim=None, elim_date=None, size=2.0,
       pc=3000.0, emp="无", workers=np.nan):
    return dict(household_id=hid, quarter=q, county=county, village=village, household_type=htype, monitor_type=mtype,
                risk_eliminated=elim, risk_eliminated_date=pd.Timestamp(elim_date) if elim_date else pd.NaT,
                household_size=size, income_per_capita=pc, employment_support=emp, workers=workers)


def inputs(rows, projects=None, problems=None, log=None):
    hq = pd.DataFrame(rows)
    hq["risk_eliminated"] = hq["risk_eliminated"].astype("boolean")
    proj = pd.DataFrame(projects or [], columns=["quarter", "project_id", "county", "project_type", "fund_source",
                                                 "funds_arrived", "spent", "households_reached", "persons_reached",
                                                 "income_increase", "status"])
    prob = pd.DataFrame(problems or [], columns=["quarter", "problem_id", "county", "source", "fix_status"])
    if log is None:
        log = pd.DataFrame([dict(quarter=Q, county=c, sheet=s, missing_sheet=False)
                            for c in ("通江县", "平昌县") for s in ("项目资金", "问题整改")])
    return Inputs(hq, proj, prob, log)


def value(t, key, county="通江县", category=""):
    r = t[(t["indicator"] == key) & (t["county"] == county) & (t["category"] == category)]
    assert len(r) == 1, (key, county, category)
    return r.iloc[0]


def test_monitoring_counts_new_entrants_and_elimination():
    rows = [hh("a", "2023Q1"), hh("b", "2023Q1", htype="监测户", mtype="边缘易致贫户", elim=False),
            hh("a", Q, htype="监测户", mtype="突发严重困难户", elim=False, size=3.0),                 # new this quarter
            hh("b", Q, htype="监测户", mtype="边缘易致贫户", elim=False, size=4.0),
            hh("c", Q, htype="监测户", mtype="边缘易致贫户", elim=True, elim_date="2023-05-10"),     # eliminated in Q2
            hh("d", Q, county="平昌县", htype="监测户", mtype="脱贫不稳定户", elim=True, elim_date="2022-11-01")]
    t = compute(inputs(rows), Q, CFG, ["通江县", "平昌县"])
    assert value(t, "monitored_households")["value"] == 2
    assert value(t, "monitored_persons")["value"] == 7
    assert value(t, "risk_eliminated")["value"] == 1
    assert value(t, "eliminated_this_quarter")["value"] == 1
    r = value(t, "elimination_rate")
    assert r["value"] == pytest.approx(1 / 3) and (r["numerator"], r["denominator"]) == (1, 3)
    assert value(t, "new_monitored")["value"] == 2            # a and c were never monitored before
    assert value(t, "monitored_households", category="边缘易致贫户")["value"] == 1
    city = value(t, "elimination_rate", CITY)
    assert city["value"] == pytest.approx(2 / 4)              # from summed counts, not an average of rates
    assert value(t, "eliminated_this_quarter", "平昌县")["value"] == 0
    first = compute(inputs(rows), "2023Q1", CFG, ["通江县"])
    assert value(first, "new_monitored")["status"] == "unknown"


def test_missed_monitoring_uses_four_quarters_against_the_years_line(tmp_path):
    four = ["2022Q3", "2022Q4", "2023Q1", Q]
    rows = [hh("poor", q, pc=1000.0) for q in four]                                   # 4,000 < 7,100: missed
    rows += [hh("rich", q, pc=3000.0) for q in four]                                  # 12,000: fine
    rows += [hh("short", q, pc=500.0) for q in four[1:]]                              # 3 quarters: unknown
    rows += [hh("mon", q, htype="监测户", mtype="边缘易致贫户", elim=False, pc=1000.0) for q in four]   # monitored
    rows += [hh("elim", q, htype="监测户", mtype="边缘易致贫户", elim=True, pc=1500.0) for q in four]  # eliminated, below
    t = compute(inputs(rows), Q, CFG, ["通江县"])
    assert value(t, "missed_monitoring")["value"] == 2         # poor, and elim (eliminated households are not monitored)
    assert not value(t, "missed_monitoring")["met"]
    rate = value(t, "missed_monitoring_rate")
    assert (rate["numerator"], rate["denominator"]) == (2, 4)  # 'short' is unknown, not below
    assert value(t, "eliminated_below_line")["value"] == 1
    assert value(t, "income_unknown")["value"] == 1
    # the list with household codes goes to private/<quarter>/ only
    paths = Paths.make(private=tmp_path / "private", processed=tmp_path / "p", reports=tmp_path / "r")
    (tmp_path / "private" / Q).mkdir(parents=True)
    pd.DataFrame({"household_id": ["poor", "elim"], "户编码": ["511921000000000001", "511921000000000002"]}).to_parquet(
        tmp_path / "private" / Q / "household_codes.parquet")
    out = missed_monitoring_list(inputs(rows), Q, CFG, paths)
    listed = pd.read_csv(out, dtype=str)
    assert out.parent == tmp_path / "private" / Q
    assert set(listed["户编码"]) == {"511921000000000001", "511921000000000002"}
    # a year without a monitoring line: unknown, never "below"
    cfg = {**CFG, "monitoring_line": {2021: 6000}}
    assert value(compute(inputs(rows), Q, cfg, ["通江县"]), "missed_monitoring")["status"] == "unknown"


def test_two_income_growth_rates_with_intervals():
    rows = []
    for v in ("太平场村", "杨柏村"):
        for k in range(5):                       # 10 households of each type: enough to judge a rate (10 or more)
            for i, q in enumerate(QS8):
                after = i >= 4
                rows.append(hh(f"p-{v}-{k}", q, village=v, htype="脱贫户", pc=1100.0 if after else 1000.0))
                rows.append(hh(f"g-{v}-{k}", q, village=v, pc=2100.0 if after else 2000.0))
    t = compute(inputs(rows), Q, CFG, ["通江县"])
    a, g, gap = (value(t, k) for k in ("alleviated_income_growth", "general_income_growth", "income_growth_gap"))
    assert a["value"] == pytest.approx(0.10) and g["value"] == pytest.approx(0.05)
    assert gap["value"] == pytest.approx(0.05) and gap["met"]
    few = compute(inputs([r for r in rows if r["household_id"].endswith(("-0", "-1"))]), Q, CFG, ["通江县"])
    assert pd.isna(value(few, "alleviated_income_growth")["met"])          # 4 households: too few to judge
    assert a["threshold"] == pytest.approx(0.077) and a["met"]            # faster than the official rural growth
    assert a["ci_low"] == pytest.approx(0.10) and a["ci_high"] == pytest.approx(0.10)   # every village grew 10%
    short = compute(inputs([r for r in rows if r["quarter"] >= "2022Q1"]), Q, CFG, ["通江县"])
    assert value(short, "alleviated_income_growth")["status"] == "unknown"


def test_income_growth_interval_reflects_differences_between_villages():
    rows = []
    for v, growth in (("太平场村", 0.0), ("杨柏村", 0.2), ("三元村", 0.1)):
        for i, q in enumerate(QS8):
            rows.append(hh(f"p-{v}", q, village=v, htype="脱贫户", pc=1000.0 * (1 + growth * (i >= 4))))
            rows.append(hh(f"g-{v}", q, village=v, pc=1000.0 * (1 + 0.05 * (i >= 4))))
    a = value(compute(inputs(rows), Q, CFG, ["通江县"]), "alleviated_income_growth")
    assert a["value"] == pytest.approx(0.1)
    assert a["ci_low"] < 0.1 < a["ci_high"] and a["ci_low"] >= 0 and a["ci_high"] <= 0.2


def test_employment_against_the_same_quarter_last_year_and_no_data():
    rows = [hh("a", "2022Q2", emp="外出务工", workers=5.0), hh("b", "2022Q2", emp="公益性岗位", workers=3.0),
            hh("a", Q, emp="外出务工", workers=6.0), hh("b", Q, emp="公益性岗位", workers=4.0),
            hh("x", "2022Q2", county="平昌县", workers=np.nan), hh("x", Q, county="平昌县", workers=np.nan)]
    t = compute(inputs(rows), Q, CFG, ["通江县", "平昌县"])
    assert value(t, "workers")["value"] == 10
    assert value(t, "workers_change")["value"] == pytest.approx(10 / 8 - 1)
    assert value(t, "workers", category="外出务工")["value"] == 6
    assert value(t, "workers_change", category="公益性岗位")["value"] == pytest.approx(1 / 3)
    assert value(t, "workers", "平昌县")["status"] == "no_data"
    assert value(t, "workers", CITY)["value"] == 10


def test_funds_progress_industry_share_projects_and_reach():
    P = lambda pid, t, src, arr, sp, status, hh_, inc: dict(  # noqa: E731
        quarter=Q, project_id=pid, county="通江县", project_type=t, fund_source=src, funds_arrived=arr, spent=sp,
        households_reached=hh_, persons_reached=2 * hh_, income_increase=inc, status=status)
    projects = [P("1", "产业发展", "中央衔接资金", 1_000_000, 600_000, "在建", 100, 120_000),
                P("2", "基础设施", "省级衔接资金", 1_000_000, 200_000, "在建", 50, 0),
                P("3", "产业发展", "其他", 500_000, 0, "未开工", 10, 0)]
    log = pd.DataFrame([dict(quarter=Q, county="通江县", sheet="项目资金", missing_sheet=False),
                        dict(quarter=Q, county="平昌县", sheet="项目资金", missing_sheet=True)])
    t = compute(inputs([hh("a", Q), hh("b", Q, county="平昌县")], projects, log=log), Q, CFG, ["通江县", "平昌县"])
    sp = value(t, "spending_progress")
    # 衔接资金支出进度 counts the linking funds only (中央/省级衔接资金): project 3 ("其他") is left out
    assert sp["value"] == pytest.approx(800_000 / 2_000_000) and sp["threshold"] == 0.5 and not sp["met"]
    assert (sp["numerator"], sp["denominator"]) == (800_000, 2_000_000)
    share = value(t, "industry_share")
    assert share["value"] == pytest.approx(0.5) and share["threshold"] == 0.6 and not share["met"]
    assert value(t, "projects_not_started")["value"] == 1
    assert value(t, "projects_behind")["value"] == 1          # project 2: 20% spent, milestone 50%
    assert value(t, "households_reached", category="产业发展")["value"] == 110
    assert value(t, "persons_reached", category="基础设施")["value"] == 100
    assert value(t, "income_per_wan", category="产业发展")["value"] == pytest.approx(120_000 / 60)
    assert value(t, "spending_progress", "平昌县")["status"] == "no_data"
    assert value(t, "spending_progress", CITY)["value"] == pytest.approx(0.4)


def test_spending_progress_leaves_out_projects_of_other_sources():
    """A project paid from other money (东西部协作资金, 其他) can neither help nor hurt the linking funds' progress."""
    P = lambda pid, src, arr, sp: dict(quarter=Q, project_id=pid, county="通江县", project_type="产业发展",  # noqa: E731
                                       fund_source=src, funds_arrived=arr, spent=sp, households_reached=1,
                                       persons_reached=1, income_increase=0, status="在建")
    projects = [P("1", "中央衔接资金", 1_000_000, 450_000), P("2", "省级衔接资金", 1_000_000, 500_000),
                P("3", "东西部协作资金", 1_000_000, 1_000_000)]
    t = compute(inputs([hh("a", Q)], projects), Q, CFG, ["通江县", "平昌县"])
    sp = value(t, "spending_progress")
    assert sp["value"] == pytest.approx(0.475) and not sp["met"]        # with project 3 it would be 65%, met
    assert not value(t, "spending_progress", CITY)["met"]


def test_the_citys_workers_change_compares_the_same_counties():
    """A county that did not send 务工人数 last year is in the city's total but not in the city's change."""
    rows = [hh("a", "2022Q2", workers=10.0), hh("a", Q, workers=11.0),                      # 通江县: both quarters
            hh("b", "2022Q2", county="平昌县", workers=np.nan), hh("b", Q, county="平昌县", workers=50.0)]
    t = compute(inputs(rows), Q, CFG, ["通江县", "平昌县"])
    assert value(t, "workers", CITY)["value"] == 61
    ch = value(t, "workers_change", CITY)
    assert ch["value"] == pytest.approx(0.1) and (ch["numerator"], ch["denominator"]) == (11, 10)
    from helpers.present import indicators as ir
    text = ir.describe_workers(t, Q, "zh")
    assert "通江县、平昌县" in text and "同比变化只比较" in text and "通江县" in text.split("同比变化只比较")[1]


def test_problems_found_fixed_and_rate_by_source():
    problems = [dict(quarter=Q, problem_id=str(i), county="通江县", source=s, fix_status=f) for i, (s, f) in enumerate(
        [("审计反馈", "已整改"), ("审计反馈", "整改中"), ("集中排查", "已整改"), ("集中排查", "已整改")])]
    t = compute(inputs([hh("a", Q)], problems=problems), Q, CFG, ["通江县", "平昌县"])
    assert value(t, "problems_found")["value"] == 4 and value(t, "problems_fixed")["value"] == 3
    assert value(t, "fixing_rate")["value"] == pytest.approx(0.75)
    assert value(t, "fixing_rate", category="审计反馈")["value"] == pytest.approx(0.5)
    assert value(t, "fixing_rate", category="国省考核")["status"] == "unknown"     # nothing found: no rate
    assert value(t, "problems_found", "平昌县")["value"] == 0


@pytest.mark.parametrize("kind,v,den,status,shown", [
    ("count", 3, np.nan, "ok", "<5"), ("count", 0, np.nan, "ok", "<5"), ("count", 5, np.nan, "ok", "5"),
    ("count", 2663, np.nan, "ok", "2,663"), ("rate", 0.5, 9, "ok", "—"), ("rate", 0.5, 10, "ok", "50.0%"),
    ("rate", np.nan, np.nan, "unknown", "未知"), ("count", np.nan, np.nan, "no_data", "无数据"),
    ("ratio", 2000.4, 60, "ok", "2,000"),
])
def test_disclosure_rule(kind, v, den, status, shown):
    assert display.disclose_value(kind, v, den, status, "zh") == shown


def test_tables_for_people_have_no_small_counts_or_household_rows():
    rows = [hh(f"h{i}", Q, htype="监测户", mtype="边缘易致贫户", elim=i < 2) for i in range(6)]
    t = compute(inputs(rows), Q, CFG, ["通江县"])
    table = display.indicator_table(t, ["monitored_households", "risk_eliminated", "elimination_rate"], Q)
    assert table.loc["监测户数（未消除风险）（户）", "通江县"] == "<5"         # 4 households
    assert table.loc["风险消除率（%）", "通江县"] == "—"                       # denominator 6 < 10
    assert not any(str(x).startswith("h") for x in table.to_numpy().ravel())


def _indicator_rows(values: dict):
    rows = []
    for county, per in values.items():
        for key, v in per.items():
            rows.append(dict(quarter=Q, county=county, indicator=key, category="", value=v,
                             status="ok" if not np.isnan(v) else "unknown"))
    return pd.DataFrame(rows)


def test_composite_score_rank_and_stability():
    spec = {"indicators": [{"key": "spending_progress", "direction": 1, "weight": 2},
                           {"key": "missed_monitoring_rate", "direction": -1, "weight": 1}],
            "stability": {"draws": 500, "low": 0.8, "high": 1.2, "seed": 1}}
    t = _indicator_rows({"巴州区": {"spending_progress": 0.6, "missed_monitoring_rate": 0.00},
                         "恩阳区": {"spending_progress": 0.4, "missed_monitoring_rate": 0.01},
                         "通江县": {"spending_progress": 0.5, "missed_monitoring_rate": np.nan}})
    r = composite.ranking(t, Q, spec).set_index("county")
    # normalized: progress 1, 0, 0.5; missed (lower is better) 1, 0, missing
    assert r.loc["巴州区", "composite"] == pytest.approx(1.0)
    assert r.loc["恩阳区", "composite"] == pytest.approx(0.0)
    assert r.loc["通江县", "composite"] == pytest.approx(0.5)          # weights renormalized over what it has
    assert r.loc["通江县", "indicators_missing"] == 1
    assert list(r["rank"].sort_values().index) == ["巴州区", "通江县", "恩阳区"]
    assert (r["rank_stability"] == 1.0).all() and (r["rank_best"] == r["rank_worst"]).all()


def test_rank_stability_drops_when_the_weights_decide():
    spec = {"indicators": [{"key": "spending_progress", "direction": 1, "weight": 1},
                           {"key": "fixing_rate", "direction": 1, "weight": 1}],
            "stability": {"draws": 1000, "low": 0.8, "high": 1.2, "seed": 1}}
    t = _indicator_rows({"巴州区": {"spending_progress": 1.0, "fixing_rate": 0.0},
                         "恩阳区": {"spending_progress": 0.0, "fixing_rate": 1.0},
                         "通江县": {"spending_progress": 0.0, "fixing_rate": 0.0}})
    r = composite.ranking(t, Q, spec).set_index("county")
    assert 0.3 < r.loc["巴州区", "rank_stability"] < 0.7                  # a coin flip between the two
    assert r.loc["通江县", "rank_stability"] == 1.0


def test_composite_spec_is_checked(tmp_path):
    bad = tmp_path / "c.yaml"
    bad.write_text("indicators:\n  - {key: happiness, direction: 1, weight: 1}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unknown indicator"):
        composite.load_spec(bad)


def test_trend_reuses_cached_quarters_and_recomputes_when_anything_changes(sample, monkeypatch):
    from helpers.analysis import indicators

    paths = sample["paths"]
    inp = Inputs.load(paths)
    first = indicators.compute_trend(inp, "2022Q2", CFG, cache=paths.processed)
    calls = []
    real = indicators.compute
    monkeypatch.setattr(indicators, "compute", lambda *a, **k: calls.append(a[1]) or real(*a, **k))
    again = indicators.compute_trend(inp, "2022Q2", CFG, cache=paths.processed)
    assert calls == []                                      # every quarter from the cache
    pd.testing.assert_frame_equal(first, again)
    changed = {**CFG, "spending_milestones": {**CFG["spending_milestones"], 2: 0.6}}
    indicators.compute_trend(inp, "2022Q2", changed, cache=paths.processed)
    assert len(calls) == 6                                  # a changed threshold recomputes


def test_report_headline_keeps_value_and_verdict_apart_in_both_languages(sample):
    from helpers.present import report

    t = compute(Inputs.load(sample["paths"]), "2022Q2", CFG)
    for lang in ("zh", "en"):
        h = report.headline(t, "2022Q2", lang)
        assert len(h.columns) == 4 and len(set(h.columns)) == 4, h.columns
    # the standard as the rule applies it (the 04 table said “8%” for > 7.7% and “0” for a gap > 0 points)
    from helpers.analysis.indicators import ALL, CITY

    hand = pd.DataFrame([dict(quarter="2023Q2", category=ALL, county=CITY, indicator=k, value=v, denominator=500.0,
                              status="ok", threshold=thr, met=v > thr)
                         for k, v, thr in (("alleviated_income_growth", 0.095, 0.077),
                                           ("income_growth_gap", 0.033, 0.0))])
    standards = report.headline(hand, "2023Q2", "zh").iloc[:, 1].tolist()
    assert standards == ["> 7.7%", "> 0个百分点"], standards


def test_categorical_inputs_give_the_same_indicators_as_text(sample):
    """Inputs.load reads codes, places and types as categoricals (for speed at city scale):
    every indicator must come out as it does from the same table read as text."""
    paths = sample["paths"]
    cat = Inputs.load(paths)
    assert cat.hq["household_id"].dtype == "category"
    text = Inputs(pd.read_parquet(paths.processed / "household_quarters.parquet", columns=list(cat.hq.columns)),
                  cat.projects, cat.rectifications, cat.log)
    assert text.hq["household_id"].dtype != "category"
    for q in ("2021Q4", "2022Q2"):
        pd.testing.assert_frame_equal(compute(cat, q, CFG), compute(text, q, CFG))


def test_differences_of_rates_are_percentage_points_and_thresholds_keep_their_precision():
    assert display.disclose_value("pp", 0.033, 100, "ok", "zh") == "3.3个百分点"
    assert display.disclose_value("pp", 0.033, 100, "ok", "en") == "3.3 pp"
    assert display.disclose_value("pp", 0.033, 5, "ok", "zh") == "—"
    assert display.INDICATORS["income_growth_gap"].kind == "pp"
    assert display.format_threshold("alleviated_income_growth", 0.077) == "> 7.7%"       # not “8%”
    assert display.format_threshold("spending_progress", 0.5) == "≥ 50%"
    assert display.format_threshold("industry_share", 0.6) == "≥ 60%"
    assert display.format_threshold("income_growth_gap", 0.0) == "> 0个百分点"
    assert display.format_threshold("projects_behind", 0.5) == "项目支出进度 < 50%"      # a milestone, not a count
    assert display.format_threshold("missed_monitoring", 0) == "= 0"
    assert display.format_threshold("workers", np.nan) == "—"
    rows = []
    for v in ("太平场村", "杨柏村"):
        for i, q in enumerate(QS8):
            rows += [hh(f"p-{v}-{k}", q, village=v, htype="脱贫户", pc=1076.0 if i >= 4 else 1000.0) for k in range(6)]
            rows += [hh(f"g-{v}-{k}", q, village=v, pc=1050.0 if i >= 4 else 1000.0) for k in range(6)]
    t = compute(inputs(rows), Q, CFG, ["通江县"])
    table = display.indicator_table(t, ["alleviated_income_growth", "income_growth_gap"], Q)
    assert table.loc["脱贫户人均纯收入增速（%）", "通江县"] == "7.6%"
    assert table.loc["脱贫户人均纯收入增速（%）", "标准"] == "> 7.7%"                    # 7.6% 未达标 can be followed
    assert table.loc["两个收入增速差（脱贫户 − 一般农户）（个百分点）", "通江县"] == "2.6个百分点"
    assert not value(t, "alleviated_income_growth")["met"]


def test_tables_by_category_show_a_dash_with_its_reason_never_nan():
    P = lambda pid, county, t: dict(quarter=Q, project_id=pid, county=county, project_type=t,  # noqa: E731
                                    fund_source="中央衔接资金", funds_arrived=100_000, spent=50_000,
                                    households_reached=20, persons_reached=40, income_increase=10_000, status="在建")
    projects = [P("1", "通江县", "产业发展"), P("2", "平昌县", "产业发展"), P("3", "平昌县", "乡村建设")]
    t = compute(inputs([hh("a", Q), hh("b", Q, county="平昌县")], projects), Q, CFG, ["通江县", "平昌县"])
    for key in ("households_reached", "income_per_wan"):
        table = display.by_category(t, key, Q)
        assert not table.isna().to_numpy().any() and "NaN" not in table.to_html()
        assert table.loc["乡村建设", "通江县"] == "—"
        assert "没有这类项目" in display.category_note(t, key, Q)
    assert display.category_note(t, "households_reached", Q, "en").startswith("Note: “—” means the county has no")
    full = display.by_category(t, "households_reached", Q)
    assert display.category_note(t[t["category"] != "乡村建设"], "households_reached", Q) == "" and "—" in full.to_numpy()


def test_no_employment_support_is_named_not_shown_as_none():
    rows = [hh("a", "2022Q2", emp="无", workers=2.0), hh("a", Q, emp="无", workers=3.0)]
    t = compute(inputs(rows), Q, CFG, ["通江县"])
    table = display.by_category(t, "workers", Q)
    assert "无" not in table.index and "未享受就业帮扶" in table.index
    assert "no employment support" in display.by_category(t, "workers", Q, "en").index


def _rank(stability):
    return pd.DataFrame({"county": ["南江县", "恩阳区", "巴州区"], "composite": [0.8, 0.66, 0.63], "rank": [1, 2, 3],
                         "rank_stability": stability, "rank_best": [1, 2, 2], "rank_worst": [1, 3, 3]})


def test_ranks_are_called_insensitive_to_the_weights_only_by_the_named_predicate():
    from helpers.present import indicators as ir

    spec = composite.load_spec()
    share = composite.stability_settings(spec)["stable_share"]
    swapping = _rank([1.0, 0.89, 0.89])                 # two counties swap places in 11% of the draws
    assert not composite.ranks_stable(swapping, share)
    text = ir.describe_ranking(swapping, "zh", spec)
    assert "不敏感" not in text and "恩阳区名次范围 2–3" in text and "89%" in text
    assert "Ranks move with the weights" in ir.describe_ranking(swapping, "en", spec)
    steady = _rank([1.0, 1.0, 1.0]).assign(rank_best=[1, 2, 3], rank_worst=[1, 2, 3])
    assert composite.ranks_stable(steady, share)
    assert "名次对权重不敏感" in ir.describe_ranking(steady, "zh", spec)
    assert "Ranks do not depend on the weights" in ir.describe_ranking(steady, "en", spec)
    assert composite.ranks_stable(swapping, 0.85) and not composite.ranks_stable(swapping, 0.9)   # the threshold decides


def test_the_stability_caption_comes_from_the_config():
    from helpers.present import indicators as ir

    spec = {**composite.load_spec(), "stability": {"draws": 250, "low": 0.9, "high": 1.1, "seed": 3}}
    assert "0.9–1.1" in ir.stability_method(spec, "zh") and "250" in ir.stability_method(spec, "zh")
    assert "[0.9, 1.1]" in ir.stability_method(spec, "en") and "250 draws" in ir.stability_method(spec, "en")
    default = composite.stability_settings(composite.load_spec())
    assert f"{default['draws']:,}" in ir.stability_method(None, "zh")


def test_stable_share_is_checked(tmp_path):
    bad = tmp_path / "c.yaml"
    bad.write_text("indicators:\n  - {key: fixing_rate, direction: 1, weight: 1}\nstability: {stable_share: 1.5}\n",
                   encoding="utf-8")
    with pytest.raises(ValueError, match="stable_share"):
        composite.load_spec(bad)


def test_a_rate_on_too_few_households_is_neither_judged_nor_ranked():
    spec = {"indicators": [{"key": "spending_progress", "direction": 1, "weight": 1},
                           {"key": "alleviated_income_growth", "direction": 1, "weight": 1}],
            "stability": {"draws": 50, "low": 0.8, "high": 1.2, "seed": 1}}
    t = _indicator_rows({"巴州区": {"spending_progress": 0.6, "alleviated_income_growth": 0.05},
                         "恩阳区": {"spending_progress": 0.4, "alleviated_income_growth": 0.30},
                         "通江县": {"spending_progress": 0.5, "alleviated_income_growth": 0.10}})
    t["denominator"] = np.where((t["county"] == "恩阳区") & (t["indicator"] == "alleviated_income_growth"), 7.0, 100.0)
    r = composite.ranking(t, Q, spec).set_index("county")
    assert r.loc["恩阳区", "indicators_missing"] == 1 and r.loc["巴州区", "indicators_missing"] == 0
    assert r.loc["恩阳区", "composite"] == pytest.approx(0.0)     # ranked on spending alone, not on 30% growth of 7


def test_a_share_of_draws_never_prints_a_certainty_the_draws_do_not_have():
    """995 of 1,000 draws is “99.5%”, not “100%” beside a rank range of 3–4 (seen in 02 and 04); whole draws stay whole."""
    assert display.share_shown(0.995) == "99.5%"
    assert display.share_shown(0.9996) == "99.96%"
    assert display.share_shown(1.0) == "100%"
    assert display.share_shown(0.004) == "0.4%"
    assert display.share_shown(0.0) == "0%"
    assert display.share_shown(0.87) == "87%"
    rank = pd.DataFrame({"county": ["平昌县", "恩阳区"], "composite": [0.48, 0.44], "rank": [3, 4], "rank_stability": [0.995, 1.0],
                         "rank_best": [3, 3], "rank_worst": [4, 4], "indicators_missing": [0, 0]})
    shown = display.ranking_table(rank).iloc[:, 2].tolist()
    assert shown == ["99.5%", "100%"]
