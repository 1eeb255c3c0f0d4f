"""The artifacts registry (helpers.pipeline.artifacts): every result declared once, built only when missing or
stale (one cache key: inputs, code, config slice, parameters), with every effective parameter recorded."""
from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from helpers.config import NOTEBOOKS, Paths
from helpers.pipeline import artifacts
from helpers.pipeline.artifacts import ArtifactError

SRC = Path(__file__).resolve().parents[1] / "src" / "helpers"
Q = "2022Q2"


def test_every_result_is_declared_with_its_place_and_parameters(tmp_path):
    assert {"household_quarters", "households", "villages", "projects", "rectifications", "quarantine", "intake_log",
            "indicators", "ranking", "effects"} <= set(artifacts.REGISTRY)
    paths = Paths.make(processed=tmp_path / "processed", reports=tmp_path / "reports")
    res = (tmp_path / "reports" / Q / "results").resolve()
    assert artifacts.path("effects", Q, paths, program="industry") == res / "effects_industry.parquet"
    assert artifacts.path("effects", Q, paths, program="any", outcome="log_income_pc") == \
        res / "effects_any_log_income_pc.parquet"
    assert artifacts.path("indicators", Q, paths) == res / "indicators.parquet"
    assert artifacts.path("household_quarters", Q, paths) == (tmp_path / "processed").resolve() / "household_quarters.parquet"
    assert artifacts.parameters("effects", {"bootstrap_reps": "199", "balanced": "false"})["bootstrap_reps"] == 199
    assert artifacts.parameters("effects", {"balanced": "false"})["balanced"] is False
    with pytest.raises(ArtifactError, match="unknown parameter"):
        artifacts.get("effects", quarter=Q, paths=paths, colour="red")
    with pytest.raises(ArtifactError, match="unknown artifact"):
        artifacts.path("effect", Q, paths)


def test_result_file_names_are_spelled_only_in_the_registry():
    spelled = re.compile(r"(indicators|ranking|effects_[A-Za-z{}_\[\]\"']*)\.parquet")
    texts = {p.name: "\n".join(c.source for c in nbformat.read(p, as_version=4).cells)
             for p in sorted(NOTEBOOKS.glob("0*.ipynb"))}
    texts.update({p.name: p.read_text(encoding="utf-8") for p in (SRC / "present" / "report.py", SRC / "pipeline" / "run.py")})
    for name, text in texts.items():
        assert not spelled.search(text), name
        assert "ensure_results" not in text, name


def test_the_producing_code_is_every_module_it_imports():
    mods = artifacts.code_modules("helpers.analysis.program_effects")
    assert {"helpers.analysis.construct", "helpers.analysis.effects.callaway_santanna", "helpers.config",
            "helpers.domain.dictionary"} <= set(mods)
    assert not any(m.startswith(("helpers.present", "helpers.pipeline", "helpers.intake")) for m in mods)


@pytest.mark.slow      # every result of a quarter built end to end
@pytest.mark.timeout(600)
def test_get_builds_what_is_missing_once_and_rebuilds_only_what_is_stale(sample, tmp_path, monkeypatch):
    src = sample["paths"]
    paths = Paths.make(raw=src.raw, processed=tmp_path / "processed", private=tmp_path / "private",
                       reports=tmp_path / "reports", corrections=src.corrections)
    rank = artifacts.get("ranking", quarter=Q, paths=paths)            # no processed tables: intake runs first
    assert (paths.processed / "household_quarters.parquet").exists() and len(rank) == 5
    file = artifacts.path("indicators", Q, paths)
    rec = artifacts.recorded(file)
    assert rec["parameters"] == {"counties": "", "indicators_config": "", "trend_quarters": 6}    # defaults too
    assert artifacts.recorded(artifacts.path("ranking", Q, paths))["parameters"]["composite_config"] == ""
    assert artifacts.current("indicators", Q, paths) and artifacts.current("ranking", Q, paths)

    calls = []
    for name in ("indicators", "ranking"):
        art = artifacts.REGISTRY[name]
        counted = (lambda produce, n: lambda *a, **k: calls.append(n) or produce(*a, **k))(art.produce, name)
        monkeypatch.setitem(artifacts.REGISTRY, name, dataclasses.replace(art, produce=counted))
    pd.testing.assert_frame_equal(artifacts.get("ranking", quarter=Q, paths=paths), rank)
    assert calls == []                                              # current: read, nothing recomputed
    short = artifacts.get("indicators", quarter=Q, paths=paths, trend_quarters=2)
    assert calls == ["indicators"] and set(short["quarter"]) == {"2022Q1", Q}
    # made with another parameter, they live beside the default ones and never replace them
    variant = artifacts.path("indicators", Q, paths, trend_quarters=2)
    assert variant != file and artifacts.recorded(variant)["parameters"]["trend_quarters"] == 2
    assert artifacts.recorded(file)["parameters"]["trend_quarters"] == 6 and artifacts.current("indicators", Q, paths)
    artifacts.get("ranking", quarter=Q, paths=paths)
    assert calls == ["indicators"]                                  # the default indicators were left as they were
    file.unlink()
    artifacts.get("ranking", quarter=Q, paths=paths)
    # the indicators are made again with the ranking's parameters, under the key the ranking was made from
    assert calls == ["indicators", "indicators"]
    real = artifacts.code_hash
    monkeypatch.setattr(artifacts, "code_hash", lambda m: real(m) + ("x" if m == "helpers.analysis.composite" else ""))
    artifacts.get("ranking", quarter=Q, paths=paths)                # the ranking's code changed: only it
    assert calls[2:] == ["ranking"]
    config = (SRC.parents[1] / "config" / "indicators.yaml").read_text(encoding="utf-8")
    edited = tmp_path / "indicators.yaml"
    edited.write_text(config, encoding="utf-8")
    artifacts.get("indicators", quarter=Q, paths=paths, indicators_config=str(edited))
    artifacts.get("indicators", quarter=Q, paths=paths, indicators_config=str(edited))
    assert calls[3:] == ["indicators"]                              # another parameter, then current
    edited.write_text(config + "\n# a comment\n", encoding="utf-8")
    artifacts.get("indicators", quarter=Q, paths=paths, indicators_config=str(edited))
    assert calls[4:] == []                                          # the same settings: the same key
    edited.write_text(config + "\nextra_setting: 1\n", encoding="utf-8")
    artifacts.get("indicators", quarter=Q, paths=paths, indicators_config=str(edited))
    assert calls[4:] == ["indicators"]                              # the slice of config it reads changed


@pytest.mark.timeout(600)
def test_the_effects_artifact_is_the_pages_results_and_records_every_option(sample, tmp_path):
    from helpers.analysis import program_effects as pe

    paths = Paths.make(processed=sample["paths"].processed, reports=tmp_path / "reports")
    frame = artifacts.get("effects", quarter=Q, paths=paths, program="industry", bootstrap_reps=199)
    rec = artifacts.recorded(artifacts.path("effects", Q, paths, program="industry", bootstrap_reps=199))
    assert rec["parameters"] == {"program": "industry", "outcome": "income_pc", "control": "not_yet", "covariates": "",
                                 "cluster": "village", "balanced": True, "few_cluster": "jackknife",
                                 "bootstrap_reps": 199, "earned": True}
    assert set(frame["outcome"]) == {"income_pc", "earned_pc"} and set(frame["program"]) == {"industry"}
    made = pe.page_results(Q, paths, program="industry", bootstrap_reps=199)     # the estimates get just made
    assert made["result"].frame is not None
    pd.testing.assert_frame_equal(frame, pd.concat([made["result"].frame, made["earned"].frame], ignore_index=True),
                                  check_dtype=False)
    json.dumps(rec)
    # the page checks that what it shows is the saved file: a changed estimate or a lost row is refused
    pe.page_results(Q, paths, saved=frame, program="industry", bootstrap_reps=199)
    from helpers.analysis.effects import EstimationError

    changed = frame.copy()
    changed.loc[changed.index[0], "att"] = changed["att"].iloc[0] * (1 + 1e-6) + 1e-6
    with pytest.raises(EstimationError, match="att"):
        pe.page_results(Q, paths, saved=changed, program="industry", bootstrap_reps=199)
    with pytest.raises(EstimationError, match="rows"):
        pe.page_results(Q, paths, saved=frame.iloc[1:], program="industry", bootstrap_reps=199)


def test_one_code_key_for_every_cache_follows_imports_inside_functions_transitively(tmp_path):
    """store.codehash is the code part of the artifacts', intake's and the indicators' cache keys: a change to any
    module reached by imports (inside functions too, through packages) changes it; an unrelated module does not."""
    from helpers.store import codehash

    root = tmp_path / "helpers"
    (root / "pkg").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "pkg" / "__init__.py").write_text("")
    (root / "top.py").write_text("def f():\n    from helpers.pkg import mid\n    return mid.g()\n")
    (root / "pkg" / "mid.py").write_text("from helpers.leaf import h\n\ndef g():\n    return h()\n")
    (root / "leaf.py").write_text("def h():\n    return 1\n")
    (root / "other.py").write_text("x = 1\n")
    before = codehash.code_modules("helpers.top", root)
    assert set(before) == {"helpers.top", "helpers.pkg", "helpers.pkg.mid", "helpers.leaf"}
    (root / "other.py").write_text("x = 2\n")
    assert codehash.code_modules("helpers.top", root) == before
    (root / "leaf.py").write_text("def h():\n    return 2\n")
    assert codehash.code_modules("helpers.top", root)["helpers.leaf"] != before["helpers.leaf"]
    # the real caches: intake covers what it imports beyond the list it used to keep by hand
    intake = codehash.code_modules("helpers.intake.assemble")
    assert {"helpers.domain.errors", "helpers.store.locks", "helpers.intake.readers", "helpers.config"} <= set(intake)
    assert "helpers.domain.quarters" in codehash.code_modules("helpers.analysis.indicators")


def test_intake_and_indicator_caches_use_the_one_code_key(monkeypatch):
    from helpers.analysis import indicators
    from helpers.intake import assemble

    calls = []
    monkeypatch.setattr(assemble, "code_hash", lambda m: calls.append(m) or "0" * 64)
    assert assemble.code_version() == "0" * 16 and calls == ["helpers.intake.assemble"]
    src = Path(indicators.__file__).read_text(encoding="utf-8")
    assert "code_hash(__name__)" in src and "read_bytes()" not in src


def test_results_made_with_other_parameters_have_their_own_file():
    paths = Paths.make(reports=Path("/r"))
    default = artifacts.path("effects", Q, paths, program="industry")
    assert default.name == "effects_industry.parquet"
    other = {artifacts.path("effects", Q, paths, program="industry", **p).name
             for p in ({"control": "never"}, {"cluster": "county"}, {"covariates": "household_size,labor"},
                       {"bootstrap_reps": 999}, {"control": "never", "cluster": "county"})}
    assert len(other) == 5 and default.name not in other
    assert artifacts.path("effects", Q, paths, program="industry", control="not_yet") == default   # a default, spelled
    assert artifacts.path("ranking", Q, paths, composite_config="/x/c.yaml").name.startswith("ranking__")
