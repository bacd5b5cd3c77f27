# %% [markdown]
# # Lesson 17 — What training costs, what makes it faster, what makes it better
#
# **Promise.** After this lesson you can count a GPT's parameters and training FLOPs by hand,
# measure how fast this machine really runs them (NumPy vs Numba kernels, and CuPy where a GPU
# exists), and test the article's three recipes for a better model — bigger model, more and
# cleaner data, better optimizer — by small measured experiments instead of by belief. You
# will also have the article's references with their correct titles. FORMULAS ids: **F2**
# (compute), **F3** (improving performance), **F4** (references).
#
# ## What the article says (§8.3, §9.4, §9.6)
#
# > 1. **计算资源需求**：随着模型规模的扩大，计算资源需求将显著增加，对硬件和算法提出更高要求。
#
# In English: compute requirements grow markedly as models grow, demanding more of hardware
# and algorithms.
#
# > LLM的训练需要大量的计算资源和时间。通常，需要使用高性能GPU或TPU进行训练，以加速计算过程。
#
# In English: training an LLM needs large amounts of compute and time; usually high-performance
# GPUs or TPUs are used to speed up the computation.
#
# > 优化LLM的性能可以从多个方面进行。例如，可以通过增加模型规模、提高训练数据质量、改进优化算法等。
#
# In English: an LLM's performance can be improved in several ways, for example by increasing
# the model's size, improving the quality of the training data, and improving the
# optimization algorithm.
#
# All true, and all unquantified. This lesson puts numbers on them.

# %%
import difflib
import os
import statistics
import time

import numpy as np

import minigrad as mg
import minigrad.nn.functional as F
from transformer import GPT, GPTConfig
from transformer.datasets import batches_for_lm, split, stdlib_docstrings
from transformer.tokenizers.char import CharTokenizer

mg.set_num_threads(1)       # one thread: steadier timings on a shared machine, fair to both kernel sets
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "output", "17_performance")
os.makedirs(OUT, exist_ok=True)
started = time.perf_counter()
print("minigrad", mg.__version__, "— plots go to", OUT, "— kernel sets here:", mg.kernels.available())

# %% [markdown]
# ## 1. Counting parameters
#
# A GPT block (`transformer.gpt`, pre-LN, biases on) holds, for width $C$:
# attention $W_{QKV}$ ($3C^2 + 3C$) and $W_O$ ($C^2 + C$); the feed-forward $W_1$
# ($4C^2 + 4C$) and $W_2$ ($4C^2 + C$); two LayerNorms ($4C$). That is $12C^2 + 13C$ per
# layer. Add the token table $V C$ (shared with the output layer: weight tying), the position
# table $T_{max} C$ and the final LayerNorm $2C$:
#
# $$N = L\,(12C^2 + 13C) + VC + T_{max}C + 2C \;\approx\; 12\,L\,C^2 \text{ for large } C.$$

# %%
def gpt_parameters(vocab_size, block_size, n_layer, n_embd):
    """N of a GPT of this project, by the formula above."""
    C = n_embd
    return n_layer * (12 * C * C + 13 * C) + vocab_size * C + block_size * C + 2 * C

for shape in [dict(vocab_size=65, block_size=32, n_layer=1, n_head=2, n_embd=16),
              dict(vocab_size=256, block_size=128, n_layer=4, n_head=4, n_embd=128),
              dict(vocab_size=100, block_size=64, n_layer=6, n_head=6, n_embd=96)]:
    model = GPT(GPTConfig(**shape))
    by_formula = gpt_parameters(shape["vocab_size"], shape["block_size"], shape["n_layer"],
                                shape["n_embd"])
    print(f"L={shape['n_layer']} C={shape['n_embd']:3d} V={shape['vocab_size']:3d}: "
          f"GPT.num_parameters() = {model.num_parameters():8,d}, formula = {by_formula:8,d}")
    assert model.num_parameters() == by_formula

# %% [markdown]
# The formula is checked on three real models; now apply it to a model too large to build
# here in seconds: GPT-2 small ($L = 12$, $C = 768$, $V = 50257$, $T_{max} = 1024$; the
# shape published with GPT-2 and used by nanoGPT), whose size is usually quoted as "124M"
# (the GPT-2 paper itself printed 117M).

# %%
gpt2_shape = dict(vocab_size=50257, block_size=1024, n_layer=12, n_embd=768)
n_gpt2 = gpt_parameters(**gpt2_shape)
approx = 12 * gpt2_shape["n_layer"] * gpt2_shape["n_embd"] ** 2
rest = (n_gpt2 - approx) / n_gpt2
print(f"GPT-2 small: N = {n_gpt2:,d} ≈ {n_gpt2 / 1e6:.0f}M;  12·L·C² = {approx:,d} "
      f"(the blocks' weight matrices; the embedding tables, biases and norms add {rest:.0%})")
assert round(n_gpt2 / 1e6) == 124
embedding_tables = (gpt2_shape["vocab_size"] + gpt2_shape["block_size"]) * gpt2_shape["n_embd"]
assert 0 < rest - embedding_tables / n_gpt2 < 0.01       # the tables are almost all of the rest

# %% [markdown]
# ## 2. Counting FLOPs
#
# A weight used once per token costs one multiply and one add: **2 FLOPs per parameter per
# token** forward. The backward pass computes two gradients per matrix product (of the input
# and of the weight), twice the forward. So training costs about $6N$ FLOPs per token, plus
# attention's own products ($QK^\mathsf{T}$ and $AV$, $4TC$ per layer forward, ×3):
#
# $$\text{FLOPs per token} \approx 6N + 12\,L\,C\,T$$
#
# (`GPT.flops_per_token`; nanoGPT and the PaLM paper count the same way; $N$ without the
# position table.)
#
# Check it with an independent count: list every matrix product of the forward pass per token
# — $W_{QKV}$: $2 \cdot C \cdot 3C$, $W_O$: $2C^2$, $W_1$ and $W_2$: $2 \cdot 4C^2$ each,
# attention $4TC$, the output layer $2CV$ — and multiply by 3.

# %%
def matmul_flops_per_token(vocab_size, n_layer, n_embd, seq_len):
    C, L, T = n_embd, n_layer, seq_len
    forward = L * (2 * C * 3 * C + 2 * C * C + 2 * 2 * C * 4 * C + 4 * T * C) + 2 * C * vocab_size
    return 3 * forward                                   # forward + backward (2× forward)

small = GPT(GPTConfig(vocab_size=256, block_size=128, n_layer=4, n_head=4, n_embd=128))
library = small.flops_per_token(seq_len=128)
listed = matmul_flops_per_token(256, 4, 128, 128)
print(f"GPT-mini (L=4, C=128, T=128): flops_per_token = {library:,d}, matrix products listed = "
      f"{listed:,d} ({abs(library - listed) / listed:.1%} apart: biases and LayerNorms)")
assert abs(library - listed) / listed < 0.02

# %% [markdown]
# What a real run costs: GPT-3 ("Language Models are Few-Shot Learners", Brown et al., 2020)
# has $N = 175 \times 10^9$ parameters and was trained on about $300 \times 10^9$ tokens.
# At $6N$ per token, compared with the total the paper itself reports (its Table D.1:
# $3.14 \times 10^{23}$ FLOPs, counted the same way):

# %%
gpt3_flops = 6 * 175e9 * 300e9
GPT3_PAPER_FLOPS = 3.14e23                               # quoted from Brown et al., Table D.1
print(f"GPT-3 training ≈ 6 · N · tokens = {gpt3_flops:.2e} FLOPs; the paper: "
      f"{GPT3_PAPER_FLOPS:.2e}")
assert abs(gpt3_flops / GPT3_PAPER_FLOPS - 1) < 0.01

# %% [markdown]
# ## 3. How fast is this machine? Timing the heavy ops
#
# minigrad computes each heavy op with one of several kernel sets (`mg.kernels.use(...)`):
# `"numpy"`, the plain reference that reads like the formula, and `"numba"`, the same math
# compiled for the CPU and fused into single passes. Time each op's forward + backward under
# both, alternating the two (so that a busy moment of the machine hurts both alike), median of
# 5. The first call compiles the Numba kernels (or loads them from Numba's disk cache), so each
# op is warmed up first.

# %%
def time_once(fn):
    """Wall-clock seconds of one call of fn()."""
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def median_seconds(fn, repeats=5):
    return statistics.median(time_once(fn) for _ in range(repeats))


mg.manual_seed(0)
x256 = mg.randn(2048, 256, requires_grad=True)
x512 = mg.randn(2048, 512, requires_grad=True)
ln_w, ln_b = mg.ones(256, requires_grad=True), mg.zeros(256, requires_grad=True)
labels = mg.randint(0, 256, (2048,))
q, k, v = (mg.randn(4, 4, 128, 32, requires_grad=True) for _ in range(3))    # (B, H, T, D)
ops = {
    "softmax 2048×256": (lambda: F.softmax(x256, dim=-1), [x256]),
    "layer_norm 2048×256": (lambda: F.layer_norm(x256, (256,), ln_w, ln_b), [x256, ln_w, ln_b]),
    "gelu 2048×512": (lambda: F.gelu(x512), [x512]),
    "cross_entropy 2048×256": (lambda: F.cross_entropy(x256, labels), [x256]),
    "attention B4 H4 T128 D32": (lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True),
                                 [q, k, v]),
}
modes = ["numpy", "numba"] if "numba" in mg.kernels.available() else ["numpy"]


def forward_backward(op, inputs):
    for t in inputs:
        t.grad = None
    out = op()
    out.sum().backward()
    return out.numpy(), [t.grad.copy() for t in inputs]


timings = {}
for name, (op, inputs) in ops.items():
    results = {}
    for mode in modes:                                   # warm-up, and the results to compare
        with mg.kernels.use(mode):
            results[mode] = forward_backward(op, inputs)
    out_np, grads_np = results["numpy"]
    for mode in modes[1:]:
        out_other, grads_other = results[mode]
        assert np.allclose(out_other, out_np, atol=1e-4, rtol=1e-4), (name, mode)
        assert all(np.allclose(a, b, atol=1e-4, rtol=1e-3) for a, b in zip(grads_other, grads_np))
    samples = {mode: [] for mode in modes}
    for _ in range(5):                                   # alternate the modes
        for mode in modes:
            with mg.kernels.use(mode):
                samples[mode].append(time_once(lambda: forward_backward(op, inputs)))
    timings[name] = {mode: statistics.median(s) for mode, s in samples.items()}
    line = "  ".join(f"{mode} {1e3 * t:7.2f} ms" for mode, t in timings[name].items())
    speedup = (f"  Numba {timings[name]['numpy'] / timings[name]['numba']:.1f}× faster"
               if "numba" in timings[name] else "")
    print(f"{name:26s} forward+backward: {line}{speedup}")
assert all(t > 0 for row in timings.values() for t in row.values())
if "numba" in modes:
    assert timings["gelu 2048×512"]["numpy"] > 1.5 * timings["gelu 2048×512"]["numba"]

# %% [markdown]
# Same results (checked above to float32 rounding), different speed: the reference makes
# several passes over memory per op (max, subtract, exp, sum, divide ...); the Numba kernel
# does one fused pass per row. GELU gains a lot (the reference evaluates erf in many NumPy
# passes; its speed-up is the one asserted above). Not every op wins at every size: a
# compiled call has a fixed cost, which is why the default mode `"auto"` picks per op and
# size. These are single runs on a shared machine;
# `python -m benchmarks.kernels` measures properly. The matrix products are not in the
# table: both sets call the same BLAS.
#
# Now a whole GPT training step — forward, backward, AdamW update — under each set:

# %%
tiny_shape = dict(vocab_size=128, block_size=64, n_layer=2, n_head=4, n_embd=64)
step_batch = 8
mg.manual_seed(0)
gpt = GPT(GPTConfig(**tiny_shape))
optimizer = mg.optim.AdamW(gpt.parameters(), lr=1e-3)
rng = np.random.default_rng(0)
idx = rng.integers(0, tiny_shape["vocab_size"], size=(step_batch, tiny_shape["block_size"] + 1))
x_step, y_step = mg.tensor(idx[:, :-1]), mg.tensor(idx[:, 1:])


def training_step():
    _, loss = gpt(x_step, y_step)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


step_samples = {mode: [] for mode in modes}
for mode in modes:
    with mg.kernels.use(mode):
        training_step()                                  # warm-up
for _ in range(5):
    for mode in modes:
        with mg.kernels.use(mode):
            step_samples[mode].append(time_once(training_step))
step_time = {mode: statistics.median(s) for mode, s in step_samples.items()}
tokens_per_step = step_batch * tiny_shape["block_size"]
for mode, seconds in step_time.items():
    print(f"GPT (L=2, C=64, T=64), batch {step_batch}, kernels {mode:5s}: {1e3 * seconds:6.1f} ms "
          f"per step = {tokens_per_step / seconds:8,.0f} tokens/s")
assert all(s > 0 for s in step_time.values())

# %% [markdown]
# How much of the machine does that use? Measure the peak first: one large matrix product
# (BLAS, 1 thread), $2n^3$ FLOPs. Then the model's *achieved* rate is FLOPs per token ×
# tokens per second. The ratio is the model FLOPs utilization (MFU).

# %%
a, b = np.random.default_rng(0).standard_normal((2, 512, 512)).astype(np.float32)
a @ b                                                    # warm-up
peak = 2 * 512 ** 3 / median_seconds(lambda: a @ b, 7)
best = min(step_time.values())
achieved = gpt.flops_per_token(seq_len=tiny_shape["block_size"]) * tokens_per_step / best
mfu = achieved / peak
print(f"peak (512³ matmul): {peak / 1e9:.1f} GFLOP/s;  the GPT step: {achieved / 1e9:.2f} GFLOP/s "
      f"= {mfu:.1%} MFU")
assert 0 < mfu < 1                                       # a model cannot beat the machine's peak
years = gpt3_flops / peak / (365 * 24 * 3600)
print(f"GPT-3's training at this machine's peak, one core: {years:,.0f} years")
assert years > 1e5

# %% [markdown]
# A tiny model spends much of its time outside the matrix products (Python, the autograd
# graph, small ops), so its MFU stays far from 100% (and both numbers move with the machine's
# load: this is one run); a large model's products dominate, which is why large models are
# trained on accelerators that multiply matrices very fast. That is the article's
# "GPUs or TPUs", with a number attached: GPT-3's compute would keep this core busy for
# geological time.
#
# **On a GPU.** minigrad runs the same model on an NVIDIA GPU through CuPy
# (`model.to("cuda")`); this cell runs only where one exists.

# %%
if mg.cuda.is_available():
    cupy = mg.cuda.cupy()
    gpt.to("cuda")
    optimizer = mg.optim.AdamW(gpt.parameters(), lr=1e-3)
    x_step, y_step = mg.tensor(idx[:, :-1], device="cuda"), mg.tensor(idx[:, 1:], device="cuda")

    def gpu_step():
        training_step()
        cupy.cuda.Device().synchronize()                 # wait for the GPU before reading the clock

    gpu_step()                                           # warm-up: compiles the CUDA kernels
    gpu_seconds = median_seconds(gpu_step, 5)
    print(f"GPU (CuPy): {1e3 * gpu_seconds:6.1f} ms per step = {tokens_per_step / gpu_seconds:8,.0f} "
          "tokens/s (a model this small cannot keep a GPU busy: launch overhead dominates)")
    assert gpu_seconds > 0
else:
    print("no GPU here:", mg.cuda.unavailable_reason())

# %% [markdown]
# ## 4. Making the model better: three small experiments (F3)
#
# The article names three levers. Test each on the smallest honest setting: a character-level
# GPT trained for 120 steps on English text (the docstrings of Python's standard library,
# `transformer.datasets.stdlib_docstrings`), scored by the cross-entropy on held-out
# docstrings (lower is better). One baseline, then one change at a time:
#
# | run | model | training text | optimizer |
# | --- | --- | --- | --- |
# | baseline | L=1, C=32 | 100,000 characters | AdamW, lr 3·10⁻³ |
# | smaller / bigger model | C=16 / C=64 | same | same |
# | less data | same | 3,000 characters (each seen ~20 times) | same |
# | noisy data | same | 100,000 characters, 30% replaced at random | same |
# | plain optimizer | same | same | SGD, lr 0.5 |

# %%
train_docs, valid_docs, _ = split(stdlib_docstrings(), (0.8, 0.1, 0.1), seed=0)
train_text, valid_text = "\n".join(train_docs), "\n".join(valid_docs)
tokenizer = CharTokenizer.from_text(train_text + valid_text)
train_ids = np.array(tokenizer.encode(train_text[:100_000]))
valid_ids = np.array(tokenizer.encode(valid_text[:20_000]))
noise_rng = np.random.default_rng(0)
noisy_ids = train_ids.copy()
replace = noise_rng.random(len(noisy_ids)) < 0.3
noisy_ids[replace] = noise_rng.integers(0, tokenizer.vocab_size, replace.sum())
print(f"vocabulary {tokenizer.vocab_size} characters; training text {len(train_ids):,d}, "
      f"held-out {len(valid_ids):,d}; noisy copy: {replace.mean():.0%} replaced")
assert abs(replace.mean() - 0.3) < 0.01

BLOCK = 32
held_out = batches_for_lm(valid_ids, BLOCK, 64, np.random.default_rng(1))
held_out = [next(held_out) for _ in range(4)]            # the same 4 × 64 windows for every run


def experiment(n_embd=32, ids=train_ids, optimizer="adamw", steps=120):
    mg.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=tokenizer.vocab_size, block_size=BLOCK, n_layer=1,
                          n_head=2, n_embd=n_embd))
    if optimizer == "adamw":
        opt = mg.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    else:
        opt = mg.optim.SGD(model.parameters(), lr=0.5)
    batches = batches_for_lm(ids, BLOCK, 16, np.random.default_rng(0))
    losses = []
    for _ in range(steps):
        x, y = next(batches)
        _, loss = model(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    with mg.no_grad():
        valid = float(np.mean([model(x, y)[1].item() for x, y in held_out]))
    return dict(train=float(np.mean(losses[-10:])), valid=valid, losses=losses,
                parameters=model.num_parameters())


runs = {"baseline (C=32)": experiment(),
        "smaller model (C=16)": experiment(n_embd=16),
        "bigger model (C=64)": experiment(n_embd=64),
        "less data (3,000 chars)": experiment(ids=train_ids[:3000]),
        "noisy data (30%)": experiment(ids=noisy_ids),
        "SGD instead of AdamW": experiment(optimizer="sgd")}
for name, run in runs.items():
    print(f"{name:24s} parameters {run['parameters']:7,d}  train loss {run['train']:.3f}  "
          f"held-out loss {run['valid']:.3f}")
base = runs["baseline (C=32)"]["valid"]
assert runs["bigger model (C=64)"]["valid"] < base < runs["smaller model (C=16)"]["valid"]
assert runs["less data (3,000 chars)"]["valid"] > base
assert runs["less data (3,000 chars)"]["train"] < runs["baseline (C=32)"]["train"]   # memorised
assert runs["noisy data (30%)"]["valid"] > base
assert runs["SGD instead of AdamW"]["valid"] > base

# %% [markdown]
# Each lever moves the held-out loss the way the article says — measured, at one small
# scale, after a fixed number of steps:
#
# - **Bigger model**: more parameters learn more per step here. At scale the rule is subtler:
#   for a fixed compute budget, size and data must grow together (Hoffmann et al., "Training
#   Compute-Optimal Large Language Models", 2022).
# - **More data**: on 3,000 characters the model's *training* loss is lower than the
#   baseline's but its held-out loss is higher — it memorises instead of generalising.
# - **Better data**: the same amount of text, 30% corrupted, teaches less.
# - **Better optimizer**: AdamW reaches a lower loss than plain SGD in the same steps.
#
# One seed and 120 steps are a demonstration, not a study: change the seed or the step count
# (Try it) and watch which differences survive.

# %%
import matplotlib
if not os.environ.get("DISPLAY") and "MPLBACKEND" not in os.environ:
    matplotlib.use("Agg")
import matplotlib.pyplot as plt

fig, (left, right) = plt.subplots(1, 2, figsize=(14, 4.5), layout="constrained")
names = list(timings)
width = 0.38
for offset, mode in zip((-width / 2, width / 2), modes):
    left.bar(np.arange(len(names)) + offset, [1e3 * timings[n][mode] for n in names], width,
             label=f'kernels "{mode}"')
left.set_xticks(range(len(names)), names, rotation=20, ha="right")
left.set(ylabel="forward + backward, ms (median of 5)", title="heavy ops, 1 thread")
left.legend()
right.barh(list(runs)[::-1], [run["valid"] for run in runs.values()][::-1], color="tab:gray")
right.axvline(base, color="tab:blue", linestyle="--", label="baseline")
right.set(xlabel="held-out cross-entropy (lower is better)", title="three levers (F3), 120 steps each",
          xlim=(0.9 * min(run["valid"] for run in runs.values()), None))
right.legend()
fig.savefig(os.path.join(OUT, "performance.png"), dpi=90)
print("plot saved to", os.path.join(OUT, "performance.png"))

# %% [markdown]
# ## 5. Where the article goes wrong: its references (F4)
#
# §7.1 and §7.3 recommend books and papers. Three titles are wrong (the BERT one twice):
#
# > 2. **《自然语言处理入门》（Jurafsky, Martin）**：这本书介绍了自然语言处理的基本概念和技术，适合初学者入门。
# > 3. **《BERT：Pre-training of Deep Neural Networks for Natural Language Understanding》（Devlin et al.）**：这篇论文是BERT模型的奠基之作……
# >
# > 2. **《BERT: Pre-training of Deep Neural Networks for Natural Language Understanding》（Devlin et al.）**：这篇论文介绍了BERT模型，是自然语言处理领域的里程碑之作。
# > 3. **《Generative Pre-trained Transformer》（GPT-3）**：这篇论文介绍了GPT-3模型，是目前最大的预训练模型，具有强大的生成能力。
#
# In English: Jurafsky and Martin's "Introduction to Natural Language Processing", an
# introductory book; the BERT paper, "BERT: Pre-training of Deep Neural Networks for Natural
# Language Understanding" (Devlin et al.); and "Generative Pre-trained Transformer" (GPT-3), "the
# largest pretrained model at present, with strong generative ability".

# %%
references = [  # (the article's title, the real title, authors and venue)
    ("自然语言处理入门", "Speech and Language Processing",
     "Daniel Jurafsky and James H. Martin; 3rd edition drafts free online"),
    ("BERT: Pre-training of Deep Neural Networks for Natural Language Understanding",
     "BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding",
     "Devlin, Chang, Lee, Toutanova; NAACL 2019"),
    ("Generative Pre-trained Transformer", "Language Models are Few-Shot Learners",
     "Brown et al. (OpenAI), NeurIPS 2020"),
]
for wrong, right, source in references:
    words = difflib.ndiff(wrong.split(), right.split())
    changes = " ".join(w for w in words if w[0] in "+-")
    print(f"the article: {wrong}\n    correct: {right} — {source}\n    changed words: {changes}\n")
    assert wrong != right
bert_changes = [w for w in difflib.ndiff(references[1][0].split(), references[1][1].split())
                if w[0] in "+-"]
assert "- Neural" in bert_changes and "+ Bidirectional" in bert_changes and "+ Transformers" in bert_changes

# %% [markdown]
# - **Jurafsky & Martin**: the book is *Speech and Language Processing* (its Chinese edition:
#   《自然语言处理综论》); 《自然语言处理入门》 is a different book, by another author.
# - **BERT**: the "B" is *Bidirectional*, the paper's point: *Deep Bidirectional
#   Transformers for Language Understanding*, not "Deep Neural Networks for Natural Language
#   Understanding".
# - **GPT-3**: "Generative Pre-trained Transformer" is what the letters GPT stand for, not a
#   title; the GPT-3 paper is *Language Models are Few-Shot Learners*. "The largest
#   pretrained model at present" was true in 2020 and no longer is (PaLM, 2022, has 540
#   billion parameters to GPT-3's 175 billion).
# - The other entries are right: *Deep Learning* (Goodfellow, Bengio, Courville) and
#   *Attention Is All You Need* (Vaswani et al., 2017). One more slip, in §6.1: GPT is
#   OpenAI's model, not Microsoft's.
#
# ## Try it
#
# 1. Re-run section 4 with `mg.manual_seed(1)` inside `experiment` and with `steps=300`:
#    which of the five differences keep their sign?
# 2. Double `step_batch` in section 3: do tokens per second grow, and does the MFU?
# 3. Set the environment variable `MINIGRAD_KERNELS=numpy` and time `python lessons/01_autograd.py`
#    against the default: how much of a real lesson is kernel time?
#
# Exercise: `python -m lessons check ex08` — write the Adam step that section 4's "better
# optimizer" relies on.
#
# ## What's next
#
# This is the last lesson. Go back to lesson 13 to pretrain a GPT on real text with what you
# now know about its cost, or to `benchmarks/` for the full measurements.

# %%
print(f"lesson finished in {time.perf_counter() - started:.1f} s")
