"""The benchmark's own measuring parts (the benchmark itself runs outside the tests: `workbook bench`)."""
from __future__ import annotations

import subprocess
import sys
import time

from helpers.sim.bench import MemorySampler


def test_memory_sampler_counts_what_child_processes_hold():
    """Kernels are child processes: their memory must count toward the run's peak."""
    code = "import numpy as np, time; a = np.ones(400 * 2**20 // 8); time.sleep(1.0)"
    with MemorySampler(every=0.05) as mem:
        before = time.time()
        time.sleep(0.3)
        t0 = time.time()
        subprocess.run([sys.executable, "-c", code], check=True)
        t1 = time.time()
    assert mem.peak(t0, t1) - mem.peak(before, t0) > 0.35        # GB: the child's 400 MB array
    assert mem.peak(t1 + 3600, t1 + 7200) == 0                   # no samples outside the run


def test_the_largest_worker_leaves_notebook_kernels_out():
    """On Dask a worker's memory is held against its limit: the largest child that is not a notebook kernel. A
    child whose command line names ipykernel (as a run's kernels do) counts in the run's peak, not as a worker."""
    hold = "import numpy as np, time; a = np.ones(400 * 2**20 // 8); time.sleep(1.0)"
    with MemorySampler(every=0.05) as mem:
        time.sleep(0.3)                                  # what other children (a Dask fixture's workers) hold already
        t0 = time.time()
        base = mem.peak_worker(0, t0)
        subprocess.run([sys.executable, "-c", hold, "ipykernel_launcher"], check=True)     # a kernel, by its name
        t1 = time.time()
        subprocess.run([sys.executable, "-c", hold], check=True)                          # a worker
        t2 = time.time()
    assert mem.peak_single(t0, t1) > 0.35 and mem.peak_worker(t0, t1) - base < 0.2
    assert mem.peak_worker(t1, t2) - base > 0.35
