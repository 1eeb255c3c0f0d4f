"""Tables, figures and sentences of the intake notebook (01_intake): what came in, what was set aside.

Everything here works on the shared tables (intake_log, quarantine) and shows counts
only: household-level rows stay in ``private/<quarter>/``.
"""
from __future__ import annotations

import re

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.ticker import MaxNLocator

from helpers.present import figures
from helpers.present.display import disclose_value
from helpers.domain.dictionary import COUNTIES
from helpers.domain.labels import label
from helpers.domain.reasons import sentence


def _h(key: str, lang: str) -> str:
    return label("header", key, lang)


def reason_label(code: str, lang: str = "zh") -> str:
    """A quarantine reason's short name (label catalogue)."""
    return label("reason", code, lang)


# The reasons' sentences are written for the quarantine file, whose "detail" column readers of a report do not see.
_FOR_READERS = {"（详见 detail 列）": "（暂存清单写明是哪一列、哪个值）",
                "(see the detail column)": "(the list of rows set aside names the column and the value)"}


def reason_sentence(code: str, lang: str = "zh") -> str:
    """What a reason code means, for readers of the report."""
    text = sentence(code, lang)
    for old, new in _FOR_READERS.items():
        text = text.replace(old, new)
    return text


def _count(v) -> str:
    """A count as shared pages show it (analysis.md: under 5 shows "<5")."""
    return disclose_value("count", float(v))


def rows_by_county(log: pd.DataFrame, quarter: str, lang: str = "zh") -> pd.DataFrame:
    """Rows in, clean and set aside per county and sheet for the quarter, with a total row."""
    q = log[log["quarter"] == quarter]
    t = q.groupby(["county", "sheet"])[["rows_in", "rows_clean", "rows_quarantined"]].sum().reset_index()
    t["county"] = pd.Categorical(t["county"], COUNTIES, ordered=True)
    t = t.sort_values(["county", "sheet"])
    total = t[["rows_in", "rows_clean", "rows_quarantined"]].sum()
    t["county"] = t["county"].astype(str).map(lambda c: figures.county_label(c, lang))
    t["sheet"] = t["sheet"].map(lambda s: label("sheet", s, lang))
    t = pd.concat([t, pd.DataFrame([{"county": _h("total", lang), "sheet": "", **total}])], ignore_index=True)
    t["share"] = (t["rows_quarantined"] / t["rows_in"].where(t["rows_in"] > 0)).map(
        lambda x: "—" if pd.isna(x) else f"{x:.1%}")
    for c in ("rows_in", "rows_clean", "rows_quarantined"):
        t[c] = t[c].map(_count)                           # thousands separators, totals included; "<5" below 5
    t = t.rename(columns={k: _h(k, lang) for k in t.columns})
    return t.set_index([_h("county", lang), _h("sheet", lang)])


def reasons_table(quarantine: pd.DataFrame, quarter: str, lang: str = "zh") -> pd.DataFrame:
    """Rows set aside by reason and county, with what each reason means."""
    q = quarantine[quarantine["quarter"] == quarter]
    if q.empty:
        return pd.DataFrame({_h("reason", lang): [], _h("n", lang): []})
    t = q.pivot_table(index="reason", columns="county", values="row", aggfunc="count", fill_value=0)
    t = t.reindex(columns=[c for c in COUNTIES if c in t.columns])
    t[_h("n", lang)] = t.sum(axis=1)
    t = t.sort_values(_h("n", lang), ascending=False)
    t[_h("explanation", lang)] = [reason_sentence(r, lang) for r in t.index]
    counts = [c for c in t.columns if c != _h("explanation", lang)]
    t[counts] = t[counts].map(_count)                     # the disclosure rule: counts under 5 show "<5"
    t.index = [reason_label(r, lang) for r in t.index]
    t.index.name = _h("reason", lang)
    t.columns = [figures.county_label(c, lang) if c in COUNTIES else c for c in t.columns]
    return t


def plot_rows(log: pd.DataFrame, quarter: str, lang: str = "zh"):
    """Stacked bars: households' rows clean and set aside, per county (农户监测 sheet)."""
    q = log[(log["quarter"] == quarter) & (log["sheet"] == "农户监测")]
    t = q.groupby("county")[["rows_clean", "rows_quarantined"]].sum().reindex([c for c in COUNTIES if c in set(q["county"])])
    fig, ax = plt.subplots(figsize=(8, 4))
    labels = [figures.county_label(c, lang) for c in t.index]
    ax.bar(labels, t["rows_clean"], color=[figures.COUNTY_COLORS[c] for c in t.index])
    ax.bar(labels, t["rows_quarantined"], bottom=t["rows_clean"], color="#bbbbbb", label=_h("rows_quarantined", lang))
    for i, (c, qn) in enumerate(zip(t["rows_clean"], t["rows_quarantined"])):
        ax.text(i, c + qn, _count(qn), ha="center", va="bottom", fontsize=9)
    ax.set_title(("各县（区）农户监测表：入库与暂存行数" if lang == "zh" else "Household rows: clean and set aside, by county"))
    ax.set_ylabel(_h("n", lang))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))      # rows are whole numbers
    ax.set_ylim(0, 1.12 * max(float((t["rows_clean"] + t["rows_quarantined"]).max()), 1.0))
    # the legend outside the plot, right of the bars, so that it never covers one
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=9)
    figures.caption(fig, quarter, lang, "灰色为暂存行，数字为暂存行数" if lang == "zh" else "grey: rows set aside (number on top)")
    return fig


def plot_reasons(quarantine: pd.DataFrame, quarter: str, lang: str = "zh"):
    """Horizontal bars: rows set aside by reason, all counties together; a reason with fewer than 5 rows is not
    drawn (its bar would show a count the disclosure rule hides; the table above says "<5"). The split by county
    is in the table."""
    q = quarantine[quarantine["quarter"] == quarter]
    n = q["reason"].value_counts()
    shown = n[n >= 5].sort_values()
    fig, ax = plt.subplots(figsize=(8, 0.45 * max(len(shown), 3) + 1.5))
    ax.barh([reason_label(r, lang) for r in shown.index], shown.to_numpy(), color="#1b6ca8")
    for i, v in enumerate(shown.to_numpy()):
        ax.text(v, i, f" {v:,}", va="center", fontsize=9)
    if shown.empty:
        ax.text(0.5, 0.5, "没有达到5行的暂存原因" if lang == "zh" else "No reason with 5 rows or more",
                transform=ax.transAxes, ha="center", va="center", color="#555555")
    ax.set_title("暂存原因（全市）" if lang == "zh" else "Why rows were set aside (all counties)")
    ax.set_xlabel(_h("n", lang))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    hidden = int((n < 5).sum())
    note = (f"{hidden} 个少于5行的原因未画出（披露规则），见上表" if lang == "zh" else
            f"{hidden} reason(s) with fewer than 5 rows not drawn (disclosure rule): see the table") if hidden else ""
    figures.caption(fig, quarter, lang, note)
    return fig


def plot_quality_trend(log: pd.DataFrame, quarter: str, lang: str = "zh"):
    """Share of household rows set aside, by quarter and county."""
    q = log[(log["sheet"] == "农户监测") & (log["quarter"] <= quarter)]
    t = q.groupby(["quarter", "county"])[["rows_in", "rows_quarantined"]].sum().reset_index()
    t["share"] = 100 * t["rows_quarantined"] / t["rows_in"]
    fig, ax = plt.subplots(figsize=(8, 4))
    for c in [c for c in COUNTIES if c in set(t["county"])]:
        s = t[t["county"] == c]
        ax.plot(s["quarter"], s["share"], marker="o", color=figures.COUNTY_COLORS[c], label=figures.county_label(c, lang))
    ax.set_ylabel(_h("share_set_aside_pct", lang))
    ax.set_ylim(bottom=0)
    ax.set_title("农户监测表暂存比例的季度变化" if lang == "zh" else "Share of household rows set aside, by quarter")
    ax.tick_params(axis="x", rotation=45)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False, fontsize=9)
    figures.caption(fig, quarter, lang)
    return fig


def describe_rows(log: pd.DataFrame, quarter: str, lang: str = "zh") -> str:
    """One sentence on what came in this quarter, and a warning for every county whose household rows fell to less
    than half of the previous quarter's (``findings.submission_shrank``: the submission may be incomplete)."""
    from helpers.present.findings import submission_shrank

    h = log[log["sheet"] == "农户监测"]
    q = h[h["quarter"] == quarter]
    n_in, n_q = int(q["rows_in"].sum()), int(q["rows_quarantined"].sum())
    share = q.groupby("county")[["rows_quarantined", "rows_in"]].sum()
    share = (share["rows_quarantined"] / share["rows_in"]).sort_values()
    worst, best = share.index[-1], share.index[0]
    k = len(share)
    earlier = sorted(x for x in h["quarter"].unique() if x < quarter)
    before = h[h["quarter"] == earlier[-1]].groupby("county")["rows_in"].sum() if earlier else pd.Series(dtype=float)
    now = q.groupby("county")["rows_in"].sum()
    shrank = [c for c in COUNTIES if c in now.index and c in before.index and submission_shrank(now[c], before[c])]
    name = lambda c: figures.county_label(c, lang)  # noqa: E731
    if lang == "zh":
        s = (f"{figures.quarter_label(quarter)}{k} 个县区共报送农户监测数据 {n_in:,} 行，入库 {n_in - n_q:,} 行，"
             f"暂存 {_count(n_q)} 行（{n_q / max(n_in, 1):.1%}）。暂存比例最高的是{name(worst)}（{share[worst]:.1%}），"
             f"最低的是{name(best)}（{share[best]:.1%}）。")
        s += "".join(f"{name(c)}本季度只报送 {_count(now[c])} 行（上季度 {_count(before[c])} 行），报送可能不完整，请核实。"
                     for c in shrank)
        return s
    s = (f"In {quarter} {k} counties sent {n_in:,} household rows: {n_in - n_q:,} clean and {_count(n_q)} set aside "
         f"({n_q / max(n_in, 1):.1%}). The highest share set aside is {name(worst)} ({share[worst]:.1%}), the lowest "
         f"{name(best)} ({share[best]:.1%}).")
    s += "".join(f" {name(c)} sent only {_count(now[c])} rows (the quarter before: {_count(before[c])}): the submission "
                 "may be incomplete; please check." for c in shrank)
    return s


def describe_reasons(quarantine: pd.DataFrame, quarter: str, lang: str = "zh") -> str:
    """One sentence on the main reasons rows were set aside."""
    q = quarantine[quarantine["quarter"] == quarter]
    if q.empty:
        return "本季度没有暂存行。" if lang == "zh" else "No rows were set aside this quarter."
    top = q["reason"].value_counts()
    parts = [f"{reason_label(r, lang)} {_count(n)}" for r, n in top.head(3).items()]
    if lang == "zh":
        return (f"暂存最多的原因是：{'、'.join(parts)} 行。户编码无效和收入分项不符的行需县区核实后在 "
                f"data/corrections.csv 中更正或重新报送；暂存行清单（含户编码）在 private/{quarter}/quarantine.csv。")
    return (f"The main reasons: {', '.join(parts)} rows. Rows with bad household codes or income parts need the county "
            f"to check them, then a line in data/corrections.csv or a new submission; the list with household codes "
            f"is in private/{quarter}/quarantine.csv.")


_DETAIL_EN = re.compile(r"^(extra columns ignored|duplicated columns, the first one read): (.*)$", re.S)


def warning_text(message: str, lang: str = "zh") -> str:
    """One intake warning (``"where: 中文 / English"``) in the report's language only."""
    where, sep, rest = message.partition(": ")
    if not sep or " / " not in rest:
        return message
    zh, en = rest.split(" / ", 1)
    if lang == "zh":
        m = _DETAIL_EN.match(en)             # the column names follow the English half only
        return f"{where}：{zh}" + (f"：{m.group(2)}" if m else "")
    return f"{where}: {en}"


def describe_warnings(warnings: list[str], quarter: str, lang: str = "zh") -> str:
    """The quarter's file-level warnings as a Markdown list in the report's language."""
    mine = [w for w in warnings if quarter in w]
    if not mine:
        return "本季度没有文件级提示。" if lang == "zh" else "No file-level warnings this quarter."
    return "\n".join(f"- {warning_text(w, lang)}" for w in mine)


def describe_intake(summary, lang: str = "zh") -> str:
    """What the intake run did, for readers: quarters read again and from the cache (no paths, no key)."""
    first, last = summary.quarters[0], summary.quarter
    n_new, n_cached = len(summary.processed), len(summary.cached)
    span = f"{figures.quarter_label(first)}至{figures.quarter_label(last)}" if lang == "zh" else f"{first} to {last}"
    if n_new == 0:                 # e.g. in a run, whose intake step has just built every quarter
        return (f"本次入库覆盖{span}：{n_cached} 个季度的表格均已是最新（由本次运行的入库步骤或之前的入库生成），无需重新读取。"
                if lang == "zh" else
                f"Intake covers {span}: the tables of all {n_cached} quarters are up to date (built by this run's intake "
                "step or an earlier one), so nothing is read again.")
    if lang == "zh":
        return f"本次入库覆盖{span}：重新读取 {n_new} 个季度，{n_cached} 个未变化的季度直接使用缓存。"
    return f"Intake covers {span}: {n_new} quarters read again, {n_cached} unchanged quarters from the cache."


def describe_quality_trend(log: pd.DataFrame, quarter: str, lang: str = "zh") -> str:
    """What the quality-trend figure shows: each county's share of household rows set aside against the previous
    quarter (``findings.change_direction`` at the 0.1 percentage point the sentence shows), and the city's."""
    from helpers.present.findings import change_direction, change_phrase

    q = log[(log["sheet"] == "农户监测") & (log["quarter"] <= quarter)]
    quarters = sorted(q["quarter"].unique())
    zh = lang == "zh"
    if len(quarters) < 2 or quarters[-1] != quarter:
        return "只有一个季度的数据，还看不出变化。" if zh else "One quarter only: no change to read yet."
    prev = quarters[-2]
    t = q[q["quarter"].isin([prev, quarter])].groupby(["quarter", "county"])[["rows_in", "rows_quarantined"]].sum()
    share = (t["rows_quarantined"] / t["rows_in"]).unstack("quarter")
    city = t.groupby("quarter").sum()
    city = city["rows_quarantined"] / city["rows_in"]
    moved = {d: [figures.county_label(c, lang) for c in COUNTIES if c in share.index
                 and change_direction(share.loc[c, quarter], share.loc[c, prev]) == d] for d in ("up", "down")}
    way = change_direction(city[quarter], city[prev])
    a, b = f"{city[prev]:.1%}", f"{city[quarter]:.1%}"
    sep = "、" if zh else ", "
    if zh:
        s = f"与{figures.quarter_label(prev)}相比，全市暂存比例{change_phrase(way, a, b, lang)}"
        s += "".join(f"；暂存比例{'上升' if d == 'up' else '下降'}的有{sep.join(v)}" for d, v in moved.items() if v)
        return s + "。暂存比例上升的县区需要在下次拉练前核查填报流程。"
    s = f"Against {prev}, the city's share set aside {change_phrase(way, a, b, lang)}"
    s += "".join(f"; {'up' if d == 'up' else 'down'}: {sep.join(v)}" for d, v in moved.items() if v)
    return s + ". Counties whose share rose should check how they fill in the sheets before the next inspection."


def quality_table(qual: pd.DataFrame, quarter: str, lang: str = "zh") -> pd.DataFrame:
    """The quarter's data-quality score per county (``analysis.quality``) with its four parts and what lies
    behind them (rows set aside, sheets and optional columns missing, rows the city corrected)."""
    from helpers.analysis.quality import COMPONENTS

    q = qual[qual["quarter"] == quarter].copy()
    q["county"] = pd.Categorical(q["county"], COUNTIES, ordered=True)
    q = q.sort_values("county")
    out = pd.DataFrame({_h("county", lang): [figures.county_label(c, lang) for c in q["county"].astype(str)]})
    out[_h("quality_score", lang)] = [f"{100 * v:.1f}" for v in q["score"]]
    for c in COMPONENTS:
        out[_h(c, lang)] = [f"{100 * v:.1f}" for v in q[c]]
    out[_h("rows_quarantined", lang)] = q["rows_set_aside"].map(_count).to_numpy()
    out[_h("sheets_missing", lang)] = q["sheets_missing"].to_numpy()
    out[_h("optional_absent", lang)] = q["optional_absent"].to_numpy()
    out[_h("corrections", lang)] = q["corrections"].map(_count).to_numpy()
    return out.set_index(out.columns[0])


def plot_quality_score(qual: pd.DataFrame, quarter: str, lang: str = "zh"):
    """Each county's data-quality score by quarter (``analysis.quality``)."""
    q = qual[qual["quarter"] <= quarter]
    fig, ax = plt.subplots(figsize=(8, 4))
    for c in [c for c in COUNTIES if c in set(q["county"])]:
        s = q[q["county"] == c]
        ax.plot(s["quarter"], 100 * s["score"], marker="o", color=figures.COUNTY_COLORS[c], label=figures.county_label(c, lang))
    ax.set_ylabel(_h("quality_score", lang))
    ax.set_ylim(min(90.0, float(100 * q["score"].min()) - 1) if len(q) else 90.0, 100.5)
    ax.set_title("各县区数据质量得分的季度变化" if lang == "zh" else "Data-quality score by county and quarter")
    ax.tick_params(axis="x", rotation=45)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False, fontsize=9)
    figures.caption(fig, quarter, lang, "得分为四项比例的均值（见上表）" if lang == "zh"
                    else "the score is the mean of the four shares (table above)")
    return fig


def describe_quality(qual: pd.DataFrame, quarter: str, lang: str = "zh") -> str:
    """Which county's submission was cleanest and which least, what pulled the lowest score down (its weakest
    part), and whether the city's score rose or fell against the previous quarter (at the 0.1 point shown)."""
    from helpers.analysis.quality import COMPONENTS
    from helpers.present.findings import change_direction, change_phrase

    q = qual[qual["quarter"] == quarter].set_index("county")
    if not len(q):
        return "本季度没有报送数据。" if lang == "zh" else "Nothing was sent this quarter."
    best, worst = q["score"].idxmax(), q["score"].idxmin()
    weakest = min(COMPONENTS, key=lambda c: q.loc[worst, c])
    name = lambda c: figures.county_label(c, lang)  # noqa: E731
    pct = lambda v: f"{100 * v:.1f}"  # noqa: E731
    earlier = sorted(x for x in qual["quarter"].unique() if x < quarter)
    zh = lang == "zh"
    if q["score"].max() - q["score"].min() < 0.0005:
        s = (f"各县区数据质量得分相同（{pct(q['score'].iloc[0])}）。" if zh
             else f"Every county scores the same ({pct(q['score'].iloc[0])}). ")
    elif zh:
        s = (f"数据质量得分最高的是{name(best)}（{pct(q.loc[best, 'score'])}），最低的是{name(worst)}"
             f"（{pct(q.loc[worst, 'score'])}），拉低它的主要是“{_h(weakest, lang).split('（')[0]}”"
             f"（{pct(q.loc[worst, weakest])}%）。")
    else:
        s = (f"Highest data-quality score: {name(best)} ({pct(q.loc[best, 'score'])}); lowest: {name(worst)} "
             f"({pct(q.loc[worst, 'score'])}), pulled down mostly by “{_h(weakest, lang).split(' (')[0]}” "
             f"({pct(q.loc[worst, weakest])}%). ")
    if earlier:
        prev = qual[qual["quarter"] == earlier[-1]]
        a, b = prev["score"].mean(), q["score"].mean()
        way = change_direction(b, a)
        s += (f"与{figures.quarter_label(earlier[-1])}相比，各县区平均得分{change_phrase(way, pct(a), pct(b), lang)}。" if zh
              else f"Against {earlier[-1]}, the counties' mean score {change_phrase(way, pct(a), pct(b), lang)}.")
    s += ("得分只用于数据质量反馈；它在综合评比中的权重默认为 0（config/composite.yaml），不影响名次。" if zh
          else " The score serves feedback on data quality; its weight in the county comparison is 0 by default "
               "(config/composite.yaml), so it does not change the ranks.")
    return s


def describe_feedback(n_files: int, quarter: str, lang: str = "zh") -> str:
    """That the counties' checklists were written, and where (a folder of the project, never a local path)."""
    if lang == "zh":
        return (f"已为 {n_files} 个县区写出 {quarter} 核实清单（`private/{quarter}/反馈/`），请发给各县区核实整改；"
                "清单含户编码，不得放入共享报告。")
    return (f"Checklists for {n_files} counties written for {quarter} (`private/{quarter}/反馈/`): send each to its "
            "county to check and fix. They hold household codes and never go into shared reports.")
