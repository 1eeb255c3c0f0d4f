"""Corrections, pseudonyms and personal data, the cache, atomic writes, data/raw untouched."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pandas as pd
import pytest

from builders import household, paths_for, write_workbook
from helpers.intake.assemble import run_intake
from helpers.intake.pseudonym import PseudonymKey
from helpers.intake.readers import IntakeStop
from helpers.store.storage import table_metadata

Q = "2023Q2"
KEY = PseudonymKey(b"bureau-key-aaaaaaaaaaaaaaaa", "test")


def _corrections(path: Path, *rows):
    header = "quarter,source_file,sheet,row,column,old,new,reason,who\n"
    path.write_text(header + "".join(",".join(map(str, r)) + "\n" for r in rows), encoding="utf-8")


def test_a_correction_moves_a_row_out_of_quarantine(tmp_path):
    write_workbook(tmp_path / "raw" / Q / f"{Q}_通江县.xlsx", [household(1), household(2, **{"家庭纯收入": 5600.0})])
    paths = paths_for(tmp_path)
    run_intake(Q, paths, KEY)
    assert len(pd.read_parquet(paths.processed / "quarantine.parquet")) == 1
    _corrections(paths.corrections, (Q, f"{Q}_通江县.xlsx", "农户监测", 3, "家庭纯收入", 5600, 4600, "核实", "张三"))
    summary = run_intake(Q, paths, KEY)
    assert summary.processed == [Q]                      # corrections are part of the cache key
    assert pd.read_parquet(paths.processed / "quarantine.parquet").empty
    hq = pd.read_parquet(paths.processed / "household_quarters.parquet")
    assert len(hq) == 2 and set(hq["income_total"]) == {4600.0}
    log = pd.read_parquet(paths.processed / "intake_log.parquet")
    assert log["corrections"].sum() == 1


@pytest.mark.parametrize("row,column,old,needle", [
    (3, "家庭纯收入", 9999, "与原始数据“5600”不符"),
    (3, "不存在的列", 5600, "指向表中没有的列"),
    (40, "家庭纯收入", 5600, "不是数据行"),
])
def test_a_correction_that_does_not_match_stops_and_applies_nothing(tmp_path, row, column, old, needle):
    write_workbook(tmp_path / "raw" / Q / f"{Q}_通江县.xlsx", [household(1), household(2, **{"家庭纯收入": 5600.0})])
    paths = paths_for(tmp_path)
    _corrections(paths.corrections, (Q, f"{Q}_通江县.xlsx", "农户监测", row, column, old, 4600, "核实", "张三"))
    with pytest.raises(IntakeStop, match=needle):
        run_intake(Q, paths, KEY)
    assert not (paths.processed / "household_quarters.parquet").exists()


def test_a_correction_naming_a_file_that_is_not_there_stops(tmp_path):
    write_workbook(tmp_path / "raw" / Q / f"{Q}_通江县.xlsx", [household(1)])
    paths = paths_for(tmp_path)
    _corrections(paths.corrections, (Q, f"{Q}_平昌县.xlsx", "农户监测", 2, "家庭纯收入", 1, 2, "x", "y"))
    with pytest.raises(IntakeStop, match="corrections"):
        run_intake(Q, paths, KEY)


def test_pseudonyms_are_keyed_stable_and_never_mixed(tmp_path):
    write_workbook(tmp_path / "raw" / Q / f"{Q}_通江县.xlsx", [household(1), household(2)])
    a, b = paths_for(tmp_path / "a"), paths_for(tmp_path / "b")
    a = type(a)(raw=tmp_path / "raw", processed=a.processed, private=a.private, reports=a.reports,
                corrections=a.corrections, register=a.register)
    b = type(b)(raw=tmp_path / "raw", processed=b.processed, private=b.private, reports=b.reports,
                corrections=b.corrections, register=b.register)
    run_intake(Q, a, KEY)
    run_intake(Q, b, KEY)
    ida = pd.read_parquet(a.processed / "households.parquet")["household_id"]
    idb = pd.read_parquet(b.processed / "households.parquet")["household_id"]
    assert sorted(ida) == sorted(idb)                    # same key, same pseudonyms on every clone
    assert not ida.str.contains("511921").any()
    assert table_metadata(a.processed / "household_quarters.parquet")["key_fingerprint"] == KEY.fingerprint
    other = PseudonymKey(b"another-bureau-key-bbbbbbbbbbb", "test")
    with pytest.raises(IntakeStop, match="拒绝混用"):
        run_intake(Q, a, other)
    # the private list maps pseudonyms back to codes, for evaluators only
    codes = pd.read_parquet(a.private / Q / "household_codes.parquet")
    assert set(codes["户编码"]) == {"511921000000000001", "511921000000000002"}


def _all_output_text(*folders: Path) -> str:
    chunks = []
    for folder in folders:
        for path in Path(folder).rglob("*"):
            if path.is_file():
                if path.suffix == ".parquet":
                    chunks.append(pd.read_parquet(path).astype(str).to_csv())
                    chunks.append(str(table_metadata(path)))
                else:
                    chunks.append(path.read_bytes().decode("utf-8", errors="replace"))
    return "\n".join(chunks)


def test_no_planted_personal_data_leaves_intake(sample):
    """Scan every processed table and cache file for the simulator's names, IDs, phones and codes."""
    hh = sample["truth"].households
    text = _all_output_text(sample["paths"].processed)
    assert len(text) > 100_000
    for column in ("head_name", "head_id_number", "phone", "household_code"):
        planted = hh[column].astype(str)
        if column == "head_name":
            planted = planted[planted.str.len() >= 3]        # two-character names also occur as ordinary words
        leaked = [v for v in planted if v in text]
        assert not leaked, f"{column} leaked: {leaked[:5]}"
    # The private folder holds codes (re-identified lists), as the spec says.
    private = _all_output_text(sample["paths"].private)
    assert any(code in private for code in hh["household_code"])


def test_free_text_is_scrubbed_of_id_and_phone_numbers(tmp_path):
    write_workbook(tmp_path / "raw" / Q / f"{Q}_通江县.xlsx", [household(1)])
    paths = paths_for(tmp_path)
    run_intake(Q, paths, KEY)
    text = pd.read_parquet(paths.processed / "rectifications.parquet")["description"].item()
    assert "13912345678" not in text and "511921198001011234" not in text
    assert "[电话已删除]" in text and "[身份证号已删除]" in text


def _tree_hash(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()


def test_rerun_of_an_unchanged_quarter_does_no_work_and_a_change_is_picked_up(tmp_path):
    for q in ("2023Q1", Q):
        write_workbook(tmp_path / "raw" / q / f"{q}_通江县.xlsx", [household(1), household(2)])
    paths = paths_for(tmp_path)
    before = _tree_hash(paths.raw)
    first = run_intake(Q, paths, KEY)
    assert first.processed == ["2023Q1", Q] and first.cached == []
    tables_before = pd.read_parquet(paths.processed / "household_quarters.parquet")
    again = run_intake(Q, paths, KEY)
    assert again.processed == [] and again.cached == ["2023Q1", Q]
    pd.testing.assert_frame_equal(tables_before, pd.read_parquet(paths.processed / "household_quarters.parquet"))
    # a county re-sends 2023Q2 with one more household
    write_workbook(tmp_path / "raw" / Q / f"{Q}_通江县.xlsx", [household(1), household(2), household(3)])
    changed = run_intake(Q, paths, KEY)
    assert changed.processed == [Q] and changed.cached == ["2023Q1"]
    hq = pd.read_parquet(paths.processed / "household_quarters.parquet")
    assert hq.groupby("quarter").size().to_dict() == {"2023Q1": 2, Q: 3}
    assert _tree_hash(paths.raw) != before       # (the test changed it; intake never does:)
    snapshot = _tree_hash(paths.raw)
    run_intake(Q, paths, KEY)
    assert _tree_hash(paths.raw) == snapshot
    # intake up to an earlier quarter covers only that quarter
    early = run_intake("2023Q1", paths, KEY)
    assert early.quarters == ["2023Q1"]
    households = pd.read_parquet(paths.processed / "households.parquet")
    assert set(households["last_quarter"]) == {"2023Q1"}


def test_an_unknown_quarter_lists_the_available_ones(tmp_path):
    write_workbook(tmp_path / "raw" / Q / f"{Q}_通江县.xlsx", [household(1)])
    with pytest.raises(IntakeStop, match="available: 2023Q2"):
        run_intake("2024Q1", paths_for(tmp_path), KEY)


def test_a_crash_while_writing_leaves_the_old_table_whole(tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    from helpers.store import storage

    target = tmp_path / "t.parquet"
    storage.write_table(pd.DataFrame({"k": [1, 2]}), target, ["k"], "t")
    real = pq.write_table

    def crash(table, where, *a, **k):
        Path(where).write_bytes(b"half a table")
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", crash)
    with pytest.raises(OSError):
        storage.write_table(pd.DataFrame({"k": [3]}), target, ["k"], "t")
    monkeypatch.setattr(pq, "write_table", real)
    assert pd.read_parquet(target)["k"].tolist() == [1, 2]
    assert [p.name for p in tmp_path.iterdir()] == ["t.parquet"]


def test_keys_are_asserted_on_write(tmp_path):
    from helpers.store import storage

    with pytest.raises(AssertionError, match="share a key"):
        storage.write_table(pd.DataFrame({"k": [1, 1]}), tmp_path / "x.parquet", ["k"], "x")
    with pytest.raises(AssertionError, match="missing key"):
        storage.write_table(pd.DataFrame({"k": [1, None]}), tmp_path / "x.parquet", ["k"], "x")
    assert not (tmp_path / "x.parquet").exists()


def test_quarters_are_stacked_with_unified_types_and_a_bad_part_leaves_nothing(tmp_path):
    """stack_parquet: a column missing in one quarter takes the others' type, dtypes survive,
    and a part refused by the check leaves no table behind."""
    from helpers.store import storage

    a = pd.DataFrame({"quarter": ["2022Q1"], "note": pd.Series([None], dtype="object"), "n": [1.0]})
    b = pd.DataFrame({"quarter": ["2022Q2"] * 2, "note": pd.Series(["x", pd.NA], dtype="string"), "n": [2.0, 3.0]})
    parts = []
    for i, frame in enumerate((a, b)):
        storage.write_table(frame.astype({"quarter": "string"}), tmp_path / f"p{i}.parquet", ["quarter", "n"], "p")
        parts.append(tmp_path / f"p{i}.parquet")
    rows = storage.stack_parquet(parts, tmp_path / "all.parquet", {"quarters": "2022Q1,2022Q2"})
    out = pd.read_parquet(tmp_path / "all.parquet")
    assert rows == 3 and out["quarter"].tolist() == ["2022Q1", "2022Q2", "2022Q2"]
    assert out["note"].dtype == "string" and out["note"].isna().tolist() == [True, False, True]
    assert storage.table_metadata(tmp_path / "all.parquet")["quarters"] == "2022Q1,2022Q2"

    def refuse(source, table):
        if source.name == "p1.parquet":
            raise AssertionError("holds rows of another quarter")

    with pytest.raises(AssertionError, match="another quarter"):
        storage.stack_parquet(parts, tmp_path / "refused.parquet", None, refuse)
    assert not (tmp_path / "refused.parquet").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_the_key_comes_from_the_environment_or_a_key_file(tmp_path, monkeypatch):
    from helpers.intake.pseudonym import load_key

    monkeypatch.setenv("WORKBOOK_PSEUDONYM_KEY", "from-environment-0123456789abcdef")
    assert load_key().source.startswith("environment")
    monkeypatch.delenv("WORKBOOK_PSEUDONYM_KEY")
    keyfile = tmp_path / "k.key"
    monkeypatch.setenv("WORKBOOK_KEY_FILE", str(keyfile))
    created = load_key(create=True)
    assert keyfile.exists() and load_key().fingerprint == created.fingerprint
