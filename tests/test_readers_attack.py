"""Issue 11, hostile input to the readers: a workbook reaching XFD1048576, a stray quote in a CSV.

The risky reads run in a child process, so a reader that aborts (as python-calamine does when a
sheet asks for hundreds of GB) fails the test instead of taking pytest down.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import xlsxwriter

from builders import household, paths_for, write_workbook
from helpers.intake.assemble import run_intake
from helpers.intake.pseudonym import PseudonymKey
from helpers.intake.readers import IntakeStop

Q = "2023Q2"
HEADERS = list(household(1))
SECRET = "readers-attack-test-key-0123456789abcdef-0123456789abcdef"
KEY = PseudonymKey(SECRET.encode(), "test")


def _cli_intake(tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "WORKBOOK_PSEUDONYM_KEY": SECRET}
    return subprocess.run([sys.executable, "-m", "helpers.pipeline.cli", "intake", "--raw", str(tmp_path / "raw"),
                           "--processed", str(tmp_path / "p"), "--private", str(tmp_path / "v")],
                          capture_output=True, text=True, encoding="utf-8", timeout=300, env=env)


# --------------------------------------------------------------------------------------
# Workbooks whose cells reach far away
# --------------------------------------------------------------------------------------
def _far_workbook(path: Path, variant: str) -> Path:
    """A county workbook (three households) whose 农户监测 sheet has a value at XFD1048576, written so."""
    write_workbook(path, [household(i) for i in (1, 2, 3)])
    zin = zipfile.ZipFile(path)
    parts = {i.filename: zin.read(i.filename) for i in zin.infolist()}
    zin.close()
    sheet = "xl/worksheets/sheet1.xml"
    xml = parts[sheet].decode("utf-8")
    far = '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'
    if variant == "declared":        # what Excel or xlsxwriter write: the dimension says so too
        xml = re.sub(r'<dimension ref="[^"]*"/>', '<dimension ref="A1:XFD1048576"/>', xml)
    elif variant == "no_dimension":
        xml = re.sub(r'<dimension ref="[^"]*"/>', "", xml)
    elif variant == "lying_dimension":
        xml = re.sub(r'<dimension ref="[^"]*"/>', '<dimension ref="A1:AA4"/>', xml)
    elif variant == "second_r":       # calamine takes the last of two r attributes
        far = '<row r="5"><c r="A5" r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'
    elif variant == "single_quotes_lower_case":
        far = "<row r='1048576'><c r='xfd1048576' t='inlineStr'><is><t>x</t></is></c></row>"
    elif variant == "prefixed":
        xml = xml.replace("<worksheet ", '<worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" ', 1)
        far = '<row r="1048576"><x:c r="XFD1048576" t="inlineStr"><x:is><x:t>x</x:t></x:is></x:c></row>'
    elif variant == "cells_without_r":  # placed by the row around them and the cells before them
        far = '<row r="1048576">' + '<c t="inlineStr"><is><t>x</t></is></c>' * 300 + "</row>"
    xml = xml.replace("</sheetData>", far + "</sheetData>")
    if variant != "declared":
        assert "XFD1048576" not in xml.split("<sheetData>")[0]
    parts[sheet] = xml.encode("utf-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in parts.items():
            zout.writestr(name, data)
    return path


READ_IN_CHILD = textwrap.dedent("""
    import sys
    from pathlib import Path
    from helpers.intake.readers import IntakeStop, list_files, read_file
    files, _ = list_files(Path(sys.argv[1]), "2023Q2")
    try:
        for sub in files:
            for sheet in read_file(sub):
                print("READ", sheet.sheet, len(sheet.rows), max(map(len, sheet.rows), default=0))
    except IntakeStop as exc:
        print("STOP", exc)
""")


def _read_in_child(folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", READ_IN_CHILD, str(folder)], capture_output=True, text=True,
                          encoding="utf-8", timeout=300)


@pytest.mark.parametrize("variant", ["declared", "no_dimension", "lying_dimension", "second_r",
                                     "single_quotes_lower_case", "prefixed", "cells_without_r"])
def test_a_sheet_reaching_far_away_stops_naming_the_file_and_sheet(tmp_path, variant):
    """On the reader alone, in a child process: today it aborts (exit 134) or lays out a million rows."""
    folder = tmp_path / "raw" / Q
    path = _far_workbook(folder / f"{Q}_通江县.xlsx", variant)
    assert path.stat().st_size < 100_000                      # a small file, as in the issue (84 KB)
    proc = _read_in_child(folder)
    assert proc.returncode == 0, proc.stderr[-2000:]          # the process survives (no abort, exit 134)
    assert "STOP" in proc.stdout and "READ" not in proc.stdout, proc.stdout
    assert f"{Q}_通江县.xlsx [农户监测]" in proc.stdout
    if variant == "second_r":          # not well-formed XML: refused whole, as it cannot be read safely
        assert "无法安全读取" in proc.stdout and "duplicate attribute" in proc.stdout
    else:
        assert "1,048,576 行" in proc.stdout and "Ctrl+End" in proc.stdout


def test_the_command_stops_a_far_reaching_workbook_with_exit_code_2(tmp_path):
    _far_workbook(tmp_path / "raw" / Q / f"{Q}_通江县.xlsx", "no_dimension")
    proc = _cli_intake(tmp_path)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and "panicked" not in proc.stderr
    assert f"{Q}_通江县.xlsx [农户监测]" in proc.stderr and "XFD1048576" in proc.stderr
    assert not (tmp_path / "p" / "household_quarters.parquet").exists()


def test_workbooks_within_the_limits_are_read_as_before(tmp_path):
    """A formatted but empty far cell (Excel writes these) is not laid out and does not stop; a sheet
    past row 100,000 or column AZ but within the limits is read; far values in another sheet stop."""
    folder = tmp_path / "raw" / Q
    path = write_workbook(folder / f"{Q}_通江县.xlsx", [household(i) for i in (1, 2)])
    zin = zipfile.ZipFile(path)
    parts = {i.filename: zin.read(i.filename) for i in zin.infolist()}
    zin.close()
    parts["xl/worksheets/sheet1.xml"] = parts["xl/worksheets/sheet1.xml"].replace(
        b"</sheetData>", b'<row r="1048576"><c r="XFD1048576" s="0"/></row></sheetData>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in parts.items():
            zout.writestr(name, data)
    proc = _read_in_child(folder)
    assert proc.returncode == 0 and "STOP" not in proc.stdout, proc.stdout + proc.stderr[-2000:]
    assert "READ 农户监测 3 27" in proc.stdout            # header and two households

    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = wb.add_worksheet("说明")
    for r in range(120_000):                                  # tall: rows past 99,999
        ws.write_number(r, 0, r)
    ws = wb.add_worksheet("汇总")
    for c in range(200):                                      # wide: columns past AZ
        ws.write_number(0, c, c)
    wb.close()
    proc = _read_in_child(folder)
    assert proc.returncode == 0 and "STOP" not in proc.stdout, proc.stdout + proc.stderr[-2000:]
    assert "READ 说明 120000 1" in proc.stdout and "READ 汇总 1 200" in proc.stdout

    wb = xlsxwriter.Workbook(str(path))
    wb.add_worksheet("农户监测").write_string(0, 0, "户编码")
    wb.add_worksheet("说明").write_string(0, 300, "x")      # column KO: past the 256 columns
    wb.close()
    proc = _read_in_child(folder)
    assert proc.returncode == 0 and f"STOP {folder / path.name} [说明]" in proc.stdout, proc.stdout


# --------------------------------------------------------------------------------------
# CSV: a stray quotation mark, shifted fields
# --------------------------------------------------------------------------------------
def _csv_line(values) -> str:
    return ",".join("" if v is None else (f'"{v}"' if isinstance(v, str) and "," in v else str(v)) for v in values)


def _write_csv(folder: Path, rows: list[dict], *, encoding="utf-8-sig", title=True, header=None) -> Path:
    lines = (["通江县2023年二季度农户监测明细表"] if title else []) + [header or ",".join(HEADERS)]
    lines += [_csv_line(r.values()) for r in rows]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{Q}_通江县_农户监测.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def _stop(tmp_path) -> str:
    with pytest.raises(IntakeStop) as info:
        run_intake(Q, paths_for(tmp_path), KEY)
    assert not (tmp_path / "processed" / "household_quarters.parquet").exists()
    return str(info.value)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gbk"])
def test_a_stray_quote_in_a_csv_cell_stops_naming_its_line(tmp_path, encoding):
    """The issue's case: the stray quote swallows the lines up to the next quoted cell (503 rows became 480)."""
    rows = [household(i) for i in range(1, 41)]
    rows[4] = household(5, **{"备注": '"已核实'})              # line 7: title, header, households 1..4 above
    rows[30] = household(31, **{"工资性收入": "3,000"})         # written "3,000": its quote closes the stray one
    path = _write_csv(tmp_path / "raw" / Q, rows, encoding=encoding)
    message = _stop(tmp_path)
    assert str(path) in message and "第 7 行" in message and "line 7" in message
    assert "双引号" in message and "quotation mark" in message
    assert "已核实" not in message                             # no cell content in the message


def test_a_stray_quote_that_never_closes_stops_instead_of_a_traceback(tmp_path):
    """Past 131,072 characters the csv module raises `field larger than field limit`: exit 2, not 1."""
    rows = [household(i) for i in range(1, 1500)]
    rows[9] = household(10, **{"备注": '"已核实'})             # line 12
    _write_csv(tmp_path / "raw" / Q, rows)
    proc = _cli_intake(tmp_path)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and "_csv.Error" not in proc.stderr
    assert f"{Q}_通江县_农户监测.csv 第 12 行" in proc.stderr and "line 12" in proc.stderr


@pytest.mark.parametrize("case, line, fields", [
    ("comma_in_a_number", 5, 28),        # 3,000 typed without quotes: every later column shifts right
    ("cell_dropped", 4, 26),             # a cell deleted in a text editor: every later column shifts left
])
def test_a_row_whose_fields_differ_from_the_header_stops(tmp_path, case, line, fields):
    rows = [household(i) for i in range(1, 6)]
    folder = tmp_path / "raw" / Q
    path = _write_csv(folder, rows)
    lines = path.read_bytes().decode("utf-8-sig").split("\r\n")
    k = line - 1
    if case == "comma_in_a_number":
        lines[k] = lines[k].replace(",3000.0,", ",3,000.0,", 1)
    else:
        cells = lines[k].split(",")
        lines[k] = ",".join(cells[:8] + cells[9:])
    path.write_bytes("\r\n".join(lines).encode("utf-8-sig"))
    message = _stop(tmp_path)
    assert f"第 {line} 行" in message and f"line {line} has {fields} fields" in message
    assert f"表头有 {len(HEADERS)} 列" in message


def test_line_breaks_are_read_in_header_cells_but_stop_in_a_data_cell(tmp_path):
    """Excel saves a header typed on two lines as a quoted cell over two lines: still read. In a
    household's cell the same stops: a county's CSV holds one household per line."""
    header = ",".join(f'"{h[:3]}\n{h[3:]}"' if h in ("工资性收入", "经营性收入") else h for h in HEADERS)
    rows = [household(1), household(2), household(3)]
    folder = tmp_path / "raw" / Q
    _write_csv(folder, rows, header=header)
    path = folder / f"{Q}_通江县_农户监测.csv"
    path.write_bytes(path.read_bytes() + b"\r\n\r\n")          # empty lines at the end are fine too
    run_intake(Q, paths_for(tmp_path), KEY)
    hq = pd.read_parquet(paths_for(tmp_path).processed / "household_quarters.parquet")
    assert len(hq) == 3 and (hq["income_wage"] == 3000.0).all()

    rows[1] = household(2, **{"备注": "已核实\n待复查"})
    other = tmp_path / "b"
    _write_csv(other / "raw" / Q, rows, header=header)
    p = other / "raw" / Q / f"{Q}_通江县_农户监测.csv"
    p.write_bytes(p.read_bytes().replace("已核实\n待复查".encode("utf-8"), '"已核实\n待复查"'.encode("utf-8")))
    message = _stop(other)
    # title (1), header over lines 2-4 (two cells with a line break), household 1 on line 5, household 2 on 6
    assert "第 6 行" in message and "第 27 列" in message and "line 6" in message


def test_the_scan_sees_a_far_reference_split_between_two_pieces():
    """The sheet XML is scanned 4 MB at a time; a reference cut in two by a piece boundary is still seen."""
    from helpers.intake.readers import _fast_extent

    rows = "".join(f'<row r="{i}"><c r="A{i}" t="s"><v>{i}</v></c></row>' for i in range(1, 200))
    far = '<row r="300"><c r="A300" r="XFD1048576" t="s"><v>1</v></c></row>'
    xml = f'<?xml version="1.0" encoding="UTF-8"?><worksheet><sheetData>{rows}{far}</sheetData></worksheet>'.encode()
    assert _fast_extent([xml.replace(b' r="XFD1048576"', b"")]) == (99_999, 52)    # plain: vouched for
    at = xml.index(b"XFD1048576")
    for k in range(at - 30, at + 15):
        assert _fast_extent([xml[:k], xml[k:]]) is None, k


# --------------------------------------------------------------------------------------
# The header: a first data row is never read as the header's second row
# --------------------------------------------------------------------------------------
def _log(tmp_path, sheet: str):
    log = pd.read_parquet(paths_for(tmp_path).processed / "intake_log.parquet")
    return log[log["sheet"] == sheet].iloc[0]


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_a_first_data_row_holding_a_header_word_is_kept_as_data(tmp_path, kind):
    """The review's case: under an unknown column 与户主关系 the first household says 户主 (a synonym of
    户主姓名), and under 备注信息 a note with a phone number. The row was read as a second header row:
    not counted, in neither table, and its values listed as 'extra columns'."""
    rows = [household(i, 与户主关系="户主", 备注信息="联系人测试，电话13812345678") for i in (1, 2, 3)]
    headers = list(rows[0])
    headers[headers.index("备注")] = "说明"
    folder = tmp_path / "raw" / Q
    if kind == "xlsx":
        write_workbook(folder / f"{Q}_通江县.xlsx", rows, headers=headers, titles=["通江县2023年二季度农户监测明细表"])
    else:
        _write_csv(folder, rows, header=",".join(headers))
    summary = run_intake(Q, paths_for(tmp_path), KEY)
    hq = pd.read_parquet(paths_for(tmp_path).processed / "household_quarters.parquet")
    assert len(hq) == 3 and _log(tmp_path, "农户监测")["rows_in"] == 3
    extra = [w for w in summary.warnings if "extra columns ignored" in w and "农户监测" in w]
    assert len(extra) == 1 and extra[0].endswith("extra columns ignored: 与户主关系、备注信息"), extra
    assert not any("联系人" in w or "户主、" in w for w in summary.warnings)


def test_a_village_whose_type_column_says_village_is_not_lost(tmp_path):
    """行政村 with an extra column 村居类型 holding 村 (a synonym of 行政村) on every row: 12 villages
    read as 11 in the review, the first one silently missing."""
    from builders import village_rows, write_sheet

    folder = tmp_path / "raw" / Q
    path = write_workbook(folder / f"{Q}_通江县.xlsx", [household(1)], villages=False)
    villages = [{**village_rows()[0], "行政村": name, "村居类型": "村"} for name in ("太平场村", "杨柏村", "三元村")]
    wb = xlsxwriter.Workbook(str(path))
    write_sheet(wb.add_worksheet("农户监测"), [household(1)])
    write_sheet(wb.add_worksheet("行政村"), villages, titles=["通江县2023年二季度行政村明细表"])
    wb.close()
    run_intake(Q, paths_for(tmp_path), KEY)
    v = pd.read_parquet(paths_for(tmp_path).processed / "villages.parquet")
    assert sorted(v["village"]) == ["三元村", "太平场村", "杨柏村"] and _log(tmp_path, "行政村")["rows_in"] == 3


def test_which_rows_are_read_as_a_second_header_row():
    """Two-row headers still join (a group header over sub-headers, a unit under its column, a header
    repeated in both rows); a row with values under the named columns never does."""
    from helpers.domain.dictionary import HOUSEHOLDS, VILLAGES
    from helpers.intake.readers import locate_header

    first = ["户编码", "户主姓名", "县(区)", "乡镇(街道)", "行政村", "户类型", "家庭人口", "劳动力人数", "是否易地搬迁",
             "收入情况", "", "", "", "家庭纯收入", "产业补助金额", "备注"]
    sub = ["", "", "", "", "", "", "", "", "", "工资性收入", "经营性收入", "财产性收入", "转移性收入", "", "(万元)", ""]
    data = ["511921000000000001", "测试", "通江县", "杨柏镇", "太平场村", "脱贫户", 3.0, 2.0, "否",
            3000.0, 1000.0, 100.0, 500.0, 4600.0, 0.15, "户主"]
    hm = locate_header([["明细表"], first, sub, data], HOUSEHOLDS, "t")
    assert hm.first_data_row == 3 and hm.columns[9].name == "income_wage" and hm.scale[14] == 10000.0
    assert hm.extra == []

    as_text = ["" if v == "" else (f"{v:g}" if isinstance(v, float) else v) for v in data]   # a CSV's cells
    for second in (data, as_text, ["", "测试"] + sub[2:], sub[:6] + ["3"] + sub[7:]):
        hm = locate_header([first, second], HOUSEHOLDS, "t")
        assert hm.first_data_row == 1, second          # values under named columns: a data row
    filled = first[:9] + ["收入情况"] * 4 + first[13:]          # merged cells unmerged, their value in every cell
    hm = locate_header([filled, first[:9] + sub[9:13] + first[13:], data], HOUSEHOLDS, "t")
    assert hm.first_data_row == 2 and hm.columns[12].name == "income_transfer" and hm.extra == []

    head = ["县(区)", "乡镇(街道)", "行政村", "总户数", "村居类型"]
    for second in (["通江县", "杨柏镇", "太平场村", 1000.0, "村"], ["通江县", "杨柏镇", "太平场村", "1000", "村"]):
        hm = locate_header([head, second], VILLAGES, "t")
        assert hm.first_data_row == 1 and hm.extra == ["村居类型"]


# --------------------------------------------------------------------------------------
# CSV encodings: a stray byte order mark, bytes neither UTF-8 nor GBK
# --------------------------------------------------------------------------------------
def test_a_utf8_byte_order_mark_in_front_of_gbk_text_is_a_stray(tmp_path):
    """It gave a UnicodeDecodeError traceback (exit 1): the text after the mark is read as GBK."""
    folder = tmp_path / "raw" / Q
    path = _write_csv(folder, [household(i) for i in (1, 2, 3)], encoding="gbk")
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    run_intake(Q, paths_for(tmp_path), KEY)
    hq = pd.read_parquet(paths_for(tmp_path).processed / "household_quarters.parquet")
    assert len(hq) == 3 and (hq["village"] == "太平场村").all()
    assert _log(tmp_path, "农户监测")["encoding"] == "gb18030"

    other = tmp_path / "utf16"                    # UTF-16 with its byte order mark is still read
    _write_csv(other / "raw" / Q, [household(i) for i in (1, 2)], encoding="utf-16")
    run_intake(Q, paths_for(other), KEY)
    assert len(pd.read_parquet(paths_for(other).processed / "household_quarters.parquet")) == 2


@pytest.mark.parametrize("case, line", [
    ("gbk_with_bad_bytes_at_the_end", 6),        # was 'no header row found': read as some other encoding
    ("bom_then_gbk_with_a_bad_byte", 4),         # was a UnicodeDecodeError traceback
    ("utf8_with_a_bad_byte", 4),
])
def test_a_csv_neither_utf8_nor_gbk_stops_naming_the_line(tmp_path, case, line):
    folder = tmp_path / "raw" / Q
    rows = [household(i) for i in (1, 2, 3)]
    path = _write_csv(folder, rows, encoding="utf-8" if case.startswith("utf8") else "gbk")
    data = path.read_bytes()
    if case == "gbk_with_bad_bytes_at_the_end":
        data += b"\xff\xfe\xff"
    else:
        at = data.index("测试2号".encode("utf-8" if case.startswith("utf8") else "gbk"))   # household 2: line 4
        data = (b"\xef\xbb\xbf" if case.startswith("bom") else b"") + data[:at] + b"\xff" + data[at:]
    path.write_bytes(data)
    proc = _cli_intake(tmp_path)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and "UnicodeDecodeError" not in proc.stderr
    assert f"{path.name} 第 {line} 行" in proc.stderr and f"line {line} (byte" in proc.stderr
    assert "UTF-8" in proc.stderr and "GBK" in proc.stderr and "找不到表头" not in proc.stderr


def test_corrections_with_a_stray_byte_order_mark_or_bad_bytes(tmp_path):
    """data/corrections.csv is decoded by the same function."""
    write_workbook(tmp_path / "raw" / Q / f"{Q}_通江县.xlsx", [household(1)])
    text = ("quarter,source_file,sheet,row,column,old,new,reason,who\r\n"
            f"{Q},{Q}_通江县.xlsx,农户监测,2,务工人数,1,2,乡镇核实,李四\r\n")
    (tmp_path / "corrections.csv").write_bytes(b"\xef\xbb\xbf" + text.encode("gbk"))
    assert run_intake(Q, paths_for(tmp_path), KEY).processed == [Q]
    assert pd.read_parquet(paths_for(tmp_path).processed / "household_quarters.parquet")["workers"].item() == 2
    (tmp_path / "corrections.csv").write_bytes(text.encode("gbk") + b"\x80")
    with pytest.raises(IntakeStop) as info:
        run_intake(Q, paths_for(tmp_path), KEY)
    assert "corrections.csv 第 3 行" in str(info.value) and "line 3 (byte" in str(info.value)


# --------------------------------------------------------------------------------------
# Files that cannot be read: a broken link, no permission (open in Excel), a folder
# --------------------------------------------------------------------------------------
def test_a_broken_link_named_like_a_submission_stops_with_exit_code_2(tmp_path):
    """It gave a FileNotFoundError traceback (exit 1)."""
    folder = tmp_path / "raw" / Q
    write_workbook(folder / f"{Q}_通江县.xlsx", [household(1)])
    (folder / f"{Q}_通江县_副本.xlsx").symlink_to(tmp_path / "gone.xlsx")
    proc = _cli_intake(tmp_path)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and "FileNotFoundError" not in proc.stderr
    assert f"{Q}_通江县_副本.xlsx" in proc.stderr and "删除这个链接" in proc.stderr and "remove the link" in proc.stderr


@pytest.mark.parametrize("error, says", [
    (PermissionError(13, "Permission denied"), "close it and try again"),    # Windows: open in Excel
    (OSError(5, "Input/output error"), "copy it to the data/raw folder"),
])
@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_a_file_that_cannot_be_opened_stops_saying_what_to_do(tmp_path, monkeypatch, kind, error, says):
    folder = tmp_path / "raw" / Q
    if kind == "xlsx":
        path = write_workbook(folder / f"{Q}_通江县.xlsx", [household(1)])
    else:
        path = _write_csv(folder, [household(1)])
    real = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda p: (_ for _ in ()).throw(error) if p == path else real(p))
    message = _stop(tmp_path)
    assert str(path) in message and says in message


def test_a_folder_named_like_a_submission_stops_instead_of_being_left_out(tmp_path):
    """Skipped without a word, the county's data was missing with only 'no submission from 通江县'."""
    folder = tmp_path / "raw" / Q
    write_workbook(folder / f"{Q}_平昌县.xlsx", [household(1, **{"县(区)": "平昌县"})], county="平昌县")
    write_workbook(folder / f"{Q}_通江县.xlsx" / f"{Q}_通江县.xlsx", [household(2)])
    message = _stop(tmp_path)
    assert f"{Q}_通江县.xlsx: 这是一个文件夹" in message and "move the submission file out of it" in message


# --------------------------------------------------------------------------------------
# Cells longer than Excel's limit of 32,767 characters
# --------------------------------------------------------------------------------------
def _replace_in_part(path: Path, part: str, old: bytes, pieces) -> None:
    """Rewrite one part of a workbook, ``old`` replaced by the byte strings of ``pieces`` (streamed)."""
    zin = zipfile.ZipFile(path)
    parts = {i.filename: zin.read(i.filename) for i in zin.infolist()}
    zin.close()
    head, tail = parts[part].split(old, 1)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in parts.items():
            if name != part:
                zout.writestr(name, data)
                continue
            with zout.open(name, "w", force_zip64=True) as f:
                f.write(head)
                for piece in pieces:
                    f.write(piece)
                f.write(tail)


@pytest.mark.parametrize("case", ["shared_string", "inline_string", "huge_inline_string"])
def test_a_cell_beyond_excels_limit_stops_naming_the_sheet_and_cell(tmp_path, case):
    """The review's case: a 959 KB workbook whose 问题整改 cell holds 900 million characters took 8 GB and
    two minutes, and the text was kept. Here 40,000 characters (as Excel would share them, or inline)
    and 100 million, read in a child process."""
    folder = tmp_path / "raw" / Q
    path = write_workbook(folder / f"{Q}_通江县.xlsx", [household(1)])
    marker = "补助发放不及时，联系人电话13912345678，身份证511921198001011234".encode("utf-8")
    if case == "shared_string":
        _replace_in_part(path, "xl/sharedStrings.xml", marker, [b"x" * 40_000])
    else:
        n = 40_000 if case == "inline_string" else 100_000_000
        zin = zipfile.ZipFile(path)
        xml, sst = zin.read("xl/worksheets/sheet4.xml"), zin.read("xl/sharedStrings.xml")
        zin.close()
        index = sst.split(marker)[0].count(b"<si>") - 1
        old = re.search(rb'<c r="D2"[^>]*t="s"[^>]*><v>%d</v></c>' % index, xml)[0]
        _replace_in_part(path, "xl/worksheets/sheet4.xml", old,
                         [b'<c r="D2" t="inlineStr"><is><t>'] + [b"y" * 10_000_000] * (n // 10_000_000) +
                         [b"y" * (n % 10_000_000), b"</t></is></c>"])
    assert path.stat().st_size < 1_000_000
    proc = _read_in_child(folder)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "STOP" in proc.stdout and "READ" not in proc.stdout, proc.stdout
    assert f"{Q}_通江县.xlsx [问题整改]: 单元格 D2 的内容超过 32,767 个字符" in proc.stdout, proc.stdout
    assert "cell D2 holds more than 32,767 characters, beyond Excel's limit" in proc.stdout


def test_cells_up_to_excels_limit_are_read(tmp_path):
    """32,767 characters (98 KB of UTF-8) in a cell, and 30,000 escaped ampersands (150 KB of XML), are
    within the limit: read as before."""
    from builders import write_sheet

    folder = tmp_path / "raw" / Q
    folder.mkdir(parents=True)
    wb = xlsxwriter.Workbook(str(folder / f"{Q}_通江县.xlsx"))
    write_sheet(wb.add_worksheet("农户监测"), [household(1, 备注="中" * 32_767)])
    wb.add_worksheet("说明").write_string(0, 0, "&" * 30_000)
    wb.close()
    proc = _read_in_child(folder)
    assert proc.returncode == 0 and "STOP" not in proc.stdout, proc.stdout + proc.stderr[-2000:]
    assert "READ 农户监测 2 27" in proc.stdout and "READ 说明 1 1" in proc.stdout


def test_the_text_watch_sees_a_long_run_wherever_the_pieces_are_cut():
    """The part is watched 4 MB at a time: a run cut by piece boundaries, or a whole piece without a tag."""
    from helpers.intake.readers import _LongText, _TextRuns

    def long_text(pieces):
        try:
            list(_TextRuns().watch(pieces))
        except _LongText as exc:
            return exc.offset
        return None

    cell = lambda text: b'<c r="A1" t="inlineStr"><is><t>' + text + b"</t></is></c>"  # noqa: E731
    pad = b"<row>" + b"<c><v>1</v></c>" * 5000
    for text, over in ((b"a" * 32_767, False), (b"a" * 32_768, True), ("中".encode() * 32_767, False),
                       ("中".encode() * 32_768, True), (b"&amp;" * 32_767, False), (b"&#x4e2d;" * 32_768, True)):
        xml = pad + cell(text) + pad
        at = xml.index(b"<t>")
        assert (long_text([xml]) == at) is over, (len(text), over)
        for cut in (at - 1, at + 3, at + 40_000, xml.index(b"</t>") - 1, xml.index(b"</t>") + 1):
            assert (long_text([xml[:cut], xml[cut:]]) is not None) is over, (len(text), cut)
        assert (long_text([xml[i:i + 7_000] for i in range(0, len(xml), 7_000)]) is not None) is over
    assert long_text([b"<t>" + b"a" * (4 << 20)]) == 0


def test_a_csv_cell_beyond_excels_limit_stops_naming_its_line(tmp_path):
    rows = [household(i) for i in range(1, 6)]
    rows[2] = household(3, 备注="x" * 40_000)                   # line 5: title, header, households 1, 2
    _write_csv(tmp_path / "raw" / Q, rows)
    message = _stop(tmp_path)
    assert f"{Q}_通江县_农户监测.csv 第 5 行" in message and "line 5: a cell on this line holds more than 32,767" in message

    rows[2] = household(3, 备注="中" * 32_767)                   # at the limit: read
    other = tmp_path / "b"
    _write_csv(other / "raw" / Q, rows)
    run_intake(Q, paths_for(other), KEY)
    assert len(pd.read_parquet(paths_for(other).processed / "household_quarters.parquet")) == 5
