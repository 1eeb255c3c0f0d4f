"""helpers: the logic of the rural-revitalization evaluation workbook, in layers (docs/architecture.md).

- ``config``: paths and settings (config/*.yaml), read by every layer.
- ``domain``: what the data mean: the data dictionary, quarters, the quarantine reasons.
- ``store``: how tables are written and read (atomic parquet, locks, CSVs for people).
- ``intake``: county submissions to validated, de-identified tables (readers, parsing, places,
  pseudonyms and scrubbing, schemas, the quarter's assembly).
- ``analysis``: the estimation panel, the indicators and the county comparison, the program-effect
  estimators (``helpers.analysis.effects``; ``helpers.effects`` keeps its public names).
- ``present``: tables, figures and sentences for people (findings from named predicates).
- ``pipeline``: the quarterly run, the command line, the index page.
- ``sim``: the simulator, the simulation check, the benchmark.
"""
import os

__version__ = "0.1.0"

# OpenBLAS's idle threads sleep at once instead of spinning for about 0.1 s after each call (2^4 cycles rather than
# 2^28): the run keeps two kernels on two cores, and a kernel's spinning BLAS thread took the core the other kernel
# needed. The work is split between the same threads as before, so every number is the same. It only takes effect
# when set before NumPy is first imported (notebooks import helpers first); a value set by the user stays.
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")
