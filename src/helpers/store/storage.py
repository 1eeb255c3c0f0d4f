"""Writing and reading processed tables safely.

Every table is written to a temporary file beside its target and renamed into place, so a
crash never leaves half a table; its key is asserted unique and non-missing on every
write; the pseudonym key's fingerprint travels in the parquet metadata.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


class KeyError_(AssertionError):
    """A table's key is not unique or has missing values."""


def assert_key(df: pd.DataFrame, key: Iterable[str], name: str) -> None:
    """Fail unless ``key`` columns are present, never missing, and unique together."""
    key = list(key)
    missing = [k for k in key if k not in df.columns]
    if missing:
        raise KeyError_(f"{name}: key columns {missing} are missing")
    nulls = df[key].isna().any(axis=1)
    if nulls.any():
        raise KeyError_(f"{name}: {int(nulls.sum())} rows have a missing key {key}")
    dup = df.duplicated(key, keep=False)
    if dup.any():
        raise KeyError_(f"{name}: {int(dup.sum())} rows share a key {key}, e.g. "
                        f"{df.loc[dup, key].head(3).to_dict('records')}")


def _readable(path: str) -> None:
    """mkstemp makes files private (0600); outputs get the usual permissions (umask applies)."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, 0o666 & ~mask)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write bytes to ``path`` through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        _readable(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Write UTF-8 text atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def write_table(df: pd.DataFrame, path: Path, key: Iterable[str] | None, name: str,
                metadata: dict[str, str] | None = None) -> None:
    """Write ``df`` as parquet at ``path`` atomically, asserting its key first."""
    if key is not None:
        assert_key(df, key, name)
    write_arrow(pa.Table.from_pandas(df.reset_index(drop=True), preserve_index=False), path, metadata)


@contextmanager
def _atomic_target(path: Path):
    """A temporary file beside ``path`` to write into; renamed into place only if all went well."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield tmp
        _readable(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _with_workbook_metadata(meta: dict | None, metadata: dict[str, str] | None) -> dict:
    meta = {k: v for k, v in (meta or {}).items() if not k.startswith(b"workbook.")}
    for k, v in (metadata or {}).items():
        meta[f"workbook.{k}".encode()] = str(v).encode("utf-8")
    return meta


def write_arrow(table: pa.Table, path: Path, metadata: dict[str, str] | None = None) -> None:
    """Write an Arrow table as parquet at ``path`` atomically, with the workbook's metadata added."""
    table = table.replace_schema_metadata(_with_workbook_metadata(table.schema.metadata, metadata))
    with _atomic_target(path) as tmp:
        pq.write_table(table, tmp)


def stack_parquet(sources: list[Path], path: Path, metadata: dict[str, str] | None = None, check=None,
                  group=None) -> int:
    """Stack parquet files with the same columns into one at ``path``, atomically, holding one
    source in memory at a time (a row group each). Types are unified (a column entirely missing
    in one file takes the others' type); the largest source's pandas metadata (the dtypes) goes
    with the result (``group(source)``: the sources that are parts of one table, e.g. the partitions of one
    quarter; then the largest group's first source's). ``check(source, table)`` may raise to refuse a part.
    Returns the rows written."""
    schema, parts = _stacked(sources, metadata, group)
    rows = 0
    with _atomic_target(path) as tmp, pq.ParquetWriter(tmp, schema) as writer:
        for source, table in parts:
            if check:
                check(source, table)
            writer.write_table(table)
            rows += table.num_rows
    return rows


def _stacked(sources: list[Path], metadata: dict[str, str] | None = None, group=None):
    """The schema of the stacked sources (types unified, the pandas metadata of the largest source, or of the
    first source of the largest ``group``) and a generator of (source, its table cast to that schema), one source
    read at a time."""
    files = [pq.ParquetFile(s) for s in sources]
    keys = [group(s) if group else i for i, s in enumerate(sources)]
    rows: dict = {}
    for k, f in zip(keys, files):
        rows[k] = rows.get(k, 0) + f.metadata.num_rows
    top = max(rows, key=rows.get)                       # the first of the largest, in the sources' order
    largest = keys.index(top)
    schema = pa.unify_schemas([f.schema_arrow.remove_metadata() for f in files], promote_options="permissive")
    schema = schema.with_metadata(_with_workbook_metadata(files[largest].schema_arrow.metadata, metadata))
    plain = schema.remove_metadata()

    def parts():
        for source, f in zip(sources, files):
            yield source, f.read().replace_schema_metadata(None).select(plain.names).cast(plain)
    return schema, parts()


def partition_files(folder: Path) -> list[Path]:
    """The parquet files of a table written as partitions (``<table>/quarter=<q>/[county=<c>/]part-0.parquet``,
    ``intake.partitioned``) in the order of their rows: by quarter, then by the ``order`` each file records (the
    order of the quarter's submission files)."""
    files = sorted(Path(folder).glob("quarter=*/**/*.parquet"))
    files = [f for f in files if not f.name.startswith(".")]

    def rank(f: Path):
        quarter = next(p for p in f.relative_to(folder).parts if p.startswith("quarter="))
        return quarter, int(table_metadata(f).get("order", "0"))
    return sorted(files, key=rank)


def read_table(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """A processed table as a frame, from one parquet file or from a folder of partitions (``partition_files``):
    both give the same frame (rows, order, dtypes) for the same rows, as ``stack_parquet`` stacks them. Every column
    is inside the files: the folder names (``quarter=``, ``county=``: the submitting county) are for finding and
    pruning; a generic reader takes the files without hive partitioning (pyarrow: ``partitioning=None``)."""
    path = Path(path)
    if not path.is_dir():
        return pd.read_parquet(path, columns=columns)
    sources = partition_files(path)
    if not sources:
        raise FileNotFoundError(f"{path}: no partitions")
    schema, parts = _stacked(sources, group=lambda f: next(p for p in f.relative_to(path).parts if p.startswith("quarter=")))
    table = pa.Table.from_batches([b for _, t in parts for b in t.to_batches()], schema=schema.remove_metadata())
    table = table.replace_schema_metadata(schema.metadata)
    if columns is not None:
        table = table.select(columns)
    return table.to_pandas()


def table_metadata(path: Path) -> dict[str, str]:
    """The workbook metadata stored with a parquet table."""
    meta = pq.read_schema(path).metadata or {}
    return {k.decode()[len("workbook."):]: v.decode("utf-8") for k, v in meta.items()
            if k.startswith(b"workbook.")}


def file_hash(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_json(path: Path) -> dict:
    """A JSON file as a dict; {} when it does not exist."""
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))
