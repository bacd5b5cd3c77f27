"""GPU check: every CuPy kernel against the reference, then timings — one run on a GPU machine.

    python -m benchmarks.gpu_check            # exit status 1 if a kernel disagrees with the spec

1. Correctness: each kernel of ``minigrad/kernels/cupy_gpu.py`` on fresh random inputs at
   awkward sizes (and all -inf / fully masked rows) against ``reference.py`` run by NumPy on
   the host; the table gives the largest error relative to the largest reference magnitude
   (float32 must be ≤ 1e-5, float64 ≤ 1e-12) and whether NaNs sit in the same places.
2. Timings (median of 7 after 2 warm-ups, synchronized before each clock read): the CuPy
   kernel, the same reference code run by CuPy on the GPU, and PyTorch CUDA when installed —
   including attention forward + backward at T = 1024 against ``torch`` SDPA (target: ours
   takes at most 1/0.7 of SDPA's time).
Each check runs inside try/except: a failing kernel is reported and the rest still run.
When the environment variable OUT names a folder, the results also go to OUT/gpu_check.json.
First compiles take ~5-20 s per attention module (CuPy caches them on disk afterwards); the
whole run stays well under 3 minutes on an H100/H200. The parity tests are separate:
``python -m pytest -q tests/kernels/test_cupy_gpu.py``.
"""
import json
import math
import os
import statistics
import sys
import time
import traceback

import numpy as np

from benchmarks.common import print_table

TOL = {np.float32: 1e-5, np.float64: 1e-12}


def relative_error(actual, expected):
    """(max |a - e| / max |e| over finite entries, NaN/inf in the same places?)."""
    actual = actual.get() if hasattr(actual, "get") else np.asarray(actual)
    expected = np.asarray(expected)
    if actual.shape != expected.shape or actual.dtype != expected.dtype:
        return math.inf, f"shape/dtype {actual.shape} {actual.dtype} vs {expected.shape} {expected.dtype}"
    same_special = (np.array_equal(np.isnan(actual), np.isnan(expected))
                    and np.array_equal(np.isinf(actual), np.isinf(expected)))
    finite = np.isfinite(expected) & np.isfinite(actual)
    if not finite.any():
        return 0.0, same_special
    scale = max(np.abs(expected[finite]).max(), np.finfo(expected.dtype).tiny)
    diff = np.abs(actual[finite].astype(np.float64) - expected[finite].astype(np.float64)).max()
    return float(diff / scale), same_special


def correctness_cases(rng):
    """(name, dtype, inputs on the host, call(module, *inputs)) for every GPU kernel."""
    def randn(*shape, dtype=np.float32, scale=3.0):
        return (scale * rng.standard_normal(shape)).astype(dtype)

    cases = []
    for dtype in (np.float32, np.float64):
        for m, n in ((1, 1), (7, 13), (129, 1000)):
            x, g = randn(m, n, dtype=dtype), randn(m, n, dtype=dtype)
            if m > 2:
                x[1] = -np.inf                                          # NaN rows, as the spec
            y = ref_call("softmax_forward", randn(m, n, dtype=dtype))
            ly = ref_call("log_softmax_forward", randn(m, n, dtype=dtype))
            cases += [(f"softmax_forward {m}x{n}", dtype, (x,), "softmax_forward"),
                      (f"softmax_backward {m}x{n}", dtype, (y, g), "softmax_backward"),
                      (f"log_softmax_forward {m}x{n}", dtype, (x,), "log_softmax_forward"),
                      (f"log_softmax_backward {m}x{n}", dtype, (ly, g), "log_softmax_backward")]
            xl = randn(m, n, dtype=dtype) + 1.5
            w, b = randn(n, dtype=dtype, scale=1.0), randn(n, dtype=dtype, scale=1.0)
            _, mean, rstd = ref_call("layer_norm_forward", xl, w, b, 1e-5)
            cases += [(f"layer_norm_forward {m}x{n}", dtype, (xl, w, b, 1e-5), "layer_norm_forward"),
                      (f"layer_norm_backward {m}x{n}", dtype, (xl, w, mean, rstd, g),
                       "layer_norm_backward")]
            target = rng.integers(0, n, m)
            target[::3] = -100
            xc, gc = randn(m, n, dtype=dtype), randn(m, dtype=dtype)
            _, lse = ref_call("cross_entropy_forward", xc, target, -100, 0.1)
            cases += [(f"cross_entropy_forward {m}x{n} ls=0.1", dtype, (xc, target, -100, 0.1),
                       "cross_entropy_forward"),
                      (f"cross_entropy_backward {m}x{n} ls=0.1", dtype,
                       (xc, target, lse, gc, -100, 0.1), "cross_entropy_backward")]
        xg, gg = randn(7, 1000, dtype=dtype), randn(7, 1000, dtype=dtype)
        for approximate in ("none", "tanh"):
            cases += [(f"gelu_forward {approximate}", dtype, (xg, approximate), "gelu_forward"),
                      (f"gelu_backward {approximate}", dtype, (xg, gg, approximate), "gelu_backward")]
        a, bm = randn(129, 1000, dtype=dtype), randn(1000, 65, dtype=dtype)
        cases.append(("matmul_tiled 129x1000x65", dtype, (a, bm), "matmul_tiled"))
    # attention: float32 at several sizes and masks, float64 at one
    sizes = [((1, 1, 1, 1, 1), np.float32), ((2, 7, 129, 13, 13), np.float32),
             ((3, 129, 129, 64, 64), np.float32), ((2, 129, 7, 64, 32), np.float32),
             ((2, 33, 33, 13, 13), np.float64)]
    for (b, tq, tk, d, dv), dtype in sizes:
        q, k = randn(b, tq, d, dtype=dtype, scale=1.0), randn(b, tk, d, dtype=dtype, scale=1.0)
        v, g = randn(b, tk, dv, dtype=dtype), randn(b, tq, dv, dtype=dtype)
        mask = rng.random((b, tq, tk)) < 0.7
        mask[:, tq // 2] = False                                        # fully masked rows
        for label, mk, causal in (("", None, False), (" causal", None, True),
                                  (" mask+causal", mask, True)):
            scale = 1 / math.sqrt(d)
            o, lse = ref_call("attention_forward", q, k, v, mk, causal, scale)
            name = f"B{b} Tq{tq} Tk{tk} D{d} Dv{dv}{label}"
            cases += [(f"attention_forward {name}", dtype, (q, k, v, mk, causal, scale),
                       "attention_forward"),
                      (f"attention_backward {name}", dtype, (q, k, v, o, lse, g, mk, causal, scale),
                       "attention_backward")]
    return cases


def ref_call(name, *args):
    """The reference kernel on host arrays (matmul_tiled's reference: a float64 product)."""
    from minigrad.kernels import reference
    with np.errstate(all="ignore"):
        if name == "matmul_tiled":
            a, b = args
            return (a.astype(np.float64) @ b.astype(np.float64)).astype(a.dtype)
        return getattr(reference, name)(*args)


def check_correctness(gpu, cupy, rng):
    rows, failed = [], 0
    for name, dtype, inputs, kernel in correctness_cases(rng):
        row = {"check": name, "dtype": np.dtype(dtype).name}
        try:
            expected = ref_call(kernel, *inputs)
            device_inputs = [cupy.asarray(a) if isinstance(a, np.ndarray) else a for a in inputs]
            start = time.perf_counter()
            actual = getattr(gpu, kernel)(*device_inputs)
            cupy.cuda.Device().synchronize()
            row["ms (incl. compile)"] = f"{1e3 * (time.perf_counter() - start):.1f}"
            pairs = zip(actual, expected) if isinstance(expected, tuple) else [(actual, expected)]
            errors = [relative_error(a, e) for a, e in pairs]
            worst = max(e for e, _ in errors)
            same = all(s is True for _, s in errors)
            ok = worst <= TOL[dtype] and same
            row.update({"max rel err": f"{worst:.2e}", "NaN/inf same": same,
                        "ok": "ok" if ok else "FAIL"})
        except Exception as err:                                        # report, keep going
            ok = False
            row.update({"ok": "ERROR", "max rel err": f"{type(err).__name__}: {err}"[:120]})
            traceback.print_exc(limit=3)
        failed += not ok
        rows.append(row)
    print_table("Correctness: CuPy kernel vs reference (NumPy, host)", rows,
                ["check", "dtype", "max rel err", "NaN/inf same", "ok", "ms (incl. compile)"])
    return rows, failed


def gpu_median(fn, sync, repeats=7, warmup=2):
    """Median seconds of ``fn()``, synchronizing the device before each clock read."""
    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def timing_cases(cupy, torch, rng):
    """(name, ours, reference on cupy, torch or None) zero-argument callables."""
    from minigrad.kernels import cupy_gpu as G
    from minigrad.kernels import reference as R

    def randn(*shape, scale=1.0):
        return cupy.asarray((scale * rng.standard_normal(shape)).astype(np.float32))

    def to_torch(a):
        return None if torch is None else torch.as_tensor(a, device="cuda")

    cases = []
    x, g = randn(4096, 4096), randn(4096, 4096)
    y = G.softmax_forward(x)
    tx = to_torch(x)
    cases += [("softmax_forward 4096x4096", lambda: G.softmax_forward(x),
               lambda: R.softmax_forward(x), tx is not None and (lambda: torch.softmax(tx, -1))),
              ("softmax_backward 4096x4096", lambda: G.softmax_backward(y, g),
               lambda: R.softmax_backward(y, g), None),
              ("log_softmax_forward 4096x4096", lambda: G.log_softmax_forward(x),
               lambda: R.log_softmax_forward(x),
               tx is not None and (lambda: torch.log_softmax(tx, -1)))]
    xl, gl = randn(8192, 1024), randn(8192, 1024)
    w, b = randn(1024), randn(1024)
    _, mean, rstd = G.layer_norm_forward(xl, w, b, 1e-5)
    txl, tw, tb = to_torch(xl), to_torch(w), to_torch(b)
    cases += [("layer_norm_forward 8192x1024", lambda: G.layer_norm_forward(xl, w, b, 1e-5),
               lambda: R.layer_norm_forward(xl, w, b, 1e-5),
               txl is not None and (lambda: torch.nn.functional.layer_norm(txl, (1024,), tw, tb))),
              ("layer_norm_backward 8192x1024", lambda: G.layer_norm_backward(xl, w, mean, rstd, gl),
               lambda: R.layer_norm_backward(xl, w, mean, rstd, gl), None)]
    xc = randn(4096, 32000, scale=3.0)
    target = cupy.asarray(rng.integers(0, 32000, 4096))
    gc = randn(4096)
    _, lse = G.cross_entropy_forward(xc, target, -100, 0.1)
    txc, tt = to_torch(xc), to_torch(target)
    cases += [("cross_entropy_forward 4096x32000", lambda: G.cross_entropy_forward(xc, target, -100, 0.1),
               lambda: R.cross_entropy_forward(xc, target, -100, 0.1),
               txc is not None and (lambda: torch.nn.functional.cross_entropy(
                   txc, tt, reduction="none", label_smoothing=0.1))),
              ("cross_entropy_backward 4096x32000",
               lambda: G.cross_entropy_backward(xc, target, lse, gc, -100, 0.1),
               lambda: R.cross_entropy_backward(xc, target, lse, gc, -100, 0.1), None)]
    xg, gg = randn(8192, 4096), randn(8192, 4096)
    txg = to_torch(xg)
    cases += [("gelu_forward 8192x4096", lambda: G.gelu_forward(xg, "none"),
               lambda: R.gelu_forward(xg, "none"),
               txg is not None and (lambda: torch.nn.functional.gelu(txg))),
              ("gelu_backward 8192x4096", lambda: G.gelu_backward(xg, gg, "none"),
               lambda: R.gelu_backward(xg, gg, "none"), None)]
    a, bm = randn(4096, 4096), randn(4096, 4096)
    ta, tbm = to_torch(a), to_torch(bm)
    cases.append(("matmul_tiled 4096^3 (ref: cuBLAS)", lambda: G.matmul_tiled(a, bm),
                  lambda: a @ bm, ta is not None and (lambda: ta @ tbm)))
    # attention forward + backward, B·H = 32 (batch 4, 8 heads), T = 1024, D = 64, float32
    for causal in (False, True):
        bh, t, d = 32, 1024, 64
        q, k, v, go = randn(bh, t, d), randn(bh, t, d), randn(bh, t, d), randn(bh, t, d)
        scale = 1 / math.sqrt(d)

        def ours(q=q, k=k, v=v, go=go, causal=causal):
            o, lse = G.attention_forward(q, k, v, None, causal, scale)
            return G.attention_backward(q, k, v, o, lse, go, None, causal, scale)

        def reference(q=q, k=k, v=v, go=go, causal=causal):
            o, lse = R.attention_forward(q, k, v, None, causal, scale)
            return R.attention_backward(q, k, v, o, lse, go, None, causal, scale)

        sdpa = None
        if torch is not None:
            tq, tk, tv = (to_torch(z).reshape(4, 8, t, d).requires_grad_() for z in (q, k, v))
            tgo = to_torch(go).reshape(4, 8, t, d)

            def sdpa(tq=tq, tk=tk, tv=tv, tgo=tgo, causal=causal):
                o = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, is_causal=causal)
                return torch.autograd.grad(o, (tq, tk, tv), tgo)
        label = "causal" if causal else "full"
        cases.append((f"attention fwd+bwd B4 H8 T1024 D64 {label}", ours, reference, sdpa))
    return cases


def check_timings(cupy, torch, rng):
    sync = cupy.cuda.Device().synchronize
    rows = []
    for name, ours, reference, peer in timing_cases(cupy, torch, rng):
        row = {"kernel": name}
        try:
            row["cupy kernel ms"] = 1e3 * gpu_median(ours, sync)
            row["reference on cupy ms"] = 1e3 * gpu_median(reference, sync)
            if peer:
                row["torch ms"] = 1e3 * gpu_median(peer, torch.cuda.synchronize)
                row["torch / ours"] = row["torch ms"] / row["cupy kernel ms"]
        except Exception as err:
            row["error"] = f"{type(err).__name__}: {err}"[:120]
            traceback.print_exc(limit=3)
        rows.append(row)
    shown = [{k: (f"{v:.3f}" if isinstance(v, float) else v) for k, v in r.items()} for r in rows]
    print_table("Timings (float32, median of 7, synchronized)", shown,
                ["kernel", "cupy kernel ms", "reference on cupy ms", "torch ms", "torch / ours",
                 "error"])
    for row in rows:
        if row["kernel"].startswith("attention") and "torch / ours" in row:
            verdict = "meets" if row["torch / ours"] >= 0.7 else "misses"
            print(f"{row['kernel']}: ours {row['cupy kernel ms']:.2f} ms, SDPA "
                  f"{row['torch ms']:.2f} ms -> {verdict} the target (SDPA time / ours >= 0.7)")
    return rows


def main():
    started = time.perf_counter()
    try:
        import cupy
        name = cupy.cuda.runtime.getDeviceProperties(0)["name"]
    except Exception as err:
        print(f"gpu_check: no usable CuPy/GPU here ({type(err).__name__}: {err})")
        return 2
    name = name.decode() if isinstance(name, bytes) else str(name)
    try:
        import torch
        torch = torch if torch.cuda.is_available() else None
    except ImportError:
        torch = None
    from minigrad.kernels import cupy_gpu
    print(f"GPU: {name}, CuPy {cupy.__version__}, "
          f"torch {'-' if torch is None else torch.__version__}")
    rng = np.random.default_rng(0)
    correctness, failed = check_correctness(cupy_gpu, cupy, rng)
    timings = check_timings(cupy, torch, rng)
    print(f"\n{failed} correctness failure(s); total {time.perf_counter() - started:.0f} s")
    if os.environ.get("OUT"):
        with open(os.path.join(os.environ["OUT"], "gpu_check.json"), "w") as f:
            json.dump({"device": name, "correctness": correctness,
                       "timings": timings}, f, indent=1, default=str)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
