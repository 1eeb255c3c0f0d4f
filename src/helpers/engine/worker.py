"""Set-up of the local cluster's worker processes (a Dask preload: ``dask_setup`` runs in each worker's main thread
before it joins). A worker ignores Ctrl-C (SIGINT): the terminal sends it to the whole process group, and the
workbook's own process then closes the cluster; a worker that took the signal itself printed its traceback."""
from __future__ import annotations

import signal


def dask_setup(worker) -> None:  # noqa: ARG001 - the signature Dask calls
    signal.signal(signal.SIGINT, signal.SIG_IGN)
