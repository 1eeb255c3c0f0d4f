"""Notebooks: kept without outputs, one parameters cell, and run end to end under papermill."""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
import papermill as pm
import pytest

from helpers.config import KERNEL_NAME, NOTEBOOKS

NOTEBOOK_FILES = sorted(NOTEBOOKS.glob("*.ipynb"))


def test_there_are_notebooks():
    assert {"01_intake.ipynb", "02_indicators.ipynb", "03_effects.ipynb"} <= {p.name for p in NOTEBOOK_FILES}


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


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_intake_notebook_runs_on_a_sample(sample, tmp_path):
    paths = sample["paths"]
    out = tmp_path / "01_intake.ipynb"
    pm.execute_notebook(str(NOTEBOOKS / "01_intake.ipynb"), str(out), kernel_name=KERNEL_NAME,
                        parameters=dict(quarter="2022Q2", raw_dir=str(paths.raw), processed_dir=str(paths.processed),
                                        private_dir=str(paths.private), reports_dir=str(tmp_path / "reports"),
                                        corrections_file=str(paths.corrections), lang="zh"), progress_bar=False)
    figs = sorted(p.name for p in (tmp_path / "reports" / "2022Q2" / "figures").glob("*.png"))
    assert figs == ["01_quality_score.png", "01_quality_trend.png", "01_quarantine_reasons.png", "01_rows_by_county.png"]
    text = out.read_text(encoding="utf-8")
    assert "暂存最多的原因是" in text
    hh = sample["truth"].households
    for column in ("head_id_number", "phone", "household_code"):
        assert not any(v in text for v in hh[column]), column
    assert json.loads(text)["metadata"]["papermill"]["parameters"]["quarter"] == "2022Q2"
    shown = _displayed(out)                         # what a shareable page shows (printed text is analyst-only)
    assert str(tmp_path) not in shown and str(paths.processed) not in shown and "pseudonym" not in shown
    assert "extra columns ignored" not in shown and "入库覆盖" in shown


def _displayed(path) -> str:
    """The text of a notebook's displayed outputs (Markdown, tables, figures' alt text), without printed streams."""
    nb = nbformat.read(path, as_version=4)
    parts = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            if o.get("output_type") in ("display_data", "execute_result"):
                parts += [str(v) for k, v in o.get("data", {}).items() if k.startswith("text/")]
                parts.append(json.dumps(o.get("metadata", {}), ensure_ascii=False))
    return "\n".join(parts)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_indicators_notebook_runs_on_the_bundled_sample(tmp_path):
    """02_indicators end to end on the committed sample (intake into a temporary folder first)."""
    from helpers.config import Paths
    from helpers.intake.assemble import run_intake

    paths = Paths.make(processed=tmp_path / "processed", private=tmp_path / "private", reports=tmp_path / "reports")
    run_intake("2023Q2", paths)
    out = tmp_path / "02_indicators.ipynb"
    pm.execute_notebook(str(NOTEBOOKS / "02_indicators.ipynb"), str(out), kernel_name=KERNEL_NAME, progress_bar=False,
                        parameters=dict(quarter="2023Q2", processed_dir=str(paths.processed),
                                        private_dir=str(paths.private), reports_dir=str(paths.reports), lang="zh"))
    figs = sorted(p.name for p in (paths.reports / "2023Q2" / "figures").glob("02_*.png"))
    assert figs == ["02_funds.png", "02_income_growth.png", "02_ranking.png", "02_thresholds.png", "02_trend.png"]
    import pandas as pd

    ind = pd.read_parquet(paths.reports / "2023Q2" / "results" / "indicators.parquet")
    rank = pd.read_parquet(paths.reports / "2023Q2" / "results" / "ranking.parquet")
    assert set(ind["quarter"]) >= {"2023Q1", "2023Q2"} and len(rank) == 5
    assert (paths.private / "2023Q2" / "missed_monitoring.csv").exists()
    text = out.read_text(encoding="utf-8")
    assert "综合得分最高的是" in text and "两个收入增速" in text
    codes = pd.read_parquet(paths.private / "2023Q2" / "household_codes.parquet")["户编码"]
    assert not any(c in text for c in codes)           # no household codes in the notebook's output
    # spending progress of the linking funds only: 恩阳区 below the 50% milestone, though over all of its projects it
    # is above (read from the data: 48.55% and 50.14% on the bundled sample)
    from helpers.analysis.indicators import load_config

    proj = pd.read_parquet(paths.processed / "projects.parquet")
    proj = proj[(proj["quarter"] == "2023Q2") & (proj["county"] == "恩阳区")]
    linking = proj[proj["fund_source"].isin(load_config()["linking_fund_sources"])]
    own = linking["spent"].sum() / linking["funds_arrived"].sum()
    every = proj["spent"].sum() / proj["funds_arrived"].sum()
    sp = ind[(ind["quarter"] == "2023Q2") & (ind["indicator"] == "spending_progress") & (ind["county"] == "恩阳区")].iloc[0]
    assert sp["value"] == pytest.approx(own, rel=1e-12) and own < 0.5 <= every and not sp["met"]
    shown = _displayed(out)
    assert "NaN" not in shown and "没有这类项目" in shown
    assert str(tmp_path) not in shown and "saved:" not in shown
    gap = ind[(ind["quarter"] == "2023Q2") & (ind["indicator"] == "income_growth_gap") & (ind["county"] == "全市")]
    gap_pp = f"{100 * gap['value'].iloc[0]:.1f}个百分点"       # a difference of two rates, in points, never "%"
    assert "> 7.7%" in shown and "项目支出进度 < 50%" in shown and gap_pp in shown
    assert "南江县未报送“务工人数”列" in shown and "未享受就业帮扶" in shown
    from helpers.analysis import composite

    stable = composite.ranks_stable(rank, composite.stability_settings(composite.load_spec())["stable_share"])
    assert ("名次对权重不敏感" in shown) == stable


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_report_notebook_runs_alone_and_builds_missing_results(sample, tmp_path):
    """Interactive use without the run command: the report builds what it needs on demand."""
    paths = sample["paths"]
    reports = tmp_path / "reports"
    out = tmp_path / "04_report.ipynb"
    pm.execute_notebook(str(NOTEBOOKS / "04_report.ipynb"), str(out), kernel_name=KERNEL_NAME, progress_bar=False,
                        parameters=dict(quarter="2022Q2", processed_dir=str(paths.processed), reports_dir=str(reports)))
    results = {p.name for p in (reports / "2022Q2" / "results").iterdir()}
    programs = ("any", "industry", "employment")
    assert results == {"indicators.parquet", "ranking.parquet", *(f"effects_{p}.parquet" for p in programs),
                       *(f"effects_{p}_below_line__earned-False.parquet" for p in programs),
                       *(f"distribution_{p}.parquet" for p in programs)}
    text = out.read_text(encoding="utf-8")
    assert "image/png" in text and "任一帮扶" in text
    import pandas as pd

    # built as notebook 03 builds them (earned income too), so the sentences carry the same clauses
    assert set(pd.read_parquet(reports / "2022Q2" / "results" / "effects_any.parquet")["outcome"]) == {"income_pc",
                                                                                                       "earned_pc"}
    for typed in ("开始前各点接近零", "逐季累积", "因效果随时间增长而低估", "effects build up over time"):
        assert typed not in text                        # no finding typed into the page


def test_notebooks_run_by_hand_never_write_over_the_published_run():
    """JupyterLab with other parameters overwrote reports/<q>/results of the official run: a notebook
    without ``reports_dir`` (run by hand) writes under reports/interactive/; the run always passes one."""
    from helpers.config import INTERACTIVE_REPORTS, REPORTS, Paths

    assert Paths.for_notebook().reports == INTERACTIVE_REPORTS != REPORTS
    assert Paths.for_notebook(reports_dir="/tmp/r").reports == Path("/tmp/r").resolve()
    for nb in sorted(NOTEBOOKS.glob("0*.ipynb")):
        code = "\n".join(c.source for c in nbformat.read(nb, as_version=4).cells if c.cell_type == "code")
        assert "Paths.for_notebook(" in code and "Paths.make(" not in code, nb.name
