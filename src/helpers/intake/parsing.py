"""Reading hand-typed cell values: numbers, amounts, dates, quarters, yes/no, codes.

Every parser works on a pandas Series of raw cell values (whatever Excel or a CSV gave:
float, int, str, datetime or None) and returns the parsed Series plus a boolean Series
``bad`` marking cells that held something but could not be read. Parsers never guess:
a value they cannot read is marked bad, and intake sets its row aside.

The fast path is vectorized (``pd.to_numeric``); the slow, rule-based parse runs once per
distinct messy value, so a large file with a few odd cells costs little more than a
clean one.
"""
from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata

import numpy as np
import pandas as pd

NONE_WORDS = {"—", "——", "-", "--", "－", "/", "／", "无", "\\", "–", "―"}
_NUM_RE = re.compile(r"^([+-]?\d+(?:\.\d+)?)(万元|万|元|人|户|亩)?$")
_QUARTER_RE = re.compile(r"^(\d{4})[-年]?[Qq]([1-4])$")
_QUARTER_RE2 = re.compile(r"^(\d{4})年?(?:第)?([1-4一二三四])季度?$")
_DATE_RE = re.compile(r"^(\d{4})\s*[.\-/年]\s*(\d{1,2})\s*[.\-/月]\s*(\d{1,2})\s*日?$")
_MONTH_RE = re.compile(r"^(\d{4})\s*[.\-/年]\s*(\d{1,2})\s*月?$")
_CN_DIGIT = {"一": "1", "二": "2", "三": "3", "四": "4"}
EXCEL_EPOCH = dt.datetime(1899, 12, 30)

YES = {"是", "y", "yes", "√", "✓", "✔", "1", "true", "有", "对"}
NO = {"否", "n", "no", "×", "✗", "x", "0", "false", "无"}


def clean_text(value: object) -> str | None:
    """A cell as tidy text: NFKC (full-width to half-width), trimmed; blank gives None."""
    if value is None:
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return repr(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    s = unicodedata.normalize("NFKC", str(value)).strip()
    return s or None


def is_blank(v: object) -> bool:
    """True for an empty cell: None, NaN, '' or only whitespace."""
    if v is None or v is pd.NA:
        return True
    if isinstance(v, float):
        return v != v
    return isinstance(v, str) and not v.strip()


def map_unique(raw: pd.Series | np.ndarray, func) -> np.ndarray:
    """``func`` applied to each distinct cell value once, spread back over the column.

    Hand-typed columns repeat a few values many times (places, categories, yes/no, dates), so
    parsing the distinct values is much faster than parsing every cell. Missing cells get
    ``func(None)``.
    """
    arr = raw.to_numpy(dtype=object) if isinstance(raw, pd.Series) else np.asarray(raw, dtype=object)
    codes, uniques = pd.factorize(arr, use_na_sentinel=True)
    mapped = np.empty(len(uniques) + 1, dtype=object)
    for i, u in enumerate(uniques):
        mapped[i] = func(u)
    mapped[-1] = func(None)
    return mapped[codes]


def blank_mask(raw: pd.Series) -> np.ndarray:
    """Boolean array: which cells are empty."""
    return map_unique(raw, is_blank).astype(bool)


def _parse_number_text(text: str) -> tuple[float, str]:
    """Parse one messy number; returns (value, unit) with unit '', '元', '万', 'none' or 'bad'."""
    s = unicodedata.normalize("NFKC", text).strip()
    if s in NONE_WORDS:
        return 0.0, "none"
    s = s.replace(",", "").replace(" ", "").replace("，", "")
    m = _NUM_RE.match(s)
    if not m:
        return math.nan, "bad"
    value = float(m.group(1))
    unit = m.group(2) or ""
    if unit in ("万", "万元"):
        return value * 10000.0, "万"
    return value, unit


def _number_one(v: object) -> tuple[float, str]:
    if is_blank(v):
        return math.nan, "blank"
    if isinstance(v, (bool, dt.date, np.bool_)):
        return math.nan, "bad"
    if isinstance(v, (int, float, np.number)):
        return float(v), ""
    return _parse_number_text(str(v))


def parse_number(raw: pd.Series, scale: float = 1.0) -> tuple[pd.Series, pd.Series]:
    """Numbers typed any way: '3,562', '3562人', '1.2万', full-width digits, '—' for none.

    ``scale`` multiplies plain numbers (10000 for a column in 万元); a number written with
    its own unit ('1.2万', '12000元') keeps that unit. Returns (values as float, bad mask).
    Cells Excel stored as numbers take a vectorized path; only the rest are parsed as text.
    """
    n = len(raw)
    if n == 0:
        return pd.Series(np.nan, index=raw.index, dtype="float64"), pd.Series(False, index=raw.index)
    arr = raw.to_numpy(dtype=object)
    with np.errstate(over="ignore"):      # 1e308 in 万元 is infinite: set aside as impossible, no warning
        out = pd.to_numeric(raw, errors="coerce").to_numpy(dtype="float64", na_value=np.nan) * scale
    bad = np.zeros(n, dtype=bool)
    need = np.isnan(out)
    if need.any():
        parsed = map_unique(arr[need], _number_one)
        number = np.fromiter((p[0] for p in parsed), dtype="float64", count=len(parsed))
        unit = np.fromiter((p[1] for p in parsed), dtype=object, count=len(parsed))
        with np.errstate(over="ignore"):
            out[need] = np.where(unit == "", number * scale, number)   # '12000元' or '1.2万' carry their unit
        bad[need] = unit == "bad"
    return pd.Series(out, index=raw.index), pd.Series(bad, index=raw.index)


def excel_serial_to_date(x: float) -> pd.Timestamp:
    """An Excel serial day number (1900 system) as a date."""
    return pd.Timestamp(EXCEL_EPOCH + dt.timedelta(days=float(x))).normalize()


def _parse_date_one(v: object) -> pd.Timestamp | None:
    if isinstance(v, (dt.datetime, dt.date)):
        return pd.Timestamp(v).normalize()
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if 20000 <= v <= 80000:
            return excel_serial_to_date(v)
        return None
    s = unicodedata.normalize("NFKC", str(v)).strip()
    if re.fullmatch(r"\d{5}(\.0+)?", s) and 20000 <= float(s) <= 80000:
        return excel_serial_to_date(float(s))
    m = _DATE_RE.match(s) or re.match(r"^(\d{4})(\d{2})(\d{2})$", s)
    if m:
        try:
            return pd.Timestamp(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            return None
    m = re.match(r"^(\d{4}-\d{2}-\d{2})[ T]\d{2}:\d{2}(:\d{2})?$", s)
    if m:
        return pd.Timestamp(m.group(1))
    return None


def _or_bad(func):
    """Wrap a one-value parser: blank -> None, unreadable -> 'bad'."""
    def one(v):
        if is_blank(v):
            return None
        out = func(v)
        return "bad" if out is None else out
    return one


def _parse_split(raw: pd.Series, func) -> tuple[np.ndarray, pd.Series]:
    """``_or_bad(func)`` over the distinct values; returns (values with None for bad, bad mask)."""
    one = _or_bad(func)

    def tagged(v):
        out = one(v)
        return (None, True) if isinstance(out, str) and out == "bad" else (out, False)

    arr = raw.to_numpy(dtype=object)
    codes, uniques = pd.factorize(arr, use_na_sentinel=True)
    values = np.empty(len(uniques) + 1, dtype=object)
    bad = np.zeros(len(uniques) + 1, dtype=bool)
    for i, u in enumerate(uniques):
        values[i], bad[i] = tagged(u)
    values[-1], bad[-1] = None, False
    return values[codes], pd.Series(bad[codes], index=raw.index)


def parse_date(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Dates as Excel serials, '2023.7.11', '2023-07-11', '2023/7/11', '2023年7月11日', or datetimes."""
    values, bad = _parse_split(raw, _parse_date_one)
    return pd.Series(pd.to_datetime(values), index=raw.index).astype("datetime64[us]"), bad


def quarter_of(ts: pd.Timestamp) -> str:
    """'2023Q3' for any date in July to September 2023."""
    return f"{ts.year}Q{(ts.month - 1) // 3 + 1}"


def _parse_quarter_one(v: object) -> str | None:
    if isinstance(v, str):
        s = unicodedata.normalize("NFKC", v).strip().replace(" ", "")
        m = _QUARTER_RE.match(s) or _QUARTER_RE2.match(s)
        if m:
            q = _CN_DIGIT.get(m.group(2), m.group(2))
            return f"{m.group(1)}Q{q}"
        m = _MONTH_RE.match(s)
        if m and 1 <= int(m.group(2)) <= 12:
            return f"{m.group(1)}Q{(int(m.group(2)) - 1) // 3 + 1}"
    d = _parse_date_one(v)
    return quarter_of(d) if d is not None else None


def parse_quarter(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Quarters as '2023Q2', '2023年二季度', '2023年第2季度', or any date form (a date means its quarter)."""
    values, bad = _parse_split(raw, _parse_quarter_one)
    return pd.Series(values, index=raw.index, dtype="string"), bad


def _yesno_one(v: object):
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    s = clean_text(v).lower()
    if s in YES:
        return True
    if s in NO:
        return False
    return None


def parse_yesno(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Yes/no written 是/否, Y/N, √/×, 1/0 (or True/False) as a nullable boolean."""
    values, bad = _parse_split(raw, _yesno_one)
    return pd.Series(values, index=raw.index).astype("boolean"), bad


def parse_text(raw: pd.Series) -> pd.Series:
    """Text cells trimmed and NFKC-normalized; blanks become missing."""
    return pd.Series(map_unique(raw, clean_text), index=raw.index, dtype="string")


def parse_category(raw: pd.Series, allowed: tuple[str, ...]) -> tuple[pd.Series, pd.Series]:
    """Text that must be one of ``allowed`` (after trimming); anything else is bad."""
    text = parse_text(raw)
    bad = text.notna() & ~text.isin(allowed)
    return text, bad.fillna(False).astype(bool)


def text_cells(raw: pd.Series | np.ndarray):
    """Which cells hold text, and those texts as a pyarrow string array (for vectorized checks)."""
    import pyarrow as pa

    arr = raw.to_numpy(dtype=object) if isinstance(raw, pd.Series) else np.asarray(raw, dtype=object)
    is_str = np.fromiter((type(v) is str for v in arr), dtype=bool, count=len(arr))
    return is_str, pa.array(arr[is_str], type=pa.string())


def contains_any(raw: pd.Series | np.ndarray, pattern: str) -> np.ndarray:
    """Boolean array: text cells matching the regular expression ``pattern``."""
    import pyarrow.compute as pc

    codes, uniques = pd.factorize(raw.to_numpy(dtype=object) if isinstance(raw, pd.Series) else raw,
                                  use_na_sentinel=True)
    if len(uniques) < len(codes) // 4:      # few distinct values: check those
        import re as _re

        rx = _re.compile(pattern)
        found = np.array([isinstance(u, str) and rx.search(u) is not None for u in uniques] + [False])
        return found[codes]
    is_str, texts = text_cells(raw)
    hit = np.zeros(len(is_str), dtype=bool)
    if len(texts):
        hit[is_str] = pc.match_substring_regex(texts, pattern).to_numpy(zero_copy_only=False)
    return hit


def _code_one(v: object) -> str | None:
    if v is None or isinstance(v, (int, float, np.number)):
        return None  # numbers: digits lost (or never a code)
    s = unicodedata.normalize("NFKC", str(v)).strip().lstrip("'").replace(" ", "")
    return s if len(s) == 18 and s.isdigit() else None


def household_code_status(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """户编码 as 18-digit text, and a mask of codes that cannot be used.

    A code stored as a number (Excel turned it into 5.11921E+17 and the digits are lost),
    written in scientific notation, or not exactly 18 digits is unusable: such a row cannot
    be linked across quarters.
    """
    import pyarrow.compute as pc

    is_str, texts = text_cells(raw)
    out = np.full(len(is_str), None, dtype=object)
    if len(texts):
        trimmed = pc.utf8_trim_whitespace(texts)
        ok = pc.and_(pc.equal(pc.utf8_length(trimmed), 18), pc.utf8_is_digit(trimmed)).to_numpy(zero_copy_only=False)
        ok &= ~pc.match_substring_regex(trimmed, r"[^0-9]").to_numpy(zero_copy_only=False)  # ASCII digits only
        values = np.asarray(trimmed.to_numpy(zero_copy_only=False), dtype=object)
        slow = ~ok   # full-width digits, a leading apostrophe, inner spaces: the careful path
        if slow.any():
            values[slow] = [_code_one(v) for v in values[slow]]
        out[is_str] = values
    codes = pd.Series(out, index=raw.index, dtype="string")
    return codes, codes.isna()


def split_names(value: object) -> list[str]:
    """'骡子坡村、青山梁村，太平社区' -> ['骡子坡村', '青山梁村', '太平社区']."""
    s = clean_text(value)
    if not s:
        return []
    return [p.strip() for p in re.split(r"[、,，;；/ ]+", s) if p.strip()]
