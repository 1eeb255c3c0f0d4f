"""Quarters as text (``YYYYQn``) and as consecutive integers, so that event time is a difference."""
from __future__ import annotations

import pandas as pd


def quarter_range(first: str, last: str) -> list[str]:
    """['2021Q1', '2021Q2', ..., last] (inclusive)."""
    a, b = quarter_index(first), quarter_index(last)
    if b < a:
        raise ValueError(f"quarter range {first}..{last} is empty")
    return [index_quarter(i) for i in range(a, b + 1)]


def quarter_index(q):
    """'2021Q1' -> 8084 (year * 4 + quarter - 1); works on a str or a Series of them."""
    if isinstance(q, str):
        return int(q[:4]) * 4 + int(q[-1]) - 1
    s = pd.Series(q).astype("string")
    return (s.str[:4].astype("int64") * 4 + s.str[-1].astype("int64") - 1).to_numpy()


def index_quarter(i: int) -> str:
    """Inverse of ``quarter_index``: 8084 -> '2021Q1'."""
    i = int(i)
    return f"{i // 4}Q{i % 4 + 1}"


def previous(q: str, n: int = 1) -> str:
    """The quarter ``n`` quarters before ``q``."""
    return index_quarter(quarter_index(q) - n)


def label_zh(q: str) -> str:
    """'2023Q2' -> '2023年二季度'."""
    return f"{q[:4]}年{'一二三四'[int(q[-1]) - 1]}季度"
