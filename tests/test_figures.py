"""The figure style renders Chinese with no missing glyphs, on a machine without system CJK fonts."""
from __future__ import annotations

import warnings

import matplotlib.pyplot as plt
import pytest

from helpers import figures


def _render(lang):
    figures.use_style(lang)
    fig, ax = plt.subplots()
    counties = list(figures.COUNTY_COLORS)
    ax.bar([figures.county_label(c, lang) for c in counties], [3, -1, 2, 4, 1],
           color=list(figures.COUNTY_COLORS.values()))
    ax.set_title("各县（区）隔离行数：巴州区、恩阳区、通江县、南江县、平昌县" if lang == "zh" else "Rows set aside")
    ax.set_ylabel("户数（户）−差额" if lang == "zh" else "households")
    figures.caption(fig, "2023Q2", lang)
    fig.canvas.draw()
    return fig


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_chinese_labels_render_without_missing_glyphs(lang, tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = _render(lang)
        path = figures.save(fig, tmp_path / "f.png")
    missing = [str(w.message) for w in caught if "missing from" in str(w.message) or "Glyph" in str(w.message)]
    assert not missing, missing
    assert path.stat().st_size > 10_000
    assert plt.rcParams["font.sans-serif"][0] == figures.FONT_FAMILY
    assert plt.rcParams["axes.unicode_minus"] is False


def test_the_font_survives_a_later_seaborn_theme_call_only_through_use_style():
    import seaborn as sns

    figures.use_style("zh")
    sns.set_theme()                         # resets fonts, as seaborn does
    assert plt.rcParams["font.sans-serif"][0] != figures.FONT_FAMILY
    figures.use_style("zh")
    assert plt.rcParams["font.sans-serif"][0] == figures.FONT_FAMILY


def test_every_county_has_its_own_colour():
    assert len(set(figures.COUNTY_COLORS.values())) == 5
    with pytest.raises(ValueError):
        figures.use_style("fr")


def test_the_title_travels_with_the_png_as_alternative_text(tmp_path):
    """Shared HTML reports are read with screen readers too: each image's alt text is its title."""
    fig = _render("zh")
    shown = figures.show(figures.save(fig, tmp_path / "f.png"))
    assert shown.metadata["alt"] == "各县（区）隔离行数：巴州区、恩阳区、通江县、南江县、平昌县"
    figures.use_style("zh")
    fig, _ = plt.subplots()
    assert figures.show(figures.save(fig, tmp_path / "untitled.png")).metadata in (None, {})
