"""Generated documentation is up to date with the code."""
from helpers.config import DOCS
from helpers.domain.dictionary import SHEETS, render_markdown


def test_data_dictionary_doc_is_generated_from_the_dictionary():
    text = (DOCS / "data-dictionary.md").read_text(encoding="utf-8")
    assert text == render_markdown(), "run: python -m helpers.domain.dictionary"
    for sheet in SHEETS:
        for col in sheet.columns:
            assert f"`{col.name}`" in text and col.header in text


def test_indicator_doc_is_generated_and_lists_every_indicator():
    from helpers.analysis.indicators import INDICATORS, render_markdown

    text = (DOCS / "indicators.md").read_text(encoding="utf-8")
    assert text == render_markdown(), "run: python -m helpers.analysis.indicators"
    for ind in INDICATORS.values():
        assert f"`{ind.key}`" in text and ind.zh in text


def test_no_threshold_is_written_in_the_indicator_code():
    """Thresholds, lines and milestones live in config/indicators.yaml, never in code."""
    import re

    from helpers.config import ROOT

    code = (ROOT / "src" / "helpers" / "analysis" / "indicators.py").read_text(encoding="utf-8")
    for number in ("0.55", "0.60", "0.077", "7100", "6600", "0.75"):
        assert not re.search(rf"(?<![\d.]){re.escape(number)}(?![\d])", code), number
