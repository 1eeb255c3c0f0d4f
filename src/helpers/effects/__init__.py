"""The program-effect estimators' public names, kept importable from their old place (they live in
``helpers.analysis.effects``)."""
from helpers.analysis.effects import *  # noqa: F401,F403
from helpers.analysis.effects import __all__  # noqa: F401
