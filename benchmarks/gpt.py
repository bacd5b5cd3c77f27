"""GPT-mini training step: minigrad vs PyTorch eager, tokens per second and peak memory.

    python -m benchmarks.gpt [--threads 1] [--steps 10] [--rounds 3] [--kernels auto]
                             [--malloc tuned] [--model gpt] [--size mini]

The model: token + learned position embeddings, 4 pre-LN blocks (causal self-attention with 4
heads, MLP 128 -> 512 -> 128 with GELU), a final layer norm and a head tied to the token
embedding; vocab 256, context 128, batch 16; AdamW, lr 3e-4. PyTorch runs it as written once
against the API both frameworks share (``build_gpt``); minigrad runs ``transformer.GPT`` with
this shape (``--model gpt``, the model users train), or the shared code (``--model blocks``,
which splits qkv into three tensors as PyTorch code does). ``--size lesson``: the lessons' GPT
(d_model 64, 2 layers, context 64, batch 8), where the per-op overhead counts most.
Each framework runs in its own process (so peak RSS is its own), alternating, ``--rounds`` times;
a process times ``--steps`` steps after 2 warm-up steps and reports the median step, in wall
time (tokens/s) and in CPU time (the process's own, summed over its threads: on a shared
machine, at 1 thread, the steadier of the two).
Both processes run under the same glibc malloc settings: ``--malloc tuned`` (the default) gives
both the thresholds that ``import minigrad`` sets for itself (``minigrad.MALLOC_SETTINGS``,
through glibc's MALLOC_*_ variables, which PyTorch's CPU allocator obeys too); ``--malloc
default`` runs both with glibc's defaults (MINIGRAD_TUNE_MALLOC=0).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

CONFIG = dict(vocab=256, context=128, d_model=128, heads=4, layers=4, mlp=512, batch=16)
# --size: GPT-mini (CONFIG), or the lessons' GPT, small enough that per-op overhead dominates
SIZES = {"mini": CONFIG,
         "lesson": dict(vocab=256, context=64, d_model=64, heads=4, layers=2, mlp=256, batch=8)}


def _peak_rss_mb():
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build_gpt(nn, F, arange, c=CONFIG):
    """The model, written once against PyTorch's API, which minigrad shares: pass ``torch.nn``,
    ``torch.nn.functional``, ``torch.arange`` or their minigrad twins, and a size."""

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(c["d_model"]), nn.LayerNorm(c["d_model"])
            self.qkv = nn.Linear(c["d_model"], 3 * c["d_model"])
            self.proj = nn.Linear(c["d_model"], c["d_model"])
            self.fc, self.out = nn.Linear(c["d_model"], c["mlp"]), nn.Linear(c["mlp"], c["d_model"])

        def forward(self, x):
            B, T, C = x.shape
            H = c["heads"]
            q, k, v = self.qkv(self.ln1(x)).split(C, dim=2)                 # 3 × (B, T, C)
            q, k, v = (t.reshape(B, T, H, C // H).transpose(1, 2) for t in (q, k, v))  # (B, H, T, D)
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)     # (B, H, T, D)
            x = x + self.proj(y.transpose(1, 2).reshape(B, T, C))           # (B, T, C)
            return x + self.out(F.gelu(self.fc(self.ln2(x))))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte = nn.Embedding(c["vocab"], c["d_model"])
            self.wpe = nn.Embedding(c["context"], c["d_model"])
            self.blocks = nn.ModuleList([Block() for _ in range(c["layers"])])
            self.ln_f = nn.LayerNorm(c["d_model"])

        def forward(self, idx):
            x = self.wte(idx) + self.wpe(arange(idx.shape[1]))
            for block in self.blocks:
                x = block(x)
            return F.linear(self.ln_f(x), self.wte.weight)                  # (B, T, V), tied head

    return GPT()


def training_step(framework, kernels, model_name="gpt", size="mini"):
    """(step function, parameter count) for one framework: AdamW on a fixed random batch.

    model_name: "gpt" (minigrad: ``transformer.GPT``) or "blocks" (``build_gpt``); PyTorch
    always runs ``build_gpt``. size: a key of ``SIZES``."""
    import numpy as np
    c = SIZES[size]
    data = np.random.default_rng(0).integers(0, c["vocab"], size=(c["batch"], c["context"] + 1))
    if framework == "torch":
        import torch
        torch.manual_seed(0)
        optim, F = torch.optim, torch.nn.functional
        model = build_gpt(torch.nn, F, torch.arange, c)
        x, y = torch.from_numpy(data[:, :-1]), torch.from_numpy(data[:, 1:])
    else:
        import minigrad as mg
        mg.manual_seed(0)
        mg.kernels.use(kernels)
        optim, F = mg.optim, mg.nn.functional
        if model_name == "gpt":
            from transformer.gpt import GPT, GPTConfig
            model = GPT(GPTConfig(vocab_size=c["vocab"], block_size=c["context"],
                                  n_layer=c["layers"], n_head=c["heads"], n_embd=c["d_model"]))
            assert c["mlp"] == 4 * c["d_model"]             # GPT's feed-forward is 4C wide
        else:
            model = build_gpt(mg.nn, F, mg.arange, c)
        x, y = mg.tensor(data[:, :-1]), mg.tensor(data[:, 1:])
    gpt = framework == "minigrad" and model_name == "gpt"
    logits_of = (lambda idx: model(idx)[0]) if gpt else model     # GPT returns (logits, loss)
    opt = optim.AdamW(model.parameters(), lr=3e-4)

    def step():
        loss = F.cross_entropy(logits_of(x).reshape(-1, c["vocab"]), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step, sum(p.numel() for p in model.parameters())


def malloc_environment(setting):
    """The environment that gives both frameworks the same glibc malloc thresholds."""
    if setting == "default":
        return {"MINIGRAD_TUNE_MALLOC": "0"}
    import minigrad
    settings = minigrad.MALLOC_SETTINGS
    return {"MALLOC_MMAP_THRESHOLD_": str(settings["M_MMAP_THRESHOLD"]),
            "MALLOC_TRIM_THRESHOLD_": str(settings["M_TRIM_THRESHOLD"])}


def worker(framework, steps, threads, kernels, model_name, size):
    """Run in a child process: time ``steps`` steps, print one JSON line."""
    import resource
    import time
    if framework == "torch":
        import torch
        torch.set_num_threads(threads)
    else:
        import minigrad as mg
        mg.set_num_threads(threads)
    step, n_params = training_step(framework, kernels, model_name, size)
    for _ in range(2):
        step()
    times, cpu_times = [], []
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(steps):
        start, cpu_start = time.perf_counter(), time.process_time()
        step()
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    tokens = SIZES[size]["batch"] * SIZES[size]["context"]
    print(json.dumps({"framework": framework, "params": n_params,
                      "tokens_per_s": tokens / statistics.median(times),
                      "cpu_ms_per_step": 1e3 * statistics.median(cpu_times),
                      "peak_rss_mb": _peak_rss_mb(), "page_faults_per_step": faults / steps}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--kernels", default="auto", choices=["numpy", "numba", "auto"])
    parser.add_argument("--malloc", default="tuned", choices=["tuned", "default"])
    parser.add_argument("--model", default="gpt", choices=["gpt", "blocks"])
    parser.add_argument("--size", default="mini", choices=list(SIZES))
    parser.add_argument("--worker", choices=["minigrad", "torch"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, args.steps, args.threads, args.kernels, args.model, args.size)

    frameworks = ["minigrad", "torch"]
    try:
        import torch  # noqa: F401
    except ImportError:
        frameworks = ["minigrad"]
        print("(PyTorch is not installed: pip install torch==2.13.0 to add the peer)")
    env = {k: v for k, v in os.environ.items()
           if k not in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")}
    env.update(OMP_NUM_THREADS=str(args.threads),
               OPENBLAS_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    env.update(malloc_environment(args.malloc))
    results = {name: [] for name in frameworks}
    for _ in range(args.rounds):
        for name in frameworks:            # alternate, so drift in machine load hits both
            out = subprocess.run([sys.executable, "-m", "benchmarks.gpt", "--worker", name,
                                  "--steps", str(args.steps), "--threads", str(args.threads),
                                  "--kernels", args.kernels, "--model", args.model,
                                  "--size", args.size],
                                 env=env, capture_output=True, text=True, check=True)
            results[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"\nGPT-{args.size} training step ({SIZES[args.size]}), {args.threads} thread(s), "
          f"kernels={args.kernels}, malloc={args.malloc}, model={args.model}, "
          f"median of {args.rounds} processes × {args.steps} steps")
    print(f"{'framework':10s} {'params':>8s} {'tokens/s':>9s} {'CPU ms/step':>12s} "
          f"{'peak RSS MB':>12s} {'page faults/step':>17s}")
    summary = {}
    for name, runs in results.items():
        tps = statistics.median(r["tokens_per_s"] for r in runs)
        rss = statistics.median(r["peak_rss_mb"] for r in runs)
        faults = statistics.median(r["page_faults_per_step"] for r in runs)
        cpu = statistics.median(r["cpu_ms_per_step"] for r in runs)
        summary[name] = (tps, rss, cpu)
        print(f"{name:10s} {runs[0]['params']:8d} {tps:9.0f} {cpu:12.1f} {rss:12.0f} {faults:17.0f}")
    if "torch" in summary:
        (ours, our_rss, our_cpu), (theirs, their_rss, their_cpu) = summary["minigrad"], summary["torch"]
        print(f"minigrad / torch: {ours / theirs:.2f}× tokens/s, {our_rss / their_rss:.2f}× peak RSS; "
              f"{their_cpu / our_cpu:.2f}× tokens per CPU-second")
        paired = sorted(a["tokens_per_s"] / b["tokens_per_s"]          # round by round
                        for a, b in zip(results["minigrad"], results["torch"]))
        print(f"per round (adjacent processes): {paired[0]:.2f}×–{paired[-1]:.2f}× tokens/s, "
              f"median {statistics.median(paired):.2f}×")


if __name__ == "__main__":
    main()
