"""Place names: the five county-level units and the 2021 village merger crosswalk.

Counties are written with or without 县/区 (通江 / 通江县), sometimes with 巴中市 in front.
Villages may appear under a pre-2021 name (骡子坡村 for 太平场村). The crosswalk comes
from two sources: the committed village register (data/reference/village_register.csv)
and the 原村名 column of each county's 行政村 sheet for the quarter.
"""
from __future__ import annotations

import unicodedata
from pathlib import Path

import pandas as pd

from helpers.domain.dictionary import COUNTIES
from helpers.intake.parsing import split_names

_SHORT = {c[:-1]: c for c in COUNTIES}


def normalize_county(value: object) -> str | None:
    """'通江' / '通江县' / '巴中市通江县' -> '通江县'; not one of the five -> None."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    s = unicodedata.normalize("NFKC", str(value)).strip().replace(" ", "")
    s = s.removeprefix("四川省").removeprefix("巴中市")
    if s in COUNTIES:
        return s
    return _SHORT.get(s)


def normalize_place(value: object) -> str | None:
    """Township or village name trimmed, full-width folded; blank -> None."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    s = unicodedata.normalize("NFKC", str(value)).strip().replace(" ", "")
    return s or None


def load_register(path: Path) -> pd.DataFrame:
    """The committed village register: county, township, village, former_names, key_village."""
    reg = pd.read_csv(path, dtype=str, encoding="utf-8", keep_default_na=False)
    missing = {"county", "township", "village", "former_names"} - set(reg.columns)
    if missing:
        raise ValueError(f"{path}: village register lacks columns {sorted(missing)}")
    return reg


class Crosswalk:
    """Maps (county, village as written) to the current village name.

    Built from the register and, for one quarter, the villages the counties listed in
    their 行政村 sheets with their 原村名. A name that is a current village maps to itself;
    a former name maps to the village it was merged into.
    """

    def __init__(self, register: pd.DataFrame, sheet_villages: pd.DataFrame | None = None):
        self.map: dict[tuple[str, str], str] = {}
        self.township: dict[tuple[str, str], str] = {}
        frames = [register] + ([sheet_villages] if sheet_villages is not None and len(sheet_villages) else [])
        for frame in frames:
            for county, township, village, former in frame[["county", "township", "village", "former_names"]].itertuples(index=False):
                county = normalize_county(county)
                village = normalize_place(village)
                if not county or not village:
                    continue
                self.map[(county, village)] = village
                if township:
                    self.township[(county, village)] = normalize_place(township)
                for old in split_names(former):
                    self.map.setdefault((county, normalize_place(old)), village)

    def known_township(self, county: pd.Series, township: pd.Series) -> pd.Series:
        """Whether each township is one the register (or the quarter's 行政村 sheet) lists in that county."""
        if not hasattr(self, "_townships"):
            self._townships = {(c, t) for (c, _), t in self.township.items()}
        keys = list(zip(county.tolist(), township.tolist()))
        return pd.Series([k in self._townships for k in keys], index=township.index, dtype=bool)

    def resolve(self, county: pd.Series, village: pd.Series) -> pd.Series:
        """Current village names for the pairs; None where the village is unknown in that county."""
        keys = list(zip(county.tolist(), village.tolist()))
        return pd.Series([self.map.get(k) for k in keys], index=village.index, dtype="string")
