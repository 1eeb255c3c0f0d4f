"""The county feedback loop: one private checklist workbook per county and quarter, and the data-quality score."""
from __future__ import annotations

import json
import os
import stat

import numpy as np
import openpyxl
import pandas as pd
import pytest

from helpers.analysis import composite
from helpers.analysis.quality import COMPONENTS, quality
from helpers.domain.dictionary import COUNTIES
from helpers.pipeline import feedback as fb
from helpers.sim.simulate import COUNTY_STYLE

HOSTILE = ['=HYPERLINK("http://x","click")', "+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3"]


def _sheet_rows(path, sheet):
    ws = openpyxl.load_workbook(path)[sheet]
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    return ws, rows[0][0], rows[1], rows[2:]            # note line, header, data


@pytest.fixture(scope="module")
def written(sample):
    paths = sample["paths"]
    return paths, fb.write_feedback("2022Q2", paths)


def test_one_private_workbook_per_county_with_the_three_sheets(written):
    paths, files = written
    assert [p.name for p in files] == [f"2022Q2_{c}_核实清单.xlsx" for c in COUNTIES]
    for p in files:
        assert p.parent == paths.private / "2022Q2" / "反馈"
        assert "reports" not in p.parts
        if os.name != "nt":
            assert stat.S_IMODE(os.stat(p).st_mode) == 0o600 and stat.S_IMODE(os.stat(p.parent).st_mode) == 0o700
        book = openpyxl.load_workbook(p)
        assert book.sheetnames == list(fb.SHEETS)
        for name, cols in zip(fb.SHEETS, (fb.ROWS_COLUMNS, fb.MISSED_COLUMNS, fb.WARNING_COLUMNS)):
            ws, note, header, _ = _sheet_rows(p, name)
            assert header == cols                              # header on row 2, under the note
            assert "仅供本县区核实" in note
            assert ws.freeze_panes == "A3"                     # the header stays in view
            assert ws.auto_filter.ref and ws.auto_filter.ref.startswith("A2")
            assert all(ws.column_dimensions[chr(65 + j)].width >= 8 for j in range(len(cols)))


def test_every_row_set_aside_is_in_its_countys_workbook_with_row_column_value_and_what_to_do(written, sample):
    paths, files = written
    private = pd.read_parquet(paths.private / "2022Q2" / "quarantine.parquet")
    assert len(private) > 0
    for county, p in zip(COUNTIES, files):
        _, note, header, rows = _sheet_rows(p, "暂存行")
        got = pd.DataFrame(rows, columns=header)
        mine = private[private["county"] == county]
        assert len(got) == len(mine) and f"暂存 {len(mine)} 行" in note
        assert sorted(zip(got["来源文件"], got["行号"])) == sorted(zip(mine["source_file"], mine["row"].astype(int)))
        assert got["行号"].map(lambda v: isinstance(v, int)).all()          # a number, not text
        assert got["处理建议"].str.len().gt(5).all() and got["原因"].str.len().gt(5).all()
        others = set(private.loc[private["county"] != county, "户编码"].dropna()) - set(mine["户编码"].dropna())
        text = json.dumps(rows, ensure_ascii=False, default=str)
        assert not any(code in text for code in others if len(code) >= 10)     # nothing of other counties


def test_the_column_and_value_as_typed_are_those_of_the_damaged_cell(written, sample):
    """The simulator's log says which rows it damaged and how: income parts that do not add up are reported at
    家庭纯收入 with the total as typed in the file; a household code stored as a number at 户编码."""
    paths, files = written
    damaged = pd.read_csv(sample["root"] / "truth" / "damaged_rows.csv")
    d = damaged[(damaged["quarter"] == "2022Q2") & (damaged["expected"] == "income_parts")]
    assert len(d)
    checked = 0
    for county, p in zip(COUNTIES, files):
        _, _, header, rows = _sheet_rows(p, "暂存行")
        got = pd.DataFrame(rows, columns=header)
        for r in d.itertuples():
            hit = got[(got["来源文件"] == r.source_file) & (got["行号"] == r.row)]
            if len(hit):
                assert hit["有问题的列"].iloc[0] == "家庭纯收入"
                float(str(hit["填写的值"].iloc[0]).replace(",", ""))            # the total as typed: a number
                checked += 1
        codes = got[got["原因"].str.startswith("户编码")]
        written = COUNTY_STYLE[county]["synonyms"].get("户编码", "户编码")       # the header as the county writes it
        assert (codes["有问题的列"] == written).all()
        assert (codes["填写的值"].astype(str).str.len() > 0).all()           # the code as typed, whatever its header
        assert (codes["填写的值"] == codes["户编码"]).all()
    assert checked == len(d)


def test_suspected_missed_households_carry_the_rule_and_match_the_indicator(written, sample):
    from helpers.analysis.indicators import Inputs, compute, load_config

    paths, files = written
    t = compute(Inputs.load(paths), "2022Q2", load_config())
    for county, p in zip(COUNTIES, files):
        _, _, header, rows = _sheet_rows(p, "疑似漏测")
        got = pd.DataFrame(rows, columns=header)
        n = t[(t["county"] == county) & (t["indicator"] == "missed_monitoring") & (t["category"] == "")]["value"].iloc[0]
        assert int((got["问题"] == "疑似漏测").sum()) == int(n)
        assert got["判断规则"].str.contains("低于 2022 年监测线").all()
        assert (got["近四季度人均纯收入（元）"] < got["当年监测线（元/人·年）"]).all()


def test_text_cells_that_would_start_a_formula_are_neutralized(tmp_path):
    q = pd.DataFrame({"quarter": "2023Q2", "source_file": HOSTILE[0], "sheet": "农户监测", "row": [7, 8, 9, 10],
                      "county": "巴州区", "户编码": HOSTILE, "reason": "bad_value", "reason_zh": "x",
                      "reason_en": "x", "detail": HOSTILE, "column": "工资性收入", "household_id": "h",
                      "values": [json.dumps({"工资性收入": v}, ensure_ascii=False) for v in HOSTILE]})
    frame = fb.rows_set_aside(q, "巴州区")
    from helpers.store.exports import write_people_xlsx

    path = tmp_path / "x.xlsx"
    write_people_xlsx({"暂存行": frame}, path)
    ws = openpyxl.load_workbook(path)["暂存行"]
    cells = [c.value for row in ws.iter_rows(min_row=2) for c in row if isinstance(c.value, str)]
    assert not any(c.startswith(("=", "+", "-", "@")) for c in cells)
    assert "'" + HOSTILE[0] in cells and "'@SUM(1+1)" in cells
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)     # no formula cell at all


def test_warnings_name_missing_sheets_and_columns_and_a_county_that_sent_nothing():
    log = pd.DataFrame({"quarter": "2023Q2", "county": ["南江县", "南江县"], "source_file": ["a.csv", "b.csv"],
                        "sheet": ["农户监测", "问题整改"], "warnings": ["a.csv [农户监测]: 缺少可选列“务工人数”", "缺少“问题整改”表"]})
    w = fb.warnings_of(log, "2023Q2", "南江县")
    assert w["警告"].tolist() == ["a.csv [农户监测]: 缺少可选列“务工人数”", "缺少“问题整改”表"]
    none = fb.warnings_of(log, "2023Q2", "巴州区")
    assert "没有提交" in none["警告"].iloc[0]


# ---------------------------------------------------------------------------------------- data quality

def _log(rows):
    cols = ["quarter", "county", "sheet", "rows_in", "rows_quarantined", "corrections", "missing_sheet",
            "optional_columns", "optional_absent"]
    return pd.DataFrame(rows, columns=cols)


def test_the_score_is_the_mean_of_four_shares_each_moving_the_way_it_should():
    log = _log([("2023Q2", "巴州区", "农户监测", 100, 10, 2, False, 5, 1),
                ("2023Q2", "巴州区", "行政村", 10, 0, 0, False, 0, 0),
                ("2023Q2", "巴州区", "项目资金", 0, 0, 0, True, 2, 2),
                ("2023Q2", "巴州区", "问题整改", 10, 0, 0, False, 0, 0),
                ("2023Q2", "恩阳区", "农户监测", 100, 0, 0, False, 5, 0)])
    q = quality(log).set_index("county")
    b = q.loc["巴州区"]
    assert b["kept_share"] == pytest.approx(1 - 10 / 120)
    assert b["optional_share"] == pytest.approx(1 - 1 / 5)          # over the sheets sent: the missing sheet is counted once
    assert b["sheets_share"] == pytest.approx(3 / 4) and b["sheets_missing"] == 1
    assert b["uncorrected_share"] == pytest.approx(1 - 2 / 120)
    assert b["score"] == pytest.approx(np.mean([b[c] for c in COMPONENTS]))
    assert q.loc["恩阳区", "kept_share"] == 1 and q.loc["恩阳区", "optional_share"] == 1
    assert q.loc["恩阳区", "score"] > b["score"]
    worse = log.copy()
    worse.loc[0, "rows_quarantined"] = 30
    assert quality(worse).set_index("county").loc["巴州区", "score"] < b["score"]


def test_the_quality_indicator_is_in_the_indicators_and_at_weight_0_changes_no_rank(sample):
    from helpers.analysis.indicators import Inputs, compute, load_config

    paths = sample["paths"]
    t = compute(Inputs.load(paths), "2022Q2", load_config())
    dq = t[t["indicator"] == "data_quality"].set_index("county")
    expected = quality(Inputs.load(paths).log, "2022Q2")
    expected = expected[expected["quarter"] == "2022Q2"].set_index("county")["score"]
    for c in expected.index:
        assert dq.loc[c, "value"] == pytest.approx(expected[c])
    spec = composite.load_spec()
    assert {"key": "data_quality", "direction": 1, "weight": 0} in spec["indicators"]
    without = {**spec, "indicators": [i for i in spec["indicators"] if i["key"] != "data_quality"]}
    with_ = composite.ranking(t, "2022Q2", spec)
    pd.testing.assert_frame_equal(with_.drop(columns="score_data_quality"), composite.ranking(t, "2022Q2", without))
    weighted = {**spec, "indicators": [{**i, "weight": 1.0} if i["key"] == "data_quality" else i
                                       for i in spec["indicators"]]}
    assert not composite.ranking(t, "2022Q2", weighted)["composite"].equals(with_["composite"])


def test_a_composite_with_only_zero_weights_is_refused(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("indicators:\n  - {key: data_quality, direction: 1, weight: 0}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="positive weight"):
        composite.load_spec(p)


def test_amounts_carry_a_number_format_and_long_sentences_wrap(written):
    _, files = written
    ws = openpyxl.load_workbook(files[0])["疑似漏测"]
    header = [c.value for c in ws[2]]
    income = header.index("近四季度人均纯收入（元）") + 1
    cells = [ws.cell(row=r, column=income) for r in range(3, ws.max_row + 1)]
    assert all(isinstance(c.value, float) and c.number_format == "#,##0.00" for c in cells)
    rows = openpyxl.load_workbook(files[0])["暂存行"]
    col = [c.value for c in rows[2]].index("处理建议") + 1
    assert rows.cell(row=3, column=col).alignment.wrap_text or rows.max_row < 3


def test_the_intake_command_writes_the_checklists_too(sample, capsys):
    """The issue asks for the checklists after intake: `workbook intake` writes them, not only notebook 01."""
    from helpers.pipeline.cli import main

    paths = sample["paths"]
    for old in (paths.private / "2022Q2" / fb.FOLDER).glob("*.xlsx"):
        old.unlink()
    assert main(["intake", "--quarter", "2022Q2", "--raw", str(paths.raw), "--processed", str(paths.processed),
                 "--private", str(paths.private), "--corrections", str(paths.corrections)]) == 0
    assert sorted(p.name for p in (paths.private / "2022Q2" / fb.FOLDER).glob("*.xlsx")) == \
        sorted(f"2022Q2_{c}_核实清单.xlsx" for c in COUNTIES)
    assert "County checklists (5)" in capsys.readouterr().out
