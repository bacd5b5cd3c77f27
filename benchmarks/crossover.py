"""Where the Numba kernels start beating the NumPy reference: ``python -m benchmarks.crossover``.

For each kernel, float32 inputs of growing size (rows of 256, plus the two shapes of the
report); the crossover is the smallest size (elements of the first input) from which Numba is
faster at every larger size measured, with 1 thread and with 2. Its output fills
``minigrad.kernels.CROSSOVER``.
"""
import numba
import numpy as np

from benchmarks.common import median_time, print_table, torch_or_none
from minigrad.kernels import numba_cpu, reference

__all__ = ["kernel_inputs", "crossovers", "main"]

SIZES = [2 ** k for k in range(6, 21)]              # elements: 64 ... 1M
COLUMNS = 256


def kernel_inputs(name, shape, rng):
    """The arguments of kernel ``name`` for a first input of ``shape`` (M, N), float32."""
    x = rng.standard_normal(shape).astype(np.float32)
    g = rng.standard_normal(shape).astype(np.float32)
    m, n = shape
    target = rng.integers(0, n, m)
    lse = reference.cross_entropy_forward(x, target, -100, 0.0)[1]
    w, b = np.ones(n, np.float32), np.zeros(n, np.float32)
    _, mean, rstd = reference.layer_norm_forward(x, w, b, 1e-5)
    return {
        "softmax_forward": (x,), "softmax_backward": (reference.softmax_forward(x), g),
        "log_softmax_forward": (x,),
        "log_softmax_backward": (reference.log_softmax_forward(x), g),
        "cross_entropy_forward": (x, target, -100, 0.1),
        "cross_entropy_backward": (x, target, lse, g[:, 0].copy(), -100, 0.1),
        "layer_norm_forward": (x, w, b, 1e-5), "layer_norm_backward": (x, w, mean, rstd, g),
        "gelu_forward": (x, "none"), "gelu_backward": (x, g, "none"),
    }[name]


def _time(fn, args):
    once = median_time(lambda: fn(*args), repeats=3, warmup=1)
    inner = max(1, int(0.02 / max(once, 1e-7)))                     # ~20 ms per timing
    return median_time(lambda: fn(*args), repeats=5, warmup=1, inner=inner)


def speedup(name, shape, threads, rng):
    """reference time / Numba time for kernel ``name`` on ``shape`` with ``threads`` threads."""
    numba.set_num_threads(threads)
    args = kernel_inputs(name, shape, rng)
    return _time(getattr(reference, name), args) / _time(getattr(numba_cpu, name), args)


def crossovers(threads, rng):
    """{kernel: smallest size from which Numba wins at every larger size}."""
    found = {}
    for name in numba_cpu.__all__[:10]:
        wins = [speedup(name, (max(1, size // COLUMNS), min(size, COLUMNS)), threads, rng) > 1
                for size in SIZES]
        losing = [i for i, win in enumerate(wins) if not win]
        first = losing[-1] + 1 if losing else 0
        found[name] = SIZES[first] if first < len(SIZES) else None     # None: never wins
    return found


def main():
    rng = np.random.default_rng(0)
    most = numba.config.NUMBA_NUM_THREADS
    rows = []
    for name in numba_cpu.__all__[:10]:
        row = {"kernel": name}
        for shape in [(2048, 1024), (64, 10)]:
            for threads in sorted({1, most}):
                row[f"{shape} {threads}t"] = f"{speedup(name, shape, threads, rng):.2f}x"
        rows.append(row)
    print_table("Numba vs reference (time ratio, float32; > 1: Numba faster)", rows,
                list(rows[0]))
    torch = torch_or_none(threads=1)
    if torch is not None:
        numba.set_num_threads(1)
        x = rng.standard_normal((2048, 1024)).astype(np.float32)
        t_torch = _time(lambda: torch.softmax(torch.from_numpy(x), -1), ())
        t_numba = _time(numba_cpu.softmax_forward, (x,))
        print(f"\nsoftmax (2048, 1024), 1 thread: torch {t_torch * 1e3:.2f} ms, "
              f"numba {t_numba * 1e3:.2f} ms ({t_torch / t_numba:.2f}x torch)")
    table = {threads: crossovers(threads, rng) for threads in sorted({1, most})}
    print_table("Crossover (elements of the first input; rows of 256)",
                [{"kernel": k, **{f"{t} thread(s)": table[t][k] for t in table}}
                 for k in table[1]], ["kernel", *(f"{t} thread(s)" for t in table)])
    numba.set_num_threads(most)


if __name__ == "__main__":
    main()
