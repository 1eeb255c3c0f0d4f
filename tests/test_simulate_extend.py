"""The simulator is prefix-stable, a simulated sample grows by a quarter (workbook simulate --next-quarter), and
the committed ground truth in truth/ is replaced only when asked."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from helpers.config import SEED, SIMULATED_MARKER, TRUTH, Paths
from helpers.domain.quarters import quarter_index
from helpers.pipeline import cli
from helpers.sim.simulate import next_quarter, simulate

HOUSEHOLDS, FIRST, LAST, NEXT = 300, "2021Q1", "2023Q2", "2023Q3"
OPTIONS = dict(households=HOUSEHOLDS, seed=SEED, first=FIRST, near_line_share=0.15)


def _files(folder: Path) -> dict[str, tuple[str, int]]:
    """Every file under ``folder``: its hash and modification time (ns)."""
    return {p.relative_to(folder).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _read_back(path: Path) -> dict[str, pd.DataFrame]:
    """A submission as intake would open it: every sheet of a workbook, or the CSV's bytes as text."""
    if path.suffix == ".xlsx":
        return pd.read_excel(path, sheet_name=None, header=None, dtype=object, engine="calamine")
    return {"csv": pd.DataFrame({"text": [path.read_bytes().decode("gb18030", errors="replace")]})}


@pytest.fixture(scope="module")
def draws(tmp_path_factory):
    """The same options simulated to 2023Q2 and to 2023Q3."""
    root = tmp_path_factory.mktemp("prefix")
    short = simulate(root / "short" / "raw", root / "short" / "truth", last=LAST, **OPTIONS)
    long = simulate(root / "long" / "raw", root / "long" / "truth", last=NEXT, **OPTIONS)
    return {"root": root, "short": short, "long": long}


def test_simulating_one_more_quarter_leaves_every_earlier_quarter_as_it_was(draws):
    short, long, root = draws["short"], draws["long"], draws["root"]
    assert long.quarters[-1] == NEXT and short.quarters == long.quarters[:-1]
    cut = long.until(LAST)
    for name in ("households", "panel", "effects"):           # the same households, incomes, starts, monitoring
        pd.testing.assert_frame_equal(getattr(short, name), getattr(cut, name), check_exact=True, obj=name)
    assert len(long.panel) > len(short.panel) and (long.panel["quarter"] == NEXT).sum() > 0.9 * HOUSEHOLDS
    # the written submissions of every quarter up to 2023Q2 read back the same (and are the same bytes)
    for q in short.quarters:
        a, b = root / "short" / "raw" / q, root / "long" / "raw" / q
        names = sorted(p.name for p in a.iterdir())
        assert names == sorted(p.name for p in b.iterdir()) and len(names) >= 5, q
        for f in names:
            got, want = _read_back(b / f), _read_back(a / f)
            assert list(got) == list(want), f
            for sheet in want:
                pd.testing.assert_frame_equal(got[sheet], want[sheet], check_exact=True, obj=f"{f}:{sheet}")
            assert (a / f).read_bytes() == (b / f).read_bytes(), f
    # and so does the truth written beside them, cut at 2023Q2
    ts, tl = root / "short" / "truth", root / "long" / "truth"
    damage_s, damage_l = pd.read_csv(ts / "damaged_rows.csv"), pd.read_csv(tl / "damaged_rows.csv")
    assert (damage_l["quarter"] == NEXT).any()
    pd.testing.assert_frame_equal(damage_s, damage_l[damage_l["quarter"] <= LAST].reset_index(drop=True))
    eff_s, eff_l = pd.read_csv(ts / "effects.csv"), pd.read_csv(tl / "effects.csv")
    at = eff_l["g"] + eff_l["event_time"]                          # the calendar quarter of each cell
    assert (at == quarter_index(NEXT)).any()
    pd.testing.assert_frame_equal(eff_s, eff_l[at <= quarter_index(LAST)].reset_index(drop=True))
    codes = {"household_code": str, "head_id_number": str, "phone": str}
    hh_s, hh_l = pd.read_csv(ts / "households.csv", dtype=codes), pd.read_csv(tl / "households.csv", dtype=codes)
    for col in ("industry_start_i", "employment_start_i"):      # a start in 2023Q3 is not known at 2023Q2
        hh_l[col] = hh_l[col].where(hh_l[col] <= quarter_index(LAST), -1)
    hh_l.loc[(hh_l["industry_start_i"] < 0) & (hh_l["employment_start_i"] < 0), "first_program"] = "none"
    pd.testing.assert_frame_equal(hh_s, hh_l)


def test_the_design_holds_for_the_bundled_window(draws):
    """Staggered cohorts inside the window, some households not yet supported at its end (their start comes later),
    and effects growing with time since start."""
    long, short = draws["long"], draws["short"]
    eff = short.effects[short.effects["treatment"] == "any"]
    assert eff["g"].nunique() >= 8                                 # a cohort starting in (nearly) every quarter
    assert eff.groupby("event_time")["att"].mean().loc[[0, 4, 8]].is_monotonic_increasing
    started_later = (short.households["first_program"] == "none") & (long.households["first_program"] != "none")
    assert started_later.sum() > 0                                 # a start after 2023Q2 is not in the data yet
    assert (long.households.loc[started_later, ["industry_start_i", "employment_start_i"]].max(axis=1)
            >= quarter_index(NEXT)).all()


def test_next_quarter_appends_exactly_one_quarter_and_intake_reads_it(tmp_path, draws, capsys):
    raw = tmp_path / "raw"
    shutil.copytree(draws["root"] / "short" / "raw", raw)
    paths = Paths.make(raw=raw, processed=tmp_path / "processed", private=tmp_path / "private",
                       corrections=tmp_path / "corrections.csv")
    from helpers.intake.assemble import run_intake

    assert run_intake(None, paths).quarter == LAST
    before = _files(raw)
    assert cli.main(["simulate", "--next-quarter", "--out", str(raw)]) == 0
    printed = capsys.readouterr().out
    assert f"{raw / NEXT}" in printed and "workbook run" in printed
    after = _files(raw)
    new = sorted({k.split("/")[0] for k in after} - {k.split("/")[0] for k in before})
    assert new == [NEXT, "_truth"]                                 # one quarter folder, and the truth beside it
    assert {k: v for k, v in after.items() if k in before and k != SIMULATED_MARKER} == \
        {k: v for k, v in before.items() if k != SIMULATED_MARKER}  # no earlier file touched, not even its time
    marker = json.loads((raw / SIMULATED_MARKER).read_text(encoding="utf-8"))
    assert marker["last"] == NEXT and marker["first"] == FIRST and marker["near_line_share"] == 0.15
    for f in (raw / NEXT).iterdir():                               # what simulating to 2023Q3 at once writes
        assert f.read_bytes() == (draws["root"] / "long" / "raw" / NEXT / f.name).read_bytes(), f.name
    truth = raw / "_truth"
    for name in ("effects.csv", "damaged_rows.csv", "households.csv", "params.json"):
        assert (truth / name).read_bytes() == (draws["root"] / "long" / "truth" / name).read_bytes(), name
    summary = run_intake(None, paths)                              # the quarterly re-run on the new quarter
    assert summary.quarter == NEXT and summary.processed == [NEXT] and len(summary.cached) == 10
    hq = pd.read_parquet(paths.processed / "household_quarters.parquet")
    assert (hq["quarter"] == NEXT).sum() > 0.9 * HOUSEHOLDS


def test_next_quarter_refuses_what_it_cannot_extend_and_writes_nothing(tmp_path, draws, capsys):
    real = tmp_path / "real"
    (real / "2023Q2").mkdir(parents=True)
    assert cli.main(["simulate", "--next-quarter", "--out", str(real), "--truth", str(tmp_path / "t")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "only a simulated sample" in err[0] and "Traceback" not in err[0]
    assert sorted(p.name for p in real.iterdir()) == ["2023Q2"] and not (tmp_path / "t").exists()

    raw = tmp_path / "raw"
    shutil.copytree(draws["root"] / "short" / "raw", raw)
    edited = raw / "2022Q1" / "2022Q1_南江县_农户监测.csv"
    edited.write_bytes(edited.read_bytes().replace(b"\r\n", b"\n"))   # saved again by another program
    before = _files(raw)
    assert cli.main(["simulate", "--next-quarter", "--out", str(raw)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "2022Q1_南江县_农户监测.csv" in err[0] and "cannot be extended" in err[0]
    assert _files(raw) == before                                   # nothing written, no temporary folder left

    for q in (NEXT, "2024Q1"):                                     # a quarter after the recorded last is there
        shutil.copytree(raw / "2022Q1", raw / q)
        assert cli.main(["simulate", "--next-quarter", "--out", str(raw)]) == 2
        assert "already exists" in capsys.readouterr().err
        shutil.rmtree(raw / q)
    assert cli.main(["simulate", "--next-quarter", "--out", str(raw), "--seed", "3"]) == 2
    assert "drop --seed" in capsys.readouterr().err


def _tree(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_committed_truth_is_never_replaced_unless_asked(tmp_path, capsys):
    committed = _tree(TRUTH)
    assert {"effects.csv", "damaged_rows.csv", "households.csv", "params.json"} <= set(committed)
    small = ["--households", "40", "--first", "2022Q1", "--last", "2022Q2"]
    for truth in ("truth", str(TRUTH)):                            # as typed in the repository, or as a full path
        argv = ["simulate", "--out", str(tmp_path / "raw"), "--truth", truth, *small]
        cwd = os.getcwd()
        os.chdir(TRUTH.parent)
        try:
            assert cli.main(argv) == 2
        finally:
            os.chdir(cwd)
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "--truth truth --force-truth" in err[0]
        assert not (tmp_path / "raw").exists()                     # refused before anything was written
    assert _tree(TRUTH) == committed

    # the default: the truth goes beside the submissions, inside --out
    assert cli.main(["simulate", "--out", str(tmp_path / "raw"), *small]) == 0
    assert "truth in" in capsys.readouterr().out
    assert (tmp_path / "raw" / "_truth" / "effects.csv").exists() and _tree(TRUTH) == committed


def test_the_committed_truth_is_replaced_when_asked(tmp_path, monkeypatch, capsys):
    """The other direction, on a stand-in for truth/ (tests never write the repository's)."""
    protected = tmp_path / "truth"
    protected.mkdir()
    (protected / "params.json").write_text("{}", encoding="utf-8")
    monkeypatch.setattr(cli, "TRUTH", protected)
    small = ["--households", "40", "--first", "2022Q1", "--last", "2022Q2"]
    assert cli.main(["simulate", "--out", str(tmp_path / "raw"), "--truth", str(protected), *small]) == 2
    assert "--force-truth" in capsys.readouterr().err and (protected / "params.json").read_text() == "{}"
    assert cli.main(["simulate", "--out", str(tmp_path / "raw"), "--truth", str(protected), "--force-truth",
                     *small]) == 0
    assert json.loads((protected / "params.json").read_text())["last"] == "2022Q2"
    # --next-quarter is held to the same rule
    assert cli.main(["simulate", "--next-quarter", "--out", str(tmp_path / "raw"), "--truth", str(protected)]) == 2
    assert json.loads((protected / "params.json").read_text())["last"] == "2022Q2"
    assert not (tmp_path / "raw" / "2022Q3").exists()
    assert cli.main(["simulate", "--next-quarter", "--out", str(tmp_path / "raw"), "--truth", str(protected),
                     "--force-truth"]) == 0
    assert json.loads((protected / "params.json").read_text())["last"] == "2022Q3"
    assert (tmp_path / "raw" / "2022Q3").is_dir()


def test_next_quarter_as_a_function_returns_the_new_quarter(tmp_path, draws):
    raw = tmp_path / "raw"
    shutil.copytree(draws["root"] / "short" / "raw", raw)
    new, truth = next_quarter(raw, None)
    assert new == NEXT and truth.quarters[-1] == NEXT and not (raw / "_truth").exists()
