"""The shared construction step, on hand-made rows and on the simulator's truth."""
from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.analysis.construct import build_panel
from helpers.domain.quarters import quarter_index


def _row(hid, q, **over):
    r = dict(household_id=hid, quarter=q, county="通江县", township="杨柏镇", village="太平场村",
             household_type="脱贫户", relocated=False, household_size=2.0, income_wage=1000.0,
             income_business=500.0, income_total=2000.0, income_per_capita=1000.0, industry_start=None,
             industry_subsidy=0.0, employment_start=None)
    r.update(over)
    return r


QS = ["2022Q1", "2022Q2", "2022Q3", "2022Q4"]


def _hq(rows):
    frame = pd.DataFrame(rows)
    for c in ("industry_start", "employment_start"):
        frame[c] = frame[c].astype("string")
    return frame


def test_start_is_the_earliest_reported_and_treatment_is_intention_to_treat():
    rows = [_row("a", q) for q in QS]
    rows[1]["industry_start"] = "2022Q3"                 # one row says Q3 ...
    rows[2]["industry_start"] = "2022Q2"                 # ... later rows say Q2: the earliest wins
    rows[3]["industry_start"] = None                     # support reported as ended: still treated
    rows += [_row("b", q) for q in QS]                   # never treated
    p = build_panel(hq=_hq(rows))
    a = p.data[p.data["household_id"] == "a"].sort_values("time")
    assert a["cohort_quarter"].iloc[0] == "2022Q2"
    assert a["treated"].tolist() == [False, True, True, True]
    assert a["event_time"].tolist() == [-1, 0, 1, 2]
    assert p.households.set_index("household_id").loc["a", "start_disagreement"]
    assert p.excluded.loc["通江县", "start_disagreements"] == 1
    b = p.data[p.data["household_id"] == "b"]
    assert (b["cohort"] == 0).all() and not b["treated"].any()


def test_always_treated_other_program_and_gaps_are_left_out_and_counted():
    rows = []
    rows += [_row("pre", q, employment_start="2021Q3") for q in QS]              # started before first seen
    rows += [_row("ind", q, industry_start="2022Q3") for q in QS]
    rows += [_row("emp", q, employment_start="2022Q2", county="平昌县") for q in QS]
    rows += [_row("gap", q) for q in QS if q != "2022Q2"]
    rows += [_row("never", q, household_type="一般农户" if q == "2022Q1" else "监测户") for q in QS]
    p = build_panel(hq=_hq(rows))
    assert p.excluded.loc["通江县", "always_treated"] == 1
    assert p.excluded.loc["通江县", "dropped_for_gaps"] == 1
    assert set(p.sample("any")["household_id"]) == {"ind", "emp", "never"}
    assert set(p.sample("industry")["household_id"]) == {"ind", "never"}
    assert set(p.sample("employment")["household_id"]) == {"emp", "never"}
    never = p.data[p.data["household_id"] == "never"]
    assert set(never["household_type"]) == {"一般农户"}          # baseline subgroup from the first quarter
    unbalanced = build_panel(hq=_hq(rows), balanced=False)
    assert "gap" in set(unbalanced.sample("any")["household_id"])


def test_outcomes_and_dose():
    rows = [_row("a", q, industry_start="2022Q2" if q >= "2022Q2" else None,
                 industry_subsidy=3000.0 if q >= "2022Q2" else 0.0, income_per_capita=-10.0 if q == "2022Q1" else 1000.0)
            for q in QS]
    p = build_panel(hq=_hq(rows))
    d = p.data.sort_values("time")
    assert d["earned_pc"].tolist() == [750.0] * 4
    assert np.isnan(d["log_income_pc"].iloc[0]) and d["log_income_pc"].iloc[1] == np.log(1000)
    assert p.households["dose"].item() == 3000.0
    assert p.excluded.loc["通江县", "nonpositive_income_log_only"] == 1


def test_constructed_starts_match_the_simulators_truth(sample):
    """Every date and quarter form the simulator writes comes back as the true start quarter."""
    truth = sample["truth"].households.set_index("household_code")
    codes = pd.read_parquet(sample["paths"].private / "2022Q2" / "household_codes.parquet")
    p = build_panel(sample["paths"], balanced=False)
    h = p.households.merge(codes, on="household_id")
    t = truth.loc[h["户编码"]]
    ind = np.where(t["industry_start_i"].to_numpy() >= 0, t["industry_start_i"].to_numpy(), np.nan)
    emp = np.where(t["employment_start_i"].to_numpy() >= 0, t["employment_start_i"].to_numpy(), np.nan)
    last = quarter_index("2022Q2")
    ind = np.where(ind <= last, ind, np.nan)             # starts after the window are not reported yet
    emp = np.where(emp <= last, emp, np.nan)
    np.testing.assert_array_equal(h["industry_start"].to_numpy(dtype=float), ind)
    np.testing.assert_array_equal(h["employment_start"].to_numpy(dtype=float), emp)
