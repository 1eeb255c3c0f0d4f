"""Files written for people: formula cells neutralized (CSV injection), private permissions, the index page."""
from __future__ import annotations

import csv
import io
import os
import stat

import numpy as np
import pandas as pd
import pytest

from helpers.config import Paths
from helpers.analysis.indicators import Inputs, load_config, missed_monitoring_list

Q = "2023Q2"
FOUR = ["2022Q3", "2022Q4", "2023Q1", Q]
HOSTILE = ['=HYPERLINK("http://x","click")', "+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3+cmd|' /C calc'!A0",
           "\t=1+1", "\r=1+1"]
posix = pytest.mark.skipif(os.name == "nt", reason="POSIX permissions")


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _cells(path) -> list[list[str]]:
    """The CSV as a spreadsheet program splits it (BOM stripped)."""
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")                       # UTF-8 with BOM, for Excel on Chinese Windows
    return list(csv.reader(io.StringIO(raw[3:].decode("utf-8"), newline="")))


def _hh(hid, q, village):
    return dict(household_id=hid, quarter=q, county="通江县", village=village, household_type="一般农户",
                monitor_type=None, risk_eliminated=None, risk_eliminated_date=pd.NaT, household_size=2.0,
                income_per_capita=1000.0, employment_support="无", workers=np.nan)


def _inputs(rows):
    hq = pd.DataFrame(rows)
    hq["risk_eliminated"] = hq["risk_eliminated"].astype("boolean")
    empty = pd.DataFrame()
    return Inputs(hq, empty, empty, empty)


@posix
def test_missed_monitoring_list_neutralizes_formulas_and_is_private(tmp_path):
    rows = [_hh(f"h{i}", q, v) for i, v in enumerate(HOSTILE) for q in FOUR]     # all below the line: all listed
    hq_before = _inputs(rows).hq.copy()
    private = tmp_path / "private"
    paths = Paths.make(private=private, processed=tmp_path / "p", reports=tmp_path / "r")
    codes = pd.DataFrame({"household_id": [f"h{i}" for i in range(len(HOSTILE))],
                          "户编码": ["=1+1", "+1", "-1", "@1", "5119", "5120"]})
    (private / Q).mkdir(parents=True)
    codes.to_parquet(private / Q / "household_codes.parquet")
    old = os.umask(0o022)
    try:
        inp = _inputs(rows)
        out = missed_monitoring_list(inp, Q, load_config(), paths)
    finally:
        os.umask(old)
    table = _cells(out)
    header, body = table[0], table[1:]
    assert len(body) == len(HOSTILE)
    village = {r[header.index("household_id")]: r[header.index("village")] for r in body}
    assert village == {f"h{i}": "'" + v for i, v in enumerate(HOSTILE)}
    code = [r[header.index("户编码")] for r in body]
    assert sorted(code) == sorted(["'=1+1", "'+1", "'-1", "'@1", "5119", "5120"])
    assert all(not c.startswith(("=", "+", "-", "@", "\t", "\r")) for r in table for c in r)
    assert {r[header.index("t4_income")] for r in body} == {"4000.0"}           # numbers as they were
    pd.testing.assert_frame_equal(inp.hq, hq_before)                            # the inputs are not changed
    # readable by its owner only, in a folder only its owner can enter
    assert _mode(out) == 0o600 and _mode(out.parent) == 0o700
    assert not list(out.parent.glob("*.tmp"))


def test_write_people_csv_neutralizes_text_cells_only(tmp_path):
    from helpers.store.exports import neutralize, write_people_csv

    frame = pd.DataFrame({
        "text": HOSTILE + ["-5", "太平场村", "a=b", None],
        "number": [-5.0, 1.5, np.nan, 0.0, 2.0, 3.0, -1.0, 7.0, 8.0, 9.0],
        "count": np.arange(-1, 9),
        "cat": pd.Series(["=x", "y"] * 5, dtype="category"),
        "@header": ["ok"] * 10,
    })
    before = frame.copy()
    n = neutralize(frame)
    pd.testing.assert_frame_equal(frame, before)                                # a copy; the original is unchanged
    assert n["text"].tolist()[:8] == ["'" + v for v in HOSTILE] + ["'-5", "太平场村"]
    assert n["text"].iloc[8] == "a=b" and pd.isna(n["text"].iloc[9])
    assert n["number"].equals(frame["number"]) and n["count"].equals(frame["count"])   # numbers untouched
    assert set(n["cat"]) == {"'=x", "y"} and "'@header" in n.columns

    path = tmp_path / "out" / "list.csv"
    write_people_csv(frame, path)
    table = _cells(path)
    assert table[0] == ["text", "number", "count", "cat", "'@header"]
    assert [r[0] for r in table[1:]] == ["'" + v for v in HOSTILE] + ["'-5", "太平场村", "a=b", ""]
    assert [r[1] for r in table[1:3]] == ["-5.0", "1.5"] and table[1][2] == "-1"      # negative numbers stay numbers
    assert all(not c.startswith(("=", "+", "-", "@", "\t", "\r")) for r in table for c in r if c not in ("-5.0", "-1", "-1.0"))
    back = pd.read_csv(path, encoding="utf-8-sig")
    assert len(back) == 10 and back["number"].iloc[0] == -5.0
    # text is quoted, so a semicolon inside a cell cannot start a cell where Excel splits on ';'
    assert b'"a=b"' in path.read_bytes() and not list(path.parent.glob("*.tmp"))


@posix
def test_private_files_and_folders_are_owner_only(tmp_path):
    from helpers.store.exports import private_dir, private_permissions, write_people_csv

    old = os.umask(0o022)
    try:
        path = tmp_path / "private" / Q / "quarantine.csv"
        write_people_csv(pd.DataFrame({"a": [1]}), path)
        assert _mode(path) == 0o600
        assert _mode(tmp_path / "private" / Q) == 0o700 and _mode(tmp_path / "private") == 0o700
        # an existing quarter folder made with the usual permissions is closed, and rewriting keeps 0600
        existing = tmp_path / "private2" / Q
        existing.mkdir(parents=True, mode=0o755)
        write_people_csv(pd.DataFrame({"a": [1]}), existing / "x.csv")
        write_people_csv(pd.DataFrame({"a": [2]}), existing / "x.csv")
        assert _mode(existing) == 0o700 and _mode(existing / "x.csv") == 0o600
        assert private_dir(tmp_path / "d" / "e") == tmp_path / "d" / "e"
        assert _mode(tmp_path / "d") == 0o700 and _mode(tmp_path / "d" / "e") == 0o700
        f = tmp_path / "d" / "codes.parquet"
        f.write_bytes(b"x")
        private_permissions(f)
        assert _mode(f) == 0o600
    finally:
        os.umask(old)


def test_indicators_write_the_list_through_write_people_csv(tmp_path, monkeypatch):
    import helpers.store.exports as exports
    import helpers.analysis.indicators as indicators

    calls = []
    real = exports.write_people_csv
    monkeypatch.setattr(indicators, "write_people_csv",
                        lambda frame, path: (calls.append(path), real(frame, path))[1], raising=True)
    rows = [_hh("h", q, "太平场村") for q in FOUR]
    out = missed_monitoring_list(_inputs(rows), Q, load_config(),
                                 Paths.make(private=tmp_path / "private", processed=tmp_path / "p",
                                            reports=tmp_path / "r"))
    assert calls == [out]


def _share(reports, folder, *files):
    d = reports / folder / "share"
    d.mkdir(parents=True)
    for f in files:
        (d / f).write_text("<html></html>", encoding="utf-8")


def test_index_escapes_hostile_names(tmp_path):
    from helpers.pipeline.run import write_index

    reports = tmp_path / "reports"
    _share(reports, Q, "04_report.html", "01_intake.html", '"><img src=x onerror=alert(1)>.html')
    _share(reports, "2023Q1", "04_report.html")
    _share(reports, 'x"><img src=x onerror=alert(9)>1', "04_report.html")
    page = write_index(reports).read_text(encoding="utf-8")
    assert "<img" not in page and "onerror=alert(9)" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page                         # a hostile file name is shown as text
    assert '<a href="2023Q2/share/04_report.html">季度评估报告（摘要）</a>' in page
    assert '<a href="2023Q2/share/01_intake.html">数据入库检查</a>' in page
    assert "2023年二季度（2023Q2）" in page and "2023年一季度（2023Q1）" in page
    assert page.index("2023Q2") < page.index("2023Q1")                         # newest first
    assert page.index("2023Q2/share/04_report.html") < page.index("2023Q2/share/01_intake.html")
    assert page.startswith("<!DOCTYPE html>") and "巴中市乡村振兴季度评估报告" in page and "可离线打开" in page


def test_index_lists_only_folders_named_like_a_quarter(tmp_path):
    from helpers.pipeline.run import write_index

    reports = tmp_path / "reports"
    _share(reports, Q, "04_report.html")
    for other in ("2023Q2备份", "2023Q5", "2023q3", " 2023Q3", "2023Q3x", "Q3"):
        _share(reports, other, "04_report.html")
    (reports / "2023Q4").mkdir()                                                # no share folder yet
    page = write_index(reports).read_text(encoding="utf-8")
    assert "备份" not in page and "2023Q5" not in page and "2023q3" not in page and "2023Q3" not in page
    assert "2023Q4" not in page and "Q3/" not in page
    assert '<a href="2023Q2/share/04_report.html">季度评估报告（摘要）</a>' in page


def test_index_speaks_the_language_each_quarter_was_run_in(tmp_path):
    import json

    from helpers.pipeline.run import write_index

    reports = tmp_path / "reports"
    _share(reports, Q, "04_report.html", "02_indicators.html")
    _share(reports, "2023Q1", "04_report.html")
    (reports / Q / "manifest.json").write_text(json.dumps({"lang": "en", "simulated": True}), encoding="utf-8")
    page = write_index(reports).read_text(encoding="utf-8")
    assert '<html lang="en">' in page and "Quarterly evaluation reports" in page and "open offline" in page
    assert '<a href="2023Q2/share/04_report.html">Quarterly evaluation (summary)</a>' in page
    assert "simulated data" in page and "模拟数据" not in page
    assert '<a href="2023Q1/share/04_report.html">季度评估报告（摘要）</a>' in page        # run in Chinese, titled in Chinese
