"""Small hand-made submissions for intake tests (written with xlsxwriter into tmp folders)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import xlsxwriter

from helpers.config import Paths
from helpers.domain.dictionary import HOUSEHOLDS, PROJECTS, RECTIFICATIONS, VILLAGES

HEADERS = [c.header for c in HOUSEHOLDS.columns]


def household(i: int = 1, **over) -> dict:
    """A valid 农户监测 row keyed by Chinese header; ``over`` replaces values."""
    row = {
        "户编码": f"511921{i:012d}", "户主姓名": f"测试{i}号", "户主身份证号": f"51192119800101{i:03d}X"[-18:],
        "联系电话": f"139{i:08d}", "县(区)": "通江县", "乡镇(街道)": "杨柏镇", "行政村": "太平场村",
        "户类型": "脱贫户", "监测类型": None, "风险是否消除": None, "风险消除日期": None,
        "家庭人口": 3, "劳动力人数": 2, "是否易地搬迁": "否", "工资性收入": 3000.0, "经营性收入": 1000.0,
        "财产性收入": 100.0, "转移性收入": 500.0, "家庭纯收入": 4600.0, "产业帮扶": "无",
        "产业帮扶起始季度": None, "产业补助金额": 0.0, "就业帮扶": "无", "就业帮扶起始季度": None,
        "小额信贷": 0.0, "务工人数": 1, "备注": None,
    }
    row.update(over)
    return row


def village_rows(county="通江县"):
    return [{"县(区)": county, "乡镇(街道)": "杨柏镇", "行政村": "太平场村", "原村名": "骡子坡村、青山梁村、太平社区",
             "总户数": 1000, "总人口": 3562, "脱贫户数": 141, "脱贫人口": 521, "监测户数": 3, "监测人口": 9,
             "易迁户数": 55, "易迁人口": 183, "村集体经济经营性收入": 12.5, "是否重点帮扶村": "是"}]


def project_rows(county="通江县"):
    return [{"项目编号": "P-001", "项目名称": "花椒基地", "县(区)": county, "项目类型": "产业发展",
             "资金来源": "中央衔接资金", "计划投资": 100, "到位资金": 80, "已支出": 40, "带动户数": 50,
             "带动人数": 150, "其中脱贫户数": 20, "增收金额": 10, "开工日期": dt.date(2023, 3, 1),
             "完工日期": None, "项目状态": "在建"}]


def problem_rows(county="通江县"):
    return [{"问题编号": "W-01", "县(区)": county, "问题来源": "审计反馈",
             "问题描述": "补助发放不及时，联系人电话13912345678，身份证511921198001011234",
             "发现日期": "2023.4.2", "整改状态": "已整改", "整改完成日期": "2023年6月1日"}]


def write_sheet(ws, rows: list[dict], headers: list[str] | None = None, titles=(), header_rows=None,
                datefmt=None, start_row=0):
    """Write title rows, one header row (or given header rows) and data rows; returns next row index."""
    headers = headers or (list(rows[0]) if rows else [])
    r = start_row
    for t in titles:
        ws.write_string(r, 0, t)
        r += 1
    for hrow in header_rows or [headers]:
        for j, h in enumerate(hrow):
            if h:
                ws.write_string(r, j, h)
        r += 1
    keys = list(rows[0]) if rows else []
    for row in rows:
        for j, k in enumerate(keys):
            v = row[k]
            if v is None:
                continue
            if isinstance(v, str):
                ws.write_string(r, j, v)
            elif isinstance(v, dt.date):
                ws.write_datetime(r, j, dt.datetime(v.year, v.month, v.day), datefmt)
            else:
                ws.write_number(r, j, v)
        r += 1
    return r


def write_workbook(path: Path, households: list[dict] | None, *, villages=True, projects=True, problems=True,
                   headers=None, titles=(), header_rows=None, extra_sheets=(), county="通江县"):
    """A county workbook with the four sheets (each optional)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(str(path))
    datefmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    if households is not None:
        write_sheet(wb.add_worksheet("农户监测"), households, headers, titles, header_rows, datefmt)
    if villages:
        write_sheet(wb.add_worksheet("行政村"), village_rows(county), datefmt=datefmt)
    if projects:
        write_sheet(wb.add_worksheet("项目资金"), project_rows(county), datefmt=datefmt)
    if problems:
        write_sheet(wb.add_worksheet("问题整改"), problem_rows(county), datefmt=datefmt)
    for name in extra_sheets:
        wb.add_worksheet(name).write_string(0, 0, "说明")
    wb.close()
    return path


def paths_for(tmp: Path) -> Paths:
    return Paths.make(raw=tmp / "raw", processed=tmp / "processed", private=tmp / "private",
                      corrections=tmp / "corrections.csv")


assert [c.header for c in VILLAGES.columns][0] == "县(区)" and PROJECTS and RECTIFICATIONS
