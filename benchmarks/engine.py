"""What the autograd engine itself costs: per-op overhead, and a small MLP training step.

    python -m benchmarks.engine

Side by side in one run, one thread each: raw NumPy (the same array math with no graph — the
floor), minigrad, and PyTorch eager when installed. Median of 7 repeats.
"""
import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import numpy as np  # noqa: E402  (the thread settings must come first)

import minigrad as mg  # noqa: E402
import minigrad.nn.functional as F  # noqa: E402
from benchmarks.common import median_time, print_table, torch_or_none  # noqa: E402

CHAIN = 2000


def chain_numpy():
    x, w = np.random.randn(4).astype(np.float32), np.float32(1.0001)
    t = x
    for _ in range(CHAIN):
        t = t * w
    g = np.ones_like(t)
    for _ in range(CHAIN):
        g = g * w
    return g


def chain_minigrad():
    x = mg.randn(4, requires_grad=True)
    t = x
    for _ in range(CHAIN):
        t = t * 1.0001
    t.sum().backward()


def chain_torch(torch):
    def run():
        x = torch.randn(4, requires_grad=True)
        t = x
        for _ in range(CHAIN):
            t = t * 1.0001
        t.sum().backward()
    return run


def mlp_data(batch=64, width=128):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((batch, width)).astype(np.float32)
    y = rng.integers(0, 10, batch)
    shapes = [(width, width), (width,), (width, width), (width,), (10, width), (10,)]
    params = [(rng.standard_normal(s) * 0.05).astype(np.float32) for s in shapes]
    return X, y, params


def mlp_numpy(X, y, params):
    """One SGD step of Linear-ReLU-Linear-ReLU-Linear + cross-entropy, by hand."""
    W1, b1, W2, b2, W3, b3 = params
    h1 = np.maximum(X @ W1.T + b1, 0)
    h2 = np.maximum(h1 @ W2.T + b2, 0)
    z = h2 @ W3.T + b3
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    p[np.arange(len(y)), y] -= 1
    dz = p / len(y)
    dW3, db3, dh2 = dz.T @ h2, dz.sum(0), dz @ W3
    dh2 *= h2 > 0
    dW2, db2, dh1 = dh2.T @ h1, dh2.sum(0), dh2 @ W2
    dh1 *= h1 > 0
    dW1, db1 = dh1.T @ X, dh1.sum(0)
    for p_, g_ in zip(params, (dW1, db1, dW2, db2, dW3, db3)):
        p_ -= 0.01 * g_


def mlp_minigrad(X, y, params):
    model = mg.nn.Sequential(mg.nn.Linear(128, 128), mg.nn.ReLU(), mg.nn.Linear(128, 128),
                             mg.nn.ReLU(), mg.nn.Linear(128, 10))
    for p, value in zip(model.parameters(), params):
        p.data[...] = value
    opt = mg.optim.SGD(model.parameters(), lr=0.01)
    X, y = mg.tensor(X), mg.tensor(y)

    def step():
        loss = F.cross_entropy(model(X), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def mlp_torch(torch, X, y, params):
    model = torch.nn.Sequential(torch.nn.Linear(128, 128), torch.nn.ReLU(),
                                torch.nn.Linear(128, 128), torch.nn.ReLU(),
                                torch.nn.Linear(128, 10))
    with torch.no_grad():
        for p, value in zip(model.parameters(), params):
            p.copy_(torch.from_numpy(value))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    X, y = torch.from_numpy(X), torch.from_numpy(y)

    def step():
        loss = torch.nn.functional.cross_entropy(model(X), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def main():
    torch = torch_or_none(threads=1)
    rows = []
    floor = median_time(chain_numpy) / CHAIN
    ours = median_time(chain_minigrad) / CHAIN
    row = {"benchmark": f"one tiny op, forward+backward (chain of {CHAIN})",
           "numpy µs": f"{floor * 1e6:.2f}", "minigrad µs": f"{ours * 1e6:.2f}"}
    if torch is not None:
        theirs = median_time(chain_torch(torch)) / CHAIN
        row.update({"torch µs": f"{theirs * 1e6:.2f}", "minigrad/torch": f"{ours / theirs:.2f}×"})
    rows.append(row)

    X, y, params = mlp_data()
    floor = median_time(lambda: mlp_numpy(X, y, [p.copy() for p in params]), inner=20)
    ours = median_time(mlp_minigrad(X, y, params), inner=20)
    row = {"benchmark": "MLP 128-128-128-10, batch 64, SGD step",
           "numpy µs": f"{floor * 1e6:.0f}", "minigrad µs": f"{ours * 1e6:.0f}"}
    if torch is not None:
        theirs = median_time(mlp_torch(torch, X, y, params), inner=20)
        row.update({"torch µs": f"{theirs * 1e6:.0f}", "minigrad/torch": f"{ours / theirs:.2f}×"})
    rows.append(row)
    print_table("autograd engine cost (median of 7, 1 thread; lower is better)", rows,
                ["benchmark", "numpy µs", "minigrad µs", "torch µs", "minigrad/torch"])
    if torch is None:
        print("(PyTorch is not installed: pip install torch==2.13.0 to add the peer column)")


if __name__ == "__main__":
    main()
