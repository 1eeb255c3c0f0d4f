"""Intake on the Dask engine (issue 15): one task per county's files, the quarter's tables written by the workers as
partitions by quarter and county, and the same results as the local engine.

The reference is the session's simulated sample (``sample``: 600 households, 2021Q1..2022Q2, taken in by the local
engine); the Dask engine is the session's LocalCluster of 2 worker processes (``dask_engine``). Every output goes to
a temporary folder.
"""
from __future__ import annotations

import shutil

import pandas as pd
import pytest

from helpers.config import Paths
from helpers.domain.errors import Stop
from helpers.engine import Engine, use
from helpers.intake.assemble import KEYS, TABLES, run_intake
from helpers.intake.partitioned import PARTITIONED, partition_dir
from helpers.store.storage import assert_key, partition_files, read_json, read_table

ALL = (*TABLES, "households")


def _paths(root, raw, corrections) -> Paths:
    return Paths.make(raw=raw, processed=root / "processed", private=root / "private", corrections=corrections)


@pytest.fixture(scope="module")
def on_dask(sample, dask_engine, tmp_path_factory):
    """The sample taken in by the Dask engine into a folder of its own."""
    root = tmp_path_factory.mktemp("intake_dask")
    paths = _paths(root, sample["paths"].raw, sample["paths"].corrections)
    with use(dask_engine):
        summary = run_intake(None, paths)
    return {"paths": paths, "summary": summary}


def test_the_dask_engine_gives_the_local_engines_tables_quarantine_log_and_private_lists(sample, on_dask):
    local, dask = sample["paths"], on_dask["paths"]
    assert on_dask["summary"].processed == sample["summary"].quarters          # every quarter read, none cached
    for name in ALL:
        pd.testing.assert_frame_equal(pd.read_parquet(dask.processed / f"{name}.parquet"),
                                      pd.read_parquet(local.processed / f"{name}.parquet"), obj=name)
    for q in sample["summary"].quarters:
        for name in ("quarantine.parquet", "household_codes.parquet"):
            pd.testing.assert_frame_equal(pd.read_parquet(dask.private / q / name),
                                          pd.read_parquet(local.private / q / name), obj=f"{q}/{name}")
        assert (dask.private / q / "quarantine.csv").read_bytes() == (local.private / q / "quarantine.csv").read_bytes()
        assert not (dask.private / q / ".parts").exists()
    assert on_dask["summary"].warnings == sample["summary"].warnings
    pd.testing.assert_frame_equal(on_dask["summary"].log, sample["summary"].log)
    assert read_json(dask.processed / "manifest.json") == read_json(local.processed / "manifest.json")


def test_each_partition_was_written_by_its_county_task_and_reads_back_as_the_table(on_dask):
    paths, quarters = on_dask["paths"], on_dask["summary"].quarters
    for name in PARTITIONED:
        files = partition_files(paths.processed / name)
        assert len(files) == 5 * len(quarters)                                   # one per quarter and county
        assert {f.parent.parent.name for f in files} == {f"quarter={q}" for q in quarters}
        pd.testing.assert_frame_equal(read_table(paths.processed / name),
                                      pd.read_parquet(paths.processed / f"{name}.parquet"), obj=name)
    pd.testing.assert_frame_equal(read_table(paths.processed / "intake_log"),
                                  pd.read_parquet(paths.processed / "intake_log.parquet"))
    hq = read_table(paths.processed / "household_quarters", columns=["household_id", "quarter"])
    assert list(hq.columns) == ["household_id", "quarter"]


def test_rows_in_equal_clean_plus_quarantined_per_partition_and_in_total_and_keys_are_unique(on_dask):
    paths = on_dask["paths"]
    log = pd.read_parquet(paths.processed / "intake_log.parquet")
    total_in = total_out = 0
    for q in on_dask["summary"].quarters:
        for county, rows_in in log[log["quarter"] == q].groupby("county")["rows_in"].sum().items():
            parts = {t: pd.read_parquet(partition_dir(paths.processed, t, q, county) / "part-0.parquet")
                     for t in PARTITIONED}
            out = sum(len(f) for f in parts.values())
            assert out == rows_in, (q, county)                                  # per partition
            for t, frame in parts.items():
                assert_key(frame, KEYS[t], f"{q}/{t}/{county}")
                assert frame.empty or set(frame["quarter"]) == {q}
            total_in, total_out = total_in + rows_in, total_out + out
    assert total_in == total_out == int(log["rows_in"].sum())                  # in total
    assert int(log["rows_in"].sum()) == int(log["rows_clean"].sum() + log["rows_quarantined"].sum())
    for t in PARTITIONED:                                                       # keys unique across partitions
        assert_key(read_table(paths.processed / t), KEYS[t], t)


def test_a_second_run_reads_the_cache_on_either_engine(sample, on_dask, dask_engine, tmp_path):
    """Unchanged inputs: the Dask engine's cache serves the local engine and the local engine's the Dask engine;
    the tables stay the same."""
    paths = on_dask["paths"]
    quarters = on_dask["summary"].quarters
    with use(dask_engine):
        again = run_intake(None, paths)
    assert again.cached == quarters and again.processed == []
    local_again = run_intake(None, paths, engine=Engine())
    assert local_again.cached == quarters and local_again.processed == []
    for name in ALL:
        pd.testing.assert_frame_equal(pd.read_parquet(paths.processed / f"{name}.parquet"),
                                      pd.read_parquet(sample["paths"].processed / f"{name}.parquet"), obj=name)
    copy = tmp_path / "copy"                        # the local engine's cache, read by the Dask engine
    shutil.copytree(sample["paths"].processed, copy / "processed")
    shutil.copytree(sample["paths"].private, copy / "private")
    with use(dask_engine):
        cached = run_intake(None, _paths(copy, sample["paths"].raw, sample["paths"].corrections))
    assert cached.cached == quarters and cached.processed == []


def test_a_changed_quarter_is_read_again_on_the_dask_engine_and_its_old_partitions_go(sample, dask_engine, tmp_path):
    raw = tmp_path / "raw"
    first, last = sample["summary"].quarters[:2]
    for q in (first, last):
        shutil.copytree(sample["paths"].raw / q, raw / q)
    paths = _paths(tmp_path, raw, sample["paths"].corrections)
    run_intake(None, paths, engine=Engine())                         # made locally ...
    hq = raw / last / next(p.name for p in (raw / last).iterdir() if p.name.endswith("农户监测.csv"))
    hq.write_bytes(hq.read_bytes().rstrip(b"\n").rsplit(b"\n", 1)[0] + b"\n")      # ... one household fewer
    with use(dask_engine):
        summary = run_intake(None, paths)
    assert summary.cached == [first] and summary.processed == [last]
    assert not (paths.processed / "_cache" / last / "household_quarters.parquet").exists()
    log = pd.read_parquet(paths.processed / "intake_log.parquet")
    hq_rows = len(pd.read_parquet(paths.processed / "household_quarters.parquet"))
    assert hq_rows == int(log.loc[log["sheet"] == "农户监测", "rows_clean"].sum())
    local = run_intake(None, paths, engine=Engine())                 # the local engine reads the Dask engine's cache
    assert local.cached == [first, last]


def test_a_bad_file_on_the_dask_engine_stops_with_the_local_message_naming_file_and_line(sample, dask_engine, tmp_path):
    q = sample["summary"].quarters[0]
    raw = tmp_path / "raw"
    shutil.copytree(sample["paths"].raw / q, raw / q)
    bad = next(p for p in (raw / q).iterdir() if p.name.endswith("农户监测.csv"))
    lines = bad.read_bytes().split(b"\n")
    bad.write_bytes(b"\n".join(lines[:5] + [b"\xff\xff,\xff"] + lines[5:]))
    messages = {}
    for name, engine in (("local", Engine()), ("dask", dask_engine)):
        paths = _paths(tmp_path / name, raw, sample["paths"].corrections)
        with pytest.raises(Stop) as info:
            run_intake(None, paths, engine=engine)
        messages[name] = str(info.value)
        assert not (paths.processed / "_cache" / q / "cache.json").exists()
        assert not (paths.processed / "household_quarters.parquet").exists()
    assert messages["dask"] == messages["local"]
    message = messages["dask"]
    assert bad.name in message and "第 6 行" in message and "line 6" in message
    assert "Traceback" not in message and "\n" not in message
    text = bad.read_bytes().decode("utf-8", errors="ignore")
    codes = {cell for line in text.splitlines()[1:] for cell in line.split(",") if len(cell) == 18 and cell[:17].isdigit()}
    assert codes and not any(c in message for c in codes)                      # no 户编码 or ID number
    assert dask_engine.client.run(lambda: __import__("helpers.intake.partitioned", fromlist=["_STATE"])._STATE) \
        == {w: {} for w in dask_engine.client.scheduler_info(n_workers=-1)["workers"]}   # nothing left on the workers


@pytest.mark.slow
def test_the_command_with_the_dask_engine_exits_2_without_a_traceback(sample, tmp_path):
    import subprocess
    import sys

    q = sample["summary"].quarters[0]
    raw = tmp_path / "raw"
    shutil.copytree(sample["paths"].raw / q, raw / q)
    bad = next(p for p in (raw / q).iterdir() if p.name.endswith("农户监测.csv"))
    lines = bad.read_bytes().split(b"\n")
    bad.write_bytes(b"\n".join(lines[:5] + [b"\xff\xff,\xff"] + lines[5:]))
    proc = subprocess.run([sys.executable, "-m", "helpers.pipeline.cli", "intake", "--engine", "dask", "--workers", "2",
                           "--raw", str(raw), "--processed", str(tmp_path / "p"), "--private", str(tmp_path / "v"),
                           "--corrections", str(tmp_path / "corrections.csv")],
                          capture_output=True, text=True, encoding="utf-8", timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    assert bad.name in proc.stderr and "第 6 行" in proc.stderr


def test_load_table_reads_the_partitions_where_the_file_is_not(on_dask, tmp_path):
    from helpers.intake.assemble import load_table

    paths = on_dask["paths"]
    only = Paths.make(raw=paths.raw, processed=tmp_path / "processed", private=tmp_path / "private")
    shutil.copytree(paths.processed / "household_quarters", only.processed / "household_quarters")
    pd.testing.assert_frame_equal(load_table("household_quarters", only), load_table("household_quarters", paths))
    pd.testing.assert_frame_equal(load_table("household_quarters", only, columns=["household_id", "income_total"]),
                                  pd.read_parquet(paths.processed / "household_quarters.parquet",
                                                  columns=["household_id", "income_total"]))


def test_a_household_in_two_counties_files_is_a_conflict_on_the_dask_engine_too(dask_engine, tmp_path):
    """Duplicates across county files (different tasks) are found from the key columns, as the local engine finds
    them: identical repeats keep the first, conflicting ones keep none."""
    from builders import household, paths_for, write_workbook

    q = "2023Q2"
    write_workbook(tmp_path / "raw" / q / f"{q}_通江县.xlsx", [household(1), household(2), household(3)])
    other = household(1, **{"县(区)": "平昌县", "乡镇(街道)": "澌岸镇", "行政村": "梭滩村"})
    write_workbook(tmp_path / "raw" / q / f"{q}_平昌县.xlsx", [other, household(2)], county="平昌县")
    frames = {}
    for name, engine in (("local", Engine()), ("dask", dask_engine)):
        paths = paths_for(tmp_path / name)
        paths = Paths.make(raw=tmp_path / "raw", processed=paths.processed, private=paths.private,
                           corrections=paths.corrections)
        run_intake(q, paths, engine=engine)
        frames[name] = {t: pd.read_parquet(paths.processed / f"{t}.parquet") for t in ALL}
    for t in ALL:
        pd.testing.assert_frame_equal(frames["dask"][t], frames["local"][t], obj=t)
    qr = frames["dask"]["quarantine"]
    assert sorted(qr.loc[qr["sheet"] == "农户监测", "reason"]) == ["conflicting_duplicate"] * 2 + ["duplicate"]
    assert len(frames["dask"]["household_quarters"]) == 2
