"""The sensitivity analysis' public names (Rambachan & Roth 2023, R's HonestDiD), importable from here; they
live in ``helpers.analysis.sensitivity``."""
from helpers.analysis.sensitivity import *  # noqa: F401,F403
from helpers.analysis.sensitivity import __all__  # noqa: F401
