"""Generated documentation is up to date with the code."""
from helpers.config import DOCS
from helpers.dictionary import SHEETS, render_markdown


def test_data_dictionary_doc_is_generated_from_the_dictionary():
    text = (DOCS / "data-dictionary.md").read_text(encoding="utf-8")
    assert text == render_markdown(), "run: python -m helpers.dictionary"
    for sheet in SHEETS:
        for col in sheet.columns:
            assert f"`{col.name}`" in text and col.header in text
