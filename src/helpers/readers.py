"""Finding, opening and reading county submission files.

A quarter's folder holds one workbook per county (``2023Q2_通江县.xlsx``) or one CSV per
sheet (``2023Q2_通江县_农户监测.csv``, UTF-8 with or without BOM, or GBK/GB18030). Cells are
read as the values Excel stored (numbers stay numbers, so a household code that Excel
turned into a number is recognisable), with python-calamine for workbooks.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from helpers.dictionary import SHEET_BY_NAME, Column, Sheet, header_lookup, header_unit, normalize_header
from helpers.places import normalize_county

FILE_RE = re.compile(r"^(?P<quarter>\d{4}Q[1-4])_(?P<county>[^_]+?)(?:_(?P<sheet>[^_]+))?\.(?P<ext>xlsx|xlsm|xls|csv)$",
                     re.IGNORECASE)
HEADER_SCAN_ROWS = 20


class IntakeStop(Exception):
    """A problem that stops intake: the message names the file, sheet, column and the fix."""


@dataclass
class SubmissionFile:
    """One file in a quarter's folder, named by the convention."""

    path: Path
    quarter: str
    county: str
    sheet: str | None   # CSV: the sheet in the file name
    kind: str           # "xlsx" or "csv"


@dataclass
class RawSheet:
    """The cells of one sheet, as rows of Python values ('' for an empty cell)."""

    source_file: str
    sheet: str
    county: str
    rows: list[list]
    encoding: str = ""
    notes: list[str] = field(default_factory=list)


def list_files(folder: Path, quarter: str) -> tuple[list[SubmissionFile], list[str]]:
    """The submission files of ``quarter`` in ``folder`` and warnings about other files.

    A file named for another quarter or for a county not among the five stops intake.
    """
    files, warnings = [], []
    for path in sorted(folder.iterdir()):
        if path.name.startswith((".", "~$")) or path.is_dir():
            continue
        m = FILE_RE.match(path.name)
        if not m:
            warnings.append(f"{path.name}: 不是提交文件（应为 季度_县区.xlsx 或 季度_县区_表名.csv），已忽略 / "
                            f"not a submission file (expected QUARTER_COUNTY.xlsx or QUARTER_COUNTY_SHEET.csv); ignored")
            continue
        if m["quarter"].upper() != quarter:
            raise IntakeStop(
                f"{path}: 文件名中的季度为 {m['quarter']}，但放在 {quarter} 文件夹中。请把它移到正确的季度文件夹，或更正文件名。 / "
                f"the file is named for quarter {m['quarter']} but sits in the {quarter} folder: move it to its "
                f"quarter's folder or correct the name.")
        county = normalize_county(m["county"])
        if county is None:
            raise IntakeStop(
                f"{path}: 文件名中的县(区)“{m['county']}”不在巴中市五县区之内（巴州区、恩阳区、通江县、南江县、平昌县）。请更正文件名。 / "
                f"the county '{m['county']}' in the file name is not one of the five county-level units: correct the file name.")
        ext = m["ext"].lower()
        if ext == "csv" and not m["sheet"]:
            raise IntakeStop(
                f"{path}: CSV 文件名须写明表名，例如 {quarter}_{county}_农户监测.csv。 / a CSV file must name its sheet, "
                f"e.g. {quarter}_{county}_农户监测.csv: rename the file.")
        files.append(SubmissionFile(path, quarter, county, m["sheet"], "csv" if ext == "csv" else "xlsx"))
    return files, warnings


def decode_csv_bytes(data: bytes, path: Path) -> tuple[str, str]:
    """Text of a CSV file and the encoding detected: UTF-8 (with or without BOM), else GB18030."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise IntakeStop(f"{path}: 无法识别文件编码。请在 Excel 中另存为“CSV UTF-8”后重新提交。 / "
                         f"the file's encoding cannot be recognised: save it again as 'CSV UTF-8' in Excel.")
    return str(best), best.encoding


def read_file(sub: SubmissionFile) -> list[RawSheet]:
    """Every sheet of a submission file as raw rows. An unreadable file stops intake."""
    name = sub.path.name
    if sub.kind == "csv":
        text, enc = decode_csv_bytes(sub.path.read_bytes(), sub.path)
        rows = [list(r) for r in csv.reader(io.StringIO(text, newline=""))]
        return [RawSheet(name, sub.sheet.strip(), sub.county, rows, enc)]
    from python_calamine import CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_path(str(sub.path))
        out = []
        for sheet_name in wb.sheet_names:
            rows = wb.get_sheet_by_name(sheet_name).to_python(skip_empty_area=False)
            out.append(RawSheet(name, sheet_name.strip(), sub.county, rows))
        return out
    except Exception as exc:  # calamine raises several error types for broken files
        raise IntakeStop(f"{sub.path}: 无法打开此 Excel 文件（{exc.__class__.__name__}: {exc}）。请在 Excel 中打开并另存为 .xlsx 后重新提交。 / "
                         f"the workbook cannot be opened ({exc}): open it in Excel, save it as .xlsx and submit it again.") from None


@dataclass
class HeaderMap:
    """Where the header is, which column holds what, and how each column is scaled."""

    first_data_row: int                  # 0-based index of the first row under the header
    columns: dict[int, Column]           # column position -> dictionary column
    scale: dict[int, float]              # column position -> multiplier to 元 (万元 headers)
    header_text: dict[int, str]          # column position -> header as written (normalized)
    extra: list[str]                     # headers not in the dictionary (ignored, warned)
    duplicated: list[str]                # dictionary columns found twice (first kept)


def _cell_text(v) -> str:
    return normalize_header(v) if v not in (None, "") else ""


def _match(text: str, lookup: dict[str, Column]) -> tuple[Column | None, str]:
    if not text:
        return None, ""
    if text in lookup:
        return lookup[text], ""
    base, unit = header_unit(text)
    return lookup.get(base), unit


def locate_header(rows: list[list], sheet: Sheet, where: str) -> HeaderMap:
    """Find the header row (under any title rows), joining a header merged over two rows."""
    lookup = header_lookup(sheet)
    scan = rows[:HEADER_SCAN_ROWS]
    texts = [[_cell_text(v) for v in r] for r in scan]
    counts = [sum(_match(t, lookup)[0] is not None for t in r) for r in texts]
    if not counts or max(counts) < 2:
        raise IntakeStop(f"{where}: 在前 {HEADER_SCAN_ROWS} 行中找不到表头（应含“{sheet.columns[0].header}”等列名）。"
                         f"请检查表头是否与提交格式一致。 / no header row found in the first {HEADER_SCAN_ROWS} rows "
                         f"(expected headers such as '{sheet.columns[0].header}'): check the sheet against the submission format.")
    r = max(range(len(counts)), key=lambda i: (counts[i], -i))
    header_rows = [r]
    for other in (r + 1, r - 1):
        if 0 <= other < len(texts):
            adds = sum(1 for j, t in enumerate(texts[other])
                       if _match(t, lookup)[0] is not None and
                       (j >= len(texts[r]) or _match(texts[r][j], lookup)[0] is None))
            if adds:
                header_rows = sorted([r, other])
                break
    width = max(len(texts[i]) for i in header_rows)
    columns, scale, header_text, extra, dup = {}, {}, {}, [], []
    seen: set[str] = set()
    for j in range(width):
        parts = [texts[i][j] if j < len(texts[i]) else "" for i in header_rows]
        candidates = [p for p in reversed(parts) if p] + (["".join(parts)] if len(parts) > 1 else [])
        col, unit, written = None, "", " ".join(p for p in parts if p)
        for cand in candidates:
            col, unit = _match(cand, lookup)
            if col is not None:
                written = cand
                break
        if col is None:
            if written:
                extra.append(written)
            continue
        if col.name in seen:
            dup.append(written)
            continue
        seen.add(col.name)
        columns[j] = col
        header_text[j] = written
        if col.kind == "amount":
            scale[j] = 10000.0 if unit in ("万元", "万") else 1.0
        elif col.kind == "wan":
            scale[j] = 1.0 if unit == "元" else 10000.0
    return HeaderMap(max(header_rows) + 1, columns, scale, header_text, extra, dup)


def sheet_spec(name: str) -> Sheet | None:
    """The dictionary sheet for a sheet name as written (spaces and full-width folded)."""
    return SHEET_BY_NAME.get(normalize_header(name))
