"""The committed sample in data/raw cleans as its truth says, and intake never writes data/raw."""
from __future__ import annotations

import hashlib

import pandas as pd
import pytest

from helpers.config import DATA_RAW, ROOT, Paths
from helpers.intake.assemble import run_intake


def _hashes(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow      # intake of every quarter of the bundled sample
@pytest.mark.timeout(300)
def test_the_bundled_sample_cleans_as_its_truth_says(tmp_path):
    before = _hashes(DATA_RAW)
    assert len(before) >= 50                                      # ten quarters, five counties
    paths = Paths.make(processed=tmp_path / "processed", private=tmp_path / "private")
    summary = run_intake(None, paths)
    assert summary.quarter == "2023Q2" and len(summary.quarters) == 10
    assert _hashes(DATA_RAW) == before                            # data/raw is read, never written

    quarantine = pd.read_parquet(paths.processed / "quarantine.parquet")
    damage = pd.read_csv(ROOT / "truth" / "damaged_rows.csv")
    corrections = pd.read_csv(ROOT / "data" / "corrections.csv", dtype={"row": int})
    corrected = set(zip(corrections["quarter"], corrections["source_file"], corrections["row"]))
    damage.loc[[k in corrected for k in zip(damage["quarter"], damage["source_file"], damage["row"])],
               "expected"] = "clean"                              # evaluators fixed these rows
    merged = damage.merge(quarantine[["quarter", "source_file", "sheet", "row", "reason"]],
                          on=["quarter", "source_file", "sheet", "row"], how="outer")
    merged["expected"] = merged["expected"].fillna("clean")
    merged["reason"] = merged["reason"].astype(object).where(merged["reason"].notna(), "clean")
    assert (merged["expected"] == merged["reason"]).all()
    log = pd.read_parquet(paths.processed / "intake_log.parquet")
    assert log["corrections"].sum() == len(corrections)
    hq = pd.read_parquet(paths.processed / "household_quarters.parquet")
    assert 2300 <= hq.groupby("quarter").size().min() and hq["household_id"].nunique() <= 2500
