"""Keyed pseudonyms for household codes, and scrubbing of personal data from free text.

``household_id`` is HMAC-SHA256 of the 18-digit 户编码 under one key per bureau. The key
comes from an environment variable or a key file outside git (config/workbook.yaml), so
every evaluator's clone with the same key gives the same pseudonyms, and nobody without
the key can recompute them from a list of codes. The key's fingerprint is recorded with
every processed table; intake refuses to mix tables made under different keys.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.config import resolve, settings

ID_NUMBER_RE = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")
PHONE_RE = re.compile(r"(?<!\d)(?:1[3-9]\d{9}|0\d{2,3}-?\d{7,8})(?!\d)")


@dataclass(frozen=True)
class PseudonymKey:
    """A bureau's pseudonym key and where it came from."""

    secret: bytes
    source: str

    @property
    def fingerprint(self) -> str:
        """A short public fingerprint of the key (safe to record; does not reveal the key)."""
        return hashlib.sha256(b"rural-workbook-fingerprint:" + self.secret).hexdigest()[:16]

    def pseudonymize(self, codes: pd.Series) -> pd.Series:
        """household_id for each 户编码 (missing stays missing); computed once per distinct code."""
        base = hmac.new(self.secret, digestmod=hashlib.sha256)

        def one(code: str) -> str:
            h = base.copy()
            h.update(code.encode("utf-8"))
            return h.hexdigest()[:20]

        idx, uniq = pd.factorize(codes.to_numpy(dtype=object, na_value=None), use_na_sentinel=True)
        hashed = np.array([one(u) for u in uniq] + [None], dtype=object)
        return pd.Series(hashed[idx], index=codes.index, dtype="string")


def load_key(create: bool | None = None) -> PseudonymKey:
    """The bureau's key: environment variable first, then the key file from the config.

    With no key anywhere and ``create_if_missing`` set, a new random key is written to the
    key file (and a notice printed): fine for the bundled sample; a bureau shares one key
    file among its evaluators instead.
    """
    cfg = settings()["pseudonym"]
    env = os.environ.get(cfg["env_var"])
    if env:
        return PseudonymKey(env.strip().encode("utf-8"), f"environment variable {cfg['env_var']}")
    path = resolve(os.environ.get("WORKBOOK_KEY_FILE", cfg["key_file"]))
    if path.exists():
        secret = path.read_text(encoding="utf-8").strip().encode("utf-8")
        if len(secret) < 16:
            raise ValueError(f"{path}: the pseudonym key is too short (at least 16 characters).")
        return PseudonymKey(secret, str(path))
    if create if create is not None else cfg.get("create_if_missing", False):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32) + "\n", encoding="utf-8")
        try:
            path.chmod(0o600)
        except OSError:  # pragma: no cover - Windows
            pass
        print(f"注意 / Note: no pseudonym key found; created a new one in {path}. "
              f"Share one key file (or {cfg['env_var']}) across the bureau so pseudonyms agree.",
              file=sys.stderr)
        return PseudonymKey(path.read_text(encoding="utf-8").strip().encode("utf-8"), str(path))
    raise ValueError(f"No pseudonym key: set {cfg['env_var']} or create the key file {path}.")


def scrub(text: pd.Series) -> pd.Series:
    """Free text with ID numbers and phone numbers replaced by placeholders."""
    out = text.astype("string")
    out = out.str.replace(ID_NUMBER_RE, "[身份证号已删除]", regex=True)
    return out.str.replace(PHONE_RE, "[电话已删除]", regex=True)
