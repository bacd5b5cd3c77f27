"""What a student waits for before the first number: ``import minigrad`` and the first call of
each Numba kernel, with a cold cache (nothing compiled yet) and a warm one.

    python -m benchmarks.startup

Each measurement runs in a fresh process. The cold case points ``NUMBA_CACHE_DIR`` at an empty
folder, so Numba compiles from scratch; the warm case reuses the cache the cold run just wrote.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile

FIRST_CALLS = """
import json, time
import numpy as np
started = time.perf_counter()
from minigrad.kernels import kernel_set
k = kernel_set("numba")
x = np.random.default_rng(0).standard_normal((64, 32)).astype(np.float32)
t = np.zeros(64, dtype=np.int64)
loaded = time.perf_counter()
calls = {
    "softmax": lambda: k.softmax_backward(k.softmax_forward(x), x),
    "log_softmax": lambda: k.log_softmax_backward(k.log_softmax_forward(x), x),
    "cross_entropy": lambda: k.cross_entropy_backward(x, t, k.cross_entropy_forward(x, t, -100, 0.0)[1], x[:, 0], -100, 0.0),
    "layer_norm": lambda: k.layer_norm_backward(x, x[0], *k.layer_norm_forward(x, x[0], x[0], 1e-5)[1:], x),
    "gelu": lambda: k.gelu_backward(x, x, "none"),
    "attention": lambda: k.attention_backward(x[None], x[None], x[None], *k.attention_forward(x[None], x[None], x[None], None, True, 0.2), x[None], None, True, 0.2),
}
seconds = {"load kernels": loaded - started}
for name, call in calls.items():
    start = time.perf_counter()
    call()
    seconds[name] = time.perf_counter() - start
print(json.dumps(seconds))
"""


def _run(code, env):
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    return out.stdout.strip().splitlines()[-1]


def main():
    imports = [float(_run("import time; s = time.perf_counter(); import minigrad; "
                          "print(time.perf_counter() - s)", os.environ)) for _ in range(5)]
    print(f"import minigrad: {statistics.median(imports):.2f} s (median of 5 fresh processes)")
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        cold = json.loads(_run(FIRST_CALLS, env))
        warm = json.loads(_run(FIRST_CALLS, env))
    print("\nfirst call, float32, forward + backward (seconds)")
    print(f"{'kernel':14s} {'cold cache':>10s} {'warm cache':>10s}")
    for name in cold:
        print(f"{name:14s} {cold[name]:10.2f} {warm[name]:10.2f}")
    print(f"{'total':14s} {sum(cold.values()):10.2f} {sum(warm.values()):10.2f}")


if __name__ == "__main__":
    main()
