"""Every result the workbook produces, declared once, and the one rule that decides when to rebuild it.

``REGISTRY`` names each artifact: the processed tables intake writes (``household_quarters``, ``households``,
``villages``, ``projects``, ``rectifications``, ``quarantine``, ``intake_log``), the quarter's ``indicators``, the
county ``ranking`` and the program ``effects`` (per program and outcome, with earned income). Each declares its
keys, where it lives (``data/processed/`` or ``reports/<q>/results/``), its file name, the function that produces
it, its parameters with their defaults, the artifacts it is made from and the slice of config it reads.

``get(name, quarter=..., paths=..., **params)`` returns the artifact's frame, building it, and what it depends on,
only when it is missing or stale. Stale means its cache key differs from the one recorded with it; the key is a
hash of the inputs' keys, the producing code (every helpers module it imports, transitively, by file hash), the
slice of config it reads and its parameters. The file records, in its parquet metadata (``workbook.artifact``), the
key and every parameter's effective value (defaults included). Notebooks, the report and the run ask this module
where a result lives and what is in it; no other module spells a result's file name.

Processed tables are made by intake (``intake.assemble.run_intake``, with its own cache of the raw submissions):
here they are built only when missing or when they do not hold the quarter asked for; their key for the results
made from them is the file's hash.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd

from helpers.config import SEED, Paths
from helpers.store.codehash import code_hash, code_modules  # noqa: F401  (the one code key of every cache)

SRC = Path(__file__).resolve().parents[1]          # src/helpers
META = "artifact"                                  # parquet metadata entry (workbook.artifact)


class ArtifactError(ValueError):
    """An unknown artifact or parameter."""


@dataclass(frozen=True)
class Artifact:
    name: str
    keys: tuple[str, ...] | None           # asserted unique on every write (None: a long table without one)
    where: str                             # "processed" or "results"
    filename: Callable[[dict], str]        # file name from the parameters
    produce: Callable | None               # (quarter, paths, inputs, **params) -> DataFrame
    module: str                            # the module whose code (and what it imports) makes it
    params: dict = field(default_factory=dict)          # every parameter and its default
    inputs: Callable[[dict], list[tuple[str, dict]]] = lambda p: []    # (artifact, its parameters)
    config: Callable[[dict], object] = lambda p: None   # the slice of config it reads

    named_by: tuple[str, ...] = ()                       # parameters already spelled in ``filename``

    def path(self, quarter: str, paths: Paths, params: dict) -> Path:
        """The file of the artifact made with ``params``: its base name for the default parameters, followed by the
        parameters that differ from their defaults otherwise (``effects_any__control-never.parquet``), so results
        made with other parameters, by hand or by a run, never replace each other."""
        if self.where == "processed":
            return paths.processed / self.filename(params)
        name = self.filename(params)
        return paths.reports / quarter / "results" / (name[:-len(".parquet")] + _variant(self, params) + ".parquet")


def _variant(art: Artifact, params: dict) -> str:
    """'' for the default parameters; else '__' and the parameters that differ, readable when short
    (``__cluster-county``), a hash of them when long (a config file's path, a list of covariates)."""
    diff = {k: v for k, v in params.items() if k not in art.named_by and v != art.params.get(k)}
    if not diff:
        return ""
    text = "_".join(f"{k}-{v}" for k, v in sorted(diff.items()))
    if len(text) <= 40 and all(ch.isalnum() or ch in "-_" for ch in text):
        return "__" + text
    return "__" + hashlib.sha256(json.dumps(_jsonable(diff), sort_keys=True).encode()).hexdigest()[:12]


# ---- producers --------------------------------------------------------------------------------------------------
def _indicators(quarter: str, paths: Paths, inputs: dict, counties: str, indicators_config: str,
                trend_quarters: int) -> pd.DataFrame:
    from helpers.analysis import indicators as ind

    cfg = ind.load_config(Path(indicators_config) if indicators_config else None)
    chosen = [c.strip() for c in counties.split(",") if c.strip()] or None
    return ind.compute_trend(ind.Inputs.load(paths, quarter), quarter, cfg, chosen, trend_quarters,
                             cache=paths.processed)


def _ranking(quarter: str, paths: Paths, inputs: dict, composite_config: str, **_) -> pd.DataFrame:
    from helpers.analysis import composite

    trend = inputs["indicators"]
    spec = composite.load_spec(Path(composite_config) if composite_config else None)
    return composite.ranking(trend[trend["quarter"] == quarter], quarter, spec)


def _effects(quarter: str, paths: Paths, inputs: dict, **params) -> pd.DataFrame:
    from helpers.analysis import program_effects as pe

    return pe.effects_frame(quarter, paths, **params)


def _sensitivity(quarter: str, paths: Paths, inputs: dict, **params) -> pd.DataFrame:
    from helpers.analysis import robustness

    return robustness.sensitivity_frame(quarter, paths, **params)


def _power(quarter: str, paths: Paths, inputs: dict, **params) -> pd.DataFrame:
    from helpers.analysis import power

    return power.power_frame(quarter, paths, **params)


def _distribution(quarter: str, paths: Paths, inputs: dict, **params) -> pd.DataFrame:
    from helpers.analysis import distribution

    return distribution.distribution_frame(quarter, paths, **params)


def _lines(p: dict):
    """What an estimate reads of config/indicators.yaml: the monitoring lines (the below-line outcome)."""
    from helpers.analysis import indicators as ind

    return {"seed": SEED, "monitoring_line": ind.load_config().get("monitoring_line")}


def _indicators_config(p: dict):
    from helpers.analysis import indicators as ind

    return ind.load_config(Path(p["indicators_config"]) if p["indicators_config"] else None)


def _composite_config(p: dict):
    from helpers.analysis import composite

    return {"indicators": _indicators_config(p),
            "composite": composite.load_spec(Path(p["composite_config"]) if p["composite_config"] else None)}


PROCESSED = ("household_quarters", "households", "villages", "projects", "rectifications", "quarantine", "intake_log")
INDICATOR_PARAMS = {"counties": "", "indicators_config": "", "trend_quarters": 6}
EFFECT_PARAMS = {"program": "any", "outcome": "income_pc", "control": "not_yet", "covariates": "", "cluster": "village",
                 "balanced": True, "few_cluster": "jackknife", "bootstrap_reps": 9999, "earned": True}
INDICATOR_INPUTS = ("household_quarters", "projects", "rectifications", "intake_log")
SENSITIVITY_PARAMS = {k: EFFECT_PARAMS[k] for k in ("program", "outcome", "control", "covariates", "cluster", "balanced")}


REGISTRY: dict[str, Artifact] = {
    **{t: Artifact(t, None, "processed", (lambda p, t=t: f"{t}.parquet"), None, "helpers.intake.assemble")
       for t in PROCESSED},
    "indicators": Artifact("indicators", ("quarter", "county", "indicator", "category"), "results",
                           lambda p: "indicators.parquet", _indicators, "helpers.analysis.indicators",
                           dict(INDICATOR_PARAMS), lambda p: [(t, {}) for t in INDICATOR_INPUTS], _indicators_config),
    "ranking": Artifact("ranking", ("county",), "results", lambda p: "ranking.parquet", _ranking,
                        "helpers.analysis.composite", {**INDICATOR_PARAMS, "composite_config": ""},
                        lambda p: [("indicators", {k: p[k] for k in INDICATOR_PARAMS})], _composite_config),
    "effects": Artifact("effects", None, "results",
                        lambda p: f"effects_{p['program']}.parquet" if p["outcome"] == "income_pc" else
                        f"effects_{p['program']}_{p['outcome']}.parquet",
                        _effects, "helpers.analysis.program_effects", dict(EFFECT_PARAMS),
                        lambda p: [("household_quarters", {})], _lines, ("program", "outcome")),
    "sensitivity": Artifact("sensitivity", None, "results",
                            lambda p: f"sensitivity_{p['program']}.parquet" if p["outcome"] == "income_pc" else
                            f"sensitivity_{p['program']}_{p['outcome']}.parquet",
                            _sensitivity, "helpers.analysis.robustness", dict(SENSITIVITY_PARAMS),
                            lambda p: [("household_quarters", {})], _lines, ("program", "outcome")),
    "distribution": Artifact("distribution", ("quarter", "program", "outcome", "quantile"), "results",
                             lambda p: f"distribution_{p['program']}.parquet" if p["outcome"] == "income_pc" else
                             f"distribution_{p['program']}_{p['outcome']}.parquet",
                             _distribution, "helpers.analysis.distribution",
                             {k: EFFECT_PARAMS[k] for k in ("program", "outcome", "control", "cluster", "balanced")}
                             | {"reps": 199},
                             lambda p: [("household_quarters", {})], _lines, ("program", "outcome")),
    "power": Artifact("power", ("design", "effect"), "results",
                      lambda p: f"power_{p['program']}.parquet" if p["outcome"] == "income_pc" else
                      f"power_{p['program']}_{p['outcome']}.parquet",
                      _power, "helpers.analysis.power", {**SENSITIVITY_PARAMS, "effects": "", "reps": 1000},
                      lambda p: [("household_quarters", {})], _lines, ("program", "outcome")),
}


# ---- the cache key ----------------------------------------------------------------------------------------------
def _jsonable(x):
    return json.loads(json.dumps(x, sort_keys=True, default=str))


def parameters(name: str, params: dict) -> dict:
    """Every parameter of the artifact with its effective value (defaults filled in); unknown ones refused."""
    art = artifact(name)
    unknown = sorted(set(params) - set(art.params))
    if unknown:
        raise ArtifactError(f"{name}: unknown parameter(s) {unknown}; allowed: {sorted(art.params)}")
    out = {**art.params, **params}
    for k, default in art.params.items():          # the declared types (a notebook may pass 9999 as "9999")
        if isinstance(default, bool):
            out[k] = out[k] if isinstance(out[k], bool) else str(out[k]).lower() in ("true", "1", "yes")
        elif isinstance(default, int):
            out[k] = int(out[k])
        elif isinstance(default, str):
            out[k] = "" if out[k] is None else str(out[k])
    return out


def artifact(name: str) -> Artifact:
    try:
        return REGISTRY[name]
    except KeyError:
        raise ArtifactError(f"unknown artifact {name!r}; known: {sorted(REGISTRY)}") from None


def path(name: str, quarter: str, paths: Paths | None = None, **params) -> Path:
    """Where the artifact made with these parameters lives."""
    return artifact(name).path(quarter, paths or Paths(), parameters(name, params))


def recorded(file: Path) -> dict:
    """What an artifact's file records: ``key``, ``name``, ``quarter``, ``parameters`` (empty for a file
    without a record)."""
    from helpers.store.storage import table_metadata

    try:
        return json.loads(table_metadata(file).get(META, "{}"))
    except (OSError, ValueError):
        return {}


def _processed_current(file: Path, quarter: str) -> bool:
    from helpers.store.storage import table_metadata

    if not file.exists():
        return False
    quarters = table_metadata(file).get("quarters", "")
    return not quarters or quarter in quarters.split(",")


def key(name: str, quarter: str, paths: Paths | None = None, **params) -> str:
    """The artifact's cache key as it would be now (building its missing inputs to know theirs)."""
    return _state(name, quarter, paths or Paths(), parameters(name, params))[0]


_HASHES: dict = {}      # processed file -> (its size, modification time and inode, its hash)


def _processed_hash(file: Path) -> str:
    """The processed table's hash, computed once per version of the file in this process (a page asks for five
    artifacts made from the same 150 MB table at city scale; a rewritten file is a new inode with a new time)."""
    from helpers.store.storage import file_hash

    st = file.stat()
    stamp = (st.st_size, st.st_mtime_ns, st.st_ino)
    known = _HASHES.get(str(file))
    if known is None or known[0] != stamp:
        known = _HASHES[str(file)] = (stamp, file_hash(file))
    return known[1]


def _state(name: str, quarter: str, paths: Paths, params: dict) -> tuple[str, dict]:
    """(key, the inputs' frames for the producer); processed inputs are built when missing."""
    art = artifact(name)
    if art.where == "processed":
        file = art.path(quarter, paths, params)
        if not _processed_current(file, quarter):
            _build_processed(quarter, paths)
        return _processed_hash(file), {}
    inputs, keys = {}, {}
    for inp, p in art.inputs(params):
        inp_params = parameters(inp, p)
        if artifact(inp).where == "processed":
            keys[inp] = _state(inp, quarter, paths, inp_params)[0]
        else:
            inputs[inp] = get(inp, quarter=quarter, paths=paths, **inp_params)
            keys[inp] = recorded(artifact(inp).path(quarter, paths, inp_params)).get("key")
    blob = {"artifact": name, "quarter": quarter, "parameters": params, "inputs": keys,
            "code": code_hash(art.module), "config": _jsonable(art.config(params))}
    return hashlib.sha256(json.dumps(blob, sort_keys=True, default=str).encode()).hexdigest(), inputs


def _build_processed(quarter: str, paths: Paths) -> None:
    from helpers.intake.assemble import run_intake

    run_intake(quarter, paths)


def get(name: str, quarter: str, paths: Paths | None = None, **params) -> pd.DataFrame:
    """The artifact's frame: read when its file records the current key, else built (its inputs first), written
    with its key and parameters, and returned."""
    from helpers.store.storage import write_table

    paths = paths or Paths()
    art = artifact(name)
    params = parameters(name, params)
    file = art.path(quarter, paths, params)
    k, inputs = _state(name, quarter, paths, params)
    if art.where == "processed":
        return pd.read_parquet(file)
    if file.exists() and recorded(file).get("key") == k:
        return pd.read_parquet(file)
    frame = art.produce(quarter, paths, inputs, **params)
    record = {"name": name, "quarter": quarter, "key": k, "parameters": _jsonable(params)}
    write_table(frame, file, list(art.keys) if art.keys else None, name,
                {META: json.dumps(record, ensure_ascii=False, sort_keys=True)})
    return pd.read_parquet(file)


def current(name: str, quarter: str, paths: Paths | None = None, **params) -> bool:
    """Whether the artifact's file exists and records the current key."""
    paths = paths or Paths()
    params = parameters(name, params)
    file = artifact(name).path(quarter, paths, params)
    return file.exists() and recorded(file).get("key") == _state(name, quarter, paths, params)[0]
