"""``import minigrad`` tunes glibc's malloc so that large freed arrays stay with the process.

Each check runs in a fresh interpreter (the setting is made once, at import). The workload
allocates and frees 32 MiB in 4 MiB arrays a few times, as a training step does, and counts the
page faults of the last rounds: with glibc's defaults the freed heap is trimmed and every round
faults its pages in again; tuned, the memory is reused.
"""
import json
import os
import subprocess
import sys

import pytest

WORKLOAD = """
import json, resource
import numpy as np
import minigrad as mg

def round_of_arrays():
    arrays = [np.ones(2**20, dtype=np.float32) for _ in range(8)]    # 8 x 4 MiB, written
    del arrays

for _ in range(3):
    round_of_arrays()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(3):
    round_of_arrays()
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
print(json.dumps({"tuned": mg.MALLOC_TUNED, "faults_per_round": faults / 3}))
"""

glibc = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt: Linux only")


def run(**env):
    clean = {k: v for k, v in os.environ.items()
             if k not in ("MINIGRAD_TUNE_MALLOC", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")}
    out = subprocess.run([sys.executable, "-c", WORKLOAD], env={**clean, **env},
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


@glibc
def test_import_keeps_freed_arrays_in_the_process():
    tuned, default = run(), run(MINIGRAD_TUNE_MALLOC="0")
    assert tuned["tuned"] is True and default["tuned"] is False
    pages_per_round = 8 * 2**22 // 4096
    assert default["faults_per_round"] > pages_per_round / 4      # trimmed, faulted in again
    assert tuned["faults_per_round"] < pages_per_round / 20       # reused


@glibc
def test_glibc_variables_set_by_the_user_win():
    assert run(MALLOC_TRIM_THRESHOLD_="131072")["tuned"] is False
