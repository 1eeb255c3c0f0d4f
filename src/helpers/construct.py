"""The shared construction step (analysis.md): from processed tables to the estimation panel.

One function, ``build_panel``, makes the household-quarter panel that every notebook uses:
per-capita and earned income, each household's start quarter for each program (the
earliest start any of its rows reports; disagreements counted), the three treatments
(any support, starting with industry support, starting with employment support),
baseline subgroups taken from the household's first observed quarter, the subsidy dose,
and a count of every household it leaves out and why, per county.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from helpers.config import Paths
from helpers.quarters import index_quarter, quarter_index

PROGRAMS = ("any", "industry", "employment")
PROGRAM_LABELS = {"any": ("任一帮扶", "any support"), "industry": ("产业帮扶", "industry support"),
                  "employment": ("就业帮扶", "employment support")}
OUTCOMES = {"income_pc": ("人均纯收入", "per-capita net income"),
            "earned_pc": ("人均工资性和经营性收入", "per-capita earned income"),
            "log_income_pc": ("人均纯收入（对数）", "log per-capita net income")}
_COLUMNS = ["household_id", "quarter", "county", "township", "village", "household_type", "relocated",
            "household_size", "income_wage", "income_business", "income_total", "income_per_capita",
            "industry_start", "industry_subsidy", "employment_start"]


@dataclass
class Panel:
    """The constructed panel and what construction left out."""

    data: pd.DataFrame          # one row per household-quarter in the window
    households: pd.DataFrame    # one row per household: starts, cohort, baseline subgroups, dose
    excluded: pd.DataFrame      # per county: households left out and why
    quarters: list[str]
    balanced: bool

    def sample(self, program: str = "any", outcome: str = "income_pc") -> pd.DataFrame:
        """The estimation sample for a treatment: always-treated households out; for a program,
        households whose first support was the other program out. ``cohort`` is the integer
        quarter of the first start (0 = not treated within the window), ``time`` the integer quarter."""
        if program not in PROGRAMS:
            raise ValueError(f"program must be one of {PROGRAMS}, not {program!r}")
        h = self.households
        keep = ~h["always_treated"]
        if program != "any":
            keep &= h["first_program"].isin([program, "none"])
        ids = h.loc[keep, "household_id"]
        d = self.data[self.data["household_id"].isin(ids)]
        if outcome == "log_income_pc":
            d = d[d["log_income_pc"].notna()]
        return d


def _first_start(rows: pd.DataFrame, column: str) -> tuple[pd.Series, pd.Series]:
    """Earliest start quarter (integer) per household, and whether its rows disagree."""
    s = rows[["household_id", column]].dropna()
    if s.empty:
        empty = pd.Series(dtype="float64")
        return empty, pd.Series(dtype=bool)
    idx = pd.Series(quarter_index(s[column]), index=s.index)
    g = idx.groupby(s["household_id"])
    return g.min(), g.nunique() > 1


def build_panel(paths: Paths | None = None, quarter: str | None = None, balanced: bool = True,
                hq: pd.DataFrame | None = None) -> Panel:
    """Build the estimation panel from data/processed up to ``quarter`` (default: all quarters).

    With ``balanced`` (the default) the window keeps only households observed in every
    quarter; those dropped for gaps are counted per county.
    """
    if hq is None:
        paths = paths or Paths()
        path = paths.processed / "household_quarters.parquet"
        if not path.exists():     # interactive use without a prior run: build the tables on demand
            from helpers.intake import run_intake

            run_intake(quarter, paths)
        hq = pd.read_parquet(path, columns=_COLUMNS)
    if quarter:
        hq = hq[hq["quarter"] <= quarter]
    quarters = sorted(hq["quarter"].unique())
    d = hq.copy()
    d["time"] = quarter_index(d["quarter"])
    d["income_pc"] = d["income_per_capita"]
    d["earned_pc"] = (d["income_wage"] + d["income_business"]) / d["household_size"]
    d["log_income_pc"] = np.log(d["income_pc"].where(d["income_pc"] > 0))

    d = d.sort_values(["household_id", "time"])
    first = d.groupby("household_id", sort=False).first()
    h = pd.DataFrame(index=first.index)
    h["first_time"] = first["time"]
    h["county"] = first["county"]                 # baseline subgroups: first observed quarter
    h["household_type"] = first["household_type"]
    h["relocated"] = first["relocated"].astype(bool)
    h["village"] = first["village"]
    h["n_quarters"] = d.groupby("household_id").size()
    ind, ind_dis = _first_start(d, "industry_start")
    emp, emp_dis = _first_start(d, "employment_start")
    h["industry_start"] = ind.reindex(h.index)
    h["employment_start"] = emp.reindex(h.index)
    h["start_disagreement"] = ind_dis.reindex(h.index, fill_value=False) | emp_dis.reindex(h.index, fill_value=False)
    start = h[["industry_start", "employment_start"]].min(axis=1)
    h["first_start"] = start
    h["first_program"] = np.select(
        [start.isna(), h["industry_start"] == h["employment_start"], h["industry_start"] == start],
        ["none", "both", "industry"], "employment")
    h["always_treated"] = start.notna() & (start < h["first_time"])

    # Dose: industry subsidy reported in the first treated quarter (it is cumulative).
    dd = d[["household_id", "time", "industry_subsidy"]].merge(
        h[["industry_start"]].rename(columns={"industry_start": "start_time"}), left_on="household_id", right_index=True)
    dose = dd[dd["time"] == dd["start_time"]].groupby("household_id")["industry_subsidy"].first()
    h["dose"] = dose.reindex(h.index)
    ok = h["dose"].notna() & (h["first_program"] == "industry") & ~h["always_treated"]
    h["dose_bin"] = pd.Series(pd.NA, index=h.index, dtype="string")
    if ok.sum() >= 3:
        h.loc[ok, "dose_bin"] = pd.qcut(h.loc[ok, "dose"].rank(method="first"), 3,
                                        labels=["低", "中", "高"]).astype("string")

    excluded = pd.DataFrame(index=pd.Index(sorted(h["county"].unique()), name="county"))
    excluded["households"] = h.groupby("county").size()
    excluded["always_treated"] = h[h["always_treated"]].groupby("county").size()
    excluded["start_disagreements"] = h[h["start_disagreement"]].groupby("county").size()
    excluded["both_same_quarter"] = h[h["first_program"] == "both"].groupby("county").size()
    excluded["industry_first"] = h[h["first_program"] == "industry"].groupby("county").size()
    excluded["employment_first"] = h[h["first_program"] == "employment"].groupby("county").size()
    if balanced:
        full = h["n_quarters"] == len(quarters)
        excluded["dropped_for_gaps"] = h[~full].groupby("county").size()
        h = h[full]
        d = d[d["household_id"].isin(h.index)]
    else:
        excluded["dropped_for_gaps"] = 0
    nonpos = d[d["income_pc"] <= 0].groupby("county")["household_id"].nunique()
    excluded["nonpositive_income_log_only"] = nonpos
    excluded = excluded.fillna(0).astype("int64")

    h = h.reset_index()
    d = d.merge(h[["household_id", "first_start", "first_program", "always_treated", "industry_start",
                   "employment_start"]].rename(columns={"industry_start": "industry_start_t",
                                                         "employment_start": "employment_start_t"}),
                on="household_id")
    d = d.rename(columns={"county": "county_now", "household_type": "household_type_now", "relocated": "relocated_now",
                          "village": "village_now"})
    d = d.merge(h[["household_id", "county", "village", "household_type", "relocated", "dose_bin"]], on="household_id")
    d["cohort"] = d["first_start"].fillna(0).astype("int64")
    d["cohort_quarter"] = d["first_start"].map(lambda x: index_quarter(x) if x == x else pd.NA).astype("string")
    d["event_time"] = np.where(d["cohort"] > 0, d["time"] - d["cohort"], np.nan)
    d["treated"] = (d["cohort"] > 0) & (d["time"] >= d["cohort"])
    data = d.drop(columns=["first_start", "industry_start", "employment_start"]).reset_index(drop=True)
    data = data.rename(columns={"industry_start_t": "industry_start", "employment_start_t": "employment_start"})
    return Panel(data, h, excluded, quarters, balanced)
