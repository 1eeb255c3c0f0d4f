"""What a reader of a shareable page sees: titles, no printed text (paths, key notices, English log
lines), intake warnings and tables in the page's language, thousands separators."""
from __future__ import annotations

import re

import nbformat
import pandas as pd

from helpers.present import intake as ir
from helpers.pipeline.run import export, page_title


def _executed(tmp_path, lang="zh"):
    nb = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell("run_intake()")
    code.outputs = [
        nbformat.v4.new_output("stream", name="stderr",
                               text="注意 / Note: no pseudonym key found; created a new one in /home/x/private/pseudonym.key.\n"),
        nbformat.v4.new_output("stream", name="stdout", text="结果已保存 / saved: /home/x/reports/2023Q2/results/a.parquet\n"),
        nbformat.v4.new_output("display_data", data={"text/markdown": "本次入库覆盖 2021年一季度至2023年二季度。"}),
    ]
    nb.cells = [nbformat.v4.new_markdown_cell("# 01 入库检查"), code]
    nb.metadata["papermill"] = {"parameters": {"quarter": "2023Q2", "lang": lang}}
    path = tmp_path / "01_intake.ipynb"
    nbformat.write(nb, path)
    return path


def test_exported_pages_carry_the_reports_title_and_share_pages_no_printed_text(tmp_path):
    written = export(_executed(tmp_path), tmp_path / "analyst", tmp_path / "share")
    analyst, share = (p.read_text(encoding="utf-8") for p in written)
    for page in (analyst, share):
        assert "<title>2023Q2 数据入库检查 · 巴中市乡村振兴季度评估</title>" in page
        assert "<title>Notebook</title>" not in page
        assert "本次入库覆盖" in page                                  # what is displayed for readers stays
    assert "pseudonym.key" in analyst and "saved:" in analyst           # analysts see what was printed
    for local in ("pseudonym", "/home/x", "saved:", "结果已保存", "Note:"):
        assert local not in re.sub(r"<style.*?</style>", "", share, flags=re.S), local


def test_english_pages_get_an_english_title(tmp_path):
    nb = nbformat.read(_executed(tmp_path, "en"), as_version=4)
    assert page_title(nb, "02_indicators") == "2023Q2 Indicators and county comparison · Bazhong rural revitalization, quarterly evaluation"


def test_intake_warnings_are_shown_in_the_pages_language():
    w = ["2023Q2_巴州区.xlsx [农户监测]: 多余的列已忽略 / extra columns ignored: 序号",
         "2023Q2_南江县_农户监测.csv [农户监测]: 缺少可选列“务工人数”，按空值处理 / optional column '务工人数' absent, left empty",
         "2022Q4_巴州区.xlsx [填报说明]: 多余的工作表已忽略 / extra sheet ignored"]
    zh = ir.describe_warnings(w, "2023Q2", "zh")
    assert zh.splitlines() == ["- 2023Q2_巴州区.xlsx [农户监测]：多余的列已忽略：序号",
                               "- 2023Q2_南江县_农户监测.csv [农户监测]：缺少可选列“务工人数”，按空值处理"]
    assert "ignored" not in zh and "absent" not in zh
    assert ir.describe_warnings(w, "2023Q2", "en").splitlines()[0] == "- 2023Q2_巴州区.xlsx [农户监测]: extra columns ignored: 序号"
    assert ir.describe_warnings([], "2023Q2", "zh") == "本季度没有文件级提示。"


def test_intake_tables_use_thousands_separators_and_no_column_names_of_files():
    log = pd.DataFrame([dict(quarter="2023Q2", county=c, sheet="农户监测", rows_in=1500, rows_clean=1480, rows_quarantined=20)
                        for c in ("巴州区", "恩阳区")])
    t = ir.rows_by_county(log, "2023Q2", "zh")
    assert t.loc[("合计", ""), "报送行数"] == "3,000" and t.loc[("巴州区", "农户监测"), "入库行数"] == "1,480"
    assert "detail" not in ir.reason_sentence("bad_value", "zh") and "detail" not in ir.reason_sentence("bad_value", "en")


def test_the_simulated_banner_comes_from_the_raw_folder_marker_and_only_then(tmp_path):
    import json

    from helpers.intake.assemble import simulated
    from helpers.present import notice
    from helpers.sim.simulate import write_marker

    assert simulated(tmp_path) is None and notice.banner_text(None) == "" and notice.banner(None).data == ""
    (tmp_path / "SIMULATED.json").write_text(json.dumps({"simulated": False}), encoding="utf-8")
    assert simulated(tmp_path) is None                                   # a marker that says no
    (tmp_path / "SIMULATED.json").write_text("{broken", encoding="utf-8")
    assert simulated(tmp_path) is None
    write_marker(tmp_path, 2500, 7, "2021Q1", "2023Q2")
    info = simulated(tmp_path)
    assert info["households"] == 2500 and "模拟样本" in notice.banner_text(info, "zh")
    assert "simulated sample" in notice.banner_text(info, "en") and "2,500" in notice.banner(info, "zh").data


CJK = re.compile(r"[\u4e00-\u9fff]")
NOTEBOOKS = __import__("pathlib").Path(__file__).resolve().parents[1] / "notebooks"


def test_each_narrative_cell_is_written_in_both_languages_and_a_page_keeps_its_own():
    from helpers.pipeline.run import for_language

    for name in ("01_intake", "02_indicators", "03_effects", "04_report"):
        nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
        tags = [c.metadata.get("tags", []) for c in nb.cells]
        for i, t in enumerate(tags):               # every Chinese cell is followed by its English one
            if "lang:zh" in t:
                assert "lang:en" in tags[i + 1], (name, i)
        en, zh = for_language(nb, "en"), for_language(nb, "zh")
        assert [c.source[:40] for c in en.cells if c.cell_type == "markdown" and CJK.search(c.source)] == [], name
        assert not any("lang:en" in c.metadata.get("tags", []) for c in zh.cells), name
        assert len(en.cells) == len(zh.cells) and len(zh.cells) < len(nb.cells), name
        # no sentence typed in a code cell: what a reader sees comes from helpers.present in the page's language
        typed = [line for c in nb.cells if c.cell_type == "code" for line in c.source.splitlines()
                 if CJK.search(line.split("#")[0]) and not line.lstrip().startswith("print(")]
        assert typed == [], name


def test_an_english_page_drops_the_chinese_narrative(tmp_path):
    path = _executed(tmp_path, "en")
    nb = nbformat.read(path, as_version=4)
    zh, en = nbformat.v4.new_markdown_cell("## 入库"), nbformat.v4.new_markdown_cell("## Intake")
    zh.metadata["tags"], en.metadata["tags"] = ["lang:zh"], ["lang:en"]
    nb.cells = [zh, en] + nb.cells[1:]
    nbformat.write(nb, path)
    analyst, share = (p.read_text(encoding="utf-8") for p in export(path, tmp_path / "a", tmp_path / "s"))
    for page in (analyst, share):
        assert "Intake" in page and "## 入库" not in page and ">入库<" not in page


def test_intake_table_names_its_sheets_in_the_pages_language():
    log = pd.DataFrame([dict(quarter="2023Q2", county="通江县", sheet=s, rows_in=10, rows_clean=9, rows_quarantined=1)
                        for s in ("农户监测", "项目资金")])
    en = ir.rows_by_county(log, "2023Q2", "en")
    assert not any(CJK.search(str(v)) for v in en.index.get_level_values(1)), list(en.index)


def test_intake_tables_figures_and_sentences_follow_the_disclosure_rule():
    import matplotlib.pyplot as plt

    q = pd.DataFrame([dict(quarter="2023Q2", county=c, reason=r, row=i) for i, (c, r) in enumerate(
        [("通江县", "household_code")] * 6 + [("平昌县", "household_code")] * 2 + [("通江县", "duplicate")] * 3)])
    t = ir.reasons_table(q, "2023Q2", "zh")
    assert "<5" in set(t.to_numpy().ravel()) and "2" not in set(t.to_numpy().ravel()) and "3" not in set(t.to_numpy().ravel())
    text = ir.describe_reasons(q, "2023Q2", "zh")
    assert "<5" in text and " 3 " not in text
    fig = ir.plot_reasons(q, "2023Q2", "zh")
    assert len(fig.axes[0].patches) == 1                          # 8 rows of bad codes drawn; 3 duplicates not
    plt.close(fig)
    log = pd.DataFrame([dict(quarter="2023Q2", county="通江县", sheet="农户监测", rows_in=500, rows_clean=497,
                             rows_quarantined=3)])
    assert ir.rows_by_county(log, "2023Q2", "zh").iloc[0].tolist()[:3] == ["500", "497", "<5"]
