"""The simulator on the engine (issue 15): each quarter's county submissions are drawn and written in one task, so on
Dask the quarters are written side by side on worker processes; the files are the same bytes on either engine, and
the bundled sample in data/raw (and its truth in truth/) is still exactly what its recorded command writes."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

from helpers.config import DATA_RAW, SIMULATED_MARKER, TRUTH, VILLAGE_REGISTER
from helpers.engine import Engine
from helpers.pipeline import cli
from helpers.sim.simulate import DEFAULT_RATES, _QuarterJob, _quarter_truth, simulate, simulate_truth, write_quarter, write_submissions


def _hashes(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _cells(path: Path) -> dict[str, list]:
    """Every cell of every sheet of a workbook, as intake's reader sees it."""
    return {k: v.astype(str).values.tolist()
            for k, v in pd.read_excel(path, sheet_name=None, header=None, dtype=object, engine="calamine").items()}


@pytest.fixture(scope="module")
def small_truth():
    """A few hundred households over 2021Q1..2022Q4: every county's format, 平昌县's CSV quarters (2022Q3, 2022Q4),
    南江县's forgotten sheet in a Q1."""
    return simulate_truth(300, 11, "2021Q1", "2022Q4", near_line_share=0.1)


def test_local_and_dask_engines_write_the_same_files(small_truth, dask_engine, tmp_path):
    runs = {}
    for name, engine in (("local", Engine()), ("dask", dask_engine)):
        out = tmp_path / name
        messy = write_submissions(small_truth, out / "messy", engine=engine)
        clean = write_submissions(small_truth, out / "clean", mess=False, engine=engine)
        xlsx = write_submissions(small_truth, out / "xlsx", force_xlsx=True, quarters=["2022Q3"], engine=engine)
        runs[name] = (out, _hashes(out), messy, clean, xlsx)
    (lo, lh, *ldamage), (do, dh, *ddamage) = runs["local"], runs["dask"]
    assert len(lh) > 100 and lh == dh                                          # byte for byte, every file
    for a, b in zip(ldamage, ddamage):
        pd.testing.assert_frame_equal(a, b)                                      # the same log of damaged rows
    assert len(ldamage[0]) > 0 and len(ldamage[1]) == 0
    # and so cell for cell (a check that does not depend on how the bytes came about)
    book = "messy/2022Q2/2022Q2_通江县.xlsx"
    assert _cells(lo / book) == _cells(do / book)
    assert any(f.endswith(".csv") for f in lh) and any(f.endswith(".xlsx") for f in lh)


def test_a_quarter_is_drawn_and_written_on_a_worker_from_its_slice_of_the_truth(small_truth, dask_engine, tmp_path):
    """The task a quarter is: sent only its quarter of the panel, it writes the same files and damaged rows on a
    worker process as the whole truth does here."""
    import os

    reg = pd.read_csv(VILLAGE_REGISTER, dtype=str, keep_default_na=False, encoding="utf-8")
    args = dict(mess=True, base=small_truth.seed, rates=DEFAULT_RATES, reg=reg, force_xlsx=False)
    here = write_quarter(_QuarterJob(small_truth, "2022Q3", tmp_path / "here", **args))
    (there, pid), = dask_engine.map(_write_quarter_and_pid,
                                    [_QuarterJob(_quarter_truth(small_truth, "2022Q3"), "2022Q3", tmp_path / "there",
                                                 **args)])
    assert pid != os.getpid() and there == here and len(here) > 0
    assert _hashes(tmp_path / "here") == _hashes(tmp_path / "there") and len(_hashes(tmp_path / "here")) == 11


def _write_quarter_and_pid(job):
    import os
    return write_quarter(job), os.getpid()


def test_the_bundled_sample_is_what_its_recorded_command_writes(tmp_path):
    """data/raw and truth/ were written by this simulator: the options in data/raw/SIMULATED.json write the same
    bytes today (draws unchanged by the per-file tasks and the speed-ups; the dask engine writes the same bytes as
    the local one, test above)."""
    opts = json.loads((DATA_RAW / SIMULATED_MARKER).read_text(encoding="utf-8"))
    engine = Engine()
    simulate(tmp_path / "raw", tmp_path / "truth", opts["households"], opts["seed"], opts["first"], opts["last"],
             mess=opts.get("mess", True), near_line_share=opts.get("near_line_share", 0.0), engine=engine)
    assert _hashes(tmp_path / "raw") == _hashes(DATA_RAW)
    assert _hashes(tmp_path / "truth") == _hashes(TRUTH)


def test_the_command_takes_the_engine(dask_engine, tmp_path, capsys):
    """workbook simulate --engine dask --scheduler ADDRESS writes the same sample as --engine local."""
    small = ["--households", "120", "--first", "2022Q1", "--last", "2022Q3", "--seed", "5"]
    assert cli.main(["simulate", "--out", str(tmp_path / "local"), "--engine", "local", *small]) == 0
    address = dask_engine.client.scheduler.address
    assert cli.main(["simulate", "--out", str(tmp_path / "dask"), "--engine", "dask", "--scheduler", address,
                     *small]) == 0
    assert f"connected to {address}" in capsys.readouterr().out
    assert _hashes(tmp_path / "local") == _hashes(tmp_path / "dask")
