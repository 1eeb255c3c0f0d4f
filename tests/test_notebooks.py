"""Notebooks: kept without outputs, one parameters cell, and run end to end under papermill."""
from __future__ import annotations

import json

import nbformat
import papermill as pm
import pytest

from helpers.config import KERNEL_NAME, NOTEBOOKS

NOTEBOOK_FILES = sorted(NOTEBOOKS.glob("*.ipynb"))


def test_there_are_notebooks():
    assert {"01_intake.ipynb", "03_effects.ipynb"} <= {p.name for p in NOTEBOOK_FILES}


@pytest.mark.parametrize("path", NOTEBOOK_FILES, ids=lambda p: p.name)
def test_notebook_has_one_parameters_cell_and_no_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    for line in tagged[0].source.splitlines():   # typed, commented defaults
        assert ":" in line.split("=")[0] and "#" in line, line
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name} has outputs"
    assert nb.metadata["kernelspec"]["name"] == KERNEL_NAME


def test_parameters_are_declared_for_papermill():
    params = pm.inspect_notebook(str(NOTEBOOKS / "01_intake.ipynb"))
    assert {"quarter", "raw_dir", "processed_dir", "private_dir", "reports_dir", "lang"} <= set(params)
    assert params["quarter"]["inferred_type_name"] == "str"


@pytest.mark.timeout(600)
def test_intake_notebook_runs_on_a_sample(sample, tmp_path):
    paths = sample["paths"]
    out = tmp_path / "01_intake.ipynb"
    pm.execute_notebook(str(NOTEBOOKS / "01_intake.ipynb"), str(out), kernel_name=KERNEL_NAME,
                        parameters=dict(quarter="2022Q2", raw_dir=str(paths.raw), processed_dir=str(paths.processed),
                                        private_dir=str(paths.private), reports_dir=str(tmp_path / "reports"),
                                        lang="zh"), progress_bar=False)
    figs = sorted(p.name for p in (tmp_path / "reports" / "2022Q2" / "figures").glob("*.png"))
    assert figs == ["01_quality_trend.png", "01_quarantine_reasons.png", "01_rows_by_county.png"]
    text = out.read_text(encoding="utf-8")
    assert "暂存最多的原因是" in text
    hh = sample["truth"].households
    for column in ("head_id_number", "phone", "household_code"):
        assert not any(v in text for v in hh[column]), column
    assert json.loads(text)["metadata"]["papermill"]["parameters"]["quarter"] == "2022Q2"
