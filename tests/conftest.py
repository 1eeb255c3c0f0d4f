"""Shared fixtures: a simulated sample written to a temporary folder (never data/raw)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("WORKBOOK_PSEUDONYM_KEY", "test-key-0123456789abcdef-0123456789abcdef")
import matplotlib  # noqa: E402

matplotlib.use("Agg")     # for this process only: notebook kernels keep their own (inline) backend


def pytest_collection_modifyitems(items):
    """Every test of the whole run (the `full_run` fixture) is slow, besides those marked by hand (notebooks,
    simulation studies): `pytest -m "not slow"` is the fast tests, run on Python 3.13 by scripts/test.sh."""
    for item in items:
        if "full_run" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


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


RUN_QUARTER = "2022Q2"


@pytest.fixture(scope="session")
def full_run(sample, tmp_path_factory):
    """One full run on the simulated sample, with the PDF (skipped with a note without a browser), shared by the
    tests of the run (tests/test_run.py) and of its office files (tests/test_office.py)."""
    from helpers.config import Paths
    from helpers.pipeline.run import run

    root = tmp_path_factory.mktemp("run")
    paths = Paths.make(raw=sample["paths"].raw, processed=sample["paths"].processed, private=sample["paths"].private,
                       reports=root / "reports", corrections=sample["paths"].corrections)
    params = root / "params.yaml"
    params.write_text("03_effects:\n  bootstrap_reps: 199\n", encoding="utf-8")
    manifest = run(RUN_QUARTER, paths, params, "zh", progress=lambda m: None, pdf=True)
    return {"paths": paths, "manifest": manifest, "params": params, "root": root, "quarter": RUN_QUARTER}


@pytest.fixture(scope="session")
def dask_engine():
    """The Dask engine as CI runs it: a LocalCluster of 2 worker processes (one thread each), started once for the
    session and closed at its end (helpers.engine.open_engine)."""
    from helpers.engine import EngineSpec, open_engine
    with open_engine(EngineSpec(name="dask", workers=2, memory_limit="4GB"), dashboard=False) as engine:
        yield engine
