"""The quarterly run: one command from raw submissions to shareable HTML, made once per test session."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from helpers.config import Paths
from helpers.pipeline.run import RunError, plan_parameters, run

Q = "2022Q2"


@pytest.mark.timeout(900)
def test_the_run_writes_notebooks_exports_results_and_manifest(full_run):
    q = full_run["paths"].reports / Q
    steps = ["01_intake", "02_indicators", "03_effects_any", "03_effects_industry", "03_effects_employment", "04_report"]
    for folder, ext in (("notebooks", ".ipynb"), ("analyst", ".html"), ("share", ".html")):
        assert sorted(p.name for p in (q / folder).iterdir() if p.suffix == ext) == sorted(s + ext for s in steps), folder
    # beside the pages, share/ holds the office files only (tests/test_office.py opens them)
    assert {p.suffix for p in (q / "share").iterdir()} <= {".html", ".xlsx", ".docx", ".pdf"}
    # results are named by the parameters they were made with (here 199 bootstrap draws, not the default)
    assert {p.name for p in (q / "results").iterdir()} >= {"indicators.parquet", "ranking.parquet",
                                                          "effects_any__bootstrap_reps-199.parquet",
                                                          "effects_industry__bootstrap_reps-199.parquet"}
    m = json.loads((q / "manifest.json").read_text(encoding="utf-8"))
    assert m["quarter"] == Q and [s["step"] for s in m["steps"]] == steps
    assert m["parameters"]["03_effects_industry"]["program"] == "industry"
    assert m["parameters"]["01_intake"]["quarter"] == Q and isinstance(m["parameters"]["01_intake"]["quarter"], str)
    assert m["pseudonym_key_fingerprint"] and len(m["packages"]) > 5 and m["git_commit"]
    assert any(k.endswith(".xlsx") for k in m["inputs"]) and any(k.endswith("04_report.html") for k in m["outputs"])
    assert all(s["seconds"] > 0 for s in m["steps"])
    for page in (q / "share").glob("*.html"):          # the sample is simulated: every page says so, first
        text = page.read_text(encoding="utf-8")
        assert "simulated-banner" in text and "模拟样本" in text, page.name
    index = (full_run["paths"].reports / "index.html").read_text(encoding="utf-8")
    assert f"{Q}/share/04_report.html" in index and "季度评估报告" in index
    assert "simulated-banner" in index and "模拟数据" in index and m["simulated"]["households"] > 0


def test_steps_are_stamped_and_the_effects_notebooks_run_side_by_side(full_run):
    steps = {s["step"]: s for s in full_run["manifest"]["steps"]}
    assert all(s["started"] < s["ended"] for s in steps.values())
    assert steps["01_intake"]["ended"] <= steps["02_indicators"]["started"] <= steps["02_indicators"]["ended"] \
        <= min(steps[f"03_effects_{p}"]["started"] for p in ("any", "industry", "employment"))
    a, b = steps["03_effects_any"], steps["03_effects_industry"]
    assert a["started"] < b["ended"] and b["started"] < a["ended"]          # two at a time on two cores
    assert max(steps[f"03_effects_{p}"]["ended"] for p in ("any", "industry", "employment")) \
        <= steps["04_report"]["started"]


def test_exports_are_self_contained_and_shareable_ones_hide_code(full_run):
    q = full_run["paths"].reports / Q
    for html in list((q / "share").glob("*.html")) + list((q / "analyst").glob("*.html")):
        text = html.read_text(encoding="utf-8")
        assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", text), html.name
        assert "<script src" not in text and "@import" not in text, html.name
        assert "<img" in text and 'src="data:image/png;base64' in text, html.name
        assert "No description has been provided" not in text, html.name            # alt text: the figure's title
        assert all(alt.strip() for alt in re.findall(r'<img [^>]*alt="([^"]*)"', text)), html.name
    share = (q / "share" / "04_report.html").read_text(encoding="utf-8")
    analyst = (q / "analyst" / "04_report.html").read_text(encoding="utf-8")
    assert "jp-InputArea-editor\"" not in share and "jp-InputArea-editor\"" in analyst    # code cells
    assert (q / "share" / "04_report.html").stat().st_size < 5 * 2**20
    assert "帮扶措施的增收效果" in share


def test_no_personal_value_or_household_row_reaches_any_export(full_run, sample):
    """Scan every file under reports/ for the simulator's planted names, IDs, phones, codes and pseudonyms."""
    hh = sample["truth"].households
    codes = pd.read_parquet(sample["paths"].private / Q / "household_codes.parquet")
    texts = []
    for p in full_run["paths"].reports.rglob("*"):
        if p.is_file():
            texts.append(pd.read_parquet(p).astype(str).to_csv() if p.suffix == ".parquet"
                         else p.read_bytes().decode("utf-8", errors="replace"))
    text = "\n".join(texts)
    for column in ("head_id_number", "phone", "household_code"):
        leaked = [v for v in hh[column] if v in text]
        assert not leaked, (column, leaked[:3])
    names = [n for n in hh["head_name"] if len(n) >= 3]
    assert not [n for n in names if n in text]
    assert not [h for h in codes["household_id"] if h in text]          # no household rows, even pseudonymized


def test_unknown_parameters_and_quarters_are_refused_before_anything_runs(full_run, tmp_path):
    paths = full_run["paths"]
    with pytest.raises(RunError, match=r"unknown parameter\(s\) colour.*Allowed: 01_intake: .*quarter"):
        plan_parameters(Q, paths, {"colour": "red"})
    with pytest.raises(RunError, match=r"03_effects\.nope"):
        plan_parameters(Q, paths, {"03_effects": {"nope": 1}})
    with pytest.raises(RunError, match="unknown quarter '2030Q1'; available in .*2021Q1"):
        run("2030Q1", paths, progress=lambda m: None)
    plan = plan_parameters(Q, paths, {"trend_quarters": "4", "balanced": "false"})
    params = dict((s.name, p) for s, p in plan)
    assert params["02_indicators"]["trend_quarters"] == 4 and params["03_effects_any"]["balanced"] is False
    assert params["01_intake"]["quarter"] == Q


@pytest.mark.timeout(600)
def test_a_failing_cell_stops_the_run_keeps_the_partial_notebook_in_failed_and_the_good_reports(full_run, tmp_path):
    from helpers.store.storage import file_hash

    paths = full_run["paths"]
    shutil.copytree(paths.reports, tmp_path / "reports")            # the last good run's reports
    q = tmp_path / "reports" / Q
    good = json.loads((q / "manifest.json").read_text(encoding="utf-8"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("02_indicators:\n  composite_config: /nonexistent/composite.yaml\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "helpers.pipeline.cli", "run", "--quarter", Q, "--raw", str(paths.raw),
                           "--processed", str(paths.processed), "--private", str(paths.private),
                           "--reports", str(tmp_path / "reports"), "--corrections", str(paths.corrections), "--params", str(bad)],
                          capture_output=True, text=True, encoding="utf-8")
    assert proc.returncode == 3
    assert "02_indicators failed in cell" in proc.stderr and "FileNotFoundError" in proc.stderr
    assert "Traceback" not in proc.stderr and str(q / "failed") in proc.stderr
    assert (q / "failed" / "notebooks" / "02_indicators.ipynb").exists()
    assert (q / "failed" / "analyst" / "02_indicators.html").exists()
    assert not (q / "failed" / "notebooks" / "03_effects_any.ipynb").exists()
    # the published reports and their manifest are the good run's, byte for byte
    assert json.loads((q / "manifest.json").read_text(encoding="utf-8")) == good
    for name, digest in good["outputs"].items():
        assert file_hash(Path(name.replace(str(paths.reports), str(tmp_path / "reports")))) == digest, name
    assert not (tmp_path / "reports" / ".staging").exists()


def test_parameter_values_are_checked_before_anything_runs(full_run, tmp_path):
    paths = Paths.make(raw=full_run["paths"].raw, processed=tmp_path / "processed", private=tmp_path / "private",
                       reports=tmp_path / "reports", corrections=full_run["paths"].corrections)
    for extra, says in (({"cluster": "township"}, "cluster = 'township' is not allowed; allowed: village, county, household_id"),
                        ({"03_effects": {"program": "tourism"}}, "program is set by the run"),
                        ({"03_effects": {"control": "nevr"}}, "allowed: not_yet, never"),
                        ({"covariates": "agee"}, "allowed: household_size, relocated"),
                        ({"quarter": "2021Q4"}, "quarter is set by --quarter"),     # it published 2021Q4 as 2022Q2
                        ({"reports_dir": "/elsewhere"}, "reports_dir is set by --reports"),
                        ({"trend_quarters": 0}, "allowed: 1 to 40")):
        with pytest.raises(RunError, match=re.escape(says)):
            run(Q, paths, _params_file(tmp_path, extra), progress=lambda m: None)
    assert not paths.processed.exists() and not paths.reports.exists()      # nothing ran, nothing written


def _params_file(tmp_path, extra: dict) -> Path:
    import yaml

    f = tmp_path / "p.yaml"
    f.write_text(yaml.safe_dump(extra, allow_unicode=True), encoding="utf-8")
    return f


def test_the_run_takes_parameter_defaults_from_the_committed_notebook(monkeypatch, full_run):
    import helpers.pipeline.run as run_module

    committed = {nb: run_module.committed_defaults(nb) for nb in ("01_intake", "02_indicators", "03_effects", "04_report")}
    assert committed["03_effects"]["control"] == "not_yet"
    monkeypatch.setattr(run_module, "committed_defaults", committed.get)
    # as if JupyterLab had autosaved control = "never" into the working copy of the notebook
    real = run_module._defaults
    monkeypatch.setattr(run_module, "_defaults", lambda decl: {**real(decl), "control": "never"} if "control" in decl
                        else real(decl))
    assert run_module.changed_defaults()["03_effects"] and "control" in run_module.changed_defaults()["03_effects"]
    plan = dict((s.name, p) for s, p in plan_parameters(Q, full_run["paths"]))
    assert plan["03_effects_any"]["control"] == "not_yet"                  # the committed default, not the saved one
    assert full_run["manifest"]["steps"][2]["notebook_sha256"]
    assert full_run["manifest"]["parameters"]["03_effects_any"]["cluster"] == "village"   # defaults recorded too


def test_a_new_quarter_reuses_the_cached_intake_of_earlier_quarters(sample, tmp_path):
    from helpers.intake.assemble import run_intake
    from helpers.sim.simulate import simulate

    raw = tmp_path / "raw"
    shutil.copytree(sample["paths"].raw, raw)
    nxt = tmp_path / "next"
    simulate(nxt, None, households=600, seed=7, first="2021Q1", last="2022Q3")
    shutil.copytree(nxt / "2022Q3", raw / "2022Q3")
    paths = Paths.make(raw=raw, processed=tmp_path / "processed", private=tmp_path / "private",
                       reports=tmp_path / "reports", corrections=sample["paths"].corrections)
    shutil.copytree(sample["paths"].processed, paths.processed)      # the earlier run's cache
    shutil.copytree(sample["paths"].private, paths.private)          # and its private lists (else rebuilt)
    summary = run_intake("2022Q3", paths)
    assert summary.processed == ["2022Q3"] and len(summary.cached) == 6
    assert "2022Q3" in set(pd.read_parquet(paths.processed / "household_quarters.parquet")["quarter"])
    assert dict((s.name, p) for s, p in plan_parameters("2022Q3", paths))["04_report"]["quarter"] == "2022Q3"


def test_the_same_inputs_give_the_same_numbers(full_run):
    """Indicators and ranking recomputed from the processed tables equal what the run saved."""
    from helpers.analysis import composite, indicators

    paths = full_run["paths"]
    saved = pd.read_parquet(paths.reports / Q / "results" / "indicators.parquet")
    again = indicators.compute_trend(indicators.Inputs.load(paths, Q), Q)
    pd.testing.assert_frame_equal(saved.reset_index(drop=True), again.reset_index(drop=True), check_dtype=False)
    rank = pd.read_parquet(paths.reports / Q / "results" / "ranking.parquet")
    pd.testing.assert_frame_equal(rank, composite.ranking(again[again["quarter"] == Q], Q), check_dtype=False)


def _page_text(nb_path: Path) -> str:
    """What a reader of an executed notebook sees as text: its Markdown and the text of its tables."""
    import nbformat

    parts = []
    for cell in nbformat.read(nb_path, as_version=4).cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            for kind in ("text/markdown", "text/plain"):
                if kind in data and "IPython.core.display" not in data[kind]:
                    parts.append(data[kind])
    return "\n".join(parts)


NUMBER = re.compile(r"[-−]?\d[\d,]*(?:\.\d+)?")


@pytest.mark.timeout(900)
def test_the_report_on_its_own_prints_the_same_numbers_as_the_report_in_the_run(full_run, tmp_path):
    """Notebook 04 alone (a copy of the processed tables, an empty results folder, the run's parameters for 04)
    asks the artifacts layer for the same artifacts as 02 and 03 made in the run, with the same parameters (the
    run's 199 draws, earned income, its options): the frames are equal, made under the same keys, and the page
    prints the same numbers."""
    import papermill as pm

    from helpers.config import KERNEL_NAME, NOTEBOOKS
    from helpers.pipeline import artifacts

    paths = full_run["paths"]
    params = full_run["manifest"]["parameters"]["04_report"]
    assert params["bootstrap_reps"] == 199 and params["cluster"] == "village"        # the run's 03 options reach 04
    processed = tmp_path / "processed"
    shutil.copytree(paths.processed, processed, ignore=shutil.ignore_patterns("_cache", "_indicators"))
    alone = Paths.make(processed=processed, reports=tmp_path / "reports")
    out = tmp_path / "04_report.ipynb"
    pm.execute_notebook(str(NOTEBOOKS / "04_report.ipynb"), str(out), kernel_name=KERNEL_NAME, progress_bar=False,
                        parameters={**params, "processed_dir": str(processed), "reports_dir": str(alone.reports)})
    # what 04 reads: indicators, ranking, and per program the effects on income and on the below-line probability
    # and the quantile effects (03's sensitivity and power results are 03's alone)
    run_results = sorted(f for f in (paths.reports / Q / "results").glob("*.parquet")
                         if artifacts.recorded(f)["name"] not in ("sensitivity", "power"))
    assert len(run_results) == 2 + 3 * 3
    for file in run_results:
        made = artifacts.recorded(file)
        assert made["name"] in ("indicators", "ranking", "effects", "distribution"), file.name
        own = artifacts.path(made["name"], Q, alone, **made["parameters"])
        assert own.exists(), own
        assert artifacts.recorded(own)["parameters"] == made["parameters"]
        assert artifacts.recorded(own)["key"] == made["key"], file.name
        pd.testing.assert_frame_equal(pd.read_parquet(own), pd.read_parquet(file))
    in_run, on_its_own = _page_text(paths.reports / Q / "notebooks" / "04_report.ipynb"), _page_text(out)
    assert "任一帮扶" in in_run and NUMBER.findall(in_run)
    assert NUMBER.findall(on_its_own) == NUMBER.findall(in_run)
    assert on_its_own == in_run


@pytest.mark.timeout(600)
def test_every_shareable_page_renders_offline_in_headless_chromium(full_run, tmp_path):
    """Open every shareable page with the network off, as a colleague would: it renders, every figure loads,
    the console is clean, the title is the report's, the simulated-data banner comes first, nothing local
    shows; a full-page screenshot of each is kept in .cache/test-output/ for people to look at."""
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        pytest.skip("chromium and chromium-driver are not installed (scripts/setup_browser.sh installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,2400",
                 "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
                 "--host-resolver-rules=MAP * ~NOTFOUND"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)
    out = Path(__file__).parent.parent / ".cache" / "test-output"
    out.mkdir(parents=True, exist_ok=True)
    pages = sorted((full_run["paths"].reports / Q / "share").glob("*.html"))
    assert [p.stem for p in pages] == ["01_intake", "02_indicators", "03_effects_any", "03_effects_employment",
                                       "03_effects_industry", "04_report"]
    local = [str(full_run["root"]), str(full_run["paths"].processed), str(full_run["paths"].private), "/tmp/", "/work/"]
    try:
        for page in pages:
            driver.get(page.as_uri())
            images = driver.execute_script(
                "return Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.naturalHeight]);")
            assert images and all(c and w > 100 and h > 100 for c, w, h in images), (page.name, images)
            assert driver.title.startswith(Q) and "Notebook" not in driver.title, (page.name, driver.title)
            body = driver.find_element("tag name", "body").text
            assert "本页数据为模拟样本" in body[:800], page.name        # the banner, before any number
            assert not any(x in body for x in local), page.name
            assert "NaN" not in body and "Traceback" not in body, page.name
            if page.stem == "04_report":
                assert "重点指标与政策标准" in body and "综合评比" in body
            errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
            assert not errors, (page.name, errors)
            height = driver.execute_script("return document.body.scrollHeight")
            driver.set_window_size(1200, min(max(height, 800), 16000))
            shot = out / f"{page.stem}.png"
            driver.save_screenshot(str(shot))                     # kept for people to look at
            assert shot.stat().st_size > 20_000
            driver.set_window_size(1200, 2400)
    finally:
        driver.quit()


def test_a_worker_lost_in_a_notebook_stops_with_its_message_and_exit_code_2(sample, tmp_path, monkeypatch):
    """A notebook's kernel whose Dask worker died again and again (out of memory) failed the run with exit code 3 and
    'failed in cell n (WorkersLost: ...)'; it is the cluster's memory to change, not the run: the same one message
    as elsewhere (exit code 2, a Stop), naming the notebook. Other cell errors stay a RunError."""
    import papermill as pm

    from helpers.domain.errors import Stop
    from helpers.engine import WorkersLost

    lost = "estimation on household partitions: 一个 Dask 任务多次使其工作进程退出 / a Dask task ... (--memory-limit)"

    def fails(ename, evalue):
        def execute(source, out, **k):          # the partial notebook is written, then the cell's error raised
            shutil.copyfile(source, out)
            raise pm.PapermillExecutionError(3, 3, "x = 1", ename, evalue, [])
        return execute

    src = sample["paths"]
    paths = Paths.make(raw=src.raw, processed=src.processed, private=src.private, reports=tmp_path / "reports",
                       corrections=src.corrections)
    monkeypatch.setattr(pm, "execute_notebook", fails("WorkersLost", lost))
    with pytest.raises(WorkersLost) as got:
        run(Q, paths, progress=lambda m: None)
    assert isinstance(got.value, Stop) and str(got.value).startswith(f"01_intake: {lost} ")
    assert str(tmp_path / "reports" / Q / "failed") in str(got.value)       # where the partial notebook is
    # what Dask raises where no step turned it into the message (a future cancelled with a lost worker's data): on
    # the Dask engine the message; on the local engine, which has no workers, the cell's error as it was
    from helpers.engine import EngineSpec
    monkeypatch.setattr(pm, "execute_notebook", fails("FutureCancelledError", "_imp_tau_sums-1f2e cancelled"))
    with pytest.raises(WorkersLost, match=r"^01_intake: .*for lack of memory.*--memory-limit") as got:
        run(Q, paths, progress=lambda m: None, engine=EngineSpec("dask", workers=1, memory_limit="2GB"))
    assert "_imp_tau_sums" not in str(got.value)
    with pytest.raises(RunError, match=r"01_intake failed in cell 3 \(FutureCancelledError: _imp_tau_sums"):
        run(Q, paths, progress=lambda m: None, engine=EngineSpec("local"))
    monkeypatch.setattr(pm, "execute_notebook", fails("ValueError", "something else"))
    with pytest.raises(RunError, match=r"01_intake failed in cell 3 \(ValueError: something else\)"):
        run(Q, paths, progress=lambda m: None)
