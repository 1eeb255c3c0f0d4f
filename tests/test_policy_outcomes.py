"""Effects in the terms of the policy (issue 13, part 3): the below-the-monitoring-line outcome (each year's own
line, missing with missing income, a clear error for a year without a line), its effect recovered through intake
on a simulated sample with a known effect and read in percentage points, changes-in-changes quantile effects
recovered where they are known, and the simulator's default draw unchanged."""
from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers.analysis import distribution as dist
from helpers.analysis import program_effects as pe
from helpers.analysis.construct import OUTCOMES, MonitoringLineError, below_line, build_panel, monitoring_lines
from helpers.analysis.effects import EstimationError

QS = ["2022Q3", "2022Q4", "2023Q1", "2023Q2"]


def _config(tmp_path: Path, lines: dict) -> Path:
    path = tmp_path / "indicators.yaml"
    path.write_text("monitoring_line:\n" + "".join(f"  {y}: {v}\n" for y, v in lines.items()), encoding="utf-8")
    return path


def _row(hid, q, income, **over):
    r = dict(household_id=hid, quarter=q, county="通江县", village="太平场村", household_type="脱贫户",
             relocated=False, household_size=2.0, income_wage=1000.0, income_business=500.0,
             income_per_capita=income, industry_start=None, industry_subsidy=0.0, employment_start=None)
    r.update(over)
    return r


def _hq(rows):
    frame = pd.DataFrame(rows)
    for c in ("industry_start", "employment_start"):
        frame[c] = frame[c].astype("string")
    return frame


# ---- (a) the outcome ------------------------------------------------------------------------------------------
def test_below_line_uses_each_years_own_line_and_is_missing_with_missing_income(tmp_path):
    config = _config(tmp_path, {2022: 6600, 2023: 7100})
    # 1649 x 4 = 6596 < 6600; 1700 x 4 = 6800: above 2022's line, below 2023's; 1775 x 4 = 7100 is not below 7100
    rows = [_row("a", "2022Q3", 1649.0), _row("a", "2022Q4", 1700.0), _row("a", "2023Q1", 1700.0),
            _row("a", "2023Q2", 1775.0)]
    rows += [_row("b", q, np.nan if q == "2023Q1" else 2000.0) for q in QS]
    p = build_panel(hq=_hq(rows), indicators_config=config)
    d = p.data.assign(household_id=p.data["household_id"].astype(str), quarter=p.data["quarter"].astype(str))
    got = d.set_index(["household_id", "quarter"])["below_line"]
    assert got["a"].tolist() == [1.0, 0.0, 1.0, 0.0]
    assert np.isnan(got[("b", "2023Q1")]) and got["b"].drop("2023Q1").tolist() == [0.0, 0.0, 0.0]
    assert "below_line" in OUTCOMES and p.missing_lines == ()
    # the function itself, on plain arrays
    np.testing.assert_array_equal(below_line([1649, 1700, 1700, np.nan], ["2022Q1", "2022Q2", "2023Q4", "2023Q1"],
                                             {2022: 6600.0, 2023: 7100.0}), [1.0, 0.0, 1.0, np.nan])
    lines, source = monitoring_lines()                      # the project's config reads as years → lines
    assert lines and all(isinstance(y, int) and v > 0 for y, v in lines.items()) and source.endswith("indicators.yaml")


def test_a_year_without_a_line_is_a_clear_error_naming_the_year_and_the_file(tmp_path):
    config = _config(tmp_path, {2022: 6600})
    rows = [_row("a", q, 1500.0, industry_start="2023Q1" if q >= "2023Q1" else None) for q in QS]
    rows += [_row("b", q, 1500.0) for q in QS]
    with pytest.raises(MonitoringLineError, match=r"no monitoring line for 2023 in .*indicators\.yaml"):
        below_line([1500.0], ["2023Q1"], {2022: 6600.0}, str(config))
    p = build_panel(hq=_hq(rows), indicators_config=config)          # the other outcomes stay usable
    assert p.missing_lines == (2023,)
    assert p.sample("any", "income_pc")["income_pc"].notna().all()
    with pytest.raises(MonitoringLineError, match=r"2023 in .*indicators\.yaml"):
        p.sample("any", "below_line")
    with pytest.raises(ValueError, match="2023"):
        pe.estimate(p, "any", "below_line", cluster=None)


# ---- (b) its effect, through intake, against the simulator's truth ------------------------------------------
@pytest.mark.slow      # simulated, through intake, to the estimate
def test_the_below_line_effect_is_recovered_and_reads_in_percentage_points(tmp_path):
    from helpers.config import Paths
    from helpers.intake.assemble import run_intake
    from helpers.present import effects as er
    from helpers.sim.simulate import simulate

    truth = simulate(tmp_path / "raw", tmp_path / "truth", households=600, seed=7, first="2021Q1", last="2022Q2",
                     near_line_share=0.3)
    paths = Paths.make(raw=tmp_path / "raw", processed=tmp_path / "processed", private=tmp_path / "private",
                       corrections=tmp_path / "corrections.csv")
    run_intake(None, paths)
    e = pd.read_csv(tmp_path / "truth" / "effects.csv")
    np.testing.assert_allclose(e["att_below"], truth.effects["att_below"], rtol=1e-12)
    e = e[e["treatment"] == "any"]
    true = (e["att_below"] * e["n_households"]).sum() / e["n_households"].sum()
    assert true < -0.03                                    # support keeps a sizeable share above the line

    panel = build_panel(paths)
    est = pe.estimate(panel, "any", "below_line", "not_yet", None, "village")
    cs = est.cs.aggregate("simple").loc["overall"]
    assert abs(cs["att"] - true) < 2.5 * cs["se"], (cs["att"], true, cs["se"])
    r = pe.summarize(est, "2022Q2", reps=199)
    assert set(r.frame["outcome"]) == {"below_line"} and r.event_study().index.min() < 0

    att = r.table.iloc[0]["att"]
    zh, en = er.conclusion(r, "zh"), er.conclusion(r, "en")
    word = "低" if att < 0 else "高"
    assert f"平均{word} **{100 * abs(att):.1f} 个百分点**" in zh and "元" not in zh
    assert f"**{100 * abs(att):.1f} percentage points** {'lower' if att < 0 else 'higher'}" in en
    assert "yuan" not in en
    table = er.show_comparison(r.table, "zh")
    assert table["效应（个百分点）"].iloc[0] == pytest.approx(round(100 * att, 1))
    assert "个百分点" in er.trend_sentence(r.trend, "below_line", "zh")
    assert er._v(0.0512, "income_pc") == "0" and er._v(-0.0512, "below_line") == "-5.1"   # others unchanged


# ---- (c) changes-in-changes ---------------------------------------------------------------------------------
def _cic_panel(n: int = 6000, seed: int = 3) -> tuple[pd.DataFrame, dict]:
    """Staggered starts (quarters 3, 4, 5, never) over six quarters; the untreated outcome a strictly increasing,
    period-specific function of a level whose distribution within each group does not change (CiC's model), with
    lower levels taking up support earlier; the effect largest at the bottom (Y1 = 600 + 0.85 Y0, so the effect
    600 - 0.15 Y0 falls with Y0). Returns the data and the true quantile effects on the treated."""
    rng = np.random.default_rng(seed)
    group = rng.choice([3, 4, 5, 0], size=n, p=[0.2, 0.2, 0.2, 0.4])
    a = rng.normal(np.select([group == 3, group == 4, group == 5], [-0.4, -0.2, 0.0], 0.3), 0.6)
    village = rng.integers(0, 80, n)
    rows, y1_all, y0_all = [], [], []
    for t in range(1, 7):
        u = a + rng.normal(0, 0.4, n)
        y0 = np.exp(7.6 + 0.04 * t + (0.5 + 0.03 * t) * u)        # period-specific, increasing in u
        treated = (group > 0) & (t >= group)
        y1 = 600 + 0.85 * y0
        y = np.where(treated, y1, y0)
        rows.append(pd.DataFrame({"household_id": np.arange(n), "time": t, "cohort": group, "village": village,
                                  "income_pc": y}))
        y1_all.append(y1[treated])
        y0_all.append(y0[treated])
    y1, y0 = np.concatenate(y1_all), np.concatenate(y0_all)
    true = {q: np.quantile(y1, q, method="inverted_cdf") - np.quantile(y0, q, method="inverted_cdf")
            for q in dist.QUANTILES}
    return pd.concat(rows, ignore_index=True), true


def test_changes_in_changes_recovers_quantile_effects_that_differ_along_the_distribution():
    data, true = _cic_panel()
    assert true[0.1] > true[0.25] > true[0.5] > 0                  # larger at the bottom
    out = dist.changes_in_changes(data, "income_pc", "household_id", "time", "cohort", cluster="village", reps=99)
    assert list(out["quantile"]) == list(dist.QUANTILES) and (out["reps"] == 99).all()
    assert out["cells"].iloc[0] == 4 + 3 + 2 and out["treated_obs"].iloc[0] == (data["time"] >= data["cohort"]).sum() \
        - (data["cohort"] == 0).sum()
    for r in out.itertuples():
        assert abs(r.qtt - true[r.quantile]) < 2.5 * r.se, (r.quantile, r.qtt, true[r.quantile], r.se)
        assert r.ci_low < true[r.quantile] < r.ci_high
    assert out["qtt"].iloc[0] > out["qtt"].iloc[2]               # the estimate sees the gradient too
    normal = dist.changes_in_changes(data, "income_pc", "household_id", "time", "cohort", cluster="village", reps=99,
                                     interval="normal")
    np.testing.assert_allclose(normal["ci_high"] - normal["qtt"], 1.959964 * normal["se"], rtol=1e-5)
    # invariant to a monotone transformation: the log outcome's percentiles are the logs of the level's
    logged = dist.changes_in_changes(data.assign(income_pc=np.log(data["income_pc"])), "income_pc", "household_id",
                                     "time", "cohort", reps=0)
    np.testing.assert_allclose(logged["counterfactual"], np.log(out["counterfactual"]), rtol=1e-12)
    assert logged["se"].isna().all() and (logged["reps"] == 0).all()


def test_one_cell_is_athey_imbens_with_statsmodels_ecdf_and_inverted_cdf_quantiles():
    from statsmodels.distributions.empirical_distribution import ECDF

    rng = np.random.default_rng(11)
    n = 400
    group = rng.choice([2, 0], size=n, p=[0.4, 0.6])
    y_before = rng.lognormal(7.5, 0.5, n)
    y_after = y_before * rng.lognormal(0.05, 0.1, n) + np.where(group == 2, 200.0, 0.0)
    data = pd.DataFrame({"household_id": np.r_[np.arange(n), np.arange(n)], "time": np.r_[np.ones(n), 2 * np.ones(n)],
                         "cohort": np.r_[group, group], "income_pc": np.r_[y_before, y_after]})
    out = dist.changes_in_changes(data, "income_pc", "household_id", "time", "cohort", quantiles=(0.1, 0.25, 0.5, 0.9),
                                  reps=0)
    c = group == 0
    u = ECDF(y_before[c])(y_before[~c])                               # F_{c,g-1}(y) for the treated base incomes
    # F^{-1}_{c,t}(u) = inf{y: F(y) >= u}; u a hair lower so that u * n a whole number is not rounded up by numpy
    cf = np.quantile(y_after[c], np.clip(u * (1 - 1e-9), 1e-12, 1), method="inverted_cdf")
    for r in out.itertuples():
        assert r.counterfactual == pytest.approx(np.quantile(cf, r.quantile, method="inverted_cdf"), rel=1e-12)
        assert r.observed == pytest.approx(np.quantile(y_after[~c], r.quantile, method="inverted_cdf"), rel=1e-12)


def test_quantile_effects_on_the_panel_return_the_tidy_frame_and_refuse_what_they_cannot_do():
    rows = []
    rng = np.random.default_rng(5)
    for h in range(120):
        start = "2023Q1" if h % 5 < 2 else None
        for q in QS:
            y = 1500 + 10 * h + rng.normal(0, 50) + (300 if start and q >= start else 0)
            rows.append(_row(f"h{h}", q, y, industry_start=start if start and q >= start else None,
                             village=f"v{h % 12}"))
    panel = build_panel(hq=_hq(rows))
    out = dist.quantile_effects(panel, "industry", reps=49)
    assert list(out.columns) == dist.COLUMNS and list(out["quantile"]) == [0.1, 0.25, 0.5]
    assert (out["program"] == "industry").all() and (out["outcome"] == "income_pc").all()
    assert (out["treated_obs"] == 96).all() and (out["clusters"] == 12).all() and (out["reps"] == 49).all()
    assert out["qtt"].between(150, 450).all()
    with pytest.raises(EstimationError, match="continuous"):
        dist.quantile_effects(panel, "any", "below_line")
    with pytest.raises(EstimationError, match="control"):
        dist.quantile_effects(panel, "any", control="later")


# ---- (d) the simulator's default draw is what it was -------------------------------------------------------
# Recorded with the simulator before it learned att_below and near_line_share (commit 54a6aeb), and recorded again
# when it became prefix-stable (per-quarter random streams, starts over a fixed horizon: workbook simulate
# --next-quarter): 80 households, 2021Q1..2021Q4, the default seed, with mess. An xlsx is hashed by its members
# without docProps/core.xml (it held the time of writing then); effects.csv by its columns of then.
BEFORE = {
    "raw/2021Q1/2021Q1_南江县_农户监测.csv": "93329ab6d924f148",
    "raw/2021Q1/2021Q1_南江县_行政村.csv": "f300390c1f5a9ff5",
    "raw/2021Q1/2021Q1_南江县_项目资金.csv": "64cb648b190fc117",
    "raw/2021Q1/2021Q1_巴州区.xlsx": "0f0a285a01ea4eb8",
    "raw/2021Q1/2021Q1_平昌县.xlsx": "e5c16997eaf20aeb",
    "raw/2021Q1/2021Q1_恩阳区.xlsx": "2362381b878f12aa",
    "raw/2021Q1/2021Q1_通江县.xlsx": "a17f3c982513cb6d",
    "raw/2021Q2/2021Q2_南江县_农户监测.csv": "4cf1195ce84d58ed",
    "raw/2021Q2/2021Q2_南江县_行政村.csv": "1ae9812bb3b0f334",
    "raw/2021Q2/2021Q2_南江县_问题整改.csv": "d84aa10bf0c8848b",
    "raw/2021Q2/2021Q2_南江县_项目资金.csv": "1324b285d7b73a42",
    "raw/2021Q2/2021Q2_巴州区.xlsx": "5272c8279d0e7973",
    "raw/2021Q2/2021Q2_平昌县.xlsx": "c60d2113f9aaa4c9",
    "raw/2021Q2/2021Q2_恩阳区.xlsx": "3ebee3e391813c90",
    "raw/2021Q2/2021Q2_通江县.xlsx": "39be7c1a223eaa33",
    "raw/2021Q3/2021Q3_南江县_农户监测.csv": "6c1e55175f72bbb5",
    "raw/2021Q3/2021Q3_南江县_行政村.csv": "92bb5ba219497b3b",
    "raw/2021Q3/2021Q3_南江县_问题整改.csv": "e54100f3ce6edaf4",
    "raw/2021Q3/2021Q3_南江县_项目资金.csv": "571f905f1dae3e2f",
    "raw/2021Q3/2021Q3_巴州区.xlsx": "416fffee7db66790",
    "raw/2021Q3/2021Q3_平昌县.xlsx": "ba87499cc71ff0c8",
    "raw/2021Q3/2021Q3_恩阳区.xlsx": "1423531b8a4eca6e",
    "raw/2021Q3/2021Q3_通江县.xlsx": "3ea0cab1b7d0d109",
    "raw/2021Q4/2021Q4_南江县_农户监测.csv": "2e6dfbcc9c025bee",
    "raw/2021Q4/2021Q4_南江县_行政村.csv": "589de692fa836511",
    "raw/2021Q4/2021Q4_南江县_问题整改.csv": "bfd72975c16eb8b9",
    "raw/2021Q4/2021Q4_南江县_项目资金.csv": "1b67bfcd4ecc8d3b",
    "raw/2021Q4/2021Q4_巴州区.xlsx": "5d59e46b500ecd8b",
    "raw/2021Q4/2021Q4_平昌县.xlsx": "37827e9ae86431ec",
    "raw/2021Q4/2021Q4_恩阳区.xlsx": "801c4705db4d078a",
    "raw/2021Q4/2021Q4_通江县.xlsx": "95f17c838ae8186e",
    "raw/SIMULATED.json": "7c1cb202993605e9",
    "truth/README.md": "c7671d8f6239ef4e",          # says what att_below is
    "truth/damaged_rows.csv": "8cd590fa0862f120",
    "truth/households.csv": "19fe766a8612ccf2",
    "truth/params.json": "5e61ba7f63949219",
    "truth/effects.csv[original columns]": "89d917d18f007b0e",
}


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    if path.suffix == ".xlsx":
        with zipfile.ZipFile(path) as z:
            for name in sorted(z.namelist()):
                if name != "docProps/core.xml":
                    h.update(name.encode())
                    h.update(z.read(name))
    else:
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def test_the_default_simulation_writes_what_it_wrote_before(tmp_path):
    from helpers.sim.simulate import simulate

    simulate(tmp_path / "raw", tmp_path / "truth", households=80, first="2021Q1", last="2021Q4")
    got = {str(p.relative_to(tmp_path)): _digest(p) for p in sorted(tmp_path.rglob("*"))
           if p.is_file() and p.name != "effects.csv"}
    effects = pd.read_csv(tmp_path / "truth" / "effects.csv")
    old = ["treatment", "cohort", "g", "event_time", "att", "att_earned", "n_households"]
    assert list(effects.columns) == [*old[:6], "att_below", "n_households"]     # one column more, nothing else
    got["truth/effects.csv[original columns]"] = hashlib.sha256(effects[old].to_csv(index=False).encode()).hexdigest()[:16]
    assert got == BEFORE


# ---- (e) the reviewer's three: the bottom-minus-median gap, the support diagnostic, few clusters -------------
def _constant_effect(data: pd.DataFrame) -> pd.DataFrame:
    """``_cic_panel``'s data with the supported incomes Y0 + 300 instead of 600 + 0.85 Y0: the same effect, 300, at
    every percentile."""
    treated = (data["cohort"] > 0) & (data["time"] >= data["cohort"])
    y = data["income_pc"].where(~treated, (data["income_pc"] - 600) / 0.85 + 300)
    return data.assign(income_pc=y)


def test_the_gap_between_the_10th_percentile_and_the_median_has_its_own_interval_from_the_same_draws():
    data, true = _cic_panel()
    out = dist.changes_in_changes(data, "income_pc", "household_id", "time", "cohort", cluster="village", reps=99)
    assert list(out["quantile"]) == list(dist.QUANTILES) and out["gap_10_50"].nunique() == 1
    r = out.iloc[0]
    assert r.gap_10_50 == pytest.approx(out["qtt"].iloc[0] - out["qtt"].iloc[2], rel=1e-12)
    gap = true[0.1] - true[0.5]
    assert gap > 0 and r.gap_ci_low > 0                           # larger at the bottom: the interval excludes zero
    assert r.gap_ci_low < gap < r.gap_ci_high and r.gap_se > 0
    # narrower than the two percentiles' intervals side by side would suggest (the draws move together)
    assert r.gap_ci_high - r.gap_ci_low < (out["ci_high"] - out["ci_low"]).iloc[[0, 2]].sum()
    flat = dist.changes_in_changes(_constant_effect(data), "income_pc", "household_id", "time", "cohort",
                                   cluster="village", reps=99)
    assert flat["qtt"].between(300 - 3 * flat["se"], 300 + 3 * flat["se"]).all()
    f = flat.iloc[0]
    assert f.gap_ci_low < 0 < f.gap_ci_high                       # the same effect everywhere: it includes zero
    # the normal interval uses the gap's own bootstrap standard error; quantiles without 0.1 and 0.5 still get the gap
    normal = dist.changes_in_changes(data, "income_pc", "household_id", "time", "cohort", cluster="village", reps=99,
                                     interval="normal")
    n = normal.iloc[0]
    assert n.gap_ci_high - n.gap_10_50 == pytest.approx(1.959964 * n.gap_se, rel=1e-5)
    assert n.gap_se == pytest.approx(r.gap_se, rel=1e-12)
    other = dist.changes_in_changes(data, "income_pc", "household_id", "time", "cohort", quantiles=(0.25, 0.9), reps=0)
    assert list(other["quantile"]) == [0.25, 0.9] and other["gap_10_50"].iloc[0] == pytest.approx(r.gap_10_50)
    assert other["gap_ci_low"].isna().all() and other["qtt"].iloc[0] == pytest.approx(out["qtt"].iloc[1])


def test_the_share_of_supported_incomes_outside_the_comparison_range_is_counted_cell_by_cell():
    # never: 40 households, 1000 + 25 i + 10 t (range 1010..1985 at t = 1, 1020..1995 at t = 2);
    # cohort 3: 20 households, 600 + 100 j + 10 t, +300 from t = 3; cohort 2: 10 at 700 + 10 t, 1 at 1000 + 10 t
    # (the never households' lowest: inside), 9 at 1500 + 10 t, +300 from t = 2.
    rows = []
    for t in (1, 2, 3):
        for i in range(40):
            rows.append((f"n{i}", t, 0, 1000 + 25 * i + 10 * t))
        for j in range(20):
            rows.append((f"c{j}", t, 3, 600 + 100 * j + 10 * t + (300 if t >= 3 else 0)))
        for j, base in enumerate([700] * 10 + [1000] + [1500] * 9):
            rows.append((f"b{j}", t, 2, base + 10 * t + (300 if t >= 2 else 0)))
    data = pd.DataFrame(rows, columns=["household_id", "time", "cohort", "income_pc"])
    out = dist.changes_in_changes(data, "income_pc", "household_id", "time", "cohort", reps=0)
    # cell (2, 2): compared with never and cohort 3 (610..2510 at t = 1): none outside;
    # cell (2, 3): compared with never only (1010..1985): the ten at 710 below;
    # cell (3, 3): cohort 3 at t = 2 (620..2520) against never (1020..1995): 620..920 below (4), 2020..2520 above (6)
    assert out["cells"].iloc[0] == 3 and out["treated_obs"].iloc[0] == 60
    np.testing.assert_allclose(out["outside_support"], 20 / 60, rtol=1e-12)
    assert out.attrs["outside_below"] == 14 and out.attrs["outside_above"] == 6
    # every supported income within the comparison's range: zero
    inside = data[~data["household_id"].isin([f"b{j}" for j in range(10)] + [f"c{j}" for j in (0, 1, 2, 3, 14, 15, 16,
                                                                                               17, 18, 19)])]
    assert (dist.changes_in_changes(inside, "income_pc", "household_id", "time", "cohort", reps=0)["outside_support"]
            == 0).all()


def test_with_fewer_than_ten_clusters_the_intervals_are_withheld_with_a_reason():
    data, _ = _cic_panel(n=2000)
    kw = dict(outcome="income_pc", unit="household_id", time="time", cohort="cohort", reps=49)
    by_village = dist.changes_in_changes(data, cluster="village", **kw)
    assert (~by_village["few_clusters"]).all() and (by_village["note"] == "").all()
    assert by_village[["ci_low", "ci_high", "se", "gap_ci_low", "gap_ci_high", "gap_se"]].notna().all().all()
    for k, few in ((pe.FEW_CLUSTERS - 1, True), (pe.FEW_CLUSTERS, False), (5, True)):
        out = dist.changes_in_changes(data.assign(county=data["village"] % k), cluster="county", **kw)
        assert (out["clusters"] == k).all() and (out["few_clusters"] == few).all(), k
        withheld = out[["ci_low", "ci_high", "se", "gap_ci_low", "gap_ci_high", "gap_se"]].isna().all().all()
        assert withheld == few and (out["note"] == ("few_clusters" if few else "")).all()
        assert (out["reps"] == (0 if few else 49)).all()
        # the point estimates do not depend on the clusters
        np.testing.assert_allclose(out[["qtt", "gap_10_50", "outside_support"]],
                                   by_village[["qtt", "gap_10_50", "outside_support"]], rtol=1e-12)
    households = dist.changes_in_changes(data, cluster=None, **kw)      # households are never few
    assert (~households["few_clusters"]).all() and households["ci_low"].notna().all()
    # through the panel: the tidy frame carries the columns (clustered by the five counties: few)
    from helpers.domain.dictionary import COUNTIES

    rows = []
    rng = np.random.default_rng(5)
    for h in range(120):
        start = "2023Q1" if h % 5 < 2 else None
        for q in QS:
            y = 1500 + 10 * h + rng.normal(0, 50) + (300 if start and q >= start else 0)
            rows.append(_row(f"h{h}", q, y, industry_start=start if start and q >= start else None,
                             village=f"v{h % 12}", county=COUNTIES[h % 5]))
    frame = dist.quantile_effects(build_panel(hq=_hq(rows)), "industry", cluster="county", reps=19)
    assert list(frame.columns) == dist.COLUMNS and frame["few_clusters"].all() and frame["ci_low"].isna().all()
    assert (frame["clusters"] == 5).all() and frame["qtt"].notna().all()
    assert (frame["note"] == "few_clusters").all() and (frame["cluster"] == "county").all()


def test_simulate_command_takes_a_near_line_share_and_refuses_a_bad_one(tmp_path):
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "helpers.pipeline.cli", "simulate", "--out", str(tmp_path / "raw"), "--truth",
           str(tmp_path / "truth"), "--households", "200", "--first", "2022Q1", "--last", "2022Q3", "--clean"]
    bad = subprocess.run(cmd + ["--near-line-share", "1.5"], capture_output=True, text=True)
    assert bad.returncode == 2 and "between 0 and 1" in bad.stderr and "Traceback" not in bad.stderr
    ok = subprocess.run(cmd + ["--near-line-share", "0.3"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert '"near_line_share": 0.3' in (tmp_path / "truth" / "params.json").read_text(encoding="utf-8")
