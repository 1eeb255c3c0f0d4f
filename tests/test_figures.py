"""The figure style renders Chinese with no missing glyphs, on a machine without system CJK fonts."""
from __future__ import annotations

import warnings

import matplotlib.pyplot as plt
import pytest

from helpers.present import figures


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


# --- figures of the intake and indicators pages: no label collisions -------------------------------------------
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def _bbox(artist, fig):
    return artist.get_window_extent(fig.canvas.get_renderer())


def _funds_table(values: dict, key_thr: dict) -> pd.DataFrame:
    rows = []
    for key, per in values.items():
        for county, v in per.items():
            rows.append(dict(quarter="2023Q2", county=county, indicator=key, category="", value=v, numerator=np.nan,
                             denominator=100.0, ci_low=np.nan, ci_high=np.nan, status="ok", threshold=key_thr[key],
                             met=v >= key_thr[key]))
    return pd.DataFrame(rows)


def test_funds_figure_keeps_value_labels_off_the_threshold_line():
    """The standard line once ran through “51%” and “标准 60%” sat on “57%”."""
    from helpers.present import indicators as ir

    figures.use_style("zh")
    t = _funds_table({"spending_progress": {"巴州区": 0.506, "恩阳区": 0.497, "通江县": 0.40, "全市": 0.505},
                      "industry_share": {"巴州区": 0.767, "恩阳区": 0.569, "通江县": 0.60, "全市": 0.601}},
                     {"spending_progress": 0.5, "industry_share": 0.6})
    fig = ir.plot_funds(t, "2023Q2", "zh")
    fig.canvas.draw()
    for ax in fig.axes:
        line = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"][0]
        y = ax.transData.transform((0, line.get_ydata()[0]))[1]
        for text in ax.texts:
            box = _bbox(text, fig)
            assert not (box.y0 < y < box.y1), (ax.get_title(), text.get_text())
        assert "标准 ≥" in ax.get_title()                       # the standard is named, with its precision
    plt.close(fig)


def test_rows_figure_has_whole_number_ticks_and_its_legend_off_the_bars():
    from helpers.present import intake as ir

    figures.use_style("zh")
    log = pd.DataFrame([dict(quarter="2023Q2", county=c, sheet="农户监测", rows_in=n + q, rows_clean=n,
                             rows_quarantined=q) for c, n, q in (("巴州区", 3, 1), ("恩阳区", 2, 0), ("平昌县", 4, 2))])
    fig = ir.plot_rows(log, "2023Q2", "zh")
    fig.canvas.draw()
    ax = fig.axes[0]
    ticks = [t for t in ax.get_yticks() if ax.get_ylim()[0] <= t <= ax.get_ylim()[1]]
    assert all(float(t).is_integer() for t in ticks), ticks                  # rows are whole numbers
    legend = _bbox(ax.get_legend(), fig)
    for bar in ax.patches:
        assert not legend.overlaps(_bbox(bar, fig))
    plt.close(fig)


def test_ranking_axis_is_the_scores_range():
    from helpers.analysis import composite
    from helpers.present import indicators as ir

    figures.use_style("zh")
    rank = pd.DataFrame({"county": ["南江县", "恩阳区"], "composite": [1.0, 0.0], "rank": [1, 2],
                         "rank_stability": [1.0, 1.0], "rank_best": [1, 2], "rank_worst": [1, 2]})
    spec = {**composite.load_spec(), "stability": {"draws": 300, "low": 0.7, "high": 1.3, "seed": 1}}
    fig = ir.plot_ranking(rank, "2023Q2", "zh", spec)
    assert fig.axes[0].get_xlim() == (0.0, 1.0)                              # a 0–1 score, not an axis to 1.2
    assert any("0.7–1.3" in t.get_text() and "300" in t.get_text() for t in fig.texts)   # caption from the config
    plt.close(fig)


def test_cohorts_figure_counts_households_in_whole_numbers():
    from types import SimpleNamespace

    from helpers.present import effects as er

    figures.use_style("zh")
    cohorts = pd.DataFrame({"cohort": [0, 8, 9, 10], "first_program": ["", "industry", "industry", "employment"],
                            "households": [265, 16, 19, 18]})
    fig = er.plot_cohorts(SimpleNamespace(cohorts=cohorts), "2022Q2", "zh")
    fig.canvas.draw()
    ax = fig.axes[0]
    ticks = [t for t in ax.get_yticks() if ax.get_ylim()[0] <= t <= ax.get_ylim()[1]]
    assert len(ticks) >= 2 and all(float(t).is_integer() for t in ticks), ticks
    plt.close(fig)


def test_income_growth_figure_says_so_when_no_growth_can_be_computed():
    from helpers.analysis.indicators import ALL, CITY
    from helpers.present import indicators as ir

    figures.use_style("zh")
    t = pd.DataFrame([dict(quarter="2022Q2", category=ALL, county=c, indicator=k, value=np.nan, ci_low=np.nan,
                           ci_high=np.nan, status="too_short", threshold=0.077, denominator=np.nan, met=None)
                      for c in ("巴州区", CITY) for k in ("alleviated_income_growth", "general_income_growth")])
    fig = ir.plot_income_growth(t, "2022Q2", "zh")
    ax = fig.axes[0]
    assert any("无法计算同比增速" in x.get_text() for x in ax.texts) and len(ax.get_yticks()) == 0
    plt.close(fig)
