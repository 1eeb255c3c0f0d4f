"""The office files of a run (share/): the results workbook (.xlsx), the report as Word (.docx), the report printed
to PDF by Chromium; each opened and read back. Page images of the PDFs go to .cache/test-output/ for people to look
at (the Word report through LibreOffice, as an office machine would open it)."""
from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers.analysis.indicators import CITY
from helpers.domain.dictionary import COUNTIES
from helpers.present import display, office

OUT = Path(__file__).parent.parent / ".cache" / "test-output"
TITLE = "巴中市巩固拓展脱贫攻坚成果同乡村振兴有效衔接季度评估报告"


# ---- the workbook on hand-made indicators ------------------------------------------------------------------------
def _row(county, indicator, value, denominator=np.nan, status="ok", threshold=np.nan, met=pd.NA):
    return {"quarter": "2023Q2", "county": county, "indicator": indicator, "category": "", "value": value,
            "numerator": np.nan, "denominator": denominator, "ci_low": np.nan, "ci_high": np.nan, "status": status,
            "threshold": threshold, "met": met}


def _indicators() -> pd.DataFrame:
    """Five counties and the city: counts under and over 5, rates on small and large denominators, a difference of
    rates, an unknown and a no-data value, verdicts met / not met / none."""
    a, b, c, d, e = COUNTIES
    rows = []
    for county, n, rate, den, met in ((a, 3, 0.5, 8, pd.NA), (b, 12, 0.733, 50, True), (c, 0, 0.25, 40, False),
                                      (d, 5, 0.61, 10, True), (e, 4.0, 0.2, 9.0, pd.NA), (CITY, 24, 0.6, 117, False)):
        rows.append(_row(county, "new_monitored", n))
        rows.append(_row(county, "spending_progress", rate, den, threshold=0.5, met=met))
    rows.append(_row(a, "income_growth_gap", 0.0312, 40, threshold=0.0, met=True))
    rows.append(_row(b, "income_growth_gap", -0.01, 7, threshold=0.0))
    rows.append(_row(c, "income_growth_gap", np.nan, np.nan, status="unknown"))
    rows.append(_row(d, "income_growth_gap", np.nan, np.nan, status="no_data"))
    rows.append(_row(e, "income_growth_gap", 0.02, 30, threshold=0.0, met=True))
    rows.append(_row(CITY, "income_growth_gap", 0.015, 200, threshold=0.0, met=True))
    t = pd.DataFrame(rows)
    t["met"] = t["met"].astype("boolean")
    return t


def _excel_shows(value: float, fmt: str) -> str:
    """What Excel shows for a number under the few formats the workbook uses."""
    if fmt == "0.0%":
        return f"{100 * value:.1f}%"
    if fmt == "#,##0":
        return f"{value:,.0f}"
    if fmt == "0.0":
        return f"{value:.1f}"
    raise AssertionError(fmt)


def _open(data: bytes):
    import openpyxl

    return openpyxl.load_workbook(io.BytesIO(data))


def test_the_workbook_discloses_each_indicator_exactly_as_the_pages_and_keeps_numbers_as_numbers():
    t = _indicators()
    keys = ["new_monitored", "income_growth_gap", "spending_progress"]     # in INDICATORS order
    page = display.indicator_table(t, keys, "2023Q2", "zh")         # the table the HTML pages show
    book = _open(office.workbook_bytes([office.indicators_table(t, "2023Q2", "zh")]))
    ws = book.worksheets[0]
    header = [c.value for c in ws[1]]
    assert header[:7] == ["指标", *COUNTIES, "全市"] and header[7:] == ["标准", "全市是否达标", "未达标县区"]
    assert ws.freeze_panes == "B2"
    rows = {r[0].value: r for r in ws.iter_rows(min_row=2, max_row=4)}
    assert list(rows) == list(page.index)               # the indicators with their units, in the pages' order
    texts = numbers = 0
    for name, cells in rows.items():
        for j, county in enumerate(page.columns[:6], start=1):
            cell, shown = cells[j], page.loc[name, county]
            if isinstance(cell.value, str):             # withheld: the pages' own text
                assert cell.value == shown, (name, county)
                texts += 1
            else:                                       # shown: a number whose format reads as the page
                assert cell.data_type == "n" and _excel_shows(cell.value, cell.number_format) + (
                    "个百分点" if cell.number_format == "0.0" else "") == shown, (name, county, cell.value)
                numbers += 1
        assert cells[7].value == page.loc[name, "标准"]
    assert texts == 8 and numbers == 10
    assert [c.value for c in rows["本季度新增监测户（户）"][1:7]] == ["<5", 12, "<5", 5, "<5", 24]   # 0 is under 5 too
    assert [c.value for c in rows["衔接资金支出进度（%）"][1:7]] == ["—", 0.733, 0.25, 0.61, "—", 0.6]
    assert [c.value for c in rows["两个收入增速差（脱贫户 − 一般农户）（个百分点）"][1:7]] == \
        [pytest.approx(3.12), "—", "未知", "无数据", pytest.approx(2.0), pytest.approx(1.5)]


def test_the_workbook_asks_the_disclosure_rule_of_the_pages_not_a_copy(monkeypatch):
    """Change the rule in display.withheld: the workbook follows (there is no second copy of it)."""
    t = _indicators()
    monkeypatch.setattr(display, "withheld", lambda kind, value, *a, **k: "withheld" if kind == "count" else None)
    ws = _open(office.workbook_bytes([office.indicators_table(t, "2023Q2", "zh")])).worksheets[0]
    cells = {r[0].value: [c.value for c in r[1:7]] for r in ws.iter_rows(min_row=2, max_row=4)}
    assert cells["本季度新增监测户（户）"] == ["withheld"] * 6
    assert cells["衔接资金支出进度（%）"][0] == 0.5          # a rate on 8 is no longer withheld by the changed rule


def test_verdicts_are_coloured_and_named_from_the_indicators_met_column():
    t = _indicators()
    ws = _open(office.workbook_bytes([office.indicators_table(t, "2023Q2", "zh")])).worksheets[0]
    progress = next(r for r in ws.iter_rows(min_row=2) if r[0].value == "衔接资金支出进度（%）")
    fills = [c.fill.fgColor.rgb if c.fill and c.fill.fill_type == "solid" else None for c in progress[1:7]]
    assert fills[0] is None                            # on 8 projects: withheld, no verdict
    assert fills[1].endswith("CFE8D5") and fills[2].endswith("F4C7C3") and fills[3].endswith("CFE8D5")
    assert fills[4] is None and fills[5].endswith("F4C7C3")
    assert progress[7].value == "≥ 50%" and progress[8].value == "未达标"
    assert progress[9].value == f"{COUNTIES[2]}"       # the only county with met False


def test_text_that_excel_would_run_as_a_formula_stays_text():
    evil = ["=HYPERLINK(\"http://x\",\"点击\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)", "\tx", "= 0"]
    table = office.Table("t", ["=名称", "数值"], [[e, office.Number(-3.5, "0.0")] for e in evil])
    ws = _open(office.workbook_bytes([table])).worksheets[0]
    assert ws["A1"].value == "=名称" and ws["A1"].data_type == "s" and ws["A1"].quotePrefix
    for i, e in enumerate(evil, start=2):
        cell = ws.cell(i, 1)
        assert cell.value == e and cell.data_type == "s" and cell.quotePrefix, e
        assert ws.cell(i, 2).value == -3.5 and ws.cell(i, 2).data_type == "n"      # a negative number stays one
    with zipfile.ZipFile(io.BytesIO(office.workbook_bytes([table]))) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet                          # no formula anywhere in the file


def test_the_simulated_banner_opens_every_sheet_and_the_header_stays_frozen_under_it():
    t = _indicators()
    sim = {"households": 2500, "first": "2021Q1", "last": "2023Q2"}
    data = office.workbook_bytes(office.tables("2023Q2", t, _ranking(), {}, None, None, sim, "zh"),
                                 banner=__import__("helpers.present.notice", fromlist=["x"]).banner_text(sim, "zh"))
    book = _open(data)
    assert [ws.title for ws in book.worksheets] == ["指标与标准", "综合评比", "帮扶效果", "说明"]
    for ws in book.worksheets:
        assert "模拟样本" in ws["A1"].value and ws.freeze_panes == "B3", ws.title
        assert ws["A2"].font.b                             # the header row, bold
        assert any(str(r) .startswith("A1:") for r in ws.merged_cells.ranges), ws.title
    plain = _open(office.workbook_bytes(office.tables("2023Q2", t, _ranking(), {}, None, None, None, "zh")))
    assert all(ws["A1"].value in ("指标", "县(区)", "帮扶措施", "项目") and ws.freeze_panes == "B2" for ws in plain)


def _ranking() -> pd.DataFrame:
    return pd.DataFrame({"county": list(COUNTIES), "quarter": "2023Q2", "composite": [0.81, 0.62, 0.48, 0.44, 0.30],
                         "rank": [1, 2, 3, 4, 5], "rank_stability": [1.0, 1.0, 0.995, 0.9996, 1.0],
                         "rank_best": [1, 2, 3, 3, 5], "rank_worst": [1, 2, 4, 4, 5], "indicators_missing": [0] * 5})


def test_rank_stability_keeps_the_precision_the_pages_give_it():
    ws = _open(office.workbook_bytes([office.ranking_table(_ranking(), "zh")])).worksheets[0]
    stab = {r[0].value: (r[3].value, r[3].number_format) for r in ws.iter_rows(min_row=2, max_row=6)}
    assert stab[COUNTIES[2]] == (0.995, "0.0%")                       # 99.5%, as the pages say
    assert stab[COUNTIES[3]] == (0.9996, "0.00%")                     # 99.96%, never a rounded 100.0%
    assert display.share_shown(0.9996) == "99.96%" and stab[COUNTIES[0]] == (1.0, "0%")
    assert [c.value for c in ws[3]][4:6] == [2, 2] and ws[4][4].value == 3 and ws[4][5].value == 4


def test_the_data_quality_sheet_shows_what_page_01_shows_as_numbers(sample):
    """Per quarter and county, newest first: the quarter's rows equal notebook 01's table, cell for cell."""
    from helpers.analysis.quality import quality
    from helpers.present.intake import quality_table as page_table

    log = pd.read_parquet(sample["paths"].processed / "intake_log.parquet")
    qual = quality(log, "2022Q2")
    ws = _open(office.workbook_bytes([office.quality_table(qual, "2022Q2", "zh")])).worksheets[0]
    header = [c.value for c in ws[1]]
    page = page_table(qual, "2022Q2", "zh")
    assert header[:2] == ["季度", page.index.name] and set(header[2:]) == set(page.columns)
    rows = list(ws.iter_rows(min_row=2, max_row=1 + len(qual)))
    assert len(rows) == len(qual) and rows[0][0].value == "2022Q2" and rows[-1][0].value == "2021Q1"
    for r in rows[:len(page)]:
        for name, cell in zip(header[2:], r[2:]):
            shown = page.loc[r[1].value, name]
            if isinstance(cell.value, str):
                assert cell.value == str(shown), (name, cell.value, shown)
            else:
                assert cell.data_type == "n"
                text = (f"{100 * cell.value:.1f}" if cell.number_format == "0.0%"     # shares as shares, as in the
                        else f"{cell.value:,.0f}")                                    # indicators sheet
                assert text == str(shown), (name, cell.value, shown)


def test_the_english_workbook_speaks_english():
    t = _indicators()
    book = _open(office.workbook_bytes(office.tables("2023Q2", t, _ranking(), {}, None, None, None, "en")))
    assert [ws.title for ws in book.worksheets] == ["indicators", "county comparison", "program effects", "about"]
    cjk = re.compile(r"[\u4e00-\u9fff]")
    for ws in book.worksheets[:2]:
        assert not [c.value for c in ws[1] if cjk.search(str(c.value))], ws.title


# ---- the Word report on a hand-made executed notebook ---------------------------------------------------------
def _executed_notebook(path: Path, lang: str = "en") -> pd.DataFrame:
    """An executed report notebook as papermill leaves it: narrative cells in both languages, the banner, a printed
    line with a local path, Markdown sentences, a DataFrame, a figure and an error."""
    import nbformat
    from PIL import Image

    def out(data, metadata=None):
        return nbformat.v4.new_output("display_data", data=data, metadata=metadata or {})

    png = io.BytesIO()
    Image.new("RGB", (1200, 600), "#1b6ca8").save(png, format="PNG", dpi=(150, 150))
    table = pd.DataFrame({"score": ["0.809", "0.617"], "rank range": ["1–1", "2–3"]},
                         index=pd.Index(["Bazhou", "Nanjiang"], name="county"))
    nb = nbformat.v4.new_notebook()
    nb.metadata["papermill"] = {"parameters": {"quarter": "2023Q2", "lang": lang}}
    md = lambda text, tag: nbformat.v4.new_markdown_cell(text, metadata={"tags": [tag]})  # noqa: E731
    code = nbformat.v4.new_code_cell("x = 1")
    code.outputs = [out({"text/html": '<div class="simulated-banner" style="x">Note: the data are simulated.</div>',
                         "text/plain": "<HTML>"}),
                    nbformat.v4.new_output("stream", name="stdout", text="reading /tmp/secret/processed\n"),
                    out({"text/markdown": "**Any support**: 328 yuan higher, see `docs/methods.md`.\n\nSecond one.",
                         "text/plain": "<Markdown>"}),
                    out({"text/html": table._repr_html_(), "text/plain": table.to_string()}),
                    out({"image/png": base64.b64encode(png.getvalue()).decode(), "text/plain": "<Image>"},
                        {"image/png": {"alt": "County comparison"}}),
                    nbformat.v4.new_output("error", ename="ValueError", evalue="boom", traceback=["boom"])]
    nb.cells = [md("# 中文标题", "lang:zh"), md("# English title", "lang:en"), code,
                md("## 第二部分", "lang:zh"), md("## Part two\n\nText with **bold**.\n\n---\nThe end.", "lang:en")]
    nbformat.write(nb, path)
    return table


def test_the_word_report_keeps_the_pages_language_sentences_tables_and_figures(tmp_path):
    from docx import Document
    from docx.oxml.ns import qn

    from helpers.pipeline import documents

    nb = tmp_path / "04_report.ipynb"
    table = _executed_notebook(nb, "en")
    path = documents.report_docx(nb, tmp_path)
    assert path.name == "2023Q2_quarterly_report.docx"
    doc = Document(path)
    paras = [(p.style.name, p.text) for p in doc.paragraphs]
    assert paras[0] == ("Title", "English title") and paras[1][1] == "Note: the data are simulated."
    text = "\n".join(t for _, t in paras)
    assert "中文标题" not in text and "第二部分" not in text                 # the other language's cells
    assert "/tmp/secret" not in text and "boom" not in text                   # printed text and errors: analyst-only
    sentence = next(p for p in doc.paragraphs if p.text.startswith("Any support"))
    assert sentence.text == "Any support: 328 yuan higher, see docs/methods.md."
    assert sentence.runs[0].text == "Any support" and sentence.runs[0].bold
    assert next(r for r in sentence.runs if r.text == "docs/methods.md").font.name == documents.CODE_FONT
    assert ("Normal", "Second one.") in paras and ("Heading 1", "Part two") in paras and ("Normal", "The end.") in paras
    rule = doc.paragraphs[[t for _, t in paras].index("The end.") - 1]
    assert rule._p.pPr.find(qn("w:pBdr")) is not None                        # the page's horizontal rule
    (t,) = doc.tables
    assert [[c.text for c in r.cells] for r in t.rows] == [["county", "score", "rank range"],
                                                          *[[i, *row] for i, row in zip(table.index, table.values.tolist())]]
    assert t.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None            # the header row repeats on every page
    (shape,) = doc.inline_shapes
    assert shape._inline.docPr.get("descr") == "County comparison"
    assert abs(shape.width.cm - documents.TEXT_WIDTH_CM) < 0.01               # 20.3 cm at 150 dpi, fitted to the page
    assert doc.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr")).find(
        qn("w:lang")).get(qn("w:val")) == "en-US"


def test_a_wide_table_wraps_its_text_columns_never_its_numbers():
    from helpers.pipeline.documents import Table, column_widths

    t = Table(["指标", "全市", "未达标县区"], [["两个收入增速差（脱贫户 − 一般农户）（个百分点）", "3.1个百分点",
                                            "巴州区、恩阳区、通江县、南江县、平昌县、巴州区、恩阳区、通江县"]])
    widths = column_widths(t)
    assert abs(sum(widths) - 16.0) < 1e-6
    assert widths[1] >= (len("3.1") * 1.15 + 4 * 2 + 4) * 9 / 72 * 2.54 / 2 - 1e-9       # the number fits on a line
    assert widths[0] == pytest.approx(widths[2])                     # the two long text columns share what is left


def test_without_a_browser_the_pdf_is_skipped_with_one_line_and_the_run_goes_on(monkeypatch, tmp_path):
    from helpers.pipeline import documents, run as run_module

    monkeypatch.setenv("WORKBOOK_BROWSER", str(tmp_path / "no-such-browser"))
    assert documents.browser() is None
    with pytest.raises(FileNotFoundError, match="PDF skipped: no Chromium found"):
        documents.print_pdf(tmp_path / "page.html", tmp_path / "page.pdf")
    monkeypatch.setattr(documents, "results_workbook", lambda q, p, params, out, lang: out / "a.xlsx")
    monkeypatch.setattr(documents, "report_docx", lambda nb, out: out / "b.docx")
    said = []
    step = type("S", (), {"notebook": "04_report"})()
    out = run_module._documents("2023Q2", None, [(step, {})], "zh", tmp_path, True, said.append)
    assert out["xlsx"] == "a.xlsx" and out["docx"] == "b.docx" and "pdf" not in out
    assert out["pdf_skipped"] == documents.NO_BROWSER and said[0] == documents.NO_BROWSER
    assert len(documents.NO_BROWSER.splitlines()) == 1


# ---- the run's office files -------------------------------------------------------------------------------------
def _share(full_run) -> Path:
    return full_run["paths"].reports / full_run["quarter"] / "share"


def test_the_run_writes_the_office_files_into_share_lists_them_and_links_them(full_run):
    q, share = full_run["quarter"], _share(full_run)
    m = full_run["manifest"]
    docs = m["documents"]
    assert docs["xlsx"] == f"{q}_评估结果.xlsx" and docs["docx"] == f"{q}_季度评估报告.docx"
    assert (share / docs["xlsx"]).stat().st_size > 5_000 and (share / docs["docx"]).stat().st_size > 50_000
    outputs = {Path(k).name for k in m["outputs"]}
    assert {docs["xlsx"], docs["docx"]} <= outputs                       # hashed in the manifest
    index = (full_run["paths"].reports / "index.html").read_text(encoding="utf-8")
    from urllib.parse import quote

    assert f'{q}/share/{quote(docs["xlsx"])}' in index and f'{q}/share/{quote(docs["docx"])}' in index
    assert "评估结果（Excel）" in index and "季度评估报告（Word）" in index
    if shutil.which("chromium") or shutil.which("google-chrome"):
        assert docs["pdf"] == f"{q}_季度评估报告.pdf" and docs["pdf"] in outputs and quote(docs["pdf"]) in index
    else:
        assert "pdf" not in docs and "Chromium" in docs["pdf_skipped"]


def test_the_workbooks_numbers_are_the_reports_artifacts(full_run):
    """The indicator sheet holds the run's saved indicators (withheld where the pages withhold them), the ranking
    sheet the saved ranking, the effects sheet each program's headline estimate and the interval the report's
    sentences rest on."""
    from helpers.pipeline import artifacts
    from helpers.present.findings import headline_interval

    q, paths = full_run["quarter"], full_run["paths"]
    params = full_run["manifest"]["parameters"]["04_report"]
    book = _open((_share(full_run) / full_run["manifest"]["documents"]["xlsx"]).read_bytes())
    assert [ws.title for ws in book.worksheets] == ["指标与标准", "综合评比", "帮扶效果", "数据质量", "说明"]
    ind = pd.read_parquet(paths.reports / q / "results" / "indicators.parquet")
    from helpers.analysis.indicators import INDICATORS

    page = display.indicator_table(ind, list(INDICATORS), q, "zh")
    ws = book["指标与标准"]
    assert "模拟样本" in ws["A1"].value                                  # the sample is simulated
    header = [c.value for c in ws[2]]
    seen = 0
    for r in ws.iter_rows(min_row=3, max_row=2 + len(page)):
        name = r[0].value
        assert name in page.index
        for j, county in enumerate(header[1:7], start=1):
            cell, shown = r[j], page.loc[name, county]
            if isinstance(cell.value, str):
                assert cell.value == shown, (name, county)
            else:
                text = _excel_shows(cell.value, cell.number_format) if cell.number_format != "#,##0.0" else \
                    f"{cell.value:,.1f}"
                assert text + ("个百分点" if cell.number_format == "0.0" else "") == shown, (name, county)
            seen += 1
    assert seen == 6 * len(page)
    rank = pd.read_parquet(paths.reports / q / "results" / "ranking.parquet").sort_values("rank")
    ws = book["综合评比"]
    assert [r[1].value for r in ws.iter_rows(min_row=3, max_row=7)] == pytest.approx(list(rank["composite"]))
    ws = book["帮扶效果"]
    got = {(r[0].value, r[1].value): r for r in ws.iter_rows(min_row=3) if r[2].value is not None and r[1].value}
    options = {k: params[k] for k in ("outcome", "control", "covariates", "cluster", "balanced", "few_cluster",
                                      "bootstrap_reps")}
    for program, name in (("any", "任一帮扶"), ("industry", "产业帮扶"), ("employment", "就业帮扶")):
        eff = artifacts.get("effects", quarter=q, paths=paths, program=program, **options)
        cs = eff[(eff["outcome"] == "income_pc") & (eff["estimator"] == "callaway_santanna")
                 & (eff["aggregate"] == "simple") & (eff["term"] == "overall")].iloc[0]
        lo, hi, _ = headline_interval(cs)
        row = got[(name, "人均纯收入（元/人/季）")]
        assert [row[2].value, row[3].value, row[4].value] == pytest.approx([cs["att"], lo, hi])
        assert row[2].number_format == "#,##0"
        below = got[(name, "低于监测线的概率（个百分点）")]
        assert isinstance(below[2].value, float) and below[2].number_format == "0.0"


def _html_blocks(html: str):
    """The shareable page's headings, tables (cell texts) and images, read with BeautifulSoup."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    headings = [" ".join(h.get_text().split()).rstrip("¶").strip() for h in soup.find_all(["h1", "h2", "h3"])]
    tables = [[[" ".join(c.get_text().split()) for c in tr.find_all(["th", "td"])] for tr in t.find_all("tr")]
              for t in soup.find_all("table")]
    images = [(base64.b64decode(i["src"].split(",", 1)[1]), i.get("alt", "")) for i in soup.find_all("img")]
    return headings, tables, images, soup


def test_the_word_report_is_the_shareable_page(full_run):
    """Read the .docx back: the page's headings in order, the banner first, the same sentences, every table's
    cells equal to the page's, every figure embedded with its title as alternative text; Chinese fonts declared."""
    from docx import Document
    from docx.oxml.ns import qn

    share = _share(full_run)
    doc = Document(share / full_run["manifest"]["documents"]["docx"])
    headings, tables, images, soup = _html_blocks((share / "04_report.html").read_text(encoding="utf-8"))
    paras = doc.paragraphs
    doc_headings = [p.text for p in paras if p.style.name in ("Title", "Heading 1", "Heading 2")]
    assert doc_headings == headings and doc_headings[0] == TITLE
    assert paras[0].style.name == "Title" and "本页数据为模拟样本" in paras[1].text          # the banner, first
    assert paras[1]._p.pPr.find(qn("w:shd")) is not None and paras[1].runs[0].bold
    text = "\n".join(p.text for p in paras)
    for sentence in ("重点指标与政策标准", "帮扶措施的增收效果", "统计上显著", "综合得分最高的是"):
        assert sentence in text
    # every paragraph of the page's Markdown output is a paragraph of the document, word for word
    page_paras = [" ".join(p.get_text().split()) for p in soup.select(".jp-RenderedMarkdown p")]
    doc_paras = {" ".join(p.text.split()) for p in paras}
    missing = [p for p in page_paras if p and p not in doc_paras]
    assert not missing, missing[:3]
    # tables: the page's cells (the header row with the index name folded in, as the page shows it)
    assert len(doc.tables) == len(tables) >= 3
    for dt, ht in zip(doc.tables, tables):
        cells = [[c.text for c in row.cells] for row in dt.rows]
        head, body = ht[0], ht[1:]
        if body and body[0][0] and not any(body[0][1:]):
            head, body = [body[0][0], *head[1:]], body[1:]
        assert cells == [head, *body]
    # figures: the page's PNGs, byte for byte, with their titles
    shapes = doc.inline_shapes
    assert len(shapes) == len(images) >= 3
    blobs = [doc.part.related_parts[s._inline.graphic.graphicData.pic.blipFill.blip.embed].blob for s in shapes]
    assert blobs == [png for png, _ in images]
    assert [s._inline.docPr.get("descr") for s in shapes] == [alt for _, alt in images]
    assert all(s.width <= doc.sections[0].page_width - doc.sections[0].left_margin - doc.sections[0].right_margin
               for s in shapes)
    # fonts: 宋体 body, 黑体 headings, declared as East Asian fonts (no theme font that would override them)
    fonts = lambda style: doc.styles[style].element.rPr.rFonts  # noqa: E731
    assert fonts("Normal").get(qn("w:eastAsia")) == "宋体" and fonts("Title").get(qn("w:eastAsia")) == "黑体"
    assert fonts("Heading 1").get(qn("w:eastAsia")) == "黑体" and fonts("Heading 1").get(qn("w:eastAsiaTheme")) is None
    assert round(doc.sections[0].page_width.cm, 1) == 21.0 and round(doc.sections[0].page_height.cm, 1) == 29.7
    assert doc.core_properties.author.startswith("乡村振兴评估工作簿") and doc.core_properties.language == "zh-CN"


def _pdf_text(path: Path) -> str:
    from pypdf import PdfReader

    return "".join("".join(p.extract_text().split()) for p in PdfReader(path).pages)


def _render(pdf: Path, stem: str) -> list[Path]:
    """Page images of a PDF in .cache/test-output/ (kept for people to look at)."""
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob(f"{stem}-*.png"):
        old.unlink()
    subprocess.run(["pdftoppm", "-r", "80", "-png", str(pdf), str(OUT / stem)], check=True, timeout=120)
    return sorted(OUT.glob(f"{stem}-*.png"))


@pytest.mark.timeout(300)
def test_the_word_report_opens_in_libreoffice_as_a_pdf_with_chinese_text(full_run, tmp_path):
    """Convert the .docx with LibreOffice headless, as an office machine opens it: A4 pages, the Chinese title as
    text, every font embedded; the pages go to .cache/test-output/04_report_docx-*.png."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice:
        pytest.skip("LibreOffice is not installed (scripts/setup_office.sh installs libreoffice-writer-nogui)")
    docx = _share(full_run) / full_run["manifest"]["documents"]["docx"]
    subprocess.run([soffice, f"-env:UserInstallation={(tmp_path / 'lo').as_uri()}", "--headless", "--convert-to",
                    "pdf", "--outdir", str(tmp_path), str(docx)], check=True, capture_output=True, timeout=240)
    pdf = tmp_path / (docx.stem + ".pdf")
    from pypdf import PdfReader

    reader = PdfReader(pdf)
    assert len(reader.pages) >= 3
    box = reader.pages[0].mediabox
    assert abs(float(box.width) - 595.3) < 2 and abs(float(box.height) - 841.9) < 2          # A4
    text = _pdf_text(pdf)
    assert TITLE in text and "重点指标与政策标准" in text and "模拟样本" in text
    if shutil.which("pdffonts"):
        fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
        rows = fonts.splitlines()[2:]
        assert rows and all(" yes " in r for r in rows), fonts                    # every font embedded
        assert any("CJK" in r or "Hei" in r or "Song" in r or "Ming" in r for r in rows), fonts
    if shutil.which("pdftoppm"):
        pages = _render(pdf, "04_report_docx")
        assert len(pages) == len(reader.pages) and all(p.stat().st_size > 10_000 for p in pages)


@pytest.mark.timeout(300)
def test_the_pdf_printed_by_chromium_is_a4_with_selectable_chinese_and_sharp_figures(full_run):
    docs = full_run["manifest"]["documents"]
    if "pdf" not in docs:
        pytest.skip(f"no PDF: {docs.get('pdf_skipped')}")
    from pypdf import PdfReader

    pdf = _share(full_run) / docs["pdf"]
    reader = PdfReader(pdf)
    assert len(reader.pages) >= 3
    for page in reader.pages:
        assert abs(float(page.mediabox.width) - 595) < 2 and abs(float(page.mediabox.height) - 842) < 2
    text = _pdf_text(pdf)
    assert TITLE in text and "帮扶措施的增收效果" in text and "模拟样本" in text      # Chinese, as text
    # figures: the page's PNGs at their full resolution (nothing downsampled), drawn at 150 dpi or more
    _, _, images, _ = _html_blocks((_share(full_run) / "04_report.html").read_text(encoding="utf-8"))
    from PIL import Image

    widths = sorted(Image.open(io.BytesIO(png)).width for png, _ in images)
    embedded = sorted(img.image.width for p in reader.pages for img in p.images)
    assert embedded == widths and min(widths) >= 1000
    if shutil.which("pdfimages"):
        listing = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True).stdout
        ppi = [int(line.split()[12]) for line in listing.splitlines()[2:] if line.split()]
        assert ppi and min(ppi) >= 150, listing
    if shutil.which("pdftoppm"):
        assert _render(pdf, "04_report_pdf")


def _office_text(path: Path) -> str:
    """Everything a shared office file holds, as text: every part of an xlsx or docx (XML, metadata), or a PDF's
    text and metadata."""
    if path.suffix in (".xlsx", ".docx"):
        with zipfile.ZipFile(path) as z:
            return "\n".join(z.read(n).decode("utf-8", errors="replace") for n in z.namelist()
                             if not n.endswith((".png", ".jpeg", ".bin")))
    from pypdf import PdfReader

    reader = PdfReader(path)
    return "\n".join([str(reader.metadata or {})] + [p.extract_text() for p in reader.pages])


def test_no_personal_data_household_or_local_path_reaches_the_shared_office_files(full_run, sample):
    """Scan every office file of share/ (unzipped, the PDF's text and metadata) for the simulator's planted names,
    ID numbers, phones and codes, the household pseudonyms, and the machine's folders."""
    files = [p for p in _share(full_run).iterdir() if p.suffix in (".xlsx", ".docx", ".pdf")]
    assert {p.suffix for p in files} >= {".xlsx", ".docx"}
    text = "\n".join(_office_text(p) for p in files)
    assert "巴州区" in text and "模拟样本" in text                  # the scan reads the files' words
    hh = sample["truth"].households
    for column in ("head_id_number", "phone", "household_code"):
        leaked = [v for v in hh[column] if v in text]
        assert not leaked, (column, leaked[:3])
    assert not [n for n in hh["head_name"] if len(n) >= 3 and n in text]
    codes = pd.read_parquet(sample["paths"].private / full_run["quarter"] / "household_codes.parquet")
    assert not [h for h in codes["household_id"] if h in text]
    local = {str(full_run["root"]), str(full_run["paths"].processed), str(full_run["paths"].private), "/tmp/",
             str(Path.home()), str(Path(__file__).resolve().parents[1])}
    assert not [x for x in local if x in text], [x for x in local if x in text]
    assert "file://" not in text
