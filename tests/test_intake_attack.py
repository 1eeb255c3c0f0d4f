"""Intake tried as a careless or hostile county clerk would (issue 11): personal data typed into kept
columns, impossible numbers, another county's file, a killed or concurrent intake, bad corrections.
Each test failed on the intake before issue 11."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time

import pandas as pd
import pytest
import xlsxwriter

from builders import household, paths_for, problem_rows, project_rows, village_rows, write_sheet, write_workbook
from helpers.intake.assemble import run_intake
from helpers.domain.errors import Stop
from helpers.intake.readers import IntakeStop

Q = "2023Q2"
ID, PHONE = "110101198001010044", "13800000004"
DIGITS = re.compile(r"(?<![\d.])\d{11,}(?![\d.])")   # a long run of digits (not decimals): an ID, a phone, a card


def intake(tmp, quarter=Q):
    paths = paths_for(tmp)
    summary = run_intake(quarter, paths)
    return paths, summary, (lambda n: pd.read_parquet(paths.processed / f"{n}.parquet"))


def shared_text(paths) -> str:
    """Every shared table as text (processed parquet, cache included), for scanning."""
    parts = []
    for f in paths.processed.rglob("*.parquet"):
        parts.append(pd.read_parquet(f).astype(str).to_csv(index=False))
        parts.append(json.dumps({k.decode(errors="replace"): v.decode(errors="replace")
                                 for k, v in (__import__("pyarrow.parquet", fromlist=["x"]).read_schema(f).metadata
                                              or {}).items() if k.startswith(b"workbook.")}, ensure_ascii=False))
    parts += [f.read_text(encoding="utf-8") for f in paths.processed.rglob("*.json")]
    return "\n".join(parts)


def workbook(path, households, villages=None, projects=None, problems=None, extra_header=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(str(path))
    if extra_header:
        households = [dict(h, **{extra_header: "x"}) for h in households]
    write_sheet(wb.add_worksheet("农户监测"), households)
    write_sheet(wb.add_worksheet("行政村"), villages or village_rows())
    write_sheet(wb.add_worksheet("项目资金"), projects or project_rows())
    write_sheet(wb.add_worksheet("问题整改"), problems or problem_rows())
    wb.close()


def test_personal_data_typed_into_kept_columns_never_reaches_a_shared_table(tmp_path):
    v = village_rows()
    v.append(dict(v[0], **{"行政村": f"太平场村{PHONE}", "原村名": f"联系人{ID}"}))
    p = project_rows()
    p.append(dict(p[0], **{"项目编号": "P-002", "项目名称": f"花椒基地 负责人身份证{ID} 电话{PHONE}"}))
    workbook(tmp_path / "raw" / Q / f"{Q}_通江县.xlsx",
             [household(1), household(2, **{"乡镇(街道)": f"乡名丁{ID}电话{PHONE}"}),
              household(3, **{"家庭纯收入": "不详", "行政村": f"太平场村 {PHONE}"})],
             villages=v, projects=p, extra_header=f"联系人己{PHONE}")
    paths, summary, read = intake(tmp_path)
    text = shared_text(paths)
    assert ID not in text and PHONE not in text
    assert not DIGITS.search(re.sub(r"[0-9a-f]{16,}", "", text))     # hashes and pseudonyms aside
    q = read("quarantine").set_index(["sheet", "row"])
    assert q.loc[("农户监测", 3), "reason"] == "unknown_place"                         # township not in the register
    assert q.loc[("行政村", 3), "reason"] == "unknown_place"                           # a village that is personal data
    assert "[电话已删除]" in q.loc[("农户监测", 4), "values"]                          # the row as typed, scrubbed
    assert read("projects").set_index("project_id").loc["P-002", "project_name"].startswith("花椒基地")
    assert not any(PHONE in w for w in summary.warnings)
    assert (paths.private / Q / "quarantine.csv").exists()


@pytest.mark.parametrize("sheet,column,value", [
    ("农户监测", "产业补助金额", 1e300), ("农户监测", "小额信贷", 1e12), ("农户监测", "务工人数", 1e9),
    ("农户监测", "产业补助金额", "inf"), ("行政村", "总户数", 1e12), ("项目资金", "计划投资", 1e300),
    ("项目资金", "已支出", 1e9)])
def test_numbers_beyond_belief_go_to_quarantine(tmp_path, sheet, column, value):
    rows = {"农户监测": [household(1), household(2)], "行政村": village_rows(), "项目资金": project_rows()}
    target = rows[sheet][-1]
    target[column] = value
    workbook(tmp_path / "raw" / Q / f"{Q}_通江县.xlsx", rows["农户监测"], rows["行政村"], rows["项目资金"])
    _, _, read = intake(tmp_path)
    q = read("quarantine")
    hit = q[(q["sheet"] == sheet)]
    assert hit["reason"].tolist() == ["impossible_value"] and column in hit["detail"].item()


def test_a_county_file_holding_another_countys_rows_stops(tmp_path):
    rows = [household(i, **{"县(区)": "平昌县", "乡镇(街道)": "江口镇", "行政村": "龙滩村"}) for i in range(1, 8)]
    write_workbook(tmp_path / "raw" / Q / f"{Q}_通江县.xlsx", rows)
    with pytest.raises(IntakeStop, match="文件名写的是通江县.*平昌县"):
        run_intake(Q, paths_for(tmp_path))


def test_a_cache_whose_write_did_not_complete_is_never_used_and_leftovers_are_removed(tmp_path):
    workbook(tmp_path / "raw" / Q / f"{Q}_通江县.xlsx", [household(1), household(2)])
    paths, _, read = intake(tmp_path)
    qdir = paths.processed / "_cache" / Q
    stale = read("projects").assign(project_id="P-STALE")         # a table from a rewrite that was killed
    stale.to_parquet(qdir / "projects.parquet")
    (qdir / ".projects.parquet.abc.tmp").write_bytes(b"half a file")
    summary = run_intake(Q, paths)
    assert summary.processed == [Q] and summary.cached == []
    assert "P-STALE" not in set(read("projects")["project_id"])
    assert not list(paths.processed.rglob("*.tmp"))
    assert run_intake(Q, paths).cached == [Q]                       # and an intact cache is still used


def test_two_intakes_at_once_take_turns(tmp_path):
    from helpers.store.locks import processed_lock

    workbook(tmp_path / "raw" / Q / f"{Q}_通江县.xlsx", [household(1), household(2)])
    paths = paths_for(tmp_path)
    said = []
    with processed_lock(paths.processed):
        done = {}
        worker = threading.Thread(target=lambda: done.update(s=run_intake(Q, paths, progress=said.append)))
        t0 = time.monotonic()
        worker.start()
        time.sleep(1.5)
        while not any("waiting" in s for s in said) and time.monotonic() - t0 < 60:     # a slow machine
            time.sleep(0.05)
        assert worker.is_alive() and any("waiting" in s for s in said)     # the second writer waits for the first
    worker.join(60)
    assert done["s"].processed == [Q] and time.monotonic() - t0 >= 1.5
    held, release = tmp_path / "held", tmp_path / "release"      # another process holds the lock until told
    code = ("from helpers.store.locks import processed_lock; import pathlib, time\n"
            f"with processed_lock(pathlib.Path(r'{paths.processed}')):\n"
            f"    pathlib.Path(r'{held}').touch()\n"
            f"    t = time.monotonic()\n"
            f"    while not pathlib.Path(r'{release}').exists() and time.monotonic() - t < 120: time.sleep(0.05)")
    other = subprocess.Popen([sys.executable, "-c", code])
    try:
        t1 = time.monotonic()
        while not held.exists() and time.monotonic() - t1 < 120:      # however slow the machine is
            time.sleep(0.05)
        with pytest.raises(Stop, match="has not finished"):
            with processed_lock(paths.processed, wait=0.5):
                pass
    finally:
        release.touch()
        other.wait(120)


@pytest.mark.parametrize("quarter", ["2099Q1", "2023q2", " 2023Q2"])
def test_a_correction_for_a_quarter_that_is_not_there_stops(tmp_path, quarter):
    write_workbook(tmp_path / "raw" / Q / f"{Q}_通江县.xlsx", [household(1)])
    (tmp_path / "corrections.csv").write_text(
        "quarter,source_file,sheet,row,column,old,new,reason,who\n"
        f"{quarter},{Q}_通江县.xlsx,农户监测,2,家庭纯收入,4600,4700,核实,张三\n", encoding="utf-8")
    with pytest.raises(IntakeStop, match="不是 data/raw 中的季度"):
        run_intake(Q, paths_for(tmp_path))


def test_corrections_of_personal_columns_and_in_gbk_get_a_message_or_work(tmp_path):
    write_workbook(tmp_path / "raw" / Q / f"{Q}_通江县.xlsx", [household(1)])
    line = "quarter,source_file,sheet,row,column,old,new,reason,who\n{}\n"
    (tmp_path / "corrections.csv").write_text(
        line.format(f"{Q},{Q}_通江县.xlsx,农户监测,2,户主姓名,测试1号,张三,核实,李四"), encoding="utf-8")
    with pytest.raises(IntakeStop, match="个人信息列“户主姓名”"):
        run_intake(Q, paths_for(tmp_path))
    (tmp_path / "corrections.csv").write_bytes(
        line.format(f"{Q},{Q}_通江县.xlsx,农户监测,2,家庭纯收入,4600,4600,乡镇核实,李四").encode("gbk"))
    assert run_intake(Q, paths_for(tmp_path)).processed == [Q]


def test_every_bad_input_above_exits_2_with_one_message_through_the_command(tmp_path):
    rows = [household(i, **{"县(区)": "平昌县", "乡镇(街道)": "江口镇", "行政村": "龙滩村"}) for i in range(1, 8)]
    write_workbook(tmp_path / "raw" / Q / f"{Q}_通江县.xlsx", rows)
    p = paths_for(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "helpers.pipeline.cli", "intake", "--quarter", Q, "--raw", str(p.raw),
                           "--processed", str(p.processed), "--private", str(p.private), "--corrections",
                           str(p.corrections)], capture_output=True, text=True, encoding="utf-8")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "平昌县" in proc.stderr
