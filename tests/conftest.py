"""Shared fixtures: a simulated sample written to a temporary folder (never data/raw)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("WORKBOOK_PSEUDONYM_KEY", "test-key-0123456789abcdef-0123456789abcdef")
import matplotlib  # noqa: E402

matplotlib.use("Agg")     # for this process only: notebook kernels keep their own (inline) backend


@pytest.fixture(scope="session")
def sample(tmp_path_factory):
    """A small simulated sample (600 households, 2021Q1..2022Q2) with its truth and intake run once."""
    from helpers.config import Paths
    from helpers.intake.assemble import run_intake
    from helpers.sim.simulate import simulate

    root = tmp_path_factory.mktemp("sample")
    truth = simulate(root / "raw", root / "truth", households=600, seed=7, first="2021Q1", last="2022Q2")
    paths = Paths.make(raw=root / "raw", processed=root / "processed", private=root / "private",
                       corrections=root / "corrections.csv")
    summary = run_intake(None, paths)
    return {"root": root, "truth": truth, "paths": paths, "summary": summary}


def tables(paths, *names):
    import pandas as pd

    return [pd.read_parquet(Path(paths.processed) / f"{n}.parquet") for n in names]
