"""The estimation panel is built once per file, quarter and options, and again when any of them changes."""
from __future__ import annotations

import os
import shutil

from helpers.analysis import construct
from helpers.config import Paths


def test_the_panel_is_reused_for_the_same_file_and_rebuilt_when_it_changes(sample, tmp_path):
    processed = tmp_path / "processed"
    shutil.copytree(sample["paths"].processed, processed, ignore=shutil.ignore_patterns("_cache", "_indicators"))
    paths = Paths.make(processed=processed)
    a = construct.build_panel(paths, "2022Q2")
    assert construct.build_panel(paths, "2022Q2") is a
    assert construct.build_panel(paths, "2022Q2", balanced=False) is not a
    b = construct.build_panel(paths, "2022Q2")
    assert b is not a and b.data.equals(a.data)                  # another option was asked in between
    file = processed / "household_quarters.parquet"
    st = file.stat()
    os.utime(file, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert construct.build_panel(paths, "2022Q2") is not b       # the file changed: built again
    fresh = construct.make_panel(paths, "2022Q2")
    assert fresh.data.equals(b.data) and fresh.households.equals(b.households)
