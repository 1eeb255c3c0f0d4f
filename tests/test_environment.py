"""The two environment descriptions (pyproject.toml for pip, environment.yml for conda) agree."""
from __future__ import annotations

import re
import tomllib

import yaml

from helpers.config import ROOT


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pip_pins():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    deps = data["project"]["dependencies"] + sum(data["project"]["optional-dependencies"].values(), [])
    pins = {}
    for d in deps:
        name, version = re.match(r"^([A-Za-z0-9_.\-]+)==([^;\s]+)$", d).groups()
        pins[_norm(name)] = version
    return pins


def _conda_pins():
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    pins = {}
    for d in env["dependencies"]:
        if isinstance(d, dict):
            for p in d["pip"]:
                name, version = p.split("==")
                pins[_norm(name)] = version
        elif not d.startswith(("python=", "pip")) or d.startswith("python-"):
            name, version = d.split("=")
            pins[_norm(name)] = version
    return pins, env


def test_every_dependency_is_pinned_exactly():
    pins = _pip_pins()
    assert len(pins) >= 15
    assert all(re.fullmatch(r"\d+(\.\d+)*", v) for v in pins.values()), pins


def test_pip_and_conda_list_the_same_packages_and_versions():
    conda, env = _conda_pins()
    assert "python=3.11" in env["dependencies"]
    assert conda == _pip_pins()


def test_the_test_extra_holds_the_bench_peers():
    """scripts/setup.sh lets a test install stand for the benchmark's: that needs every peer in it."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    assert set(extras["bench"]) <= set(extras["test"])
