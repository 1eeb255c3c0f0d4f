"""Data quality of each county's submission, per quarter, from intake's row accounting.

Four shares, each between 0 and 1 (1 is best), and their mean as the score:

- ``kept_share``: rows taken in / rows in, over every sheet the county sent (1 − share set aside);
- ``optional_share``: optional columns present / optional columns expected, over the sheets sent (a county
  that never sends 务工人数 loses here, not in the rows);
- ``sheets_share``: sheets sent / sheets expected (农户监测, 行政村, 项目资金, 问题整改);
- ``uncorrected_share``: 1 − rows the city had to correct (``data/corrections.csv``) / rows in.

``score`` = their plain mean: each stands for one thing a county can do to send a usable file, and none is
worth more than another without a decision of the city (the composite weight of the score is 0 by default in
config/composite.yaml, so rankings do not change unless the city decides). Also returned, for the reader:
``rows_in``, ``rows_set_aside``, ``sheets_missing``, ``optional_absent``, ``corrections``. Counts are of rows
and columns, not of households; nothing here is personal.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.domain.dictionary import SHEETS

COMPONENTS = ("kept_share", "optional_share", "sheets_share", "uncorrected_share")
COLUMNS = ["quarter", "county", "rows_in", "rows_set_aside", "optional_absent", "sheets_missing", "corrections",
           *COMPONENTS, "score"]


def quality(log: pd.DataFrame, quarter: str | None = None) -> pd.DataFrame:
    """One row per quarter (up to ``quarter`` when given) and county that sent anything, with the columns
    ``COLUMNS``, from the processed ``intake_log``."""
    lg = log if quarter is None else log[log["quarter"] <= quarter]
    if not len(lg):
        return pd.DataFrame(columns=COLUMNS)
    lg = lg.assign(
        optional_columns=lg["optional_columns"] if "optional_columns" in lg else 0,
        optional_absent=lg["optional_absent"] if "optional_absent" in lg else 0,
        missing_sheet=lg["missing_sheet"].fillna(False).astype(bool))
    sent = lg[~lg["missing_sheet"]]
    g = lg.groupby(["quarter", "county"], sort=True)
    out = pd.DataFrame({
        "rows_in": g["rows_in"].sum(), "rows_set_aside": g["rows_quarantined"].sum(),
        "sheets_missing": g["missing_sheet"].sum(), "corrections": g["corrections"].sum()})
    gs = sent.groupby(["quarter", "county"], sort=True)
    expected = gs["optional_columns"].sum().reindex(out.index).fillna(0)
    absent = gs["optional_absent"].sum().reindex(out.index).fillna(0)
    out["optional_absent"] = absent
    rows_in = out["rows_in"].where(out["rows_in"] > 0)
    out["kept_share"] = 1 - out["rows_set_aside"] / rows_in
    out["optional_share"] = np.where(expected > 0, 1 - absent / expected.where(expected > 0), 1.0)
    out["sheets_share"] = 1 - out["sheets_missing"] / len(SHEETS)
    out["uncorrected_share"] = 1 - out["corrections"] / rows_in
    out["score"] = out[list(COMPONENTS)].mean(axis=1, skipna=False)
    out = out.reset_index()
    for c in ("rows_in", "rows_set_aside", "optional_absent", "sheets_missing", "corrections"):
        out[c] = out[c].astype("int64")
    return out[COLUMNS]
