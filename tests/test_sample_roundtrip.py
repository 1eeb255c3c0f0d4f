"""Simulated submissions through intake: every damaged row ends where the spec says."""
from __future__ import annotations

import pandas as pd

from conftest import tables


def test_every_damaged_row_gets_the_expected_outcome(sample):
    paths = sample["paths"]
    (quarantine,) = tables(paths, "quarantine")
    damage = pd.read_csv(sample["root"] / "truth" / "damaged_rows.csv")
    assert len(damage) > 100 and damage["expected"].nunique() >= 8
    merged = damage.merge(quarantine[["quarter", "source_file", "sheet", "row", "reason"]],
                          on=["quarter", "source_file", "sheet", "row"], how="outer")
    merged["expected"] = merged["expected"].fillna("clean")
    merged["reason"] = merged["reason"].astype(object).where(merged["reason"].notna(), "clean")
    wrong = merged[merged["expected"] != merged["reason"]]
    assert wrong.empty, wrong.head(20).to_string()


def test_rows_in_equal_clean_plus_quarantined(sample):
    log, hq, quarantine = tables(sample["paths"], "intake_log", "household_quarters", "quarantine")
    assert (log["rows_in"] == log["rows_clean"] + log["rows_quarantined"]).all()
    households = log[log["sheet"] == "农户监测"]
    assert households["rows_clean"].sum() == len(hq)
    assert log["rows_quarantined"].sum() == len(quarantine)
