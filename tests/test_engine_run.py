"""The quarterly run on the Dask engine gives the local engine's results (issue 15): the same sample run with
``engine=dask`` (a LocalCluster of 2 worker processes started and closed by the run, intake into its own processed
folder) writes the same processed tables and the same results files, numbers equal to 1e-9."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.slow


def _same(a: pd.DataFrame, b: pd.DataFrame, what: str) -> None:
    assert list(a.columns) == list(b.columns) and len(a) == len(b), what
    for c in a.columns:
        if c == "seconds":                      # how long a step took (power's record), not a result
            continue
        x, y = a[c].reset_index(drop=True), b[c].reset_index(drop=True)
        if pd.api.types.is_numeric_dtype(x) and pd.api.types.is_numeric_dtype(y) and not pd.api.types.is_bool_dtype(x):
            xv, yv = x.to_numpy(dtype="float64"), y.to_numpy(dtype="float64")
            assert np.allclose(xv, yv, rtol=1e-9, atol=1e-9, equal_nan=True), \
                f"{what}: column {c} differs by up to {np.nanmax(np.abs(xv - yv)):.3g}"
        else:
            assert x.astype(str).tolist() == y.astype(str).tolist(), f"{what}: column {c}"


def test_the_run_on_dask_writes_the_local_runs_tables_and_results(full_run, tmp_path):
    from helpers.config import Paths
    from helpers.engine import EngineSpec
    from helpers.pipeline.run import run

    local = full_run["paths"]
    paths = Paths.make(raw=local.raw, processed=tmp_path / "processed", private=local.private,
                       reports=tmp_path / "reports", corrections=local.corrections)
    manifest = run(full_run["quarter"], paths, full_run["params"], "zh", progress=lambda m: None,
                   engine=EngineSpec(name="dask", workers=2, memory_limit="3GB"))
    assert manifest["engine"] == {"name": "dask", "scheduler": "local cluster", "workers": 2}
    for name in ("households", "household_quarters", "villages", "projects", "rectifications", "quarantine"):
        a = pd.read_parquet(local.processed / f"{name}.parquet")
        b = pd.read_parquet(paths.processed / f"{name}.parquet")
        _same(a, b, name)
    q = full_run["quarter"]
    made = sorted(p.name for p in (local.reports / q / "results").glob("*.parquet"))
    assert made and made == sorted(p.name for p in (paths.reports / q / "results").glob("*.parquet"))
    for name in made:
        _same(pd.read_parquet(local.reports / q / "results" / name), pd.read_parquet(paths.reports / q / "results" / name),
              name)
