"""Personal data in free text (the scrubber) and the pseudonym key (issue 11)."""
from __future__ import annotations

import multiprocessing
import os
import time

import pandas as pd
import pytest

from builders import household, paths_for, problem_rows, write_workbook
from helpers.intake.pseudonym import load_key, scrub, scrub_text
from helpers.intake.readers import IntakeStop

ID = "[身份证号已删除]"
PHONE = "[电话已删除]"
CARD = "[银行卡号已删除]"
STRONG = "k" * 40


# --- the scrubber: personal numbers go --------------------------------------------------------

SCRUBBED = [
    # mobile phones
    ("+86 138 0000 0001", PHONE),
    ("+8613800000001", PHONE),
    ("+86-138-0000-0001", PHONE),
    ("0086 13800000001", PHONE),
    ("008613800000001", PHONE),
    ("(+86)13800000001", PHONE),
    ("（+86）138 0000 0001", PHONE),
    ("8613800000001", PHONE),
    ("电话138-0000-0022", f"电话{PHONE}"),
    ("手机 138 0000 0032 请联系", f"手机 {PHONE} 请联系"),
    ("1380 000 0032", PHONE),
    ("138 00000032", PHONE),
    ("1380000 0032", PHONE),
    ("１３８００００００１１", PHONE),
    ("１３８－００００－００１１", PHONE),
    ("１３８　００００　００１１", PHONE),
    ("＋８６ １３８００００００１１", PHONE),
    ("TEL: +86 138 0000 0004", f"TEL: {PHONE}"),
    # landlines
    ("0827 526 1234", PHONE),
    ("(0827)5261234", PHONE),
    ("（028）8765-4321", PHONE),
    ("+86 28 8765 4321", PHONE),
    ("+86-827-5261234", PHONE),
    ("电话：5261234", f"电话：{PHONE}"),
    ("座机 526-1234", f"座机 {PHONE}"),
    # ID numbers (18 and 15 digits)
    ("1101 0119 8001 0100 42", ID),
    ("110101-19800101-0042", ID),
    ("110101 19800101 004X", ID),
    ("110101 1980 0101 0042", ID),
    ("身份证号：110101800101004", f"身份证号：{ID}"),
    ("110101800101004", ID),
    ("110101 800101 004", ID),
    # bank cards (16 to 19 digits)
    ("卡号6222021234567890", f"卡号{CARD}"),
    ("6222021234567890123", CARD),
    ("62220212345678901", CARD),
    ("6222 0212 3456 7890", CARD),
    ("6222 0212 3456 7890 123", CARD),
    ("6222-0212-3456-7890-1", CARD),
    ("622202 1234567890123", CARD),
    ("６２２２　０２１２　３４５６　７８９０", CARD),
    ("账号：6222 0212 3456 7890 12", f"账号：{CARD}"),
    ("账号 1234 5678 9012", f"账号 {CARD}"),
    ("银行卡号:621700123456", f"银行卡号:{CARD}"),
    ("代发工资卡 6217001234567890123 余额0", f"代发工资卡 {CARD} 余额0"),
]


# forms the scrubber recognized before; they must still go, next to the new ones
EARLIER = [
    ("联系13800000001。", f"联系{PHONE}。"),
    ("手机：13800000004", f"手机：{PHONE}"),
    ("电话:13800000004", f"电话:{PHONE}"),
    ("联系人己13800000006", f"联系人己{PHONE}"),
    ("Tel13800000004", f"Tel{PHONE}"),
    ("0827-5261234", PHONE),
    ("028-87654321", PHONE),
    ("02887654321", PHONE),
    ("身份证110101198001010042", f"身份证{ID}"),
    ("11010119800101004X", ID),
    ("11010119800101004x", ID),
    ("１１０１０１１９８００１０１００４２", ID),
]


@pytest.mark.parametrize("raw, expected", SCRUBBED)
def test_each_form_of_phone_id_and_card_number_is_replaced(raw, expected):
    assert scrub_text(raw) == expected
    assert scrub(pd.Series([raw])).iloc[0] == expected


@pytest.mark.parametrize("raw, expected", EARLIER)
def test_forms_recognized_before_are_still_recognized_next_to_new_forms(raw, expected):
    cell = f"{raw}，+86 138 0000 0009"
    assert scrub_text(cell) == f"{expected}，{PHONE}"
    assert scrub(pd.Series([cell])).iloc[0] == f"{expected}，{PHONE}"


def test_a_cell_with_several_numbers_loses_all_of_them_and_keeps_the_rest():
    cell = ("乡名丁110101198001010044电话13800000004，户主+86 139 1234 5678，"
            "卡号6222 0212 3456 7890 123，2023年7月11日发放3,562元")
    assert scrub_text(cell) == f"乡名丁{ID}电话{PHONE}，户主{PHONE}，卡号{CARD}，2023年7月11日发放3,562元"


# --- the scrubber: ordinary numbers stay -----------------------------------------------------

KEPT = [
    "资金3,562元", "12.5万元", "1,234,567.89元", "3562人", "2023年7月11日", "2023-07-11", "2023.7.11",
    "2023/07/11", "2023-07-11 09:30:00", "2023.07.01-2023.09.30", "2023-07-01至2023-09-30", "20230701-20230930",
    "P-001", "W-01", "2023Q2", "2023年第2季度", "2023年二季度", "共15户43人", "第3组", "15 20 25 30 35 40 45 50",
    "1、3、5、7、9、11、13组", "12 户 38 人", "占比12.5%", "面积1200亩", "13.8万元", "10:30-11:45",
    "编号2023070112", "补助发放不及时", "", "电话费1200元", "联系人张三", "账号已冻结",
    "12,345,678,901元", "0.5", "100%", "1.5-2.0", "第1398号文件",
]


@pytest.mark.parametrize("text", KEPT)
def test_ordinary_numbers_in_free_text_are_kept(text):
    assert scrub_text(text) == text
    cell = f"{text}，联系人电话+86 138 0000 0001，{text}"
    assert scrub(pd.Series([text, cell])).tolist() == [text, f"{text}，联系人电话{PHONE}，{text}"]


def test_scrub_keeps_missing_values_index_and_name_and_scrub_text_takes_none():
    s = pd.Series(["电话+8613800000001", None, "2023年7月11日", pd.NA], index=[10, 11, 12, 13], name="描述")
    out = scrub(s)
    assert out.dtype == "string" and list(out.index) == [10, 11, 12, 13] and out.name == "描述"
    assert out.iloc[0] == f"电话{PHONE}" and out.iloc[2] == "2023年7月11日" and out.isna().tolist() == [False, True, False, True]
    assert scrub_text(None) is None
    assert scrub_text("联系人己13800000006") == f"联系人己{PHONE}"   # a header that is personal data


def test_scrub_is_fast_on_a_large_column():
    # 200,000 distinct cells, each with a date and an amount, one in ten with a +86 phone
    mixed = pd.Series([f"第{i % 97}户于2023-07-{1 + i % 28:02d}整改，发放{i % 5000}元（项目P-{i % 999:03d}），备注{i}"
                       + (f"，联系电话+86 1{3 + i % 7}{i % 10} {i % 10000:04d} {i % 7919:04d}" if i % 10 == 0 else "")
                       for i in range(200_000)])
    start = time.perf_counter()
    out = scrub(mixed)
    seconds = time.perf_counter() - start
    assert seconds < 2.0, seconds
    assert out.str.contains(PHONE, regex=False).sum() == 20_000
    assert out.iloc[12340] == f"第21户于2023-07-21整改，发放2340元（项目P-352），备注12340，联系电话{PHONE}"
    # the worst case: every cell holds a phone and a card number
    worst = pd.Series([f"第{i % 97}户电话+86 1{3 + i % 7}{i % 10}-{i % 10000:04d}-{i % 7919:04d}，2023年7月11日发放"
                       f"{i % 5000}元，卡号6222 0212 {i % 10000:04d} {i % 4973:04d}，备注{i}" for i in range(200_000)])
    start = time.perf_counter()
    out = scrub(worst)
    seconds = time.perf_counter() - start
    assert seconds < 6.0, seconds
    assert out.str.count(r"\[电话已删除\]").eq(1).all() and out.str.count(r"\[银行卡号已删除\]").eq(1).all()
    assert out.iloc[12345] == f"第26户电话{PHONE}，2023年7月11日发放2345元，卡号{CARD}，备注12345"


def test_a_plus86_phone_or_a_bank_card_in_a_problem_description_does_not_stop_intake(tmp_path, monkeypatch):
    import builders
    from helpers.intake.assemble import run_intake
    from helpers.intake.pseudonym import PseudonymKey

    problems = problem_rows()
    problems[0]["问题描述"] = "联系人电话+86 138 0000 0001, 卡号6222021234567890123, 身份证1101 0119 8001 0100 42"
    monkeypatch.setattr(builders, "problem_rows", lambda county="通江县": problems)
    write_workbook(tmp_path / "raw" / "2023Q2" / "2023Q2_通江县.xlsx", [household(1)])
    paths = paths_for(tmp_path)
    run_intake("2023Q2", paths, PseudonymKey(b"bureau-key-" + b"a" * 32, "test"))
    text = pd.read_parquet(paths.processed / "rectifications.parquet")["description"].item()
    assert text == f"联系人电话{PHONE}, 卡号{CARD}, 身份证{ID}"


# --- the pseudonym key ------------------------------------------------------------------------

@pytest.fixture
def keyfile(tmp_path, monkeypatch):
    monkeypatch.delenv("WORKBOOK_PSEUDONYM_KEY", raising=False)
    path = tmp_path / "private" / "pseudonym.key"
    monkeypatch.setenv("WORKBOOK_KEY_FILE", str(path))
    return path


@pytest.mark.parametrize("weak", ["", "   ", "x", "\ufeff", "a" * 31, "短密钥短密钥短密钥短密钥"[:10]])
def test_a_weak_key_in_the_environment_is_refused_with_a_bilingual_message(weak, keyfile, monkeypatch):
    monkeypatch.setenv("WORKBOOK_PSEUDONYM_KEY", weak)
    with pytest.raises(IntakeStop) as err:
        load_key(create=True)
    message = str(err.value)
    assert "WORKBOOK_PSEUDONYM_KEY" in message and "32" in message
    assert "密钥" in message and "key" in message            # Chinese and English
    if len(weak.strip()) > 1:
        assert weak.strip() not in message                    # the key itself is never shown
    assert not keyfile.exists()                               # no key file made behind the refusal


def test_32_bytes_of_key_material_are_enough_and_bom_and_blanks_are_stripped(keyfile, monkeypatch):
    monkeypatch.setenv("WORKBOOK_PSEUDONYM_KEY", "a" * 32)
    assert load_key().secret == b"a" * 32
    monkeypatch.setenv("WORKBOOK_PSEUDONYM_KEY", "\ufeff  " + "b" * 32 + " \n")
    assert load_key().secret == b"b" * 32
    monkeypatch.setenv("WORKBOOK_PSEUDONYM_KEY", "巴中市乡村振兴局密钥")     # 10 characters, 30 bytes
    with pytest.raises(IntakeStop):
        load_key()
    monkeypatch.setenv("WORKBOOK_PSEUDONYM_KEY", "巴中市乡村振兴局评估密钥")   # 12 characters, 36 bytes
    assert len(load_key().secret) == 36


@pytest.mark.parametrize("content", [b"", b"\n", b"x\n", b"a" * 31 + b"\n", b"\xef\xbb\xbf" + b"a" * 31,
                                     "短".encode("utf-16"), b"\x80\x81 not UTF-8 " + b"k" * 40])
def test_a_weak_or_unreadable_key_file_is_refused_with_a_message(content, keyfile):
    keyfile.parent.mkdir(parents=True)
    keyfile.write_bytes(content)
    with pytest.raises(IntakeStop) as err:
        load_key(create=True)
    message = str(err.value)
    assert str(keyfile) in message and "32" in message and "密钥" in message and "key" in message
    assert keyfile.read_bytes() == content                    # a bad key file is never overwritten


def test_a_key_file_that_cannot_be_read_is_refused_with_a_message(keyfile):
    keyfile.mkdir(parents=True)                                # a folder where the key file should be
    with pytest.raises(IntakeStop, match="key file"):
        load_key(create=True)


def test_a_key_file_with_a_bom_gives_the_same_key_as_without(keyfile, monkeypatch):
    key = "0123456789abcdef" * 4
    keyfile.parent.mkdir(parents=True)
    keyfile.write_bytes(b"\xef\xbb\xbf" + key.encode() + b"\r\n")
    from_file = load_key()
    keyfile.write_bytes((key + "\r\n").encode("utf-16"))        # Notepad's "Unicode"
    from_utf16_file = load_key()
    monkeypatch.setenv("WORKBOOK_PSEUDONYM_KEY", key)
    assert from_file.secret == from_utf16_file.secret == key.encode()
    assert from_file.fingerprint == load_key().fingerprint


def _first_run(barrier, queue):
    try:
        barrier.wait()
        queue.put(load_key(create=True).fingerprint)
    except BaseException as exc:   # noqa: BLE001 - reported to the parent
        queue.put(f"error: {exc!r}")


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
def test_first_runs_at_the_same_time_end_with_one_key(tmp_path, monkeypatch):
    monkeypatch.delenv("WORKBOOK_PSEUDONYM_KEY", raising=False)
    ctx = multiprocessing.get_context("fork")
    for trial in range(6):
        keyfile = tmp_path / f"trial{trial}" / "pseudonym.key"
        monkeypatch.setenv("WORKBOOK_KEY_FILE", str(keyfile))
        barrier, queue = ctx.Barrier(8), ctx.Queue()
        procs = [ctx.Process(target=_first_run, args=(barrier, queue)) for _ in range(8)]
        for p in procs:
            p.start()
        results = [queue.get(timeout=60) for _ in procs]
        for p in procs:
            p.join(timeout=60)
        assert len(set(results)) == 1, results
        assert results[0] == load_key().fingerprint
        text = keyfile.read_text(encoding="utf-8").strip()
        assert len(text) == 64 and int(text, 16) >= 0            # 32 random bytes as hex
        if os.name == "posix":
            assert keyfile.stat().st_mode & 0o777 == 0o600
        assert [p.name for p in keyfile.parent.iterdir()] == [keyfile.name]   # no temporary file left


def test_a_weak_key_stops_the_intake_command_with_exit_code_2_and_one_message(tmp_path, monkeypatch, capsys):
    from helpers.pipeline.cli import main

    write_workbook(tmp_path / "raw" / "2023Q2" / "2023Q2_通江县.xlsx", [household(1)])
    paths = paths_for(tmp_path)
    monkeypatch.setenv("WORKBOOK_PSEUDONYM_KEY", "x")
    code = main(["intake", "--raw", str(paths.raw), "--processed", str(paths.processed),
                 "--private", str(paths.private), "--corrections", str(paths.corrections)])
    err = capsys.readouterr().err
    assert code == 2
    assert "STOPPED" in err and "WORKBOOK_PSEUDONYM_KEY" in err and "Traceback" not in err
