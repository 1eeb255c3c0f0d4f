"""The county comparison (综合评比): composite score, ranking and rank stability (analysis.md).

Each indicator in config/composite.yaml is min-max normalized across the counties in its
direction (best county 1, worst 0; all equal gives 1), then weighted. A county with no value
for an indicator (unknown or no data) is scored on the others, its weights renormalized, and
the table says so. Rank stability: in each of ``draws`` draws every weight is multiplied by a
uniform factor in [low, high] and renormalized; the share of draws in which a county keeps its
rank, and its best and worst rank, show how much the ranking depends on the weights.

Whether a sentence may call the ranking insensitive to the weights is decided by one named
predicate, ``ranks_stable``: every county keeps its rank in at least ``stability.stable_share``
of the draws (config/composite.yaml; a county whose rank range has width 0 keeps it in all).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from helpers.config import CONFIG_DIR
from helpers.analysis.indicators import ALL, CITY, INDICATORS, judgeable


def load_spec(path: Path | None = None) -> dict:
    """config/composite.yaml, checked: known indicators, directions +1/-1, positive weights."""
    with open(path or CONFIG_DIR / "composite.yaml", encoding="utf-8") as fh:
        spec = yaml.safe_load(fh)
    for item in spec["indicators"]:
        if item["key"] not in INDICATORS:
            raise ValueError(f"{path or 'config/composite.yaml'}: unknown indicator {item['key']!r}; "
                             f"choose from {sorted(INDICATORS)}")
        if item["direction"] not in (1, -1) or not item["weight"] >= 0:
            raise ValueError(f"{item['key']}: direction must be 1 or -1 and weight 0 or positive")
    if not any(item["weight"] > 0 for item in spec["indicators"]):
        raise ValueError(f"{path or 'config/composite.yaml'}: at least one indicator needs a positive weight")
    share = (spec.get("stability") or {}).get("stable_share", STABLE_SHARE_DEFAULT)
    if not 0 < float(share) <= 1:
        raise ValueError(f"stability.stable_share must lie in (0, 1], not {share!r}")
    return spec


STABLE_SHARE_DEFAULT = 0.95     # used only when config/composite.yaml has no stability.stable_share


def stability_settings(spec: dict) -> dict:
    """The rank-stability settings of the spec with their defaults: draws, low, high, seed, stable_share."""
    st = spec.get("stability", {}) or {}
    return {"draws": int(st.get("draws", 1000)), "low": float(st.get("low", 0.8)), "high": float(st.get("high", 1.2)),
            "seed": st.get("seed", 20230711), "stable_share": float(st.get("stable_share", STABLE_SHARE_DEFAULT))}


def unstable_counties(rank: pd.DataFrame, stable_share: float) -> pd.DataFrame:
    """The counties whose rank moves with the weights: kept in fewer than ``stable_share`` of the draws."""
    return rank[rank["rank_stability"] < stable_share]


def ranks_stable(rank: pd.DataFrame, stable_share: float) -> bool:
    """The predicate behind “名次对权重不敏感 / ranks do not depend on the weights”: every county keeps
    its rank in at least ``stable_share`` of the weight draws (rank range of width 0 means all of them)."""
    return unstable_counties(rank, stable_share).empty


def normalized(indicators: pd.DataFrame, quarter: str, spec: dict) -> pd.DataFrame:
    """County x indicator matrix of min-max normalized scores (NaN where a county has no value)."""
    t = indicators[(indicators["quarter"] == quarter) & (indicators["category"] == ALL) &
                   (indicators["county"] != CITY) & (indicators["status"] == "ok")]
    t = t[judgeable(t)]                                   # a rate on too few households is not ranked on (missing)
    raw = t.pivot_table(index="county", columns="indicator", values="value", aggfunc="first")
    counties = sorted(indicators.loc[indicators["county"] != CITY, "county"].unique())
    raw = raw.reindex(index=counties, columns=[i["key"] for i in spec["indicators"]])
    out = pd.DataFrame(index=raw.index)
    for item in spec["indicators"]:
        x = raw[item["key"]]
        lo, hi = x.min(), x.max()
        if pd.isna(lo):
            out[item["key"]] = np.nan
        elif hi == lo:
            out[item["key"]] = np.where(x.notna(), 1.0, np.nan)
        else:
            s = (x - lo) / (hi - lo)
            out[item["key"]] = s if item["direction"] == 1 else 1 - s
    return out


def _scores(norm: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted scores with weights renormalized over each county's available indicators (weights: draws x k)."""
    avail = ~np.isnan(norm)
    filled = np.where(avail, norm, 0.0)
    num = weights @ filled.T                      # draws x counties
    den = weights @ avail.T.astype(float)
    return num / den


def _ranks(scores: np.ndarray) -> np.ndarray:
    """Rank 1 = highest score, per row."""
    order = np.argsort(-scores, axis=1, kind="stable")
    ranks = np.empty_like(order)
    rows = np.arange(scores.shape[0])[:, None]
    ranks[rows, order] = np.arange(1, scores.shape[1] + 1)
    return ranks


def ranking(indicators: pd.DataFrame, quarter: str, spec: dict | None = None) -> pd.DataFrame:
    """Composite score, rank, components and rank stability per county. An indicator of weight 0 is shown
    (its ``score_`` column) but takes no part in the score, the ranks, the weight draws or the count of missing
    indicators, so adding one at weight 0 changes nothing else."""
    spec = spec or load_spec()
    shown = normalized(indicators, quarter, spec)
    spec = {**spec, "indicators": [i for i in spec["indicators"] if i["weight"] > 0]}
    norm = shown[[i["key"] for i in spec["indicators"]]]
    w = np.array([i["weight"] for i in spec["indicators"]], dtype=float)
    w = w / w.sum()
    base = _scores(norm.to_numpy(), w[None, :])[0]
    base_rank = _ranks(base[None, :])[0]
    st = stability_settings(spec)
    rng = np.random.default_rng(st["seed"])
    factors = rng.uniform(st["low"], st["high"], size=(st["draws"], len(w)))
    ww = w[None, :] * factors
    ww = ww / ww.sum(axis=1, keepdims=True)
    ranks = _ranks(_scores(norm.to_numpy(), ww))
    out = shown.copy()
    out.columns = [f"score_{c}" for c in out.columns]
    out.insert(0, "composite", base)
    out.insert(1, "rank", base_rank)
    out["rank_stability"] = (ranks == base_rank[None, :]).mean(axis=0)
    out["rank_best"] = ranks.min(axis=0)
    out["rank_worst"] = ranks.max(axis=0)
    out["indicators_missing"] = norm.isna().sum(axis=1)
    out.insert(0, "quarter", quarter)
    return out.sort_values("rank").reset_index()
