"""The run's office documents in ``reports/<q>/share/``: the results workbook (.xlsx), the summary report as a Word
document (.docx) and, with ``workbook run --pdf``, the summary report printed to PDF by headless Chromium.

- The **workbook** is written from the same artifacts, with the same parameters, as notebook 04 asks for them
  (``report_frames``), by ``helpers.present.office``.
- The **Word report** is the executed notebook 04 itself, as the shareable HTML page shows it (``run.for_language``,
  ``run.shareable``): its headings and narrative cells, and every output in order (the simulated-data banner,
  the sentences the presentation functions wrote, the tables, the figures as the PNG files the page embeds).
  Nothing is re-worded or recomputed: a table's cells are the page's cells. Fonts are declared for a Chinese
  office machine (宋体 body, 黑体 headings, as ``w:eastAsia`` font attributes; Times New Roman / Arial for Latin
  text), on A4, with the language set to zh-CN (en-US for an English run).
- The **PDF** is the shareable HTML page printed by headless Chromium (A4 from the page's ``@page`` rule, text as
  text, the figures' PNGs at their own resolution); without a browser it is skipped with one line saying so.
"""
from __future__ import annotations

import base64
import io
import math
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path

from helpers.config import Paths
from helpers.domain.labels import label
from helpers.store.storage import atomic_write_bytes

BODY_FONT = ("Times New Roman", "宋体")          # (Latin, East Asian): SimSun
HEADING_FONT = ("Arial", "黑体")                 # SimHei
CODE_FONT = "Consolas"
TEXT_WIDTH_CM = 16.0                             # A4 (21 cm) less 2.5 cm margins on each side
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome", "msedge")


def report_file(quarter: str, lang: str = "zh", suffix: str = ".docx") -> str:
    """``2023Q2_季度评估报告.docx`` (``.pdf``; ``2023Q2_quarterly_report.docx`` in English)."""
    return f"{quarter}_{label('office', 'report_file', lang)}{suffix}"


# ---- the results workbook -------------------------------------------------------------------------------------
def report_frames(quarter: str, paths: Paths, params: dict) -> dict:
    """The artifacts notebook 04 shows, asked for with the parameters the run gave it (``params``: 04's effective
    parameters), so the workbook's numbers are the report's: read when current, as 04 left them."""
    from helpers.analysis.construct import PROGRAMS, MonitoringLineError
    from helpers.pipeline import artifacts

    chosen = dict(counties=params.get("counties", ""), indicators_config=params.get("indicators_config", ""),
                  trend_quarters=params.get("trend_quarters", 6))
    options = {k: params[k] for k in ("outcome", "control", "covariates", "cluster", "balanced", "few_cluster",
                                      "bootstrap_reps") if k in params}
    out = {"indicators": artifacts.get("indicators", quarter=quarter, paths=paths, **chosen),
           "ranking": artifacts.get("ranking", quarter=quarter, paths=paths,
                                    composite_config=params.get("composite_config", ""), **chosen),
           "effects": {p: artifacts.get("effects", quarter=quarter, paths=paths, program=p, **options)
                       for p in PROGRAMS}}
    try:                       # a year without a monitoring line: no below-line rows, as 04 leaves them out
        out["below"] = {p: artifacts.get("effects", quarter=quarter, paths=paths, program=p,
                                         **{**options, "outcome": "below_line", "earned": False}) for p in PROGRAMS}
    except MonitoringLineError:
        out["below"] = {}
    # the data-quality table of page 01, from intake's log by the same function (``analysis.quality.quality``)
    from helpers.analysis.quality import quality

    out["quality"] = quality(artifacts.get("intake_log", quarter=quarter, paths=paths), quarter)
    return out


def results_workbook(quarter: str, paths: Paths, params: dict, out_dir: Path, lang: str = "zh") -> Path:
    """Write ``<q>_评估结果.xlsx`` into ``out_dir`` from the report's artifacts."""
    from pathlib import Path as _P

    from helpers.analysis import composite
    from helpers.present import office
    from helpers.present.notice import simulated_info

    frames = report_frames(quarter, paths, params)
    spec = composite.load_spec(_P(params["composite_config"]) if params.get("composite_config") else None)
    return office.write_results_workbook(Path(out_dir) / office.file_name(quarter, lang), quarter,
                                         frames["indicators"], frames["ranking"], frames["effects"], frames["below"],
                                         frames["quality"], simulated_info(paths.processed), lang, spec)


# ---- the executed report as blocks ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Heading:
    level: int               # 1: the title (#), 2: a section (##), 3: a subsection (###)
    text: str


@dataclass(frozen=True)
class Paragraph:
    text: str                # with the page's inline Markdown (**bold**, `code`)


@dataclass(frozen=True)
class Banner:
    text: str                # the simulated-data notice


@dataclass(frozen=True)
class Table:
    header: list[str]
    rows: list[list[str]]


@dataclass(frozen=True)
class Figure:
    png: bytes
    alt: str


@dataclass(frozen=True)
class Rule:
    pass


class _HTMLTables(HTMLParser):
    """The tables of an HTML fragment (pandas' ``to_html``) as rows of cell texts, and its text outside tables."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self.text: list[str] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "script"):
            self._skip += 1
        elif tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append("\n")

    def handle_endtag(self, tag):
        if tag in ("style", "script"):
            self._skip -= 1
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[-1].append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._skip:
            return
        if self._cell is not None:
            self._cell.append(data)
        elif self._row is None:
            self.text.append(data)


def html_tables(html: str) -> list[Table]:
    """The tables of a displayed DataFrame's HTML, the index name folded into the header row as the page shows
    it (pandas writes it on a second header row of its own)."""
    parser = _HTMLTables()
    parser.feed(html)
    out = []
    for rows in parser.tables:
        if not rows:
            continue
        header, body = rows[0], rows[1:]
        if body and body[0] and body[0][0] and not any(body[0][1:]) and len(body[0]) == len(header):
            header, body = [body[0][0], *header[1:]], body[1:]       # the index name's row
        out.append(Table(header, body))
    return out


def html_text(html: str) -> str:
    parser = _HTMLTables()
    parser.feed(html)
    return " ".join("".join(parser.text).split())


HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
RULE = re.compile(r"^\s*(?:-{3,}|\*{3,}|_{3,})\s*$")
BULLET = re.compile(r"^\s*[-*+]\s+(.*)$")


def markdown_blocks(text: str) -> list:
    """Headings, paragraphs, list items and rules of the Markdown the pages use (headings, blank-line paragraphs,
    ``---``, ``- items``; inline marks stay in the text)."""
    out, para = [], []

    def flush():
        if para:
            out.append(Paragraph(" ".join(s.strip() for s in para).strip()))
            para.clear()

    for line in text.splitlines():
        if not line.strip():
            flush()
        elif m := HEADING.match(line):
            flush()
            out.append(Heading(len(m.group(1)), m.group(2).strip().rstrip("#").strip()))
        elif RULE.match(line) and not para:
            out.append(Rule())
        elif m := BULLET.match(line):
            flush()
            out.append(Paragraph("• " + m.group(1).strip()))
        else:
            para.append(line)
    flush()
    return out


def report_blocks(nb) -> list:
    """The blocks a reader of the shareable page sees, in order: a notebook already filtered to its language
    (``run.for_language``) and to what is displayed (``run.shareable``)."""
    out = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            out.extend(markdown_blocks(cell.source))
            continue
        if cell.cell_type != "code":
            continue
        for o in cell.get("outputs", []):
            data = o.get("data", {})
            if "image/png" in data:
                alt = (o.get("metadata", {}).get("image/png", {}) or {}).get("alt", "")
                out.append(Figure(base64.b64decode(data["image/png"]), alt))
            elif "text/html" in data:
                html = data["text/html"] if isinstance(data["text/html"], str) else "".join(data["text/html"])
                if "simulated-banner" in html:
                    if text := html_text(html):
                        out.append(Banner(text))
                elif "<table" in html:
                    out.extend(html_tables(html))
                elif text := html_text(html):
                    out.append(Paragraph(text))
            elif "text/markdown" in data:
                md = data["text/markdown"] if isinstance(data["text/markdown"], str) else "".join(data["text/markdown"])
                out.extend(markdown_blocks(md))
    return out


# ---- Word -----------------------------------------------------------------------------------------------------
def _set_fonts(rpr_parent, latin: str, east_asia: str) -> None:
    """Declare the fonts of a style's or a run's properties explicitly (theme fonts removed: they would win)."""
    from docx.oxml.ns import qn

    rpr = rpr_parent.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.insert(0, fonts)
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attr), None)
    for attr, name in (("w:ascii", latin), ("w:hAnsi", latin), ("w:cs", latin), ("w:eastAsia", east_asia)):
        fonts.set(qn(attr), name)


def _document_defaults(doc, lang: str) -> None:
    """Fonts, language and colours of the styles the report uses; A4 pages; a page number in the footer."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt, RGBColor

    # document defaults: the East Asian font and language for every run that names none
    defaults = doc.styles.element.find(qn("w:docDefaults"))
    rpr_default = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    fonts = rpr_default.find(qn("w:rFonts"))
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attr), None)
    for attr, name in (("w:ascii", BODY_FONT[0]), ("w:hAnsi", BODY_FONT[0]), ("w:cs", BODY_FONT[0]),
                       ("w:eastAsia", BODY_FONT[1])):
        fonts.set(qn(attr), name)
    lang_el = rpr_default.find(qn("w:lang"))
    if lang_el is None:
        lang_el = rpr_default.makeelement(qn("w:lang"), {})
        rpr_default.append(lang_el)
    lang_el.set(qn("w:val"), "zh-CN" if lang == "zh" else "en-US")
    lang_el.set(qn("w:eastAsia"), "zh-CN")

    normal = doc.styles["Normal"]
    _set_fonts(normal.element, *BODY_FONT)
    normal.font.size = Pt(10.5)                      # 五号
    normal.paragraph_format.space_after = Pt(6)
    normal.paragraph_format.line_spacing = 1.25
    for name, size, align in (("Title", 18, WD_ALIGN_PARAGRAPH.CENTER), ("Heading 1", 15, None),
                              ("Heading 2", 13, None), ("Heading 3", 12, None)):
        style = doc.styles[name]
        _set_fonts(style.element, *HEADING_FONT)
        style.font.size = Pt(size)
        style.font.bold = True
        style.font.italic = False
        style.font.color.rgb = RGBColor(0x1F, 0x1F, 0x1F)
        style.paragraph_format.space_before = Pt(12 if name != "Title" else 0)
        style.paragraph_format.space_after = Pt(6 if name != "Title" else 12)
        style.paragraph_format.keep_with_next = True
        if align is not None:
            style.paragraph_format.alignment = align
        ppr = style.element.get_or_add_pPr()
        border = ppr.find(qn("w:pBdr"))          # the template's Title has a coloured rule under it
        if border is not None:
            ppr.remove(border)

    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    section.left_margin = section.right_margin = Cm((21.0 - TEXT_WIDTH_CM) / 2)
    section.top_margin = section.bottom_margin = Cm(2.5)
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    field = footer._p.makeelement(qn("w:fldSimple"), {qn("w:instr"): "PAGE"})
    run = footer._p.makeelement(qn("w:r"), {})
    text = run.makeelement(qn("w:t"), {})
    text.text = "1"
    run.append(text)
    field.append(run)
    footer._p.append(field)


INLINE = re.compile(r"\*\*(.+?)\*\*|`([^`]+)`")


def _add_inline(paragraph, text: str, bold: bool = False) -> None:
    """Runs of ``text`` with its inline Markdown: **bold**, `code`."""
    pos = 0
    for m in INLINE.finditer(text):
        if m.start() > pos:
            paragraph.add_run(text[pos:m.start()]).bold = bold or None
        if m.group(1) is not None:
            _add_inline(paragraph, m.group(1), bold=True)
        else:
            run = paragraph.add_run(m.group(2))
            run.font.name = CODE_FONT
            run.bold = bold or None
        pos = m.end()
    if pos < len(text):
        paragraph.add_run(text[pos:]).bold = bold or None


def _shade(element, fill: str) -> None:
    from docx.oxml.ns import qn

    shd = element.makeelement(qn("w:shd"), {qn("w:val"): "clear", qn("w:color"): "auto", qn("w:fill"): fill})
    element.append(shd)


def _border(ppr, sides: tuple[str, ...], color: str, size: int) -> None:
    from docx.oxml.ns import qn

    bdr = ppr.makeelement(qn("w:pBdr"), {})
    for side in sides:
        bdr.append(bdr.makeelement(qn(f"w:{side}"), {qn("w:val"): "single", qn("w:sz"): str(size),
                                                       qn("w:space"): "4", qn("w:color"): color}))
    ppr.append(bdr)


def _text_width(text: str) -> float:
    """A text's width in half-em units: a CJK character is two; Latin letters, digits and signs a little over one
    (the fallback fonts of an office machine run wider than Times New Roman)."""
    return sum(2.0 if ord(ch) > 0x2E80 else 1.15 for ch in text)


# A cell of a number as the pages print it (1,234 · 7.7% · 3.1个百分点 · [251, 443] · 3–4 · <5 · —): right-aligned.
NUMERIC = re.compile(r"^(?:[<>≥≤=]?\s*[-+]?[\d,.]+\s*(?:%|个百分点| pp|元)?|\[[-\d,.∞ ]+\]|\d+[–-]\d+|—|<5|未知|无数据|unknown|no data|)$")
HALF_EM_CM = 9 / 72 * 2.54 / 2              # a Latin character (half a CJK one) at the tables' 9 pt


def _longest_word(text: str) -> float:
    """The widest word of a Latin header (“(yuan/person/quarter)”), which should not break; 0 for CJK text, which
    breaks anywhere."""
    return max([_text_width(w) for w in text.split() if not any(ord(ch) > 0x2E80 for ch in w)] or [0.0])


def column_widths(t: Table, total_cm: float = TEXT_WIDTH_CM) -> list[float]:
    """Column widths (cm) that fill the text width: each column as wide as its longest cell (a header may wrap
    over two lines, between words); when they do not fit, only the widest columns give up width (they wrap), so a
    column of numbers is never broken."""
    ncol = len(t.header)
    need = [max([math.ceil(_text_width(t.header[j]) / 2), _longest_word(t.header[j])]
                + [_text_width(r[j]) for r in t.rows if j < len(r)]) + 4 for j in range(ncol)]
    room = total_cm / HALF_EM_CM
    if sum(need) > room:
        lo, hi = 0.0, float(max(need))        # the cap c with sum(min(need, c)) == room
        for _ in range(50):
            c = (lo + hi) / 2
            lo, hi = (c, hi) if sum(min(n, c) for n in need) < room else (lo, c)
        need = [min(n, lo) for n in need]
    return [total_cm * n / sum(need) for n in need]


def _add_table(doc, t: Table) -> None:
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    ncol = len(t.header)
    table = doc.add_table(rows=1 + len(t.rows), cols=ncol)
    table.style = doc.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    widths = column_widths(t)
    numeric = [j > 0 and all(NUMERIC.match(r[j]) for r in t.rows if j < len(r)) for j in range(ncol)]
    for i, cells in enumerate([t.header, *t.rows]):
        row = table.rows[i]
        if i == 0:
            trpr = row._tr.get_or_add_trPr()
            trpr.append(trpr.makeelement(qn("w:tblHeader"), {}))      # repeated on every page
        for j in range(ncol):
            cell = row.cells[j]
            cell.width = Cm(widths[j])
            para = cell.paragraphs[0]
            para.paragraph_format.space_after = Pt(0)
            para.paragraph_format.line_spacing = 1.0
            para.alignment = WD_ALIGN_PARAGRAPH.RIGHT if numeric[j] else WD_ALIGN_PARAGRAPH.LEFT
            run = para.add_run(cells[j] if j < len(cells) else "")
            run.font.size = Pt(9)
            if i == 0:
                run.bold = True
                _shade(cell._tc.get_or_add_tcPr(), "E8EEF4")
    for j, col in enumerate(table.columns):
        col.width = Cm(widths[j])
    doc.add_paragraph().paragraph_format.space_after = Pt(2)


def _add_figure(doc, f: Figure) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm
    from PIL import Image

    with Image.open(io.BytesIO(f.png)) as im:
        dpi = float((im.info.get("dpi") or (150, 150))[0]) or 150.0
        natural = im.width / dpi * 2.54
    para = doc.add_paragraph()
    para.alignment = WD_ALIGN_PARAGRAPH.CENTER
    picture = para.add_run().add_picture(io.BytesIO(f.png), width=Cm(min(TEXT_WIDTH_CM, natural)))
    if f.alt:
        picture._inline.docPr.set("descr", f.alt)          # the figure's title as its alternative text
        picture._inline.docPr.set("title", f.alt)


def write_docx(blocks: list, path: Path, title: str, lang: str = "zh") -> Path:
    """A Word document of ``blocks``: editable text, tables and pictures, Chinese fonts declared, A4."""
    from docx import Document
    from docx.shared import Pt, RGBColor

    doc = Document()
    _document_defaults(doc, lang)
    props = doc.core_properties
    props.title, props.author, props.last_modified_by = title, "乡村振兴评估工作簿 (rural-workbook)", ""
    props.comments, props.subject, props.keywords, props.category = "", "", "", ""
    props.language = "zh-CN" if lang == "zh" else "en-US"
    props.created = props.modified = datetime.now(timezone.utc).replace(microsecond=0, tzinfo=None)
    props.revision = 1
    for b in blocks:
        if isinstance(b, Heading):
            doc.add_heading(b.text, level=0 if b.level == 1 else min(b.level - 1, 3))
        elif isinstance(b, Paragraph):
            _add_inline(doc.add_paragraph(), b.text)
        elif isinstance(b, Banner):
            para = doc.add_paragraph()
            ppr = para._p.get_or_add_pPr()
            _border(ppr, ("top", "left", "bottom", "right"), "B45309", 12)
            _shade(ppr, "FFFBEB")
            run = para.add_run(b.text)
            run.bold = True
            run.font.color.rgb = RGBColor(0x78, 0x35, 0x0F)
            para.paragraph_format.space_after = Pt(12)
        elif isinstance(b, Table):
            _add_table(doc, b)
        elif isinstance(b, Figure):
            _add_figure(doc, b)
        elif isinstance(b, Rule):
            para = doc.add_paragraph()
            _border(para._p.get_or_add_pPr(), ("bottom",), "999999", 6)
    buf = io.BytesIO()
    doc.save(buf)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, buf.getvalue())
    return path


def report_docx(notebook: Path, out_dir: Path) -> Path:
    """The executed report notebook (``notebooks/04_report.ipynb`` of a run) as ``<q>_季度评估报告.docx`` in
    ``out_dir``: what its shareable page shows, in the page's language."""
    import nbformat

    from helpers.pipeline.run import for_language, page_title, shareable

    nb = nbformat.read(notebook, as_version=4)
    params = nb.metadata.get("papermill", {}).get("parameters", {}) or {}
    lang, quarter = params.get("lang", "zh"), str(params.get("quarter", ""))
    nb = shareable(for_language(nb, lang))
    return write_docx(report_blocks(nb), Path(out_dir) / report_file(quarter, lang),
                      page_title(nb, Path(notebook).stem), lang)


# ---- PDF ------------------------------------------------------------------------------------------------------
def browser() -> str | None:
    """The headless browser that prints the PDF (Chromium, or Chrome / Edge), or None. ``WORKBOOK_BROWSER`` names
    one explicitly."""
    named = os.environ.get("WORKBOOK_BROWSER")
    if named:
        return shutil.which(named) or (named if Path(named).is_file() else None)
    return next((p for b in BROWSERS if (p := shutil.which(b))), None)


NO_BROWSER = ("PDF 未生成：没有找到 Chromium（scripts/setup_browser.sh 可安装）。 / PDF skipped: no Chromium found "
              "(scripts/setup_browser.sh installs it).")


def print_pdf(html: Path, pdf: Path, timeout: float = 180) -> Path:
    """Print ``html`` to ``pdf`` with headless Chromium: A4 (the page's ``@page`` rule), no header or footer with
    the file's path, a profile of its own in a temporary folder, nothing fetched from the network."""
    exe = browser()
    if exe is None:
        raise FileNotFoundError(NO_BROWSER)
    pdf = Path(pdf)
    pdf.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="workbook-pdf-") as tmp:
        out = Path(tmp) / "page.pdf"
        cmd = [exe, "--headless", "--disable-gpu", "--no-first-run", "--disable-extensions",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--disable-dev-shm-usage", f"--user-data-dir={Path(tmp) / 'profile'}",
               "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
               "--no-pdf-header-footer", "--run-all-compositor-stages-before-draw", "--virtual-time-budget=10000",
               f"--print-to-pdf={out}", Path(html).resolve().as_uri()]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.insert(1, "--no-sandbox")            # Chromium refuses to run as root with its sandbox
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0 or not out.exists() or out.stat().st_size == 0:
            raise RuntimeError(f"{Path(exe).name} could not print {Path(html).name} (exit {done.returncode}): "
                               f"{(done.stderr or '').strip().splitlines()[-1:] or ''}")
        atomic_write_bytes(pdf, out.read_bytes())
    return pdf
