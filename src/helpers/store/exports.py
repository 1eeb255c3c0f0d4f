"""Files written for people to open (in Excel): formula cells neutralized, private permissions.

CSV injection (OWASP, "CSV Injection"): a spreadsheet program treats a cell that begins with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return as a formula, so a value typed by a
county clerk (``=HYPERLINK("http://x","click")``, ``+cmd|' /C calc'!A0``, ``@SUM(1+1)``) would
run when an evaluator opens the list. :func:`neutralize` prefixes every such *text* cell with a
single quote ``'`` so that it is shown as text. Rules, as OWASP advises:

- Only text cells are changed. Numbers, booleans and dates stored as such are left as they
  are (a negative number stored as a number is not a formula). A text cell ``"-5"`` *does* get
  the quote: telling a harmless ``-5`` from ``-5+cmd|...`` is exactly the guessing the guidance
  warns against, and the quote only shows that the cell is text.
- Column names are treated like cells (a header can come from a submitted file).
- Text fields are written quoted (``csv.QUOTE_NONNUMERIC``), so a separator inside a cell
  (``a;=1+1`` in a locale whose Excel splits on ``;``) cannot start a new cell either.

Only the copies written for people change; the parquet tables keep the values as submitted.

Files under ``private/`` hold household codes: :func:`write_people_csv` creates them readable
by their owner only (0600) in folders only their owner can enter (0700). On Windows, where
POSIX modes mean little, a failing ``chmod`` is ignored (best effort).
"""
from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.store.storage import atomic_write_bytes

#: A text cell beginning with one of these is read as a formula by Excel, LibreOffice, Sheets.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
FILE_MODE = 0o600
FOLDER_MODE = 0o700


def neutralize_cell(value):
    """``value`` with a ``'`` in front when it is text beginning with a formula character."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _is_text(series: pd.Series) -> bool:
    dtype = series.dtype
    return (isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_object_dtype(dtype)
            or pd.api.types.is_string_dtype(dtype))


def neutralize(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` in which every text cell (and column name) that begins with ``=``,
    ``+``, ``-``, ``@``, a tab or a carriage return is prefixed with ``'``. Numbers, booleans
    and dates are untouched; ``frame`` itself is not changed."""
    out = frame.copy()
    for i in range(out.shape[1]):
        col = out.iloc[:, i]
        if not _is_text(col):
            continue
        if isinstance(col.dtype, pd.CategoricalDtype):
            col = col.astype(object)
        out.isetitem(i, col.map(neutralize_cell, na_action="ignore"))
    if not isinstance(out.columns, pd.MultiIndex):
        out.columns = [neutralize_cell(c) for c in out.columns]
    return out


def private_permissions(path: Path) -> None:
    """Make ``path`` readable by its owner only: 0600 for a file, 0700 for a folder.
    Best effort: where the system refuses (Windows, a foreign file system) nothing happens."""
    path = Path(path)
    try:
        os.chmod(path, FOLDER_MODE if path.is_dir() else FILE_MODE)
    except OSError:
        pass


def private_dir(folder: Path) -> Path:
    """Create ``folder`` and any missing parents as 0700 folders and make ``folder`` itself 0700
    (also when it already existed). Parents that already existed are left as they are."""
    folder = Path(folder)
    missing = []
    p = folder
    while not p.exists():
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    for p in reversed(missing):
        try:
            p.mkdir(mode=FOLDER_MODE)
        except FileExistsError:       # made meanwhile by another process
            pass
        private_permissions(p)
    if not folder.is_dir():
        raise NotADirectoryError(f"{folder} is not a folder")
    private_permissions(folder)
    return folder


def people_csv_bytes(frame: pd.DataFrame) -> bytes:
    """The bytes :func:`write_people_csv` writes: neutralized, text quoted, UTF-8 with BOM."""
    return neutralize(frame).to_csv(index=False, quoting=csv.QUOTE_NONNUMERIC).encode("utf-8-sig")


def write_people_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` (without its index) as a CSV for people to open in Excel: formula cells
    neutralized (:func:`neutralize`), UTF-8 with BOM (so that Excel on Chinese Windows reads it),
    atomically (a temporary file and a rename), into a 0700 folder, the file 0600."""
    path = Path(path)
    private_dir(path.parent)
    atomic_write_bytes(path, people_csv_bytes(frame))
    private_permissions(path)


def _width(series: pd.Series, header: str) -> float:
    """A column width (in characters) that shows the header and most cells: CJK characters count double."""
    def w(text) -> int:
        text = "" if text is None else str(text)
        return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)
    cells = series.dropna().astype(str)
    longest = float(cells.map(w).quantile(0.95)) if len(cells) else 0.0
    return min(60.0, max(8.0, w(header) + 2, longest + 2))


def xlsx_bytes(sheets: dict[str, pd.DataFrame], notes: dict[str, str] | None = None,
               number_formats: dict[str, str] | None = None) -> bytes:
    """An Excel workbook of ``sheets`` (sheet name -> frame, index left out) for people to open: every text
    cell (and header) neutralized (:func:`neutralize`), numbers kept as numbers, a bold frozen header row
    with a filter, readable column widths, and, above the header, one line of ``notes`` per sheet when
    given (then the header is on row 2). ``number_formats`` maps a column name to an Excel format."""
    import io

    import xlsxwriter

    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True, "nan_inf_to_errors": True,
                                     "strings_to_formulas": False, "strings_to_urls": False,
                                     "strings_to_numbers": False})
    head = book.add_format({"bold": True, "bg_color": "#E8EEF4", "border": 1, "text_wrap": True, "valign": "top"})
    note_fmt = book.add_format({"italic": True, "font_color": "#555555"})
    formats = {k: book.add_format({"num_format": v, "valign": "top"}) for k, v in (number_formats or {}).items()}
    wrap = book.add_format({"text_wrap": True, "valign": "top"})     # long sentences wrap inside their column
    for name, frame in sheets.items():
        ws = book.add_worksheet(name[:31])
        frame = neutralize(frame.reset_index(drop=True))
        top = 0
        if notes and notes.get(name):
            ws.write_string(0, 0, str(neutralize_cell(notes[name])), note_fmt)
            top = 1
        for j, col in enumerate(frame.columns):
            ws.write_string(top, j, str(col), head)
            values = frame.iloc[:, j]
            width = _width(values, str(col))
            ws.set_column(j, j, width, formats.get(str(col), wrap if width >= 60 else None))
            for i, v in enumerate(values.tolist(), start=top + 1):
                if v is None or (isinstance(v, float) and v != v) or v is pd.NA or v is pd.NaT:
                    continue
                if isinstance(v, bool):
                    ws.write_boolean(i, j, v)
                elif isinstance(v, (int, float, np.integer, np.floating)):
                    ws.write_number(i, j, float(v))
                else:
                    ws.write_string(i, j, str(v))
        ws.freeze_panes(top + 1, 0)
        ws.set_landscape()                   # printed: landscape A4, every column on the page width, header repeated
        ws.set_paper(9)
        ws.fit_to_pages(1, 0)
        ws.repeat_rows(top)
        if frame.shape[1]:
            ws.autofilter(top, 0, top + max(len(frame), 1), frame.shape[1] - 1)
    book.close()
    return buf.getvalue()


def write_people_xlsx(sheets: dict[str, pd.DataFrame], path: Path, notes: dict[str, str] | None = None,
                      number_formats: dict[str, str] | None = None) -> None:
    """:func:`xlsx_bytes` written for people, privately: atomically, into a 0700 folder, the file 0600."""
    path = Path(path)
    private_dir(path.parent)
    atomic_write_bytes(path, xlsx_bytes(sheets, notes, number_formats))
    private_permissions(path)


__all__ = ["FORMULA_START", "neutralize", "neutralize_cell", "people_csv_bytes", "private_dir",
           "private_permissions", "write_people_csv", "write_people_xlsx", "xlsx_bytes"]
