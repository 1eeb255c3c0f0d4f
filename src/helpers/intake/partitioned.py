"""One quarter's intake on the Dask engine: one task per county's files, each county's tables written where they
are made, the driver holding keys and counts, never all rows.

The steps are those of ``assemble.process_quarter`` (and use its functions, so the checks are the same code); what
crosses county files is done between them on the driver with small things only:

1. per county (one task on a worker): read its files and parse every sheet, with the quarter's corrections of
   those files. Back: the sheets seen, warnings, the corrections used, and the names of its 户主姓名 columns.
2. the driver joins the names (everyone any county names is cut out of every county's kept text, as locally).
3. per county, on the same worker: the 行政村 sheet checked against the register. Back: its villages (places).
4. the driver builds the quarter's crosswalk (the register and every county's villages).
5. per county: the row checks and the file-county check. Back: the key columns of the rows that passed, the
   household key as its keyed pseudonym (never the 户编码 itself).
6. the driver finds the keys that occur more than once in the quarter (within or across counties); only for those
   rows the compared values are fetched (step 5b), and ``assemble.mark_duplicates`` decides duplicate or conflict.
7. per county: the duplicates set aside and the county's pieces of every table assembled. Back: an empty frame of
   each piece, from which the driver finds the column types the local engine's one frame per quarter has.
8. per county: its tables in those types, rows in = clean + quarantined asserted per sheet and per partition, each
   table's key and schema checked, and the partitions written by the worker
   (``<processed>/<table>/quarter=<q>/county=<c>/part-0.parquet``; ``county`` is the county whose files the rows
   came from, which a row's own county column may not be; each file records its ``order`` among the quarter's
   counties). Back: counts, hashes, log rows, the quarantined rows' private list, the household codes' part.
9. the driver asserts the accounting and the keys in total (the key columns of step 5 less the rows step 6 set
   aside: unique across partitions), writes the quarter's intake log and the private lists.

Between steps a county's parsed sheets stay in its worker's memory (``_STATE``, a plain dictionary of the worker
process: not Dask's data store, so never spilled to disk), which is why the later steps are pinned to the worker
that ran step 1 (if that worker is lost, intake stops saying so rather than wait for it). The pseudonym key and the quarter's names travel inside task arguments, wrapped in
``Hidden`` (its repr shows nothing, so a failed task's log cannot print them); they are never written. A problem
in a file comes back as a value (never a worker's traceback) and is raised here as ``IntakeStop`` with the message
the local engine gives; when several files have problems, the one the local engine would name first is named.

Partition files are written on the path the driver gives, so workers must see the driver's folders (one machine,
or a shared file system).
"""
from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pandas as pd

from helpers.config import Paths
from helpers.domain import dictionary as dd
from helpers.domain.errors import Stop
from helpers.engine import lost_workers, workers_lost
from helpers.intake import assemble as A
from helpers.intake.places import Crosswalk
from helpers.intake.pseudonym import Names, PseudonymKey, scrub_text
from helpers.intake.readers import IntakeStop, list_files, read_file, sheet_spec
from helpers.store.exports import private_dir, private_permissions
from helpers.store.storage import assert_key, file_hash, stack_parquet, write_table

PART = "part-0.parquet"
PARTITIONED = ("household_quarters", "villages", "projects", "rectifications", "quarantine")   # by quarter and county
_STATE: dict[str, dict[str, dict]] = {}      # token -> county -> parsed sheets (in each worker process)


class Hidden:
    """A value passed to a task that no log may show: its repr is ``<hidden>``."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def __repr__(self) -> str:
        return "<hidden>"

    def __getstate__(self):
        return (self.value,)            # a tuple: never falsy, so __setstate__ always runs

    def __setstate__(self, state):
        self.value = state[0]


def partition_dir(processed: Path, table: str, quarter: str, county: str | None = None) -> Path:
    """Where a partition of a processed table lives (hive layout); without ``county`` the quarter's folder."""
    d = Path(processed) / table / f"quarter={quarter}"
    return d / f"county={county}" if county is not None else d


def remove_partitions(processed: Path, quarter: str) -> None:
    """Delete every partition of ``quarter`` (before the quarter is made again, by either engine)."""
    for table in (*PARTITIONED, "intake_log"):
        d = partition_dir(processed, table, quarter)
        if d.exists():
            shutil.rmtree(d)


def _worker() -> str:
    try:
        from distributed import get_worker
        return get_worker().address
    except (ImportError, ValueError):
        return ""


def _stop(stage: str, err: Stop) -> dict:
    return {"stop": (stage, str(err))}


# ---------------------------------------------------------------------------------------------------------------
# The tasks (module level: they travel to the workers by reference)
# ---------------------------------------------------------------------------------------------------------------
def read_county(token: str, quarter: str, county: str, files: list, corrections: pd.DataFrame) -> dict:
    """Step 1: read and parse a county's files (the loop of ``process_quarter``, for one county)."""
    out = {"worker": _worker(), "county": county, "stop": None, "sheets": [], "warnings": [], "used": 0}
    sheets = {}
    try:
        for sub in files:
            for raw in read_file(sub):
                raw.source_file, raw.sheet = scrub_text(raw.source_file), scrub_text(raw.sheet)
                spec = sheet_spec(raw.sheet)
                if spec is None:
                    out["warnings"].append(f"{raw.source_file} [{raw.sheet}]: 多余的工作表已忽略 / extra sheet ignored")
                    continue
                if (sub.county, spec.name) in sheets:
                    raise IntakeStop(f"{raw.source_file} [{raw.sheet}]: {sub.county} 的“{spec.name}”提交了两次"
                                     f"（另见 {sheets[(sub.county, spec.name)].source_file}）。请只保留一份。 / "
                                     f"{sub.county} sent sheet '{spec.name}' twice: keep one.")
                raw.sheet = spec.name
                sheets[(sub.county, spec.name)] = raw
    except Stop as err:
        return {**out, **_stop("read", err)}
    out["sheets"] = [(c, name, raw.source_file) for (c, name), raw in sheets.items()]
    parsed, encodings = {}, {}
    try:
        for (c, name), raw in sheets.items():
            corr = corrections[(corrections["source_file"] == raw.source_file)
                               & (corrections["sheet"].map(lambda s: sheet_spec(s) is not None and sheet_spec(s).name == raw.sheet))]
            parsed[(c, name)] = A.parse_sheet(raw, dd.SHEET_BY_NAME[name], corr)
            encodings[(c, name)] = raw.encoding
            out["used"] += len(corr)
    except Stop as err:
        return {**out, **_stop("parse", err)}
    _STATE.setdefault(token, {})[county] = {"parsed": parsed, "encodings": encodings}
    out["names"] = Hidden(Names.union(p.names for p in parsed.values()))
    return out


def check_villages(token: str, county: str, names: Hidden, register_only: Crosswalk, cfg: dict) -> dict:
    """Step 3: the quarter's names given to every sheet; the 行政村 sheet checked against the register."""
    parsed = _state(token, county)["parsed"]
    frames = []
    try:
        for p in parsed.values():
            p.names = names.value
            p.warnings = [names.value.text(w) for w in p.warnings]
        for (_, name), p in parsed.items():
            if name == dd.VILLAGES.name:
                A.validate_other(p, register_only, cfg)
                ok = p.ok
                v = p.values[ok]
                frames.append(pd.DataFrame({"county": v["county"], "township": v["township"],
                                            "village": v["village"], "former_names": p.raw.loc[ok, "former_names"]}))
    except Stop as err:
        return _stop("villages", err)
    return {"stop": None, "villages": frames}


def _keycols(spec: dd.Sheet) -> list[str]:
    return ["household_code"] if spec is dd.HOUSEHOLDS else [c for c in spec.key if c != "quarter"]


def _keys(p: A.ParsedSheet, rows, columns: list[str], key: PseudonymKey) -> pd.DataFrame:
    """The given columns of the given rows, the 户编码 replaced by its keyed pseudonym."""
    frame = p.values.loc[rows, columns].copy()
    if "household_code" in frame:
        frame["household_code"] = key.pseudonymize(frame["household_code"])
    return frame


def check_rows(token: str, county: str, crosswalk: Crosswalk, cfg: dict, key: Hidden) -> dict:
    """Step 5: the row checks and the file-county check; back the key columns of the rows that passed."""
    parsed = _state(token, county)["parsed"]
    try:
        for (_, name), p in parsed.items():
            if name == dd.HOUSEHOLDS.name:
                A.validate_households(p, crosswalk, cfg)
            elif name != dd.VILLAGES.name:
                A.validate_other(p, crosswalk, cfg)
    except Stop as err:
        return _stop("rows", err)
    try:
        for p in parsed.values():
            A._check_file_county(p)
    except Stop as err:
        return _stop("county", err)
    keys = {name: _keys(p, p.ok, _keycols(p.spec), key.value) for (_, name), p in parsed.items()}
    return {"stop": None, "keys": keys}


def duplicate_values(token: str, county: str, wanted: dict, key: Hidden) -> dict:
    """Step 5b: for rows whose key occurs more than once in the quarter, the key and the compared values."""
    parsed = _state(token, county)["parsed"]
    out = {}
    for name, rows in wanted.items():
        p = next(p for (_, n), p in parsed.items() if n == name)
        keycols = _keycols(p.spec)
        compare = [c.name for c in p.spec.columns if not c.personal and c.name not in keycols]
        out[name] = _keys(p, rows, keycols + compare, key.value)
    return out


def assemble_county(token: str, county: str, quarter: str, marks: dict, key: Hidden) -> dict:
    """Step 7: duplicates set aside and the county's pieces of every table assembled (kept here). Back: an empty
    frame of each piece's columns and types, from which the driver finds the types the local engine's one frame
    per quarter has (pandas' rule for concatenating frames of different types)."""
    state = _state(token, county)
    parsed, secret = state["parsed"], key.value
    clean: dict[str, list[pd.DataFrame]] = {s.table: [] for s in dd.SHEETS}
    quarantine, private_rows, codes, log_rows, warnings = [], [], [], [], []
    for (c, name), p in parsed.items():
        for code in ("duplicate", "conflicting_duplicate"):
            rows = marks.get((name, code))
            if rows is not None and len(rows):
                A.flag_duplicates(p, _keycols(p.spec), code, rows)
    for (c, name), p in parsed.items():
        v, q_shared, q_private, hh_codes, log_row = A.assemble_sheet(p, c, quarter, secret, state["encodings"][(c, name)])
        clean[p.spec.table].append(v)
        quarantine.append(q_shared)
        private_rows.append(q_private)
        if hh_codes is not None:
            codes.append(hh_codes)
        log_rows.append(log_row)
        warnings.extend(p.warnings)
    pieces = {s.table: [f for f in clean[s.table] if len(f)] for s in dd.SHEETS}
    pieces["quarantine"] = quarantine
    state["out"] = {"pieces": pieces, "private_rows": private_rows, "codes": codes, "log": log_rows,
                    "warnings": warnings}
    return {"stop": None, "protos": {t: [f.iloc[:0] for f in frames] for t, frames in pieces.items()}}


def quarter_types(protos: list[dict]) -> dict[str, dict]:
    """The column types of each table of the quarter as the local engine's concatenation gives them: the counties'
    pieces (empty frames with their types) concatenated in order; a table without rows: ``assemble._empty_table``."""
    out = {}
    for spec in dd.SHEETS:
        frames = [f for p in protos for f in p[spec.table]]
        out[spec.table] = (pd.concat(frames, ignore_index=True) if frames else A._empty_table(spec)).dtypes.to_dict()
    frames = [f for p in protos for f in p["quarantine"]]
    out["quarantine"] = (pd.concat(frames, ignore_index=True) if frames else A._EMPTY_QUARANTINE).dtypes.to_dict()
    return out


def write_county(token: str, county: str, order: int, quarter: str, types: dict, key: Hidden,
                 processed: str, private: str) -> dict:
    """Step 8: the county's tables in the quarter's types, accounted, checked (keys, schema) and written as its
    partitions."""
    from helpers.intake.schemas import validate_quarter

    secret = key.value
    out = _state(token, county).pop("out")
    pieces, private_rows, codes, log_rows, warnings = (out[k] for k in ("pieces", "private_rows", "codes", "log",
                                                                          "warnings"))
    tables = {}
    for t in PARTITIONED:
        spec = dd.SHEETS[[s.table for s in dd.SHEETS].index(t)] if t != "quarantine" else None
        empty = A._empty_table(spec) if spec is not None else A._EMPTY_QUARANTINE
        frame = (pd.concat(pieces[t], ignore_index=True) if pieces[t] else empty.copy()).reset_index(drop=True)
        change = {c: d for c, d in types[t].items() if c in frame and frame[c].dtype != d}
        tables[t] = frame.astype(change) if change else frame
    try:
        validate_quarter(tables, quarter)
    except Stop as err:
        return _stop("schema", err)
    rows_in = sum(r["rows_in"] for r in log_rows)
    written = sum(len(tables[t]) for t in PARTITIONED)
    assert rows_in == written, f"{quarter} {county}: {rows_in} rows in, {written} in the partition's tables"
    meta = {"key_fingerprint": secret.fingerprint, "order": str(order)}
    parts = {}
    for t in PARTITIONED:
        path = partition_dir(Path(processed), t, quarter, county) / PART
        write_table(tables[t], path, A.KEYS[t], f"{quarter}/{t}/{county}", meta)
        parts[t] = (str(path.relative_to(processed)), file_hash(path), len(tables[t]))
    code_part = None
    if codes:
        frame = pd.concat(codes, ignore_index=True).drop_duplicates()
        pdir = private_dir(Path(private) / ".parts")
        code_part = str(pdir / f"household_codes_{order:03d}.parquet")
        write_table(frame, Path(code_part), ["household_id"], f"{quarter}/household_codes/{county}")
        private_permissions(Path(code_part))
    _STATE[token].pop(county, None)
    return {"stop": None, "parts": parts, "log": log_rows, "warnings": warnings, "private": private_rows,
            "codes": code_part, "accounting": {"quarter": quarter, "county": county, "rows_in": rows_in,
                                                 "rows_clean": sum(len(tables[s.table]) for s in dd.SHEETS),
                                                 "rows_quarantined": len(tables["quarantine"])}}


def _state(token: str, county: str) -> dict:
    """A county's parsed sheets in this worker; missing when the worker that read them was lost."""
    try:
        return _STATE[token][county]
    except KeyError:
        raise RuntimeError(f"intake: the Dask worker that read {county}'s files was lost (or restarted) during the "
                           "quarter: run intake again") from None


def drop_state(token: str) -> None:
    """Free a quarter's parsed sheets in this process (at the end, and after a stop)."""
    _STATE.pop(token, None)


# ---------------------------------------------------------------------------------------------------------------
# The driver
# ---------------------------------------------------------------------------------------------------------------
class _Tasks:
    """Submitting the steps: step 1 anywhere, the others on the worker that holds the county's sheets."""

    def __init__(self, engine, quarter: str = ""):
        self.client = engine.client
        self.quarter = quarter
        self.where: dict[str, str] = {}

    def run(self, func, per_county: dict[str, tuple], **kwargs) -> dict[str, object]:
        futures = {}
        for county, args in per_county.items():
            pin = {"workers": [self.where[county]], "allow_other_workers": False} if county in self.where else {}
            futures[county] = self.client.submit(func, *args, pure=False, key=f"intake-{func.__name__}-{uuid.uuid4().hex}",
                                                 **pin, **kwargs)
        from distributed import wait

        pending = list(futures.values())
        while True:                    # a pinned task waits for its worker: a lost worker stops intake instead
            try:
                wait(pending, timeout=5)
                break
            except TimeoutError:
                pass
            alive = set(self.client.scheduler_info(n_workers=-1).get("workers", {}))
            lost = sorted(c for c in futures if c in self.where and self.where[c] not in alive)
            if lost:                   # the sheets it read went with it: the quarter is read again on the next run
                self.client.cancel(pending)
                raise workers_lost(self.client, f"intake {self.quarter} ({', '.join(lost)})")
        with lost_workers(self.client, f"intake {self.quarter}"):
            results = self.client.gather(pending)
        return dict(zip(futures, results))


def _raise_first(results: list[dict], stages: tuple[str, ...]) -> None:
    for stage in stages:
        for r in results:
            if r.get("stop") and r["stop"][0] == stage:
                raise IntakeStop(r["stop"][1])


def process_quarter_partitioned(quarter: str, paths: Paths, key: PseudonymKey, corrections: pd.DataFrame,
                                register: pd.DataFrame, cfg: dict, engine, say=lambda m: None) -> dict:
    """Read, check, de-identify and write one quarter on the Dask engine (module docstring). Writes the quarter's
    partitions, its intake log (``intake_log/quarter=<q>/part-0.parquet``) and its private lists; returns what the
    cache stamp records: ``parts`` (table -> [[path relative to the processed folder, hash, rows], ...] in the
    local engine's row order), ``private``, ``warnings`` and the per-partition ``accounting``."""
    folder = paths.raw / quarter
    files, warnings = list_files(folder, quarter)
    warnings = [scrub_text(w) for w in warnings]
    if not files:
        raise IntakeStop(f"{folder}: 文件夹中没有 {quarter} 的提交文件。 / no submission files for {quarter} in this folder.")
    by_county: dict[str, list] = {}
    for sub in files:
        by_county.setdefault(sub.county, []).append(sub)
    counties = list(by_county)                              # the order of the files: the local engine's row order
    qcorr = corrections[corrections["quarter"] == quarter]
    token = uuid.uuid4().hex
    tasks = _Tasks(engine, quarter)
    hidden_key = Hidden(key)
    try:
        say(f"{quarter}: {len(counties)} 个县区，各一个任务 / one task per county ({len(counties)})")
        first = tasks.run(read_county, {c: (token, quarter, c, by_county[c], qcorr) for c in counties})
        tasks.where = {c: r["worker"] for c, r in first.items()}
        results = [first[c] for c in counties]
        _raise_first(results, ("read",))
        for r in results:
            warnings.extend(r["warnings"])
        seen = {(c, name): source for r in results for c, name, source in r["sheets"]}
        missing_warnings, log_missing = A.missing_sheets(quarter, files, set(seen))
        warnings.extend(missing_warnings)
        for county in set(dd.COUNTIES) - set(counties):
            warnings.append(f"{quarter}: {county} 本季度没有提交 / no submission from {county} this quarter")
        _raise_first(results, ("parse",))
        names = Names.union(r["names"].value for r in results)
        used = sum(r["used"] for r in results)
        if used != len(qcorr):
            raise IntakeStop(f"data/corrections.csv: {quarter} 有 {len(qcorr)} 条更正，但只有 {used} 条对应到本季度的文件和工作表。"
                             f"请核对 source_file 和 sheet。 / {len(qcorr)} corrections for {quarter}, but only {used} "
                             f"name a file and sheet of this quarter: check source_file and sheet.")
        hidden_names = Hidden(names)
        register_only = Crosswalk(register)
        villages = tasks.run(check_villages, {c: (token, c, hidden_names, register_only, cfg) for c in counties})
        _raise_first([villages[c] for c in counties], ("villages",))
        frames = [f for c in counties for f in villages[c]["villages"]]
        crosswalk = Crosswalk(register, pd.concat(frames) if frames else None)
        checked = tasks.run(check_rows, {c: (token, c, crosswalk, cfg, hidden_key) for c in counties})
        _raise_first([checked[c] for c in counties], ("rows", "county"))
        marks, clean_keys = _duplicates(counties, seen, checked, tasks, token, hidden_key)
        for spec in dd.SHEETS:           # the keys in total: unique across the quarter's partitions
            if clean_keys.get(spec.table):
                assert_key(pd.concat(clean_keys[spec.table], ignore_index=True).assign(quarter=quarter),
                           A.KEYS[spec.table], f"{quarter}/{spec.table} (all counties)")
        pdir = private_dir(paths.private / quarter)
        shutil.rmtree(pdir / ".parts", ignore_errors=True)
        assembled = tasks.run(assemble_county, {c: (token, c, quarter, marks.get(c, {}), hidden_key) for c in counties})
        types = quarter_types([assembled[c]["protos"] for c in counties])
        written = tasks.run(write_county, {c: (token, c, i, quarter, types, hidden_key, str(paths.processed), str(pdir))
                                           for i, c in enumerate(counties)})
        done = [written[c] for c in counties]
        _raise_first(done, ("schema",))
    finally:
        try:
            engine.client.run(drop_state, token)
        except Exception:            # noqa: BLE001 - freeing memory must not hide the real error
            pass
    # The accounting in total, and the partitions against the log.
    accounting = pd.DataFrame([r["accounting"] for r in done])
    assert (accounting["rows_in"] == accounting["rows_clean"] + accounting["rows_quarantined"]).all(), quarter
    log = pd.DataFrame(log_missing + [row for r in done for row in r["log"]])
    assert int(log["rows_in"].sum()) == int(accounting["rows_in"].sum()), quarter
    assert int(log["rows_clean"].sum()) == int(accounting["rows_clean"].sum()), quarter
    from helpers.intake.schemas import validate_quarter
    validate_quarter({"intake_log": log}, quarter)
    log_path = partition_dir(paths.processed, "intake_log", quarter) / PART
    write_table(log, log_path, A.KEYS["intake_log"], f"{quarter}/intake_log", {"key_fingerprint": key.fingerprint})
    parts = {t: [list(r["parts"][t]) for r in done] for t in PARTITIONED}
    parts["intake_log"] = [[str(log_path.relative_to(paths.processed)), file_hash(log_path), len(log)]]
    # The private lists, as the local engine writes them.
    from helpers.store.exports import write_people_csv
    private_q = pd.concat([f for r in done for f in r["private"]], ignore_index=True)
    write_people_csv(private_q, pdir / "quarantine.csv")
    write_table(private_q, pdir / "quarantine.parquet", None, f"{quarter}/quarantine")
    private_permissions(pdir / "quarantine.parquet")
    code_parts = [Path(r["codes"]) for r in done if r["codes"]]
    private = ["quarantine.csv", "quarantine.parquet"]
    if code_parts:
        stack_parquet(code_parts, pdir / "household_codes.parquet")
        private_permissions(pdir / "household_codes.parquet")
        private.append("household_codes.parquet")
    shutil.rmtree(pdir / ".parts", ignore_errors=True)
    warnings.extend(w for r in done for w in r["warnings"])
    return {"parts": parts, "private": private, "warnings": [names.text(w) for w in warnings],
            "accounting": accounting.to_dict("records")}


def _duplicates(counties, seen, checked, tasks, token, hidden_key):
    """Step 6: rows whose key occurs more than once in the quarter, marked as ``process_quarter`` marks them
    (``mark_duplicates`` over the rows in the local engine's order); fetches compared values for those rows only.
    Returns per county {(sheet, code): row labels}, and per table the key columns of the rows that stay clean."""
    marks: dict[str, dict] = {}
    clean_keys: dict[str, list] = {}
    for spec in dd.SHEETS:
        group = [c for c in counties if (c, spec.name) in seen]
        if not group:
            continue
        keycols = _keycols(spec)
        compare = [c.name for c in spec.columns if not c.personal and c.name not in keycols]
        frames = [checked[c]["keys"][spec.name].assign(_sheet=i) for i, c in enumerate(group)]
        allkeys = pd.concat(frames)
        allkeys.index = pd.MultiIndex.from_arrays([allkeys["_sheet"], allkeys.index])
        allkeys = allkeys.drop(columns="_sheet")
        dup_any = allkeys.duplicated(keycols, keep=False)
        flagged = pd.Series(False, index=allkeys.index)
        if dup_any.any():
            wanted = {group[i]: {spec.name: allkeys.index[dup_any.to_numpy() & (allkeys.index.get_level_values(0) == i)]
                                 .get_level_values(1).to_numpy()} for i in range(len(group))}
            wanted = {c: w for c, w in wanted.items() if len(w[spec.name])}
            values = tasks.run(duplicate_values, {c: (token, c, w, hidden_key) for c, w in wanted.items()})
            sub = pd.concat([values[c][spec.name].assign(_sheet=group.index(c)) for c in group if c in values])
            sub.index = pd.MultiIndex.from_arrays([sub["_sheet"], sub.index])
            m = A.mark_duplicates(sub.drop(columns="_sheet"), keycols, compare)
            for i, c in enumerate(group):
                mine = m[m.index.get_level_values(0) == i].droplevel(0)
                for code in ("duplicate", "conflicting_duplicate"):
                    rows = mine[mine == code].index.to_numpy()
                    if len(rows):
                        marks.setdefault(c, {})[(spec.name, code)] = rows
            flagged.loc[m[m.notna()].index] = True
        rest = allkeys[~flagged.to_numpy()]
        if spec is dd.HOUSEHOLDS:
            rest = rest.rename(columns={"household_code": "household_id"})
        clean_keys[spec.table] = [rest.reset_index(drop=True)]
    return marks, clean_keys


__all__ = ["process_quarter_partitioned", "partition_dir", "remove_partitions", "PARTITIONED", "Hidden"]
