"""Program effects under staggered adoption: Callaway-Sant'Anna, the imputation estimator, TWFE.

All estimators answer through one small interface: ``.aggregate(kind)`` returns a DataFrame
with columns ``att, se, ci_low, ci_high`` indexed by event time, cohort or period, with the
overall estimate in the row labelled ``overall``, and ``.spec`` says on which sample and
specification the result was estimated. Estimation, inference and reporting are separate:
each robust result keeps its unit-level influence function (or score), so clustered standard
errors and the few-cluster test are computed on the fitted result.

- ``callaway_santanna`` (``callaway_santanna.py``): group-time ATTs with never-treated or
  not-yet-treated controls, outcome-regression covariate adjustment (R ``did`` with
  ``est_method="reg"``), varying or universal base period, analytic influence-function
  standard errors (unit level, or clustered), the four aggregations of ``did::aggte`` and a
  joint pre-trend test that declines (NaN with a reason) when its covariance cannot carry it.
- ``imputation`` (``imputation.py``): Borusyak, Jaravel and Spiess (2024), refusing designs
  whose period effects are not identified.
- ``twfe`` (``twfe.py``): the naive two-way fixed-effects regression through pyfixest.
- ``few_clusters.py``: the wild cluster restricted bootstrap with Webb weights and test
  inversion, for both robust estimators (``few_cluster_pvalue``, ``few_cluster_ci``).
- ``panel.py``: the one input validation every estimator uses.
"""
from helpers.analysis.effects.callaway_santanna import CSResult, callaway_santanna, wald_test
from helpers.analysis.effects.few_clusters import WEBB, WildClusterBootstrap, webb_draws
from helpers.analysis.effects.imputation import ImputationResult, imputation
from helpers.analysis.effects.panel import KINDS, Z95, EstimationError
from helpers.analysis.effects.twfe import TWFEResult, twfe

__all__ = ["CSResult", "EstimationError", "ImputationResult", "KINDS", "TWFEResult", "WEBB", "WildClusterBootstrap",
           "Z95", "callaway_santanna", "imputation", "twfe", "wald_test", "webb_draws"]
