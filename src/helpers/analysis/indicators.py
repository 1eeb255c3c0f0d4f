"""The quarter's indicators (analysis.md, section Indicators), each defined once, here.

Every indicator has a key (its Chinese and English names are in the label catalogue,
``domain.labels``), a unit, a kind (count, rate, amount, ratio), its formula and, where policy
sets one, the config key of its threshold
(config/indicators.yaml; thresholds never live in code). ``compute`` returns one tidy table:
a row per quarter, county (and 全市, the city), indicator and category, with the value, its
numerator and denominator, a status (``ok``, ``unknown``: too few quarters observed,
``no_data``: the county did not send what it needs), the threshold and whether it is met.
docs/indicators.md is rendered from ``INDICATORS`` by ``render_markdown``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from helpers.config import CONFIG_DIR, Paths
from helpers.domain.labels import label
from helpers.domain.dictionary import COUNTIES, EMPLOYMENT_SUPPORT, MONITOR_TYPES, PROBLEM_SOURCES, PROJECT_TYPES
from helpers.store.exports import write_people_csv
from helpers.store.codehash import code_hash
from helpers.domain.quarters import previous, quarter_range

CITY = "全市"
ALL = ""          # category of a county's total


@dataclass(frozen=True)
class Indicator:
    key: str
    unit: str          # Chinese unit, a key of the label catalogue's "unit" kind
    kind: str          # count | rate | pp (difference of two rates, in percentage points) | amount | ratio
    formula: str
    threshold: str = ""   # config key / rule, or "" when none
    section: str = ""
    meets: str = ""       # how ``met`` compares the value with the threshold: ">=", ">" or "=="

    # The names live in the label catalogue (domain.labels, kind "indicator"); these are for
    # docs/indicators.md, which lists both.
    @property
    def zh(self) -> str:
        return label("indicator", self.key, "zh")

    @property
    def en(self) -> str:
        return label("indicator", self.key, "en")


_I = Indicator
INDICATORS: dict[str, Indicator] = {i.key: i for i in [
    _I("monitored_households", "户", "count", "户类型为监测户且风险未消除的户数", section="monitoring"),
    _I("monitored_persons", "人", "count", "上述农户的家庭人口之和", section="monitoring"),
    _I("new_monitored", "户", "count", "本季度为监测户、此前各季度均不是监测户的户数；首个季度为“未知”", section="monitoring"),
    _I("risk_eliminated", "户", "count", "户类型为监测户且风险已消除的户数（累计）", section="monitoring"),
    _I("eliminated_this_quarter", "户", "count", "风险消除日期在本季度内的监测户数", section="monitoring"),
    _I("elimination_rate", "%", "rate", "已消除风险户数 / 全部监测户数", section="monitoring"),
    _I("missed_monitoring", "户", "count", "近四个季度人均纯收入之和低于当年监测线、且未纳入监测（或已消除风险）的户数；不足四个季度为“未知”",
       "monitoring_line（每年）；政策要求为0（无一人漏测失帮）", section="monitoring", meets="=="),
    _I("missed_monitoring_rate", "%", "rate", "疑似漏测户数 / 收入可判断的农户数", "应为0", section="monitoring", meets="=="),
    _I("eliminated_below_line", "户", "count", "已消除风险、但近四个季度人均纯收入之和低于监测线的监测户数", "monitoring_line", section="monitoring"),
    _I("income_unknown", "户", "count", "近四个季度未全部观察到的户数（按“未知”处理，不算低于监测线）", section="monitoring"),
    _I("alleviated_income_growth", "%", "rate", "两个窗口都在的脱贫户：近四季度人均纯收入均值 / 上年同期四季度均值 − 1；区间为按村自助抽样",
       "official_rural_income_growth（当年农村居民人均可支配收入增速）", section="income", meets=">"),
    _I("general_income_growth", "%", "rate", "同上，一般农户", section="income"),
    _I("income_growth_gap", "个百分点", "pp", "脱贫户增速 − 一般农户增速（两个百分比之差，单位为百分点）", "大于0（脱贫户增速快于农村居民）",
       section="income", meets=">"),
    _I("workers", "人", "count", "本季度务工人数之和，按就业帮扶类型（“无”为未享受就业帮扶的农户）；县区未报送务工人数列为“无数据”，"
       "全市合计只含报送了该列的县区", section="employment"),
    _I("workers_change", "%", "rate", "本季度务工人数 / 上年同季度 − 1；全市只含两个季度都报送了务工人数的县区", section="employment"),
    _I("spending_progress", "%", "rate", "中央和省级衔接资金（linking_fund_sources）项目的已支出 / 到位资金（本季度项目台账）；其他来源的项目不计入",
       "spending_milestones（本季度时序目标）", section="funds", meets=">="),
    _I("industry_share", "%", "rate", "中央和省级衔接资金中产业发展项目的到位资金 / 中央和省级衔接资金到位资金之和",
       "industry_share_threshold（当年）", section="funds", meets=">="),
    _I("projects_not_started", "个", "count", "项目状态为未开工的项目数", section="funds"),
    _I("projects_behind", "个", "count", "在建项目中支出进度低于本季度时序目标的项目数", "spending_milestones", section="funds"),
    _I("households_reached", "户", "count", "按项目类型的带动户数之和", section="funds"),
    _I("persons_reached", "人", "count", "按项目类型的带动人数之和", section="funds"),
    _I("income_per_wan", "元/万元", "ratio", "增收金额 / 已支出（万元），按项目类型", section="funds"),
    _I("problems_found", "个", "count", "问题整改台账中的问题数，按来源", section="problems"),
    _I("problems_fixed", "个", "count", "整改状态为已整改的问题数", section="problems"),
    _I("fixing_rate", "%", "rate", "已整改问题数 / 发现问题数", section="problems"),
    _I("data_quality", "%", "rate", "四项之均值：入库行占报送行的比例、可选列齐全的比例、应报工作表齐全的比例、无需市局更正的行的比例"
       "（analysis/quality.py；composite 权重默认为0）", section="data"),
]}


def load_config(path: Path | None = None) -> dict:
    """config/indicators.yaml (or another file with the same keys)."""
    with open(path or CONFIG_DIR / "indicators.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@dataclass
class Inputs:
    """The processed tables the indicators need."""

    hq: pd.DataFrame
    projects: pd.DataFrame
    rectifications: pd.DataFrame
    log: pd.DataFrame

    @classmethod
    def load(cls, paths: Paths | None = None, quarter: str | None = None) -> "Inputs":
        """The tables in ``paths.processed`` (analysis never runs intake: helpers.pipeline.artifacts builds
        missing processed tables)."""
        paths = paths or Paths()
        if not (paths.processed / "household_quarters.parquet").exists():
            raise FileNotFoundError(f"{paths.processed / 'household_quarters.parquet'} does not exist: run `workbook "
                                    "intake`, or ask helpers.pipeline.artifacts (it builds missing processed tables)")
        cols = ["household_id", "quarter", "county", "village", "household_type", "monitor_type", "risk_eliminated",
                "risk_eliminated_date", "household_size", "income_per_capita", "employment_support", "workers"]
        read = lambda n, c=None, **kw: pd.read_parquet(paths.processed / f"{n}.parquet", columns=c, **kw)  # noqa: E731
        # Codes, places and types as categoricals: at city scale, filtering and grouping millions of
        # household-quarters then moves small integers instead of text.
        names = ["household_id", "county", "village", "household_type", "monitor_type", "employment_support"]
        return cls(read("household_quarters", cols, read_dictionary=names), read("projects"), read("rectifications"),
                   read("intake_log"))


def _row(quarter, county, key, value, num=np.nan, den=np.nan, category=ALL, status="ok", threshold=np.nan,
         met=pd.NA, low=np.nan, high=np.nan):
    return dict(quarter=quarter, county=county, indicator=key, category=category, value=value, numerator=num,
                denominator=den, ci_low=low, ci_high=high, status=status, threshold=threshold, met=met)


def _units(frame: pd.DataFrame, counties) -> list[tuple[str, pd.DataFrame]]:
    """(county, rows) for each county and the city."""
    out = [(c, frame[frame["county"] == c]) for c in counties]
    out.append((CITY, frame[frame["county"].isin(counties)]))
    return out


def _sent(log: pd.DataFrame, quarter: str, sheet: str) -> set[str]:
    q = log[(log["quarter"] == quarter) & (log["sheet"] == sheet)]
    return set(q.loc[~q["missing_sheet"].astype(bool), "county"])


# ---------------------------------------------------------------------------------------
def monitoring(inp: Inputs, quarter: str, counties, cfg: dict) -> list[dict]:
    """Monitoring counts, new entrants, risk elimination, by monitoring category."""
    hq = inp.hq
    cur = hq[hq["quarter"] == quarter]
    mon = cur[cur["household_type"] == "监测户"]
    earlier = hq[(hq["quarter"] < quarter) & (hq["household_type"] == "监测户")]["household_id"].unique()
    mon = mon.assign(new=~mon["household_id"].isin(earlier))      # once: isin on text is slow
    first_quarter = hq["quarter"].min() == quarter
    qstart = pd.Timestamp(int(quarter[:4]), 3 * int(quarter[-1]) - 2, 1)
    qend = qstart + pd.offsets.QuarterEnd(0)
    rows = []
    for county, m in _units(mon, counties):
        for cat in (ALL, *MONITOR_TYPES):
            mm = m if cat == ALL else m[m["monitor_type"] == cat]
            elim = mm["risk_eliminated"].fillna(False).astype(bool)
            active = mm[~elim]
            rows.append(_row(quarter, county, "monitored_households", len(active), category=cat))
            rows.append(_row(quarter, county, "monitored_persons", float(active["household_size"].sum()), category=cat))
            new = mm["new"].sum()
            rows.append(_row(quarter, county, "new_monitored", np.nan if first_quarter else int(new), category=cat,
                             status="unknown" if first_quarter else "ok"))
            rows.append(_row(quarter, county, "risk_eliminated", int(elim.sum()), category=cat))
            d = mm["risk_eliminated_date"]
            rows.append(_row(quarter, county, "eliminated_this_quarter", int(((d >= qstart) & (d <= qend)).sum()),
                             category=cat))
            rows.append(_row(quarter, county, "elimination_rate", elim.sum() / len(mm) if len(mm) else np.nan,
                             int(elim.sum()), len(mm), category=cat, status="ok" if len(mm) else "unknown"))
    return rows


def income_test(hq: pd.DataFrame, quarter: str, cfg: dict) -> pd.DataFrame:
    """Per household present in ``quarter``: trailing four-quarter per-capita income, the year's
    monitoring line, and below / unknown (fewer than four quarters observed is unknown, not below)."""
    window = quarter_range(previous(quarter, 3), quarter)
    w = hq[hq["quarter"].isin(window)]
    g = w.groupby("household_id")
    t4 = g["income_per_capita"].sum()
    n = g.size()
    cur = hq[hq["quarter"] == quarter].set_index("household_id")
    line = cfg["monitoring_line"].get(int(quarter[:4]))
    out = cur[["county", "village", "household_type", "risk_eliminated"]].copy()
    out["t4_income"] = t4.reindex(out.index)
    out["known"] = n.reindex(out.index).fillna(0).to_numpy() == 4
    out["line"] = np.nan if line is None else float(line)
    out["below"] = out["known"] & (out["t4_income"] < out["line"])
    eliminated = out["risk_eliminated"].fillna(False).astype(bool)
    out["monitored"] = (out["household_type"] == "监测户") & ~eliminated
    out["missed"] = out["below"] & ~out["monitored"]
    out["eliminated_below"] = out["below"] & (out["household_type"] == "监测户") & eliminated
    return out


def missed_monitoring(inp: Inputs, quarter: str, counties, cfg: dict) -> list[dict]:
    """漏测 counts (shared outputs show counts only) and risk eliminated while below the line."""
    t = income_test(inp.hq, quarter, cfg)
    no_line = int(quarter[:4]) not in cfg["monitoring_line"]
    rows = []
    for county, x in _units(t.reset_index(), counties):
        known = int(x["known"].sum())
        st = "unknown" if no_line or known == 0 else "ok"
        missed = int(x["missed"].sum())
        rows.append(_row(quarter, county, "missed_monitoring", missed if st == "ok" else np.nan, status=st,
                         threshold=0, met=(missed == 0) if st == "ok" else pd.NA))
        rows.append(_row(quarter, county, "missed_monitoring_rate", missed / known if st == "ok" else np.nan, missed, known,
                         status=st, threshold=0, met=(missed == 0) if st == "ok" else pd.NA))
        rows.append(_row(quarter, county, "eliminated_below_line", int(x["eliminated_below"].sum()) if st == "ok" else np.nan,
                         status=st))
        rows.append(_row(quarter, county, "income_unknown", int((~x["known"]).sum())))
    return rows


def missed_monitoring_list(inp: Inputs, quarter: str, cfg: dict, paths: Paths) -> Path:
    """The household list evaluators act on, re-identified with 户编码, to private/<quarter>/ only."""
    t = income_test(inp.hq, quarter, cfg)
    flagged = t[t["missed"] | t["eliminated_below"]].reset_index()
    codes_path = paths.private / quarter / "household_codes.parquet"
    if codes_path.exists():
        flagged = flagged.merge(pd.read_parquet(codes_path), on="household_id", how="left")
    flagged["问题"] = np.where(flagged["missed"], "疑似漏测", "已消除风险但收入低于监测线")
    out = paths.private / quarter / "missed_monitoring.csv"
    cols = [c for c in ("户编码", "household_id", "county", "village", "household_type", "t4_income", "line", "问题")
            if c in flagged.columns]
    write_people_csv(flagged[cols], out)        # formula cells neutralized, UTF-8 with BOM, 0600 in a 0700 folder
    return out


def income_growth(inp: Inputs, quarter: str, counties, cfg: dict) -> list[dict]:
    """两个收入增速 for 脱贫户 and 一般农户, with intervals by bootstrap over villages."""
    hq = inp.hq
    now_w = quarter_range(previous(quarter, 3), quarter)
    before_w = quarter_range(previous(quarter, 7), previous(quarter, 4))
    year = int(quarter[:4])
    official = cfg.get("official_rural_income_growth", {}).get(year)
    official_v = official["value"] if official else np.nan
    rows = []
    if before_w[0] < hq["quarter"].min():
        for county, _ in _units(hq.head(0), counties):
            for key in ("alleviated_income_growth", "general_income_growth", "income_growth_gap"):
                rows.append(_row(quarter, county, key, np.nan, status="unknown"))
        return rows
    w = hq[hq["quarter"].isin(now_w + before_w)]
    g = w.groupby("household_id")
    full = g.size() == 8
    per = pd.DataFrame({
        "now": w[w["quarter"].isin(now_w)].groupby("household_id")["income_per_capita"].sum(),
        "before": w[w["quarter"].isin(before_w)].groupby("household_id")["income_per_capita"].sum(),
    })[full]
    cur = hq[hq["quarter"] == quarter].set_index("household_id")[["county", "village", "household_type"]]
    per = per.join(cur, how="inner")
    boot = cfg.get("bootstrap", {})
    rng = np.random.default_rng(boot.get("seed", 20230711))
    draws = int(boot.get("draws", 999))
    for county, x in _units(per.reset_index(), counties):
        villages = sorted(x["village"].unique())
        vidx = pd.Series(range(len(villages)), index=villages)
        sums = {}
        for grp in ("脱贫户", "一般农户"):
            s = x[x["household_type"] == grp].groupby("village")[["now", "before"]].sum()
            sums[grp] = s.reindex(villages).fillna(0.0)
        if len(villages) == 0 or sums["脱贫户"]["before"].sum() == 0 or sums["一般农户"]["before"].sum() == 0:
            for key in ("alleviated_income_growth", "general_income_growth", "income_growth_gap"):
                rows.append(_row(quarter, county, key, np.nan, status="unknown"))
            continue
        counts = np.stack([np.bincount(rng.integers(0, len(villages), len(villages)), minlength=len(villages))
                           for _ in range(draws)])
        est, bs = {}, {}
        for grp in ("脱贫户", "一般农户"):
            a, b = sums[grp]["now"].to_numpy(), sums[grp]["before"].to_numpy()
            est[grp] = a.sum() / b.sum() - 1
            with np.errstate(invalid="ignore", divide="ignore"):
                bs[grp] = (counts @ a) / (counts @ b) - 1
        gap_bs = bs["脱贫户"] - bs["一般农户"]
        n_alle = int((x["household_type"] == "脱贫户").sum())
        n_gen = int((x["household_type"] == "一般农户").sum())
        q = lambda v: (np.nanpercentile(v, 2.5), np.nanpercentile(v, 97.5))  # noqa: E731
        lo, hi = q(bs["脱贫户"])
        rows.append(_row(quarter, county, "alleviated_income_growth", est["脱贫户"], den=n_alle, low=lo, high=hi,
                         threshold=official_v, met=(est["脱贫户"] > official_v) if official else pd.NA))
        lo, hi = q(bs["一般农户"])
        rows.append(_row(quarter, county, "general_income_growth", est["一般农户"], den=n_gen, low=lo, high=hi))
        gap = est["脱贫户"] - est["一般农户"]
        lo, hi = q(gap_bs)
        rows.append(_row(quarter, county, "income_growth_gap", gap, den=n_alle, low=lo, high=hi, threshold=0.0,
                         met=gap > 0))
    return rows


def employment(inp: Inputs, quarter: str, counties, cfg: dict) -> list[dict]:
    """Members in work by employment-support type, against the same quarter last year."""
    hq = inp.hq
    last = previous(quarter, 4)
    rows = []
    cur_all, old_all = hq[hq["quarter"] == quarter], hq[hq["quarter"] == last]
    sent_now_c = set(cur_all.loc[cur_all["workers"].notna(), "county"]) & set(counties)
    sent_old_c = set(old_all.loc[old_all["workers"].notna(), "county"]) & set(counties)
    for county in [*counties, CITY]:
        sel = hq["county"].isin(counties) if county == CITY else hq["county"] == county
        cur = hq[sel & (hq["quarter"] == quarter)]
        old = hq[sel & (hq["quarter"] == last)]
        sent_now = cur["workers"].notna().any()
        sent_old = old["workers"].notna().any()
        if county == CITY and sent_now and sent_old:
            # The city's change compares like with like: only counties that sent the column in both quarters
            # (the presentation says which counties the city's figures cover).
            both = sent_now_c & sent_old_c
            cur_chg, old_chg = cur[cur["county"].isin(both)], old[old["county"].isin(both)]
        else:
            cur_chg, old_chg = cur, old
        for cat in (ALL, *EMPLOYMENT_SUPPORT):
            c = cur if cat == ALL else cur[cur["employment_support"] == cat]
            o = old if cat == ALL else old[old["employment_support"] == cat]
            if not sent_now:
                rows.append(_row(quarter, county, "workers", np.nan, category=cat, status="no_data"))
                rows.append(_row(quarter, county, "workers_change", np.nan, category=cat, status="no_data"))
                continue
            now_v = float(c["workers"].sum())
            rows.append(_row(quarter, county, "workers", now_v, category=cat))
            if not sent_old:
                rows.append(_row(quarter, county, "workers_change", np.nan, category=cat,
                                 status="unknown" if old.empty else "no_data"))
            else:
                c2 = cur_chg if cat == ALL else cur_chg[cur_chg["employment_support"] == cat]
                o2 = old_chg if cat == ALL else old_chg[old_chg["employment_support"] == cat]
                now_c, before = float(c2["workers"].sum()), float(o2["workers"].sum())
                rows.append(_row(quarter, county, "workers_change", now_c / before - 1 if before else np.nan,
                                 now_c, before, category=cat, status="ok" if before else "unknown"))
    return rows


def funds(inp: Inputs, quarter: str, counties, cfg: dict) -> list[dict]:
    """Spending progress and industry share of the linking funds (中央 and 省级衔接资金, ``linking_fund_sources``),
    projects not started or behind, reach, income per 万元 (these four over every project)."""
    p = inp.projects[inp.projects["quarter"] == quarter]
    sent = _sent(inp.log, quarter, "项目资金")
    milestone = cfg["spending_milestones"][int(quarter[-1])]
    share_cfg = cfg.get("industry_share_threshold", {}).get(int(quarter[:4]))
    linking = cfg["linking_fund_sources"]
    rows = []
    for county in [*counties, CITY]:
        have = (set(counties) & sent) if county == CITY else ({county} & sent)
        if not have:
            for key in ("spending_progress", "industry_share", "projects_not_started", "projects_behind"):
                rows.append(_row(quarter, county, key, np.nan, status="no_data"))
            continue
        x = p[p["county"].isin(have)]
        lk = x[x["fund_source"].isin(linking)]          # 衔接资金: the linking funds both fund indicators name
        arrived, spent = lk["funds_arrived"].sum(), lk["spent"].sum()
        prog = spent / arrived if arrived else np.nan
        rows.append(_row(quarter, county, "spending_progress", prog, spent, arrived, threshold=milestone,
                         met=(prog >= milestone) if arrived else pd.NA, status="ok" if arrived else "unknown"))
        ind = lk.loc[lk["project_type"] == "产业发展", "funds_arrived"].sum()
        tot = lk["funds_arrived"].sum()
        share = ind / tot if tot else np.nan
        rows.append(_row(quarter, county, "industry_share", share, ind, tot,
                         threshold=share_cfg["value"] if share_cfg else np.nan,
                         met=(share >= share_cfg["value"]) if share_cfg and tot else pd.NA,
                         status="ok" if tot else "unknown"))
        rows.append(_row(quarter, county, "projects_not_started", int((x["status"] == "未开工").sum()), den=len(x)))
        building = x[x["status"] == "在建"]
        behind = (building["spent"] / building["funds_arrived"].where(building["funds_arrived"] > 0)) < milestone
        rows.append(_row(quarter, county, "projects_behind", int(behind.sum()), den=len(building), threshold=milestone))
        for t in PROJECT_TYPES:
            y = x[x["project_type"] == t]
            if y.empty:
                continue
            rows.append(_row(quarter, county, "households_reached", float(y["households_reached"].sum()), category=t))
            rows.append(_row(quarter, county, "persons_reached", float(y["persons_reached"].sum()), category=t))
            wan = y["spent"].sum() / 10000
            rows.append(_row(quarter, county, "income_per_wan", y["income_increase"].sum() / wan if wan else np.nan,
                             y["income_increase"].sum(), wan, category=t, status="ok" if wan else "unknown"))
    return rows


def problems(inp: Inputs, quarter: str, counties, cfg: dict) -> list[dict]:
    """Problems found and fixed and the fixing rate, by source."""
    r = inp.rectifications[inp.rectifications["quarter"] == quarter]
    sent = _sent(inp.log, quarter, "问题整改")
    rows = []
    for county in [*counties, CITY]:
        have = (set(counties) & sent) if county == CITY else ({county} & sent)
        for cat in (ALL, *PROBLEM_SOURCES):
            if not have:
                for key in ("problems_found", "problems_fixed", "fixing_rate"):
                    rows.append(_row(quarter, county, key, np.nan, category=cat, status="no_data"))
                continue
            x = r[r["county"].isin(have)]
            x = x if cat == ALL else x[x["source"] == cat]
            found, fixed = len(x), int((x["fix_status"] == "已整改").sum())
            rows.append(_row(quarter, county, "problems_found", found, category=cat))
            rows.append(_row(quarter, county, "problems_fixed", fixed, category=cat))
            rows.append(_row(quarter, county, "fixing_rate", fixed / found if found else np.nan, fixed, found,
                             category=cat, status="ok" if found else "unknown"))
    return rows


def data_quality(inp: Inputs, quarter: str, counties, cfg: dict) -> list[dict]:
    """数据质量得分: ``analysis.quality``'s score of the quarter's submissions (the city's from the summed rows,
    columns and sheets of its counties, never an average of county scores); no_data for a county that sent nothing."""
    from helpers.analysis.quality import quality

    log = inp.log[inp.log["quarter"] == quarter]
    accounted = {"rows_in", "rows_quarantined", "corrections", "missing_sheet"} <= set(log.columns)
    rows = []
    for county, x in _units(log, counties):
        if not len(x) or not accounted:          # nothing sent, or a log without the row accounting
            rows.append(_row(quarter, county, "data_quality", np.nan, status="no_data"))
            continue
        q = quality(x.assign(county=county)).iloc[0]
        rows.append(_row(quarter, county, "data_quality", float(q["score"]), den=float(q["rows_in"])))
    return rows


SECTIONS = (monitoring, missed_monitoring, income_growth, employment, funds, problems, data_quality)
# A rate (or a difference of rates) on fewer than this many households or items is too small to show, to judge
# against a standard or to rank on (analysis.md, disclosure): its verdict is unknown and the composite leaves it out.
MIN_RATE_DENOMINATOR = 10


def judgeable(indicators: pd.DataFrame) -> pd.Series:
    """The rows whose value may be shown, judged and ranked: every count, and rates whose denominator is at least
    ``MIN_RATE_DENOMINATOR`` (or has none)."""
    if "denominator" not in indicators:
        return pd.Series(True, index=indicators.index)
    kind = indicators["indicator"].map(lambda k: INDICATORS[k].kind if k in INDICATORS else "")
    den = pd.to_numeric(indicators["denominator"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    small = kind.isin(["rate", "pp"]).to_numpy() & (den < MIN_RATE_DENOMINATOR)
    return pd.Series(~small, index=indicators.index)


def compute(inp: Inputs, quarter: str, cfg: dict | None = None, counties=None) -> pd.DataFrame:
    """Every indicator for one quarter, by county and for the city, as one tidy table."""
    cfg = cfg or load_config()
    counties = [c for c in COUNTIES if counties is None or c in counties]
    rows = []
    for section in SECTIONS:
        rows.extend(section(inp, quarter, counties, cfg))
    out = pd.DataFrame(rows)
    out["met"] = out["met"].astype("boolean")
    for c in ("value", "numerator", "denominator", "ci_low", "ci_high", "threshold"):
        out[c] = out[c].astype("float64")
    out.loc[~judgeable(out), "met"] = pd.NA            # too few to judge: no verdict (nor a colour, nor a rank)
    return out


def _cache_key(processed: Path, quarter: str, cfg: dict, counties) -> str | None:
    """What a quarter's indicators depend on: the intake of every quarter up to it, the config,
    the counties and the code (this module and what it imports, ``store.codehash``). None when the intake cache
    is not there."""
    import hashlib
    import json

    stamps = []
    for qdir in sorted((processed / "_cache").glob("*")):
        if qdir.name <= quarter:
            stamp = qdir / "cache.json"
            if not stamp.exists():
                return None
            stamps.append((qdir.name, json.loads(stamp.read_text(encoding="utf-8"))["key"]))
    if not stamps:
        return None
    parts = {"intake": stamps, "config": cfg, "counties": list(counties or []),
             "code": code_hash(__name__)}
    return hashlib.sha256(json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()[:24]


def compute_trend(inp: Inputs, quarter: str, cfg: dict | None = None, counties=None, quarters: int = 6,
                  cache: Path | None = None) -> pd.DataFrame:
    """``compute`` for the quarter and the previous quarters in the data (up to ``quarters`` in all).

    With ``cache`` (the processed folder), each quarter's indicators are kept in
    ``<processed>/_indicators/`` under a key of everything they depend on, so a quarterly
    re-run computes only the new quarter."""
    from helpers.store.storage import write_table

    cfg = cfg or load_config()
    available = sorted(q for q in inp.hq["quarter"].unique() if q <= quarter)[-quarters:]
    parts = []
    for q in available:
        key = _cache_key(cache, q, cfg, counties) if cache is not None else None
        path = cache / "_indicators" / f"{q}_{key}.parquet" if key else None
        if path is not None and path.exists():
            part = pd.read_parquet(path)
        else:
            part = compute(inp, q, cfg, counties)
            if path is not None:
                for old in path.parent.glob(f"{q}_*.parquet"):
                    old.unlink()
                write_table(part, path, ["quarter", "county", "indicator", "category"], f"indicators {q}")
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def render_markdown() -> str:
    """docs/indicators.md, generated from INDICATORS."""
    names = {"monitoring": "防返贫动态监测 / Monitoring", "income": "收入 / Income", "employment": "就业 / Employment",
             "funds": "资金项目 / Funds and projects", "problems": "问题整改 / Problems",
             "data": "数据质量 / Data quality"}
    lines = ["# Indicators / 指标", "",
             "Generated by `python -m helpers.analysis.indicators` from `src/helpers/analysis/indicators.py`; do not edit by hand.",
             "Thresholds, lines and milestones are in `config/indicators.yaml`; the composite score's indicators, "
             "directions and weights in `config/composite.yaml`.", "",
             "Every indicator is computed per county and for the city (全市, from the summed counts, never an "
             "average of county rates). Status `unknown` means too few quarters observed (e.g. fewer than four for "
             "the income test); `no_data` means the county did not send what the indicator needs.", "",
             "Disclosure rule for everything shared: counts under 5 show “<5”, rates whose denominator is under 10 "
             "show “—”, and no table has household rows.", ""]
    for sec, title in names.items():
        lines += [f"## {title}", "", "| key | 指标 | indicator | unit | formula / 计算方法 | threshold / 标准 |",
                  "|---|---|---|---|---|---|"]
        for i in INDICATORS.values():
            if i.section == sec:
                lines.append(f"| `{i.key}` | {i.zh} | {i.en} | {i.unit} | {i.formula} | {i.threshold or '—'} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    from helpers.config import DOCS

    (DOCS / "indicators.md").write_text(render_markdown(), encoding="utf-8")
    print(f"wrote {DOCS / 'indicators.md'}")
