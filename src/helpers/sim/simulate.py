"""A simulator of county submissions with known truth.

``simulate_truth`` draws a seeded ground-truth household panel for Bazhong's five
county-level units: households in the villages of the committed register (including the
merged villages the 2023 Q2 inspection report names), household types and monitoring in
the report's proportions, quarterly income with seasonality, and industry and employment
support that starts in different quarters. Take-up depends on a household's permanent
income level only, and the common trend is additive, so parallel trends hold by
construction; effects differ by start cohort and grow with time since start, so that
naive two-way fixed effects is visibly biased. The true effects (by treatment, cohort and
event time, on total and on earned per-capita income) are exact sample averages of the
simulated individual effects.

The true effect on being below the monitoring line (``att_below``) is the mean over the
cell's treated households of 1[4·Y1 < line] − 1[4·Y0 < line]: Y1 the simulated per-capita
income, Y0 the same minus the household's simulated effect, the line that of the quarter's
year in config/indicators.yaml (missing for a year without one). Parallel trends hold for
income, not necessarily for this 0/1 outcome: take-up follows the permanent level, and how
often a household crosses the line from quarter to quarter depends on how close its level
is to it. ``near_line_share`` (default 0: the draw is unchanged) moves that share of the
households, chosen at random after take-up is drawn, to a permanent level at which their
untreated income straddles the line (its mean over the first ``REFERENCE`` quarters is the line,
± 250 元 a quarter), so that the below-line effect is sizeable and, among them, take-up does not depend
on how close they are to the line.

``write_submissions`` turns that panel into what counties send: one workbook per county
per quarter (or GBK / UTF-8 CSV per sheet), title rows, merged headers, other counties'
header words, and every kind of mess the submission spec lists, at realistic rates. Each
damaged row is recorded with the outcome intake should reach.

The draw is **prefix-stable**: simulating ``first..last`` and ``first..later`` with the same seed and options
gives the same households, incomes, starts, monitoring, mess and files for every quarter up to ``last``
(``Truth.until``), so a sample can be extended by a quarter (``next_quarter``, ``workbook simulate
--next-quarter``). Household-level draws (places, types, levels, take-up, start quarters, the quarter a household
is missing) are made once, against a fixed horizon of ``HORIZON`` quarters from ``first`` (2021Q1..2023Q4 for the
bundled sample): starts are spread evenly over it, and a household whose start is after ``last`` is simply not
supported yet (after the horizon no new cohort starts; effects keep growing with time since start). What changes
from quarter to quarter (noise, monitoring entries and exits, workers, every mess of the submissions) comes from
that quarter's own random stream (``np.random.default_rng([seed, quarter_index, purpose])``). The cohort factor of
the effects and the centre of the near-line incomes are fixed by the first ``REFERENCE`` quarters (the bundled
sample's window), not by ``last``.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.analysis.construct import below_line, monitoring_lines
from helpers.config import SEED, SIMULATED_MARKER, VILLAGE_REGISTER
from helpers.domain.dictionary import COUNTIES, HOUSEHOLDS, PROJECTS, RECTIFICATIONS, VILLAGES
from helpers.engine import lost_workers
from helpers.intake.parsing import split_names
from helpers.domain.quarters import index_quarter, label_zh, quarter_index, quarter_range

COUNTY_CODES = {"巴州区": "511902", "恩阳区": "511903", "通江县": "511921", "南江县": "511922", "平昌县": "511923"}
SEASON = np.array([260.0, -180.0, -120.0, 40.0])     # additive per-capita seasonality (元), Q1..Q4
TREND = 55.0                                           # common per-capita growth per quarter (元)
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
GIVEN = list("明国华建文平志伟东海强晓光永林军春红英秀兰芳玉珍凤丽桂琴云德成福贵兴洪荣学刚勇波涛静敏燕霞婷")
HORIZON = 12         # quarters from `first` over which start quarters and missing quarters are drawn (2021-2023)
REFERENCE = 10       # quarters from `first` that fix the cohort factor and the near-line centre (the bundled window)
# purposes of the per-quarter random streams: np.random.default_rng([seed, quarter_index, purpose])
_PANEL_STREAM, _SUBMISSION_STREAM = 2, 3


@dataclass
class Truth:
    """The simulated ground truth."""

    households: pd.DataFrame     # one row per household (with the personal data counties send)
    panel: pd.DataFrame          # one row per household-quarter present in the data
    effects: pd.DataFrame        # true ATT by treatment, cohort, event time (total, earned, below the line)
    quarters: list[str]
    seed: int

    def until(self, last: str) -> "Truth":
        """The truth as it stands at ``last`` (a quarter of the window): the panel up to it, the effects at calendar
        quarters up to it, and starts after it not known yet (-1; ``first_program`` "none" for a household with
        no start up to it). A draw of ``first..later`` cut at ``last`` equals the draw of ``first..last``."""
        if last not in self.quarters:
            raise ValueError(f"{last} is not a quarter of {self.quarters[0]}..{self.quarters[-1]}")
        t = quarter_index(last)

        def known(frame: pd.DataFrame) -> pd.DataFrame:
            f = frame.copy()
            for col in ("industry_start_i", "employment_start_i"):
                f[col] = np.where(f[col] > t, -1, f[col]).astype(frame[col].dtype)
            if "first_program" in f:
                f.loc[(f["industry_start_i"] < 0) & (f["employment_start_i"] < 0), "first_program"] = "none"
            return f

        panel = known(self.panel[self.panel["t"] <= t]).reset_index(drop=True)
        effects = self.effects
        if len(effects):
            effects = effects[effects["g"] + effects["event_time"] <= t].reset_index(drop=True)
        return Truth(known(self.households), panel, effects, self.quarters[: self.quarters.index(last) + 1], self.seed)


def _id_check_digit(body17: str) -> str:
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return "10X98765432"[sum(int(c) * w for c, w in zip(body17, weights)) % 11]


def simulate_truth(households: int = 2500, seed: int = SEED, first: str = "2021Q1",
                   last: str = "2023Q2", register: Path = VILLAGE_REGISTER,
                   effect_scale: float = 1.0, personal: bool = True, near_line_share: float = 0.0,
                   indicators_config: Path | None = None, horizon: int = HORIZON) -> Truth:
    """Draw the ground-truth household panel (see module docstring).

    ``personal=False`` skips names, ID and phone numbers and the effect table (for the fast
    in-memory draws of the simulation check). ``near_line_share`` puts that share of the households'
    untreated incomes near the monitoring line (of ``indicators_config``, default config/indicators.yaml);
    0 leaves every other draw as it is. ``horizon``: the quarters from ``first`` over which starts (and the
    quarter a household is missing) are spread (default ``HORIZON``; the simulation check passes its window's
    length, so that every start falls inside it)."""
    if horizon < 2:
        raise ValueError(f"horizon must be at least 2 quarters, not {horizon!r}")
    if not 0.0 <= near_line_share <= 1.0:
        raise ValueError(f"near_line_share must be between 0 and 1, not {near_line_share!r}")
    # the lines serve the true below-line effects and near_line_share (the fast draws of simcheck need neither)
    lines, line_source = monitoring_lines(indicators_config) if personal or near_line_share else ({}, "")
    rng = np.random.default_rng(seed)      # household-level draws: their number never depends on `last`
    quarters = quarter_range(first, last)
    T = len(quarters)
    qi0 = quarter_index(quarters[0])
    last_i = qi0 + T - 1
    reg = pd.read_csv(register, dtype=str, keep_default_na=False, encoding="utf-8")
    n = households

    # Places: households spread over villages, merged villages a little larger.
    weight = np.where(reg["former_names"] != "", 1.6, 1.0)
    v_idx = rng.choice(len(reg), size=n, p=weight / weight.sum())
    hh = reg.iloc[v_idx][["county", "township", "village", "former_names"]].reset_index(drop=True)
    # Households in merged villages are still often written under the old village name.
    former = hh["former_names"].map(lambda s: [x for x in split_names(s)])
    use_old = (former.map(len) > 0) & (rng.random(n) < 0.25)
    hh["village_written"] = hh["village"]
    hh.loc[use_old, "village_written"] = [f[rng.integers(len(f))] for f in former[use_old]]

    # Types in the report's proportions (脱贫户 ~ 17%, monitored a few percent).
    u = rng.random(n)
    hh_type = np.where(u < 0.17, "脱贫户", np.where(u < 0.195, "监测户", "一般农户"))
    relocated = (hh_type != "一般农户") & (rng.random(n) < 0.30)
    size = np.clip(rng.poisson(2.6, n) + 1, 1, 9)
    labour = np.minimum(size, rng.binomial(size, 0.6))
    # Permanent per-capita quarterly income level (元): lower for 脱贫户 and 监测户.
    mean_level = np.select([hh_type == "一般农户", hh_type == "脱贫户"], [4300.0, 3300.0], 2300.0)
    alpha = np.maximum(500.0, mean_level + rng.normal(0, 900, n))
    if n > 5:  # a few households far below the monitoring line, so that 漏测 can occur
        low = rng.choice(n, size=max(1, n // 200), replace=False)
        alpha[low] = rng.uniform(700, 1500, len(low))

    # Support: take-up depends on the permanent level only.
    z = (alpha - alpha.mean()) / alpha.std()
    p_take = 1 / (1 + np.exp(-(-0.2 - 1.1 * z)))
    takes = rng.random(n) < p_take
    first_prog = np.where(rng.random(n) < 0.5, "industry", "employment")
    if near_line_share > 0:     # after take-up, from a stream of its own: the other draws are untouched
        alpha = _near_line(alpha, near_line_share, quarter_range(first, index_quarter(qi0 + REFERENCE - 1)),
                           lines, line_source, seed)
    # Start quarter: some before the panel (always treated), the rest spread over the `horizon` quarters from
    # `first`; drawn the same whatever `last` is, and a start after `last` is not in the data yet.
    pre = rng.random(n) < 0.12
    start = np.where(pre, qi0 - rng.integers(1, 6, n), qi0 + rng.integers(1, horizon, n))
    start = np.where(takes, start, -1)
    second = takes & (rng.random(n) < 0.35)
    second_start = np.where(second, start + rng.integers(2, 6, n), -1)
    ind_start = np.where(first_prog == "industry", start, second_start)
    emp_start = np.where(first_prog == "employment", start, second_start)
    ind_start = np.where(takes, ind_start, -1)
    emp_start = np.where(takes, emp_start, -1)
    gap = rng.random(n) < 0.06                   # some households miss one quarter of the horizon
    gap_i = np.where(gap, qi0 + rng.integers(1, horizon, n), -1)
    ind_type = rng.choice(["产业到户补助", "庭院经济", "入股分红"], n, p=[0.5, 0.3, 0.2])
    emp_type = rng.choice(["外出务工", "就近务工", "公益性岗位", "以工代赈"], n, p=[0.45, 0.3, 0.15, 0.1])
    # Industry subsidy per household (元, first quarter); larger subsidies go with larger projects and effects.
    subsidy = rng.choice([1000.0, 2000.0, 3000.0, 5000.0], n, p=[0.25, 0.35, 0.25, 0.15])
    dose_factor = 0.6 + 0.4 * subsidy / 2500.0

    # Personal data and codes.
    code_seq = rng.permutation(np.arange(100000, 100000 + n))
    codes = [f"{COUNTY_CODES[c]}{int(s):012d}" for c, s in zip(hh["county"], code_seq)]
    if personal:
        names = ["".join([SURNAMES[rng.integers(len(SURNAMES))]] + list(rng.choice(GIVEN, rng.integers(1, 3))))
                 for _ in range(n)]
        births = pd.to_datetime("1950-01-01") + pd.to_timedelta(rng.integers(0, 365 * 50, n), unit="D")
        ids = []
        for c, b, s in zip(hh["county"], births, rng.integers(100, 999, n)):
            body = f"{COUNTY_CODES[c]}{b:%Y%m%d}{s:03d}"
            ids.append(body + _id_check_digit(body))
        phones = [f"1{rng.choice([3, 5, 7, 8, 9])}{rng.integers(0, 10**9):09d}" for _ in range(n)]
    else:
        names = ids = phones = [""] * n

    # The truth as of `last`: a start after it has not happened yet.
    ind_known = np.where(ind_start > last_i, -1, ind_start)
    emp_known = np.where(emp_start > last_i, -1, emp_start)
    households_df = pd.DataFrame({
        "household_code": codes, "head_name": names, "head_id_number": ids, "phone": phones,
        "county": hh["county"], "township": hh["township"], "village": hh["village"],
        "village_written": hh["village_written"], "household_type0": hh_type, "relocated": relocated,
        "household_size": size, "labour": labour, "alpha": alpha,
        "industry_start_i": ind_known, "employment_start_i": emp_known,
        "industry_type": ind_type, "employment_type": emp_type,
        "first_program": np.where((ind_known >= 0) | (emp_known >= 0), first_prog, "none"),
    })

    # Effects: vary by cohort (earlier starters gain more, relative to the REFERENCE window, at least half as much)
    # and grow with time since start.
    ref_i = qi0 + REFERENCE - 1

    def effect(prog: str, start_i: np.ndarray, t: int) -> tuple[np.ndarray, np.ndarray]:
        e = t - start_i
        on = (start_i >= 0) & (e >= 0)
        cohort_factor = np.maximum(0.5, 1.0 + 0.08 * (ref_i - np.maximum(start_i, qi0 - 4) - 4))
        if prog == "industry":
            tau = (120.0 + 45.0 * np.minimum(e, 8)) * cohort_factor * dose_factor
            earned_share = 0.7    # the rest is the subsidy (transfer)
        else:
            tau = (220.0 + 25.0 * np.minimum(e, 8)) * cohort_factor
            earned_share = 0.85
        tau = np.where(on, tau * effect_scale, 0.0)
        return tau, tau * earned_share

    rows = []
    mon_type = np.where(hh_type == "监测户", rng.choice(["脱贫不稳定户", "边缘易致贫户", "突发严重困难户"], n,
                                                    p=[0.45, 0.35, 0.20]), "")
    cur_type = hh_type.copy()
    eliminated = np.zeros(n, dtype=bool)
    elim_date = np.full(n, None, dtype=object)
    for k, q in enumerate(quarters):
        t = qi0 + k
        qrng = np.random.default_rng([seed, t, _PANEL_STREAM])     # this quarter's own stream
        year, qn = int(q[:4]), int(q[-1])
        gamma = TREND * k + SEASON[qn - 1]
        tau_i, earned_i = effect("industry", ind_start, t)
        tau_e, earned_e = effect("employment", emp_start, t)
        eps = qrng.normal(0, 420, n)
        base = alpha + gamma
        total_pc = base + tau_i + tau_e + eps
        wage_pc = 0.45 * base + earned_e
        prop_pc = 0.03 * alpha
        transfer_pc = 0.22 * alpha + (tau_i - earned_i) + (tau_e - earned_e)
        business_pc = total_pc - wage_pc - prop_pc - transfer_pc
        # New monitoring entrants among low-income households; risk elimination over time.
        if k > 0:
            new_mon = (cur_type != "监测户") & (total_pc < 1900) & (qrng.random(n) < 0.10)
            cur_type = np.where(new_mon, "监测户", cur_type)
            mon_type = np.where(new_mon, "突发严重困难户", mon_type)
            elim = (cur_type == "监测户") & ~eliminated & (qrng.random(n) < 0.12)
            eliminated |= elim
            day = pd.Timestamp(year, 3 * qn - 2, 1) + pd.to_timedelta(qrng.integers(0, 88, elim.sum()), unit="D")
            elim_date[elim] = list(day.date)
        workers = np.minimum(labour, qrng.binomial(labour, 0.55) + ((emp_start >= 0) & (emp_start <= t)))
        frame = pd.DataFrame({
            "household_code": codes, "quarter": q, "t": t,
            "household_type": cur_type, "monitor_type": np.where(cur_type == "监测户", mon_type, ""),
            "risk_eliminated": np.where(cur_type == "监测户", np.where(eliminated, "是", "否"), ""),
            "risk_eliminated_date": np.where(eliminated, elim_date, None),
            "income_wage": np.round(wage_pc * size, 2), "income_business": np.round(business_pc * size, 2),
            "income_property": np.round(prop_pc * size, 2), "income_transfer": np.round(transfer_pc * size, 2),
            "tau_total": tau_i + tau_e, "tau_earned": earned_i + earned_e,
            "industry_on": (ind_start >= 0) & (ind_start <= t), "employment_on": (emp_start >= 0) & (emp_start <= t),
            "workers": workers, "present": gap_i != t,
        })
        rows.append(frame)
    panel = pd.concat(rows, ignore_index=True)
    panel = panel.merge(households_df[["household_code", "household_size", "industry_start_i", "employment_start_i",
                                       "industry_type", "employment_type", "first_program"]], on="household_code")
    panel["income_total"] = panel[["income_wage", "income_business", "income_property", "income_transfer"]].sum(axis=1).round(2)
    panel["income_per_capita"] = panel["income_total"] / panel["household_size"]
    ind_on_since = np.clip(panel["t"] - panel["industry_start_i"] + 1, 0, None) * panel["industry_on"]
    level = pd.Series(subsidy, index=codes).reindex(panel["household_code"]).to_numpy()
    panel["industry_subsidy"] = np.where(panel["industry_on"], level * (1.0 + 0.25 * np.minimum(ind_on_since - 1, 4)), 0.0)
    panel["microcredit_wan"] = np.where(panel["industry_on"] & (panel["household_size"] > 2), 3.0, 0.0)
    panel = panel[panel["present"]].drop(columns="present").reset_index(drop=True)

    effects = _true_effects(households_df, panel, qi0, lines, line_source) if personal else pd.DataFrame()
    return Truth(households_df, panel, effects, quarters, seed)


def _near_line(alpha: np.ndarray, share: float, quarters: list[str], lines: dict, source: str,
               seed: int) -> np.ndarray:
    """``alpha`` with a random ``share`` of households moved to a level at which their untreated quarterly
    income, averaged over ``quarters`` (the REFERENCE window, whatever ``last`` is), is a quarter of the year's
    monitoring line, give or take 250 元."""
    have = [k for k, q in enumerate(quarters) if int(q[:4]) in lines]
    if not have:
        raise ValueError(f"near_line_share needs a monitoring line for a year of {quarters[0]}..{quarters[-1]} "
                         f"in {source}")
    centre = np.mean([lines[int(quarters[k][:4])] / 4.0 - TREND * k - SEASON[int(quarters[k][-1]) - 1] for k in have])
    nrng = np.random.default_rng([seed, 1])      # a stream of its own: the main draws are untouched
    n = len(alpha)
    moved = nrng.choice(n, size=int(round(share * n)), replace=False)
    out = alpha.copy()
    out[moved] = centre + nrng.uniform(-250.0, 250.0, len(moved))
    return out


def _true_effects(hh: pd.DataFrame, panel: pd.DataFrame, qi0: int, lines: dict | None = None,
                  source: str = "") -> pd.DataFrame:
    """Sample ATT(g, e) for the three treatments: the mean simulated effect among the
    cohort's households present at that event time (first start of support as cohort); on being below the
    monitoring line, the mean of 1[4·Y1 < line] − 1[4·Y0 < line] (missing for a year without a line)."""
    first = np.where(hh["industry_start_i"] < 0, hh["employment_start_i"],
                     np.where(hh["employment_start_i"] < 0, hh["industry_start_i"],
                              np.minimum(hh["industry_start_i"], hh["employment_start_i"])))
    info = pd.DataFrame({"household_code": hh["household_code"], "g": first, "first_program": hh["first_program"]})
    p = panel[["household_code", "t", "quarter", "income_per_capita", "tau_total", "tau_earned",
               "household_size"]].merge(info, on="household_code")
    y1 = p["income_per_capita"].to_numpy(dtype="float64")
    p["tau_below"] = (below_line(y1, p["quarter"], lines or {}, source, strict=False)
                      - below_line(y1 - p["tau_total"].to_numpy(dtype="float64"), p["quarter"], lines or {}, source,
                                   strict=False))
    p = p[(p["g"] >= qi0 + 1)]     # always-treated households are not part of any estimand
    p["event_time"] = p["t"] - p["g"]
    out = []
    for treatment, mask in (("any", p["first_program"] != "none"), ("industry", p["first_program"] == "industry"),
                            ("employment", p["first_program"] == "employment")):
        sub = p[mask & (p["event_time"] >= 0)]
        g = sub.groupby(["g", "event_time"]).agg(att=("tau_total", "mean"), att_earned=("tau_earned", "mean"),
                                                 att_below=("tau_below", "mean"),
                                                 n_households=("household_code", "size")).reset_index()
        g.insert(0, "treatment", treatment)
        g["cohort"] = g["g"].map(index_quarter)
        out.append(g)
    eff = pd.concat(out, ignore_index=True)
    return eff[["treatment", "cohort", "g", "event_time", "att", "att_earned", "att_below", "n_households"]]


# --------------------------------------------------------------------------------------
# Writing submissions
# --------------------------------------------------------------------------------------
# How each county writes its files: header words, layout, format. Stable across quarters,
# as in reality, with 平昌县 switching to CSV for two quarters.
COUNTY_STYLE = {
    "巴州区": dict(fmt="xlsx", titles=1, merged=False, synonyms={}, fullwidth=False, linebreak=False,
                 extra_cols=("序号",), workers=True, date_form=0),
    "恩阳区": dict(fmt="xlsx", titles=1, merged=True,
                 synonyms={"户编码": "户编号", "户主身份证号": "身份证号码", "县(区)": "区县", "乡镇(街道)": "乡(镇)"},
                 fullwidth=False, linebreak=False, extra_cols=(), workers=True, date_form=1),
    "通江县": dict(fmt="xlsx", titles=2, merged=False, synonyms={"行政村": "村(社区)"}, fullwidth=True,
                 linebreak=True, extra_cols=("序号",), workers=True, subsidy_wan=True, date_form=4),
    "南江县": dict(fmt="csv-gbk", titles=0, merged=False,
                 synonyms={"户主身份证号": "证件号码", "县(区)": "县(市、区)", "联系电话": "手机号码"},
                 fullwidth=False, linebreak=False, extra_cols=(), workers=False, date_form=2),
    "平昌县": dict(fmt="xlsx", titles=1, merged=False, synonyms={"家庭人口": "家庭人口数"}, fullwidth=False,
                 linebreak=False, extra_cols=(), workers=True, csv_quarters=("2022Q3", "2022Q4"), date_form=3),
}
INCOME_HEADERS = ("工资性收入", "经营性收入", "财产性收入", "转移性收入")


def _header_for(col, style) -> str:
    h = style["synonyms"].get(col.header, col.header)
    if col.name == "industry_subsidy" and style.get("subsidy_wan"):
        h = "产业补助金额(万元)"
    if style["fullwidth"]:
        h = h.replace("(", "（").replace(")", "）")
    if style["linebreak"] and col.header in INCOME_HEADERS:
        h = h[:3] + "\n" + h[3:]
    return h


@dataclass
class SheetOut:
    """A sheet ready to be written: title rows, header rows, data rows, and formats per cell."""

    name: str
    titles: list[str]
    header: list[list[str]]          # one or two header rows
    rows: list[list]                 # values: str, float, int, date, or None
    merges: list[tuple[int, int, int, int, str]]




def _date_text(d: dt.date, form: int):
    """A date in one of the forms counties type."""
    if form == 0:
        return d
    if form == 1:
        return f"{d.year}.{d.month}.{d.day}"
    if form == 2:
        return d.isoformat()
    if form == 3:
        return f"{d.year}年{d.month}月{d.day}日"
    return float((pd.Timestamp(d) - pd.Timestamp("1899-12-30")).days)   # Excel serial


def _fullwidth_digits(s: str) -> str:
    return s.translate(str.maketrans("0123456789.,", "０１２３４５６７８９．，"))


class MessLog:
    """Which rows the simulator damaged, and what intake should do with each."""

    def __init__(self):
        self.records: list[dict] = []

    def add(self, quarter, file, sheet, row, mess, expected):
        self.records.append(dict(quarter=quarter, source_file=file, sheet=sheet, row=row, mess=mess,
                                 expected=expected))

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.records, columns=["quarter", "source_file", "sheet", "row", "mess", "expected"])


def _household_rows(truth: Truth, q: str, county: str, style: dict, rng: np.random.Generator,
                    mess: bool, rates: dict, view: "_QuarterView | None" = None
                    ) -> tuple[list[list], list[tuple[str, str]], list[str]]:
    """Rows of the 农户监测 sheet for one county and quarter, with mess and its expected outcome."""
    view = view or _QuarterView(truth, q)
    p, hh = view.by_county[county], view.hh
    hx = hh.loc[p["household_code"]]
    date_form = style.get("date_form", 0)
    cols = [c for c in HOUSEHOLDS.columns if style["workers"] or c.name != "workers"]
    out, notes = [], []
    pre_date_form = rng.integers(0, 5, len(p)).tolist()
    # column by column as Python values (the same values a row-by-row read gives, much faster)
    ind_start = np.where(p["industry_start_i"] >= 0, p["industry_start_i"], -1)
    emp_start = np.where(p["employment_start_i"] >= 0, p["employment_start_i"], -1)
    t = p["t"].to_numpy()
    ind_on = ((ind_start >= 0) & (ind_start <= t)).tolist()
    emp_on = ((emp_start >= 0) & (emp_start <= t)).tolist()
    ind_start, emp_start = ind_start.tolist(), emp_start.tolist()
    subsidy = p["industry_subsidy"].to_numpy()
    subsidy = (subsidy / 10000.0 if style.get("subsidy_wan") else subsidy).tolist()
    pc = {c: p[c].tolist() for c in ("household_code", "household_type", "monitor_type", "risk_eliminated",
                                      "risk_eliminated_date", "household_size", "income_wage", "income_business",
                                      "income_property", "income_transfer", "income_total", "microcredit_wan",
                                      "workers")}
    hc = {c: hx[c].tolist() for c in ("head_name", "head_id_number", "phone", "township", "village_written",
                                       "labour", "relocated", "industry_type", "employment_type")}
    for k, code in enumerate(pc["household_code"]):
        red = pc["risk_eliminated_date"][k]
        row = {
            "household_code": code, "head_name": hc["head_name"][k], "head_id_number": hc["head_id_number"][k],
            "phone": hc["phone"][k], "county": county, "township": hc["township"][k],
            "village": hc["village_written"][k],
            "household_type": pc["household_type"][k], "monitor_type": pc["monitor_type"][k] or None,
            "risk_eliminated": pc["risk_eliminated"][k] or None,
            "risk_eliminated_date": _date_text(red, date_form) if red is not None else None,
            "household_size": int(pc["household_size"][k]), "labour": int(hc["labour"][k]),
            "relocated": "是" if hc["relocated"][k] else "否",
            "income_wage": pc["income_wage"][k], "income_business": pc["income_business"][k],
            "income_property": pc["income_property"][k], "income_transfer": pc["income_transfer"][k],
            "income_total": pc["income_total"][k],
            "industry_support": hc["industry_type"][k] if ind_on[k] else "无",
            "industry_start": _start_text(ind_start[k], pre_date_form[k]) if ind_on[k] else None,
            "industry_subsidy": subsidy[k],
            "employment_support": hc["employment_type"][k] if emp_on[k] else "无",
            "employment_start": _start_text(emp_start[k], pre_date_form[k] + 1) if emp_on[k] else None,
            "microcredit": pc["microcredit_wan"][k], "workers": int(pc["workers"][k]),
            "remarks": None,
        }
        if rng.random() < 0.03:
            row["remarks"] = f"联系人{row['head_name']}，电话{row['phone']}"
        expected = "clean"
        kind = "none"
        if mess:
            u = rng.random()
            acc = 0.0
            for name, rate in rates.items():
                acc += rate
                if u < acc:
                    kind = name
                    break
            expected = _damage(row, kind, rng)
        out.append(row)
        notes.append((kind, expected))
    return out, notes, [c.name for c in cols]


def _start_text(i: int, form: int):
    """A start quarter as counties write it: YYYYQn mostly, sometimes a date in the quarter."""
    q = index_quarter(int(i))
    if form % 5 in (0, 1, 2):
        return q
    d = dt.date(int(q[:4]), 3 * int(q[-1]) - 1, 15)
    return _date_text(d, 1 + form % 4)


WAN_MESS = "wan_in_yuan"


def _damage(row: dict, kind: str, rng) -> str:
    """Apply one kind of mess to a row; return what intake should do with it."""
    if kind == "none":
        return "clean"
    if kind == "thousands":
        row["income_wage"] = f"{row['income_wage']:,.2f}"
        return "clean"
    if kind == "unit_suffix":
        row["household_size"] = f"{row['household_size']}人"
        return "clean"
    if kind == "fullwidth":
        row["income_total"] = _fullwidth_digits(f"{row['income_total']:.2f}")
        return "clean"
    if kind == "dash_zero":
        if row["income_property"] == 0:
            row["income_property"] = "—"
            return "clean"
        row["income_property"] = f"{row['income_property']:.2f} "
        return "clean"
    if kind == "county_short":
        row["county"] = row["county"][:-1]
        return "clean"
    if kind == "spaces":
        row["township"] = f" {row['township']} "
        return "clean"
    if kind == "yesno":
        row["relocated"] = {"是": rng.choice(["Y", "√", "1"]), "否": rng.choice(["N", "×", "0"])}[row["relocated"]]
        return "clean"
    if kind == "subtotal":
        row["household_code"] = "合计"
        row["head_name"] = None
        return "subtotal"
    if kind == "code_number":
        row["household_code"] = float(row["household_code"])
        return "household_code"
    if kind == "code_short":
        row["household_code"] = row["household_code"][:-2]
        return "household_code"
    if kind == "income_parts":
        row["income_total"] = round(row["income_total"] + float(rng.choice([-1, 1])) * rng.uniform(300, 900), 2)
        return "income_parts"
    if kind == WAN_MESS:
        if row["income_wage"] > 2000:
            row["income_wage"] = round(row["income_wage"] / 10000.0, 2)
            return "income_parts"
        return "clean"
    if kind == "impossible":
        row["labour"] = row["household_size"] + 2
        return "impossible_value"
    if kind == "unknown_village":
        row["village"] = row["village"][:-1] + "新村"
        return "unknown_place"
    if kind == "bad_number":
        row["income_transfer"] = "见附件"
        return "bad_value"
    raise ValueError(kind)


DEFAULT_RATES = {
    "thousands": 0.010, "unit_suffix": 0.008, "fullwidth": 0.006, "dash_zero": 0.010, "county_short": 0.010,
    "spaces": 0.008, "yesno": 0.010, "subtotal": 0.002, "code_number": 0.004, "code_short": 0.002,
    "income_parts": 0.006, WAN_MESS: 0.003, "impossible": 0.003, "unknown_village": 0.002, "bad_number": 0.002,
}


def _villages_rows(truth: Truth, q: str, county: str, register: pd.DataFrame, rng,
                   view: "_QuarterView | None" = None) -> list[dict]:
    reg = register[register["county"] == county]
    view = view or _QuarterView(truth, q)
    p = view.by_county[county].merge(truth.households[["household_code", "county", "village", "relocated"]],
                                     on="household_code")
    out = []
    for r in reg.itertuples(index=False):
        sub = p[p["village"] == r.village]
        scale = 18
        out.append({
            "county": county, "township": r.township, "village": r.village,
            "former_names": r.former_names or None,
            "households_total": int(len(sub) * scale + rng.integers(0, 40)),
            "population_total": int(sub["household_size"].sum() * scale + rng.integers(0, 90)),
            "alleviated_households": int((sub["household_type"] == "脱贫户").sum() * 3 + rng.integers(0, 5)),
            "alleviated_persons": int(sub.loc[sub["household_type"] == "脱贫户", "household_size"].sum() * 3),
            "monitored_households": int((sub["household_type"] == "监测户").sum()),
            "monitored_persons": int(sub.loc[sub["household_type"] == "监测户", "household_size"].sum()),
            "relocated_households": int(sub["relocated"].sum() * 2),
            "relocated_persons": int(sub.loc[sub["relocated"], "household_size"].sum() * 2),
            "collective_income": round(float(rng.uniform(3, 40)), 2),
            "key_village": r.key_village or "否",
        })
    return out


PROJECT_NAMES = {"产业发展": ["花椒基地提升", "茶叶园区建设", "肉牛养殖场", "庭院经济奖补", "食用菌种植基地"],
                 "就业帮扶": ["公益性岗位开发", "就业帮扶车间", "劳务品牌培训"],
                 "基础设施": ["产业路硬化", "人饮工程", "高标准农田配套"],
                 "东西部协作": ["浙川协作示范村", "协作产业园"], "易地搬迁后续扶持": ["安置点配套设施", "安置点就业车间"],
                 "乡村建设": ["和美乡村建设", "人居环境整治"]}


def _projects_rows(q: str, county: str, rng) -> list[dict]:
    year, qn = int(q[:4]), int(q[-1])
    prog = {1: 0.22, 2: 0.48, 3: 0.72, 4: 0.93}[qn]
    crng = np.random.default_rng(COUNTIES.index(county) * 100 + year)
    out = []
    for k in range(1, 19):
        ptype = crng.choice(list(PROJECT_NAMES), p=[0.55, 0.1, 0.15, 0.08, 0.06, 0.06])
        source = crng.choice(["中央衔接资金", "省级衔接资金", "东西部协作资金", "其他"], p=[0.5, 0.3, 0.1, 0.1])
        planned = round(float(crng.uniform(30, 600)), 1)
        speed = float(crng.uniform(0.6, 1.3))
        arrived = round(planned * min(1.0, 0.6 + 0.15 * qn), 1)
        spent = round(arrived * min(1.0, prog * speed * rng.uniform(0.9, 1.1)), 1)
        status = "未开工" if spent == 0 or (prog * speed < 0.25) else ("完工" if spent >= arrived * 0.98 else "在建")
        start = dt.date(year, 3, 1) + dt.timedelta(days=int(crng.integers(0, 120)))
        reached = int(crng.integers(20, 400))
        out.append({
            "project_id": f"{COUNTY_CODES[county]}-{year}-{k:03d}",
            "project_name": f"{county}{year}年{PROJECT_NAMES[ptype][int(crng.integers(len(PROJECT_NAMES[ptype])))]}项目",
            "county": county, "project_type": ptype, "fund_source": source, "planned": planned,
            "funds_arrived": arrived, "spent": spent, "households_reached": reached,
            "persons_reached": int(reached * crng.uniform(2.2, 3.2)),
            "alleviated_reached": int(reached * crng.uniform(0.2, 0.6)),
            "income_increase": round(planned * crng.uniform(0.05, 0.4) * prog, 1),
            "start_date": start if status != "未开工" else None,
            "end_date": (start + dt.timedelta(days=200)) if status == "完工" else None, "status": status,
        })
    return out


def _rectification_rows(q: str, county: str, rng) -> list[dict]:
    year, qn = int(q[:4]), int(q[-1])
    crng = np.random.default_rng(COUNTIES.index(county) * 1000 + year)
    out = []
    n = int(crng.integers(8, 20))
    for k in range(1, n + 1):
        source = crng.choice(["审计反馈", "集中排查", "国省考核"], p=[0.3, 0.5, 0.2])
        found = dt.date(year, 1, 10) + dt.timedelta(days=int(crng.integers(0, 60)))
        fix_q = int(crng.integers(1, 6))
        status = "已整改" if qn >= fix_q else ("整改中" if qn >= fix_q - 2 else "未整改")
        desc = crng.choice(["监测对象识别不精准", "到户产业补助发放不及时", "项目资金支出进度滞后",
                            "公益性岗位管理不规范", "易迁安置点配套设施不完善"])
        if k == 1 and qn == 2:
            desc = f"{desc}（举报人电话1390{int(crng.integers(1000000, 9999999))}）"
        out.append({"problem_id": f"{COUNTY_CODES[county]}-{year}-W{k:02d}", "county": county, "source": source,
                    "description": desc, "found_date": found, "fix_status": status,
                    "fixed_date": (dt.date(year, min(12, 3 * fix_q), 20) if status == "已整改" else None)})
    return out


def _sheet(sheet_spec, rows: list[dict], style: dict, q: str, county: str, names: list[str] | None = None) -> SheetOut:
    cols = [c for c in sheet_spec.columns if names is None or c.name in names]
    titles = [f"{county}{label_zh(q)}{sheet_spec.name}明细表"]
    if style["titles"] >= 2:
        titles.append(f"填报单位：{county}乡村振兴局        单位：元、人、户")
    titles = titles[: style["titles"]]
    extra = list(style["extra_cols"]) if sheet_spec is HOUSEHOLDS else []
    headers = extra + [_header_for(c, style) for c in cols]
    data = [[i + 1 for _ in extra] + [r.get(c.name) for c in cols] for i, r in enumerate(rows)]
    if style["merged"] and sheet_spec is HOUSEHOLDS:
        top = [h if c.header not in INCOME_HEADERS else "" for h, c in zip(headers[len(extra):], cols)]
        top = [""] * len(extra) + top
        first_income = len(extra) + [c.header for c in cols].index(INCOME_HEADERS[0])
        top[first_income] = "收入情况"
        bottom = [""] * len(headers)
        for j, c in enumerate(cols):
            if c.header in INCOME_HEADERS:
                bottom[len(extra) + j] = headers[len(extra) + j]
        merges = [(first_income, first_income + 3, "收入情况")]
        return SheetOut(sheet_spec.name, titles, [top, bottom], data, merges)
    return SheetOut(sheet_spec.name, titles, [headers], data, [])


def _quarter_end(q: str) -> dt.datetime:
    """The last day of the quarter (the creation date the simulated workbooks carry, so that they are reproducible)."""
    year, qn = int(q[:4]), int(q[-1])
    return dt.datetime(year, 3 * qn, 30 if qn in (2, 3) else 31)


def _write_xlsx(path: Path, sheets: list[SheetOut], created: dt.datetime | None = None) -> list[int]:
    """Write sheets with xlsxwriter; returns, per sheet, the Excel row number of the first data row. ``created``
    fixes the workbook's creation date (else now)."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False})
    if created is not None:
        wb.set_properties({"created": created})
    datefmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    bold = wb.add_format({"bold": True, "align": "center", "text_wrap": True})
    firsts = []
    for s in sheets:
        ws = wb.add_worksheet(s.name)
        r = 0
        for t in s.titles:
            ws.write_string(r, 0, t, bold)
            r += 1
        for hi, hrow in enumerate(s.header):
            for j, h in enumerate(hrow):
                if h:
                    ws.write_string(r, j, h, bold)
            if hi == 0 and len(s.header) == 2:
                for (c0, c1, text) in s.merges:
                    ws.merge_range(r, c0, r, c1, text, bold)
            r += 1
        firsts.append(r + 1)
        if not _stream_rows(ws, r, s.rows, datefmt):
            for row in s.rows:
                _write_row_cells(ws, r, row, datefmt)
                r += 1
    wb.close()
    return firsts


def _write_row_cells(ws, r: int, row: list, datefmt) -> None:
    """One data row through xlsxwriter's cell methods: text as text, dates as dates, 是/否 for booleans, numbers."""
    for j, v in enumerate(row):
        if v is None:
            continue
        if isinstance(v, str):
            ws.write_string(r, j, v)
        elif isinstance(v, (dt.date, dt.datetime)):
            ws.write_datetime(r, j, dt.datetime(v.year, v.month, v.day), datefmt)
        elif isinstance(v, (bool, np.bool_)):
            ws.write_string(r, j, "是" if v else "否")
        else:
            ws.write_number(r, j, float(v))


# anything xlsxwriter's _escape_control_characters changes: _xHHHH_ literals, control characters, U+FFFE, U+FFFF
_CONTROL = re.compile("_x[0-9a-fA-F]{4}_|[\x00-\x08\x0b-\x1f\ufffe\uffff]")


def _stream_rows(ws, r0: int, rows: list[list], datefmt) -> bool:
    """Write the data rows from ``r0`` straight into a constant_memory worksheet's row stream: the very XML
    ``_write_row_cells`` makes xlsxwriter write (same cells, same order, same escapes; the tests compare the bytes),
    without its per-cell bookkeeping, which is most of the simulator's time at scale. Returns False (nothing
    written) when the worksheet is not in the plain state this assumes; the caller then writes cell by cell."""
    from xlsxwriter.utility import _utf16_len, _utf16_truncate, xl_col_to_name

    if (not rows or not ws.constant_memory or ws.row_info or ws.col_info or ws.comments
            or ws.previous_row > r0 or r0 + len(rows) > ws.xls_rowmax or ws.excel_version != 2007):
        return False
    width = max(len(row) for row in rows)
    if width > ws.xls_colmax:
        return False
    if ws.previous_row < r0:
        ws._write_single_row(r0)                      # the header's last row, as the first data cell would
    names = [xl_col_to_name(j) for j in range(width)]
    escape_ctl, escape, strmax = ws._escape_control_characters, ws._escape_data, ws.xls_strmax
    date_number = ws._convert_date_time
    date_attr = None
    fh = ws.fh
    cmin, cmax, first, last = None, None, None, None
    for k, row in enumerate(rows):
        r = r0 + k
        cells = []
        n = str(r + 1)
        for j, v in enumerate(row):
            if v is None:
                continue
            ref = names[j] + n
            if isinstance(v, str) or isinstance(v, (bool, np.bool_)):
                text = v if isinstance(v, str) else ("是" if v else "否")
                if len(text) > strmax // 2 and _utf16_len(text) > strmax:
                    text = _utf16_truncate(text, strmax)
                if _CONTROL.search(text):                 # what _escape_control_characters would change
                    text = escape_ctl(text)
                if text.startswith("<r>") and text.endswith("</r>"):
                    cells.append(f'<c r="{ref}" t="inlineStr"><is>{text}</is></c>')
                else:
                    # xlsxwriter's ^\s or \s$: the same test as str.isspace on the first and last character
                    t_attr = ' xml:space="preserve"' if text and (text[0].isspace() or text[-1].isspace()) else ""
                    cells.append(f'<c r="{ref}" t="inlineStr"><is><t{t_attr}>{escape(text)}</t></is></c>')
            elif isinstance(v, (dt.date, dt.datetime)):
                if date_attr is None:
                    date_attr = f' s="{datefmt._get_xf_index()}"' if datefmt is not None else ""
                number = date_number(dt.datetime(v.year, v.month, v.day))
                cells.append(f'<c r="{ref}"{date_attr}><v>{number:.16G}</v></c>')
            else:
                number = float(v)
                if number != number or number in (float("inf"), float("-inf")):
                    raise TypeError("NAN/INF not supported in write_number() without 'nan_inf_to_errors' Workbook() "
                                    "option")
                cells.append(f'<c r="{ref}"><v>{number:.16G}</v></c>')
            cmin = j if cmin is None or j < cmin else cmin
            cmax = j if cmax is None or j > cmax else cmax
        if cells:
            ws._write_row(r, None)
            fh.write("".join(cells))
            ws._xml_end_tag("row")
            first = r if first is None else first
            last = r
    if last is not None:
        ws.dim_rowmin = first if ws.dim_rowmin is None else min(ws.dim_rowmin, first)
        ws.dim_rowmax = last if ws.dim_rowmax is None else max(ws.dim_rowmax, last)
        ws.dim_colmin = cmin if ws.dim_colmin is None else min(ws.dim_colmin, cmin)
        ws.dim_colmax = cmax if ws.dim_colmax is None else max(ws.dim_colmax, cmax)
        ws.previous_row = last
    return True


def _csv_number(v: float) -> str:
    """A number as Excel writes it to CSV: large numbers (a code stored as a number) in E notation."""
    if abs(v) >= 1e15:
        return f"{v:.5E}".replace("E+", "E+")
    return f"{v:.2f}".rstrip("0").rstrip(".")


def _csv_text(s: SheetOut) -> tuple[str, int]:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    for t in s.titles:
        w.writerow([t])
    for h in s.header:
        w.writerow(h)
    for row in s.rows:
        w.writerow(["" if v is None else (v.isoformat() if isinstance(v, (dt.date, dt.datetime)) else
                                          (_csv_number(v) if isinstance(v, float) else v))
                    for v in row])
    return buf.getvalue(), len(s.titles) + len(s.header) + 1


@dataclass
class SubmissionFile:
    """One county's submission for one quarter, drawn and ready to be written: one workbook (``fmt`` "xlsx") or
    one CSV per sheet ("csv-gbk", "csv-utf8") in ``folder``. Writing it draws nothing, so the files of a quarter
    can be written in any order, on any process (``write_file``)."""

    folder: Path
    quarter: str
    county: str
    fmt: str
    sheets: list[SheetOut]

    def names(self) -> list[str]:
        """The file each sheet goes to."""
        if self.fmt == "xlsx":
            return [f"{self.quarter}_{self.county}.xlsx"] * len(self.sheets)
        return [f"{self.quarter}_{self.county}_{s.name}.csv" for s in self.sheets]


def _first_row(s: SheetOut) -> int:
    """The Excel (or CSV) row number of a sheet's first data row: after its title and header rows."""
    return len(s.titles) + len(s.header) + 1


def write_file(f: SubmissionFile) -> int:
    """Write one county's submission for one quarter (the task ``write_submissions`` maps over the engine); returns
    the bytes written."""
    if f.fmt == "xlsx":
        path = f.folder / f.names()[0]
        _write_xlsx(path, f.sheets, created=_quarter_end(f.quarter))
        return path.stat().st_size
    size = 0
    for s, fname in zip(f.sheets, f.names()):
        text, _ = _csv_text(s)
        data = text.encode("gb18030") if f.fmt == "csv-gbk" else ("\ufeff" + text).encode("utf-8")
        (f.folder / fname).write_bytes(data)
        size += len(data)
    return size


class _QuarterView:
    """One quarter of the truth, split by county once (not once per county and sheet): the household rows with
    their household's columns, in the panel's order."""

    def __init__(self, truth: Truth, q: str):
        p = truth.panel[truth.panel["quarter"] == q]
        hh = truth.households.set_index("household_code")
        county = p["household_code"].map(hh["county"])
        self.by_county = {c: p[(county == c).to_numpy()] for c in COUNTIES}
        self.hh = hh


def _draw_files(truth: Truth, out: Path, mess: bool, base: int, rates: dict, quarters: list[str],
                reg: pd.DataFrame, force_xlsx: bool, log: "MessLog"):
    """Draw the county submissions quarter by quarter, county by county, from each quarter's own stream, in the
    order the draws have always been made (so the same seed gives the same files); yield each file ready to write
    and record its damaged rows in ``log``."""
    for q in quarters:
        rng = np.random.default_rng([base, quarter_index(q), _SUBMISSION_STREAM])
        folder = out / q
        folder.mkdir(parents=True, exist_ok=True)
        view = _QuarterView(truth, q)
        for county in COUNTIES:
            style = COUNTY_STYLE[county]
            hrows, notes, names = _household_rows(truth, q, county, style, rng, mess, rates, view)
            # duplicates: an identical copy, and a copy with a different value
            if mess and len(hrows) > 20:
                for kind in ("duplicate", "conflicting_duplicate"):
                    if rng.random() < 0.6:
                        k = int(rng.integers(len(hrows)))
                        if notes[k][0] != "none" or any(r["household_code"] == hrows[k]["household_code"]
                                                         for r in hrows[k + 1:]):
                            continue
                        copy = dict(hrows[k])
                        if kind == "conflicting_duplicate":
                            copy["income_wage"] = round(float(copy["income_wage"]) + 100, 2) if isinstance(copy["income_wage"], float) else copy["income_wage"]
                            copy["income_total"] = round(float(copy["income_total"]) + 100, 2) if isinstance(copy["income_total"], float) else copy["income_total"]
                            notes[k] = ("conflicting_duplicate", "conflicting_duplicate")
                        hrows.insert(k + 1, copy)
                        notes.insert(k + 1, (kind, kind))
            sheets = [_sheet(HOUSEHOLDS, hrows, style, q, county, names),
                      _sheet(VILLAGES, _villages_rows(truth, q, county, reg, rng, view), style, q, county),
                      _sheet(PROJECTS, _projects_rows(q, county, rng), style, q, county)]
            del hrows
            # one county forgets the 问题整改 sheet in one quarter
            if not (mess and county == "南江县" and q.endswith("Q1")):
                sheets.append(_sheet(RECTIFICATIONS, _rectification_rows(q, county, rng), style, q, county))
            fmt = "csv-utf8" if q in style.get("csv_quarters", ()) else style["fmt"]
            fmt = "xlsx" if force_xlsx else fmt
            if fmt == "xlsx" and mess and county == "巴州区":
                sheets.append(SheetOut("填报说明", ["本表由乡镇填报，县乡村振兴局审核。"], [], [], []))
            f = SubmissionFile(folder, q, county, fmt, sheets)
            first, fname = _first_row(sheets[0]), f.names()[0]
            for i, (kind, expected) in enumerate(notes):
                if kind != "none":
                    log.add(q, fname, HOUSEHOLDS.name, first + i, kind, expected)
            yield f


def write_submissions(truth: Truth, out: Path, mess: bool = True, seed: int | None = None,
                      rates: dict | None = None, quarters: list[str] | None = None,
                      register: Path = VILLAGE_REGISTER, force_xlsx: bool = False, engine=None) -> pd.DataFrame:
    """Write one folder per quarter of county submissions; return the log of damaged rows.

    Each quarter's files come from that quarter's own random stream (``seed``, default the truth's), so a quarter
    is written the same whichever other quarters are written with it, and the same bytes every time (workbooks
    carry a fixed creation date). ``force_xlsx`` writes every county as one workbook (no CSV), as the benchmark
    needs.

    Each quarter is one task of ``engine`` (default ``helpers.engine.current()``; ``Engine.map``): it draws its five
    county submissions from the quarter's stream, in the order they have always been drawn, and writes each as soon
    as it is drawn. On the local engine the quarters run one after the other; on Dask side by side on the worker
    processes, each sent only its quarter of the panel (the workers write into ``out`` themselves: on a cluster of
    several machines it must be a folder they all see). The files are the same bytes either way. (The five counties
    of a quarter share the quarter's stream, so splitting a quarter into one task per county would change the
    draws.)"""
    from helpers.engine import current

    engine = engine or current()
    base = truth.seed if seed is None else seed
    rates = DEFAULT_RATES if rates is None else rates
    reg = pd.read_csv(register, dtype=str, keep_default_na=False, encoding="utf-8")
    quarters = list(quarters or truth.quarters)
    args = dict(out=Path(out), mess=mess, base=base, rates=rates, reg=reg, force_xlsx=force_xlsx)
    log = MessLog()
    if not engine.is_dask:
        for q in quarters:
            log.records += write_quarter(_QuarterJob(truth, q, **args))
        return log.frame()
    batch = max(1, engine.workers)               # quarters in flight: their slices of the panel, not the whole of it
    for i in range(0, len(quarters), batch):
        # each slice sent to the workers once as data, not embedded in the task graph (at 2,000,000 households a
        # graph of 3.45 GB, pickled beside the slices, took this process out of memory)
        with lost_workers(engine.client, "simulate"):
            jobs = engine.client.scatter([_QuarterJob(_quarter_truth(truth, q), q, **args)
                                          for q in quarters[i:i + batch]], hash=False)
        for records in engine.map(write_quarter, jobs, label="simulate: quarters written"):
            log.records += records
        del jobs
    return log.frame()


@dataclass
class _QuarterJob:
    """What one task needs to draw and write one quarter's submissions."""

    truth: Truth
    quarter: str
    out: Path
    mess: bool
    base: int
    rates: dict
    reg: pd.DataFrame
    force_xlsx: bool


# the household columns the submissions are drawn from
_SUBMISSION_HOUSEHOLD_COLUMNS = ["household_code", "county", "village", "village_written", "township", "relocated",
                                 "labour", "head_name", "head_id_number", "phone", "industry_type", "employment_type"]


def _quarter_truth(truth: Truth, q: str) -> Truth:
    """The part of the truth a quarter's submissions are drawn from (what a Dask task is sent)."""
    panel = truth.panel[truth.panel["quarter"] == q].reset_index(drop=True)
    return Truth(truth.households[_SUBMISSION_HOUSEHOLD_COLUMNS], panel, pd.DataFrame(), [q], truth.seed)


def write_quarter(job: _QuarterJob) -> list[dict]:
    """Draw and write one quarter's county submissions (one task of ``write_submissions``); returns the records of
    the rows it damaged, in order."""
    log = MessLog()
    for f in _draw_files(job.truth, job.out, job.mess, job.base, job.rates, [job.quarter], job.reg,
                         job.force_xlsx, log):
        write_file(f)
    return log.records


def write_marker(out: Path, households: int, seed: int, first: str, last: str,
                 near_line_share: float = 0.0, mess: bool = True) -> Path:
    """Say, next to the quarter folders, that the submissions are simulated (intake records it and every
    page then says so in a banner), with what drew them (``near_line_share`` only when not 0, ``mess`` only when
    false): ``next_quarter`` reads it to extend the sample."""
    path = Path(out) / SIMULATED_MARKER
    marker = {"simulated": True, "written_by": "workbook simulate", "seed": seed,
              "households": households, "first": first, "last": last}
    if near_line_share:
        marker["near_line_share"] = near_line_share
    if not mess:
        marker["mess"] = False
    path.write_text(json.dumps(marker, indent=1) + "\n", encoding="utf-8")
    return path


TRUTH_COLUMNS = ["household_code", "head_name", "head_id_number", "phone", "county", "township", "village",
                 "household_type0", "relocated", "household_size", "labour", "alpha", "industry_start_i",
                 "employment_start_i", "first_program"]


def write_truth(truth_dir: Path, truth: Truth, damage: pd.DataFrame, households: int, mess: bool = True,
                near_line_share: float = 0.0) -> None:
    """The ground truth of a simulated sample: effects.csv, damaged_rows.csv, households.csv, README.md,
    params.json (``near_line_share`` recorded only when not 0)."""
    truth_dir = Path(truth_dir)
    truth_dir.mkdir(parents=True, exist_ok=True)
    seed, first, last = truth.seed, truth.quarters[0], truth.quarters[-1]
    truth.effects.to_csv(truth_dir / "effects.csv", index=False, encoding="utf-8")
    damage.to_csv(truth_dir / "damaged_rows.csv", index=False, encoding="utf-8")
    truth.households[TRUTH_COLUMNS].to_csv(truth_dir / "households.csv", index=False, encoding="utf-8")
    (truth_dir / "README.md").write_text(
        f"# Simulator ground truth\n\nWritten by `workbook simulate` (seed {seed}, {households} households, "
        f"{first}..{last}).\n\n- `effects.csv`: true ATT by treatment (any, industry, employment), cohort and "
        "event time, on per-capita quarterly income (`att`) and earned income (`att_earned`), 元 per person per quarter, "
        "and on the probability of being below the year's monitoring line (`att_below`, a share: -0.01 is 1 "
        "percentage point lower).\n"
        "- `damaged_rows.csv`: every row the simulator damaged, with the mess and what intake should do.\n"
        "- `households.csv`: the households, with the personal data planted in the submissions (for scans); "
        f"start quarters as known at {last} (-1: no start up to it).\n"
        + (f"\n`near_line_share` {near_line_share}: that share of households has untreated incomes near the "
           "monitoring line; `att_below` in `effects.csv` is the true effect on being below the line "
           "(a difference in probability).\n" if near_line_share else ""),
        encoding="utf-8")
    params = {"seed": seed, "households": households, "first": first, "last": last, "mess": mess}
    if near_line_share:
        params["near_line_share"] = near_line_share
    (truth_dir / "params.json").write_text(json.dumps(params), encoding="utf-8")


def simulate(out: Path, truth_dir: Path | None, households: int = 2500, seed: int = SEED,
             first: str = "2021Q1", last: str = "2023Q2", mess: bool = True, near_line_share: float = 0.0,
             engine=None) -> Truth:
    """Draw the truth and write submissions to ``out`` and the truth to ``truth_dir`` (``near_line_share``: see
    ``simulate_truth``; recorded in params.json and the README only when not 0). ``engine``: where the files are
    written (``write_submissions``: each (county, quarter) file one task; the same bytes on every engine)."""
    truth = simulate_truth(households, seed, first, last, near_line_share=near_line_share)
    damage = write_submissions(truth, Path(out), mess=mess, engine=engine)
    write_marker(Path(out), households, seed, first, last, near_line_share, mess)
    if truth_dir is not None:
        write_truth(Path(truth_dir), truth, damage, households, mess, near_line_share)
    return truth


def read_marker(out: Path) -> dict:
    """What ``SIMULATED.json`` in ``out`` says drew the sample; ``Stop`` when there is none (only a simulated sample
    can be extended) or it cannot be read."""
    from helpers.domain.errors import Stop

    path = Path(out) / SIMULATED_MARKER
    if not path.is_file():
        raise Stop(f"{path} 不存在：只有模拟样本才能续写下一季度。 / {path} does not exist: only a simulated sample "
                   f"(written by workbook simulate) can be extended by a quarter.")
    try:
        marker = json.loads(path.read_text(encoding="utf-8"))
        opts = {"households": int(marker["households"]), "seed": int(marker["seed"]), "first": str(marker["first"]),
                "last": str(marker["last"]), "near_line_share": float(marker.get("near_line_share", 0.0)),
                "mess": bool(marker.get("mess", True))}
        quarter_range(opts["first"], opts["last"])
    except (ValueError, KeyError, TypeError) as exc:
        raise Stop(f"{path}: 无法读取模拟参数 / cannot read what drew the sample ({exc}): simulate it afresh with "
                   f"workbook simulate --out {out}.") from None
    return opts


def _same_file(a: Path, b: Path) -> bool:
    """The same submission: the same bytes, or for a workbook the same parts (its creation date aside)."""
    if a.read_bytes() == b.read_bytes():
        return True
    if a.suffix.lower() != ".xlsx":
        return False
    import zipfile

    try:
        with zipfile.ZipFile(a) as za, zipfile.ZipFile(b) as zb:
            names = sorted(n for n in za.namelist() if n != "docProps/core.xml")
            if names != sorted(n for n in zb.namelist() if n != "docProps/core.xml"):
                return False
            return all(za.read(n) == zb.read(n) for n in names)
    except zipfile.BadZipFile:
        return False


def next_quarter(out: Path, truth_dir: Path | None = None, progress=None, engine=None) -> tuple[str, Truth]:
    """Append the quarter after the last of the simulated sample in ``out``: draw ``first..last+1`` with the options
    ``SIMULATED.json`` records, check that they reproduce every quarter folder already there (else ``Stop``: the
    sample was written by another version of the simulator or edited since), write only the new quarter's folder
    (it appears whole), record the new ``last`` in ``SIMULATED.json``, and write the truth of ``first..last+1`` to
    ``truth_dir`` (None: not written). The existing quarter folders are never written. Returns the new quarter and
    the truth. ``engine``: where the files are written (``write_submissions``)."""
    import os
    import shutil
    import tempfile

    from helpers.domain.errors import Stop

    say = progress or (lambda msg: None)
    out = Path(out)
    opts = read_marker(out)
    old = quarter_range(opts["first"], opts["last"])
    new = index_quarter(quarter_index(opts["last"]) + 1)
    present = sorted(p.name for p in out.iterdir() if p.is_dir() and re.fullmatch(r"\d{4}Q[1-4]", p.name))
    later = [q for q in present if q > opts["last"]]
    if later or (out / new).exists():
        extra = out / (later[0] if later else new)
        raise Stop(f"{extra} 已存在 / already exists, but SIMULATED.json says the sample ends at {opts['last']}: "
                   f"remove {extra} or simulate the sample afresh.")
    missing = [q for q in old if q not in present]
    if missing:
        raise Stop(f"{out}: quarter folder {missing[0]} of the simulated sample ({opts['first']}..{opts['last']}, "
                   f"SIMULATED.json) is missing: simulate the sample afresh.")
    truth = simulate_truth(opts["households"], opts["seed"], opts["first"], new,
                           near_line_share=opts["near_line_share"])
    with tempfile.TemporaryDirectory(prefix=".simulate-", dir=out) as tmp:
        tmp = Path(tmp)
        say(f"checking that the recorded options reproduce {opts['first']}..{opts['last']}")
        damage_old = []
        for q in old:           # quarter by quarter (each from its own stream): the first difference stops
            damage_old.append(write_submissions(truth, tmp, mess=opts["mess"], quarters=[q], engine=engine))
            have = sorted(p.name for p in (out / q).iterdir() if p.is_file())
            want = sorted(p.name for p in (tmp / q).iterdir())
            bad = sorted(set(have) ^ set(want)) or [f for f in want if not _same_file(out / q / f, tmp / q / f)]
            if bad:
                raise Stop(f"{out / q / bad[0]} 与记录的模拟参数不符，不能续写 / is not what the options recorded in "
                           f"SIMULATED.json write (seed {opts['seed']}, {opts['households']} households): the sample was "
                           f"written by another version of workbook simulate or changed since, so it cannot be "
                           f"extended; simulate it afresh (workbook simulate --out {out} --last {new} ...).")
            shutil.rmtree(tmp / q)
        say(f"writing {new}")
        damage_new = write_submissions(truth, tmp, mess=opts["mess"], quarters=[new], engine=engine)
        os.replace(tmp / new, out / new)
    write_marker(out, opts["households"], opts["seed"], opts["first"], new, opts["near_line_share"], opts["mess"])
    if truth_dir is not None:
        write_truth(Path(truth_dir), truth, pd.concat([*damage_old, damage_new], ignore_index=True),
                    opts["households"], opts["mess"], opts["near_line_share"])
    return new, truth
