"""The workbook's one figure style: seaborn theme, Chinese labels on any machine, one colour per county.

Chinese text needs a CJK font, and office machines and CI have none installed: the style
registers the Noto Sans CJK SC font that the ``mplfonts`` package ships, explicitly, by
file. seaborn's ``set_theme`` resets matplotlib's font settings, so the font is set after
the theme, and the minus sign is drawn as ASCII (CJK fonts lack U+2212).

Every figure carries its source and quarter in a caption (``caption``); labels come in
Chinese (default) or English through the ``lang`` parameter.
"""
from __future__ import annotations

import logging
from pathlib import Path

import matplotlib

matplotlib.use("Agg") if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline") else None
import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib import font_manager  # noqa: E402

from helpers.domain.dictionary import COUNTIES  # noqa: E402
from helpers.domain.labels import check_lang, label  # noqa: E402
from helpers.domain.quarters import label_zh  # noqa: E402

FONT_FILE = "NotoSansCJKsc-Regular.otf"
FONT_FAMILY = "Noto Sans CJK SC"
COUNTY_COLORS = dict(zip(COUNTIES, ("#1b6ca8", "#e07b39", "#3a9e5c", "#c2413b", "#7d5ba6")))
SOURCE = {"zh": "数据来源：巴中市各县（区）季度拉练报送数据，经工作簿清洗",
          "en": "Source: quarterly inspection submissions of Bazhong's county-level units, cleaned by the workbook"}


def font_path() -> Path:
    """The CJK font file shipped by mplfonts."""
    import mplfonts

    path = Path(mplfonts.__file__).parent / "fonts" / FONT_FILE
    if not path.exists():  # pragma: no cover - packaging problem
        raise FileNotFoundError(f"{path}: mplfonts does not ship {FONT_FILE}; reinstall mplfonts")
    return path


def use_style(lang: str = "zh", context: str = "notebook") -> None:
    """Apply the workbook's figure style (call once per notebook, before plotting)."""
    check_lang(lang)
    path = font_path()
    if FONT_FAMILY not in {f.name for f in font_manager.fontManager.ttflist}:
        font_manager.fontManager.addfont(str(path))
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    sns.set_theme(context=context, style="whitegrid", palette=list(COUNTY_COLORS.values()))
    # after set_theme, which resets fonts
    plt.rcParams.update({
        "font.family": "sans-serif",
        "font.sans-serif": [FONT_FAMILY, "DejaVu Sans"],
        "axes.unicode_minus": False,
        "figure.dpi": 110,
        "savefig.dpi": 150,
        "savefig.bbox": "tight",
        "axes.titleweight": "normal",      # the shipped CJK font has one weight: no fake bold, no warnings
        "axes.titlesize": 13,
        "figure.figsize": (8, 4.5),
    })


def county_label(county: str, lang: str = "zh") -> str:
    """A county's name (or the city's, 全市) in the report language, from the label catalogue."""
    return label("county", county, lang)


def county_palette(lang: str = "zh") -> dict[str, str]:
    """Colour per county, keyed by the label used in the chosen language."""
    return {county_label(c, lang): col for c, col in COUNTY_COLORS.items()}


def quarter_label(quarter: str, lang: str = "zh") -> str:
    """'2023年二季度' or '2023Q2'."""
    return label_zh(quarter) if lang == "zh" else quarter


def caption(fig, quarter: str, lang: str = "zh", note: str = "") -> None:
    """Put the source, the quarter and an optional note under the figure."""
    q = quarter_label(quarter, lang)
    text = f"{SOURCE[lang]}；{q}" if lang == "zh" else f"{SOURCE[lang]}; {q}"
    if note:
        text += ("；" if lang == "zh" else "; ") + note
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    to_fig = fig.transFigure.inverted()
    bottom = min([ax.get_tightbbox(renderer).transformed(to_fig).y0 for ax in fig.axes] + [0.0])
    fig.text(0.01, bottom - 0.03, text, ha="left", va="top", fontsize=8, color="#555555")


def show(path: Path):
    """The saved PNG for display in a notebook: what people see is exactly the file saved,
    embedded in the output (and so in HTML exports), whatever matplotlib backend runs. The
    figure's title, stored in the PNG by ``save``, becomes the image's alternative text."""
    from IPython.display import Image
    from PIL import Image as PILImage

    with PILImage.open(path) as png:
        title = png.text.get("Title", "")
    return Image(filename=str(path), metadata={"alt": title} if title else None)


def save(fig, path: Path) -> Path:
    """Save a figure as PNG (folders created) and close it; its title goes into the PNG's
    metadata (read back by ``show`` as the alternative text of the HTML exports)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    titles = [fig._suptitle.get_text()] if getattr(fig, "_suptitle", None) else []
    titles += [ax.get_title() for ax in fig.axes if ax.get_title()]
    fig.savefig(path, metadata={"Title": "；".join(titles)} if titles else None)
    plt.close(fig)
    return path
