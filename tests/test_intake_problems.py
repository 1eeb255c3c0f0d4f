"""Each row of the submission spec's problem table, on small files made inside the test."""
from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pandas as pd
import pytest

from builders import household, paths_for, write_workbook
from helpers.intake.assemble import run_intake
from helpers.intake.readers import IntakeStop

Q = "2023Q2"


def intake(tmp, quarter=Q):
    paths = paths_for(tmp)
    summary = run_intake(quarter, paths)
    read = lambda n: pd.read_parquet(paths.processed / f"{n}.parquet")  # noqa: E731
    return summary, read


def reasons(read) -> dict[int, str]:
    q = read("quarantine")
    q = q[q["sheet"] == "农户监测"]
    return dict(zip(q["row"].astype(int), q["reason"]))


def test_title_rows_merged_header_synonyms_fullwidth_and_line_breaks(tmp_path):
    rows = [household(1), household(2, **{"家庭纯收入": 4600.0})]
    written = ["户编号", "户主姓名", "身份证号码", "联系电话", "县（区）", "乡(镇)", "村(社区)", "户类型", "监测类型",
               "风险是否消除", "风险消除日期", "家庭人口（人）", "劳动力人数", "是否易地搬迁",
               "", "", "", "", "家庭纯收入", "产业帮扶", "产业帮扶起始季度", "产业补助金额", "就业帮扶",
               "就业帮扶起始季度", "小额信贷", "务工人数", "备注"]
    second = [""] * len(written)
    second[14:18] = ["工资性\n收入", "经营性 收入", "财产性收入", "转移性收入"]
    written[14] = "收入情况"
    write_workbook(tmp_path / "raw" / Q / f"{Q}_通江县.xlsx", rows,
                   titles=["通江县2023年二季度农户监测明细表", "单位：元"], header_rows=[written, second])
    summary, read = intake(tmp_path)
    hq = read("household_quarters")
    assert len(hq) == 2 and reasons(read) == {}
    assert hq["income_wage"].tolist() == [3000.0, 3000.0]
    assert hq["income_per_capita"].round(4).tolist() == [round(4600 / 3, 4)] * 2
    log = read("intake_log")
    assert log.loc[log["sheet"] == "农户监测", "rows_in"].item() == 2  # title and header rows are not rows in


def test_numbers_written_as_text_are_parsed(tmp_path):
    rows = [
        household(1, **{"工资性收入": "3,000", "家庭人口": "3人", "经营性收入": "１０００", "财产性收入": "—",
                        "转移性收入": "600元 ", "家庭纯收入": "4,600.00"}),
        household(2, **{"工资性收入": "1.2万", "经营性收入": 0.0, "财产性收入": "/", "转移性收入": "无",
                        "家庭纯收入": 12000.0}),
    ]
    write_workbook(tmp_path / "raw" / Q / f"{Q}_通江县.xlsx", rows)
    _, read = intake(tmp_path)
    hq = read("household_quarters").sort_values("income_wage")
    assert reasons(read) == {}
    assert hq["income_wage"].tolist() == [3000.0, 12000.0]
    assert hq["income_business"].tolist() == [1000.0, 0.0]
    assert hq["income_property"].tolist() == [0.0, 0.0]
    assert hq["income_transfer"].tolist() == [600.0, 0.0]
    assert hq["household_size"].tolist() == [3.0, 3.0]


def test_a_wan_header_converts_its_column_and_a_small_amount_is_never_rescaled(tmp_path):
    rows = [household(1, **{"工资性收入": 0.3}),            # 0.3万 under a 万元 header
            household(2, **{"工资性收入": 0.3})]
    headers = list(rows[0])
    headers[headers.index("工资性收入")] = "工资性收入(万元)"
    write_workbook(tmp_path / "raw" / Q / f"{Q}_通江县.xlsx", rows, headers=headers)
    _, read = intake(tmp_path)
    assert read("household_quarters")["income_wage"].tolist() == [3000.0, 3000.0]

    rows = [household(3, **{"工资性收入": 1.2})]   # looks like 万元 in a 元 column: parsed as written
    write_workbook(tmp_path / "b" / "raw" / Q / f"{Q}_通江县.xlsx", rows)
    _, read = intake(tmp_path / "b")
    assert reasons(read) == {2: "income_parts"}
    assert "1.2" in read("quarantine")["values"].item()


def test_dates_quarters_and_yes_no_in_every_listed_form(tmp_path):
    forms = [("2023.7.11", "2022Q3", "是"), ("2023-07-11", dt.date(2022, 8, 1), "Y"),
             ("2023年7月11日", "2022年三季度", "√"), (45118.0, 44774.0, 1.0), (dt.date(2023, 7, 11), "2022.8.1", "1")]
    rows = [household(i + 1, **{"户类型": "监测户", "监测类型": "边缘易致贫户", "风险是否消除": "是",
                                "风险消除日期": d, "产业帮扶": "庭院经济", "产业帮扶起始季度": q, "是否易地搬迁": yn})
            for i, (d, q, yn) in enumerate(forms)]
    rows.append(household(9, **{"是否易地搬迁": "×"}))
    rows.append(household(10, **{"是否易地搬迁": "N"}))
    write_workbook(tmp_path / "raw" / Q / f"{Q}_通江县.xlsx", rows)
    _, read = intake(tmp_path)
    hq = read("household_quarters").sort_values("source_row")
    assert reasons(read) == {}
    assert (hq["risk_eliminated_date"].iloc[:5] == pd.Timestamp("2023-07-11")).all()
    assert hq["industry_start"].iloc[:5].tolist() == ["2022Q3"] * 5
    assert hq["relocated"].tolist() == [True] * 5 + [False, False]


def test_county_without_suffix_and_village_under_its_former_name_are_normalized(tmp_path):
    rows = [household(1, **{"县(区)": "通江", "行政村": "骡子坡村"}), household(2, **{"行政村": "青山梁村 "}),
            household(3, **{"县(区)": "巴中市通江县", "行政村": "太平社区"})]
    write_workbook(tmp_path / "raw" / Q / f"{Q}_通江县.xlsx", rows)
    _, read = intake(tmp_path)
    hq = read("household_quarters")
    assert reasons(read) == {}
    assert set(hq["county"]) == {"通江县"} and set(hq["village"]) == {"太平场村"}


def test_crosswalk_also_comes_from_the_quarters_village_sheet(tmp_path):
    # 新合村 is in no register: the county's 行政村 sheet lists it with a former name.
    import xlsxwriter

    from builders import village_rows, write_sheet

    path = tmp_path / "raw" / Q / f"{Q}_通江县.xlsx"
    path.parent.mkdir(parents=True)
    wb = xlsxwriter.Workbook(str(path))
    write_sheet(wb.add_worksheet("农户监测"), [household(1, **{"行政村": "老合村"}), household(2, **{"行政村": "新合村"})])
    v = village_rows() + [dict(village_rows()[0], **{"行政村": "新合村", "原村名": "老合村，旧合村"})]
    write_sheet(wb.add_worksheet("行政村"), v)
    wb.close()
    _, read = intake(tmp_path)
    assert reasons(read) == {}
    assert set(read("household_quarters")["village"]) == {"新合村"}


@pytest.mark.parametrize("over,reason", [
    ({"县(区)": "朝天区"}, "unknown_place"),
    ({"行政村": "不存在村"}, "unknown_place"),
    ({"户编码": "合计", "户主姓名": None}, "subtotal"),
    ({"乡镇(街道)": "杨柏镇小计"}, "subtotal"),
    ({"户编码": "51192100000000123"}, "household_code"),
    ({"户编码": 5.11921e17}, "household_code"),
    ({"户编码": "5.11921E+17"}, "household_code"),
    ({"家庭纯收入": 5600.0}, "income_parts"),
    ({"劳动力人数": 4}, "impossible_value"),
    ({"家庭人口": 0, "劳动力人数": 0}, "impossible_value"),
    ({"工资性收入": -100.0, "家庭纯收入": 1500.0}, "impossible_value"),
    ({"转移性收入": -1.0, "家庭纯收入": 4099.0}, "impossible_value"),
    ({"工资性收入": "约三千"}, "bad_value"),
    ({"户类型": None}, "bad_value"),
    ({"产业帮扶起始季度": "去年"}, "bad_value"),
])
def test_rows_with_a_problem_are_quarantined_with_the_right_reason(tmp_path, over, reason):
    rows = [household(1), household(2, **over), household(3)]
    write_workbook(tmp_path / "raw" / Q / f"{Q}_通江县.xlsx", rows)
    _, read = intake(tmp_path)
    assert reasons(read) == {3: reason}
    q = read("quarantine")
    assert q["reason_zh"].str.len().gt(5).all() and q["reason_en"].str.len().gt(5).all()
    assert len(read("household_quarters")) == 2


def test_income_within_tolerance_is_accepted(tmp_path):
    rows = [household(1, **{"家庭纯收入": 4600.9}),                                  # within 1 元
            household(2, **{"工资性收入": 300000.0, "家庭纯收入": 301600.0 + 1390})]  # 0.46 % of the total
    write_workbook(tmp_path / "raw" / Q / f"{Q}_通江县.xlsx", rows)
    _, read = intake(tmp_path)
    assert reasons(read) == {}


def test_identical_duplicates_keep_one_and_conflicting_duplicates_keep_none(tmp_path):
    rows = [household(1), household(1), household(2), household(2, **{"家庭人口": 4}), household(3)]
    write_workbook(tmp_path / "raw" / Q / f"{Q}_通江县.xlsx", rows)
    _, read = intake(tmp_path)
    assert reasons(read) == {3: "duplicate", 4: "conflicting_duplicate", 5: "conflicting_duplicate"}
    assert len(read("household_quarters")) == 2


def test_a_household_in_two_counties_files_is_a_conflict(tmp_path):
    write_workbook(tmp_path / "raw" / Q / f"{Q}_通江县.xlsx", [household(1)])
    other = household(1, **{"县(区)": "平昌县", "乡镇(街道)": "澌岸镇", "行政村": "梭滩村"})
    write_workbook(tmp_path / "raw" / Q / f"{Q}_平昌县.xlsx", [other], county="平昌县")
    _, read = intake(tmp_path)
    q = read("quarantine")
    assert sorted(q.loc[q["sheet"] == "农户监测", "reason"]) == ["conflicting_duplicate"] * 2


@pytest.mark.parametrize("case,needle", [
    ("missing_column", "缺少必填列“家庭纯收入”"),
    ("missing_sheet", "缺少“农户监测”工作表"),
    ("unreadable", "无法打开此 Excel 文件"),
    ("wrong_quarter", "文件名中的季度为 2023Q1"),
    ("unknown_county", "不在巴中市五县区之内"),
])
def test_problems_that_stop_intake_name_the_file_and_what_to_fix(tmp_path, case, needle):
    folder = tmp_path / "raw" / Q
    if case == "missing_column":
        rows = [{k: v for k, v in household(1).items() if k != "家庭纯收入"}]
        write_workbook(folder / f"{Q}_通江县.xlsx", rows)
    elif case == "missing_sheet":
        write_workbook(folder / f"{Q}_通江县.xlsx", None)
    elif case == "unreadable":
        folder.mkdir(parents=True)
        (folder / f"{Q}_通江县.xlsx").write_bytes(b"this is not a workbook")
    elif case == "wrong_quarter":
        write_workbook(folder / "2023Q1_通江县.xlsx", [household(1)])
    elif case == "unknown_county":
        write_workbook(folder / f"{Q}_朝天区.xlsx", [household(1)])
    with pytest.raises(IntakeStop) as info:
        intake(tmp_path)
    message = str(info.value)
    assert needle in message and "_" in message and ".xlsx" in message
    assert not (tmp_path / "processed" / "household_quarters.parquet").exists()


def test_the_command_stops_with_exit_code_2_and_no_traceback(tmp_path):
    rows = [{k: v for k, v in household(1).items() if k != "家庭人口"}]
    write_workbook(tmp_path / "raw" / Q / f"{Q}_通江县.xlsx", rows)
    proc = subprocess.run([sys.executable, "-m", "helpers.pipeline.cli", "intake", "--raw", str(tmp_path / "raw"),
                           "--processed", str(tmp_path / "p"), "--private", str(tmp_path / "v")],
                          capture_output=True, text=True, encoding="utf-8")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "2023Q2_通江县.xlsx [农户监测]" in proc.stderr and "家庭人口" in proc.stderr


def test_missing_secondary_sheets_warn_and_leave_the_countys_tables_empty(tmp_path):
    write_workbook(tmp_path / "raw" / Q / f"{Q}_通江县.xlsx", [household(1)], projects=False, problems=False,
                   extra_sheets=["填报说明"])
    summary, read = intake(tmp_path)
    text = "\n".join(summary.warnings)
    assert "缺少“项目资金”表" in text and "缺少“问题整改”表" in text and "多余的工作表已忽略" in text
    assert read("projects").empty and read("rectifications").empty
    log = read("intake_log")
    assert log.loc[log["sheet"] == "项目资金", "missing_sheet"].item()
    assert len(read("household_quarters")) == 1


def test_extra_and_missing_optional_columns_warn(tmp_path):
    rows = [{**{"序号": 1}, **{k: v for k, v in household(1).items() if k not in ("务工人数", "备注")},
             "联系人备用电话": "13800000000"}]
    write_workbook(tmp_path / "raw" / Q / f"{Q}_通江县.xlsx", rows)
    summary, read = intake(tmp_path)
    text = "\n".join(summary.warnings)
    assert "序号" in text and "联系人备用电话" in text and "务工人数" in text
    hq = read("household_quarters")
    assert hq["workers"].isna().all() and len(hq) == 1


def test_csv_in_gbk_and_utf8_with_bom_are_read(tmp_path):
    header = list(household(1))
    lines = [",".join(header)]
    for i in (1, 2):
        row = household(i, **{"工资性收入": "3,000"})
        lines.append(",".join(f'"{v}"' if isinstance(v, str) and "," in v else ("" if v is None else str(v))
                              for v in row.values()))
    text = "通江县2023年二季度农户监测明细表\r\n" + "\r\n".join(lines) + "\r\n"
    folder = tmp_path / "raw" / Q
    folder.mkdir(parents=True)
    (folder / f"{Q}_通江县_农户监测.csv").write_bytes(text.encode("gbk"))
    (folder / f"{Q}_平昌县_农户监测.csv").write_bytes(
        ("\ufeff" + text.replace("通江县", "平昌县").replace("杨柏镇", "澌岸镇").replace("太平场村", "梭滩村")
         .replace("511921", "511923")).encode("utf-8"))
    summary, read = intake(tmp_path)
    hq = read("household_quarters")
    assert len(hq) == 4 and set(hq["county"]) == {"通江县", "平昌县"}
    assert (hq["income_wage"] == 3000.0).all()
    log = read("intake_log").query("sheet == '农户监测'").set_index("source_file")
    assert log.loc[f"{Q}_通江县_农户监测.csv", "encoding"] == "gb18030"
    assert log.loc[f"{Q}_平昌县_农户监测.csv", "encoding"] == "utf-8-sig"


def test_households_table_takes_place_and_type_from_the_latest_quarter():
    """build_households on rows in any order: latest quarter's place and type, first/last quarter, count."""
    from helpers.intake.assemble import build_households

    rows = pd.DataFrame({
        "household_id": ["b", "a", "a", "b", "a"], "quarter": ["2022Q2", "2022Q3", "2022Q1", "2022Q1", "2022Q2"],
        "county": ["通江县", "平昌县", "巴州区", "通江县", "恩阳区"], "township": ["t"] * 5,
        "village": ["v2", "v1", "v0", "v2", "v9"], "household_type": ["监测户", "脱贫户", "一般农户", "脱贫户", "监测户"],
        "relocated": [False, True, False, False, False]}).astype({"household_id": "string", "quarter": "string"})
    h = build_households(rows).set_index("household_id")
    assert list(h.index) == ["a", "b"]
    assert h.loc["a", ["county", "village", "household_type", "relocated"]].tolist() == ["平昌县", "v1", "脱贫户", True]
    assert h.loc["a", ["first_quarter", "last_quarter", "quarters_seen"]].tolist() == ["2022Q1", "2022Q3", 3]
    assert h.loc["b", ["household_type", "first_quarter", "last_quarter", "quarters_seen"]].tolist() == \
        ["监测户", "2022Q1", "2022Q2", 2]
    assert h["first_quarter"].dtype == rows["quarter"].dtype
