"""The results workbook for office use: ``reports/<q>/share/<q>_评估结果.xlsx`` (English run: ``_evaluation_results``).

One sheet each for the quarter's indicators against their standards, the county comparison with rank ranges,
each program's headline effects with their intervals, the data quality of the counties' submissions, and a sheet
that says what the file is. Built from the artifacts' frames (the same ones notebooks 02-04 show) and the
presentation functions of the pages; nothing here computes a number:

- numbers are written as numbers with an Excel number format that shows them as the pages do (a rate 0.733 as
  ``73.3%``, a count as ``1,234``), so they can be summed and charted;
- the disclosure rule is the pages' own: ``display.withheld`` decides for every indicator value, and where it
  withholds a number the cell holds its text (“<5”, “—”, “未知”) instead;
- verdicts (met / not met) come from the indicators' ``met`` column (no verdict where a rate's denominator is too
  small, ``indicators.judgeable``), significance from ``findings.significant`` on ``findings.headline_interval``;
- headers are Chinese (or English) from the label catalogue, with units; the header row (and the first column)
  is frozen, columns are wide enough to read, and a text cell that begins with ``=``, ``+``, ``-``, ``@``, a tab
  or a carriage return is a string with Excel's quote prefix (shown as typed, never run as a formula, still text
  when edited);
- when the data are the simulated sample, every sheet opens with the same banner as the pages.
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from helpers.analysis.construct import PROGRAMS, SHARE_OUTCOMES
from helpers.analysis.indicators import ALL, CITY, INDICATORS
from helpers.domain.dictionary import COUNTIES
from helpers.domain.labels import label
from helpers.present import display, figures, notice
from helpers.store.exports import FORMULA_START
from helpers.store.storage import atomic_write_bytes

# How each kind of indicator value is shown (display.disclose_value writes the same in the pages).
KIND_FORMATS = {"count": "#,##0", "rate": "0.0%", "pp": "0.0", "amount": "#,##0.0", "ratio": "#,##0"}
P_FORMAT = '[<0.001]"<0.001";0.000'          # a p-value as the pages print it (``<0.001`` below 0.001)
FILLS = {True: "#CFE8D5", False: "#F4C7C3"}   # met / not met: the colours of the thresholds figure
BANNER = {"bold": True, "font_color": "#78350F", "bg_color": "#FFFBEB", "border": 2, "border_color": "#B45309",
          "text_wrap": True, "valign": "vcenter"}


@dataclass(frozen=True)
class Number:
    """A number for a cell, with the Excel number format that shows it and an optional background colour."""
    value: float
    format: str
    fill: str = ""


@dataclass
class Table:
    """One sheet: a header row, rows of cells (``Number``, text, or None for blank) and notes under the table."""
    name: str
    header: list[str]
    rows: list[list]
    notes: list[str] = field(default_factory=list)
    right: tuple[int, ...] = ()    # columns of values: their text (“<5”, “—”) is right-aligned like the numbers


def file_name(quarter: str, lang: str = "zh") -> str:
    """``2023Q2_评估结果.xlsx`` (``2023Q2_evaluation_results.xlsx`` in English)."""
    return f"{quarter}_{label('office', 'results_file', lang)}.xlsx"


# ---- the sheets -----------------------------------------------------------------------------------------------
def _scale(kind: str) -> float:
    return 100.0 if kind == "pp" else 1.0        # a difference of rates is shown in percentage points


def indicator_cell(row, lang: str = "zh"):
    """One indicator value for the workbook: the text the disclosure rule shows instead of the number, or the
    number itself with its format (and its verdict's colour)."""
    kind = INDICATORS[row["indicator"]].kind
    hidden = display.withheld(kind, row["value"], row["denominator"], row["status"], lang)
    if hidden is not None:
        return hidden
    met = row.get("met")
    fill = "" if met is None or pd.isna(met) else FILLS[bool(met)]
    return Number(float(row["value"]) * _scale(kind), KIND_FORMATS[kind], fill)


def indicators_table(indicators: pd.DataFrame, quarter: str, lang: str = "zh") -> Table:
    """Every indicator of the quarter (rows, with their units) by county and for the city (columns), with the
    standard as the rule applies it, whether the city meets it and which counties do not."""
    q = indicators[(indicators["quarter"] == quarter) & (indicators["category"] == ALL)]
    counties = [c for c in COUNTIES if c in set(q["county"])] + ([CITY] if CITY in set(q["county"]) else [])
    h = lambda key: label("header", key, lang)  # noqa: E731
    header = [h("indicator")] + [figures.county_label(c, lang) for c in counties] + \
        [h("threshold"), h("city_met"), h("counties_not_met")]
    by = {(r["indicator"], r["county"]): r for r in q.to_dict("records")}
    rows = []
    for key in [k for k in INDICATORS if k in set(q["indicator"])]:
        cells = [indicator_cell(by[(key, c)], lang) if (key, c) in by else "—" for c in counties]
        city = by.get((key, CITY))
        thr = city["threshold"] if city is not None else math.nan
        met = city["met"] if city is not None else pd.NA
        not_met = [c for c in counties if c != CITY and (key, c) in by and _not_met(by[(key, c)]["met"])]
        rows.append([display.indicator_label(key, lang), *cells, display.format_threshold(key, thr, lang),
                     "—" if pd.isna(met) else label("verdict", "met" if met else "not_met", lang),
                     ("、" if lang == "zh" else ", ").join(figures.county_label(c, lang) for c in not_met) or "—"])
    return Table(label("office", "sheet_indicators", lang), header, rows, [_disclosure_note(lang), _colour_note(lang)],
                 right=tuple(range(1, 1 + len(counties))))


def _not_met(met) -> bool:
    return met is not None and not pd.isna(met) and not bool(met)


def _disclosure_note(lang: str) -> str:
    if lang == "zh":
        return ("披露规则：少于5的计数显示“<5”，分母少于10的比率显示“—”，无法计算的显示“未知”或“无数据”；"
                "其余数值以数字保存，可直接计算。")
    return ("Disclosure rule: counts under 5 show “<5”, rates whose denominator is under 10 show “—”, values that "
            "cannot be computed show “unknown” or “no data”; every other value is stored as a number.")


def _colour_note(lang: str) -> str:
    if lang == "zh":
        return "绿色为达标，红色为未达标，无底色为没有标准或数据不足无法判断；标准及来源见 config/indicators.yaml。"
    return ("Green: meets the standard; red: does not; no colour: no standard, or too little data to judge. "
            "Standards and their sources: config/indicators.yaml.")


def _share_format(share: float) -> str:
    """The format that shows a share of draws with the precision ``display.share_shown`` gives it (99.5%, never a
    rounded 100%)."""
    text = display.share_shown(share).rstrip("%")
    decimals = len(text.split(".")[1]) if "." in text else 0
    return "0" + ("." + "0" * decimals if decimals else "") + "%"


def ranking_table(ranking: pd.DataFrame, lang: str = "zh", spec: dict | None = None) -> Table:
    """The county comparison: composite score, rank, the share of weight draws with the same rank and the rank
    range over them, with the sentences of the pages under it (``report.ranking_note``)."""
    from helpers.present.report import ranking_note

    h = lambda key: label("header", key, lang)  # noqa: E731
    header = [h("county"), h("composite"), h("rank"), h("rank_stability"), label("office", "rank_best", lang),
              label("office", "rank_worst", lang), h("indicators_missing")]
    rows = [[figures.county_label(r["county"], lang), Number(float(r["composite"]), "0.000"), Number(int(r["rank"]), "0"),
             Number(float(r["rank_stability"]), _share_format(r["rank_stability"])), Number(int(r["rank_best"]), "0"),
             Number(int(r["rank_worst"]), "0"), Number(int(r["indicators_missing"]), "0")]
            for r in ranking.sort_values("rank").to_dict("records")]
    return Table(label("office", "sheet_ranking", lang), header, rows, [_plain(ranking_note(ranking, lang, spec))])


def _plain(markdown: str) -> str:
    """A sentence of the pages without its Markdown marks (bold, code)."""
    return markdown.replace("**", "").replace("`", "")


def effects_table(effects: dict[str, pd.DataFrame], below: dict[str, pd.DataFrame] | None = None,
                  lang: str = "zh") -> Table:
    """Each program's headline effect (Callaway-Sant'Anna, average over all treated periods) on every outcome its
    results hold (per-capita income, earned income, and with ``below`` the probability of being below the monitoring
    line), with the 95% interval the report's claims rest on (``findings.headline_interval``), whether it excludes
    zero (``findings.significant``), the county-level check's p-value and the naive estimate beside it."""
    from helpers.present.effects import OUTCOME_UNITS, cluster_label, outcome_label, program_label
    from helpers.present.findings import headline_interval, significant

    o = lambda key: label("office", key, lang)  # noqa: E731
    h = lambda key: label("header", key, lang)  # noqa: E731
    header = [o("program"), o("outcome_unit"), h("effect"), o("ci_low"), o("ci_high"), o("interval_basis"),
              o("significant"), f"{h('few_cluster_check')} {h('p_value')}", o("naive_estimate"),
              h("sample_households"), h("clusters_number")]
    rows = []
    for program in PROGRAMS:
        frames = [f for f in (effects.get(program), (below or {}).get(program)) if f is not None and len(f)]
        for frame in frames:
            for outcome in dict.fromkeys(frame["outcome"]):
                sel = lambda est: frame[(frame["outcome"] == outcome) & (frame["estimator"] == est)  # noqa: E731
                                        & (frame["aggregate"] == "simple") & (frame["term"] == "overall")]
                cs, tw = sel("callaway_santanna"), sel("twfe")
                if cs.empty:
                    continue
                cs = cs.iloc[0]
                scale = 100.0 if outcome in SHARE_OUTCOMES else 1.0
                fmt = "0.000" if outcome.startswith("log_") else "0.0" if outcome in SHARE_OUTCOMES else "#,##0"
                num = lambda v: "—" if v is None or pd.isna(v) else Number(float(v) * scale, fmt)  # noqa: E731
                lo, hi, basis = headline_interval(cs)
                sig = significant(lo, hi)
                unit = label("unit", OUTCOME_UNITS[outcome], lang)
                basis_text = {"": f"{o('basis_clustered')}（{cluster_label(cs['cluster'], lang)}）" if lang == "zh"
                              else f"{o('basis_clustered')} ({cluster_label(cs['cluster'], lang)})",
                              "few_cluster": o("basis_few_cluster"), "none": "—", "too_few": "—"}[basis]
                p = cs.get("p_county", math.nan)
                units = display.withheld("count", cs["units"]) or Number(int(cs["units"]), "#,##0")
                rows.append([program_label(program, lang),
                             f"{outcome_label(outcome, lang)}（{unit}）" if lang == "zh" else
                             f"{outcome_label(outcome, lang)} ({unit})",
                             num(cs["att"]), num(lo), num(hi), basis_text,
                             "—" if sig is None else label("yes_no", sig, lang),
                             "—" if pd.isna(p) else Number(float(p), P_FORMAT),
                             num(tw.iloc[0]["att"]) if len(tw) else "—", units,
                             "—" if pd.isna(cs["clusters"]) else Number(int(cs["clusters"]), "#,##0")])
    note = ("效应为获得帮扶后比不帮扶时高（负数为低）多少，是水平之差；低于监测线的概率以个百分点计。方法和各句判断见季度评估报告。"
            if lang == "zh" else
            "Effects are how much higher (negative: lower) the outcome is with support than without, a difference in "
            "levels; the probability of being below the monitoring line is in percentage points. Methods and the "
            "judgements in words: the quarterly report.")
    return Table(label("office", "sheet_effects", lang), header, rows, [note], right=(2, 3, 4, 7, 8, 9, 10))


# ---- DATA QUALITY: where the ``data_quality`` artifact plugs in ------------------------------------------------
def quality_table(quality: pd.DataFrame | None, quarter: str, lang: str = "zh") -> Table | None:
    """The data quality of the counties' submissions per quarter (up to ``quarter``, newest first) and county: the
    columns of notebook 01's table (``present.intake.quality_table``) in its order and units — the score and its
    four parts in percent, the rows set aside and corrected through the disclosure rule, the sheets and optional
    columns missing — as numbers. None without the table.

    PLUG (data_quality): the frame is ``analysis.quality.quality``'s (columns ``quality.COLUMNS``), which the
    ``data_quality`` artifact of ``helpers.pipeline.artifacts`` is to hold; ``pipeline.documents.report_frames``
    reads the artifact once the registry declares it."""
    if quality is None:
        return None
    from helpers.analysis.quality import COMPONENTS

    q = quality[quality["quarter"] <= quarter].copy()
    q["order"] = q["county"].map({c: i for i, c in enumerate(COUNTIES)})
    q = q.sort_values(["quarter", "order"], ascending=[False, True])
    h = lambda key: label("header", key, lang)  # noqa: E731
    header = [label("office", "quarter", lang), h("county"), h("quality_score"), *[h(c) for c in COMPONENTS],
              h("rows_quarantined"), h("sheets_missing"), h("optional_absent"), h("corrections")]
    pct = lambda v: "—" if pd.isna(v) else Number(float(v), "0.0%")  # noqa: E731  (a share, as in the indicators sheet)
    count = lambda v: display.withheld("count", float(v)) or Number(float(v), "#,##0")  # noqa: E731
    rows = [[r["quarter"], figures.county_label(r["county"], lang), pct(r["score"]), *[pct(r[c]) for c in COMPONENTS],
             count(r["rows_set_aside"]), Number(float(r["sheets_missing"]), "0"),
             Number(float(r["optional_absent"]), "0"), count(r["corrections"])] for r in q.to_dict("records")]
    note = ("数据质量得分为四项比例的均值（入库行、可选列齐全、工作表齐全、无需更正的行），见第01页；在综合评比中的权重默认为0。"
            if lang == "zh" else "The data-quality score is the mean of the four shares (rows taken in, optional columns "
            "present, sheets present, rows needing no correction), as on page 01; its weight in the county comparison "
            "is 0 by default.")
    return Table(label("office", "sheet_quality", lang), header, rows, [note], right=tuple(range(2, len(header))))


def about_table(quarter: str, simulated: dict | None, lang: str = "zh") -> Table:
    """What the workbook is: the report, the quarter, the data (the simulated-data banner when it is the sample),
    the disclosure rule, who made it."""
    o = lambda key: label("office", key, lang)  # noqa: E731
    title = "巴中市乡村振兴季度评估：评估结果" if lang == "zh" else "Bazhong rural revitalization, quarterly evaluation: results"
    rows = [[o("report"), title],
            [o("quarter"), figures.quarter_label(quarter, lang)],
            [o("data"), notice.banner_text(simulated, lang) or figures.SOURCE[lang]],
            [o("source"), figures.SOURCE[lang]],
            [o("disclosure"), _disclosure_note(lang)],
            [o("made_by"), "乡村振兴评估工作簿（workbook run）" if lang == "zh" else "the rural-revitalization evaluation "
                                                                         "workbook (workbook run)"]]
    return Table(o("sheet_about"), [o("item"), o("content")], rows)


def tables(quarter: str, indicators: pd.DataFrame, ranking: pd.DataFrame, effects: dict[str, pd.DataFrame],
           below: dict[str, pd.DataFrame] | None = None, quality: pd.DataFrame | None = None,
           simulated: dict | None = None, lang: str = "zh", spec: dict | None = None) -> list[Table]:
    """The workbook's sheets in order."""
    out = [indicators_table(indicators, quarter, lang), ranking_table(ranking, lang, spec),
           effects_table(effects, below, lang)]
    quality_sheet = quality_table(quality, quarter, lang)
    if quality_sheet is not None:
        out.append(quality_sheet)
    return out + [about_table(quarter, simulated, lang)]


# ---- writing --------------------------------------------------------------------------------------------------
def _text_width(text: str) -> int:
    """Columns a text takes in Excel's default font: a CJK character takes two."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _shown(cell) -> str:
    """Roughly what a cell shows, for its column's width."""
    if isinstance(cell, Number):
        v = cell.value * (100 if cell.format.endswith("%") else 1)
        return f"{v:,.1f}" + ("%" if cell.format.endswith("%") else "")
    return "" if cell is None else str(cell)


def workbook_bytes(sheets: list[Table], banner: str = "", title: str = "") -> bytes:
    """The .xlsx file of ``sheets`` (xlsxwriter): numbers as numbers with their formats, text as text (a formula
    character first gets Excel's quote prefix), a bold frozen header row with a filter, the first column frozen,
    readable widths, ``banner`` in a merged first row of every sheet when given, notes under each table; printed on
    A4 landscape with every column on the page width."""
    import xlsxwriter

    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                                     "strings_to_numbers": False, "nan_inf_to_errors": True})
    book.set_properties({"title": title, "author": "乡村振兴评估工作簿 (rural-workbook)", "company": ""})
    cache: dict[tuple, object] = {}

    def fmt(**spec):
        key = tuple(sorted(spec.items()))
        if key not in cache:
            cache[key] = book.add_format({k: v for k, v in spec.items() if v not in ("", None)})
        return cache[key]

    head = dict(bold=True, bg_color="#E8EEF4", border=1, text_wrap=True, valign="top")
    for t in sheets:
        ws = book.add_worksheet(t.name[:31])
        ncol = len(t.header)
        widths = [min(40, max(8, _text_width(str(x)) + 2)) for x in t.header]
        for row in t.rows:
            for j, cell in enumerate(row):
                widths[j] = min(60, max(widths[j], _text_width(_shown(cell)) + 2))
        for j, w in enumerate(widths):
            ws.set_column(j, j, w)
        top = 0
        if banner:
            total = sum(widths)
            lines = max(1, math.ceil(_text_width(banner) / max(total - 2, 1)))
            ws.set_row(0, 16 * lines + 8)
            if ncol > 1:
                ws.merge_range(0, 0, 0, ncol - 1, banner, fmt(**BANNER))
            else:
                ws.write_string(0, 0, banner, fmt(**BANNER))
            top = 1
        for j, name in enumerate(t.header):
            _write(ws, top, j, name, fmt, head)
        for i, row in enumerate(t.rows, start=top + 1):
            for j, cell in enumerate(row):
                _write(ws, i, j, cell, fmt, {"align": "right"} if j in t.right else {"indent": 1} if j else None)
        ws.freeze_panes(top + 1, 1)
        ws.set_paper(9)                       # printed: A4 landscape, every column on the page width,
        ws.set_landscape()                    # the banner and header repeated on every page
        ws.fit_to_pages(1, 0)
        ws.repeat_rows(0, top)
        if t.rows:
            ws.autofilter(top, 0, top + len(t.rows), ncol - 1)
        for k, note in enumerate(t.notes):
            _write(ws, top + len(t.rows) + 2 + k, 0, note, fmt, dict(font_color="#555555"))
    book.close()
    return buf.getvalue()


def _write(ws, i: int, j: int, cell, fmt, style: dict | None = None) -> None:
    """One cell: a ``Number`` with its format and colour, else text (``style``: the cell's look)."""
    style = dict(style or {})
    if cell is None:
        return
    if isinstance(cell, Number):
        if math.isnan(cell.value) or math.isinf(cell.value):
            ws.write_string(i, j, "—", fmt(**style))
            return
        ws.write_number(i, j, cell.value, fmt(**style, num_format=cell.format, bg_color=cell.fill))
        return
    text = str(cell)
    if text.startswith(FORMULA_START):           # text that Excel would otherwise read as a formula when edited
        style["quote_prefix"] = True
    ws.write_string(i, j, text, fmt(**style))


def write_results_workbook(path: Path, quarter: str, indicators: pd.DataFrame, ranking: pd.DataFrame,
                           effects: dict[str, pd.DataFrame], below: dict[str, pd.DataFrame] | None = None,
                           quality: pd.DataFrame | None = None, simulated: dict | None = None, lang: str = "zh",
                           spec: dict | None = None) -> Path:
    """Write the results workbook to ``path`` (atomically) and return the path."""
    sheets = tables(quarter, indicators, ranking, effects, below, quality, simulated, lang, spec)
    title = (f"{figures.quarter_label(quarter, lang)} 巴中市乡村振兴季度评估：评估结果" if lang == "zh" else
             f"{quarter} Bazhong rural revitalization, quarterly evaluation: results")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, workbook_bytes(sheets, notice.banner_text(simulated, lang), title))
    return path
