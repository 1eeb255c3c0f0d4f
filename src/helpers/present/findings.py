"""What a sentence may claim (shared/spec/analysis.md, "What a sentence may claim").

Every sentence of the effects pages (03) and the report (04) that states a finding takes its
qualitative word from one of the predicates below, applied to the numbers the sentence is about;
no such word is typed into a notebook or a template. Each predicate is a plain function of numbers
(a row or a dict with ``att``, ``ci_low``, ``ci_high``, ...), knows no language and runs no
estimator; ``words(name, verdict, lang)`` gives the phrase each verdict reads as. Tested in both
directions with hand-made results in ``tests/test_findings.py``.
"""
from __future__ import annotations

import math
from collections.abc import Mapping

from helpers.analysis.program_effects import FEW_CLUSTERS  # noqa: E402  (the rule the results use too)
from helpers.domain.labels import pick
LEVEL = 0.05            # the level of every test a sentence reads


def _missing(x) -> bool:
    try:
        return x is None or math.isnan(float(x))
    except (TypeError, ValueError):
        return True


def _get(row, key, default=None):
    if isinstance(row, Mapping):
        return row.get(key, default)
    try:
        return row[key]
    except (KeyError, IndexError, TypeError):
        return getattr(row, key, default)


# ---- which interval a claim rests on ---------------------------------------------------------------------------
def few_clusters(row) -> bool:
    """The row's clustering has fewer than FEW_CLUSTERS clusters (its own intervals are too narrow)."""
    cluster, clusters = _get(row, "cluster", "household_id"), _get(row, "clusters", math.inf)
    if _missing(clusters):
        clusters = math.inf
    return bool(cluster not in (None, "", "household_id") and clusters < FEW_CLUSTERS)


# Below this many clusters no test is judged at all: a leave-one-cluster-out jackknife with two clusters is a t test
# on one degree of freedom resting on two estimates, and a wild bootstrap has 2^G or 6^G sign draws (one reviewer saw
# "significant" at p = 0.012 with two counties).
MIN_CLUSTERS_TO_JUDGE = 3


def headline_interval(row) -> tuple[float, float, str]:
    """The interval a claim rests on: the row's own, or with fewer than FEW_CLUSTERS clusters the
    few-cluster check's (basis ''/'few_cluster'/'none' says which; 'too_few' with fewer than
    MIN_CLUSTERS_TO_JUDGE clusters, where no interval is used)."""
    clusters = _get(row, "clusters", math.inf)
    if few_clusters(row) and not _missing(clusters) and clusters < MIN_CLUSTERS_TO_JUDGE:
        return math.nan, math.nan, "too_few"
    if few_clusters(row):
        lo, hi = _get(row, "ci_county_low", math.nan), _get(row, "ci_county_high", math.nan)
        if _missing(lo) or _missing(hi):
            return math.nan, math.nan, "none"
        return lo, hi, "few_cluster"
    return _get(row, "ci_low"), _get(row, "ci_high"), ""


# ---- the predicates ------------------------------------------------------------------------------------------
def significant(lo: float, hi: float) -> bool | None:
    """The 95% interval excludes zero (None when there is no interval)."""
    if _missing(lo) or _missing(hi):
        return None
    return bool(lo > 0 or hi < 0)


def robust_estimates_agree(a, b) -> bool | None:
    """The two robust estimates agree: each lies within the other's 95% interval, the intervals a
    significance claim would use (``headline_interval``); None when one has no interval."""
    (a_lo, a_hi, _), (b_lo, b_hi, _) = headline_interval(a), headline_interval(b)
    if any(_missing(x) for x in (a_lo, a_hi, b_lo, b_hi, _get(a, "att"), _get(b, "att"))):
        return None
    return bool(b_lo <= _get(a, "att") <= b_hi and a_lo <= _get(b, "att") <= a_hi)


def twfe_position(twfe_att: float, robust) -> str:
    """TWFE below / above / inside the robust estimate's 95% interval ('below', 'above', 'inside';
    '' without an interval). 'inside' reads as "close to the robust estimate"."""
    lo, hi = _get(robust, "ci_low"), _get(robust, "ci_high")
    if _missing(lo) or _missing(hi) or _missing(twfe_att):
        return ""
    return "below" if twfe_att < lo else "above" if twfe_att > hi else "inside"


def trend_direction(trend) -> str:
    """Effects grow / fade / stay: the slope of the post-start event-time effects with its 95% interval
    above zero / below zero / containing zero ('' when it cannot be computed)."""
    lo, hi = _get(trend, "ci_low"), _get(trend, "ci_high")
    if _missing(lo) or _missing(hi):
        return ""
    return "grows" if lo > 0 else "fades" if hi < 0 else "stays"


def forbidden_comparisons(position: str, trend: str) -> str:
    """Whether the gap between TWFE and the robust estimate is the one forbidden comparisons (already
    supported households used as controls) produce: TWFE below the robust interval while effects grow
    ('understates'), or above it while effects fade ('overstates'); '' otherwise (no explanation given)."""
    if position == "below" and trend == "grows":
        return "understates"
    if position == "above" and trend == "fades":
        return "overstates"
    return ""


def pretrends(pre) -> str:
    """The joint pre-start test at 5%: 'no_evidence' (p >= 0.05), 'diverging' (p < 0.05), or 'untestable'
    when p is NaN (a singular covariance, too few clusters or treated households: ``pre['reason']``)."""
    p = _get(pre, "pvalue")
    if _missing(p):
        return "untestable"
    return "diverging" if p < LEVEL else "no_evidence"


def intervals_overlap(a, b) -> bool:
    """Two 95% intervals overlap (a difference between them may be noise)."""
    return bool(_get(a, "ci_low") <= _get(b, "ci_high") and _get(b, "ci_low") <= _get(a, "ci_high"))


def staggered_starts(cohort_sizes) -> bool:
    """Households started support in more than one quarter (the reason for the staggered-start estimators)."""
    return sum(1 for n in cohort_sizes if n and n > 0) > 1


def gap_direction(value: float, lo: float = math.nan, hi: float = math.nan) -> str:
    """A difference (e.g. of two growth rates) above / below zero: 'higher' / 'lower' when its 95%
    interval excludes zero (or, without an interval, by its sign: 'higher_point' / 'lower_point'),
    'unclear' when the interval contains zero, '' without a value."""
    if _missing(value):
        return ""
    if _missing(lo) or _missing(hi):
        return "higher_point" if value > 0 else "lower_point" if value < 0 else "unclear"
    return "higher" if lo > 0 else "lower" if hi < 0 else "unclear"


def rank_settled(row, stable_share: float = 1.0) -> bool | None:
    """A county keeps its rank in at least ``stable_share`` of the weight draws of the stability check (the
    rule of ``analysis.composite.ranks_stable``, config/composite.yaml ``stability.stable_share``, so 02 and
    04 say the same); with ``stable_share`` 1, best rank = worst rank. None without the check."""
    share = _get(row, "rank_stability")
    if not _missing(share) and stable_share < 1.0:
        return bool(share >= stable_share)
    best, worst = _get(row, "rank_best"), _get(row, "rank_worst")
    if _missing(best) or _missing(worst):
        return None
    return bool(best == worst)


def county_check(sig: bool | None, p_county: float) -> str:
    """Whether the county-level few-cluster check bears out a significant headline: 'confirms' (p < 0.05),
    'doubts' (the headline is significant by its own clustering but the county-level p is 0.05 or more), or ''
    (no headline significance to check, or no county-level p)."""
    if sig is not True or _missing(p_county):
        return ""
    return "confirms" if p_county < LEVEL else "doubts"


def submission_shrank(now: float, before: float) -> bool:
    """A county sent less than half as many rows as the quarter before (a submission that may be incomplete)."""
    return not _missing(now) and not _missing(before) and before > 0 and now < 0.5 * before


def change_direction(now: float, before: float, resolution: float = 0.001) -> str:
    """A value against an earlier one at the precision it is shown with ('up', 'down', 'same'; '' without both):
    a change smaller than ``resolution`` (0.001 = 0.1 percentage point for a share) reads as 'same'. A point
    comparison of two published values, not a test: sentences built on it say "from a to b", never "significantly"."""
    if _missing(now) or _missing(before):
        return ""
    if round(float(now) / resolution) == round(float(before) / resolution):
        return "same"
    return "up" if now > before else "down"


# ---- the words each verdict reads as ------------------------------------------------------------------------
# These stay here, not in the label catalogue (helpers.domain.labels): they are pieces of the sentences that
# state a finding, each next to the predicate whose verdict it reads, not names of things.
WORDS: dict[str, dict] = {
    "significant": {True: ("统计上显著", "statistically significant"),
                    False: ("统计上不显著，不能排除没有效果", "not statistically significant: no effect cannot be ruled out"),
                    None: ("没有可用的置信区间，不判断显著性", "no interval: significance is not judged")},
    "agree": {True: ("两种稳健方法一致（各自落在对方的95%置信区间内）",
                     "the two robust estimates agree (each lies in the other's 95% CI)"),
              False: ("两种稳健方法不一致（至少一个落在对方的95%置信区间外），结论需谨慎",
                      "the two robust estimates disagree (one lies outside the other's 95% CI): read with care"),
              None: ("两种稳健方法无法比较（至少一个没有置信区间）",
                     "the two robust estimates cannot be compared (one has no interval)")},
    "twfe": {"below": ("低于稳健估计的95%置信区间", "below the robust estimate's 95% CI"),
             "above": ("高于稳健估计的95%置信区间", "above the robust estimate's 95% CI"),
             "inside": ("落在稳健估计的95%置信区间内，与稳健估计接近", "inside the robust estimate's 95% CI, close to it"),
             "": ("无法与稳健估计比较", "cannot be compared with the robust estimate")},
    "forbidden": {"understates": ("帮扶效果随时间增长时，它把较早开始帮扶的农户当作对照，会低估效果",
                                  "with effects that grow over time it uses earlier-supported households as controls "
                                  "and understates them"),
                  "overstates": ("帮扶效果随时间减弱时，它把较早开始帮扶的农户当作对照，会高估效果",
                                 "with effects that fade over time it uses earlier-supported households as controls "
                                 "and overstates them"),
                  "": ("", "")},
    "trend": {"grows": ("效应随开始后的季度增大", "the effect grows with time since start"),
              "fades": ("效应随开始后的季度减弱", "the effect fades with time since start"),
              "stays": ("没有证据表明效应随开始后的季度增大或减弱",
                        "no evidence that the effect grows or fades with time since start"),
              "": ("开始后的季度太少（或区间无法计算），无法判断效应是否随时间变化",
                   "too few quarters after start (or no interval) to tell whether the effect changes over time")},
    "pretrends": {"no_evidence": ("在5%水平上没有发现两组农户开始帮扶前收入走势不同的证据",
                                  "no evidence at 5% that the groups' incomes were already diverging"),
                  "diverging": ("在5%水平上两组农户开始帮扶前的走势已不同，需警惕平行趋势不成立",
                                "at 5% the groups were already diverging before support; parallel trends are in doubt"),
                  "untestable": ("无法检验", "cannot be tested")},
    "county_check": {"confirms": ("", ""),
                     "doubts": ("但只按县区聚类时不显著（p ≥ 0.05）：县区只有几个，效应是否存在需谨慎看待",
                                "but not when clustered by county alone (p ≥ 0.05): with this few counties, read the "
                                "effect with care"),
                     "": ("", "")},
    "overlap": {True: ("两者的置信区间重叠，差异可能只是抽样波动", "their intervals overlap, so the difference may be noise"),
                False: ("两者的置信区间不重叠", "their intervals do not overlap")},
    "gap": {"higher": ("高", "higher"), "lower": ("低", "lower"), "higher_point": ("高", "higher"),
            "lower_point": ("低", "lower"), "unclear": ("差异在统计上不显著", "not distinguishable"), "": ("", "")},
}


CHANGE = {"up": ("从 {a} 升至 {b}", "rose from {a} to {b}"), "down": ("从 {a} 降至 {b}", "fell from {a} to {b}"),
          "same": ("从 {a} 持平", "stayed at {a}")}


def change_phrase(way: str, a: str, b: str, lang: str = "zh") -> str:
    """The words of a ``change_direction`` verdict with the two values as shown: '从 2.8% 降至 2.6%'."""
    return pick(CHANGE[way], lang).format(a=a, b=b)


def words(predicate: str, verdict, lang: str = "zh") -> str:
    """The phrase a predicate's verdict reads as, in the report language."""
    return pick(WORDS[predicate][verdict], lang)


__all__ = ["FEW_CLUSTERS", "LEVEL", "few_clusters", "headline_interval", "significant", "robust_estimates_agree",
           "twfe_position", "trend_direction", "forbidden_comparisons", "pretrends", "intervals_overlap",
           "staggered_starts", "gap_direction", "rank_settled", "change_direction",
           "county_check", "submission_shrank", "change_phrase", "words", "WORDS"]
