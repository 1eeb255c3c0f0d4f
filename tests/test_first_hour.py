"""The first hour of a new user: notebooks opened by hand evaluate the newest quarter and say where they write."""
from __future__ import annotations

import json

import nbformat
import pytest

from helpers.config import INTERACTIVE_REPORTS, NOTEBOOKS, Paths
from helpers.present.notice import hand_run_note


def test_an_empty_quarter_means_the_latest_quarter_folder_in_raw(tmp_path):
    raw = tmp_path / "raw"
    for q in ("2023Q2", "2023Q3", "2022Q4", "notes", "2023Q5"):
        (raw / q).mkdir(parents=True)
    paths = Paths.make(raw=raw, processed=tmp_path / "processed")
    assert paths.quarter_or_latest("") == "2023Q3"
    assert paths.quarter_or_latest("2022Q4") == "2022Q4"           # an explicit quarter is kept


def test_without_raw_folders_the_processed_tables_say_the_latest_quarter_else_a_clear_error(tmp_path):
    processed = tmp_path / "processed"
    processed.mkdir()
    paths = Paths.make(raw=tmp_path / "none", processed=processed)
    with pytest.raises(FileNotFoundError, match="set the quarter parameter"):
        paths.quarter_or_latest("")
    (processed / "manifest.json").write_text(json.dumps({"quarters": ["2022Q1", "2022Q2"]}), encoding="utf-8")
    assert paths.quarter_or_latest("") == "2022Q2"


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.name)
def test_no_notebook_hard_codes_a_quarter_and_each_resolves_the_latest(path):
    nb = nbformat.read(path, as_version=4)
    params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    line = next(l for l in params.source.splitlines() if l.startswith("quarter"))
    assert line.startswith('quarter: str = ""'), line
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "quarter = paths.quarter_or_latest(quarter)" in code and "notice.hand_run(paths.interactive" in code


def test_a_hand_run_says_where_it_writes_and_a_published_run_says_nothing():
    assert Paths.for_notebook().interactive and Paths.for_notebook().reports == INTERACTIVE_REPORTS
    assert not Paths.for_notebook(reports_dir="/tmp/r").interactive
    zh = hand_run_note(True, "2023Q3", "zh")
    assert "2023Q3" in zh and "reports/interactive/2023Q3/" in zh and "不会替换" in zh
    assert "reports/interactive/2023Q3/" in hand_run_note(True, "2023Q3", "en")
    assert hand_run_note(False, "2023Q3", "zh") == ""
