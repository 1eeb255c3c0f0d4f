"""The quarter's indicators (analysis.md, section Indicators), each defined once, here.

Every indicator has a key (its Chinese and English names are in the label catalogue,
``domain.labels``), a unit, a kind (count, rate, amount, ratio), its formula and, where policy
sets one, the config key of its threshold
(config/indicators.yaml; thresholds never live in code). ``compute`` returns one tidy table:
a row per quarter, county (and 全市, the city), indicator and category, with the value, its
numerator and denominator, a status (``ok``, ``unknown``: too few quarters observed,
``no_data``: the county did not send what it needs), the threshold and whether it is met.
docs/indicators.md is rendered from ``INDICATORS`` by ``render_markdown``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from helpers.config import CONFIG_DIR, Paths
from helpers.engine import lost_workers
from helpers.domain.labels import label
from helpers.domain.dictionary import COUNTIES, EMPLOYMENT_SUPPORT, MONITOR_TYPES, PROBLEM_SOURCES, PROJECT_TYPES
from helpers.store.exports import write_people_csv
from helpers.store.codehash import code_hash
from helpers.domain.quarters import previous, quarter_range

CITY = "全市"
ALL = ""          # category of a county's total


@dataclass(frozen=True)
class Indicator:
    key: str
    unit: str          # Chinese unit, a key of the label catalogue's "unit" kind
    kind: str          # count | rate | pp (difference of two rates, in percentage points) | amount | ratio
    formula: str
    threshold: str = ""   # config key / rule, or "" when none
    section: str = ""
    meets: str = ""       # how ``met`` compares the value with the threshold: ">=", ">" or "=="

    # The names live in the label catalogue (domain.labels, kind "indicator"); these are for
    # docs/indicators.md, which lists both.
    @property
    def zh(self) -> str:
        return label("indicator", self.key, "zh")

    @property
    def en(self) -> str:
        return label("indicator", self.key, "en")


_I = Indicator
INDICATORS: dict[str, Indicator] = {i.key: i for i in [
    _I("monitored_households", "户", "count", "户类型为监测户且风险未消除的户数", section="monitoring"),
    _I("monitored_persons", "人", "count", "上述农户的家庭人口之和", section="monitoring"),
    _I("new_monitored", "户", "count", "本季度为监测户、此前各季度均不是监测户的户数；首个季度为“未知”", section="monitoring"),
    _I("risk_eliminated", "户", "count", "户类型为监测户且风险已消除的户数（累计）", section="monitoring"),
    _I("eliminated_this_quarter", "户", "count", "风险消除日期在本季度内的监测户数", section="monitoring"),
    _I("elimination_rate", "%", "rate", "已消除风险户数 / 全部监测户数", section="monitoring"),
    _I("missed_monitoring", "户", "count", "近四个季度人均纯收入之和低于当年监测线、且未纳入监测（或已消除风险）的户数；不足四个季度为“未知”",
       "monitoring_line（每年）；政策要求为0（无一人漏测失帮）", section="monitoring", meets="=="),
    _I("missed_monitoring_rate", "%", "rate", "疑似漏测户数 / 收入可判断的农户数", "应为0", section="monitoring", meets="=="),
    _I("eliminated_below_line", "户", "count", "已消除风险、但近四个季度人均纯收入之和低于监测线的监测户数", "monitoring_line", section="monitoring"),
    _I("income_unknown", "户", "count", "近四个季度未全部观察到的户数（按“未知”处理，不算低于监测线）", section="monitoring"),
    _I("alleviated_income_growth", "%", "rate", "两个窗口都在的脱贫户：近四季度人均纯收入均值 / 上年同期四季度均值 − 1；区间为按村自助抽样",
       "official_rural_income_growth（当年农村居民人均可支配收入增速）", section="income", meets=">"),
    _I("general_income_growth", "%", "rate", "同上，一般农户", section="income"),
    _I("income_growth_gap", "个百分点", "pp", "脱贫户增速 − 一般农户增速（两个百分比之差，单位为百分点）", "大于0（脱贫户增速快于农村居民）",
       section="income", meets=">"),
    _I("workers", "人", "count", "本季度务工人数之和，按就业帮扶类型（“无”为未享受就业帮扶的农户）；县区未报送务工人数列为“无数据”，"
       "全市合计只含报送了该列的县区", section="employment"),
    _I("workers_change", "%", "rate", "本季度务工人数 / 上年同季度 − 1；全市只含两个季度都报送了务工人数的县区", section="employment"),
    _I("spending_progress", "%", "rate", "中央和省级衔接资金（linking_fund_sources）项目的已支出 / 到位资金（本季度项目台账）；其他来源的项目不计入",
       "spending_milestones（本季度时序目标）", section="funds", meets=">="),
    _I("industry_share", "%", "rate", "中央和省级衔接资金中产业发展项目的到位资金 / 中央和省级衔接资金到位资金之和",
       "industry_share_threshold（当年）", section="funds", meets=">="),
    _I("projects_not_started", "个", "count", "项目状态为未开工的项目数", section="funds"),
    _I("projects_behind", "个", "count", "在建项目中支出进度低于本季度时序目标的项目数", "spending_milestones", section="funds"),
    _I("households_reached", "户", "count", "按项目类型的带动户数之和", section="funds"),
    _I("persons_reached", "人", "count", "按项目类型的带动人数之和", section="funds"),
    _I("income_per_wan", "元/万元", "ratio", "增收金额 / 已支出（万元），按项目类型", section="funds"),
    _I("problems_found", "个", "count", "问题整改台账中的问题数，按来源", section="problems"),
    _I("problems_fixed", "个", "count", "整改状态为已整改的问题数", section="problems"),
    _I("fixing_rate", "%", "rate", "已整改问题数 / 发现问题数", section="problems"),
    _I("data_quality", "%", "rate", "四项之均值：入库行占报送行的比例、可选列齐全的比例、应报工作表齐全的比例、无需市局更正的行的比例"
       "（analysis/quality.py；composite 权重默认为0）", section="data"),
]}


def load_config(path: Path | None = None) -> dict:
    """config/indicators.yaml (or another file with the same keys)."""
    with open(path or CONFIG_DIR / "indicators.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _table_path(processed: Path, name: str) -> Path:
    """Where a processed table is kept: one file ``<name>.parquet``, or a folder of partitions
    ``<name>/quarter=<q>/county=<c>/part-0.parquet`` (``intake.partitioned``, the dask engine's intake)."""
    file, folder = processed / f"{name}.parquet", processed / name
    return folder if not file.exists() and folder.is_dir() else file


def _read_pandas(path: Path, columns=None, categorical=None) -> pd.DataFrame:
    """A processed table as one pandas frame, from its file or its folder of partitions (``storage.read_table``:
    the same frame either way), with the ``categorical`` columns as categoricals."""
    from helpers.store.storage import read_table

    if not path.is_dir():
        kw = {"read_dictionary": categorical} if categorical else {}
        return pd.read_parquet(path, columns=columns, **kw)
    df = read_table(path, columns=columns)
    for c in categorical or ():
        df[c] = df[c].astype("category")
    return df


def _partition_schema(files: list[Path], columns=None):
    """The schema the partitions of a table share (types unified: a column entirely missing in one file takes the
    others' type; the largest file's pandas metadata, so every partition gets the same dtypes)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    metas = [pq.ParquetFile(f) for f in files]
    schema = pa.unify_schemas([m.schema_arrow.remove_metadata() for m in metas], promote_options="permissive")
    if columns is not None:
        schema = pa.schema([schema.field(c) for c in columns])
    largest = max(range(len(metas)), key=lambda i: metas[i].metadata.num_rows)
    return schema.with_metadata(metas[largest].schema_arrow.metadata)


def _path_quarter(path: Path) -> str:
    """The quarter of a partition file, from its folder (``quarter=<q>``)."""
    return next(p for p in Path(path).parts if p.startswith("quarter="))[len("quarter="):]


def _read_partition(path: str | None, schema) -> pd.DataFrame:
    """One partition file as a pandas frame with the table's shared schema (run on a worker); None: no rows."""
    import pyarrow.parquet as pq

    if path is None:
        return schema.empty_table().to_pandas()
    table = pq.read_table(path, columns=schema.names).replace_schema_metadata(None)
    return table.cast(schema.remove_metadata()).replace_schema_metadata(schema.metadata).to_pandas()


@dataclass
class Inputs:
    """The processed tables the indicators need (pandas frames). ``source`` is the processed folder they were read
    from, if any: the dask engine then reads a table kept as a folder of partitions itself, on its workers."""

    hq: pd.DataFrame
    projects: pd.DataFrame
    rectifications: pd.DataFrame
    log: pd.DataFrame
    source: Path | None = field(default=None, repr=False, compare=False)
    _on_engine: dict = field(default_factory=dict, repr=False, compare=False)   # client id -> _DaskFrames

    HQ_COLUMNS = ["household_id", "quarter", "county", "village", "household_type", "monitor_type", "risk_eliminated",
                  "risk_eliminated_date", "household_size", "income_per_capita", "employment_support", "workers"]
    # Codes, places and types as categoricals: at city scale, filtering and grouping millions of
    # household-quarters then moves small integers instead of text.
    HQ_CATEGORICAL = ["household_id", "county", "village", "household_type", "monitor_type", "employment_support"]

    @classmethod
    def load(cls, paths: Paths | None = None, quarter: str | None = None) -> "Inputs":
        """The tables in ``paths.processed``, each a file or a folder of partitions (analysis never runs intake:
        helpers.pipeline.artifacts builds missing processed tables)."""
        paths = paths or Paths()
        hq_path = _table_path(paths.processed, "household_quarters")
        if not hq_path.exists():
            raise FileNotFoundError(f"{paths.processed / 'household_quarters.parquet'} does not exist: run `workbook "
                                    "intake`, or ask helpers.pipeline.artifacts (it builds missing processed tables)")
        read = lambda n, c=None, d=None: _read_pandas(_table_path(paths.processed, n), c, d)  # noqa: E731
        return cls(read("household_quarters", cls.HQ_COLUMNS, cls.HQ_CATEGORICAL), read("projects"),
                   read("rectifications"), read("intake_log"), source=Path(paths.processed))


def _row(quarter, county, key, value, num=np.nan, den=np.nan, category=ALL, status="ok", threshold=np.nan,
         met=pd.NA, low=np.nan, high=np.nan):
    return dict(quarter=quarter, county=county, indicator=key, category=category, value=value, numerator=num,
                denominator=den, ci_low=low, ci_high=high, status=status, threshold=threshold, met=met)


def _units(frame: pd.DataFrame, counties) -> list[tuple[str, pd.DataFrame]]:
    """(county, rows) for each county and the city."""
    out = [(c, frame[frame["county"] == c]) for c in counties]
    out.append((CITY, frame[frame["county"].isin(counties)]))
    return out


def _sent(log: pd.DataFrame, quarter: str, sheet: str) -> set[str]:
    q = log[(log["quarter"] == quarter) & (log["sheet"] == sheet)]
    return set(q.loc[~q["missing_sheet"].astype(bool), "county"])


# ---- where the aggregations run ----------------------------------------------------------------------------------
# Every indicator is computed in two steps, each written once:
#   1. ``aggregate``: grouped aggregations of the processed tables (sums, counts, sizes by county and category),
#      written with the operations pandas and Dask DataFrame share, so the same code runs on pandas frames (the
#      local engine) and on partitioned Dask frames (the dask engine: partial aggregates on the workers' partitions,
#      combined by Dask). The few operations the two spell differently (the rows of some quarters, a household
#      looked up in another set of rows, the groupby options) are methods of the frames objects below.
#   2. ``rows``: on the driver, from those small per-county aggregates, the county's and the city's (sums over its
#      counties) values, numerators, denominators, statuses and verdicts: the formulas of the indicators.
class _PandasFrames:
    """The processed tables as pandas frames (the local engine): aggregations run as they are written."""

    lazy = False

    def __init__(self, inp: Inputs):
        self.inp, self.hq, self.projects, self.rectifications, self.log = (inp, inp.hq, inp.projects,
                                                                           inp.rectifications, inp.log)
        self._quarters = None

    @property
    def quarters(self) -> list[str]:
        """The quarters in the household table, in order."""
        if self._quarters is None:
            self._quarters = sorted(self.hq["quarter"].unique())
        return self._quarters

    def rows(self, table: str, quarters=None, before: str | None = None):
        """The rows of ``table`` (``hq``, ``projects``, ``rectifications``) in ``quarters``, or in the quarters
        before ``before``."""
        t = getattr(self, table)
        if before is not None:
            return t[t["quarter"] < before]
        if len(quarters) == 1:
            return t[t["quarter"] == quarters[0]]
        return t[t["quarter"].isin(list(quarters))]

    @staticmethod
    def sums(frame, by, **named):
        """``frame.groupby(by).agg(**named)`` with missing keys kept as their own group and only observed categories
        (one small frame: a row per county and category)."""
        return frame.groupby(by, dropna=False, observed=True).agg(**named)

    @staticmethod
    def per_household(frame, **named):
        """``frame.groupby("household_id").agg(**named)``: one row per household."""
        return frame.groupby("household_id", observed=True).agg(**named)

    @staticmethod
    def flag_in(rows, column: str, other, name: str):
        """``rows`` with a column ``name``: whether the row's ``column`` value occurs in ``other[column]``."""
        return rows.assign(**{name: rows[column].isin(other[column].unique())})

    @staticmethod
    def by_household(rows, per):
        """``rows`` (one per household, with the column ``household_id``) with the columns of ``per`` (indexed by
        household; missing where a household has no row there)."""
        return rows.set_index("household_id").join(per)

    @staticmethod
    def households_in(per, rows):
        """``per`` (indexed by household) with the columns of ``rows`` (one per household, with the column
        ``household_id``), for the households in both."""
        return per.join(rows.set_index("household_id"), how="inner")

    def collect(self, parts: dict) -> dict:
        """The aggregates as pandas frames (here they already are)."""
        return parts


class _DaskFrames(_PandasFrames):
    """The processed tables as Dask DataFrames on the engine's cluster: read by the workers from a folder of
    partitions when the table is kept as one (``quarter=…/county=…``, one Dask partition per file, only the files of
    the quarters an aggregation needs), else the driver's frame cut into ``npartitions`` row blocks, scattered to
    the workers once and kept there for every quarter computed with the same inputs. The intake log (a row per
    county and sheet) stays on the driver. Aggregates come back in one computation (``collect``)."""

    lazy = True

    def __init__(self, inp: Inputs, client, npartitions: int):
        import dask.dataframe as dd

        from helpers.store.storage import partition_files

        self.inp, self.client, self.log = inp, client, inp.log
        self._quarters, self._files, self._selected = None, {}, {}

        def table(key: str, name: str, frame: pd.DataFrame, columns=None):
            src = _table_path(inp.source, name) if inp.source is not None else None
            files = partition_files(src) if src is not None and src.is_dir() else []
            if files:                                  # one partition per file, read by a worker
                self._files[key] = ([(_path_quarter(f), str(f)) for f in files], _partition_schema(files, columns))
                return self._read(key, None)
            # Codes and places as text on the cluster (a categorical's categories would travel with every task and
            # every partition's metadata), cut into row blocks scattered to the workers once and kept there.
            frame = frame.astype({c: "str" for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)})
            n = max(1, min(npartitions, len(frame)))
            bounds = np.linspace(0, len(frame), n + 1).astype(int)
            with lost_workers(client, "indicators"):
                blocks = client.scatter([frame.iloc[a:b] for a, b in zip(bounds[:-1], bounds[1:])])
            return dd.from_delayed(blocks, meta=frame.iloc[:0], verify_meta=False)

        self.hq = table("hq", "household_quarters", inp.hq, list(inp.hq.columns))
        self.projects = table("projects", "projects", inp.projects)
        self.rectifications = table("rectifications", "rectifications", inp.rectifications)

    def _read(self, key: str, keep):
        """A table kept as a folder of partitions, as a Dask frame of the files whose quarter ``keep`` accepts (all
        with None): the partitions of other quarters are never read."""
        import dask.dataframe as dd

        files, schema = self._files[key]
        chosen = tuple(f for q, f in files if keep is None or keep(q))
        if chosen not in self._selected:
            meta = schema.empty_table().to_pandas()
            self._selected[chosen] = dd.from_map(_read_partition, list(chosen) or [None], schema=schema, meta=meta,
                                                 enforce_metadata=False)
        return self._selected[chosen]

    def rows(self, table: str, quarters=None, before: str | None = None):
        if table in self._files:
            keep = (lambda q: q < before) if before is not None else (lambda q: q in set(quarters))
            t = self._read(table, keep)
        else:
            t = getattr(self, table)
        if before is not None:
            return t[t["quarter"] < before]
        return t[t["quarter"].isin(list(quarters))]

    @property
    def quarters(self) -> list[str]:
        if self._quarters is None:
            if "hq" in self._files:                   # from the partitions' folders, nothing to read
                self._quarters = sorted({q for q, _ in self._files["hq"][0]})
            else:
                self._quarters = sorted(self.client.compute(self.hq["quarter"].unique(split_out=1)).result())
        return self._quarters

    # One output partition for the aggregates (a row per household at most: the merges that use them are then
    # broadcast to the partitions of the other side, no shuffle).
    @staticmethod
    def sums(frame, by, **named):
        return frame.groupby(by, dropna=False, observed=True).agg(split_out=1, **named)

    @staticmethod
    def per_household(frame, **named):
        return frame.groupby("household_id", observed=True).agg(split_out=1, **named)

    @staticmethod
    def flag_in(rows, column: str, other, name: str):
        seen = other[[column]].drop_duplicates(split_out=1).assign(**{name: True})
        out = rows.merge(seen, on=column, how="left")
        return out.assign(**{name: out[name].fillna(False).astype(bool)})

    @staticmethod
    def by_household(rows, per):
        return rows.merge(per, left_on="household_id", right_index=True, how="left")

    @staticmethod
    def households_in(per, rows):
        return rows.merge(per, left_on="household_id", right_index=True, how="inner")

    def collect(self, parts: dict) -> dict:
        """The aggregates computed on the cluster (in one go) and brought to the driver as pandas frames."""
        names = [k for k, v in parts.items() if v is not None]
        with lost_workers(self.client, "indicators"):
            got = self.client.gather(self.client.compute([parts[k] for k in names]))
        return {**parts, **dict(zip(names, got))}


# Rows per partition when the driver's frames are cut into partitions (at least two per worker).
PARTITION_ROWS = 250_000


def _frames(inp: Inputs, engine=None) -> _PandasFrames:
    """The inputs as the engine computes on them: pandas frames locally; on the dask engine, Dask frames on its
    cluster (made once per inputs and client, and reused)."""
    from helpers.engine import current

    engine = engine or current()
    if engine.client is None:
        return _PandasFrames(inp)
    key = engine.client.id
    if key not in inp._on_engine:
        n = max(2 * engine.workers, -(-len(inp.hq) // PARTITION_ROWS))
        inp._on_engine.clear()
        inp._on_engine[key] = _DaskFrames(inp, engine.client, n)
    return inp._on_engine[key]


class _Totals:
    """A collected aggregate (one row per county and category) ready to be summed over units: ``total(counties,
    key=value, ...)`` is the sums of its columns over the rows of ``counties`` whose keys equal the values given (a
    key given as ``ALL`` is not filtered), a county's or the city's numbers. Rows are summed in the order of their
    keys, whatever order the engine gave them in."""

    def __init__(self, a: pd.DataFrame | None, keys: list[str], columns: list[str]):
        self.keys, self.columns = keys, columns
        a = _flat(a) if a is not None else pd.DataFrame(columns=[*keys, *columns])
        # a missing key (None, NaN or NA, as the engine gave it) is None: its own group, equal to no value asked for
        labels = [tuple(None if pd.isna(x) else x for x in lab) for lab in zip(*(a[k].tolist() for k in keys))]
        values = a[columns].to_numpy(dtype="float64", na_value=np.nan) if len(a) else np.zeros((0, len(columns)))
        order = sorted(range(len(labels)), key=lambda i: [(x is None, str(x)) for x in labels[i]])
        self.labels = [labels[i] for i in order]
        self.values = values[order]

    def total(self, counties, **where) -> dict:
        counties = set(counties)
        pos = [self.keys.index(k) for k, v in where.items() if v != ALL]
        want = [v for v in where.values() if v != ALL]
        take = [i for i, lab in enumerate(self.labels)
                if lab[0] in counties and all(lab[p] == w for p, w in zip(pos, want))]
        sums = self.values[take].sum(axis=0) if take else np.zeros(len(self.columns))
        return dict(zip(self.columns, sums.tolist()))

    def values_of(self, key: str, counties) -> list:
        """The values of ``key`` in the rows of ``counties``, sorted, once each."""
        p, counties = self.keys.index(key), set(counties)
        return sorted({lab[p] for lab in self.labels if lab[0] in counties})


def _unit_counties(counties) -> list[tuple[str, list[str]]]:
    """(unit, its counties) for each county and the city."""
    return [(c, [c]) for c in counties] + [(CITY, list(counties))]


def _flat(a: pd.DataFrame) -> pd.DataFrame:
    """An aggregate with its group keys as columns (text, whatever the engine gave them as)."""
    a = a.reset_index()
    for c in a.columns:
        if isinstance(a[c].dtype, pd.CategoricalDtype):
            a[c] = a[c].astype(object)
    return a


# ---------------------------------------------------------------------------------------
def _monitoring_aggregate(f: _PandasFrames, quarter: str, cfg: dict):
    """Per county and monitoring category: 监测户 this quarter, eliminated, active, their persons, new entrants
    (never 监测户 in an earlier quarter), eliminated within the quarter."""
    cur, before = f.rows("hq", [quarter]), f.rows("hq", before=quarter)
    mon = cur[cur["household_type"] == "监测户"]
    earlier = before[before["household_type"] == "监测户"]
    mon = f.flag_in(mon, "household_id", earlier, "seen")         # once: isin on text is slow
    qstart = pd.Timestamp(int(quarter[:4]), 3 * int(quarter[-1]) - 2, 1)
    qend = qstart + pd.offsets.QuarterEnd(0)
    elim = mon["risk_eliminated"].fillna(False).astype(bool)
    d = mon["risk_eliminated_date"]
    x = mon.assign(elim=elim, active=~elim, active_size=mon["household_size"].where(~elim), new=~mon["seen"],
                   this_quarter=(d >= qstart) & (d <= qend))
    return f.sums(x, ["county", "monitor_type"], households=("elim", "size"), elim=("elim", "sum"),
                active=("active", "sum"), persons=("active_size", "sum"), new=("new", "sum"),
                this_quarter=("this_quarter", "sum"))


def _monitoring_rows(a, f: _PandasFrames, quarter: str, counties, cfg: dict) -> list[dict]:
    """Monitoring counts, new entrants, risk elimination, by monitoring category."""
    a = _Totals(a, ["county", "monitor_type"], ["households", "elim", "active", "persons", "new", "this_quarter"])
    first_quarter = f.quarters[0] == quarter
    rows = []
    for county, units in _unit_counties(counties):
        for cat in (ALL, *MONITOR_TYPES):
            s = a.total(units, monitor_type=cat)
            n, elim = int(s["households"]), int(s["elim"])
            rows.append(_row(quarter, county, "monitored_households", int(s["active"]), category=cat))
            rows.append(_row(quarter, county, "monitored_persons", float(s["persons"]), category=cat))
            rows.append(_row(quarter, county, "new_monitored", np.nan if first_quarter else int(s["new"]), category=cat,
                             status="unknown" if first_quarter else "ok"))
            rows.append(_row(quarter, county, "risk_eliminated", elim, category=cat))
            rows.append(_row(quarter, county, "eliminated_this_quarter", int(s["this_quarter"]), category=cat))
            rows.append(_row(quarter, county, "elimination_rate", elim / n if n else np.nan, elim, n, category=cat,
                             status="ok" if n else "unknown"))
    return rows


def _income_flags(out, line):
    """The income test's verdicts, row by row (the rule, once): ``out`` has per household ``t4_income`` (sum of
    per-capita income over the four quarters), ``n`` (quarters observed of them), ``household_type`` and
    ``risk_eliminated``."""
    known = out["n"].fillna(0) == 4
    out = out.assign(known=known, line=np.nan if line is None else float(line))
    below = out["known"] & (out["t4_income"] < out["line"])
    eliminated = out["risk_eliminated"].fillna(False).astype(bool)
    monitored = (out["household_type"] == "监测户") & ~eliminated
    return out.assign(below=below, monitored=monitored, missed=below & ~monitored,
                      eliminated_below=below & (out["household_type"] == "监测户") & eliminated)


def _income_test(f: _PandasFrames, quarter: str, cfg: dict):
    window = quarter_range(previous(quarter, 3), quarter)
    w = f.rows("hq", window)
    per = f.per_household(w, t4_income=("income_per_capita", "sum"), n=("income_per_capita", "size"))
    cur = f.rows("hq", [quarter])[["household_id", "county", "village", "household_type", "risk_eliminated"]]
    return _income_flags(f.by_household(cur, per), cfg["monitoring_line"].get(int(quarter[:4])))


def income_test(hq: pd.DataFrame, quarter: str, cfg: dict) -> pd.DataFrame:
    """Per household present in ``quarter``: trailing four-quarter per-capita income, the year's
    monitoring line, and below / unknown (fewer than four quarters observed is unknown, not below)."""
    out = _income_test(_PandasFrames(Inputs(hq, pd.DataFrame(), pd.DataFrame(), pd.DataFrame())), quarter, cfg)
    return out.drop(columns="n")


def _missed_aggregate(f: _PandasFrames, quarter: str, cfg: dict):
    """Per county: households present, with four quarters observed, missed (漏测), eliminated below the line."""
    t = _income_test(f, quarter, cfg)
    return f.sums(t, "county", households=("known", "size"), known=("known", "sum"), missed=("missed", "sum"),
                eliminated_below=("eliminated_below", "sum"))


def _missed_rows(a, f: _PandasFrames, quarter: str, counties, cfg: dict) -> list[dict]:
    """漏测 counts (shared outputs show counts only) and risk eliminated while below the line."""
    a = _Totals(a, ["county"], ["households", "known", "missed", "eliminated_below"])
    no_line = int(quarter[:4]) not in cfg["monitoring_line"]
    rows = []
    for county, units in _unit_counties(counties):
        s = a.total(units)
        known = int(s["known"])
        st = "unknown" if no_line or known == 0 else "ok"
        missed = int(s["missed"])
        rows.append(_row(quarter, county, "missed_monitoring", missed if st == "ok" else np.nan, status=st,
                         threshold=0, met=(missed == 0) if st == "ok" else pd.NA))
        rows.append(_row(quarter, county, "missed_monitoring_rate", missed / known if st == "ok" else np.nan, missed, known,
                         status=st, threshold=0, met=(missed == 0) if st == "ok" else pd.NA))
        rows.append(_row(quarter, county, "eliminated_below_line", int(s["eliminated_below"]) if st == "ok" else np.nan,
                         status=st))
        rows.append(_row(quarter, county, "income_unknown", int(s["households"]) - known))
    return rows


def missed_monitoring_list(inp: Inputs, quarter: str, cfg: dict, paths: Paths) -> Path:
    """The household list evaluators act on, re-identified with 户编码, to private/<quarter>/ only."""
    t = income_test(inp.hq, quarter, cfg)
    flagged = t[t["missed"] | t["eliminated_below"]].reset_index()
    codes_path = paths.private / quarter / "household_codes.parquet"
    if codes_path.exists():
        flagged = flagged.merge(pd.read_parquet(codes_path), on="household_id", how="left")
    flagged["问题"] = np.where(flagged["missed"], "疑似漏测", "已消除风险但收入低于监测线")
    out = paths.private / quarter / "missed_monitoring.csv"
    cols = [c for c in ("户编码", "household_id", "county", "village", "household_type", "t4_income", "line", "问题")
            if c in flagged.columns]
    write_people_csv(flagged[cols], out)        # formula cells neutralized, UTF-8 with BOM, 0600 in a 0700 folder
    return out


def _growth_windows(quarter: str):
    return quarter_range(previous(quarter, 3), quarter), quarter_range(previous(quarter, 7), previous(quarter, 4))


def _growth_aggregate(f: _PandasFrames, quarter: str, cfg: dict):
    """Per county, village and household type, over households observed in all eight quarters of both windows:
    the sums of their trailing four-quarter per-capita income now and a year before, and how many there are.
    None when the data do not reach back to the earlier window."""
    now_w, before_w = _growth_windows(quarter)
    if before_w[0] < f.quarters[0]:
        return None
    w = f.rows("hq", now_w + before_w)
    inc = w["income_per_capita"]
    w = w.assign(now=inc.where(w["quarter"].isin(now_w)), before=inc.where(w["quarter"].isin(before_w)))
    per = f.per_household(w, now=("now", "sum"), before=("before", "sum"), n=("now", "size"))
    cur = f.rows("hq", [quarter])[["household_id", "county", "village", "household_type"]]
    x = f.households_in(per[per["n"] == 8], cur)
    return f.sums(x, ["county", "village", "household_type"], now=("now", "sum"), before=("before", "sum"),
                households=("now", "size"))


def _growth_rows(a, f: _PandasFrames, quarter: str, counties, cfg: dict) -> list[dict]:
    """两个收入增速 for 脱贫户 and 一般农户, with intervals by bootstrap over villages (on the driver, from the
    per-village sums)."""
    year = int(quarter[:4])
    official = cfg.get("official_rural_income_growth", {}).get(year)
    official_v = official["value"] if official else np.nan
    rows = []
    keys = ("alleviated_income_growth", "general_income_growth", "income_growth_gap")
    if a is None:
        for county, _ in _unit_counties(counties):
            for key in keys:
                rows.append(_row(quarter, county, key, np.nan, status="unknown"))
        return rows
    a = _flat(a)
    boot = cfg.get("bootstrap", {})
    rng = np.random.default_rng(boot.get("seed", 20230711))
    draws = int(boot.get("draws", 999))
    for county, units in _unit_counties(counties):
        x = a[a["county"].isin(units)]
        villages = sorted(x["village"].unique())
        sums = {}
        for grp in ("脱贫户", "一般农户"):
            s = x[x["household_type"] == grp].groupby("village")[["now", "before"]].sum()
            sums[grp] = s.reindex(villages).fillna(0.0)
        if len(villages) == 0 or sums["脱贫户"]["before"].sum() == 0 or sums["一般农户"]["before"].sum() == 0:
            for key in keys:
                rows.append(_row(quarter, county, key, np.nan, status="unknown"))
            continue
        counts = np.stack([np.bincount(rng.integers(0, len(villages), len(villages)), minlength=len(villages))
                           for _ in range(draws)])
        est, bs = {}, {}
        for grp in ("脱贫户", "一般农户"):
            av, bv = sums[grp]["now"].to_numpy(), sums[grp]["before"].to_numpy()
            est[grp] = av.sum() / bv.sum() - 1
            with np.errstate(invalid="ignore", divide="ignore"):
                bs[grp] = (counts @ av) / (counts @ bv) - 1
        gap_bs = bs["脱贫户"] - bs["一般农户"]
        n_alle = int(x.loc[x["household_type"] == "脱贫户", "households"].sum())
        n_gen = int(x.loc[x["household_type"] == "一般农户", "households"].sum())
        q = lambda v: (np.nanpercentile(v, 2.5), np.nanpercentile(v, 97.5))  # noqa: E731
        lo, hi = q(bs["脱贫户"])
        rows.append(_row(quarter, county, "alleviated_income_growth", est["脱贫户"], den=n_alle, low=lo, high=hi,
                         threshold=official_v, met=(est["脱贫户"] > official_v) if official else pd.NA))
        lo, hi = q(bs["一般农户"])
        rows.append(_row(quarter, county, "general_income_growth", est["一般农户"], den=n_gen, low=lo, high=hi))
        gap = est["脱贫户"] - est["一般农户"]
        lo, hi = q(gap_bs)
        rows.append(_row(quarter, county, "income_growth_gap", gap, den=n_alle, low=lo, high=hi, threshold=0.0,
                         met=gap > 0))
    return rows


def _employment_aggregate(f: _PandasFrames, quarter: str, cfg: dict):
    """Per quarter (this one and the same one last year), county and employment-support type: members in work,
    rows that report them, rows."""
    x = f.rows("hq", [quarter, previous(quarter, 4)])
    return f.sums(x, ["quarter", "county", "employment_support"], workers=("workers", "sum"),
                reported=("workers", "count"), households=("workers", "size"))


def _employment_rows(a, f: _PandasFrames, quarter: str, counties, cfg: dict) -> list[dict]:
    """Members in work by employment-support type, against the same quarter last year."""
    a = _Totals(a, ["county", "quarter", "employment_support"], ["workers", "reported", "households"])
    last = previous(quarter, 4)
    sent = lambda q, cs: a.total(cs, quarter=q)["reported"] > 0  # noqa: E731
    sent_now_c = {c for c in counties if sent(quarter, [c])}
    sent_old_c = {c for c in counties if sent(last, [c])}
    rows = []
    for county, units in _unit_counties(counties):
        sent_now, sent_old = sent(quarter, units), sent(last, units)
        old_empty = a.total(units, quarter=last)["households"] == 0
        if county == CITY and sent_now and sent_old:
            # The city's change compares like with like: only counties that sent the column in both quarters
            # (the presentation says which counties the city's figures cover).
            chg = [c for c in units if c in sent_now_c & sent_old_c]
        else:
            chg = units
        for cat in (ALL, *EMPLOYMENT_SUPPORT):
            if not sent_now:
                rows.append(_row(quarter, county, "workers", np.nan, category=cat, status="no_data"))
                rows.append(_row(quarter, county, "workers_change", np.nan, category=cat, status="no_data"))
                continue
            now_v = float(a.total(units, quarter=quarter, employment_support=cat)["workers"])
            rows.append(_row(quarter, county, "workers", now_v, category=cat))
            if not sent_old:
                rows.append(_row(quarter, county, "workers_change", np.nan, category=cat,
                                 status="unknown" if old_empty else "no_data"))
            else:
                now_c = float(a.total(chg, quarter=quarter, employment_support=cat)["workers"])
                before = float(a.total(chg, quarter=last, employment_support=cat)["workers"])
                rows.append(_row(quarter, county, "workers_change", now_c / before - 1 if before else np.nan,
                                 now_c, before, category=cat, status="ok" if before else "unknown"))
    return rows


def _funds_aggregate(f: _PandasFrames, quarter: str, cfg: dict):
    """Per county and project type: linking funds arrived and spent (and arrived for 产业发展), projects not
    started, under construction and behind the quarter's milestone, reach, income increase, spending."""
    p = f.rows("projects", [quarter])
    milestone = cfg["spending_milestones"][int(quarter[-1])]
    linking = p["fund_source"].isin(cfg["linking_fund_sources"])  # 衔接资金: the linking funds both fund indicators name
    arrived = p["funds_arrived"]
    building = p["status"] == "在建"
    x = p.assign(lk_arrived=arrived.where(linking), lk_spent=p["spent"].where(linking),
                 industry_arrived=arrived.where(linking & (p["project_type"] == "产业发展")),
                 not_started=p["status"] == "未开工", building=building,
                 behind=building & ((p["spent"] / arrived.where(arrived > 0)) < milestone))
    return f.sums(x, ["county", "project_type"], lk_arrived=("lk_arrived", "sum"), lk_spent=("lk_spent", "sum"),
                industry_arrived=("industry_arrived", "sum"), projects=("building", "size"),
                not_started=("not_started", "sum"), building=("building", "sum"), behind=("behind", "sum"),
                households_reached=("households_reached", "sum"), persons_reached=("persons_reached", "sum"),
                income_increase=("income_increase", "sum"), spent=("spent", "sum"))


def _funds_rows(a, f: _PandasFrames, quarter: str, counties, cfg: dict) -> list[dict]:
    """Spending progress and industry share of the linking funds (中央 and 省级衔接资金, ``linking_fund_sources``),
    projects not started or behind, reach, income per 万元 (these four over every project)."""
    a = _Totals(a, ["county", "project_type"], ["lk_arrived", "lk_spent", "industry_arrived", "projects",
                                                "not_started", "building", "behind", "households_reached",
                                                "persons_reached", "income_increase", "spent"])
    sent = _sent(f.log, quarter, "项目资金")
    milestone = cfg["spending_milestones"][int(quarter[-1])]
    share_cfg = cfg.get("industry_share_threshold", {}).get(int(quarter[:4]))
    rows = []
    for county in [*counties, CITY]:
        have = (set(counties) & sent) if county == CITY else ({county} & sent)
        if not have:
            for key in ("spending_progress", "industry_share", "projects_not_started", "projects_behind"):
                rows.append(_row(quarter, county, key, np.nan, status="no_data"))
            continue
        have = [c for c in counties if c in have]
        s = a.total(have)
        arrived, spent = s["lk_arrived"], s["lk_spent"]
        prog = spent / arrived if arrived else np.nan
        rows.append(_row(quarter, county, "spending_progress", prog, spent, arrived, threshold=milestone,
                         met=(prog >= milestone) if arrived else pd.NA, status="ok" if arrived else "unknown"))
        ind, tot = s["industry_arrived"], s["lk_arrived"]
        share = ind / tot if tot else np.nan
        rows.append(_row(quarter, county, "industry_share", share, ind, tot,
                         threshold=share_cfg["value"] if share_cfg else np.nan,
                         met=(share >= share_cfg["value"]) if share_cfg and tot else pd.NA,
                         status="ok" if tot else "unknown"))
        rows.append(_row(quarter, county, "projects_not_started", int(s["not_started"]), den=int(s["projects"])))
        rows.append(_row(quarter, county, "projects_behind", int(s["behind"]), den=int(s["building"]),
                         threshold=milestone))
        for t in PROJECT_TYPES:
            y = a.total(have, project_type=t)
            if not y["projects"]:
                continue
            rows.append(_row(quarter, county, "households_reached", float(y["households_reached"]), category=t))
            rows.append(_row(quarter, county, "persons_reached", float(y["persons_reached"]), category=t))
            wan = y["spent"] / 10000
            rows.append(_row(quarter, county, "income_per_wan", y["income_increase"] / wan if wan else np.nan,
                             y["income_increase"], wan, category=t, status="ok" if wan else "unknown"))
    return rows


def _problems_aggregate(f: _PandasFrames, quarter: str, cfg: dict):
    """Per county and source: problems found and fixed."""
    r = f.rows("rectifications", [quarter])
    x = r.assign(fixed=r["fix_status"] == "已整改")
    return f.sums(x, ["county", "source"], found=("fixed", "size"), fixed=("fixed", "sum"))


def _problems_rows(a, f: _PandasFrames, quarter: str, counties, cfg: dict) -> list[dict]:
    """Problems found and fixed and the fixing rate, by source."""
    a = _Totals(a, ["county", "source"], ["found", "fixed"])
    sent = _sent(f.log, quarter, "问题整改")
    rows = []
    for county in [*counties, CITY]:
        have = (set(counties) & sent) if county == CITY else ({county} & sent)
        for cat in (ALL, *PROBLEM_SOURCES):
            if not have:
                for key in ("problems_found", "problems_fixed", "fixing_rate"):
                    rows.append(_row(quarter, county, key, np.nan, category=cat, status="no_data"))
                continue
            s = a.total(have, source=cat)
            found, fixed = int(s["found"]), int(s["fixed"])
            rows.append(_row(quarter, county, "problems_found", found, category=cat))
            rows.append(_row(quarter, county, "problems_fixed", fixed, category=cat))
            rows.append(_row(quarter, county, "fixing_rate", fixed / found if found else np.nan, fixed, found,
                             category=cat, status="ok" if found else "unknown"))
    return rows


def _quality_rows(a, f: _PandasFrames, quarter: str, counties, cfg: dict) -> list[dict]:
    """数据质量得分: ``analysis.quality``'s score of the quarter's submissions (the city's from the summed rows,
    columns and sheets of its counties, never an average of county scores); no_data for a county that sent nothing.
    From the intake log (a row per county and sheet), on the driver on every engine."""
    from helpers.analysis.quality import quality

    log = f.log[f.log["quarter"] == quarter]
    accounted = {"rows_in", "rows_quarantined", "corrections", "missing_sheet"} <= set(log.columns)
    rows = []
    for county, x in _units(log, counties):
        if not len(x) or not accounted:          # nothing sent, or a log without the row accounting
            rows.append(_row(quarter, county, "data_quality", np.nan, status="no_data"))
            continue
        q = quality(x.assign(county=county)).iloc[0]
        rows.append(_row(quarter, county, "data_quality", float(q["score"]), den=float(q["rows_in"])))
    return rows


@dataclass(frozen=True)
class Section:
    """One section of indicators: ``aggregate(frames, quarter, cfg)`` (grouped aggregations on either engine's
    frames; None when nothing needs aggregating) and ``rows(aggregate, frames, quarter, counties, cfg)`` (the
    indicator rows from the collected aggregate)."""

    name: str
    aggregate: object
    rows: object


SECTIONS = (Section("monitoring", _monitoring_aggregate, _monitoring_rows),
            Section("missed_monitoring", _missed_aggregate, _missed_rows),
            Section("income_growth", _growth_aggregate, _growth_rows),
            Section("employment", _employment_aggregate, _employment_rows),
            Section("funds", _funds_aggregate, _funds_rows),
            Section("problems", _problems_aggregate, _problems_rows),
            Section("data_quality", lambda f, q, cfg: None, _quality_rows))
# A rate (or a difference of rates) on fewer than this many households or items is too small to show, to judge
# against a standard or to rank on (analysis.md, disclosure): its verdict is unknown and the composite leaves it out.
MIN_RATE_DENOMINATOR = 10


def judgeable(indicators: pd.DataFrame) -> pd.Series:
    """The rows whose value may be shown, judged and ranked: every count, and rates whose denominator is at least
    ``MIN_RATE_DENOMINATOR`` (or has none)."""
    if "denominator" not in indicators:
        return pd.Series(True, index=indicators.index)
    kind = indicators["indicator"].map(lambda k: INDICATORS[k].kind if k in INDICATORS else "")
    den = pd.to_numeric(indicators["denominator"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    small = kind.isin(["rate", "pp"]).to_numpy() & (den < MIN_RATE_DENOMINATOR)
    return pd.Series(~small, index=indicators.index)


def compute(inp: Inputs, quarter: str, cfg: dict | None = None, counties=None, engine=None) -> pd.DataFrame:
    """Every indicator for one quarter, by county and for the city, as one tidy table.

    On the engine given or current (``helpers.engine.current()``): locally with pandas; on the dask engine the
    grouped aggregations run on Dask DataFrames of the tables (partitioned, on the cluster's workers) and only the
    per-county aggregates come back to the driver, which makes the same rows with the same numbers (to rounding:
    sums of the same values taken in another order; tests/test_indicators_engine.py)."""
    return compute_quarters(inp, [quarter], cfg, counties, engine)[0]


def compute_quarters(inp: Inputs, quarters, cfg: dict | None = None, counties=None, engine=None) -> list[pd.DataFrame]:
    """``compute`` for each of ``quarters``, with the aggregations of all of them collected in one go (on the dask
    engine one computation on the cluster instead of one per quarter)."""
    cfg = cfg or load_config()
    counties = [c for c in COUNTIES if counties is None or c in counties]
    f = _frames(inp, engine)
    got = f.collect({(q, s.name): s.aggregate(f, q, cfg) for q in quarters for s in SECTIONS})
    tables = []
    for q in quarters:
        rows = []
        for section in SECTIONS:
            rows.extend(section.rows(got[(q, section.name)], f, q, counties, cfg))
        out = pd.DataFrame(rows)
        out["met"] = out["met"].astype("boolean")
        for c in ("value", "numerator", "denominator", "ci_low", "ci_high", "threshold"):
            out[c] = out[c].astype("float64")
        out.loc[~judgeable(out), "met"] = pd.NA            # too few to judge: no verdict (nor a colour, nor a rank)
        tables.append(out)
    return tables


def _cache_key(processed: Path, quarter: str, cfg: dict, counties) -> str | None:
    """What a quarter's indicators depend on: the intake of every quarter up to it, the config,
    the counties and the code (this module and what it imports, ``store.codehash``). None when the intake cache
    is not there."""
    import hashlib
    import json

    stamps = []
    for qdir in sorted((processed / "_cache").glob("*")):
        if qdir.name <= quarter:
            stamp = qdir / "cache.json"
            if not stamp.exists():
                return None
            stamps.append((qdir.name, json.loads(stamp.read_text(encoding="utf-8"))["key"]))
    if not stamps:
        return None
    parts = {"intake": stamps, "config": cfg, "counties": list(counties or []),
             "code": code_hash(__name__)}
    return hashlib.sha256(json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()[:24]


def compute_trend(inp: Inputs, quarter: str, cfg: dict | None = None, counties=None, quarters: int = 6,
                  cache: Path | None = None) -> pd.DataFrame:
    """``compute`` for the quarter and the previous quarters in the data (up to ``quarters`` in all).

    With ``cache`` (the processed folder), each quarter's indicators are kept in
    ``<processed>/_indicators/`` under a key of everything they depend on, so a quarterly
    re-run computes only the new quarter."""
    from helpers.store.storage import write_table

    from helpers.engine import current

    cfg = cfg or load_config()
    available = sorted(q for q in inp.hq["quarter"].unique() if q <= quarter)[-quarters:]
    paths, parts = {}, {}
    for q in available:
        key = _cache_key(cache, q, cfg, counties) if cache is not None else None
        paths[q] = cache / "_indicators" / f"{q}_{key}.parquet" if key else None
        if paths[q] is not None and paths[q].exists():
            parts[q] = pd.read_parquet(paths[q])
    missing = [q for q in available if q not in parts]
    if current().client is not None and len(missing) > 1:       # on the cluster: every quarter in one computation
        made = dict(zip(missing, compute_quarters(inp, missing, cfg, counties)))
    else:
        made = {q: compute(inp, q, cfg, counties) for q in missing}
    for q, part in made.items():
        if paths[q] is not None:
            for old in paths[q].parent.glob(f"{q}_*.parquet"):
                old.unlink()
            write_table(part, paths[q], ["quarter", "county", "indicator", "category"], f"indicators {q}")
        parts[q] = part
    return pd.concat([parts[q] for q in available], ignore_index=True)


def render_markdown() -> str:
    """docs/indicators.md, generated from INDICATORS."""
    names = {"monitoring": "防返贫动态监测 / Monitoring", "income": "收入 / Income", "employment": "就业 / Employment",
             "funds": "资金项目 / Funds and projects", "problems": "问题整改 / Problems",
             "data": "数据质量 / Data quality"}
    lines = ["# Indicators / 指标", "",
             "Generated by `python -m helpers.analysis.indicators` from `src/helpers/analysis/indicators.py`; do not edit by hand.",
             "Thresholds, lines and milestones are in `config/indicators.yaml`; the composite score's indicators, "
             "directions and weights in `config/composite.yaml`.", "",
             "Every indicator is computed per county and for the city (全市, from the summed counts, never an "
             "average of county rates). Status `unknown` means too few quarters observed (e.g. fewer than four for "
             "the income test); `no_data` means the county did not send what the indicator needs.", "",
             "Disclosure rule for everything shared: counts under 5 show “<5”, rates whose denominator is under 10 "
             "show “—”, and no table has household rows.", ""]
    for sec, title in names.items():
        lines += [f"## {title}", "", "| key | 指标 | indicator | unit | formula / 计算方法 | threshold / 标准 |",
                  "|---|---|---|---|---|---|"]
        for i in INDICATORS.values():
            if i.section == sec:
                lines.append(f"| `{i.key}` | {i.zh} | {i.en} | {i.unit} | {i.formula} | {i.threshold or '—'} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    from helpers.config import DOCS

    (DOCS / "indicators.md").write_text(render_markdown(), encoding="utf-8")
    print(f"wrote {DOCS / 'indicators.md'}")
