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
