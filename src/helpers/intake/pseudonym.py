"""Keyed pseudonyms for household codes, and scrubbing of personal data from free text.

``household_id`` is HMAC-SHA256 of the 18-digit 户编码 under one key per bureau. The key
comes from an environment variable or a key file outside git (config/workbook.yaml), so
every evaluator's clone with the same key gives the same pseudonyms, and nobody without
the key can recompute them from a list of codes. The key's fingerprint is recorded with
every processed table; intake refuses to mix tables made under different keys.

The key must hold at least 32 bytes (UTF-8) after a byte-order mark and surrounding blanks
are stripped, from either source; anything weaker stops intake with a message. A missing
key file is created once, atomically (written in full to a temporary file, then linked into
place with an exclusive create), so first runs started at the same moment agree on one key.

Scrubbing free text
-------------------
``scrub`` (a Series, for columns) and ``scrub_text`` (one string: a header, a log line, a
message) replace these forms of personal numbers. Any digit may be ASCII or full-width
(``１３８…``). A "separator" is one or two spaces (ordinary, tab, no-break, thin, ideographic or zero-width)
or one hyphen or dash (``- ‐ ‑ ‒ – — − －``) with at most one space on either side; where
groups are listed, a separator stands between every two groups.

* ``[电话已删除]``
  - mobile numbers, 11 digits ``1[3-9]…``: contiguous, or in groups 3-4-4, 4-3-4, 4-4-3, 3-8 or
    7-4 (``138-0000-0022``, ``138 0000 0032``); with or without a country code in front:
    ``+86``, ``＋86``, ``0086``, ``(+86)``, ``（86）`` (then an optional separator), or a bare
    ``86`` or ``0`` written directly before the number (``8613800000001``);
  - landlines: the area code (010, 02x or 03xx to 09xx, optionally in ASCII or full-width
    parentheses), an optional separator and a 7- or 8-digit local number starting 2 to 9,
    contiguous or split 3-4 or 4-4 (``0827-5261234``, ``(028)8765-4321``); or ``+86``/
    ``0086`` and the area code without its 0 (``+86 28 8765 4321``);
* ``[身份证号已删除]``
  - 18-character ID numbers (17 digits and a digit or ``X``/``x``): contiguous, or in groups
    6-8-4, 4-4-4-4-2, 6-4-4-4, 3-3-4-4-4 or 6-12 (``110101-19800101-0042``,
    ``1101 0119 8001 0100 42``). Eighteen digits in groups of four whose birth-date part is
    not a date are taken for a bank card;
  - 15-digit ID numbers (issued before 1999) starting 1 to 8: contiguous, or in groups 6-6-3,
    4-4-4-3 or 6-9;
* ``[银行卡号已删除]``
  - bank cards starting 3 to 9 in groups of four (at least four groups; the last may have one
    to three digits: ``6222 0212 3456 7890 123``), or a group of 6 and one of 10 to 13;
  - any other run of 12 or more digits in a row (16- to 19-digit cards, account numbers,
    mistyped phone numbers);
* after a keyword, any number of at least six digits (separators allowed) is replaced too,
  with the placeholder of the form it has or, if none, the one the keyword implies:
  手机/手机号/手机号码/电话/电话号码/联系电话/联系方式/座机/固话/联系人 (with up to four
  characters of a name after it)/Tel/Phone/Mobile (any case) for a phone; 身份证/身份证号/
  身份证号码/证件号/证件号码/公民身份号码 for an ID number; 银行卡/银行卡号/卡号/银行账号/账号/
  帐号/账户/帐户/存折/存折号 for a bank card. Between keyword and number may stand blanks,
  ``:：=＝#＃``, brackets and 号/号码/是/为, at most four of them (``电话：5261234``).

A number glued to further digits on its left or right is not cut out of them; the whole run
is judged instead. After scrubbing, no run of 12 or more digits and no 11-digit mobile number
is left. Amounts (``3,562``, ``12.5万元``), dates (``2023年7月11日``, ``2023-07-11``,
``20230701-20230930``), project ids (``P-001``), quarters and counts stay as they are.

Not recognized by ``scrub``: names (intake cuts out those that the quarter's 户主姓名 columns list,
with ``Names``), addresses, e-mail addresses, QQ or WeChat ids, plate numbers, numbers
written in Chinese numerals (``一三八…``) or split in other ways (dots, slashes, groups of
two), shorter numbers without a keyword (``5261234``), and anything else. Free text should
therefore never be relied on to be anonymous: scrubbing lowers the risk in text columns that
are kept; it does not make a free-text column safe to publish.
"""
from __future__ import annotations

import contextlib
import hashlib
import hmac
import math
import os
import re
import secrets
import sys
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.config import resolve, settings

ID_PLACEHOLDER = "[身份证号已删除]"
PHONE_PLACEHOLDER = "[电话已删除]"
CARD_PLACEHOLDER = "[银行卡号已删除]"
MIN_KEY_BYTES = 32

# --- patterns -------------------------------------------------------------------------------
# \d is any Unicode decimal digit (ASCII and full-width alike). Character classes hold the
# characters themselves (no \u escapes) so that the candidate pattern also compiles in RE2.
_SPACE = " \t\u00a0\u2002\u2003\u2009\u202f\u3000\u200b\u200c\u200d\u2060\ufeff"   # zero-width ones too
_DASH = "\\-\u2010\u2011\u2012\u2013\u2014\u2212\uff0d"
_S = f"(?:[{_SPACE}]?[{_DASH}][{_SPACE}]?|[{_SPACE}]{{1,2}})"     # one separator
_SEP = _S + "?"                                                     # an optional separator
_COUNTRY = ("(?:(?:[+＋]|00|００)[ \u3000]?[8８][6６]"                # +86, 0086
            "|[(（][ \u3000]?(?:[+＋]|00|００)?[8８][6６][ \u3000]?[)）])")  # (+86), （86）
_BEFORE_MOBILE = f"(?:{_COUNTRY}{_SEP}|[8８][6６](?=[1１][3-9３-９])|[0０](?=[1１][3-9３-９]))"
_LOCAL = rf"[2-9２-９]\d{{2,3}}{_SEP}\d{{4}}"                  # 7 or 8 digits, or 3-4 or 4-4
_AREA_CODE = r"(?:[1１][0０]|[2２]\d|[3-9３-９]\d{2})"          # 10, 2x, 3xx..9xx (written after a 0)
_AREA = rf"(?:[(（][ \u3000]?[0０]{_AREA_CODE}[ \u3000]?[)）]|[0０]{_AREA_CODE})"


def _groups(*groupings: tuple[int, ...], last: str = r"\d") -> str:
    """Digits in one of ``groupings``: each a tuple of group sizes, a separator between every two groups
    (so 3-4-4 is 138 0000 0001, and an unseparated number is the grouping of one group); ``last`` is
    the last character."""
    forms = []
    for sizes in groupings:
        parts = [rf"\d{{{n}}}" for n in sizes[:-1]] + [(rf"\d{{{sizes[-1] - 1}}}" if sizes[-1] > 1 else "") + last]
        forms.append(_S.join(parts))
    return "(?:" + "|".join(forms) + ")"


# One alternative per form; each starts where no digit precedes and ends before no digit.
_FORMS = {
    # 18-character ID in the usual groupings; one ending in X ends there
    "id18": _groups((18,), (6, 8, 4), (4, 4, 4, 4, 2), (6, 4, 4, 4), (3, 3, 4, 4, 4), (6, 12),
                    last=r"(?:\d(?!\d)|[XxＸｘ])"),
    # bank card (starting 3 to 9) in groups of four (the last may be shorter), or 6 + 10..13
    "card": rf"(?=[3-9３-９])(?:\d{{4}}(?:{_S}\d{{4}}){{3,}}(?:{_S}\d{{1,3}})?|\d{{6}}{_S}\d{{10,13}})(?!\d)",
    # 15-digit (old) ID
    "id15": rf"(?=[1-8１-８]){_groups((15,), (6, 6, 3), (4, 4, 4, 3), (6, 9))}(?!\d)",
    # mobile
    "mobile": rf"{_BEFORE_MOBILE}?(?=[1１][3-9３-９]){_groups((11,), (3, 4, 4), (4, 3, 4), (4, 4, 3), (3, 8), (7, 4))}"
              r"(?!\d)",
    "landline": rf"(?:{_AREA}{_SEP}{_LOCAL}|{_COUNTRY}{_SEP}{_AREA_CODE}{_SEP}{_LOCAL})(?!\d)",
    # anything else of 12 or more digits in a row: an account number or a mistyped one
    "long": r"\d{12,}(?!\d)",
}
_LABEL = {"id15": ID_PLACEHOLDER, "card": CARD_PLACEHOLDER, "mobile": PHONE_PLACEHOLDER,
          "landline": PHONE_PLACEHOLDER, "long": CARD_PLACEHOLDER}

_PHONE_WORDS = ("手机号码|手机号|手机|电话号码|联系电话|电话|联系方式|座机|固话|"
                "联系人[\u4e00-\u9fff]{0,4}|tel|phone|mobile")
_ID_WORDS = "公民身份号码|身份证号码|身份证号|身份证|证件号码|证件号"
_CARD_WORDS = "银行卡号|银行卡|卡号|银行账号|账号|帐号|账户|帐户|存折号|存折"
_KEYWORD = (f"(?=[手电联座固身证公银卡账帐存tpm])"
            f"(?P<word>(?P<kwcard>{_CARD_WORDS})|(?P<kwid>{_ID_WORDS})|(?P<kwphone>{_PHONE_WORDS}))"
            f"(?P<gap>(?:[{_SPACE}:：=＝#＃()（）]|号码|号|是|为){{0,4}})"
            "(?:" + "|".join(f"(?P<k_{name}>{p})" for name, p in _FORMS.items())
            + rf"|(?P<k_other>[+＋]?\d(?:{_SEP}\d){{5,}}(?!\d)))")
_NUMBER = (rf"(?:(?=[+＋(（])|(?<!\d)(?=\d(?:{_SEP}\d){{5}}))"
           "(?:" + "|".join(f"(?P<{name}>{p})" for name, p in _FORMS.items()) + ")")
PERSONAL_RE = re.compile(f"{_KEYWORD}|{_NUMBER}", re.IGNORECASE)
_GROUPS_OF_FOUR_RE = re.compile(_groups((4, 4, 4, 4, 2), last="[0-9０-９XxＸｘ]"))

# A cell can only hold something to scrub if it has ten digits close together (a landline with
# its area code is the shortest form), or a keyword and then six digits. Checked for a whole
# column at once with RE2 (pyarrow), for one string with re.
_CLOSE = f"[{_SPACE}{_DASH}()（）]{{0,5}}"
_CANDIDATE = (rf"\d(?:{_CLOSE}\d){{9}}"
              rf"|(?:手机|电话|联系|座机|固话|tel|phone|mobile|身份|证件|卡|账|帐|存折)\D{{0,16}}\d(?:{_SEP}\d){{5}}")
_CANDIDATE_RE = re.compile(_CANDIDATE, re.IGNORECASE)
_CANDIDATE_RE2 = "(?i)" + _CANDIDATE.replace(r"\D", r"\P{Nd}").replace(r"\d", r"\p{Nd}")


def _id18_label(text: str) -> str:
    """An 18-character number is an ID number, unless written in groups of four without a birth date."""
    if not _GROUPS_OF_FOUR_RE.fullmatch(text):
        return ID_PLACEHOLDER
    digits = [c for c in unicodedata.normalize("NFKC", text) if c.isalnum()]
    year, month, day = int("".join(digits[6:10])), int("".join(digits[10:12])), int("".join(digits[12:14]))
    looks_like_id = digits[-1] in "Xx" or (1880 <= year <= 2099 and 1 <= month <= 12 and 1 <= day <= 31)
    return ID_PLACEHOLDER if looks_like_id else CARD_PLACEHOLDER


def _replace(m: re.Match) -> str:
    form = m.lastgroup          # the form's group closes last, in both branches
    if form[:2] != "k_":
        return _LABEL[form] if form != "id18" else _id18_label(m.group(0))
    form = form[2:]
    if form == "id18":
        label = _id18_label(m.group("k_id18"))
    elif form in ("other", "long"):      # the keyword tells what it is
        label = CARD_PLACEHOLDER if m.group("kwcard") else ID_PLACEHOLDER if m.group("kwid") else PHONE_PLACEHOLDER
    else:
        label = _LABEL[form]
    return m.group("word") + m.group("gap") + label


def _scrub_one(text: str) -> str:
    return PERSONAL_RE.sub(_replace, text) if _CANDIDATE_RE.search(text) else text


_RE2_FROM = 256      # fewer values than this: Python's re (RE2 compiles the pattern on every call)


def _candidates(values: np.ndarray) -> np.ndarray:
    """Which strings could hold a number to scrub (see ``_CANDIDATE``), checked by RE2 in one go."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if len(values) < _RE2_FROM:
        return np.fromiter((_CANDIDATE_RE.search(v) is not None for v in values), dtype=bool, count=len(values))
    try:
        texts = pa.array(values, type=pa.string())
    except (pa.ArrowException, UnicodeError):     # e.g. a lone surrogate: one by one
        return np.fromiter((_CANDIDATE_RE.search(v) is not None for v in values), dtype=bool, count=len(values))
    return pc.match_substring_regex(texts, _CANDIDATE_RE2).to_numpy(zero_copy_only=False).astype(bool)


def scrub_text(value: str | None) -> str | None:
    """One piece of text (a header, a log line, a message) with ID, phone and card numbers replaced.

    The forms recognized are listed in the module's docstring. None (or a missing value) gives
    None; anything that is not a string is scrubbed as its ``str``.
    """
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return _scrub_one(value if isinstance(value, str) else str(value))


def scrub(text: pd.Series) -> pd.Series:
    """Free text with ID, phone and bank card numbers replaced by placeholders.

    Returns a ``string`` Series with the same index and name; missing stays missing. Each
    distinct value is scrubbed once, and only values that could hold a number to scrub (ten
    digits close together, or a keyword and six digits: found for the whole column at once
    with RE2) go through the patterns, so a column of 200,000 cells takes well under a second
    unless most cells hold such numbers (then about two seconds).
    """
    out = text.astype("string")
    arr = out.to_numpy(dtype=object, na_value=None)
    codes, uniques = pd.factorize(arr, use_na_sentinel=True)
    scrubbed = np.empty(len(uniques) + 1, dtype=object)
    scrubbed[:-1] = uniques
    scrubbed[-1] = None
    if len(uniques):
        todo = np.flatnonzero(_candidates(uniques))
        scrubbed[todo] = [PERSONAL_RE.sub(_replace, v) for v in uniques[todo]]
    return pd.Series(scrubbed[codes], index=text.index, name=text.name, dtype="string")


NAME_PLACEHOLDER = "[姓名已删除]"
_NAME_RE = re.compile(r"[^\W\d_](?:[^\W\d_]|[·•]){1,7}")     # two to eight letters, a middle dot allowed


class Names:
    """The people a quarter's submissions name in their personal-data columns (户主姓名), to be cut out of
    the text that is kept wherever they turn up in it (a township cell holding a head's name, a project
    named after a household). Names not listed in such a column cannot be recognized (see the module
    docstring): free text is never assumed anonymous.

    Only values of two to eight letters (a middle dot allowed, as in 阿依·木沙) count as names. Matching is by plain
    substring, longest name first, so a name inside an ordinary word is cut out too (the safe side).
    """

    def __init__(self, names=()):
        found = set()
        for v in set(names.tolist() if isinstance(names, (pd.Series, np.ndarray)) else names):
            if not isinstance(v, str):
                continue
            v = v.strip()
            if not v.isascii() and not unicodedata.is_normalized("NFKC", v):
                v = unicodedata.normalize("NFKC", v).strip()
            if _NAME_RE.fullmatch(v):
                found.add(v)
        self._set(found)

    def _set(self, names: set) -> None:
        self.names = names
        self.lengths = sorted({len(n) for n in names}, reverse=True)
        first = "".join(sorted({n[0] for n in names}))
        self._first = re.compile("[" + re.escape(first) + "]") if first else None

    @classmethod
    def union(cls, parts) -> "Names":
        """One list of the names of several sheets."""
        out = cls()
        out._set(set().union(*(p.names for p in parts)))
        return out

    def __bool__(self) -> bool:
        return bool(self.names)

    def text(self, value: str | None) -> str | None:
        """``value`` with every listed name replaced by ``[姓名已删除]``."""
        if not value or not self.names:
            return value
        text = value if value.isascii() else unicodedata.normalize("NFKC", value)
        out, done = [], 0
        for m in self._first.finditer(text):          # only where a name could start
            i = m.start()
            if i < done:
                continue
            hit = next((k for k in self.lengths if text[i:i + k] in self.names), 0)
            if hit:
                out += [text[done:i], NAME_PLACEHOLDER]
                done = i + hit
        return "".join(out) + text[done:] if out else value

    def series(self, text: pd.Series) -> pd.Series:
        """A text Series with the names replaced (each distinct value once; missing stays missing)."""
        if not self.names:
            return text
        out = text.astype("string")
        codes, uniques = pd.factorize(out.to_numpy(dtype=object, na_value=None), use_na_sentinel=True)
        done = np.array([self.text(u) for u in uniques] + [None], dtype=object)
        return pd.Series(done[codes], index=text.index, name=text.name, dtype="string")


# --- the key --------------------------------------------------------------------------------

@dataclass(frozen=True)
class PseudonymKey:
    """A bureau's pseudonym key and where it came from."""

    secret: bytes
    source: str

    @property
    def fingerprint(self) -> str:
        """A short public fingerprint of the key (safe to record; does not reveal the key)."""
        return hashlib.sha256(b"rural-workbook-fingerprint:" + self.secret).hexdigest()[:16]

    def pseudonymize(self, codes: pd.Series) -> pd.Series:
        """household_id for each 户编码 (missing stays missing); computed once per distinct code."""
        base = hmac.new(self.secret, digestmod=hashlib.sha256)

        def one(code: str) -> str:
            h = base.copy()
            h.update(code.encode("utf-8"))
            return h.hexdigest()[:20]

        idx, uniq = pd.factorize(codes.to_numpy(dtype=object, na_value=None), use_na_sentinel=True)
        hashed = np.array([one(u) for u in uniq] + [None], dtype=object)
        return pd.Series(hashed[idx], index=codes.index, dtype="string")


_EDGES_RE = re.compile(r"^[\s\ufeff]+|[\s\ufeff]+$")
_NEW_KEY_HINT = 'python -c "import secrets; print(secrets.token_hex(32))"'


def _stop(message: str):
    from helpers.intake.readers import IntakeStop     # here, not at the top: readers may one day use the scrubber

    return IntakeStop(message)


def _material(text: str) -> bytes:
    """The key bytes: the text without a byte-order mark and surrounding blanks, as UTF-8."""
    return _EDGES_RE.sub("", text).encode("utf-8")


def _strength_zh_en(n: int) -> tuple[str, str]:
    return ("为空", "blank") if n == 0 else (f"只有 {n} 字节", f"only {n} byte{'s' if n > 1 else ''}")


def _key_from_environment(var: str, value: str) -> PseudonymKey:
    secret = _material(value)
    if len(secret) < MIN_KEY_BYTES:
        zh, en = _strength_zh_en(len(secret))
        raise _stop(
            f"环境变量 {var} 中的假名密钥太弱（{zh}），至少需要 {MIN_KEY_BYTES} 字节。请把它设为至少 {MIN_KEY_BYTES} 个"
            f"随机字符（例如 {_NEW_KEY_HINT} 的输出；本局所有评估人员共用同一个），或删除这个环境变量以改用密钥文件。 / "
            f"The pseudonym key in the environment variable {var} is too weak ({en}); at least {MIN_KEY_BYTES} bytes "
            f"are needed. Set it to at least {MIN_KEY_BYTES} random characters (for example the output of "
            f"{_NEW_KEY_HINT}, the same for every evaluator of the bureau), or unset it to use the key file.")
    return PseudonymKey(secret, f"environment variable {var}")


def _decode_key_file(path: Path, data: bytes) -> str:
    for bom, encoding in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            break
    else:
        encoding = "utf-8"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        raise _stop(
            f"密钥文件 {path} 不是 UTF-8 文本，无法读取假名密钥。请用文本编辑器写入至少 {MIN_KEY_BYTES} 个随机字符"
            f"并存为 UTF-8，或删除该文件让工作簿生成新密钥（新密钥会改变所有 household_id，已有的入库数据需要重新入库）。 / "
            f"The key file {path} is not UTF-8 text. Write at least {MIN_KEY_BYTES} random characters into it and save "
            f"it as UTF-8, or delete it to let the workbook create a new key (a new key changes every household_id: "
            f"the processed tables must then be rebuilt).") from None


def _read_key_file(path: Path) -> bytes:
    try:
        data = path.read_bytes()
        if not data:      # a creator without hard links may be between its create and its write
            deadline = time.monotonic() + 0.5
            while not data and time.monotonic() < deadline and time.time() - path.stat().st_mtime < 2.0:
                time.sleep(0.05)
                data = path.read_bytes()
    except OSError as exc:
        raise _stop(f"无法读取密钥文件 {path}（{exc.__class__.__name__}）。请检查它是否是一个可读的文件。 / "
                    f"Cannot read the key file {path} ({exc.__class__.__name__}): check that it is a readable file.") \
            from None
    return data


def _key_from_file(path: Path) -> PseudonymKey:
    data = _read_key_file(path)
    secret = _material(_decode_key_file(path, data))
    if len(secret) < MIN_KEY_BYTES:
        zh, en = _strength_zh_en(len(secret))
        raise _stop(
            f"密钥文件 {path} 中的假名密钥太弱（{zh}），至少需要 {MIN_KEY_BYTES} 字节。请在文件中写入至少 "
            f"{MIN_KEY_BYTES} 个随机字符（例如 {_NEW_KEY_HINT} 的输出），或删除该文件让工作簿生成新密钥（新密钥会改变"
            f"所有 household_id，已有的入库数据需要重新入库）。 / "
            f"The pseudonym key in the key file {path} is too weak ({en}); at least {MIN_KEY_BYTES} bytes are needed. "
            f"Write at least {MIN_KEY_BYTES} random characters into the file (for example the output of "
            f"{_NEW_KEY_HINT}), or delete it to let the workbook create a new key (a new key changes every "
            f"household_id: the processed tables must then be rebuilt).")
    return PseudonymKey(secret, str(path))


def _create_key_file(path: Path) -> bool:
    """Write a new random key to ``path`` unless the file exists; True if this call created it.

    The key is written in full to a temporary file, which is then hard-linked to ``path``: the
    link fails if ``path`` exists, so of several first runs exactly one creates the key, and no
    reader ever sees a partly written file. Where hard links are not available the file is
    created with an exclusive create and one write.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    content = (secrets.token_hex(MIN_KEY_BYTES) + "\n").encode("ascii")
    now = time.time()
    for stale in path.parent.glob(f".{path.name}.*.tmp"):     # left by a killed first run
        with contextlib.suppress(OSError):
            if now - stale.stat().st_mtime > 60:
                stale.unlink()
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(5):
        if path.exists():
            return False
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, flags, 0o600)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(content)
                f.flush()
                os.fsync(f.fileno())
            try:
                os.link(tmp, path)
                return True
            except FileExistsError:
                return False
            except FileNotFoundError:      # the temporary file was swept away by another run: again
                continue
            except OSError:                # no hard links here (FAT, some network shares)
                pass
            try:
                fd = os.open(path, flags, 0o600)
            except FileExistsError:
                return False
            with os.fdopen(fd, "wb") as f:
                f.write(content)
                f.flush()
                os.fsync(f.fileno())
            return True
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()
    return False


def load_key(create: bool | None = None) -> PseudonymKey:
    """The bureau's key: environment variable first, then the key file from the config.

    Either source must give at least 32 bytes of key material (UTF-8, after a byte-order mark
    and surrounding blanks are stripped); a weaker key, a set but blank variable, or a key
    file that is not text stops with ``IntakeStop`` (exit code 2) and a message that says what
    to do, without showing the key. With no key anywhere and ``create_if_missing`` set, a new
    random key (64 hex characters) is created in the key file, atomically (and a notice
    printed): fine for the bundled sample; a bureau shares one key file among its evaluators.
    """
    cfg = settings()["pseudonym"]
    var = cfg["env_var"]
    env = os.environ.get(var)
    if env is not None:
        return _key_from_environment(var, env)
    path = resolve(os.environ.get("WORKBOOK_KEY_FILE", cfg["key_file"]))
    if not path.exists() and (create if create is not None else cfg.get("create_if_missing", False)):
        if _create_key_file(path):
            print(f"注意 / Note: no pseudonym key found; created a new one in {path}. "
                  f"Share one key file (or {var}) across the bureau so pseudonyms agree.", file=sys.stderr)
    if path.exists():
        return _key_from_file(path)
    raise _stop(f"没有假名密钥：请设置环境变量 {var}（至少 {MIN_KEY_BYTES} 个随机字符），或创建密钥文件 {path}。 / "
                f"No pseudonym key: set {var} (at least {MIN_KEY_BYTES} random characters) or create the key file {path}.")


__all__ = ["PseudonymKey", "load_key", "scrub", "scrub_text", "ID_PLACEHOLDER", "PHONE_PLACEHOLDER",
           "CARD_PLACEHOLDER", "MIN_KEY_BYTES"]
