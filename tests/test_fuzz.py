"""Fuzz tests (hypothesis): the cell parsers and the scrubber on arbitrary and hostile input.

The parsers must never raise, must return their documented types, and must keep blank cells
missing (not bad). The scrubber must remove every digit of a phone, ID or card number written
in any recognized form, wherever it stands in free text, and must be idempotent.
"""
from __future__ import annotations

import datetime as dt
import math
import re

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers.intake import parsing as ps
from helpers.intake.pseudonym import scrub, scrub_text

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- cell values as Excel and CSV readers give them ------------------------------------------

BLANKS = [None, float("nan"), "", " ", "\u3000", "\t\n"]
number_text = st.builds(
    lambda sign, whole, frac, unit, comma: sign + (f"{whole:,}" if comma else str(whole)) + frac + unit,
    st.sampled_from(["", "-", "+"]), st.integers(0, 10**12), st.sampled_from(["", ".5", ".25", ".0"]),
    st.sampled_from(["", "元", "万", "万元", "人", "户", "亩"]), st.booleans())
full_width = st.text(alphabet="０１２３４５６７８９．，－＋万元年月日", max_size=12)
date_text = st.builds(lambda y, m, d, sep: f"{y}{sep[0]}{m}{sep[1]}{d}{sep[2]}",
                      st.integers(1, 9999), st.integers(0, 13), st.integers(0, 32),
                      st.sampled_from([("-", "-", ""), (".", ".", ""), ("/", "/", ""), ("年", "月", "日")]))
cell = st.one_of(
    st.sampled_from(BLANKS),
    st.text(max_size=30),
    number_text, full_width, date_text,
    st.sampled_from(["—", "/", "无", "是", "否", "√", "×", "Y", "n", "2023Q2", "2023年二季度", "1e300", "inf",
                     "-inf", "nan", "NaN", "5.11921E+17", "'511921000000000001", "１２３４５６７８９０１２３４５６７８"]),
    st.integers(-(10**15), 10**15),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.dates(dt.date(1900, 1, 1)),   # what Excel can hold: 1900 to 9999
    st.datetimes(dt.datetime(1900, 1, 1)),
)
column = st.lists(cell, max_size=12).map(lambda v: pd.Series(v, dtype=object))


def _blank(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and not v.strip())


def _check_pair(raw: pd.Series, values: pd.Series, bad: pd.Series) -> None:
    assert len(values) == len(bad) == len(raw)
    assert values.index.equals(raw.index) and bad.index.equals(raw.index)
    assert bad.dtype == bool
    blank = np.array([_blank(v) for v in raw], dtype=bool)
    assert values[blank].isna().all()                 # blanks stay missing ...
    assert not bad[blank].any()                       # ... and are not bad
    assert values[bad.to_numpy()].isna().all()        # a bad cell has no value


@FUZZ
@given(column, st.sampled_from([1.0, 10000.0]))
def test_parse_number_never_raises_and_returns_floats(raw, scale):
    values, bad = ps.parse_number(raw, scale=scale)
    assert values.dtype == "float64"
    _check_pair(raw, values, bad)


@FUZZ
@given(column)
def test_parse_date_never_raises_and_returns_dates(raw):
    values, bad = ps.parse_date(raw)
    assert pd.api.types.is_datetime64_dtype(values.dtype)
    _check_pair(raw, values, bad)


@FUZZ
@given(column)
def test_parse_quarter_never_raises_and_returns_quarters(raw):
    values, bad = ps.parse_quarter(raw)
    assert values.dtype == "string"
    _check_pair(raw, values, bad)
    assert all(re.fullmatch(r"\d{4}Q[1-4]", q) for q in values.dropna())


@FUZZ
@given(column)
def test_parse_yesno_never_raises_and_returns_booleans(raw):
    values, bad = ps.parse_yesno(raw)
    assert values.dtype == "boolean"
    _check_pair(raw, values, bad)


code_cell = st.one_of(cell, st.text(alphabet="0123456789０１２３４５６７８９ '", min_size=15, max_size=22))


@FUZZ
@given(st.lists(code_cell, max_size=12).map(lambda v: pd.Series(v, dtype=object)))
def test_household_code_status_never_raises_and_gives_18_digit_codes(raw):
    codes, unusable = ps.household_code_status(raw)
    assert codes.dtype == "string" and unusable.dtype == bool
    assert codes.index.equals(raw.index) and unusable.tolist() == codes.isna().tolist()
    assert all(len(c) == 18 and c.isdigit() for c in codes.dropna())
    blank = np.array([_blank(v) for v in raw], dtype=bool)
    assert codes[blank].isna().all()


@FUZZ
@given(cell)
def test_clean_text_never_raises_and_gives_trimmed_text_or_none(value):
    out = ps.clean_text(value)
    assert out is None or (isinstance(out, str) and out and out == out.strip())
    if _blank(value):
        assert out is None


# --- the scrubber ---------------------------------------------------------------------------

SEPARATORS = [" ", "  ", "-", " - ", "- ", "－", "\u3000", "—", "–", "\u00a0"]
FULL = str.maketrans("0123456789Xx", "０１２３４５６７８９Ｘｘ")
# free text around a number: anything but a decimal digit right next to it (digits glued to a
# number make it a different, longer number)
around = st.text(st.characters(blacklist_categories=("Nd", "Cs")), max_size=15)
digits = lambda n: st.text(alphabet="0123456789", min_size=n, max_size=n)  # noqa: E731


def _grouped(draw, number: str, groupings: list[list[int]]) -> str:
    sizes = draw(st.sampled_from(groupings))
    assert sum(sizes) == len(number)
    parts, at = [], 0
    for n in sizes:
        parts.append(number[at:at + n])
        at += n
    out = parts[0]
    for part in parts[1:]:
        out += draw(st.sampled_from(SEPARATORS)) + part
    return out


@st.composite
def personal_number(draw):
    """(text, kind): a phone, ID or card number written in one of the recognized forms."""
    kind = draw(st.sampled_from(["mobile", "landline", "id18", "id15", "card", "keyword"]))
    if kind == "mobile":
        number = "1" + draw(st.sampled_from("3456789")) + draw(digits(9))
        text = _grouped(draw, number, [[11], [3, 8], [7, 4], [3, 4, 4], [4, 3, 4], [4, 4, 3]])
        prefix = draw(st.sampled_from(["", "+86", "+86 ", "+86-", "0086", "0086 ", "(+86)", "（+86）", "（86）",
                                       "86", "0", "＋86 "]))
        text = prefix + text
    elif kind == "landline":
        area = "0" + draw(st.sampled_from(["10", "2" + draw(digits(1)), draw(st.sampled_from("3456789")) + draw(digits(2))]))
        local = draw(st.sampled_from("23456789")) + draw(digits(draw(st.sampled_from([6, 7]))))
        split = _grouped(draw, local, [[len(local)], [len(local) - 4, 4]])      # 3-4 or 4-4
        sep = draw(st.sampled_from(["", *SEPARATORS]))
        text = draw(st.sampled_from([f"{area}{sep}{split}", f"({area}){split}", f"（{area}）{sep}{split}",
                                     f"+86 {area[1:]}{sep}{split}", f"0086-{area[1:]}-{split}"]))
    elif kind == "id18":
        number = draw(digits(17)) + draw(st.sampled_from("0123456789Xx"))
        text = _grouped(draw, number, [[18], [6, 8, 4], [4, 4, 4, 4, 2], [6, 4, 4, 4], [3, 3, 4, 4, 4]])
    elif kind == "id15":
        number = draw(st.sampled_from("12345678")) + draw(digits(14))
        text = _grouped(draw, number, [[15], [6, 6, 3], [4, 4, 4, 3]])
    elif kind == "card":
        n = draw(st.integers(16, 19))
        number = draw(st.sampled_from("3456789")) + draw(digits(n - 1))     # UnionPay 62, Visa 4, 95xx ...
        fours = [4] * (n // 4) + ([n % 4] if n % 4 else [])
        text = _grouped(draw, number, [[n], fours, [6, n - 6]])
    else:   # a keyword, then any number of at least six digits
        word = draw(st.sampled_from(["手机：", "电话:", "电话号码 ", "联系人张三 ", "Tel ", "TEL:", "座机", "身份证号：",
                                     "证件号码", "卡号", "账号：", "银行卡 ", "存折号"]))
        number = draw(digits(draw(st.integers(6, 22))))
        text = word + _grouped(draw, number, [[len(number)], [3, len(number) - 3]])
    if draw(st.booleans()):
        text = text.translate(FULL)
    return text, kind


@FUZZ
@given(around, personal_number(), around)
def test_no_digit_of_a_personal_number_survives_in_free_text(before, number, after):
    text, kind = number
    cell = before + text + after
    out = scrub_text(cell)
    assert not any(c.isdecimal() for c in out), (cell, out)
    assert "已删除]" in out
    assert scrub(pd.Series([cell])).iloc[0] == out          # the column path agrees with the one-string path


@FUZZ
@given(st.lists(st.one_of(st.text(max_size=40), personal_number().map(lambda t: t[0]),
                          st.sampled_from(["2023年7月11日", "3,562元", "12.5万元", "P-001", "2023Q2", " ", "，"])),
                max_size=6).map("".join))
def test_scrubbing_is_idempotent_and_the_column_path_agrees(text):
    once = scrub_text(text)
    assert scrub_text(once) == once
    assert scrub(pd.Series([text, once])).tolist() == [once, once]
    # what is left has no run of 12 or more digits and no mobile number
    assert not re.search(r"\d{12}|(?<!\d)[1１][3-9３-９]\d{9}(?!\d)", once), once


@FUZZ
@given(st.text(alphabet=st.sampled_from("0123456789１３８ -－()+Xx电话卡号，"), max_size=40))
def test_digit_soup_is_scrubbed_consistently(text):
    once = scrub_text(text)
    assert scrub_text(once) == once
    assert scrub(pd.Series([text])).iloc[0] == once
    assert not re.search(r"\d{12}|(?<!\d)[1１][3-9３-９]\d{9}(?!\d)", once), once


ORDINARY = ["资金", "3,562", "元", "12.5万元", "2023年7月11日", "2023-07-11", "2023/07/11", "P-001", "2023Q2", "第3季度",
            "共15户43人", "1.5", "100%", "W-01", "2023.7.11", "20230711", "至", "3562人", "15", "2023", "10:30", "1,234,567"]


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(ORDINARY), st.sampled_from([" ", "，", "、", "；", "-", " - ", "～", "\n"])),
                max_size=12).map(lambda parts: "".join(a + b for a, b in parts)))
def test_ordinary_numbers_are_never_touched(text):
    assert scrub_text(text) == text
