"""Intake: one quarter's county submissions in, clean de-identified tables out.

For every file and sheet: find the header, map headers to the data dictionary, apply the
evaluators' corrections, parse values, normalize places, and either keep each row or set
it aside in quarantine with a reason code (reasons.py). Rows in = clean + quarantined is
asserted for every file and sheet. 户编码 becomes a keyed pseudonym; names, ID numbers,
phone numbers and remarks stop here. Each quarter's result is cached under a key made of
everything it depends on, so an unchanged quarter costs nothing the second time.
"""
from __future__ import annotations

import hashlib
import json
import re
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from helpers.domain import dictionary as dd
from helpers.intake import parsing as ps
from helpers.config import SIMULATED_MARKER, Paths, settings
from helpers.store.exports import private_dir, private_permissions, write_people_csv
from helpers.intake.places import Crosswalk, load_register, normalize_county, normalize_place
from helpers.intake.pseudonym import Names, PseudonymKey, load_key, scrub, scrub_text
from helpers.intake.readers import IntakeStop, RawSheet, list_files, locate_header, read_bytes, read_file, sheet_spec
from helpers.domain.reasons import REASONS
from helpers.store.codehash import code_hash
from helpers.store.storage import assert_key, atomic_write_text, file_hash, read_json, stack_parquet, write_table

QUARTER_RE = re.compile(r"^\d{4}Q[1-4]$")
TABLES = ("household_quarters", "villages", "projects", "rectifications", "quarantine", "intake_log")
# Each table's key (asserted on every write): the sheets' keys from the data dictionary, and ours.
KEYS = {**{s.table: list(s.key) for s in dd.SHEETS}, "quarantine": ["quarter", "source_file", "sheet", "row"],
        "intake_log": ["quarter", "source_file", "sheet"]}
CORRECTION_COLUMNS = ["quarter", "source_file", "sheet", "row", "column", "old", "new", "reason", "who"]


# --------------------------------------------------------------------------------------
# Parsing one sheet
# --------------------------------------------------------------------------------------
@dataclass
class ParsedSheet:
    """One sheet after parsing: values, the reason each row is set aside (or None)."""

    source_file: str
    sheet: str
    county: str
    spec: dd.Sheet
    rows: np.ndarray                 # Excel row numbers of the rows in
    raw: pd.DataFrame                # raw cell values by canonical column
    values: pd.DataFrame             # parsed values by canonical column
    reason: pd.Series
    detail: pd.Series
    headers: dict[str, str]          # canonical column -> header as written
    warnings: list[str] = field(default_factory=list)
    corrections_applied: int = 0
    bad_detail: pd.Series | None = None   # per row: headers of blank or unreadable required values
    names: Names = field(default_factory=Names)   # people named in personal-data columns (the quarter's, once known)
    column: pd.Series | None = None       # per row set aside: the headers (as written) of the cells at fault, "、"-joined
    optional_absent: int = 0              # optional (non-personal) columns of the sheet's spec absent from the file

    def flag(self, mask: pd.Series, code: str, detail: pd.Series | str = "", columns: pd.Series | str = "") -> None:
        """Set rows in ``mask`` aside with ``code`` unless an earlier check already did (``detail``: one
        text, or a Series holding at least the rows of ``mask``; ``columns``: the headers of the cells at
        fault, the same way; "" for the whole row)."""
        assert code in REASONS, code
        mask = pd.Series(np.asarray(mask, dtype=bool), index=self.reason.index) & self.reason.isna()
        if not mask.any():
            return
        if self.column is None:
            self.column = pd.Series("", index=self.reason.index, dtype=object)
        self.reason[mask] = code
        rows = mask.index[mask.to_numpy()]
        self.detail[mask] = detail.reindex(rows).to_numpy() if isinstance(detail, pd.Series) else detail
        self.column[mask] = columns.reindex(rows).to_numpy() if isinstance(columns, pd.Series) else columns

    @property
    def ok(self) -> pd.Series:
        return self.reason.isna()


def _columns(body: list[list], width: int) -> list[np.ndarray]:
    """The sheet's rows as one object array per column (rows padded to the same width)."""
    if not body:
        return [np.empty(0, dtype=object) for _ in range(width)]
    if any(len(r) != width for r in body):
        body = [list(r) + [""] * (width - len(r)) for r in body]
    return [np.array(col, dtype=object) for col in zip(*body)]


def _blank_rows(columns: list[np.ndarray], n: int) -> np.ndarray:
    """True for rows whose every cell is empty."""
    blank = np.ones(n, dtype=bool)
    for col in columns:            # only rows still blank are looked at: cheap after the first full column
        rows = np.flatnonzero(blank)
        if len(rows) == 0:
            break
        cells = col[rows]
        empty = (cells == "") | pd.isna(cells)
        rest = ~empty               # whitespace-only cells are blank too
        if rest.any():
            empty[rest] = ps.blank_mask(pd.Series(cells[rest]))
        blank[rows] = empty
    return blank


def _is_subtotal(probe: list[pd.Series]) -> np.ndarray:
    """Rows with 合计, 小计 or 总计 in a code, place or name cell, or in the first columns."""
    hit = np.zeros(len(probe[0]) if probe else 0, dtype=bool)
    for col in probe:
        hit |= ps.contains_any(col, r"合\s*计|小\s*计|总\s*计")
    return hit


def apply_corrections(raw: pd.DataFrame, rows: np.ndarray, headers: dict[str, str],
                      corrections: pd.DataFrame, where: str, names: Names | None = None) -> int:
    """Apply evaluators' corrections to raw cells in place; a mismatch stops intake. Cell values in its
    messages are scrubbed, and the sheet's 户主姓名 ``names`` cut out of them."""
    if corrections.empty:
        return 0
    cell = lambda v: (names or Names()).text(_scrubbed(v))  # noqa: E731
    by_header = {dd.normalize_header(h): c for c, h in headers.items()}
    position = {int(r): i for i, r in enumerate(rows)}
    for rec in corrections.itertuples(index=False):
        col = rec.column if rec.column in raw.columns else by_header.get(dd.normalize_header(rec.column))
        if col is not None and col not in raw.columns:
            raise IntakeStop(f"{where}: data/corrections.csv 的更正（第 {rec.row} 行）指向个人信息列“{_scrubbed(rec.column)}”。"
                             "个人信息不进入入库表，也不能用更正修改；请让县区改正原始文件。 / a correction (row "
                             f"{rec.row}) names the personal-data column '{_scrubbed(rec.column)}': personal data never leaves "
                             "intake and cannot be corrected here; ask the county to fix its file.")
        if col is None:
            raise IntakeStop(f"{where}: data/corrections.csv 的更正（第 {rec.row} 行，列“{_scrubbed(rec.column)}”）指向表中没有的列。"
                             f"请核对列名。 / a correction (row {rec.row}, column '{_scrubbed(rec.column)}') names a column the sheet "
                             "does not have: check the column name.")
        i = position.get(int(rec.row))
        if i is None:
            raise IntakeStop(f"{where}: data/corrections.csv 的更正指向第 {rec.row} 行，但该行不是数据行。请核对行号（Excel 中看到的行号）。 / "
                             f"a correction names row {rec.row}, which is not a data row: check the row number as Excel shows it.")
        current = ps.clean_text(raw.iat[i, raw.columns.get_loc(col)]) or ""
        if current != (ps.clean_text(rec.old) or ""):
            raise IntakeStop(f"{where} 第 {rec.row} 行，列“{_scrubbed(headers.get(col, col))}”: 更正的原值“{cell(rec.old)}”与原始数据"
                             f"“{cell(current)}”不符，未应用任何更正。请核对 data/corrections.csv 中这一条。 / row {rec.row}, column "
                             f"'{_scrubbed(headers.get(col, col))}': the correction's old value '{cell(rec.old)}' does not match the "
                             f"raw value '{cell(current)}'; nothing was applied. Check this line of data/corrections.csv.")
        raw.iat[i, raw.columns.get_loc(col)] = rec.new
    return len(corrections)


def parse_sheet(sheet: RawSheet, spec: dd.Sheet, corrections: pd.DataFrame | None = None) -> ParsedSheet:
    """Header, corrections, values and per-value problems of one sheet."""
    where = f"{sheet.source_file} [{sheet.sheet}]"
    hm = locate_header(sheet.rows, spec, where)
    width = max((len(r) for r in sheet.rows), default=0)
    columns = _columns(sheet.rows[hm.first_data_row:], width)
    n_body = len(sheet.rows) - hm.first_data_row
    keep = ~_blank_rows(columns, n_body)
    excel_rows = np.arange(hm.first_data_row + 1, hm.first_data_row + 1 + n_body)[keep]
    if not keep.all():
        columns = [c[keep] for c in columns]

    warnings = []
    if hm.extra:             # headers as typed can hold anything, personal data too: scrubbed before any log
        warnings.append(f"{where}: 多余的列已忽略 / extra columns ignored: {'、'.join(_scrubbed(h) for h in hm.extra)}")
    if hm.duplicated:
        warnings.append(f"{where}: 重复的列只读第一列 / duplicated columns, the first one read: "
                        f"{'、'.join(_scrubbed(h) for h in hm.duplicated)}")
    found = {c.name: j for j, c in hm.columns.items()}
    optional_absent = 0
    for col in spec.columns:
        if col.name not in found:
            if col.required:
                raise IntakeStop(f"{where}: 缺少必填列“{col.header}”。请在表头加上这一列（也可写作：{'、'.join(col.synonyms) or '无'}）后重新提交。 / "
                                 f"the required column '{col.header}' is missing: add it to the header "
                                 f"(also accepted: {', '.join(col.synonyms) or 'none'}) and submit again.")
            if not col.personal:
                optional_absent += 1
                warnings.append(f"{where}: 缺少可选列“{col.header}”，按空值处理 / optional column '{col.header}' absent, left empty")
    # Personal columns are never materialized, except 户编码 (pseudonymized, kept for private lists).
    n = len(excel_rows)
    index = pd.RangeIndex(n)
    raw = pd.DataFrame({c.name: pd.Series(columns[found[c.name]] if c.name in found else np.full(n, None, dtype=object),
                                          index=index, dtype=object)
                        for c in spec.columns if not c.personal or c.name == "household_code"}, index=index)
    headers = {c.name: _scrubbed(hm.header_text.get(found[c.name], c.header)) if c.name in found else c.header
               for c in spec.columns}
    names = Names(columns[found["head_name"]]) if "head_name" in found else Names()
    applied = apply_corrections(raw, excel_rows, headers, corrections, where, names) if corrections is not None else 0

    reason = pd.Series(None, index=raw.index, dtype=object)
    detail = pd.Series("", index=raw.index, dtype=object)
    parsed = ParsedSheet(sheet.source_file, sheet.sheet, sheet.county, spec, excel_rows, raw,
                         pd.DataFrame(index=raw.index), reason, detail, headers, warnings, applied,
                         names=names, optional_absent=optional_absent)
    probe = [raw[c] for c in ("household_code", "county", "township", "village", "project_id", "project_name",
                              "problem_id") if c in raw.columns]
    probe += [pd.Series(c, index=index) for c in columns[:2]]
    parsed.flag(_is_subtotal(probe), "subtotal")

    values, bad_detail = {}, pd.Series("", index=raw.index, dtype=object)
    for col in spec.columns:
        if col.name not in raw.columns:
            continue
        r = raw[col.name]
        scale = hm.scale.get(found.get(col.name, -1), 1.0 if col.kind == "amount" else 10000.0)
        if col.kind in ("amount", "wan"):
            v, bad = ps.parse_number(r, scale)
        elif col.kind == "int":
            v, bad = ps.parse_number(r)
            bad = bad | (v.notna() & (v != v.round()))
        elif col.kind == "date":
            v, bad = ps.parse_date(r)
        elif col.kind == "quarter":
            v, bad = ps.parse_quarter(r)
        elif col.kind == "yesno":
            v, bad = ps.parse_yesno(r)
        elif col.kind == "category":
            v, bad = ps.parse_category(r, col.values)
        elif col.kind == "code":
            v, bad = r, pd.Series(False, index=r.index)  # judged in validate_households (household_code reason)
        else:
            v, bad = ps.parse_text(r), pd.Series(False, index=r.index)
        missing = v.isna() & ~bad if not col.nullable and col.kind != "code" else pd.Series(False, index=r.index)
        problem = (bad | missing).to_numpy()
        if problem.any():
            bad_detail[problem] += f"{headers[col.name]}；"
        values[col.name] = v
    parsed.values = pd.DataFrame(values, index=raw.index)
    parsed.bad_detail = bad_detail
    return parsed


def _scrubbed(text: object) -> str:
    """One cell, header or message fragment with personal data replaced (the scrubber of pseudonym.py)."""
    return scrub_text(text) or ""


def _bad_values(p: ParsedSheet) -> None:
    d = p.bad_detail
    p.flag(d != "", "bad_value", "无法识别或为空 / unreadable or blank: " + d.str.rstrip("；"),
           d.str.rstrip("；").str.replace("；", "、", regex=False))


def _places(raw: pd.Series) -> pd.Series:
    return pd.Series(ps.map_unique(raw, normalize_place), index=raw.index, dtype="string")


def _check_county(p: ParsedSheet) -> None:
    written = pd.Series(ps.map_unique(p.raw["county"], ps.clean_text), index=p.raw.index, dtype="string")
    county = pd.Series(ps.map_unique(p.raw["county"], normalize_county), index=p.raw.index, dtype="string")
    p.values["county"] = county
    p.flag((written.notna() & county.isna()).to_numpy(), "unknown_place",
           "县(区) / county: " + written.fillna("").astype(str), p.headers["county"])


def _check_places(p: ParsedSheet, crosswalk: Crosswalk, lists_villages: bool = False) -> None:
    """Township and village as the register knows them: a township it does not list in the county, or a
    village it cannot resolve, is unknown_place, never kept as typed (a place cell is free text a clerk
    may fill with anything, personal data too). The 行政村 sheet (``lists_villages``) may add a village the
    register lacks (it extends the crosswalk), in a township the register knows, under a name the
    scrubber leaves unchanged."""
    v = p.values
    township = _places(p.raw["township"])
    known = crosswalk.known_township(v["county"], township)
    p.flag(v["county"].notna() & township.notna() & ~known, "unknown_place",
           "乡镇(街道) / township: " + township.fillna("").astype(str), p.headers["township"])
    v["township"] = township.where(known)
    written = _places(p.raw["village"])
    resolved = crosswalk.resolve(v["county"], written)
    if lists_villages:           # a new village: a village's name, untouched by the scrubbers, in a known township
        clean_name = ((scrub(written) == written) & (p.names.series(written) == written)
                      & written.str.contains(VILLAGE_NAME_RE)).fillna(False).astype(bool)
        resolved = resolved.fillna(written.where(clean_name & known))
    v["village"] = resolved
    p.flag(v["county"].notna() & written.notna() & v["village"].isna(), "unknown_place",
           "行政村 / village: " + written.fillna("").astype(str), p.headers["village"])


VILLAGE_NAME_RE = r"(?:村|社区|居委会|居民委员会)$"      # what a village added by the 行政村 sheet must end with


def _scrub_kept_text(p: ParsedSheet) -> None:
    """Every free-text column that is kept passes the scrubber (IDs, phones, bank cards become placeholders), and
    the names of the quarter's personal-data columns are cut out of it."""
    for c in p.spec.columns:
        if c.kind in ("text", "names") and not c.personal and c.name in p.values and c.name not in ("township", "village"):
            p.values[c.name] = p.names.series(scrub(p.values[c.name].astype("string")))


def _out_of_range(p: ParsedSheet, cfg: dict) -> tuple[pd.Series, pd.Series]:
    """Rows with a number that is not finite, negative where it cannot be, or beyond its column's largest
    believable value (the data dictionary's ``high`` or ``high_setting``), or a date outside
    ``dictionary.DATE_RANGE``, and which columns."""
    bad = pd.Series(False, index=p.values.index)
    which = pd.Series("", index=p.values.index, dtype=object)
    for c in p.spec.columns:
        if c.kind == "date" and c.name in p.values:
            d = pd.to_datetime(p.values[c.name], errors="coerce")
            out = ((d < pd.Timestamp(dd.DATE_RANGE[0])) | (d > pd.Timestamp(dd.DATE_RANGE[1]))).fillna(False).astype(bool)
            if out.any():
                bad |= out
                which[out] += f"{p.headers[c.name]}；"
            continue
        if c.kind not in dd.NUMERIC_KINDS or c.name not in p.values:
            continue
        x = pd.to_numeric(p.values[c.name], errors="coerce").astype("float64")
        high = c.high if c.high is not None else (float(cfg[c.high_setting]) if c.high_setting else np.inf)
        out = (x.notna() & ~np.isfinite(x)) | (x.abs() > high) | ((x < 0) if not c.signed else False)
        out = out.fillna(False).astype(bool)
        if out.any():
            bad |= out
            which[out] += f"{p.headers[c.name]}；"
    return bad, which


def _impossible(p: ParsedSheet, cfg: dict, extra: pd.Series | None = None) -> None:
    bad, which = _out_of_range(p, cfg)
    columns = which.str.rstrip("；").str.replace("；", "、", regex=False)
    if extra is not None:
        which[extra & ~bad] = "劳动力与家庭人口不符 / labour and household size disagree；"
        columns[extra & ~bad] = f"{p.headers['labour']}、{p.headers['household_size']}"
        bad = bad | extra
    if bad.any():
        p.flag(bad, "impossible_value", "超出合理范围 / out of range: " + which[bad].str.rstrip("；"), columns)


def validate_households(p: ParsedSheet, crosswalk: Crosswalk, cfg: dict) -> None:
    """Row checks of 农户监测 in the order of the spec's table; the first problem wins."""
    v = p.values
    codes, unusable = ps.household_code_status(p.raw["household_code"])
    v["household_code"] = codes
    as_number = ps.map_unique(p.raw["household_code"], lambda x: isinstance(x, (int, float)) and x == x).astype(bool)
    p.flag(unusable, "household_code", pd.Series(np.where(
        as_number, "户编码 / household code: 数字格式 / stored as a number",
        "户编码 / household code: 非18位 / not 18 digits"), index=p.raw.index), p.headers["household_code"])
    _check_county(p)
    _check_places(p, crosswalk)
    _scrub_kept_text(p)
    _bad_values(p)
    tol = np.maximum(cfg["income_abs_tolerance"], cfg["income_rel_tolerance"] * v["income_total"].abs())
    parts = v[["income_wage", "income_business", "income_property", "income_transfer"]].sum(axis=1)
    _impossible(p, cfg, ((v["labour"] > v["household_size"]) | (v["household_size"] < 1)).fillna(False).astype(bool))
    p.flag(((parts - v["income_total"]).abs() > tol).fillna(False), "income_parts",
           "差额 / difference: " + (v["income_total"] - parts).round(2).astype(str), p.headers["income_total"])


def validate_other(p: ParsedSheet, register: Crosswalk, cfg: dict) -> None:
    """Row checks of 行政村, 项目资金 and 问题整改; the 行政村 sheet's places are checked against the register."""
    _check_county(p)
    if "township" in p.raw:
        _check_places(p, register, lists_villages=p.spec is dd.VILLAGES)
    _scrub_kept_text(p)
    _bad_values(p)
    _impossible(p, cfg)


def _check_file_county(p: ParsedSheet, min_rows: int = 5) -> None:
    """The county in the file name must be the county of most rows: a county's file that holds another
    county's rows (a file saved under the wrong name) stops intake instead of turning them all into
    duplicates of the other county's rows."""
    county = p.values["county"].dropna()
    if len(county) < min_rows or (county == p.county).mean() >= 0.5:
        return
    top = county.value_counts()
    raise IntakeStop(f"{p.source_file} [{p.sheet}]: 文件名写的是{p.county}，但 {len(county)} 行中只有 {int((county == p.county).sum())} "
                     f"行是{p.county}，最多的是{top.index[0]}（{int(top.iloc[0])} 行）。这个文件可能是别的县区的表，用错了文件名。"
                     f"请核对后重新命名或更换文件。 / the file name says {p.county}, but only {int((county == p.county).sum())} of "
                     f"{len(county)} rows are {p.county}; most are {top.index[0]} ({int(top.iloc[0])}). The file may be another "
                     "county's, saved under the wrong name: check it and rename or replace it.")


def mark_duplicates(frame: pd.DataFrame, key: list[str], compare: list[str]) -> pd.Series:
    """'duplicate' for identical repeats after the first, 'conflicting_duplicate' for all rows of
    a key whose values differ; None elsewhere."""
    out = pd.Series(None, index=frame.index, dtype=object)
    dup_any = frame.duplicated(key, keep=False)
    if not dup_any.any():
        return out
    sub = frame.loc[dup_any, key + compare].astype("string").fillna("<NA>")
    n_versions = sub.drop_duplicates().groupby(key).size()
    conflicting = sub.set_index(key).index.isin(n_versions[n_versions > 1].index)
    out.loc[sub.index[conflicting]] = "conflicting_duplicate"
    identical = sub[~conflicting]
    repeat = identical.duplicated(key, keep="first")
    out.loc[identical.index[repeat.to_numpy()]] = "duplicate"
    return out


# --------------------------------------------------------------------------------------
# One quarter
# --------------------------------------------------------------------------------------
@dataclass
class QuarterResult:
    """The clean tables, quarantine and log of one quarter, plus private lists."""

    quarter: str
    tables: dict[str, pd.DataFrame]
    private_quarantine: pd.DataFrame
    codes: pd.DataFrame
    warnings: list[str]


def load_corrections(path: Path, quarters: list[str] | None = None) -> pd.DataFrame:
    """data/corrections.csv (empty frame if the file is absent), read in UTF-8 or GBK as Excel saves it.

    Every line must name a quarter written YYYYQn (one of ``quarters``, the folders of data/raw, when
    given) and a whole row number: a correction that would be silently ignored stops intake instead."""
    import io

    from helpers.intake.readers import decode_csv_bytes

    if not path.exists():
        return pd.DataFrame(columns=CORRECTION_COLUMNS)
    text, _ = decode_csv_bytes(read_bytes(path), path)
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, ValueError) as err:
        raise IntakeStop(f"{path}: 无法按 CSV 读取（{type(err).__name__}）。请在 Excel 中另存为“CSV UTF-8”。 / "
                         "cannot be read as CSV: save it again as 'CSV UTF-8' in Excel.") from None
    missing = set(CORRECTION_COLUMNS) - set(frame.columns)
    if missing:
        raise IntakeStop(f"{path}: 缺少列 {sorted(missing)}。 / the corrections file lacks columns {sorted(missing)}.")
    bad_row = ~frame["row"].str.fullmatch(r"\d+")
    if bad_row.any():
        raise IntakeStop(f"{path}: 第 {int(np.flatnonzero(bad_row)[0]) + 2} 行的 row 不是整数。 / row is not a whole number "
                         f"on line {int(np.flatnonzero(bad_row)[0]) + 2}.")
    bad_quarter = ~frame["quarter"].str.fullmatch(QUARTER_RE.pattern.strip("^$"))
    if quarters is not None:
        bad_quarter |= ~frame["quarter"].isin(quarters)
    if bad_quarter.any():
        i = int(np.flatnonzero(bad_quarter)[0])
        raise IntakeStop(f"{path}: 第 {i + 2} 行的季度“{_scrubbed(frame['quarter'].iloc[i])}”不是 data/raw 中的季度（写作 2023Q2，"
                         f"无空格）。 / line {i + 2}: the quarter '{_scrubbed(frame['quarter'].iloc[i])}' is not one of the quarter "
                         f"folders of data/raw (write it as 2023Q2, no spaces){': ' + ', '.join(quarters) if quarters else ''}.")
    frame["source_file"] = frame["source_file"].map(scrub_text)    # as the submissions' names are (process_quarter)
    return frame


QUARANTINE_COLUMNS = ["quarter", "source_file", "sheet", "row", "county", "reason", "reason_zh", "reason_en",
                      "detail", "column", "household_id", "values"]
_EMPTY_QUARANTINE = pd.DataFrame({c: pd.Series(dtype="int64" if c == "row" else "string") for c in QUARANTINE_COLUMNS})


def _quarantine_frame(p: ParsedSheet, quarter: str, mask: pd.Series, key: PseudonymKey) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Shared quarantine rows (no personal data) and the private version with 户编码."""
    idx = mask[mask].index
    if len(idx) == 0:
        return _EMPTY_QUARANTINE, _EMPTY_QUARANTINE
    personal = [c.name for c in p.spec.columns if c.personal]
    shown = [c.name for c in p.spec.columns if not c.personal]
    raw_text = p.raw.loc[idx, shown].map(lambda x: ps.clean_text(x) if not hasattr(x, "isoformat") else x.isoformat())
    for c in shown:        # the cells as typed, scrubbed: a clerk may type personal data into any of them
        raw_text[c] = p.names.series(scrub(raw_text[c].astype("string"))).astype(object).where(raw_text[c].notna(), None)
    values = [p.names.text(json.dumps({p.headers[c]: t for c, t in zip(shown, row) if t is not None}, ensure_ascii=False))
              for row in raw_text.itertuples(index=False)]
    if "household_code" in p.values:
        hid = key.pseudonymize(p.values.loc[idx, "household_code"])
    else:
        hid = pd.Series(pd.NA, index=idx, dtype="string")
    reason = p.reason[idx]
    shared = pd.DataFrame({
        "quarter": quarter, "source_file": p.source_file, "sheet": p.sheet,
        "row": p.rows[np.asarray(p.reason.index.get_indexer(idx))].astype("int64"),
        "county": p.county, "reason": reason.astype("string"),
        "reason_zh": reason.map(lambda r: REASONS[r][0]).astype("string"),
        "reason_en": reason.map(lambda r: REASONS[r][1]).astype("string"),
        "detail": p.names.series(scrub(p.detail[idx].astype("string"))),
        "column": (p.column[idx] if p.column is not None else pd.Series("", index=idx)).astype("string"),
        "household_id": hid.astype("string"),
        "values": pd.Series(values, index=idx, dtype="string"),
    })
    private = shared.copy()
    if "household_code" in personal:
        private.insert(5, "户编码", p.raw.loc[idx, "household_code"].map(ps.clean_text).astype("string"))
    return shared.reset_index(drop=True), private.reset_index(drop=True)


HQ_COLUMNS = ["household_id", "quarter", "county", "township", "village", "household_type", "monitor_type",
              "risk_eliminated", "risk_eliminated_date", "household_size", "labour", "relocated",
              "income_wage", "income_business", "income_property", "income_transfer", "income_total",
              "income_per_capita", "industry_support", "industry_start", "industry_subsidy",
              "employment_support", "employment_start", "microcredit", "workers", "source_file", "source_row"]


def process_quarter(quarter: str, paths: Paths, key: PseudonymKey, corrections: pd.DataFrame,
                    register: pd.DataFrame, cfg: dict) -> QuarterResult:
    """Read, parse, check and de-identify one quarter's submissions."""
    folder = paths.raw / quarter
    files, warnings = list_files(folder, quarter)
    warnings = [scrub_text(w) for w in warnings]       # stray files' names may carry a phone or ID number
    if not files:
        raise IntakeStop(f"{folder}: 文件夹中没有 {quarter} 的提交文件。 / no submission files for {quarter} in this folder.")
    sheets: dict[tuple[str, str], RawSheet] = {}
    log_rows = []
    for sub in files:
        for raw in read_file(sub):
            # File and sheet names are typed by people and reach tables, logs and reports: scrubbed here.
            raw.source_file, raw.sheet = scrub_text(raw.source_file), scrub_text(raw.sheet)
            spec = sheet_spec(raw.sheet)
            if spec is None:
                warnings.append(f"{raw.source_file} [{raw.sheet}]: 多余的工作表已忽略 / extra sheet ignored")
                continue
            if (sub.county, spec.name) in sheets:
                raise IntakeStop(f"{raw.source_file} [{raw.sheet}]: {sub.county} 的“{spec.name}”提交了两次"
                                 f"（另见 {sheets[(sub.county, spec.name)].source_file}）。请只保留一份。 / "
                                 f"{sub.county} sent sheet '{spec.name}' twice: keep one.")
            raw.sheet = spec.name
            sheets[(sub.county, spec.name)] = raw
    counties = sorted({s.county for s in files}, key=dd.COUNTIES.index)
    missing_warnings, missing_rows = missing_sheets(quarter, files, set(sheets))
    warnings.extend(missing_warnings)
    log_rows.extend(missing_rows)
    for county in set(dd.COUNTIES) - set(counties):
        warnings.append(f"{quarter}: {county} 本季度没有提交 / no submission from {county} this quarter")

    def corr_for(raw: RawSheet) -> pd.DataFrame:
        c = corrections[(corrections["quarter"] == quarter) & (corrections["source_file"] == raw.source_file)
                        & (corrections["sheet"].map(lambda s: sheet_spec(s) is not None and sheet_spec(s).name == raw.sheet))]
        return c

    used_corrections = 0
    parsed: dict[tuple[str, str], ParsedSheet] = {}
    for (county, name), raw in sheets.items():
        c = corr_for(raw)
        parsed[(county, name)] = parse_sheet(raw, dd.SHEET_BY_NAME[name], c)
        used_corrections += len(c)
    names = Names.union(p.names for p in parsed.values())     # everyone the quarter's 户主姓名 columns name is cut out of every kept text
    for p in parsed.values():
        p.names = names
        p.warnings = [names.text(w) for w in p.warnings]
    expected = int((corrections["quarter"] == quarter).sum())
    if used_corrections != expected:
        raise IntakeStop(f"data/corrections.csv: {quarter} 有 {expected} 条更正，但只有 {used_corrections} 条对应到本季度的文件和工作表。"
                         f"请核对 source_file 和 sheet。 / {expected} corrections for {quarter}, but only {used_corrections} "
                         f"name a file and sheet of this quarter: check source_file and sheet.")

    # Villages first, against the register: their 原村名 extend the crosswalk for the quarter.
    register_only = Crosswalk(register)
    village_frames = []
    for (county, name), p in parsed.items():
        if name == dd.VILLAGES.name:
            validate_other(p, register_only, cfg)
            ok = p.ok
            v = p.values[ok]
            village_frames.append(pd.DataFrame({"county": v["county"], "township": v["township"],
                                                "village": v["village"], "former_names": p.raw.loc[ok, "former_names"]}))
    crosswalk = Crosswalk(register, pd.concat(village_frames) if village_frames else None)
    for (county, name), p in parsed.items():
        if name == dd.HOUSEHOLDS.name:
            validate_households(p, crosswalk, cfg)
        elif name != dd.VILLAGES.name:
            validate_other(p, crosswalk, cfg)
    for p in parsed.values():
        _check_file_county(p)

    # Duplicates across the whole quarter, among rows that passed every other check.
    for spec in dd.SHEETS:
        group = [(k, p) for k, p in parsed.items() if k[1] == spec.name]
        if not group:
            continue
        keycols = ["household_code"] if spec is dd.HOUSEHOLDS else [c for c in spec.key if c != "quarter"]
        compare = [c.name for c in spec.columns if not c.personal and c.name not in keycols]
        frames = [p.values.loc[p.ok, keycols + compare].assign(_sheet=i) for i, (_, p) in enumerate(group)]
        allrows = pd.concat(frames)
        allrows.index = pd.MultiIndex.from_arrays([allrows["_sheet"], allrows.index])
        marks = mark_duplicates(allrows.drop(columns="_sheet"), keycols, compare)
        for i, (_, p) in enumerate(group):
            m = marks[marks.index.get_level_values(0) == i].droplevel(0)
            for code in ("duplicate", "conflicting_duplicate"):
                flag_duplicates(p, keycols, code, m[m == code].index)

    # Assemble clean tables, quarantine and the log.
    clean: dict[str, list[pd.DataFrame]] = {s.table: [] for s in dd.SHEETS}
    quarantine, private, codes = [], [], []
    for (county, name), p in parsed.items():
        v, q_shared, q_private, hh_codes, log_row = assemble_sheet(p, county, quarter, key,
                                                                    sheets[(county, name)].encoding)
        clean[p.spec.table].append(v)
        quarantine.append(q_shared)
        private.append(q_private)
        if hh_codes is not None:
            codes.append(hh_codes)
        log_rows.append(log_row)
        warnings.extend(p.warnings)

    tables = {}
    for spec in dd.SHEETS:
        frames = [f for f in clean[spec.table] if len(f)]
        tables[spec.table] = (pd.concat(frames, ignore_index=True) if frames else
                              _empty_table(spec)).reset_index(drop=True)
    tables["quarantine"] = pd.concat(quarantine, ignore_index=True) if quarantine else pd.DataFrame()
    tables["intake_log"] = pd.DataFrame(log_rows)
    from helpers.intake.schemas import validate_quarter

    validate_quarter(tables, quarter)
    return QuarterResult(quarter, tables, pd.concat(private, ignore_index=True),
                         pd.concat(codes, ignore_index=True).drop_duplicates() if codes else pd.DataFrame(),
                         [names.text(w) for w in warnings])


def missing_sheets(quarter: str, files, present: set) -> tuple[list[str], list[dict]]:
    """The sheets a county that sent files did not send (``present``: the (county, sheet) pairs read): ``IntakeStop``
    for an essential one; otherwise a warning and an empty log row each (the county's table is empty this quarter).
    Both engines use it."""
    warnings, rows = [], []
    for county in sorted({f.county for f in files}, key=dd.COUNTIES.index):
        for spec in dd.SHEETS:
            if (county, spec.name) in present:
                continue
            source = scrub_text(next(f.path.name for f in files if f.county == county))
            if spec.essential:
                raise IntakeStop(f"{source}: {county} 缺少“{spec.name}”工作表（或 {quarter}_{county}_{spec.name}.csv）。"
                                 f"请补交这张表。 / the '{spec.name}' sheet is missing for {county}: submit it.")
            msg = (f"{source}: {county} 缺少“{spec.name}”表，本季度该县此表为空 / "
                   f"sheet '{spec.name}' missing: {county}'s {spec.table} is empty this quarter")
            warnings.append(msg)
            n_opt = sum(1 for c in spec.columns if not c.required and not c.personal)
            rows.append(dict(quarter=quarter, county=county, source_file=source, sheet=spec.name, encoding="",
                             rows_in=0, rows_clean=0, rows_quarantined=0, corrections=0, warnings=msg,
                             missing_sheet=True, optional_columns=n_opt, optional_absent=n_opt))
    return warnings, rows


def flag_duplicates(p, keycols: list[str], code: str, rows) -> None:
    """Set aside the rows ``rows`` (index labels) of the parsed sheet ``p`` as ``code`` (``duplicate``,
    ``conflicting_duplicate``), naming the key columns as the sheet headed them. Both engines use it."""
    hit = pd.Series(False, index=p.reason.index)
    hit.loc[rows] = True
    p.flag(hit, code, "与同季度其他行重复 / repeats another row of the quarter",
           "、".join(p.headers[c] for c in keycols if c in p.headers))


def assemble_sheet(p, county: str, quarter: str, key, encoding: str | None):
    """One parsed sheet, checked, as its pieces of the quarter's tables: its clean rows (households: pseudonymized,
    with income per capita and the source file and row), its set-aside rows (shared and private), its households'
    code list (households only, else None) and its log row. Rows in = clean + set aside is asserted here, for both
    engines (``key``: the pseudonym key, anything with ``pseudonymize``)."""
    ok = p.ok
    v = p.values.loc[ok].copy()
    v["quarter"] = quarter
    codes = None
    if p.spec is dd.HOUSEHOLDS:
        v["household_id"] = key.pseudonymize(v["household_code"])
        codes = pd.DataFrame({"household_id": v["household_id"], "户编码": v["household_code"]})
        v["income_per_capita"] = v["income_total"] / v["household_size"]
        v["source_file"] = p.source_file
        v["source_row"] = p.rows[ok.to_numpy()]
        v = v[HQ_COLUMNS]
    else:
        v = v[[c.name for c in p.spec.columns if not c.personal] + ["quarter"]]
    q_shared, q_private = _quarantine_frame(p, quarter, ~ok, key)
    rows_in, rows_clean, rows_q = len(p.values), int(ok.sum()), int((~ok).sum())
    assert rows_in == rows_clean + rows_q == len(v) + len(q_shared), (p.source_file, p.sheet)
    log_row = dict(quarter=quarter, county=county, source_file=p.source_file, sheet=p.sheet,
                   encoding=encoding or "xlsx", rows_in=rows_in, rows_clean=rows_clean, rows_quarantined=rows_q,
                   corrections=p.corrections_applied, warnings="; ".join(p.warnings), missing_sheet=False,
                   optional_columns=sum(1 for c in p.spec.columns if not c.required and not c.personal),
                   optional_absent=p.optional_absent)
    return v, q_shared, q_private, codes, log_row


def _empty_table(spec: dd.Sheet) -> pd.DataFrame:
    cols = HQ_COLUMNS if spec is dd.HOUSEHOLDS else [c.name for c in spec.columns if not c.personal] + ["quarter"]
    return pd.DataFrame({c: pd.Series(dtype="object") for c in cols})


# --------------------------------------------------------------------------------------
# The cache and the processed tables
# --------------------------------------------------------------------------------------
def available_quarters(raw: Path) -> list[str]:
    """Quarter folders (YYYYQn) in data/raw, in order."""
    if not raw.exists():
        return []
    return sorted(p.name for p in raw.iterdir() if p.is_dir() and QUARTER_RE.match(p.name))


_LOOSE_QUARTER_RE = re.compile(r"^(\d{4})\s*[-_.年]?\s*(?:[Qq]\s*([1-4])|第?\s*([1-4一二三四])\s*季度)\s*$")
_CN_QUARTER = {"一": "1", "二": "2", "三": "3", "四": "4"}


def check_raw_folder(raw: Path) -> None:
    """Stop if ``raw`` is not a folder, or if a folder in it is a quarter written another way (``2023q2``,
    ``2023Q2 ``, ``２０２３Ｑ２``, ``2023-Q2``): otherwise that whole quarter would be silently left out."""
    raw = Path(raw)
    if raw.exists() and not raw.is_dir():
        raise IntakeStop(f"{raw}: 这是一个文件，不是存放各季度文件夹的目录。请指定 data/raw 这样的文件夹。 / this is a file, "
                         f"not the folder of quarter folders: point to a folder such as data/raw.")
    if not raw.exists():
        return
    for p in sorted(raw.iterdir()):
        if not p.is_dir() or QUARTER_RE.match(p.name):
            continue
        m = _LOOSE_QUARTER_RE.match(unicodedata.normalize("NFKC", p.name).strip())
        as_quarter = f"{m[1]}Q{_CN_QUARTER.get(m[2] or m[3], m[2] or m[3])}" if m else None
        if as_quarter is not None:
            raise IntakeStop(f"{p}: 文件夹名“{p.name}”像是季度 {as_quarter}，但不是规定的写法，整个季度会被漏读。请改名为 {as_quarter}"
                             f"（四位年份、大写 Q、季度数字，无空格）。 / the folder name '{p.name}' looks like quarter "
                             f"{as_quarter} but is not written as one, so the whole quarter would be left out: rename it "
                             f"to {as_quarter} (four-digit year, capital Q, the quarter, no spaces).")


def code_version() -> str:
    """Hash of the intake code: this module and every helpers module it imports, transitively
    (``store.codehash``, the rule of every cache of the workbook); any change invalidates the cache."""
    return code_hash(__name__)[:16]


def cache_key(quarter: str, paths: Paths, key: PseudonymKey, corrections: pd.DataFrame, cfg: dict) -> str:
    """What a quarter's intake depends on: raw files, code, dictionary, crosswalk, corrections, key."""
    folder = paths.raw / quarter
    parts = {
        "files": {p.name: _hash_or_why(p) for p in sorted(folder.iterdir()) if p.is_file()},
        "code": code_version(),
        "register": file_hash(paths.register),
        "corrections": corrections[corrections["quarter"] == quarter].to_csv(index=False),
        "key": key.fingerprint,
        "settings": cfg,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:24]


@dataclass
class IntakeSummary:
    """What one intake run did."""

    quarter: str
    quarters: list[str]
    processed: list[str]
    cached: list[str]
    log: pd.DataFrame
    warnings: list[str]
    key_fingerprint: str
    seconds: float


def run_intake(quarter: str | None = None, paths: Paths | None = None, key: PseudonymKey | None = None,
               progress=None, engine=None) -> IntakeSummary:
    """Bring data/processed up to ``quarter`` (default: the latest in data/raw).

    Every quarter folder up to ``quarter`` is read (or taken from the cache when nothing it
    depends on changed); the processed tables then cover all of them.

    ``engine`` (default ``helpers.engine.current()``, the engine of the innermost ``with use(engine):``): with the
    local engine a quarter is made in this process (``process_quarter``) and cached as one file per table
    (``_cache/<q>/<table>.parquet``); with the Dask engine each county's files are one task on the workers and the
    quarter's tables are written by them as partitions (``<table>/quarter=<q>/county=<c>/part-0.parquet``,
    ``intake.partitioned``), which are then the quarter's cache. Either way the processed tables
    (``<table>.parquet``) are the same rows in the same order with the same types, and the cache key does not
    include the engine: a quarter cached by one engine is read from the cache by the other.
    """
    from helpers.engine import current
    from helpers.store.locks import processed_lock

    paths = paths or Paths()
    engine = engine if engine is not None else current()
    with processed_lock(paths.processed, progress):
        return _run_intake(quarter, paths, key, progress, engine)


def _run_intake(quarter: str | None, paths: Paths, key: PseudonymKey | None, progress, engine) -> IntakeSummary:
    from helpers.intake.partitioned import remove_partitions
    from helpers.store.locks import remove_leftovers

    t0 = time.perf_counter()
    say = progress or (lambda msg: None)
    remove_leftovers(paths.processed, paths.private)
    check_raw_folder(paths.raw)
    quarters = available_quarters(paths.raw)
    if not quarters:
        raise IntakeStop(f"{paths.raw}: 没有季度文件夹（如 2023Q2/）。请先放入各县区的提交文件，或运行 workbook simulate。 / "
                         f"no quarter folders (such as 2023Q2/): add the county submissions, or run workbook simulate.")
    quarter = quarter or quarters[-1]
    if quarter not in quarters:
        raise IntakeStop(f"{paths.raw}: 没有季度 {quarter}。可选 / no quarter {quarter}; available: {', '.join(quarters)}")
    quarters = [q for q in quarters if q <= quarter]
    key = key or load_key()
    cfg = settings()["intake"]
    manifest_path = paths.processed / "manifest.json"
    manifest = read_json(manifest_path)
    if manifest.get("key_fingerprint") and manifest["key_fingerprint"] != key.fingerprint:
        raise IntakeStop(f"{paths.processed}: 现有数据由指纹为 {manifest['key_fingerprint']} 的密钥生成，当前密钥指纹为 {key.fingerprint}，"
                         f"拒绝混用。请使用本局统一的密钥，或删除 data/processed 后全部重建。 / the processed tables were made under "
                         f"key fingerprint {manifest['key_fingerprint']} but the current key is {key.fingerprint}: refusing to mix. "
                         f"Use the bureau's key, or delete data/processed and rebuild.")
    corrections = load_corrections(paths.corrections, available_quarters(paths.raw))
    register = load_register(paths.register)
    cache_root = paths.processed / "_cache"
    processed, cached, warnings, later = [], [], {}, []
    for q in quarters:
        ck = cache_key(q, paths, key, corrections, cfg)
        qdir = cache_root / q
        stamp = read_json(qdir / "cache.json")
        if stamp.get("key") == ck and _cache_intact(qdir, stamp, paths.processed) and _private_intact(paths.private / q, stamp):
            cached.append(q)
            say(f"{q}: 未变化，使用缓存 / unchanged, cached")
            warnings[q] = stamp.get("warnings", [])
        elif engine.is_dask:
            later.append((q, ck))                              # below: several quarters at once on the workers
        else:
            say(f"{q}: 读取提交文件 / reading submissions ...")
            res = process_quarter(q, paths, key, corrections, register, cfg)
            (qdir / "cache.json").unlink(missing_ok=True)      # no stamp while the tables are being replaced
            remove_partitions(paths.processed, q)              # a quarter the Dask engine made before
            for t in TABLES:
                write_table(res.tables[t], qdir / f"{t}.parquet", KEYS[t], f"{q}/{t}", {"key_fingerprint": key.fingerprint})
            pdir = private_dir(paths.private / q)                # 0700: household-level lists for evaluators only
            write_people_csv(res.private_quarantine, pdir / "quarantine.csv")
            # the same rows unneutralized, for the county feedback workbooks (pipeline.feedback), privately
            write_table(res.private_quarantine, pdir / "quarantine.parquet", None, f"{q}/quarantine")
            private_permissions(pdir / "quarantine.parquet")
            if len(res.codes):
                write_table(res.codes, pdir / "household_codes.parquet", ["household_id"], f"{q}/household_codes")
                private_permissions(pdir / "household_codes.parquet")
            tables = {t: file_hash(qdir / f"{t}.parquet") for t in TABLES}
            private = ["quarantine.csv", "quarantine.parquet"] + (["household_codes.parquet"] if len(res.codes) else [])
            atomic_write_text(qdir / "cache.json", json.dumps({"key": ck, "warnings": res.warnings, "tables": tables,
                                                              "private": private}, ensure_ascii=False, indent=1))
            warnings[q] = res.warnings
            processed.append(q)
    if later:
        processed += _partitioned_quarters(later, paths, key, corrections, register, cfg, engine, say, warnings)
    warnings = [w for q in quarters for w in warnings.get(q, [])]
    log = _write_processed(paths, cache_root, key, quarters, manifest_path)
    return IntakeSummary(quarter, quarters, processed, cached, log, warnings, key.fingerprint,
                         time.perf_counter() - t0)


def _partitioned_quarters(todo: list[tuple[str, str]], paths: Paths, key: PseudonymKey, corrections: pd.DataFrame,
                          register: pd.DataFrame, cfg: dict, engine, say, warnings: dict) -> list[str]:
    """The quarters to read on the Dask engine (``intake.partitioned``), as many at once as there are workers (each
    quarter's county tasks then fill the workers' gaps), each stamped in the cache when written. A quarter that
    stops: the first such quarter's stop is raised, after the quarters that finished are stamped."""
    from concurrent.futures import ThreadPoolExecutor

    from helpers.intake.partitioned import process_quarter_partitioned, remove_partitions

    for q, _ in todo:
        qdir = paths.processed / "_cache" / q
        (qdir / "cache.json").unlink(missing_ok=True)          # no stamp while the tables are being replaced
        for t in TABLES:
            (qdir / f"{t}.parquet").unlink(missing_ok=True)
        remove_partitions(paths.processed, q)
    say(f"{', '.join(q for q, _ in todo)}: 读取提交文件（Dask，每县区一个任务） / reading submissions (Dask, one task per county) ...")

    def one(q: str):
        try:
            return process_quarter_partitioned(q, paths, key, corrections, register, cfg, engine, say), None
        except Exception as exc:      # noqa: BLE001 - raised below, in the order of the quarters
            return None, exc

    with ThreadPoolExecutor(max_workers=max(1, min(len(todo), engine.workers))) as pool:
        results = list(pool.map(one, [q for q, _ in todo]))
    done, first = [], None
    for (q, ck), (res, exc) in zip(todo, results):
        if exc is not None:
            first = first or exc
            continue
        qdir = paths.processed / "_cache" / q
        qdir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(qdir / "cache.json", json.dumps({"key": ck, "warnings": res["warnings"], "parts": res["parts"],
                                                          "private": res["private"]}, ensure_ascii=False, indent=1))
        warnings[q] = res["warnings"]
        done.append(q)
    if first is not None:
        raise first
    return done


def _hash_or_why(path: Path) -> str:
    """A file's hash for the cache key; a file that cannot be read (locked, no permission) gives the reason
    instead, so the quarter is read again and the reader's message (not a traceback) says what to do."""
    try:
        return file_hash(path)
    except OSError as exc:
        return f"unreadable: {exc.__class__.__name__}"


def _private_intact(pdir: Path, stamp: dict) -> bool:
    """The quarter's private lists (household codes, quarantine with 户编码) are where intake writes them now:
    deleted, or a new private folder, and the quarter is read again (the shared cache never holds codes)."""
    return "private" in stamp and all((pdir / name).exists() for name in stamp["private"])


def _cache_intact(qdir: Path, stamp: dict, processed: Path | None = None) -> bool:
    """A quarter's cache is used only if its stamp was written after every table (the stamp records each
    table's hash, written last) and every table is still the one the stamp recorded: one file per table
    (``tables``, the local engine) or the partitions the Dask engine wrote (``parts``, paths under ``processed``)."""
    if "parts" in stamp:
        parts = stamp["parts"]
        return processed is not None and set(parts) == set(TABLES) and all(
            (processed / rel).exists() and file_hash(processed / rel) == h for t in TABLES for rel, h, _ in parts[t])
    tables = stamp.get("tables", {})
    return set(tables) == set(TABLES) and all(
        (qdir / f"{t}.parquet").exists() and file_hash(qdir / f"{t}.parquet") == h for t, h in tables.items())


def cache_sources(processed: Path, quarter: str, table: str) -> list[Path]:
    """The files that hold ``table`` of ``quarter`` in the cache, in the order of its rows."""
    stamp = read_json(processed / "_cache" / quarter / "cache.json")
    if "parts" in stamp:
        return [processed / rel for rel, _, _ in stamp["parts"][table]]
    return [processed / "_cache" / quarter / f"{table}.parquet"]


def build_households(hq: pd.DataFrame) -> pd.DataFrame:
    """One row per household ever seen: place and type from its latest quarter, first and last quarter.

    Works on integer codes (one factorization of the household codes), not by sorting the
    household-quarter rows: at city scale that sort was most of the assembly's time."""
    columns = ["county", "township", "village", "household_type", "relocated"]
    if hq.empty:
        return pd.DataFrame(columns=["household_id", *columns, "first_quarter", "last_quarter", "quarters_seen"])
    order = np.argsort(pd.factorize(hq["quarter"], sort=True)[0], kind="stable")     # quarters in order
    codes, _ = pd.factorize(hq["household_id"].to_numpy()[order])
    _, first = np.unique(codes, return_index=True)            # position of each code's first row ...
    _, from_end = np.unique(codes[::-1], return_index=True)   # ... and of its last
    last = order[len(codes) - 1 - from_end]
    out = hq.iloc[last][["household_id", *columns]].reset_index(drop=True)
    out["first_quarter"] = hq["quarter"].iloc[order[first]].array
    out["last_quarter"] = hq["quarter"].iloc[last].array
    out["quarters_seen"] = np.bincount(codes).astype("int64")
    return out.sort_values("household_id", ignore_index=True)


def simulated(raw: Path) -> dict | None:
    """What the simulator wrote beside the quarter folders (``SIMULATED.json``), or None for real submissions.
    Recorded in the processed manifest so that every page can say when its data are simulated."""
    try:
        marker = json.loads((Path(raw) / SIMULATED_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(marker, dict) or marker.get("simulated") is not True:
        return None
    return {k: marker.get(k) for k in ("written_by", "seed", "households", "first", "last")}


def _write_processed(paths: Paths, cache_root: Path, key: PseudonymKey, quarters: list[str],
                     manifest_path: Path) -> pd.DataFrame:
    """The processed tables: each quarter's cached tables stacked one quarter at a time
    (``storage.stack_parquet``), never all in memory and never through pandas. Each quarter's
    table had its key asserted when it was cached; every key includes the quarter, and each
    part is checked to hold its own quarter only, so the stacked keys are unique too.
    Returns the intake log."""
    meta = {"key_fingerprint": key.fingerprint, "quarters": ",".join(quarters)}

    sources = {name: [(s, q) for q in quarters for s in cache_sources(paths.processed, q, name)] for name in TABLES}
    quarter_of = {s: q for parts in sources.values() for s, q in parts}

    def own_quarter(source: Path, table: pa.Table) -> None:
        q = quarter_of[source]
        if len(table) and not pc.all(pc.equal(table["quarter"], q)).as_py():
            raise AssertionError(f"{source}: the cached table of {q} holds rows of another quarter")

    rows = {name: stack_parquet([s for s, _ in sources[name]], paths.processed / f"{name}.parquet", meta, own_quarter,
                                group=quarter_of.get) for name in TABLES}
    columns = ["household_id", "quarter", "county", "township", "village", "household_type", "relocated"]
    households = build_households(pq.read_table(paths.processed / "household_quarters.parquet", columns=columns).to_pandas())
    write_table(households, paths.processed / "households.parquet", ["household_id"], "households", meta)
    rows["households"] = len(households)
    manifest = {"key_fingerprint": key.fingerprint, "quarters": quarters, "rows": rows,
                "simulated": simulated(paths.raw)}
    atomic_write_text(manifest_path, json.dumps(manifest, ensure_ascii=False, indent=1))
    return pd.read_parquet(paths.processed / "intake_log.parquet")


def load_table(name: str, paths: Paths | None = None, columns: list[str] | None = None) -> pd.DataFrame:
    """A processed table by name (households, household_quarters, villages, projects, ...): its file, or where only
    the Dask engine's partitions of it are (``<name>/quarter=<q>/county=<c>/``), the same frame read from them
    (``storage.read_table``)."""
    from helpers.store.storage import read_table

    paths = paths or Paths()
    path = paths.processed / f"{name}.parquet"
    if not path.exists() and (paths.processed / name).is_dir():
        path = paths.processed / name
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist yet: run `workbook intake` first.")
    return read_table(path, columns=columns)


__all__ = ["run_intake", "process_quarter", "parse_sheet", "IntakeStop", "load_table", "available_quarters",
           "build_households", "mark_duplicates", "assert_key"]
