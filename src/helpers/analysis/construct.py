"""The shared construction step (analysis.md): from processed tables to the estimation panel.

One function, ``build_panel``, makes the household-quarter panel that every notebook uses:
per-capita and earned income, whether the quarter's income is below the year's monitoring line, each
household's start quarter for each program (the earliest start any of its rows reports; disagreements
counted), the three treatments (any support, starting with industry support, starting with employment
support), baseline subgroups taken from the household's first observed quarter, the subsidy dose,
and a count of every household it leaves out and why, per county.

``below_line`` is 1 when the quarter's per-capita income times four is below the monitoring line of the
quarter's year (``monitoring_line`` in config/indicators.yaml, 元 per person per year: each year's line for that
year's quarters), 0 when not, missing when income is missing. A year without a line leaves the column missing
for that year's quarters and makes every use of the outcome (``Panel.sample``) raise ``MonitoringLineError``
naming the year and the file: the other outcomes stay usable until the province's line is entered.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.analysis.indicators import load_config
from helpers.config import CONFIG_DIR, Paths
from helpers.domain.quarters import index_quarter, quarter_index

# The treatments and the outcome columns the estimators take (codes; their names in both languages are in the
# label catalogue, helpers.domain.labels, kinds "program" and "outcome").
PROGRAMS = ("any", "industry", "employment")
OUTCOMES = ("income_pc", "earned_pc", "log_income_pc", "below_line")
SHARE_OUTCOMES = ("below_line",)      # 0/1 outcomes: an effect on them is a difference in probability (a share)
COVARIATES = ("household_size", "relocated")      # panel columns Callaway-Sant'Anna may adjust for
_COLUMNS = ["household_id", "quarter", "county", "village", "household_type", "relocated", "household_size",
            "income_wage", "income_business", "income_per_capita", "industry_start", "industry_subsidy",
            "employment_start"]
# Read as categoricals: a household's code or a county name is stored once, rows hold small integers.
_CATEGORICAL = ["household_id", "quarter", "county", "village", "household_type", "industry_start", "employment_start"]


@dataclass
class Panel:
    """The constructed panel and what construction left out."""

    data: pd.DataFrame          # one row per household-quarter in the window
    households: pd.DataFrame    # one row per household: starts, cohort, baseline subgroups, dose
    excluded: pd.DataFrame      # per county: households left out and why
    quarters: list[str]
    balanced: bool
    missing_lines: tuple[int, ...] = ()      # years of the window without a monitoring line (below_line unusable)
    line_source: str = ""                    # the file the monitoring lines were read from

    def sample(self, program: str = "any", outcome: str = "income_pc", columns: list[str] | None = None) -> pd.DataFrame:
        """The estimation sample for a treatment: always-treated households out; for a program,
        households whose first support was the other program out. ``cohort`` is the integer
        quarter of the first start (0 = not treated within the window), ``time`` the integer quarter.
        ``columns`` keeps only those (the outcome included): estimation needs a few of the panel's."""
        if program not in PROGRAMS:
            raise ValueError(f"program must be one of {PROGRAMS}, not {program!r}")
        if outcome == "below_line" and self.missing_lines:
            raise MonitoringLineError(self.missing_lines, self.line_source)
        h = self.households
        keep = ~h["always_treated"]
        if program != "any":
            keep &= h["first_program"].isin([program, "none"])
        rows = keep.to_numpy()[self.data["household_id"].cat.codes.to_numpy()]
        if outcome == "log_income_pc":
            rows &= self.data["log_income_pc"].notna().to_numpy()
        data = self.data if columns is None else self.data[list(dict.fromkeys([*columns, outcome]))]
        return data[rows]


    def accounting(self, program: str = "any") -> pd.DataFrame:
        """Per county, every household of the window once, in the order the rules apply: ``households`` in the
        window, ``dropped_for_gaps`` (balanced panel: not seen every quarter), ``always_treated`` (of those kept:
        supported before the window), ``other_program`` (of the rest, on a program's page: the other program came
        first), ``estimated`` (in this program's estimation); and ``start_disagreements`` (estimated households whose
        reported start differs between quarters: the earliest is used). households = dropped_for_gaps +
        always_treated + other_program + estimated."""
        if program not in PROGRAMS:
            raise ValueError(f"program must be one of {PROGRAMS}, not {program!r}")
        h = self.households
        always = h["always_treated"].to_numpy(dtype=bool)
        other = ~always & (program != "any") & ~h["first_program"].isin([program, "none"]).to_numpy()
        est = ~always & ~other
        by = lambda mask: pd.Series(mask.astype(int), index=h.index).groupby(h["county"].to_numpy()).sum()  # noqa: E731
        out = pd.DataFrame({"households": self.excluded["households"],
                            "dropped_for_gaps": self.excluded["dropped_for_gaps"]}).fillna(0)
        for name, mask in (("always_treated", always), ("other_program", other), ("estimated", est),
                           ("start_disagreements", est & h["start_disagreement"].to_numpy(dtype=bool))):
            out[name] = by(mask).reindex(out.index).fillna(0)
        return out.astype("int64")


class MonitoringLineError(ValueError):
    """A year of the window has no monitoring line in the config: the below-line outcome cannot be built."""

    def __init__(self, years, source) -> None:
        self.years = tuple(int(y) for y in years)
        shown = ", ".join(str(y) for y in self.years)
        super().__init__(f"no monitoring line for {shown} in {source} (monitoring_line, yuan per person per year): "
                         f"enter the province's line for {shown} there to estimate effects on being below the line")


def monitoring_lines(config_path: Path | None = None) -> tuple[dict[int, float], str]:
    """The monitoring line of each year (yuan per person per year) from config/indicators.yaml (or another file with
    the same keys, read by ``indicators.load_config``), and the file it came from."""
    source = Path(config_path) if config_path else CONFIG_DIR / "indicators.yaml"
    lines = load_config(source).get("monitoring_line") or {}
    return {int(y): float(v) for y, v in lines.items() if v is not None}, str(source)


def below_line(income_pc, quarters, lines: dict[int, float], source: str = "config/indicators.yaml",
               strict: bool = True) -> np.ndarray:
    """1.0 where the quarter's per-capita income times four is below its year's monitoring line, 0.0 where not,
    NaN where income is missing. ``quarters`` are the rows' quarters (``YYYYQn``, or a categorical of them). A year
    without a line raises ``MonitoringLineError`` naming it and ``source``; with ``strict=False`` its rows are NaN."""
    income = np.asarray(income_pc, dtype="float64")
    q = quarters if isinstance(quarters, pd.Categorical) else pd.Categorical(np.asarray(quarters, dtype=object))
    used = np.unique(q.codes[q.codes >= 0])
    years = np.array([int(str(c)[:4]) for c in q.categories], dtype="int64")
    missing = sorted({int(y) for y in years[used]} - set(lines))
    if missing and strict:
        raise MonitoringLineError(missing, source)
    line = np.append(np.array([lines.get(int(y), np.nan) for y in years], dtype="float64"), np.nan)[q.codes]
    out = (income * 4.0 < line).astype("float64")     # code -1 (no quarter) picks the NaN at the end
    out[np.isnan(income) | np.isnan(line)] = np.nan
    return out


def _read(paths: Paths | None, quarter: str | None, hq: pd.DataFrame | None) -> pd.DataFrame:
    """The columns construction needs, up to ``quarter``, with names and codes as categoricals."""
    if hq is None:
        import pyarrow.parquet as pq

        paths = paths or Paths()
        path = paths.processed / "household_quarters.parquet"
        if not path.exists():     # analysis never runs intake: helpers.pipeline.artifacts builds missing tables
            raise FileNotFoundError(f"{path} does not exist: run `workbook intake`, or ask helpers.pipeline.artifacts "
                                    "(it builds missing processed tables)")
        hq = pq.read_table(path, columns=_COLUMNS, filters=[("quarter", "<=", quarter)] if quarter else None,
                           read_dictionary=_CATEGORICAL).to_pandas()
    elif quarter:
        hq = hq[hq["quarter"] <= quarter]
    return hq[_COLUMNS].astype({c: "category" for c in _CATEGORICAL})


def _codes(column: pd.Series, as_quarter: bool = False) -> np.ndarray:
    """Category codes, or with ``as_quarter`` each row's quarter as an integer (NaN where missing)."""
    codes = column.cat.codes.to_numpy()
    if not as_quarter:
        return codes
    lookup = np.append(quarter_index(column.cat.categories).astype("float64"), np.nan) if len(column.cat.categories) \
        else np.array([np.nan])
    return lookup[codes]                     # code -1 (missing) picks the NaN at the end


def _per_unit(u: np.ndarray, values: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Earliest value per unit (NaN where none) and whether a unit's values disagree."""
    lo, hi = np.full(n, np.inf), np.full(n, -np.inf)
    ok = ~np.isnan(values)
    np.minimum.at(lo, u[ok], values[ok])
    np.maximum.at(hi, u[ok], values[ok])
    seen = np.isfinite(lo)
    return np.where(seen, lo, np.nan), seen & (hi > lo)


_PANELS: dict = {}          # the last panel built from a file, by what it was built from (one entry)


def build_panel(paths: Paths | None = None, quarter: str | None = None, balanced: bool = True,
                hq: pd.DataFrame | None = None, indicators_config: Path | None = None) -> Panel:
    """The estimation panel (``make_panel``); built from ``data/processed`` it is kept for the next call with the
    same file (its path, size and modification time), quarter, balance and config, so the several results of one
    page (effects, below-line effects, sensitivity, power, quantile effects) build it once. Callers must not modify
    it (``Panel.sample`` returns copies)."""
    if hq is not None:
        return make_panel(paths, quarter, balanced, hq, indicators_config)
    file = (paths or Paths()).processed / "household_quarters.parquet"
    cfg = Path(indicators_config) if indicators_config else CONFIG_DIR / "indicators.yaml"
    try:
        st, cst = file.stat(), cfg.stat()
    except OSError:
        return make_panel(paths, quarter, balanced, hq, indicators_config)
    key = (str(file.resolve()), st.st_size, st.st_mtime_ns, quarter, bool(balanced), str(cfg), cst.st_mtime_ns)
    if key not in _PANELS:
        _PANELS.clear()
        _PANELS[key] = make_panel(paths, quarter, balanced, hq, indicators_config)
    return _PANELS[key]


def make_panel(paths: Paths | None = None, quarter: str | None = None, balanced: bool = True,
               hq: pd.DataFrame | None = None, indicators_config: Path | None = None) -> Panel:
    """Build the estimation panel from data/processed up to ``quarter`` (default: all quarters).

    The monitoring lines of ``below_line`` are read from ``indicators_config`` (default config/indicators.yaml).

    With ``balanced`` (the default) the window keeps only households observed in every
    quarter; those dropped for gaps are counted per county. Everything is computed on integer
    household codes (no string sorting or merging), so memory stays a few columns of rows.
    """
    hq = _read(paths, quarter, hq)
    hq = hq.iloc[np.lexsort((_codes(hq["quarter"], True), _codes(hq["household_id"])))].reset_index(drop=True)
    ids = hq["household_id"].cat.remove_unused_categories()
    u, n = ids.cat.codes.to_numpy().astype("int64"), len(ids.cat.categories)
    time = _codes(hq["quarter"], True).astype("int64")
    quarters = sorted(hq["quarter"].unique().astype(str)) if len(hq) else []
    first_row = np.flatnonzero(np.r_[True, u[1:] != u[:-1]]) if len(u) else np.array([], dtype="int64")

    base = hq.iloc[first_row]                     # baseline subgroups: the first observed quarter
    h = pd.DataFrame({"household_id": ids.cat.categories.astype(str), "first_time": time[first_row],
                      "county": base["county"].astype(str).to_numpy(), "household_type": base["household_type"].to_numpy(),
                      "relocated": base["relocated"].fillna(False).astype(bool).to_numpy(), "village": base["village"].to_numpy(),
                      "n_quarters": np.bincount(u, minlength=n)})
    ind, ind_dis = _per_unit(u, _codes(hq["industry_start"], True), n)
    emp, emp_dis = _per_unit(u, _codes(hq["employment_start"], True), n)
    h["industry_start"], h["employment_start"] = ind, emp
    h["start_disagreement"] = ind_dis | emp_dis
    start = np.fmin(ind, emp)
    h["first_start"] = start
    h["first_program"] = np.select([np.isnan(start), ind == emp, ind == start], ["none", "both", "industry"], "employment")
    h["always_treated"] = ~np.isnan(start) & (start < h["first_time"].to_numpy())

    # Dose: industry subsidy reported in the first treated quarter (it is cumulative).
    at_start = np.flatnonzero(time == ind[u])          # at most one row a household: (household, quarter) is the key
    dose = np.full(n, np.nan)
    dose[u[at_start]] = hq["industry_subsidy"].to_numpy(dtype="float64")[at_start]
    h["dose"] = dose
    ok = h["dose"].notna() & (h["first_program"] == "industry") & ~h["always_treated"]
    h["dose_bin"] = pd.Series(pd.NA, index=h.index, dtype="string")
    if ok.sum() >= 3:
        h.loc[ok, "dose_bin"] = pd.qcut(h.loc[ok, "dose"].rank(method="first"), 3,
                                        labels=["低", "中", "高"]).astype("string")

    excluded = pd.DataFrame(index=pd.Index(sorted(h["county"].unique()), name="county"))
    excluded["households"] = h.groupby("county").size()
    excluded["always_treated"] = h[h["always_treated"]].groupby("county").size()
    excluded["start_disagreements"] = h[h["start_disagreement"]].groupby("county").size()
    excluded["both_same_quarter"] = h[h["first_program"] == "both"].groupby("county").size()
    excluded["industry_first"] = h[h["first_program"] == "industry"].groupby("county").size()
    excluded["employment_first"] = h[h["first_program"] == "employment"].groupby("county").size()
    keep_unit = np.ones(n, dtype=bool)
    if balanced:
        keep_unit = (h["n_quarters"] == len(quarters)).to_numpy()
        excluded["dropped_for_gaps"] = h[~keep_unit].groupby("county").size()
    else:
        excluded["dropped_for_gaps"] = 0
    rows = keep_unit[u]
    ur = (np.cumsum(keep_unit) - 1)[u[rows]]         # codes among the households kept
    h = h[keep_unit].reset_index(drop=True)
    tr = time[rows]
    column = lambda name: hq[name].to_numpy(dtype="float64")[rows]  # noqa: E731
    income, size = column("income_per_capita"), column("household_size")
    earned = (column("income_wage") + column("income_business")) / size
    nonpositive = np.zeros(len(h), dtype=bool)
    nonpositive[ur[income <= 0]] = True
    excluded["nonpositive_income_log_only"] = h[nonpositive].groupby("county").size()
    excluded = excluded.fillna(0).astype("int64")
    qcode = np.searchsorted([quarter_index(q) for q in quarters], tr)    # each row's quarter among ``quarters``
    lines, source = monitoring_lines(indicators_config)
    missing_lines = tuple(sorted({int(q[:4]) for q in quarters} - set(lines)))
    below = below_line(income, pd.Categorical.from_codes(qcode, categories=quarters), lines, source, strict=False)

    start_h = h["first_start"].to_numpy()
    cohort = np.nan_to_num(start_h, nan=0).astype("int64")[ur]
    cohorts = np.unique(cohort[cohort > 0])
    per_unit = lambda name: pd.Categorical(h[name].to_numpy())[ur]  # noqa: E731
    data = pd.DataFrame({
        "household_id": pd.Categorical.from_codes(ur, categories=h["household_id"]),
        "quarter": pd.Categorical.from_codes(qcode, categories=quarters),
        "time": tr, "county": per_unit("county"), "village": per_unit("village"),
        "household_type": per_unit("household_type"), "relocated": h["relocated"].to_numpy()[ur],
        "household_size": size, "income_pc": income, "earned_pc": earned,
        "log_income_pc": np.log(np.where(income > 0, income, np.nan)), "below_line": below,
        "first_program": per_unit("first_program"), "dose_bin": per_unit("dose_bin"),
        "industry_start": h["industry_start"].to_numpy()[ur], "employment_start": h["employment_start"].to_numpy()[ur],
        "cohort": cohort,
        "cohort_quarter": pd.Categorical.from_codes(np.where(cohort > 0, np.searchsorted(cohorts, cohort), -1),
                                                    categories=[index_quarter(c) for c in cohorts]),
        "event_time": np.where(cohort > 0, tr - cohort, np.nan),
        "treated": (cohort > 0) & (tr >= cohort),
    })
    return Panel(data, h, excluded, quarters, balanced, missing_lines, source)
