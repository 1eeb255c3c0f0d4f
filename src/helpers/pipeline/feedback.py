"""The county feedback loop: one private workbook per county and quarter of what the city found.

``private/<quarter>/反馈/<quarter>_<县>_核实清单.xlsx``, three sheets, each row something the county
can find and fix in its own file:

- 暂存行 (rows set aside): every row intake set aside, with the file, the sheet, the row number as the
  clerk sees it in Excel, the column at fault, the value as typed, the reason and what to do;
- 疑似漏测 (suspected missed monitoring): households whose per-capita income over the last four quarters
  is below the year's monitoring line while they are not monitored (or their risk was marked eliminated),
  with the rule that flagged them (``analysis.indicators.income_test``, the rule of the 漏测 indicator);
- 警告 (warnings): missing sheets, missing optional columns, extra sheets or columns, no submission.

It holds the county's own household codes (it is their data) and nothing of other counties. It lives under
``private/`` (0700 folder, 0600 file), never in ``reports/``; text cells that would start a formula are
neutralized (``store.exports.xlsx_bytes``). Built from what intake wrote (``private/<q>/quarantine.parquet``,
``household_codes.parquet``, the processed ``intake_log`` and ``household_quarters``), so it never re-reads
the submissions.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from helpers.analysis.indicators import income_test, load_config
from helpers.config import Paths
from helpers.domain.dictionary import COUNTIES
from helpers.domain.reasons import action
from helpers.store.exports import private_dir, write_people_xlsx

FOLDER = "反馈"
SHEETS = ("暂存行", "疑似漏测", "警告")
ROWS_COLUMNS = ["来源文件", "工作表", "行号", "户编码", "有问题的列", "填写的值", "原因", "说明", "处理建议"]
MISSED_COLUMNS = ["户编码", "乡镇(街道)", "行政村", "户类型", "近四季度人均纯收入（元）", "当年监测线（元/人·年）", "问题", "判断规则"]
WARNING_COLUMNS = ["来源文件", "工作表", "警告"]


def feedback_path(paths: Paths, quarter: str, county: str) -> Path:
    """Where the county's feedback workbook for the quarter is written."""
    return paths.private / quarter / FOLDER / f"{quarter}_{county}_核实清单.xlsx"


def _typed(values: str | None, columns: str | None) -> str:
    """The value(s) as typed in the columns at fault (``header: value``; the whole row for a subtotal row)."""
    try:
        cells = json.loads(values) if isinstance(values, str) and values else {}
    except ValueError:
        cells = {}
    wanted = [c for c in (columns or "").split("、") if c]
    if not wanted:
        return "；".join(f"{k}: {v}" for k, v in list(cells.items())[:4])
    shown = [(c, cells.get(c)) for c in wanted if c in cells]
    if len(wanted) == 1:
        return "" if not shown or shown[0][1] is None else str(shown[0][1])
    return "；".join(f"{c}: {'' if v is None else v}" for c, v in shown)


def rows_set_aside(quarantine: pd.DataFrame, county: str) -> pd.DataFrame:
    """The 暂存行 sheet of one county: every row set aside from its files, in file and row order."""
    q = quarantine[quarantine["county"] == county].sort_values(["source_file", "sheet", "row"], kind="stable")
    code = q["户编码"] if "户编码" in q.columns else pd.Series("", index=q.index)
    column = q["column"].fillna("") if "column" in q.columns else pd.Series("", index=q.index)
    # the household code is personal, so not among the typed values: shown from its own column, whatever the county's
    # header for it (户编码, 户编号, ...)
    coded = q["reason"].isin(["household_code", "duplicate", "conflicting_duplicate"]).to_numpy()
    typed = [c if is_code else _typed(v, col) for v, col, c, is_code in zip(q["values"], column, code.fillna(""), coded)]
    return pd.DataFrame({
        "来源文件": q["source_file"].to_numpy(), "工作表": q["sheet"].to_numpy(),
        "行号": q["row"].astype("int64").to_numpy(), "户编码": code.to_numpy(),
        "有问题的列": column.replace("", "（整行）").to_numpy(), "填写的值": typed,
        "原因": q["reason_zh"].to_numpy(), "说明": q["detail"].fillna("").to_numpy(),
        "处理建议": [action(r) for r in q["reason"]],
    }, columns=ROWS_COLUMNS)


def suspected_missed(hq: pd.DataFrame, codes: pd.DataFrame, quarter: str, county: str, cfg: dict) -> pd.DataFrame:
    """The 疑似漏测 sheet of one county: the households of the 漏测 indicator (and those whose risk was marked
    eliminated while below the line), re-identified with the county's own 户编码, with the rule in words."""
    t = income_test(hq[hq["county"] == county], quarter, cfg)
    flagged = t[t["missed"] | t["eliminated_below"]].reset_index()
    if not len(flagged):
        return pd.DataFrame(columns=MISSED_COLUMNS)
    flagged = flagged.merge(codes, on="household_id", how="left")
    cur = hq[(hq["quarter"] == quarter) & (hq["county"] == county)].set_index("household_id")["township"]
    year = int(quarter[:4])

    def rule(row) -> str:
        base = (f"近四个季度人均纯收入之和 {row.t4_income:,.0f} 元，低于 {year} 年监测线 {row.line:,.0f} 元")
        if row.missed and row.household_type != "监测户":
            return base + "，但未纳入监测"
        return base + "，但已标为风险消除（不在监测中）"

    return pd.DataFrame({
        "户编码": flagged.get("户编码", pd.Series(pd.NA, index=flagged.index)).to_numpy(),
        "乡镇(街道)": flagged["household_id"].map(cur).astype("string").to_numpy(),
        "行政村": flagged["village"].astype("string").to_numpy(),
        "户类型": flagged["household_type"].astype("string").to_numpy(),
        "近四季度人均纯收入（元）": flagged["t4_income"].round(2).to_numpy(),
        "当年监测线（元/人·年）": flagged["line"].to_numpy(),
        "问题": ["疑似漏测" if m else "已消除风险但收入低于监测线" for m in flagged["missed"]],
        "判断规则": [rule(r) for r in flagged.itertuples(index=False)],
    }, columns=MISSED_COLUMNS).sort_values(["问题", "行政村", "户编码"], kind="stable").reset_index(drop=True)


def warnings_of(log: pd.DataFrame, quarter: str, county: str) -> pd.DataFrame:
    """The 警告 sheet of one county: each warning intake logged for its files (one per line), or that
    nothing came from the county this quarter."""
    lg = log[(log["quarter"] == quarter) & (log["county"] == county)]
    rows = []
    for r in lg.itertuples(index=False):
        for w in str(r.warnings or "").split("; "):
            if w.strip():
                rows.append({"来源文件": r.source_file, "工作表": r.sheet, "警告": w.strip()})
    if not len(lg):
        rows.append({"来源文件": "", "工作表": "", "警告": f"{quarter}: {county} 本季度没有提交 / no submission this quarter"})
    return pd.DataFrame(rows, columns=WARNING_COLUMNS)


def county_sheets(quarter: str, paths: Paths, cfg: dict | None = None) -> dict[str, dict[str, pd.DataFrame]]:
    """County -> {sheet name -> frame} for the quarter, every county of the bureau (an empty sheet says
    there is nothing to fix)."""
    cfg = cfg or load_config()
    pdir = paths.private / quarter
    quarantine = pd.read_parquet(pdir / "quarantine.parquet")
    codes_path = pdir / "household_codes.parquet"
    codes = pd.read_parquet(codes_path) if codes_path.exists() else pd.DataFrame(columns=["household_id", "户编码"])
    log = pd.read_parquet(paths.processed / "intake_log.parquet")
    hq = pd.read_parquet(paths.processed / "household_quarters.parquet",
                         columns=["household_id", "quarter", "county", "township", "village", "household_type",
                                  "risk_eliminated", "income_per_capita"])
    out = {}
    for county in COUNTIES:
        out[county] = {SHEETS[0]: rows_set_aside(quarantine, county),
                       SHEETS[1]: suspected_missed(hq, codes, quarter, county, cfg),
                       SHEETS[2]: warnings_of(log, quarter, county)}
    return out


def write_feedback(quarter: str, paths: Paths | None = None, cfg: dict | None = None) -> list[Path]:
    """Write every county's feedback workbook for ``quarter`` under ``private/<quarter>/反馈/``; return the paths."""
    paths = paths or Paths()
    folder = private_dir(paths.private / quarter / FOLDER)
    for old in folder.glob(f"{quarter}_*_核实清单.xlsx"):
        old.unlink()
    written = []
    for county, sheets in county_sheets(quarter, paths, cfg).items():
        n_rows, n_missed, n_warn = (len(sheets[s]) for s in SHEETS)
        note = (f"{county} {quarter} 核实清单：暂存 {n_rows} 行，疑似漏测等 {n_missed} 户，警告 {n_warn} 条。"
                "本表含户编码，仅供本县区核实整改，不得外传。")
        path = feedback_path(paths, quarter, county)
        write_people_xlsx(sheets, path, notes={s: note for s in SHEETS},
                          number_formats={"近四季度人均纯收入（元）": "#,##0.00", "当年监测线（元/人·年）": "#,##0", "行号": "0"})
        written.append(path)
    return written
