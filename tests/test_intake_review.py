"""What a hostile review of issue 11's intake found (second round): personal data in file and sheet
names and in names typed into kept cells, quarter folders written another way, private lists lost
to the cache, a data problem in the quarterly run ending with exit code 3. Each test failed before
its fix."""
from __future__ import annotations

import shutil
import subprocess
import sys

import pandas as pd
import pytest

from builders import household, paths_for, problem_rows, village_rows, write_workbook
from helpers.intake.assemble import run_intake
from helpers.intake.readers import IntakeStop
from test_intake_attack import shared_text, workbook

Q = "2023Q2"
PHONE = "13812345679"
NAME = "陶春"


def test_phone_numbers_in_file_and_sheet_names_reach_no_table_log_or_warning(tmp_path):
    path = write_workbook(tmp_path / "raw" / Q / f"{Q}_通江县_{PHONE}.xlsx", [household(1), household(2)],
                          extra_sheets=[f"李四{PHONE[:-1]}8"])
    (tmp_path / "raw" / Q / f"身份证511921198001010067.txt").write_text("x", encoding="utf-8")
    paths = paths_for(tmp_path)
    summary = run_intake(Q, paths)
    text = shared_text(paths) + "\n".join(summary.warnings)
    assert path.exists() and summary.log["rows_clean"].sum() > 0
    for secret in (PHONE, PHONE[:-1] + "8", "511921198001010067"):
        assert secret not in text


@pytest.mark.parametrize("name", [f"{Q}_{PHONE}.xlsx", f"2023Q1_通江县_{PHONE}.xlsx"])
def test_stop_messages_never_repeat_a_number_from_a_file_name(tmp_path, name):
    write_workbook(tmp_path / "raw" / Q / name, [household(1)])
    with pytest.raises(IntakeStop) as stop:
        run_intake(Q, paths_for(tmp_path))
    assert PHONE not in str(stop.value) and "[电话已删除]" in str(stop.value)


def test_names_from_the_personal_columns_are_cut_out_of_every_kept_text(tmp_path):
    v = village_rows()
    v.append(dict(v[0], **{"行政村": NAME, "原村名": f"王小明家、{NAME}"}))
    p = problem_rows()
    p[0]["问题描述"] = f"户主{NAME}家危房未改造"
    workbook(tmp_path / "raw" / Q / f"{Q}_通江县.xlsx",
             [household(1, **{"户主姓名": NAME}), household(2, **{"乡镇(街道)": NAME}),
              household(3, **{"行政村": NAME}), household(4, **{"户主姓名": "王小明"})],
             villages=v, problems=p)
    paths = paths_for(tmp_path)
    summary = run_intake(Q, paths)
    assert NAME not in shared_text(paths) + "\n".join(summary.warnings)
    q = pd.read_parquet(paths.processed / "quarantine.parquet").set_index(["sheet", "row"])
    assert q.loc[("农户监测", 3), "reason"] == q.loc[("农户监测", 4), "reason"] == "unknown_place"
    assert q.loc[("行政村", 3), "reason"] == "unknown_place"          # a person's name is no new village
    assert "[姓名已删除]" in q.loc[("农户监测", 3), "detail"]
    desc = pd.read_parquet(paths.processed / "rectifications.parquet")["description"]
    assert desc.str.contains("户主[姓名已删除]家危房未改造", regex=False).any()


def test_a_village_added_by_the_village_sheet_must_look_like_a_village(tmp_path):
    v = village_rows()
    v.append(dict(v[0], **{"行政村": "新建村", "原村名": None}))
    v.append(dict(v[0], **{"行政村": "杂项说明", "原村名": None}))
    workbook(tmp_path / "raw" / Q / f"{Q}_通江县.xlsx", [household(1), household(2, **{"行政村": "新建村"})],
             villages=v)
    paths = paths_for(tmp_path)
    run_intake(Q, paths)
    villages = set(pd.read_parquet(paths.processed / "villages.parquet")["village"])
    assert "新建村" in villages and "杂项说明" not in villages


@pytest.mark.parametrize("folder", ["2023q2", "2023Q2 ", "２０２３Ｑ２", "2023-Q2", "2023年第2季度"])
def test_a_quarter_folder_written_another_way_stops_instead_of_vanishing(tmp_path, folder):
    write_workbook(tmp_path / "raw" / "2023Q1" / "2023Q1_通江县.xlsx", [household(1)])
    write_workbook(tmp_path / "raw" / folder / f"{Q}_通江县.xlsx", [household(1)])
    with pytest.raises(IntakeStop, match="2023Q2"):
        run_intake(None, paths_for(tmp_path))


def test_raw_pointing_at_a_file_stops_with_a_message(tmp_path):
    (tmp_path / "raw").write_text("x", encoding="utf-8")
    with pytest.raises(IntakeStop, match="not the folder"):
        run_intake(None, paths_for(tmp_path))


def test_private_lists_are_rebuilt_when_a_quarter_comes_from_the_cache(tmp_path):
    write_workbook(tmp_path / "raw" / Q / f"{Q}_通江县.xlsx", [household(1), household(2, **{"家庭纯收入": "不详"})])
    paths = paths_for(tmp_path)
    run_intake(Q, paths)
    shutil.rmtree(paths.private)
    summary = run_intake(Q, paths)
    assert summary.processed == [Q]
    assert (paths.private / Q / "quarantine.csv").exists() and (paths.private / Q / "household_codes.parquet").exists()
    assert run_intake(Q, paths).cached == [Q]                     # and then the cache serves again


def test_a_data_problem_in_the_quarterly_run_exits_2_before_any_notebook(tmp_path):
    rows = [household(i, **{"县(区)": "平昌县", "乡镇(街道)": "江口镇", "行政村": "龙滩村"}) for i in range(1, 8)]
    write_workbook(tmp_path / "raw" / Q / f"{Q}_通江县.xlsx", rows)
    p = paths_for(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "helpers.pipeline.cli", "run", "--quarter", Q, "--raw", str(p.raw),
                           "--processed", str(p.processed), "--private", str(p.private), "--corrections",
                           str(p.corrections), "--reports", str(tmp_path / "reports")],
                          capture_output=True, text=True, encoding="utf-8", timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and "平昌县" in proc.stderr
    assert not (tmp_path / "reports" / Q / "notebooks").exists()


@pytest.mark.parametrize("date", ["0001-01-01", "9999-12-31", "1900-01-01"])
def test_a_date_beyond_belief_goes_to_quarantine(tmp_path, date):
    workbook(tmp_path / "raw" / Q / f"{Q}_通江县.xlsx",
             [household(1), household(2, **{"户类型": "监测户", "监测类型": "脱贫不稳定户", "风险是否消除": "是",
                                              "风险消除日期": date})])
    paths = paths_for(tmp_path)
    run_intake(Q, paths)
    q = pd.read_parquet(paths.processed / "quarantine.parquet").set_index(["sheet", "row"])
    assert q.loc[("农户监测", 3), "reason"] == "impossible_value" and "风险消除日期" in q.loc[("农户监测", 3), "detail"]


def test_a_huge_number_is_set_aside_without_a_numpy_warning(tmp_path):
    import warnings

    workbook(tmp_path / "raw" / Q / f"{Q}_通江县.xlsx", [household(1), household(2, **{"产业补助金额": 1e308})],
             projects=[dict(r, **{"计划投资": 1e308}) for r in __import__("builders").project_rows()])
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        paths = paths_for(tmp_path)
        run_intake(Q, paths)
    assert set(pd.read_parquet(paths.processed / "quarantine.parquet")["reason"]) == {"impossible_value"}


def test_zero_width_separators_do_not_hide_a_phone_number():
    from helpers.intake.pseudonym import scrub_text

    assert scrub_text("联系138\u200b1234\u200b5678") == "联系[电话已删除]"
    assert scrub_text("13812345678\u200b") == "[电话已删除]\u200b"


def test_a_locked_submission_or_corrections_file_stops_with_a_message_not_a_traceback(tmp_path, monkeypatch):
    """The cache key hashed every file first and died there with a PermissionError traceback."""
    from pathlib import Path

    import helpers.intake.assemble as intake_module

    path = write_workbook(tmp_path / "raw" / Q / f"{Q}_通江县.xlsx", [household(1)])
    paths = paths_for(tmp_path)
    paths.corrections.write_text("quarter,source_file,sheet,row,column,old,new,reason,who\n", encoding="utf-8")
    locked = {path}
    real_hash, real_read = intake_module.file_hash, Path.read_bytes

    def refuse(p, real):
        if Path(p) in locked:
            raise PermissionError(13, "Permission denied", str(p))
        return real(p)

    monkeypatch.setattr(intake_module, "file_hash", lambda p: refuse(p, real_hash))
    monkeypatch.setattr(Path, "read_bytes", lambda p: refuse(p, real_read))
    with pytest.raises(IntakeStop, match="close it and try again"):
        run_intake(Q, paths)
    locked = {paths.corrections}
    with pytest.raises(IntakeStop, match="corrections.csv"):
        run_intake(Q, paths)


def test_a_correction_that_does_not_match_never_prints_a_heads_name_from_the_cell(tmp_path):
    write_workbook(tmp_path / "raw" / Q / f"{Q}_通江县.xlsx",
                   [household(1, **{"户主姓名": NAME, "乡镇(街道)": f"{NAME}家"})])
    paths = paths_for(tmp_path)
    paths.corrections.write_text("quarter,source_file,sheet,row,column,old,new,reason,who\n"
                                 f"{Q},{Q}_通江县.xlsx,农户监测,2,乡镇(街道),杨柏,杨柏镇,核实,评估组\n", encoding="utf-8")
    with pytest.raises(IntakeStop, match="does not match") as stop:
        run_intake(Q, paths)
    assert NAME not in str(stop.value) and "[姓名已删除]家" in str(stop.value)
