"""The notice at the top of every page: when the data are the simulated sample, the reader is told so
before any number. Read from the processed manifest that intake wrote (``simulated``), never typed."""
from __future__ import annotations

from pathlib import Path

from helpers.store.storage import read_json

BANNER_STYLE = ("border:2px solid #b45309;background:#fffbeb;color:#78350f;padding:8px 12px;margin:4px 0 12px 0;"
                "font-weight:600;border-radius:4px")


def simulated_info(processed: Path) -> dict | None:
    """The simulator's record of the data behind the processed tables, or None for real submissions."""
    return read_json(Path(processed) / "manifest.json").get("simulated") or None


def banner_text(info: dict | None, lang: str = "zh") -> str:
    """One sentence saying the data are simulated ('' for real data)."""
    if not info:
        return ""
    n, first, last = info.get("households"), info.get("first"), info.get("last")
    if lang == "zh":
        return (f"注意：本页数据为模拟样本（由 workbook simulate 生成，{n:,} 户，{first}–{last}），不是真实的县区报送数据，"
                f"其中的数字和结论只用于演示和检验本工具。")
    return (f"Note: the data on this page are a simulated sample (written by workbook simulate, {n:,} households, "
            f"{first}–{last}), not real county submissions; its numbers and conclusions only demonstrate and test the tool.")


def banner(info: dict | None, lang: str = "zh"):
    """The banner to display at the top of a page (an HTML block; empty for real data). ``info``: the
    simulator's record (``simulated_info`` of the processed folder, or intake's reading of the raw folder)."""
    from IPython.display import HTML

    text = banner_text(info, lang)
    return HTML(f'<div class="simulated-banner" style="{BANNER_STYLE}">{text}</div>' if text else "")


def hand_run_note(interactive: bool, quarter: str, lang: str = "zh") -> str:
    """For a notebook run by hand in JupyterLab (``interactive``): which quarter it evaluates and where its results
    and figures go, so that nobody takes them for the published run's ('' in a ``workbook run``, whose pages are
    shared)."""
    if not interactive:
        return ""
    if lang == "zh":
        return (f"> 手动运行：评估 {quarter}（参数 `quarter` 为空时取 data/raw 中最新的季度）。本次的结果和图片写入 "
                f"`reports/interactive/{quarter}/`，不会替换 `workbook run` 发布的 `reports/{quarter}/`。")
    return (f"> Run by hand: evaluating {quarter} (an empty `quarter` parameter takes the latest quarter in data/raw). "
            f"Results and figures go to `reports/interactive/{quarter}/`; the published `reports/{quarter}/` of "
            "`workbook run` is not replaced.")


def hand_run(interactive: bool, quarter: str, lang: str = "zh"):
    """``hand_run_note`` as something to display: the note as Markdown in a hand run, nothing visible otherwise."""
    from IPython.display import HTML, Markdown

    text = hand_run_note(interactive, quarter, lang)
    return Markdown(text) if text else HTML("")
