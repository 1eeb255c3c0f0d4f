"""Value parsers on the forms counties really type."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from helpers.intake import parsing as ps
from helpers.domain.dictionary import header_unit, normalize_header
from helpers.intake.places import normalize_county


def s(*values):
    return pd.Series(list(values), dtype=object)


def test_numbers():
    v, bad = ps.parse_number(s("3,562", "3562人", "1.2万", "７６１６.５８", "—", "/", "无", " 12 ", 5.5, None, "", "abc"))
    assert v.iloc[:9].tolist() == [3562, 3562, 12000, 7616.58, 0, 0, 0, 12, 5.5]
    assert v.iloc[9:].isna().all()
    assert bad.tolist() == [False] * 11 + [True]


def test_a_wan_column_scales_plain_numbers_but_not_numbers_with_their_own_unit():
    v, bad = ps.parse_number(s(1.5, "2", "12000元", "0.5万"), scale=10000)
    assert v.tolist() == [15000, 20000, 12000, 5000] and not bad.any()


def test_dates():
    v, bad = ps.parse_date(s(45118, "45118", "2023.7.11", "2023-07-11", "2023/7/11", "2023年7月11日",
                             dt.date(2023, 7, 11), dt.datetime(2023, 7, 11, 9, 30), "2023-07-11 00:00:00", "明天", None))
    assert (v.iloc[:9] == pd.Timestamp("2023-07-11")).all()
    assert bad.tolist() == [False] * 9 + [True, False]


def test_quarters_and_a_date_means_its_quarter():
    v, bad = ps.parse_quarter(s("2022Q3", "2022q3", "2022年三季度", "2022年第3季度", "2022-08-01", 44774.0, "44774",
                                "2022年8月", "2022Q5", "44"))
    assert v.iloc[:8].tolist() == ["2022Q3"] * 8
    assert bad.tolist() == [False] * 8 + [True, True]


def test_yes_no():
    v, bad = ps.parse_yesno(s("是", "否", "Y", "n", "√", "×", 1, 0, 1.0, "1", "0", "可能", None))
    assert v.iloc[:11].tolist() == [True, False, True, False, True, False, True, False, True, True, False]
    assert bad.tolist() == [False] * 11 + [True, False]


def test_household_codes():
    codes, unusable = ps.household_code_status(s("511921000000000001", "'511921000000000001", 5.11921e17,
                                                 "5.11921E+17", "51192100000000001", " 511921 000000000001"))
    assert unusable.tolist() == [False, False, True, True, True, False]
    assert codes.iloc[0] == codes.iloc[1] == codes.iloc[5] == "511921000000000001"


@pytest.mark.parametrize("written,canonical", [("通江", "通江县"), ("通江县", "通江县"), (" 巴州 ", "巴州区"),
                                               ("巴中市恩阳区", "恩阳区"), ("朝天区", None), ("", None)])
def test_counties(written, canonical):
    assert normalize_county(written) == canonical


def test_headers():
    assert normalize_header("县（区）") == "县(区)"
    assert normalize_header("工资性\n收入 ") == "工资性收入"
    assert header_unit("已支出(万元)") == ("已支出", "万元")
    assert header_unit("家庭人口") == ("家庭人口", "")


def test_split_names():
    assert ps.split_names("骡子坡村、青山梁村，太平社区") == ["骡子坡村", "青山梁村", "太平社区"]
    assert ps.split_names(None) == [] and ps.split_names(np.nan) == []
