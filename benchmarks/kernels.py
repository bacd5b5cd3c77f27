"""Each heavy kernel: the NumPy reference vs the Numba kernel vs PyTorch, side by side.

    python -m benchmarks.kernels [--threads 1]

For every kernel the forward and the forward+backward time (median of 7), the speed-up over the
reference, the ratio to torch, and the rate achieved against this machine's own ceilings,
measured first in the same run: SGEMM GFLOP/s (NumPy's BLAS at 2048²) and copy bandwidth GB/s.
"""
import argparse
import os


def parse():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    return parser.parse_args()


ARGS = parse() if __name__ == "__main__" else argparse.Namespace(threads=1)
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = str(ARGS.threads)

import numpy as np  # noqa: E402  (thread settings first)

import minigrad as mg  # noqa: E402
from benchmarks.common import median_time, print_table, torch_or_none  # noqa: E402
from minigrad import kernels  # noqa: E402
from minigrad.kernels import reference  # noqa: E402

RNG = np.random.default_rng(0)


def randn(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def ceilings():
    """(SGEMM GFLOP/s, copy GB/s) of this machine, measured now."""
    a, b = randn(2048, 2048), randn(2048, 2048)
    sgemm = 2 * 2048 ** 3 / median_time(lambda: a @ b, repeats=5) / 1e9
    src, dst = randn(32 * 2 ** 20 // 4), np.empty(32 * 2 ** 20 // 4, np.float32)
    copy = 2 * src.nbytes / median_time(lambda: np.copyto(dst, src)) / 1e9
    return sgemm, copy


def cases(torch):
    """(name, inputs, fwd(impl), fwd+bwd(impl), torch fwd+bwd or None, bytes or flops)."""
    F = torch.nn.functional if torch else None

    def torch_pair(fn, *arrays):
        """(forward, forward+backward) in torch, every input requiring grad as ours compute all."""
        tensors = [torch.from_numpy(a).requires_grad_() for a in arrays]
        def forward():
            with torch.no_grad():
                fn(*tensors)
        def both():
            out = fn(*tensors)
            out.backward(torch.ones_like(out))
        return forward, both

    out = []
    for rows, cols in [(8192, 128), (2048, 1024)]:
        x, g = randn(rows, cols), randn(rows, cols)
        nbytes = 2 * x.nbytes
        for name, fwd, bwd, tfn in [
                ("softmax", "softmax_forward", "softmax_backward", lambda t: torch.softmax(t, -1)),
                ("log_softmax", "log_softmax_forward", "log_softmax_backward",
                 lambda t: torch.log_softmax(t, -1))]:
            out.append((f"{name} {rows}×{cols}", nbytes,
                        lambda k, x=x, fwd=fwd: getattr(k, fwd)(x),
                        lambda k, x=x, g=g, fwd=fwd, bwd=bwd: getattr(k, bwd)(getattr(k, fwd)(x), g),
                        torch and torch_pair(tfn, x)))
    for rows, classes in [(2048, 256), (2048, 8192)]:
        x, t, g = randn(rows, classes), RNG.integers(0, classes, rows), randn(rows)
        out.append((f"cross_entropy {rows}×{classes}", x.nbytes,
                    lambda k, x=x, t=t: k.cross_entropy_forward(x, t, -100, 0.0),
                    lambda k, x=x, t=t, g=g: k.cross_entropy_backward(
                        x, t, k.cross_entropy_forward(x, t, -100, 0.0)[1], g, -100, 0.0),
                    torch and torch_pair(lambda a, t=t: F.cross_entropy(a, torch.from_numpy(t), reduction="none"), x)))
    for rows, cols in [(2048, 128), (2048, 768)]:
        x, w, b, g = randn(rows, cols), randn(cols), randn(cols), randn(rows, cols)
        out.append((f"layer_norm {rows}×{cols}", 2 * x.nbytes,
                    lambda k, x=x, w=w, b=b: k.layer_norm_forward(x, w, b, 1e-5),
                    lambda k, x=x, w=w, b=b, g=g: k.layer_norm_backward(
                        x, w, *k.layer_norm_forward(x, w, b, 1e-5)[1:], g),
                    torch and torch_pair(lambda a, w_, b_, cols=cols: F.layer_norm(a, (cols,), w_, b_), x, w, b)))
    x, g = randn(2048, 512), randn(2048, 512)
    for approximate in ("none", "tanh"):
        out.append((f"gelu[{approximate}] 2048×512", 2 * x.nbytes,
                    lambda k, a=approximate, x=x: k.gelu_forward(x, a),
                    lambda k, a=approximate, x=x, g=g: (k.gelu_forward(x, a), k.gelu_backward(x, g, a)),
                    torch and torch_pair(lambda t, a=approximate: F.gelu(t, approximate=a), x)))
    if hasattr(reference, "attention_forward"):
        B, H, T, D = 16, 4, 128, 32
        q, k_, v, g = (randn(B * H, T, D) for _ in range(4))
        scale = D ** -0.5
        flops = 4 * B * H * T * T * D / 2                    # causal: half the scores
        out.append((f"attention B{B} H{H} T{T} D{D} causal", flops,
                    lambda k: k.attention_forward(q, k_, v, None, True, scale),
                    lambda k: k.attention_backward(q, k_, v, *k.attention_forward(q, k_, v, None, True, scale), g, None, True, scale),
                    torch and torch_pair(lambda a, b, c: F.scaled_dot_product_attention(
                        a, b, c, is_causal=True), q.reshape(B, H, T, D), k_.reshape(B, H, T, D),
                        v.reshape(B, H, T, D))))
    return out


def main():
    torch = torch_or_none(ARGS.threads)
    mg.set_num_threads(ARGS.threads)
    compiled = kernels.kernel_set("numba")
    sgemm, copy = ceilings()
    print(f"ceilings on this machine, {ARGS.threads} thread(s): SGEMM {sgemm:.1f} GFLOP/s, "
          f"copy {copy:.1f} GB/s")

    a, b = randn(1024, 1024), randn(1024, 1024)
    rows = [{"kernel": "matmul 1024³ (BLAS = reference)",
             "numpy ms": f"{median_time(lambda: a @ b) * 1e3:.2f}",
             "rate": f"{2 * 1024 ** 3 / median_time(lambda: a @ b) / 1e9 / sgemm:.0%} of SGEMM"}]
    numba_cpu = kernels._module("numba_cpu")
    if numba_cpu is not None:
        blocked = median_time(lambda: numba_cpu.matmul_blocked(a, b))
        rows.append({"kernel": "matmul 1024³ (Numba blocked, teaching)",
                     "numba ms": f"{blocked * 1e3:.2f}",
                     "rate": f"{2 * 1024 ** 3 / blocked / 1e9 / sgemm:.0%} of SGEMM"})
    if torch is not None:
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        rows[0]["torch ms"] = f"{median_time(lambda: ta @ tb) * 1e3:.2f}"

    for name, amount, fwd, both, torch_fns in cases(torch):
        row = {"kernel": name}
        ref_f, ref_b = median_time(lambda: fwd(reference)), median_time(lambda: both(reference))
        row["numpy ms"] = f"{ref_f * 1e3:.2f} / {ref_b * 1e3:.2f}"
        best = ref_f
        if compiled is not None:
            fwd(compiled), both(compiled)                              # compile outside timing
            num_f, num_b = median_time(lambda: fwd(compiled)), median_time(lambda: both(compiled))
            row["numba ms"] = f"{num_f * 1e3:.2f} / {num_b * 1e3:.2f}"
            row["numba speed-up"] = f"{ref_f / num_f:.1f}× / {ref_b / num_b:.1f}×"
            best = num_f
        if torch_fns:
            t_f, t_b = median_time(torch_fns[0]), median_time(torch_fns[1])
            row["torch ms"] = f"{t_f * 1e3:.2f} / {t_b * 1e3:.2f}"
            if compiled is not None:
                row["vs torch"] = f"{t_f / num_f:.2f}× / {t_b / num_b:.2f}×"
        row["rate"] = (f"{amount / best / 1e9 / sgemm:.0%} of SGEMM" if "attention" in name
                       else f"{amount / best / 1e9 / copy:.0%} of copy")
        rows.append(row)
    print_table("kernels: forward / forward+backward, median of 7 (vs torch > 1 means faster "
                "than torch)", rows,
                ["kernel", "numpy ms", "numba ms", "numba speed-up", "torch ms", "vs torch", "rate"])


if __name__ == "__main__":
    main()
