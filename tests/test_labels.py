"""The one label catalogue (helpers.domain.labels): both languages for every key, English that says
something of its own, every name the data and the code use, and no other zh/en label table in the
modules that now ask the catalogue."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from helpers.domain import dictionary as dd
from helpers.domain.labels import LABELS, LANGS, SAME_IN_BOTH, label, labels, pick

SRC = Path(__file__).resolve().parents[1] / "src" / "helpers"

# The modules whose labels moved into the catalogue. present/findings.py keeps its WORDS: the phrases each
# verdict of a predicate reads as, pieces of sentences rather than names of things.
MOVED = ["domain/reasons.py", "analysis/indicators.py", "analysis/construct.py", "present/display.py",
         "present/figures.py", "present/indicators.py", "present/intake.py", "present/effects.py",
         "present/report.py"]
# zh/en tables that may stay where they are because they hold sentences, not labels.
SENTENCES = {("domain/reasons.py", "REASONS"), ("domain/reasons.py", "ACTIONS"),    # sentences, beside their codes
             ("present/figures.py", "SOURCE")}


def test_every_kind_has_both_languages_for_every_key():
    assert LABELS, "the catalogue is empty"
    for kind, table in LABELS.items():
        assert table, kind
        for key, pair in table.items():
            assert isinstance(pair, tuple) and len(pair) == len(LANGS), (kind, key, pair)
            zh, en = pair
            assert isinstance(zh, str) and zh.strip(), (kind, key, "Chinese is empty")
            assert isinstance(en, str) and en.strip(), (kind, key, "English is empty")
            assert zh == zh.strip() and en.lstrip() == en.lstrip().rstrip(), (kind, key, "stray spaces")


def test_no_english_label_is_the_chinese_one():
    same = {(kind, key) for kind, table in LABELS.items() for key, (zh, en) in table.items() if zh == en}
    assert same == set(SAME_IN_BOTH), f"English equal to Chinese: {sorted(same - set(SAME_IN_BOTH))}"


def test_no_english_label_is_left_in_chinese_characters():
    """An English label may quote a Chinese term in brackets (“possibly missed households (漏测)”), never be one."""
    def cjk(text):
        return any("\u4e00" <= ch <= "\u9fff" for ch in text)

    for kind, table in LABELS.items():
        for key, (_, en) in table.items():
            outside = en.split("(")[0]
            assert not cjk(outside), (kind, key, en)


def test_label_names_what_is_wrong():
    assert label("county", "通江县", "en") == "Tongjiang" and label("county", "通江县") == "通江县"
    assert labels("program", "en")["industry"] == "industry support"
    with pytest.raises(KeyError, match="no county label for '成都市'.*巴州区"):
        label("county", "成都市", "en")
    with pytest.raises(KeyError, match="no label kind 'counties'.*county"):
        label("counties", "通江县", "zh")
    with pytest.raises(ValueError, match="lang must be one of"):
        label("county", "通江县", "fr")
    with pytest.raises(ValueError, match="lang must be one of"):
        pick(("中", "en"), "ZH")
    with pytest.raises(KeyError):
        labels("nope", "zh")


def test_the_catalogue_names_everything_the_data_and_the_code_use():
    from helpers.analysis.construct import OUTCOMES, PROGRAMS
    from helpers.analysis.indicators import CITY, INDICATORS
    from helpers.domain.reasons import REASONS

    assert set(LABELS["county"]) == {*dd.COUNTIES, CITY}
    assert set(LABELS["household_type"]) == set(dd.HOUSEHOLD_TYPES)
    assert set(LABELS["category"]) == {*dd.MONITOR_TYPES, *dd.EMPLOYMENT_SUPPORT, *dd.PROJECT_TYPES,
                                       *dd.PROBLEM_SOURCES}
    assert set(LABELS["indicator"]) == set(INDICATORS)
    assert set(LABELS["sheet"]) == {s.name for s in dd.SHEETS}
    assert {i.unit for i in INDICATORS.values()} <= set(LABELS["unit"])
    assert set(LABELS["reason"]) == set(REASONS)
    assert set(LABELS["program"]) == set(PROGRAMS)
    assert set(LABELS["outcome"]) == set(OUTCOMES)
    assert set(LABELS["outcome_quarterly"]) == set(OUTCOMES) and set(LABELS["program_households"]) == set(PROGRAMS)
    assert set(LABELS["estimator"]) == {"callaway_santanna", "imputation", "twfe"}
    from helpers.analysis import program_effects as pe
    from helpers.pipeline.run import allowed_values

    allowed = allowed_values()
    assert set(LABELS["cluster"]) == set(allowed["cluster"])
    assert set(LABELS["control"]) >= set(allowed["control"])
    assert set(LABELS["few_cluster_method"]) == set(pe.FEW_CLUSTER_METHODS) == set(allowed["few_cluster"])
    assert set(LABELS["dose_bin"]) == set(pe.DOSE_BINS.values())
    assert set(LABELS["household_type"]) >= set(dd.HOUSEHOLD_TYPES)
    # every reason code the pre-start test can give has its words (present.effects asks strictly)
    import re

    cs = (SRC / "analysis" / "effects" / "callaway_santanna.py").read_text(encoding="utf-8")
    codes = set(re.findall(r'reason_code[=\"\':\s]+"(\w+)"', cs))
    assert codes and codes == set(LABELS["pretest_reason"]), codes
    assert all((INDICATORS[k].zh, INDICATORS[k].en) == LABELS["indicator"][k] for k in INDICATORS)


def _zh_en_tables(path: Path) -> list[tuple[str, int]]:
    """(name, line) of every dict literal in the file whose values are all pairs of string literals, or
    whose keys are "zh" and "en": a zh/en label table of its own."""
    found = []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                if isinstance(t, ast.Name):
                    names[id(node.value)] = t.id

    def pair(v):
        return (isinstance(v, ast.Tuple) and len(v.elts) == 2
                and all(isinstance(e, (ast.Constant, ast.JoinedStr)) for e in v.elts)
                and all(not isinstance(e, ast.Constant) or isinstance(e.value, str) for e in v.elts))

    for node in ast.walk(tree):
        if isinstance(node, ast.Dict) and node.values:
            keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
            if all(pair(v) for v in node.values) or keys == {"zh", "en"}:
                found.append((names.get(id(node), "<dict>"), node.lineno))
    return found


def test_the_scan_finds_a_label_table():
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "m.py"
        f.write_text('X = {"a": ("甲", "a one")}\ndef f(lang):\n    return {"a": ("甲", f"{lang}")}["a"]\n'
                     'Y = {"zh": "中", "en": "en"}\nZ = {"a": 1}\n', encoding="utf-8")
        assert sorted(_zh_en_tables(f)) == [("<dict>", 3), ("X", 1), ("Y", 4)]


@pytest.mark.parametrize("module", MOVED)
def test_the_modules_that_moved_their_labels_keep_no_zh_en_table(module):
    found = [(name, line) for name, line in _zh_en_tables(SRC / module) if (module, name) not in SENTENCES]
    assert found == [], f"{module} defines its own zh/en labels {found}: put them in helpers/domain/labels.py"


def test_the_tables_and_figures_label_every_category_in_both_languages(sample):
    """Labels are looked up strictly: every table by category, every county column and the ranking render
    in both languages on a simulated sample (an unknown value would raise, not show untranslated)."""
    import matplotlib.pyplot as plt

    from helpers.analysis import composite
    from helpers.analysis.indicators import INDICATORS, Inputs, compute
    from helpers.present import display, indicators as pind, intake as pint

    paths = sample["paths"]
    inp = Inputs.load(paths)
    t = compute(inp, "2022Q2")
    rank = composite.ranking(t, "2022Q2")
    for lang in LANGS:
        table = display.indicator_table(t, list(INDICATORS), "2022Q2", lang)
        assert len(table) and set(table.index) <= {display.indicator_label(k, lang) for k in INDICATORS}
        for key in ("monitored_households", "workers", "workers_change", "households_reached", "problems_found"):
            by = display.by_category(t, key, "2022Q2", lang)
            if lang == "en":
                assert not any("\u4e00" <= ch <= "\u9fff" for name in by.index for ch in name), by.index
        assert list(display.ranking_table(rank, lang).index) == [label("county", c, lang) for c in rank["county"]]
        for fig in (pind.plot_thresholds(t, "2022Q2", lang), pind.plot_funds(t, "2022Q2", lang),
                    pint.plot_rows(inp.log, "2022Q2", lang)):
            plt.close(fig)
        assert pint.rows_by_county(inp.log, "2022Q2", lang).index[-1][0] == label("header", "total", lang)
