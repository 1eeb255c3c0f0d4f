"""Finding, opening and reading county submission files.

A quarter's folder holds one workbook per county (``2023Q2_通江县.xlsx``) or one CSV per
sheet (``2023Q2_通江县_农户监测.csv``, UTF-8 with or without BOM, or GBK/GB18030). Cells are
read as the values Excel stored (numbers stay numbers, so a household code that Excel
turned into a number is recognisable), with python-calamine for workbooks.

Hostile or careless input is stopped here, before it can do harm:

- A workbook whose cells reach far away (a value typed at XFD1048576) would make
  python-calamine lay out rows x columns cells and abort the whole process. Every sheet
  is first scanned, streaming its XML once, for the farthest cell the reader would place
  (``check_workbook_extent``), and a sheet beyond ``MAX_ROWS`` / ``MAX_COLUMNS`` /
  ``MAX_CELLS`` stops intake with the file, the sheet and the cell named.
- A CSV with a stray quotation mark would swallow the lines after it into one cell. A
  county's CSV holds one household per line, so a quoted cell running over lines (outside
  the title and header rows), a row whose number of fields differs from the header's, or
  anything the csv module cannot parse stops intake with the physical line number.
- A cell longer than Excel's limit of 32,767 characters (a workbook of 1 MB can unpack to a
  900-million-character cell) stops intake naming the sheet and cell, or the CSV's line.
- A CSV that is neither UTF-8 nor GBK (a UTF-8 byte order mark before GBK text is a stray and
  is read as GBK) stops naming the line of the first byte that cannot be read; a file that
  cannot be opened (a broken link, no permission, open in Excel) stops saying what to do.

A first data row is never taken for the second row of a header merged over two rows
(``locate_header``), so every row under the header is counted, kept or set aside.
"""
from __future__ import annotations

import csv
import io
import posixpath
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from xml.parsers import expat

from helpers.domain.errors import Stop
from helpers.domain.dictionary import SHEET_BY_NAME, Column, Sheet, header_lookup, header_unit, normalize_header
from helpers.intake.places import normalize_county

FILE_RE = re.compile(r"^(?P<quarter>\d{4}Q[1-4])_(?P<county>[^_]+?)(?:_(?P<sheet>[^_]+))?\.(?P<ext>xlsx|xlsm|xls|csv)$",
                     re.IGNORECASE)
HEADER_SCAN_ROWS = 20

# How far a sheet may reach. Bazhong's whole city monitors about 200,000 households and a
# county's 农户监测 sheet has 27 columns, so a county workbook holds a few hundred thousand
# rows at most and a few dozen columns. python-calamine lays a sheet out as rows x columns
# cells (about 32 bytes each, then a Python list of them) counted from A1 to the farthest
# cell that holds a value, so one value far away is enough to ask for hundreds of GB.
MAX_ROWS = 500_000              # rows of one sheet
MAX_COLUMNS = 256               # columns of one sheet (IV, the width of an .xls sheet)
MAX_CELLS = 30_000_000          # rows x columns of one sheet, and cells written in it: ~1 GB to read
MAX_PART_BYTES = 1 << 30        # one part of the workbook (a sheet's XML) unpacked: 1 GiB
MAX_CELL_CHARS = 32_767         # Excel's limit for the text of one cell


class IntakeStop(Stop):
    """A problem that stops intake: the message names the file, sheet, column and the fix.

    The message passes the scrubber when the exception is made, so whatever a file name, a sheet
    name, a header or a library's error text carried (a phone or ID number) never reaches the screen,
    a log or an exported notebook.
    """

    def __init__(self, message: object = "", *args):
        from helpers.intake.pseudonym import scrub_text

        super().__init__(scrub_text(str(message)) or "", *args)


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
        if path.name.startswith((".", "~$")):
            continue
        m = FILE_RE.match(path.name)
        if path.is_dir():
            if m:                                  # a county's data left out without a word otherwise
                raise IntakeStop(
                    f"{path}: 这是一个文件夹，却按提交文件命名，其中的数据不会被读取。请把提交文件移出这个文件夹放到 {folder.name} 中，"
                    f"并删除或改名这个文件夹。 / this is a folder named like a submission file, so nothing in it would be "
                    f"read: move the submission file out of it into {folder.name} and delete or rename the folder.")
            continue
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
    """Text of a CSV file and its encoding: UTF-8 (with or without BOM), else GB18030 (GBK).

    A UTF-8 byte order mark in front of GBK text (an editor added it, or two files were
    pasted together) is a stray: the text after it is read as GBK. UTF-16 with its byte
    order mark (Excel's "Unicode text") is read too. Anything else stops intake naming the
    line and byte where neither UTF-8 nor GBK can read on, rather than guessing an encoding
    and reading the file as garbage.
    """
    for bom, enc in ((b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(enc), enc
            except UnicodeDecodeError:
                break
    skip = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    body = memoryview(data)[skip:]
    errors = []
    for enc, name in (("utf-8", "utf-8-sig" if skip else "utf-8"), ("gb18030", "gb18030")):
        try:
            return str(body, enc), name
        except UnicodeDecodeError as exc:
            errors.append(exc)
    at = skip + max(exc.start for exc in errors)           # the encoding that read furthest
    line = data.count(b"\n", 0, at) + 1
    raise IntakeStop(
        f"{path} 第 {line} 行: 文件编码无法识别，从这一行（文件第 {at + 1:,} 个字节）起的内容既不是 UTF-8 也不是 GBK 编码，"
        f"多半是文件被截断、损坏，或用不同编码保存的内容拼在了一起。请在 Excel 中打开原表，另存为“CSV UTF-8（逗号分隔）”"
        f"（或 GBK 编码的 CSV）后重新提交。 / line {line} (byte {at + 1:,}): the file is neither UTF-8 nor GBK from here on, "
        f"most likely it was cut off, damaged, or pieces saved in different encodings were pasted together. Open the "
        f"original sheet in Excel, save it as 'CSV UTF-8 (Comma delimited)' (or as CSV in GBK) and submit again.")


def read_bytes(path: Path) -> bytes:
    """The bytes of a submission file; a file that cannot be opened stops intake saying what to do."""
    try:
        if path.is_dir():
            raise IsADirectoryError(path)
        return path.read_bytes()
    except PermissionError as exc:             # Windows: also a workbook open (locked) in Excel or WPS
        raise IntakeStop(
            f"{path}: 无法读取此文件（没有读取权限，或文件正被其他程序占用：{exc.strerror or exc.__class__.__name__}）。"
            f"如果它正在 Excel 或 WPS 中打开，请关闭后重试；否则请检查文件的访问权限（或复制一份有权限的副本替换它）。 / the file "
            f"cannot be read (no permission, or another program holds it: {exc.strerror or exc.__class__.__name__}). If it "
            f"is open in Excel or WPS, close it and try again; otherwise check the file's permissions (or replace it "
            f"with a copy you may read).") from None
    except FileNotFoundError:
        if path.is_symlink():
            raise IntakeStop(
                f"{path}: 这是一个快捷方式（符号链接），它指向的文件已不存在。请删除这个链接，把提交文件本身放进文件夹后重试。 / "
                f"this is a link (symlink) to a file that no longer exists: remove the link, put the submission file "
                f"itself in the folder and try again.") from None
        raise IntakeStop(
            f"{path}: 读取时找不到这个文件（可能刚被移动、改名或删除，或是网盘中尚未下载到本地的文件）。请确认文件在文件夹中后重试。 / "
            f"the file could not be found when it was read (moved, renamed or deleted meanwhile, or a cloud file not "
            f"downloaded to this computer): make sure the file is in the folder and try again.") from None
    except IsADirectoryError:
        raise IntakeStop(
            f"{path}: 这是一个文件夹，却按提交文件命名。请把提交文件移出这个文件夹，并删除或改名这个文件夹。 / this is a folder "
            f"named like a submission file: move the submission file out of it and delete or rename the folder.") from None
    except OSError as exc:                     # a disk or network error, a file on a drive gone offline
        raise IntakeStop(
            f"{path}: 无法读取此文件（{exc.__class__.__name__}: {exc.strerror or exc}）。请把文件复制到本机的 data/raw 文件夹后重试；"
            f"若仍失败，请县区重新发送。 / the file cannot be read ({exc.__class__.__name__}: {exc.strerror or exc}): copy it "
            f"to the data/raw folder on this computer and try again; if it still fails, ask the county to send it again.") from None


def read_file(sub: SubmissionFile) -> list[RawSheet]:
    """Every sheet of a submission file as raw rows. An unreadable file stops intake."""
    name = sub.path.name
    if sub.kind == "csv":
        text, enc = decode_csv_bytes(read_bytes(sub.path), sub.path)
        return [RawSheet(name, sub.sheet.strip(), sub.county, read_csv_rows(text, sub), enc)]
    from python_calamine import CalamineWorkbook

    data = read_bytes(sub.path)           # one read: the bytes checked are the bytes read
    check_workbook_extent(data, sub.path)
    try:
        wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
        out = []
        for sheet_name in wb.sheet_names:
            rows = wb.get_sheet_by_name(sheet_name).to_python(skip_empty_area=False)
            out.append(RawSheet(name, sheet_name.strip(), sub.county, rows))
        return out
    except Exception as exc:  # calamine raises several error types for broken files
        raise IntakeStop(f"{sub.path}: 无法打开此 Excel 文件（{exc.__class__.__name__}: {exc}）。请在 Excel 中打开并另存为 .xlsx 后重新提交。 / "
                         f"the workbook cannot be opened ({exc}): open it in Excel, save it as .xlsx and submit it again.") from None


# --------------------------------------------------------------------------------------
# CSV: one household per physical line
# --------------------------------------------------------------------------------------
def _check_csv_cell_length(text: str, sub: SubmissionFile) -> None:
    """Stop if a cell holds more than MAX_CELL_CHARS characters, naming its physical line.

    Such a cell was not saved from Excel, and the csv module would either read it whole or
    take it for a stray quotation mark. A cell lies within one stretch of a line without a
    comma, so only a stretch of 32,768 characters or more can hold one: it spans a whole
    aligned block of _RUN_BLOCK characters without a line break, found with one str.find per
    block. The stretches of such a line are then measured (quotation marks not counted).
    """
    if len(text) <= MAX_CELL_CHARS:
        return
    block, k = _RUN_BLOCK, 0
    while (k + 1) * block <= len(text):
        if text.find("\n", k * block, (k + 1) * block) >= 0:
            k += 1
            continue
        begin = text.rfind("\n", 0, k * block) + 1
        end = text.find("\n", (k + 1) * block)
        end = len(text) if end < 0 else end
        at = begin
        for m in re.finditer(r"[^,\r]{%d,}" % (MAX_CELL_CHARS + 1), text[begin:end]):
            if len(m[0]) - m[0].count('"') > MAX_CELL_CHARS:
                at = begin + m.start()
                line = len(re.findall(r"\r\n|\r|\n", text[:at])) + 1
                raise IntakeStop(
                    f"{sub.path} 第 {line} 行: 这一行有一个单元格超过 {MAX_CELL_CHARS:,} 个字符，超出 Excel 单元格的上限"
                    f"（{MAX_CELL_CHARS:,} 个字符），不是从 Excel 保存的内容。请用记事本打开文件，删去这个单元格多余的内容"
                    f"（长篇说明请另附文档），保存后重新提交。 / line {line}: a cell on this line holds more than "
                    f"{MAX_CELL_CHARS:,} characters, beyond Excel's limit for a cell ({MAX_CELL_CHARS:,} characters), so it "
                    f"was not saved from Excel. Open the file in a text editor, delete the extra text of that cell "
                    f"(attach long explanations as a separate document), save and submit again.")
        k = end // block + 1


def read_csv_rows(text: str, sub: SubmissionFile) -> list[list[str]]:
    """The records of a CSV file, stopping on anything that would merge or shift lines.

    A record is one physical line (``csv`` keeps an empty line as an empty record), so
    rows in are counted in lines. A quoted cell may run over lines only in the title and
    header rows (a header typed on two lines in Excel is saved that way) and only if it
    holds no comma, i.e. no swallowed line of data; anywhere else it is taken for a stray
    quotation mark. Below the header every row with content must have the header's
    number of fields: Excel writes every line of a sheet with the same number, and one
    field more or less (a comma in ``3,000`` not quoted, a cell deleted) shifts every
    later value into the wrong column, even when the last field is empty.
    """
    _check_csv_cell_length(text, sub)
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[list[str]] = []
    spans: list[tuple[int, int, int]] = []     # (record index, first line, last line) of records over lines
    line = 0                                   # last physical line read
    try:
        for rec in reader:
            if reader.line_num != line + 1:
                spans.append((len(rows), line + 1, reader.line_num))
            rows.append(rec)
            line = reader.line_num
    except csv.Error as exc:
        start = line + 1
        raise IntakeStop(
            f"{sub.path} 第 {start} 行: 无法按 CSV 读取（{exc}）。多半是这一行某个单元格里多了一个英文双引号（\"），"
            f"使后面的行都并进了这个单元格。请用记事本打开文件，删除第 {start} 行多余的双引号，保存后重新提交。 / "
            f"line {start} cannot be read as CSV ({exc}): most likely a cell on this line holds a stray quotation "
            f"mark (\") that swallows the lines after it. Open the file in a text editor, remove the stray quotation "
            f"mark on line {start}, save and submit again.") from None
    spec = sheet_spec(sub.sheet or "")
    if spec is None:                           # an extra sheet: ignored by intake, not checked further
        return rows
    try:
        first_data = locate_header(rows, spec, f"{sub.path.name} [{sub.sheet}]").first_data_row
    except IntakeStop:
        first_data = 0                         # no header: parse_sheet says so, unless a quote swallowed it
    for index, start, end in spans:
        cells = [j for j, v in enumerate(rows[index]) if "\n" in v or "\r" in v]
        if index < first_data and not any("," in rows[index][j] for j in cells):
            continue                           # a line break typed in a title or header cell
        col = cells[0] + 1 if cells else 1
        raise IntakeStop(
            f"{sub.path} 第 {start} 行: 第 {col} 列的单元格以英文双引号（\"）开头，引号一直延续到第 {end} 行，"
            f"{end - start + 1} 行被读成了一行（每户应占一行）。多半是这个单元格里多了一个双引号。请用记事本打开文件，"
            f"删除第 {start} 行多余的双引号（若单元格里确有换行，请去掉换行），保存后重新提交。 / line {start}: the cell in "
            f"column {col} opens with a quotation mark (\") that runs on to line {end}, so {end - start + 1} lines were "
            f"read as one row (each household takes one line). Most likely the cell holds a stray quotation mark: open "
            f"the file in a text editor, remove the stray quotation mark on line {start} (or the line break inside "
            f"that cell), save and submit again.")
    if first_data == 0:
        return rows
    width = max(len(r) for r in rows[max(0, first_data - 2):first_data])
    offset = sum(end - start for index, start, end in spans)   # header lines holding a line break
    for i in range(first_data, len(rows)):
        r = rows[i]
        if len(r) == width or not any(v.strip() for v in r):
            continue                           # an empty line, or a line of empty fields
        line_no = i + 1 + offset
        excel = f"（在 Excel 中是第 {i + 1} 行）" if offset else ""
        excel_en = f" (row {i + 1} in Excel)" if offset else ""
        raise IntakeStop(
            f"{sub.path} 第 {line_no} 行{excel}: 这一行有 {len(r)} 个字段，而表头有 {width} 列，各列的值会错位。"
            f"多半是某个单元格里多了或少了逗号、英文双引号。请用记事本或 Excel 核对这一行，改正后保存为 CSV 重新提交。 / "
            f"line {line_no}{excel_en} has {len(r)} fields but the header has {width} columns, so its values would "
            f"land in the wrong columns. Most likely a cell has a comma or quotation mark too many or too few: check "
            f"this line, correct it, save as CSV and submit again.")
    return rows


# --------------------------------------------------------------------------------------
# Workbooks: how far each sheet reaches, before python-calamine lays it out
# --------------------------------------------------------------------------------------
# python-calamine (like calamine) places a cell by its r="B7" attribute (the last one, if a
# tag has two), or, without one, next to the cell before it in the row given by the
# <row r=...> around it; the <dimension> element is not used and may lie. The fast path
# reads each part's XML once with RE2 (pyarrow; linear time) and vouches for it only if
# every cell tag starts the way standard writers (Excel, WPS, LibreOffice, openpyxl,
# xlsxwriter) write it, <c r="..., and the value of every attribute named r, wherever it
# stands, is a plain reference within the bounds below. Anything else (cells without r,
# prefixed or oddly spelled tags, references far away or written oddly) is read exactly
# with expat, following calamine's rules. A part is one XML file inside the .xlsx zip.
_R = r"""[\t\r\n ]r=["']"""                                        # an attribute named r, either quote
_XLSX_BAD = "|".join([
    r'<c[\t\r\n>]', r'<c (?:[^r]|r[^=]|r=[^"])',                   # a cell tag not starting with r="
    r':c[\t\r\n >]',                                               # a prefixed cell tag
    r'[\t\r\n ]r(?:[\t\r\n ]|=[\t\r\n ])',                           # an attribute r spaced around its =
    _R + r'(?:[^A-Z1-9]|[A-Z][^A-Z1-9]|[A-Z]{2}[^1-9]|[A-Z]{3})',  # 3+ letters, a leading 0, lower case, ...
    _R + r"""[A-Z]{0,2}[1-9][0-9]{0,5}[^0-9"']""",                # something after the row
    _R + r'[A-Z]{0,2}(?:[5-9][0-9]{5}|[1-9][0-9]{6})',             # row 500,000 or more
    _R + r'(?:I[W-Z]|[J-Z][A-Z])',                                 # column IW (257) or more
])
_XLSX_TALL = _R + r"""[A-Z]{0,2}[1-4][0-9]{5}["']"""               # rows 100,000 to 499,999
_XLSX_WIDE = _R + r'(?:[B-H][A-Z]|I[A-V])[1-9]'                    # columns BA (53) to IV (256)
# What the fast path vouches for, by what it saw (rows past 99,999, columns past AZ): (rows, columns) at most.
_XLSX_BOUNDS = {(False, False): (99_999, 52), (True, False): (499_999, 52),
                (False, True): (99_999, 256), (True, True): (499_999, 256)}
_SHEET_DATA = tuple("sheetData".encode(e) for e in ("utf-8", "utf-16-le", "utf-16-be"))
_ENCODING_RE = re.compile(rb'^(?:\xef\xbb\xbf)?<\?xml[^>]*?encoding\s*=\s*["\']([A-Za-z0-9._-]+)')


_OVERLAP = 4096           # bytes each window repeats from the one before
_PIECE = 4 << 20          # bytes unpacked at a time


def _fast_extent(pieces) -> tuple[int, int] | None:
    """(rows, columns) a plain part reaches at most, or None if it must be read exactly.

    The part comes in pieces; each is scanned with the last ``_OVERLAP`` bytes of the one
    before, so a match across two pieces is seen (no pattern matches more than 20 bytes).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    tall = wide = False
    tail, seen, counted = b"", 0, 0
    for i, piece in enumerate(pieces):
        if i == 0:
            head = piece[:256]
            if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head:
                return None                                        # UTF-16/32: expat reads it
            m = _ENCODING_RE.match(head)
            if m and m[1].lower() not in (b"utf-8", b"utf8", b"us-ascii", b"ascii"):
                return None
        seen += len(piece)
        if seen > 100 << 20:                                       # past 100 MB: count the cells (7 bytes at least each)
            counted += piece.count(b"<c")
            if (100 << 20) // 7 + counted > MAX_CELLS:
                return None
        window = tail + piece
        offsets = pa.py_buffer((0).to_bytes(8, "little") + len(window).to_bytes(8, "little"))
        arr = pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(window)])
        while True:
            alts = [f"(?P<bad>{_XLSX_BAD})"] + ([] if tall else [f"(?P<tall>{_XLSX_TALL})"]) + \
                   ([] if wide else [f"(?P<wide>{_XLSX_WIDE})"])
            found = pc.extract_regex(arr, "|".join(alts))[0]
            if not found.is_valid:
                break
            groups = {k for k, v in found.as_py().items() if v}
            if "bad" in groups:
                return None
            tall, wide = tall or "tall" in groups, wide or "wide" in groups
        tail = window[-_OVERLAP:]
    rows, cols = _XLSX_BOUNDS[(tall, wide)]
    return None if rows * cols > MAX_CELLS else (rows, cols)


# Text longer than a cell can hold. Excel keeps at most MAX_CELL_CHARS characters in a cell, so a
# longer run of text between two tags was not written by Excel, and python-calamine would read it
# whole (a 959 KB file holding 900 million characters took 8 GB and two minutes). Each character
# takes a byte at least, so such a run is a stretch of 32,768 bytes or more without a '<': it holds
# a whole aligned block of _RUN_BLOCK bytes without one. One bytes.find per block (256 per 4 MB
# piece, each stopping at the first '<' a few bytes in) finds those; only the runs found are
# decoded and counted in characters (an entity such as &amp; counts as one).
_RUN_BLOCK = (MAX_CELL_CHARS + 1) // 2
_RUN_BYTES_MAX = 1 << 20          # longer than any 32,767 characters, however written: not counted
_ENTITY_RE = re.compile(r"&(?:#[0-9]{1,8}|#x[0-9A-Fa-f]{1,8}|[A-Za-z][A-Za-z0-9]{0,15});")
_XML_PART_RE = re.compile(r"\.(?:xml|rels|vml)$", re.IGNORECASE)
# Parts python-calamine does not read, where long text is no cell's: text boxes, charts, comments, metadata.
_NOT_CELLS_RE = re.compile(r"(?:^|/)(?:drawings|charts|threadedComments|customXml|docProps)/|(?:^|/)comments[^/]*$",
                           re.IGNORECASE)


class _LongText(Exception):
    """A run of text beyond MAX_CELL_CHARS starts at ``offset`` of the unpacked part."""

    def __init__(self, offset: int):
        super().__init__(offset)
        self.offset = offset


class _TextRuns:
    """Watches an XML part, piece by piece, for a run of text between tags longer than a cell may hold.

    ``watch`` passes the pieces on unchanged and raises _LongText. A part may be read more than
    once (the fast scan, then the exact one); each reading yields the same pieces, and each piece
    is checked once, the first time it passes.
    """

    def __init__(self):
        self.done = 0              # pieces checked
        self.base = 0              # offset of the next piece in the part
        self.carry = b""           # the run still open after the pieces checked, from its '<'
        self.start = 0             # offset of carry's '<'
        self.encoding = "utf-8"

    def watch(self, pieces):
        for i, piece in enumerate(pieces):
            if i == self.done:
                self._check(piece)
                self.done += 1
            yield piece

    def _check(self, piece: bytes) -> None:
        if self.done == 0:
            head = piece[:256]
            if head.startswith(b"\xfe\xff") or head[:1] == b"\x00":
                self.encoding = "utf-16-be"
            elif head.startswith(b"\xff\xfe") or b"\x00" in head:
                self.encoding = "utf-16-le"
        first = piece.find(b"<")
        if first < 0:                                              # the open run goes on through this piece
            self.carry += piece
            if len(self.carry) > _RUN_BYTES_MAX:
                raise _LongText(self.start)
            self.base += len(piece)
            return
        if len(self.carry) + first > MAX_CELL_CHARS:
            self._count(self.carry + piece[:first], self.start)
        last, block = piece.rfind(b"<"), _RUN_BLOCK
        k = first // block + 1
        while (k + 1) * block <= last:
            if piece.find(b"<", k * block, (k + 1) * block) >= 0:
                k += 1
                continue
            begin = piece.rfind(b"<", 0, k * block)
            end = piece.find(b"<", (k + 1) * block)
            self._count(piece[begin:end], self.base + begin)
            k = end // block + 1
        self.carry, self.start = piece[last:], self.base + last
        if len(self.carry) > _RUN_BYTES_MAX:
            raise _LongText(self.start)
        self.base += len(piece)

    def _count(self, run: bytes, offset: int) -> None:
        """Raise _LongText if the text of this run (a tag, then its text) holds more than MAX_CELL_CHARS characters."""
        gt = run.find(b">")
        text = run[gt + 1:] if gt >= 0 else run
        if len(text) > _RUN_BYTES_MAX:
            raise _LongText(offset)
        if len(text) <= MAX_CELL_CHARS:
            return
        chars = text.decode(self.encoding, "replace")
        if len(chars) > MAX_CELL_CHARS and \
                len(chars) - sum(len(m[0]) - 1 for m in _ENTITY_RE.finditer(chars)) > MAX_CELL_CHARS:
            raise _LongText(offset)


def _long_text_cell(data: bytes, zf: zipfile.ZipFile, info: zipfile.ZipInfo, offset: int) -> tuple[str, str]:
    """(part of the sheet, cell reference) holding the long text at ``offset`` of part ``info``; best effort.

    In a sheet, the last cell tag before it. In the shared strings, the index of the string,
    then a cell of some sheet that refers to it (t="s", <v>index</v>).
    """
    tail, seen, strings, ref = b"", 0, 0, ""
    cell_re = re.compile(rb"""<c[\t\r\n ][^>]*?\br=["']([A-Za-z]{1,3}[0-9]{1,7})["']""")
    for piece in _part_pieces(data, zf, info):
        window = (tail + piece)[: len(tail) + max(0, offset - seen)]
        strings += len(re.findall(rb"<si[\t\r\n >]", window[max(0, len(tail) - 3):]))
        refs = cell_re.findall(window)
        ref = refs[-1].decode() if refs else ref
        seen += len(piece)
        if seen >= offset:
            break
        tail = window[-256:]
    if not info.filename.lower().endswith("sharedstrings.xml") or strings == 0:
        return info.filename, ref.upper()
    index = strings - 1
    use = re.compile(rb"<c([\t\r\n ][^>]*)>[\t\r\n ]*<v>[\t\r\n ]*" + str(index).encode() + rb"[\t\r\n ]*</v>")
    for other in zf.infolist():
        if other is info or not _XML_PART_RE.search(other.filename):
            continue
        tail = b""
        for piece in _part_pieces(data, zf, other):
            window = tail + piece
            for m in use.finditer(window):
                attrs = m[1]
                r = re.search(rb"""\br=["']([A-Za-z]{1,3}[0-9]{1,7})["']""", attrs)
                if re.search(rb"""\bt=["']s["']""", attrs) and r:
                    return other.filename, r[1].decode().upper()
            tail = window[-_OVERLAP:]
    return "", ""


def _has_sheet_data(pieces) -> bool:
    tail = b""
    for piece in pieces:
        window = tail + piece
        if any(tag in window for tag in _SHEET_DATA):
            return True
        tail = window[-32:]
    return False


def _ref(text: str, row_only: bool = False) -> tuple[int, int] | None:
    """(row, column), 1-based, of a cell reference as calamine reads it; None if calamine refuses it.

    Letters in either case, then digits. More than 3 letters or 7 digits (which calamine's
    32-bit arithmetic would wrap around) count as beyond every limit.
    """
    m = re.fullmatch(r"([A-Za-z]*)([0-9]+)", text)
    if not m or (not m[1] and not row_only) or int(m[2]) == 0:
        return None
    letters, digits = m[1].upper(), m[2].lstrip("0")
    if len(letters) > 3 or len(digits) > 7:
        return 1 << 40, 1 << 40
    col = 0
    for ch in letters:
        col = col * 26 + ord(ch) - 64
    return int(digits), col


def _exact_extent(pieces) -> tuple[int, int, int]:
    """(rows, columns, cells with content) a part's sheetData reaches, read as calamine reads it.

    calamine reads the cells between the first <sheetData> and its end. A cell is placed by
    its r attribute, or else at (current row, column after the previous cell); <row r=..>
    sets the current row, the row's end moves to the next row and back to column A. A cell
    without a child element is empty and not laid out. Raises ValueError on XML expat
    cannot read (calamine is more lenient, so such a part cannot be vouched for).
    """
    parser = expat.ParserCreate(namespace_separator=" ")
    st = {"data": 0, "row": 0, "col": 0, "cell": None, "in_cell": False, "rows": 0, "cols": 0, "cells": 0}

    def start(name, attrs):
        local = name.rpartition(" ")[2]
        if st["data"] == 0:
            st["data"] = 1 if local == "sheetData" else 0
            return
        if st["data"] == 2:
            return
        if st["in_cell"]:
            if st["cell"] is not None:                             # the cell has content: it is laid out
                r, c = st["cell"]
                st["rows"], st["cols"], st["cells"] = max(st["rows"], r), max(st["cols"], c), st["cells"] + 1
                st["cell"] = None
            return
        if local == "row":
            pos = _ref(attrs["r"], row_only=True) if "r" in attrs else None
            if pos is not None:
                st["row"] = pos[0] - 1
        elif local == "c":
            pos = _ref(attrs["r"]) if "r" in attrs else (st["row"] + 1, st["col"] + 1)
            st["in_cell"] = True
            if pos is not None:
                st["cell"] = pos
                st["col"] = pos[1]                                 # the next cell's column, 0-based

    def end(name):
        local = name.rpartition(" ")[2]
        if st["data"] != 1:
            return
        if local == "sheetData":
            st["data"] = 2
        elif local == "c":
            st["in_cell"], st["cell"] = False, None
        elif local == "row" and not st["in_cell"]:
            st["row"] += 1
            st["col"] = 0

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        for piece in pieces:
            parser.Parse(piece, False)
        parser.Parse(b"", True)
    except expat.ExpatError as exc:
        raise ValueError(str(exc)) from None
    return st["rows"], st["cols"], st["cells"]


def _column_letters(col: int) -> str:
    out = ""
    while col > 0:
        col, rem = divmod(col - 1, 26)
        out = chr(65 + rem) + out
    return out


class _PartTooLarge(Exception):
    pass


def _part_pieces(data: bytes, zf: zipfile.ZipFile, info: zipfile.ZipInfo):
    """The unpacked bytes of one part of an .xlsx/.xlsm zip, ``_PIECE`` at a time; _PartTooLarge past MAX_PART_BYTES."""
    total = 0
    if info.compress_type == zipfile.ZIP_DEFLATED:                 # the usual case: inflate, skip zipfile's CRC pass
        off = info.header_offset
        header = data[off:off + 30]
        if len(header) < 30 or header[:4] != b"PK\x03\x04":
            raise zipfile.BadZipFile(f"bad local header for {info.filename}")
        start = off + 30 + int.from_bytes(header[26:28], "little") + int.from_bytes(header[28:30], "little")
        raw = memoryview(data)[start:start + info.compress_size]
        inflate, pos = zlib.decompressobj(-15), 0
        while True:
            if inflate.unconsumed_tail:
                chunk = inflate.unconsumed_tail
            elif pos < len(raw):
                chunk, pos = raw[pos:pos + (1 << 19)], pos + (1 << 19)
            else:
                break
            piece = inflate.decompress(chunk, _PIECE)
            total += len(piece)
            if total > MAX_PART_BYTES:
                raise _PartTooLarge(info.filename)
            if piece:
                yield piece
        piece = inflate.flush()
        if len(piece) + total > MAX_PART_BYTES:
            raise _PartTooLarge(info.filename)
        if piece:
            yield piece
    else:
        with zf.open(info) as f:
            while piece := f.read(_PIECE):
                total += len(piece)
                if total > MAX_PART_BYTES:
                    raise _PartTooLarge(info.filename)
                yield piece


def _sheet_names(data: bytes) -> dict[str, str]:
    """Part name (lower case) -> sheet name, from the workbook and its relationships; best effort, for messages."""
    import xml.etree.ElementTree as ET

    names: dict[str, str] = {}
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            def parse(n):
                if zf.getinfo(n).file_size > (8 << 20):
                    raise ValueError(n)
                return ET.fromstring(zf.read(n))

            book = next((n for n in zf.namelist() if n.lower().endswith("workbook.xml")), "xl/workbook.xml")
            base = posixpath.dirname(book)
            rels = parse(posixpath.join(base, "_rels", posixpath.basename(book) + ".rels"))
            target = {r.get("Id"): r.get("Target", "") for r in rels.iter() if r.get("Id")}
            for sh in parse(book).iter():
                if sh.tag.rpartition("}")[2] != "sheet":
                    continue
                rid = next((v for k, v in sh.attrib.items() if k.rpartition("}")[2] == "id"), None)
                t = target.get(rid, "")
                part = t.lstrip("/") if t.startswith("/") else posixpath.normpath(posixpath.join(base, t))
                names[part.lower()] = sh.get("name", "")
    except Exception:  # noqa: BLE001 - the names only make the message clearer
        pass
    return names


def check_workbook_extent(data: bytes, path: Path) -> None:
    """Stop intake if a sheet of this workbook reaches beyond MAX_ROWS, MAX_COLUMNS or MAX_CELLS.

    Cost: each part unpacked once and scanned once with RE2 (a second and third scan only
    for a sheet past row 99,999 or column AZ; the exact expat reading only for parts that
    are not plain), in pieces of 4 MB, so memory stays small. A file that is not a zip
    (.xls) is left to the reader.
    """
    if not zipfile.is_zipfile(io.BytesIO(data)):
        return
    where = lambda part: f"{path} [{_sheet_names(data).get(part.lower(), part)}]"  # noqa: E731
    too_large = lambda part: IntakeStop(  # noqa: E731
        f"{where(part)}: 这张表解压后超过 {MAX_PART_BYTES >> 20} MB，远超县区报表的规模。请在 Excel 中删除多余的行、列和内容，"
        f"另存为 .xlsx 后重新提交。 / this sheet unpacks to more than {MAX_PART_BYTES >> 20} MB, far beyond a county "
        f"submission: delete the extra rows, columns and content in Excel, save as .xlsx and submit again.")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for info in zf.infolist():                             # every entry, even two of one name
                if info.is_dir() or info.flag_bits & 0x1:          # encrypted: calamine cannot read it either
                    continue
                if info.file_size > MAX_PART_BYTES:
                    raise too_large(info.filename)
                watched = _XML_PART_RE.search(info.filename) and not _NOT_CELLS_RE.search(info.filename)
                runs = _TextRuns() if watched else None           # XML that holds cells, not pictures
                try:
                    pieces = lambda: runs.watch(_part_pieces(data, zf, info)) if runs else _part_pieces(data, zf, info)  # noqa: E731
                    # Each way through reads the whole part once at least: every piece passes the watch.
                    if _fast_extent(pieces()) is not None or not _has_sheet_data(pieces()):
                        continue                                   # vouched for, or no cells to lay out
                    rows, cols, cells = _exact_extent(pieces())
                except _PartTooLarge:
                    raise too_large(info.filename) from None
                except _LongText as exc:
                    try:
                        part, ref = _long_text_cell(data, zf, info, exc.offset)
                    except Exception:  # noqa: BLE001 - the cell only makes the message clearer
                        part, ref = info.filename, ""
                    sheet = _sheet_names(data).get(part.lower(), "") if part else ""
                    label = f"{path} [{sheet or part or info.filename}]"
                    cell, cell_en = (f"单元格 {ref} ", f"cell {ref}") if ref else ("有一个单元格", "a cell")
                    raise IntakeStop(
                        f"{label}: {cell}的内容超过 {MAX_CELL_CHARS:,} 个字符，超出 Excel 单元格的上限（{MAX_CELL_CHARS:,} 个字符），"
                        f"不是 Excel 能保存的内容，读取会耗尽内存。请在 Excel 中找到这个单元格，删去多余的内容（长篇说明请另附文档），"
                        f"另存为 .xlsx 后重新提交。 / {cell_en} holds more than {MAX_CELL_CHARS:,} characters, beyond Excel's "
                        f"limit for a cell ({MAX_CELL_CHARS:,} characters): Excel cannot have saved it, and reading it would "
                        f"exhaust memory. Find the cell in Excel, delete the extra text (attach long explanations as a "
                        f"separate document), save as .xlsx and submit again.") from None
                except ValueError as exc:
                    raise IntakeStop(
                        f"{where(info.filename)}: 这张表不是有效的 Excel 表格内容（{exc}），无法安全读取。请在 Excel 中打开并另存为 .xlsx 后"
                        f"重新提交。 / this sheet is not valid spreadsheet XML ({exc}) and cannot be read safely: open "
                        f"the file in Excel, save it as .xlsx and submit again.") from None
                if rows > MAX_ROWS or cols > MAX_COLUMNS or rows * cols > MAX_CELLS or cells > MAX_CELLS:
                    far = f"{_column_letters(cols)}{rows}" if rows < 1 << 40 else "（超出 Excel 的范围 / beyond Excel's range）"
                    raise IntakeStop(
                        f"{where(info.filename)}: 这张表有内容的区域一直延伸到单元格 {far}（{rows:,} 行 × {cols:,} 列），远超县区报表的规模"
                        f"（最多 {MAX_ROWS:,} 行、{MAX_COLUMNS} 列、{MAX_CELLS:,} 个单元格），读取会耗尽内存。多半是远处某个单元格被误填了"
                        f"内容：请在 Excel 中按 Ctrl+End 找到它，删除多余的行和列后保存，再重新提交。 / the filled area of this sheet "
                        f"reaches cell {far} ({rows:,} rows x {cols:,} columns), far beyond a county submission (at most "
                        f"{MAX_ROWS:,} rows, {MAX_COLUMNS} columns, {MAX_CELLS:,} cells); reading it would exhaust memory. "
                        f"Most likely a stray value sits far away: press Ctrl+End in Excel to find it, delete the extra "
                        f"rows and columns, save and submit again.")
    except (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError, EOFError, OSError) as exc:
        raise IntakeStop(f"{path}: 无法打开此 Excel 文件（{exc.__class__.__name__}: {exc}）。请在 Excel 中打开并另存为 .xlsx 后重新提交。 / "
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


# A cell that no header holds: a number (Excel's, or typed: 3,000 / 1.2万 / 2.0), a date, or a
# run of five digits or more (a household code, an ID or phone number, an amount).
_DATA_TEXT_RE = re.compile(r"^[-+]?[0-9][0-9,]*(?:\.[0-9]+)?(?:万元|万|元|人|户|亩|%)?$|[0-9]{5}")


def _header_like(value) -> bool:
    """Could this cell be part of a header? Blank, or text that holds no number or code."""
    if value is None or value == "":
        return True
    if not isinstance(value, str):                 # numbers, dates, booleans: only data cells hold them
        return False
    return not _DATA_TEXT_RE.search(normalize_header(value))


def _resolve(parts: list[str], lookup: dict[str, Column]) -> tuple[Column | None, str, str]:
    """(column, unit, header as written) of one column position, from its text in each header row.

    The joined text is tried first (产业补助金额 over (万元), 户主 over 姓名), then each row's
    text from the lowest up (a sub-header under a group header spanning several columns)."""
    filled = [p for p in parts if p]
    candidates = (["".join(filled)] if len(filled) > 1 else []) + list(reversed(filled))
    for cand in candidates:
        col, unit = _match(cand, lookup)
        if col is not None:
            return col, unit, cand
    return None, "", " ".join(filled)


def _second_header_row(texts: list[list[str]], raw: list[list], r: int, other: int,
                       lookup: dict[str, Column]) -> bool:
    """Is row ``other`` (just above or below the header row ``r``) the other half of a two-row header?

    Only if it reads as header text and adds something: every cell is blank or text holding no
    number or code; with it, the header recognises columns that row ``r`` alone does not; and a
    row under the header holds nothing under the columns row ``r`` already names, except a header
    of the same column or its unit (a merged cell leaves the row below it blank). A first data
    row fails all three: it holds codes and numbers, and values under every named column, even
    when one of its cells (村, 户主, 说明) happens to be a header word.
    """
    if not all(_header_like(v) for v in raw[other]):
        return False
    width = max(len(texts[r]), len(texts[other]))
    cell = lambda i, j: texts[i][j] if j < len(texts[i]) else ""  # noqa: E731
    alone = [_resolve([cell(r, j)], lookup)[0] for j in range(width)]
    upper, lower = (other, r) if other < r else (r, other)
    joined = [_resolve([cell(upper, j), cell(lower, j)], lookup)[0] for j in range(width)]
    named = {c.name for c in alone if c is not None}
    if not {c.name for c in joined if c is not None} - named:
        return False
    for j, col in enumerate(alone):
        if col is None:
            continue
        if joined[j] is None or joined[j].name != col.name:
            return False                           # the other row would change what a named column holds
        below = cell(other, j)
        if other > r and below and not any(
                (c := _match(t, lookup)[0]) is not None and c.name == col.name for t in (below, cell(r, j) + below)):
            return False                           # a value under a named column: a data row
    return True


def locate_header(rows: list[list], sheet: Sheet, where: str) -> HeaderMap:
    """Find the header row (under any title rows), joining a header merged over two rows.

    The header is the row of the first ``HEADER_SCAN_ROWS`` naming the most columns. The row
    under it (or else the row above it) is read as the header's second row only if
    ``_second_header_row`` says so, so a first data row is never taken for a header.
    """
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
        if 0 <= other < len(texts) and _second_header_row(texts, scan, r, other, lookup):
            header_rows = sorted([r, other])
            break
    width = max(len(texts[i]) for i in header_rows)
    columns, scale, header_text, extra, dup = {}, {}, {}, [], []
    seen: set[str] = set()
    for j in range(width):
        col, unit, written = _resolve([texts[i][j] if j < len(texts[i]) else "" for i in header_rows], lookup)
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
