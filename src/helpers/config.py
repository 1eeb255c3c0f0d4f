"""Paths and settings in one place.

Every path the workbook reads or writes is derived here from the project root, so that
notebooks and helpers never spell out a path. The root is found from this file (editable
install) or from the ``WORKBOOK_ROOT`` environment variable.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml


def _find_root() -> Path:
    env = os.environ.get("WORKBOOK_ROOT")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").exists() and (parent / "src" / "helpers").exists():
            return parent
    return Path.cwd().resolve()


ROOT: Path = _find_root()
CONFIG_DIR = ROOT / "config"
DATA_RAW = ROOT / "data" / "raw"
DATA_PROCESSED = ROOT / "data" / "processed"
DATA_REFERENCE = ROOT / "data" / "reference"
CORRECTIONS = ROOT / "data" / "corrections.csv"
VILLAGE_REGISTER = DATA_REFERENCE / "village_register.csv"
REPORTS = ROOT / "reports"
INTERACTIVE_REPORTS = REPORTS / "interactive"     # where notebooks run by hand write (never the published run's)
PRIVATE = ROOT / "private"
TRUTH = ROOT / "truth"
NOTEBOOKS = ROOT / "notebooks"
DOCS = ROOT / "docs"
SETTINGS_FILE = CONFIG_DIR / "workbook.yaml"
KERNEL_NAME = "rural-workbook"
SIMULATED_MARKER = "SIMULATED.json"    # beside the quarter folders of simulated submissions (workbook simulate)


@dataclass(frozen=True)
class Paths:
    """The folders one run uses; defaults are the project's own."""

    raw: Path = DATA_RAW
    processed: Path = DATA_PROCESSED
    private: Path = PRIVATE
    reports: Path = REPORTS
    corrections: Path = CORRECTIONS
    register: Path = VILLAGE_REGISTER

    @classmethod
    def make(cls, raw=None, processed=None, private=None, reports=None,
             corrections=None, register=None) -> "Paths":
        """Build Paths from optional overrides (str or Path); None keeps the default."""
        d = cls()
        pick = lambda v, default: Path(v).resolve() if v is not None else default  # noqa: E731
        return cls(pick(raw, d.raw), pick(processed, d.processed), pick(private, d.private),
                   pick(reports, d.reports), pick(corrections, d.corrections),
                   pick(register, d.register))

    @classmethod
    def for_notebook(cls, raw_dir: str = "", processed_dir: str = "", private_dir: str = "", reports_dir: str = "",
                     corrections_file: str = "") -> "Paths":
        """The folders of a notebook's parameters (empty: the default). A notebook run by hand in JupyterLab
        (``reports_dir`` empty) writes its results and figures under ``reports/interactive/``, so trying other
        parameters never replaces what ``workbook run`` published (which always passes ``reports_dir``)."""
        return cls.make(raw=raw_dir or None, processed=processed_dir or None, private=private_dir or None,
                        reports=reports_dir or INTERACTIVE_REPORTS, corrections=corrections_file or None)

    @property
    def interactive(self) -> bool:
        """True when a notebook was run by hand (its results go to reports/interactive/, not the published run's)."""
        return self.reports == INTERACTIVE_REPORTS

    def quarter_or_latest(self, quarter: str = "") -> str:
        """``quarter``, or when it is empty the latest quarter folder (YYYYQn) in ``raw`` (a notebook opened in
        JupyterLab evaluates the newest data without editing its parameters); failing that, the latest quarter
        of the processed tables."""
        import json
        import re

        if quarter:
            return quarter
        pattern = re.compile(r"^\d{4}Q[1-4]$")
        found = sorted(p.name for p in self.raw.iterdir() if p.is_dir() and pattern.match(p.name)) \
            if self.raw.is_dir() else []
        if not found and (self.processed / "manifest.json").exists():
            found = sorted(json.loads((self.processed / "manifest.json").read_text(encoding="utf-8")).get("quarters", []))
        if not found:
            raise FileNotFoundError(f"no quarter folder (such as 2023Q2/) in {self.raw} and no processed tables in "
                                    f"{self.processed}: set the quarter parameter, or put the submissions in {self.raw}")
        return found[-1]


@lru_cache(maxsize=8)
def _load_settings(path: str) -> dict:
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh) or {}


def settings(path: Path | None = None) -> dict:
    """The workbook settings (config/workbook.yaml) as a dict."""
    return _load_settings(str(path or SETTINGS_FILE))


def seed() -> int:
    """The workbook's one random seed (config/workbook.yaml ``seed``)."""
    return int(settings()["seed"])


SEED = seed()


def resolve(path: str | Path) -> Path:
    """A path from the config, relative to the project root unless absolute."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else ROOT / p
